"""The HTTP API end to end: the real app under uvicorn on a loopback port, real HTTP through
httpx, on the example institution with the demo clinic (default planner, real model, real
SQLite files). A few checks that need another configuration (demo mode off loopback, a plugin
that fails to load) use FastAPI's TestClient on their own runtime.

OpenID Connect access tokens: real ones from the repository's provider (``tests/oidc``, the
certified npm ``oidc-provider``, started with ``OIDC_API_RESOURCE`` so that its service clients get
JWT access tokens for the API through the client_credentials grant), and tokens the test signs
itself with an RSA key it publishes through a real HTTP JWKS endpoint on loopback, for what a
provider will not issue on demand (expired, another audience or issuer, another key, HMAC).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from typer.testing import CliRunner

from lamworks import Runtime
from lamworks.api import create_app
from lamworks.api_auth import AccessTokenVerifier
from lamworks.cli import app as cli_app
from lamworks.config import AuthConfig, OIDCConfig

pytestmark = pytest.mark.slow

BOOK = "book Ana Ruiz in for thursday afternoon with dr lee"
BOOK_OTHER = "book Omar Haddad in for friday morning with dr lee"
AUDIENCE = "https://api.riverside.example"
PROVIDER_DIR = Path(__file__).parents[1] / "oidc"


# -- a real JWKS endpoint on loopback -------------------------------------------------------------

@dataclass
class Provider:
    """Discovery and JWKS served over HTTP on loopback; ``key`` signs the tokens."""

    issuer: str
    key: RSAKey
    server: ThreadingHTTPServer

    def token(self, *, key: RSAKey | OctKey | None = None, alg: str = "RS256",
              **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "sub": "u-frances", "aud": AUDIENCE, "iat": now,
                "exp": now + 300, "preferred_username": "frances", "name": "Frances Desk",
                "roles": ["front-desk", "staff"], **claims}
        body = {k: v for k, v in body.items() if v is not None}
        signer = key or self.key
        return jwt.encode({"alg": alg, "kid": signer.kid or "k1"}, body, signer,
                          algorithms=[alg])


def _serve_provider() -> Provider:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"},
                              private=True)
    documents: dict[str, dict[str, Any]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            document = documents.get(self.path)
            body = json.dumps(document).encode() if document is not None else b"{}"
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    documents["/.well-known/openid-configuration"] = {
        "issuer": issuer, "jwks_uri": f"{issuer}/jwks"}
    documents["/jwks"] = {"keys": [key.as_dict(private=False)]}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Provider(issuer=issuer, key=key, server=server)


# -- the app under uvicorn ----------------------------------------------------------------------

@dataclass
class Api:
    url: str
    rt: Runtime
    tokens: dict[str, str]
    provider: Provider

    def call(self, method: str, path: str, who: str | None = None, *,
             headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        sent = dict(headers or {})
        if who is not None:
            sent["Authorization"] = f"Bearer {self.tokens[who]}"
        return httpx.request(method, self.url + path, headers=sent, timeout=120, **kwargs)

    def turn(self, who: str, session: str, text: str) -> dict[str, Any]:
        response = self.call("POST", f"/v1/sessions/{session}/turns", who, json={"text": text})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


@pytest.fixture(scope="module")
def api(open_demo_clinic: Callable[[Path], Runtime],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    provider = _serve_provider()
    rt = open_demo_clinic(tmp_path_factory.mktemp("api") / "data")
    rt.config = rt.config.model_copy(update={"auth": AuthConfig(mode="demo", oidc=OIDCConfig(
        server_metadata_url=f"{provider.issuer}/.well-known/openid-configuration",
        client_id="lamworks", api_audience=AUDIENCE,
        role_map={"front-desk": "frontdesk"}))})
    tokens = {}
    for name in ("frontdesk", "patient", "auditor", "student"):
        rt.accounts.add(name)  # the role [users] declares; tokens only
        tokens[name] = rt.accounts.issue_token(name, "api test")
    rt.accounts.add("temp-desk", role="frontdesk")
    tokens["disabled"] = rt.accounts.issue_token("temp-desk")
    rt.accounts.disable("temp-desk")
    server = uvicorn.Server(uvicorn.Config(create_app(rt, host="127.0.0.1"), host="127.0.0.1",
                                           port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Api(f"http://127.0.0.1:{port}", rt, tokens, provider)
    finally:
        server.should_exit = True
        thread.join(30)
        provider.server.shutdown()
        provider.server.server_close()
        rt.close()


def _audit(rt: Runtime, event: str, **match: Any) -> list[Any]:
    return [e for e in rt.audit.entries() if e.event == event
            and all(getattr(e, k) == v for k, v in match.items())]


# -- the conversation -----------------------------------------------------------------------------

def test_front_desk_books_through_the_api_with_a_confirmation(api: Api) -> None:
    turn = api.turn("frontdesk", "fd-book", BOOK)
    pending = turn["awaiting_confirmation"]
    assert pending is not None, turn["answer"]
    assert pending["tool"] == "healthcare.book_appointment"
    assert pending["token"] and pending["change_digest"]
    assert "Exactly this is written" in pending["preview"]
    assert pending["confirm_url"] == f"/v1/sessions/fd-book/steps/{pending['step_id']}/confirm"
    assert [s["status"] for s in turn["steps"]] == ["awaiting_confirmation"]
    assert "Please confirm" in turn["answer"]

    done = api.call("POST", pending["confirm_url"], "frontdesk",
                    json={"token": pending["token"], "change_digest": pending["change_digest"]})
    assert done.status_code == 200, done.text
    body = done.json()
    assert [s["status"] for s in body["steps"]] == ["executed"], body["answer"]
    assert body["awaiting_confirmation"] is None
    appointment = body["steps"][0]["result"]["data"]["appointment_id"]
    assert api.rt.services["fhir"].read("Appointment", appointment)["status"] == "booked"

    executed = _audit(api.rt, "step.executed", step_id=pending["step_id"])
    assert [(e.actor, e.role, e.session_id) for e in executed] == [
        ("frontdesk", "frontdesk", "fd-book")]
    assert _audit(api.rt, "step.confirmed", step_id=pending["step_id"])
    assert api.rt.audit.verify().ok

    # The token was spent: a replay is refused, audited, and books nothing more.
    again = api.call("POST", pending["confirm_url"], "frontdesk",
                     json={"token": pending["token"]})
    assert again.status_code == 409
    assert again.json()["error"] == "confirmation_refused"
    assert _audit(api.rt, "confirmation.refused", step_id=pending["step_id"])
    assert len(_audit(api.rt, "step.executed", step_id=pending["step_id"])) == 1


def test_cancel_drops_the_step_and_its_token(api: Api) -> None:
    turn = api.turn("frontdesk", "fd-cancel", BOOK_OTHER)
    pending = turn["awaiting_confirmation"]
    assert pending is not None, turn["answer"]
    cancelled = api.call("POST", pending["cancel_url"], "frontdesk")
    assert cancelled.status_code == 200, cancelled.text
    assert [s["status"] for s in cancelled.json()["steps"]] == ["cancelled"]
    assert "nothing was changed" in cancelled.json()["answer"]
    assert _audit(api.rt, "step.cancelled", step_id=pending["step_id"])
    late = api.call("POST", pending["confirm_url"], "frontdesk",
                    json={"token": pending["token"]})
    assert late.status_code == 409, late.text
    assert not _audit(api.rt, "step.executed", step_id=pending["step_id"])


def test_a_wrong_token_for_the_pending_step_is_refused(api: Api) -> None:
    turn = api.turn("frontdesk", "fd-wrong", "book Ana Ruiz in for friday morning with dr lee")
    pending = turn["awaiting_confirmation"]
    assert pending is not None, turn["answer"]
    wrong = api.call("POST", pending["confirm_url"], "frontdesk",
                     json={"token": "not-the-token"})
    assert wrong.status_code == 409
    assert "does not belong to this step" in wrong.json()["detail"]
    api.call("POST", pending["cancel_url"], "frontdesk")


def test_another_users_token_on_a_conversation_is_refused(api: Api) -> None:
    turn = api.turn("frontdesk", "fd-private", BOOK_OTHER)
    pending = turn["awaiting_confirmation"]
    assert pending is not None, turn["answer"]
    for method, path, body in (
            ("POST", "/v1/sessions/fd-private/turns", {"text": "show my appointments"}),
            ("POST", pending["confirm_url"], {"token": pending["token"]}),
            ("POST", pending["cancel_url"], None)):
        response = api.call(method, path, "patient", json=body)
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "session_not_found"
    refused = _audit(api.rt, "session.refused", session_id="fd-private")
    assert [e.actor for e in refused] == ["patient"] * 3
    # Still pending for its owner, token unspent.
    done = api.call("POST", pending["confirm_url"], "frontdesk",
                    json={"token": pending["token"]})
    assert done.status_code == 200 and done.json()["steps"][0]["status"] == "executed"


def test_confirming_in_an_unknown_conversation_is_404(api: Api) -> None:
    response = api.call("POST", "/v1/sessions/never-started/steps/abc/confirm", "frontdesk",
                        json={"token": "x"})
    assert response.status_code == 404
    assert response.json()["error"] == "session_not_found"


def test_a_malformed_body_is_422_naming_the_field(api: Api) -> None:
    response = api.call("POST", "/v1/sessions/fd-bad/turns", "frontdesk", json={"txt": "hi"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "body.text" in {f["field"] for f in body["detail"]}
    confirm = api.call("POST", "/v1/sessions/fd-bad/steps/s1/confirm", "frontdesk", json={})
    assert confirm.status_code == 422
    assert "body.token" in {f["field"] for f in confirm.json()["detail"]}


def test_a_role_without_chat_is_refused_with_the_reason_and_audited(api: Api) -> None:
    response = api.call("POST", "/v1/sessions/aud-1/turns", "auditor", json={"text": "hello"})
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "detail": (
        "Your role is not allowed to do this (it needs the permission 'page.chat').")}
    [row] = _audit(api.rt, "permission.denied", actor="auditor", session_id="aud-1")
    assert row.detail["permission"] == "page.chat"


# -- who is calling ------------------------------------------------------------------------------

def test_no_token_is_401_with_a_challenge(api: Api) -> None:
    for method, path in (("GET", "/v1/tools"), ("GET", "/v1/audit"),
                         ("POST", "/v1/sessions/x/turns")):
        response = api.call(method, path, json={"text": "hi"} if method == "POST" else None)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="lamworks"'
        assert response.json()["error"] == "missing_token"


def test_a_bad_or_disabled_token_is_401_and_audited(api: Api) -> None:
    before = len(_audit(api.rt, "sign_in.refused"))
    for token in ("lw_not-a-real-token", api.tokens["disabled"], "garbage"):
        response = api.call("GET", "/v1/tools", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    disabled = api.call("GET", "/v1/tools", "disabled")
    assert "disabled" in disabled.json()["detail"]
    refused = _audit(api.rt, "sign_in.refused")[before:]
    assert len(refused) == 4 and {e.detail["via"] for e in refused} == {"api_token"}
    assert all("lw_" not in json.dumps(e.as_dict()) for e in refused)  # never the token


def test_demo_header_works_on_loopback(api: Api) -> None:
    response = api.call("GET", "/v1/tools", headers={"X-Lamworks-User": "patient"})
    assert response.status_code == 200
    assert response.json() == api.call("GET", "/v1/tools", "patient").json()


def test_demo_header_is_refused_when_not_bound_to_loopback(api: Api) -> None:
    with TestClient(create_app(api.rt, host="0.0.0.0")) as client:
        response = client.get("/v1/tools", headers={"X-Lamworks-User": "admin"})
        assert response.status_code == 401
        assert "loopback" in response.json()["detail"]
        token = client.get("/v1/tools", headers={"Authorization": f"Bearer "
                                                                   f"{api.tokens['patient']}"})
        assert token.status_code == 200  # tokens are accepted on any address
    [row] = _audit(api.rt, "sign_in.refused", actor="admin")
    assert row.detail["via"] == "demo"


# -- tools, audit, operations --------------------------------------------------------------------

def test_tools_are_mcp_shaped_and_only_those_the_role_may_use(api: Api) -> None:
    by_role = {}
    for who in ("frontdesk", "student", "auditor"):
        response = api.call("GET", "/v1/tools", who)
        assert response.status_code == 200
        tools = response.json()["tools"]
        assert all(set(t) == {"name", "description", "inputSchema"} for t in tools)
        by_role[who] = {t["name"] for t in tools}
    every = {t.to_mcp_tool()["name"] for t in api.rt.tools.values()}
    assert "healthcare.book_appointment" in by_role["frontdesk"]
    assert "healthcare.book_appointment" not in by_role["student"]
    assert any(name.startswith("education.") for name in by_role["student"])
    assert not any(name.startswith("education.") for name in by_role["frontdesk"])
    assert by_role["auditor"] < by_role["frontdesk"] < every
    [book] = [t for t in api.call("GET", "/v1/tools", "frontdesk").json()["tools"]
              if t["name"] == "healthcare.book_appointment"]
    assert book == api.rt.tools["healthcare.book_appointment"].to_mcp_tool()


def test_audit_rows_own_or_all_by_permission(api: Api) -> None:
    api.turn("patient", "pat-1", "show my appointments")
    own = api.call("GET", "/v1/audit", "patient", params={"limit": 1000}).json()["rows"]
    assert own and {r["actor"] for r in own} == {"patient"}
    everyone = api.call("GET", "/v1/audit", "auditor", params={"limit": 1000}).json()
    actors = {r["actor"] for r in everyone["rows"]}
    assert {"patient", "frontdesk"} <= actors
    page = api.call("GET", "/v1/audit", "auditor", params={"since": 2, "limit": 3}).json()
    assert [r["seq"] for r in page["rows"]] == [3, 4, 5] and page["next_since"] == 5


def test_healthz_readyz_and_docs(api: Api) -> None:
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{api.url}/readyz").json() == {"status": "ready"}
    assert httpx.get(f"{api.url}/docs").status_code == 200
    schema = httpx.get(f"{api.url}/openapi.json").json()
    assert "/v1/sessions/{session_id}/steps/{step_id}/confirm" in schema["paths"]


def test_readyz_is_503_naming_a_plugin_that_failed(
        install_plugins: Callable[..., Path], write_config: Callable[..., Path]) -> None:
    from lamworks import load_config

    install_plugins(sample="lamworks_sample", broken_import="lamworks_broken_import")
    rt = Runtime(load_config(write_config(plugins='allow = ["sample", "broken_import"]')))
    try:
        with TestClient(create_app(rt)) as client:
            response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["error"] == "not_ready"
        assert any("'broken_import' failed to load" in r for r in body["detail"])
    finally:
        rt.close()


def test_serve_refuses_a_non_loopback_host_in_demo_mode() -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--config", "examples/lamworks.toml",
                                          "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "loopback" in result.output


# -- OpenID Connect access tokens ----------------------------------------------------------------

def test_an_oidc_access_token_maps_to_a_role(api: Api) -> None:
    token = api.provider.token()
    response = api.call("GET", "/v1/tools", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert "healthcare.book_appointment" in {t["name"] for t in response.json()["tools"]}
    identity = api.rt.accounts.identity("frances")
    assert (identity.role, identity.source) == ("frontdesk", "oidc")
    turn = api.call("POST", "/v1/sessions/oidc-1/turns", json={"text": BOOK_OTHER},
                    headers={"Authorization": f"Bearer {token}"})
    assert turn.status_code == 200 and turn.json()["user"] == "frances"
    assert len(_audit(api.rt, "sign_in", actor="frances")) == 1  # once, not per request


@pytest.mark.parametrize("case", ["expired", "audience", "issuer", "other-key", "hmac",
                                  "not-yet"])
def test_oidc_access_tokens_that_are_not_ours_or_current_are_401(api: Api, case: str) -> None:
    provider = api.provider
    now = int(time.time())
    token = {
        "expired": lambda: provider.token(exp=now - 600, iat=now - 900),
        "audience": lambda: provider.token(aud="https://another.example"),
        "issuer": lambda: provider.token(iss="http://127.0.0.1:9"),
        "other-key": lambda: provider.token(key=RSAKey.generate_key(
            2048, parameters={"kid": "k1"}, private=True)),
        "hmac": lambda: provider.token(key=OctKey.import_key(
            json.dumps(provider.key.as_dict(private=False)).encode(), {"kid": "k1"}),
            alg="HS256"),
        "not-yet": lambda: provider.token(nbf=now + 3600),
    }[case]()
    response = api.call("GET", "/v1/tools", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_an_oidc_person_without_a_mapped_role_is_403(api: Api) -> None:
    token = api.provider.token(preferred_username="victor", sub="u-victor",
                               roles=["volunteer"])
    response = api.call("GET", "/v1/tools", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "no role in lamworks" in response.json()["detail"]
    assert _audit(api.rt, "sign_in.refused", actor="victor")


# -- access tokens from the real provider ---------------------------------------------------------

@pytest.fixture(scope="module")
def real_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/oidc/provider.mjs on a free loopback port, protecting the API (its service clients
    get JWT access tokens whose audience is :data:`AUDIENCE`); yields its issuer."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is missing: these tests run a real OpenID Connect provider")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("tests/oidc/node_modules is missing: run `make test` (it runs `npm ci "
                    "--prefix tests/oidc` first)")
    log_path = tmp_path_factory.mktemp("oidc-api") / "provider.log"
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # a free port for the provider
    issuer = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen([node, "provider.mjs", str(port)], cwd=PROVIDER_DIR,
                                   env={**os.environ, "OIDC_API_RESOURCE": AUDIENCE},
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=30)


def _client_credentials(issuer: str, client: str, secret: str) -> str:
    """An access token for the API from the provider's token endpoint."""
    response = httpx.post(f"{issuer}/token", auth=(client, secret),
                          data={"grant_type": "client_credentials", "scope": "api"})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    assert token.count(".") == 2  # a JWT, not an opaque token
    return token


def test_real_provider_access_tokens_through_the_api(api: Api, real_provider: str) -> None:
    verifier = AccessTokenVerifier(OIDCConfig(
        server_metadata_url=f"{real_provider}/.well-known/openid-configuration",
        client_id="lamworks", api_audience=AUDIENCE))
    with TestClient(create_app(api.rt, verifier=verifier)) as client:
        token = _client_credentials(real_provider, "ehr-bridge", "ehr-bridge-test-secret")
        tools = client.get("/v1/tools", headers={"Authorization": f"Bearer {token}"})
        assert tools.status_code == 200, tools.text
        assert "healthcare.book_appointment" in {t["name"] for t in tools.json()["tools"]}
        identity = api.rt.accounts.identity("ehr-bridge")
        assert (identity.role, identity.source) == ("frontdesk", "oidc")
        turn = client.post("/v1/sessions/ehr-1/turns", json={"text": BOOK_OTHER},
                           headers={"Authorization": f"Bearer {token}"})
        assert turn.status_code == 200 and turn.json()["user"] == "ehr-bridge"

        kiosk = _client_credentials(real_provider, "kiosk", "kiosk-test-secret")
        refused = client.get("/v1/tools", headers={"Authorization": f"Bearer {kiosk}"})
        assert refused.status_code == 403
        assert "'volunteer'" in refused.json()["detail"]

        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        bad = client.get("/v1/tools", headers={"Authorization": f"Bearer {tampered}"})
        assert bad.status_code == 401
    assert _audit(api.rt, "sign_in", actor="ehr-bridge")
    assert _audit(api.rt, "sign_in.refused", actor="kiosk")
