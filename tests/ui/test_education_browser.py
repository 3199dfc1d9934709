"""The teacher's and the student's journeys in a real browser (issue 15, items 2 and 4):
``lamworks ui`` on the example institution, served once for this module, Debian's Chromium
through Playwright, axe-core injected (no serious or critical violation).

- The student lands on their home ("Your essays and feedback", nothing yet) at 1280×800 and
  390×844; submits a short essay in the chat and sees the feedback component — the trait
  chart, the next steps, the essay with its evidence highlighted — at both widths; back home,
  the essay is listed with its scores.
- The teacher lands on their home: the class roster with the student's essay counted, the
  latest trait scores and the trait charts, at both widths.

The tests run in this order (the teacher's view needs the student's essay). Screenshots:
``test-artifacts/edu-*.png``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]
ARTIFACTS = REPO / "test-artifacts"
AXE = REPO / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}
# As in test_home_browser: Streamlit's own sidebar navigation markup (a <div> between its <ul>
# and <li>s) is the one violation our pages cannot change.
STREAMLIT_OWN = {"list": '[data-testid="stSidebarNavItems"]',
                 "listitem": '[data-testid="stSidebarNavItems"]'}
ESSAY = ("Our school should open the art room at lunch. Many students love to draw, yet the "
         "room sits locked from noon until one. First, an open studio gives quiet students a "
         "calm place to rest. Second, older pupils could coach younger ones, which builds "
         "friendships across grades. Finally, the cost is tiny, since a single volunteer "
         "teacher can supervise. For these reasons, the principal should unlock the art room "
         "every day at noon.")
TITLE = "Our school should open the art room at…"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory,
            serve_ui: Callable[..., AbstractContextManager[str]]) -> Iterator[str]:
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make test` installs it (npm ci --prefix tests/a11y)")
    data = tmp_path_factory.mktemp("edu-pages")
    env = {**os.environ, "LAMWORKS_DATA_DIR": str(data)}
    try:
        with serve_ui(REPO / "examples" / "lamworks.toml", data / "server.log", env=env) as url:
            yield url
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(data / "server.log", ARTIFACTS / "server-education.log")
        log = (data / "server.log").read_text(errors="replace")
        assert "deprecat" not in log.lower(), log[-2000:]
        assert "Traceback" not in log, log[-4000:]


def _both_widths(page: Any, name: str) -> None:
    """Screenshots at 1280 and 390 px, each checked by axe and for nothing cut off; the page is
    left wide again."""
    ARTIFACTS.mkdir(exist_ok=True)
    for size, label in ((WIDE, "1280"), (NARROW, "390")):
        page.set_viewport_size(size)
        _settled(page)
        page.screenshot(path=str(ARTIFACTS / f"edu-{name}-{label}.png"), full_page=True)
        _fits(page)
        _assert_accessible(page)
    page.set_viewport_size(WIDE)
    _settled(page)


def test_the_student_submits_an_essay_in_chat_and_finds_it_on_their_home(
        browser: Any, app_url: str) -> None:
    page = _open_home(browser, app_url, "student")
    try:
        page.get_by_role("heading", name="Your essays and feedback").wait_for()
        page.get_by_text("No essays yet").wait_for()
        text = _main_text(page)
        assert "Class roster and essays" not in text  # nothing of the teacher's
        page.get_by_role("button", name="give me feedback on my essay").wait_for()
        _both_widths(page, "home-student-empty")

        page.goto(f"{app_url}/chat?user=student", wait_until="networkidle")
        box = page.get_by_placeholder("Ask lamworks to do something")
        box.fill(f"please give me feedback on this draft: {ESSAY}")
        box.press("Enter")
        page.get_by_text(re.compile(r"^Trait scores \(out of 5\)")).wait_for()
        page.get_by_text("Your essay, with evidence highlighted").wait_for()
        page.get_by_text(f"Saved in the feedback history: “{TITLE}”").wait_for()
        assert page.get_by_role("table").filter(has_text="Trait scores").count() == 1
        marks = page.locator('[data-testid="stChatMessage"] mark')
        assert marks.count() >= 1
        for mark in marks.all_inner_texts():  # highlights end on word boundaries
            assert mark.strip() and mark in ESSAY, mark
            start = ESSAY.index(mark)
            end = start + len(mark)
            assert start == 0 or not ESSAY[start - 1].isalnum(), mark
            assert end == len(ESSAY) or not ESSAY[end].isalnum(), mark
        _both_widths(page, "chat-essay-feedback")
        # the chat scrolls inside its own box: a picture of the chart's part of the card too
        page.get_by_role("table").filter(has_text="Trait scores").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "edu-chat-essay-chart-1280.png"))

        page.goto(f"{app_url}/?user=student", wait_until="networkidle")
        page.get_by_role("heading", name="Your essays and feedback").wait_for()
        table = page.locator("table.lw-table").first
        table.wait_for()
        listed = table.inner_text()
        assert TITLE in listed and "Ideas and thesis" in listed, listed
        assert "1 essay(s) with feedback" in _main_text(page)
        _both_widths(page, "home-student")
    finally:
        page.close()


def test_the_teacher_sees_the_students_essay_in_the_class_roster(browser: Any,
                                                                 app_url: str) -> None:
    page = _open_home(browser, app_url, "teacher")
    try:
        page.get_by_role("heading", name="Class roster and essays").wait_for()
        table = page.locator("table.lw-table").first
        table.wait_for()
        roster = table.inner_text()
        assert "Sam Student (stu-0001)" in roster and "stu-0002" in roster, roster
        assert "Ideas and thesis" in roster, roster
        page.get_by_text("Trait scores over the submitted essays").wait_for()
        chart = page.get_by_role("img", name=re.compile(r"^Ideas and thesis, 1 essay\(s\)"))
        assert "Sam Student" in (chart.get_attribute("aria-label") or "")
        assert "Your essays and feedback" not in _main_text(page)
        _both_widths(page, "home-teacher")
    finally:
        page.close()


# -- the same helpers as test_home_browser (tests are not a package: --import-mode=importlib) --

def _open_home(browser: Any, url: str, user: str) -> Any:
    page = browser.new_page(viewport=WIDE)
    page.set_default_timeout(60_000)
    page.goto(f"{url}/?user={user}", wait_until="networkidle")
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for()
    return page


def _settled(page: Any) -> None:
    """Streamlit has finished the run and drawn it; on a narrow screen the sidebar is folded."""
    page.wait_for_function("""() => {
        if (document.querySelector(
            '[data-testid="stStatusWidget"], [data-stale="true"], [data-testid="stSkeleton"]'))
            return false;
        const bar = document.querySelector('[data-testid="stSidebar"]');
        return window.innerWidth > 640 || !bar || bar.getBoundingClientRect().right <= 1;
    }""")


def _assert_accessible(page: Any) -> None:
    """No serious or critical axe-core violation (but Streamlit's own, STREAMLIT_OWN)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async (own) => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        const found = [];
        for (const v of result.violations) {
            if (v.impact !== 'serious' && v.impact !== 'critical') continue;
            const nodes = v.nodes.filter(n => {
                const el = document.querySelector(n.target[0]);
                return !(own[v.id] && el && el.closest(own[v.id]));
            });
            if (nodes.length) found.push(`${v.id} (${v.impact}): ${v.help} — ` + nodes.slice(0, 5)
                .map(n => n.html.slice(0, 160)).join(' | '));
        }
        return found;
    }""", STREAMLIT_OWN)
    assert not found, "\n".join(found)


def _fits(page: Any) -> None:
    """Nothing is cut off on the right: the page and its tables fit the window."""
    width = page.viewport_size["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    overflowing = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=\"stMain\"] table')]"
        ".filter(t => t.getBoundingClientRect().right > window.innerWidth + 1).length")
    assert overflowing == 0


def _main_text(page: Any) -> str:
    return str(page.locator('[data-testid="stMain"]').inner_text())
