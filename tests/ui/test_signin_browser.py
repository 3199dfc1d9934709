"""Signing in with a local account in a real browser: ``lamworks ui`` on an institution in
``[auth] mode = "accounts"``, driven by Debian's Chromium through Playwright (nothing is
downloaded). What AppTest cannot do here: click the shell's sidebar (Sign out) after the first
run, move between pages of the signed-in app, and reload the page (a new Streamlit session, so a
new sign-in)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from lamworks import AccountStore, load_config

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
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


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory,
            serve_ui: Callable[..., AbstractContextManager[str]]) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("signin")
    config = folder / "lamworks.toml"
    config.write_text(CONFIG, encoding="utf-8")
    accounts = AccountStore(load_config(config))
    accounts.add("dana", role="staff", password=PASSWORD, display_name="Dana Diaz")
    accounts.close()
    with serve_ui(config, folder / "server.log") as url:
        yield url


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
    # Before sign-in no page is listed: neither the app's pages nor the files of ui/views/.
    links = [a.inner_text().strip() for a in page.locator("[data-testid=stSidebarNav] a").all()]
    assert links == [], links
    page.screenshot(path=str(ARTIFACTS / "signin-accounts.png"))

    _sign_in(page, "dana", "not her password")
    page.get_by_text("Wrong username or password.").wait_for()

    _sign_in(page, "dana", PASSWORD)
    page.get_by_role("link", name="Chat", exact=True).wait_for()  # the role's pages, Home first
    page.get_by_text("Signed in as Dana Diaz").wait_for()
    page.get_by_text("Role: staff").wait_for()
    assert page.get_by_label("Acting as").count() == 0
    page.screenshot(path=str(ARTIFACTS / "signin-accounts-signed-in.png"))

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Audit log").click()
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
