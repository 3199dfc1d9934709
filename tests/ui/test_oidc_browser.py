"""OpenID Connect sign-in end to end: a real provider, a real ``lamworks ui``, a real browser.

The provider is the certified ``oidc-provider`` (npm) started by a fixture on a free loopback
port (``tests/oidc/provider.mjs``; ``make test`` installs its node_modules, nothing is fetched
here). ``lamworks ui`` runs the example institution with ``[auth] mode = "oidc"``; Debian's
Chromium, driven by Playwright, fills the provider's login form. The browser may reach loopback
only: every other request is refused, so the journeys need no network.

Journeys: the sign-in page; the front desk signs in (name and role shown, audited) and out
(through the provider's end-session page); a patient signs in and asks for her appointments (her
link comes from the ``fhir_patient`` claim); a person with no mapped role is refused (audited);
a session older than ``[auth] session_minutes`` goes back to the sign-in page. Screenshots:
``test-artifacts/oidc-*.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]
ARTIFACTS = REPO / "test-artifacts"
PROVIDER_DIR = REPO / "tests" / "oidc"
CLIENT_ID = "lamworks-test"
CLIENT_SECRET = "a-client-secret-for-the-test-provider"
COOKIE_SECRET = "a-cookie-secret-only-this-test-uses-0123456789"
PROVIDER_NAME = "Riverside ID"
SHORT_SESSION_MINUTES = 0.5  # 30 s: long enough for a sign-in on a loaded machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, *, expect: bytes | None,
              seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if expect is None or response.read() == expect:
                    return
        except OSError:
            pass
        assert process.poll() is None, f"exited early:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"{url} did not answer:\n{log.read_text()}"
        time.sleep(0.3)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# -- the servers -------------------------------------------------------------------------------

APP_PORTS = {"main": _free_port(), "short": _free_port()}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The OpenID Connect provider on loopback; yields its issuer URL."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is missing: the sign-in tests run a real OpenID Connect provider "
                    "(install nodejs, then `make test`)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("tests/oidc/node_modules is missing: run `make test` (it runs `npm ci "
                    "--prefix tests/oidc` first; no download happens during the tests)")
    folder = tmp_path_factory.mktemp("oidc-provider")
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {**os.environ, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
           "OIDC_REDIRECT_URIS": ",".join(f"http://127.0.0.1:{p}/oauth2callback"
                                          for p in APP_PORTS.values())}
    log_path = folder / "provider.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([node, "provider.mjs", str(port)], cwd=PROVIDER_DIR, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"{issuer}/.well-known/openid-configuration", process, log_path, expect=None,
                  seconds=30)
        yield issuer
    finally:
        _stop(process)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log_path, ARTIFACTS / "oidc-provider.log")


def _oidc_config(folder: Path, issuer: str, port: int, session_minutes: float) -> Path:
    """The example institution with [auth] mode = "oidc" on this provider."""
    text = (REPO / "examples" / "lamworks.toml").read_text(encoding="utf-8")
    text, found = re.subn(r'(?m)^data_dir = .*$', f'data_dir = "{folder / "data"}"', text)
    assert found == 1
    auth = f"""[auth]
mode = "oidc"
session_minutes = {session_minutes}

[auth.oidc]
server_metadata_url = "{issuer}/.well-known/openid-configuration"
provider_name = "{PROVIDER_NAME}"
client_id = "{CLIENT_ID}"
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
scope = "openid profile email roles fhir"
role_map = {{ front-desk = "frontdesk", doctor = "clinician" }}
links_claims = {{ patient = "fhir_patient" }}
"""
    text, found = re.subn(r'(?ms)^\[auth\]\n.*?(?=^\[)', auth + "\n", text)
    assert found == 1
    path = folder / "lamworks.toml"
    path.write_text(text, encoding="utf-8")
    return path


class App:
    """A running ``lamworks ui`` and its data folder."""

    def __init__(self, url: str, data: Path) -> None:
        self.url = url
        self.data = data

    def audit(self, event: str) -> list[dict[str, Any]]:
        """The audit rows of one event, oldest first (read from the real SQLite file)."""
        with sqlite3.connect(self.data / "audit.db") as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM audit WHERE event = ? ORDER BY seq",
                                (event,)).fetchall()
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


def _start_app(name: str, folder: Path, issuer: str, session_minutes: float) -> Iterator[App]:
    port = APP_PORTS[name]
    config = _oidc_config(folder, issuer, port, session_minutes)
    env = {**os.environ, "LAMWORKS_AUTH__OIDC__CLIENT_SECRET": CLIENT_SECRET,
           "LAMWORKS_AUTH__OIDC__COOKIE_SECRET": COOKIE_SECRET}
    env.pop("LAMWORKS_DATA_DIR", None)
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "lamworks.cli", "ui", "--config", str(config), "--port",
             str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/_stcore/health", server, log_path, expect=b"ok")
        yield App(url, folder / "data")
    finally:
        _stop(server)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log_path, ARTIFACTS / f"oidc-server-{name}.log")


@pytest.fixture(scope="module")
def app(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    yield from _start_app("main", tmp_path_factory.mktemp("oidc-app"), provider, 480)


@pytest.fixture(scope="module")
def short_app(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    yield from _start_app("short", tmp_path_factory.mktemp("oidc-app-short"), provider,
                          SHORT_SESSION_MINUTES)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser profile (no cookies) that can reach loopback only. Its last view is kept
    in ``test-artifacts/oidc-end-<test>.png`` (what a failure looked like)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"oidc-end-{request.node.name}.png"), full_page=True)
        context.close()


# -- steps -------------------------------------------------------------------------------------

def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in_button(page: Any) -> Any:
    return page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")


def _sign_in(page: Any, app: App, login: str, *, open_app: bool = True) -> None:
    """From the app's sign-in page through the provider's login form and back."""
    if open_app:
        page.goto(app.url, wait_until="networkidle")
    _sign_in_button(page).click()
    page.wait_for_url(re.compile(r"/interaction/"))
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password: the development form takes any")
    page.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(app.url) + r"/?(\?.*)?$"))


def _sign_out(page: Any, app: App, button: Callable[[Any], Any]) -> None:
    """Sign out in the app, confirm on the provider's end-session page, land on sign-in."""
    button(page).click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(re.compile(re.escape(app.url)))
    _sign_in_button(page).wait_for()


def _open_chat(page: Any) -> None:
    """Signed in, a person lands on their role's home page; the chat is one link away."""
    page.get_by_role("link", name="Chat", exact=True).click()
    page.get_by_placeholder("Ask lamworks to do something").wait_for()


def _sidebar_sign_out(page: Any) -> Any:
    return page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out")


# -- journeys ----------------------------------------------------------------------------------

def test_front_desk_signs_in_with_the_provider_and_out_again(page: Any, app: App) -> None:
    page.goto(app.url, wait_until="networkidle")
    _sign_in_button(page).wait_for()
    assert page.get_by_placeholder("Ask lamworks to do something").count() == 0
    _shot(page, "oidc-signin")

    _sign_in(page, app, "frances", open_app=False)
    _open_chat(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Frances Desk").wait_for()
    sidebar.get_by_text("frontdesk").first.wait_for()
    signed_in = app.audit("sign_in")
    assert [(r["actor"], r["role"], r["outcome"]) for r in signed_in] == [
        ("frances", "frontdesk", "ok")]
    assert "'front-desk'" in signed_in[0]["detail"]["role_from"]
    _shot(page, "oidc-frontdesk")

    _sign_out(page, app, _sidebar_sign_out)
    assert page.get_by_placeholder("Ask lamworks to do something").count() == 0
    assert [(r["actor"], r["event"]) for r in app.audit("sign_out")] == [
        ("frances", "sign_out")]
    # Signed out at the provider too: signing in again asks for the login form again.
    _sign_in_button(page).click()
    page.locator("input[name=login]").wait_for()


def test_a_patient_signs_in_and_books_for_herself(page: Any, app: App) -> None:
    """Her link to her record (Patient/pat-0001) comes only from the ``fhir_patient`` claim:
    without it, "book me in" is answered with "Which patient is this for?"."""
    _sign_in(page, app, "ana")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Ana Ruiz").wait_for()
    sidebar.get_by_text("patient").first.wait_for()
    _open_chat(page)
    box = page.get_by_placeholder("Ask lamworks to do something")
    box.fill("book me with dr lee next tuesday afternoon")
    box.press("Enter")
    page.get_by_role("button", name="Book it").last.wait_for()
    page.get_by_text("Book you with Dr. Lena Lee").last.wait_for()  # her record, from the claim
    page.get_by_role("button", name="Book it").last.click()
    page.get_by_text("Booked you with Dr. Lena Lee").last.wait_for()
    assert page.get_by_text("Which patient is this for?").count() == 0
    _shot(page, "oidc-patient")


def test_a_person_without_a_mapped_role_is_refused(page: Any, app: App) -> None:
    _sign_in(page, app, "victor")
    page.get_by_text("You cannot use lamworks with this account").wait_for()
    page.get_by_text("'volunteer'").wait_for()
    assert page.get_by_placeholder("Ask lamworks to do something").count() == 0
    refused = app.audit("sign_in.refused")
    assert [(r["actor"], r["outcome"], r["detail"]["roles_claim"]) for r in refused] == [
        ("victor", "refused", ["volunteer"])]
    _shot(page, "oidc-refused")
    _sign_out(page, app, lambda p: p.get_by_role("button", name="Sign out"))


def test_a_session_older_than_session_minutes_goes_back_to_sign_in(page: Any,
                                                                  short_app: App) -> None:
    _sign_in(page, short_app, "frances")
    _open_chat(page)
    signed_in_at = short_app.audit("sign_in")[-1]["detail"]["issued_at"]
    time.sleep(max(0.0, signed_in_at + SHORT_SESSION_MINUTES * 60 + 1 - time.time()))
    # The identity cookie is still there (Streamlit keeps it 30 days); lamworks ends the session.
    page.reload(wait_until="networkidle")
    page.get_by_text("Your session has expired").wait_for()
    assert page.get_by_placeholder("Ask lamworks to do something").count() == 0
    _shot(page, "oidc-expired")
    _sign_in(page, short_app, "frances", open_app=False)
    _open_chat(page)
