"""Each role sees only the pages its permissions grant (issue 12), in a real browser: the demo
app served by ``lamworks ui`` on the example institution, driven by Debian's Chromium through
Playwright, one demo user per test (``/?user=NAME``).

The patient's view is saved as ``test-artifacts/patient-view.png``: Chat, Documents and their
own audit rows — no Plugins page, no configuration, no chain verification, no uploads.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]
ARTIFACTS = REPO / "test-artifacts"

# What examples/lamworks.toml grants each demo user's role (roles.*.permissions).
EXPECTED: dict[str, list[str]] = {
    "frontdesk": ["Home", "Chat", "Documents", "Audit log", "Clinic schedule"],
    "clinician": ["Home", "Chat", "Documents", "Audit log", "Clinic schedule"],
    "patient": ["Home", "Chat", "Documents", "Audit log"],
    "teacher": ["Home", "Chat", "Documents", "Audit log", "Essay feedback"],
    "student": ["Home", "Chat", "Documents", "Audit log", "Essay feedback"],
    "admin": ["Home", "Chat", "Documents", "Audit log", "Plugins", "Users", "Essay feedback",
              "Clinic schedule"],
    "auditor": ["Home", "Documents", "Audit log", "Plugins"],
}
ROLES = {"frontdesk": "frontdesk", "clinician": "clinician", "patient": "patient",
         "teacher": "teacher", "student": "student", "admin": "admin", "auditor": "auditor"}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory,
            serve_ui: Callable[..., AbstractContextManager[str]]) -> Iterator[str]:
    data = tmp_path_factory.mktemp("role-pages")
    env = {**os.environ, "LAMWORKS_DATA_DIR": str(data)}
    try:
        with serve_ui(REPO / "examples" / "lamworks.toml", data / "server.log", env=env) as url:
            yield url
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(data / "server.log", ARTIFACTS / "server-role-pages.log")


def _open_as(browser: Any, url: str, user: str, path: str = "") -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/{path}?user={user}", wait_until="networkidle")
    page.get_by_text(f"Role: {ROLES[user]}").wait_for()
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for()
    return page


def _navigation(page: Any) -> list[str]:
    links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    return [text.strip().splitlines()[-1] for text in links]  # after the icon's ligature


@pytest.mark.parametrize("user", list(EXPECTED))
def test_each_role_sees_only_its_pages(browser: Any, app_url: str, user: str) -> None:
    page = _open_as(browser, app_url, user)
    try:
        # The links first carry the pages' URL names, then their titles: wait for the titles.
        shown: list[str] = []
        for _ in range(60):
            shown = _navigation(page)
            if "Audit log" in shown:
                break
            page.wait_for_timeout(250)
        page.wait_for_timeout(500)  # and for a late link, were there one
        assert sorted(_navigation(page)) == sorted(EXPECTED[user])
    finally:
        page.close()


def _ask(browser: Any, url: str, user: str, text: str) -> None:
    page = _open_as(browser, url, user)  # the role's Home; the Chat is a link away
    try:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Chat").click()
        box = page.get_by_placeholder("Ask lamworks to do something")
        box.fill(text)
        box.press("Enter")
        page.locator('[data-testid="stChatMessage"]').nth(1).wait_for()  # the answer
    finally:
        page.close()


def test_the_patient_sees_their_own_activity_only(browser: Any, app_url: str) -> None:
    _ask(browser, app_url, "frontdesk", "find patient Omar Haddad")
    _ask(browser, app_url, "patient", "show my upcoming appointments")
    page = _open_as(browser, app_url, "patient", "audit")
    try:
        page.get_by_text("Your own activity only.").wait_for()
        page.get_by_text("healthcare.list_appointments").first.wait_for()
        table = page.locator("table.lw-table").inner_text()
        assert "patient" in table and "frontdesk" not in table
        assert "healthcare.find_patient" not in table
        assert page.get_by_role("button", name="Verify chain").count() == 0
        assert page.get_by_text("Export (JSON Lines)").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "patient-view.png"), full_page=True)
    finally:
        page.close()
    page = _open_as(browser, app_url, "patient")
    try:
        # The patient stays the patient on another page.
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Documents").click()
        page.get_by_placeholder("e.g. what is the cancellation policy?").wait_for()
        assert page.get_by_text("Add documents").count() == 0  # no knowledge.upload
        assert page.get_by_text("Delete an upload source").count() == 0
    finally:
        page.close()


def test_a_page_opened_by_url_without_permission_shows_no_content(
        browser: Any, app_url: str) -> None:
    page = _open_as(browser, app_url, "patient", "admin")
    try:
        page.wait_for_timeout(1500)
        assert page.get_by_text("Effective configuration").count() == 0
        assert page.get_by_role("heading", name="Plugins").count() == 0
        assert "Plugins" not in _navigation(page)
    finally:
        page.close()


def test_the_person_chosen_in_the_demo_sidebar_stays_chosen_from_page_to_page(
        browser: Any, app_url: str) -> None:
    page = _open_as(browser, app_url, "patient")
    try:
        page.get_by_label("Acting as").click()
        page.get_by_role("option", name="Sam Student").click()
        page.get_by_text("Role: student").wait_for()
        for link in ("Audit log", "Documents", "Chat"):
            page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
            page.wait_for_timeout(1500)  # the page's run, and any rerun after it
            page.get_by_text("Role: student").wait_for()
            assert page.get_by_text("Role: patient").count() == 0
    finally:
        page.close()
