"""Signing in with a local account in a real browser: ``lamworks ui`` on an institution in
``[auth] mode = "accounts"``, driven by Debian's Chromium through Playwright (nothing is
downloaded). What AppTest cannot do here: click the shell's sidebar (Sign out) after the first
run, move between pages of the signed-in app, and reload the page (a new Streamlit session, so a
new sign-in)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lamworks import AccountStore, load_config

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "a long enough passphrase"
CONFIG = """
data_dir = "data"
planner = "keyword"

[institution]
name = "Sign-in Test Clinic"

[plugins]
allow = []

[roles.staff]
scopes = ["user/*.cruds"]
permissions = ["*"]

[auth]
mode = "accounts"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("signin")
    config = folder / "lamworks.toml"
    config.write_text(CONFIG, encoding="utf-8")
    accounts = AccountStore(load_config(config))
    accounts.add("dana", role="staff", password=PASSWORD, display_name="Dana Diaz")
    accounts.close()
    port = _free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "lamworks.cli", "ui", "--config", str(config), "--port",
         str(port)], env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                assert server.poll() is None, (folder / "server.log").read_text()
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _sign_in(page: Any, username: str, password: str) -> None:
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_move_between_pages_and_sign_out(browser: Any, app_url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(60_000)
    page.goto(app_url, wait_until="networkidle")
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.get_by_placeholder("Ask lamworks to do something").count() == 0
    assert page.get_by_text("Demo mode").count() == 0
    # Before sign-in no page is listed: neither the app's pages nor the files of ui/pages/.
    links = [a.inner_text().strip() for a in page.locator("[data-testid=stSidebarNav] a").all()]
    assert links == [], links
    page.screenshot(path=str(ARTIFACTS / "signin-accounts.png"))

    _sign_in(page, "dana", "not her password")
    page.get_by_text("Wrong username or password.").wait_for()

    _sign_in(page, "dana", PASSWORD)
    page.get_by_placeholder("Ask lamworks to do something").wait_for()
    page.get_by_text("Signed in as Dana Diaz").wait_for()
    page.get_by_text("Role: staff").wait_for()
    assert page.get_by_label("Acting as").count() == 0
    page.screenshot(path=str(ARTIFACTS / "signin-accounts-signed-in.png"))

    page.get_by_role("link", name="Audit log").click()
    page.get_by_text("Signed in as Dana Diaz").wait_for()  # still signed in on another page
    page.get_by_role("button", name="Verify chain").wait_for()

    page.reload(wait_until="networkidle")  # a new Streamlit session: nothing kept in a cookie
    page.get_by_role("heading", name="Sign in").wait_for()
    _sign_in(page, "dana", PASSWORD)
    page.get_by_text("Signed in as Dana Diaz").wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.get_by_text("Signed in as").count() == 0
    page.close()
