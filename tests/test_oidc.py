"""OpenID Connect without a browser: claims to a role and links, session expiry from ``iat``, and
the secrets file ``lamworks ui`` writes for ``st.login``. The browser journeys against a real
provider are in ``tests/ui/test_oidc_browser.py``."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lamworks import ConfigError, load_config
from lamworks.config import OIDCConfig, UserConfig
from lamworks.oidc import (
    CLIENT_SECRET_ENV,
    COOKIE_SECRET_ENV,
    PROVIDER,
    OIDCRefusal,
    OIDCSignIn,
    claim_values,
    map_claims,
    session_expired,
    streamlit_secrets,
    write_streamlit_secrets,
)

ROLES = ["frontdesk", "clinician", "patient", "admin"]  # as declared: the order decides ties
OIDC = OIDCConfig(
    server_metadata_url="http://127.0.0.1:9/.well-known/openid-configuration",
    client_id="lamworks",
    role_map={"front-desk": "frontdesk", "doctor": "clinician", "it": "admin"},
    links_claims={"patient": "fhir_patient"},
)


def _map(**claims: Any) -> OIDCSignIn | OIDCRefusal:
    return map_claims({"sub": "s-1", **claims}, OIDC, roles=ROLES)


def test_a_string_roles_claim_that_is_a_role_name_maps_to_it() -> None:
    outcome = _map(preferred_username="ana", name="Ana Ruiz", roles="patient",
                   fhir_patient="Patient/pat-0001")
    assert outcome == OIDCSignIn(
        username="ana", role="patient", display_name="Ana Ruiz",
        links={"patient": "Patient/pat-0001"},
        role_reason="'roles' = 'patient' gives the role 'patient'")


def test_a_list_roles_claim_maps_through_role_map_and_ignores_unknown_values() -> None:
    outcome = _map(preferred_username="frances", roles=["staff", "front-desk"])
    assert isinstance(outcome, OIDCSignIn)
    assert (outcome.role, outcome.links, outcome.display_name) == ("frontdesk", {}, "")
    assert "'front-desk'" in outcome.role_reason


@pytest.mark.parametrize("roles", [["volunteer"], "volunteer", [], None, 42, [7, {"a": 1}]])
def test_no_mapped_role_is_refused_saying_what_the_claim_held(roles: Any) -> None:
    claims = {"preferred_username": "victor"} | ({} if roles is None else {"roles": roles})
    outcome = _map(**claims)
    assert isinstance(outcome, OIDCRefusal)
    assert outcome.username == "victor"
    assert "no role in lamworks" in outcome.reason
    if roles in (["volunteer"], "volunteer"):
        assert outcome.values == ("volunteer",) and "'volunteer'" in outcome.reason


def test_several_roles_the_one_declared_first_in_roles_wins_whatever_the_claim_order() -> None:
    for roles in (["it", "doctor", "front-desk"], ["front-desk", "doctor", "it"]):
        outcome = _map(preferred_username="lee", roles=roles)
        assert isinstance(outcome, OIDCSignIn)
        assert outcome.role == "frontdesk"
        assert "several roles" in outcome.role_reason
        assert "'clinician', 'admin'" in outcome.role_reason


def test_role_map_wins_over_a_value_that_is_also_a_role_name() -> None:
    oidc = OIDC.model_copy(update={"role_map": {"patient": "clinician"}})
    outcome = map_claims({"sub": "s", "roles": "patient"}, oidc, roles=ROLES)
    assert isinstance(outcome, OIDCSignIn) and outcome.role == "clinician"


def test_a_name_declared_in_users_with_another_role_is_refused_the_same_role_is_not() -> None:
    users = {"admin": UserConfig(role="admin"), "ana": UserConfig(role="patient")}
    refused = map_claims({"sub": "s", "preferred_username": "admin", "roles": "patient"}, OIDC,
                         roles=ROLES, users=users)
    assert isinstance(refused, OIDCRefusal)
    assert "declares 'admin' with the role 'admin'" in refused.reason
    agreed = map_claims({"sub": "s", "preferred_username": "ana", "roles": "patient"}, OIDC,
                        roles=ROLES, users=users)
    assert isinstance(agreed, OIDCSignIn) and agreed.role == "patient"


def test_username_falls_back_to_sub_and_claim_names_are_configurable() -> None:
    oidc = OIDC.model_copy(update={"username_claim": "upn", "display_name_claim": "given",
                                   "roles_claim": "groups"})
    outcome = map_claims({"sub": "abc", "given": "Dana", "groups": ["doctor"]}, oidc,
                         roles=ROLES)
    assert isinstance(outcome, OIDCSignIn)
    assert (outcome.username, outcome.display_name, outcome.role) == ("abc", "Dana", "clinician")
    refused = map_claims({"groups": ["doctor"]}, oidc, roles=ROLES)
    assert isinstance(refused, OIDCRefusal) and "'sub'" in refused.reason


def test_links_take_a_string_or_the_first_string_of_a_list_and_skip_missing_claims() -> None:
    oidc = OIDC.model_copy(update={"links_claims": {"patient": "fhir_patient",
                                                    "student": "sis_id"}})
    outcome = map_claims({"sub": "s", "roles": "patient", "fhir_patient": ["Patient/p-2"]},
                         oidc, roles=ROLES)
    assert isinstance(outcome, OIDCSignIn) and outcome.links == {"patient": "Patient/p-2"}


def test_claim_values() -> None:
    assert claim_values("a") == ("a",)
    assert claim_values(["a", 1, "", "b"]) == ("a", "b")
    assert claim_values(None) == () and claim_values("") == ()


def test_session_expires_session_minutes_after_iat_and_without_iat() -> None:
    assert not session_expired({"iat": 1000}, 1, now=1059.9)
    assert session_expired({"iat": 1000}, 1, now=1060)
    assert not session_expired({"iat": 1000.5}, 480, now=1000 + 479 * 60)
    assert session_expired({}, 480, now=0)
    assert session_expired({"iat": "1000"}, 480, now=0)
    assert session_expired({"iat": True}, 480, now=0)


# -- the secrets file ------------------------------------------------------------------------

COOKIE = "c" * 40


def _config(tmp_path: Path, oidc_extra: str = "") -> Any:
    path = tmp_path / "lamworks.toml"
    path.write_text(
        "[institution]\nname = 'Test clinic'\n[roles.frontdesk]\n[roles.patient]\n"
        "[auth]\nmode = 'oidc'\nsession_minutes = 5\n[auth.oidc]\n"
        "server_metadata_url = 'http://127.0.0.1:9/.well-known/openid-configuration'\n"
        "client_id = 'lamworks'\nprovider_name = 'Clinic \"ID\"'\n"
        "redirect_uri = 'http://127.0.0.1:8600/oauth2callback'\n"
        "role_map = { front-desk = 'frontdesk' }\n" + oidc_extra,
        encoding="utf-8")
    return load_config(path)


def test_secrets_come_from_the_environment_and_make_a_streamlit_auth_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_SECRET_ENV, 'se"cret\\é')
    monkeypatch.setenv(COOKIE_SECRET_ENV, COOKIE)
    config = _config(tmp_path)
    assert config.auth.oidc is not None and config.auth.oidc.client_secret == 'se"cret\\é'
    written = write_streamlit_secrets(config)
    assert written.parent == config.data_dir
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    auth = tomllib.loads(written.read_text(encoding="utf-8"))["auth"]
    assert auth["redirect_uri"] == "http://127.0.0.1:8600/oauth2callback"
    assert auth["cookie_secret"] == COOKIE
    assert auth[PROVIDER] == {
        "client_id": "lamworks", "client_secret": 'se"cret\\é',
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
        "client_kwargs": {"scope": "openid profile email", "prompt": "login",
                          "code_challenge_method": "S256"}}
    assert "_" not in PROVIDER  # Streamlit refuses underscores in a provider's name
    assert list(tmp_path.rglob("*.tmp")) == []


@pytest.mark.parametrize(("env", "variable"), [
    ({COOKIE_SECRET_ENV: COOKIE}, CLIENT_SECRET_ENV),
    ({CLIENT_SECRET_ENV: "s"}, COOKIE_SECRET_ENV),
    ({CLIENT_SECRET_ENV: "s", COOKIE_SECRET_ENV: "short"}, COOKIE_SECRET_ENV),
])
def test_a_missing_or_short_secret_names_its_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
        variable: str) -> None:
    for name in (CLIENT_SECRET_ENV, COOKIE_SECRET_ENV):
        monkeypatch.delenv(name, raising=False)
    config = _config(tmp_path)
    with pytest.raises(ConfigError, match=variable):
        streamlit_secrets(config, env)


def test_a_secret_in_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"auth\.oidc\.client_secret"):
        _config(tmp_path, "client_secret = 'in-the-file'\n")


def test_an_unknown_prompt_is_refused_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"auth\.oidc\.prompt"):
        _config(tmp_path, "prompt = 'select-account'\n")


def test_the_example_in_docs_auth_md_loads_and_maps(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    doc = (Path(__file__).parents[1] / "docs" / "auth.md").read_text(encoding="utf-8")
    section = doc[doc.index("## OpenID Connect"):]
    example = section[section.index("```toml\n") + 8:section.index("```\n", section.index(
        "```toml\n") + 8)]
    path = tmp_path / "lamworks.toml"
    path.write_text("[institution]\nname = 'Riverside'\n[roles.frontdesk]\n[roles.clinician]\n"
                    "[roles.patient]\n[roles.admin]\n" + example, encoding="utf-8")
    config = load_config(path)
    assert config.auth.mode == "oidc" and config.auth.oidc is not None
    outcome = map_claims({"sub": "x", "preferred_username": "lee", "name": "Dr Lee",
                          "roles": ["it-admins", "doctor"]}, config.auth.oidc,
                         roles=list(config.roles))
    assert isinstance(outcome, OIDCSignIn) and outcome.role == "clinician"
    monkeypatch.setenv(CLIENT_SECRET_ENV, "s")
    monkeypatch.setenv(COOKIE_SECRET_ENV, COOKIE)
    assert "[auth.lamworks]" in streamlit_secrets(load_config(path))


def test_lamworks_ui_without_the_cookie_secret_stops_naming_the_variable(tmp_path: Path) -> None:
    config = _config(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMWORKS_")}
    env[CLIENT_SECRET_ENV] = "s"
    done = subprocess.run([sys.executable, "-m", "lamworks.cli", "ui", "--config",
                           str(config.source), "--port", "1"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert COOKIE_SECRET_ENV in done.stderr and "auth.oidc.cookie_secret" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (config.data_dir / "streamlit-secrets.toml").exists()
