"""The chat's cards and components in a real browser (issue 15, items 1 and 2): ``lamworks ui``
on the demo configuration, Debian's Chromium through Playwright, one server for the module.

- the front desk books through a card in plain language, at 1280×800 and at 390×844: the
  patient and the doctor by name, no FHIR reference or method in sight, "Book it" / "Don't
  book" inside the viewport and not clipped; after a click the buttons are gone;
- a slot search offers choices, and clicking one leads to a booking card;
- a student's quiz shows no answer before it is answered and marks an answer right or wrong;
- a conversation survives a reload; "New chat" empties the page and lists the old one, which
  comes back when clicked.

Screenshots go to ``test-artifacts/chat-*.png``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]
ARTIFACTS = REPO / "test-artifacts"
VIEWPORTS = {"wide": {"width": 1280, "height": 800}, "narrow": {"width": 390, "height": 844}}
COURSE = REPO / "plugins" / "education" / "lamworks_education" / "knowledge" / "course"


def _ingest_one_course_file(data: Path) -> None:
    """The quiz's material: one course document in the course source (the whole ``kb sync``
    takes ~85 s here; one file ~15 s, model load included)."""
    from lamworks import Runtime
    from lamworks.knowledge import ingest_path

    folder = data / "course-one"
    folder.mkdir()
    shutil.copy(COURSE / "energy-pyramids.md", folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAMWORKS_DATA_DIR", str(data))
        rt = Runtime.from_config(REPO / "examples" / "lamworks.toml")
        kb = rt.services["knowledge"].get()
        ingest_path(kb, folder, "course-material", "public")
        kb.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory,
            serve_ui: Callable[..., AbstractContextManager[str]]) -> Iterator[str]:
    data = tmp_path_factory.mktemp("chat-data")
    _ingest_one_course_file(data)
    env = {**os.environ, "LAMWORKS_DATA_DIR": str(data)}
    try:
        with serve_ui(REPO / "examples" / "lamworks.toml", data / "server.log", env=env) as url:
            yield url
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(data / "server.log", ARTIFACTS / "chat-server.log")
        log = (data / "server.log").read_text()
        assert "use_container_width" not in log and "Deprecat" not in log, log[-2000:]


def _page(browser: Any, url: str, viewport: str, user: str) -> Any:
    page = browser.new_page(viewport=VIEWPORTS[viewport])
    page.set_default_timeout(60_000)
    # A role with a home page opens on it (issue 15, item 4), so the Chat is opened by its
    # address, after the app itself: on a server whose first session opens /chat, Streamlit
    # runs that page without ui/app.py (as a pages-folder app, its navigation file names).
    page.goto(f"{url}/?user={user}", wait_until="networkidle")
    page.get_by_role("link", name="Chat", exact=True).wait_for(state="attached")
    page.goto(f"{url}/chat?user={user}", wait_until="networkidle")
    page.get_by_placeholder("Ask lamworks to do something").wait_for()
    return page


def _say(page: Any, text: str) -> None:
    box = page.get_by_placeholder("Ask lamworks to do something")
    box.fill(text)
    box.press("Enter")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _in_viewport(page: Any, locator: Any, viewport: str) -> None:
    """``locator`` wholly inside the viewport (after the page's own scrolling, as a person
    sees it) and not cut off by its card."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    size = VIEWPORTS[viewport]
    assert box is not None
    assert 0 <= box["x"] and box["x"] + box["width"] <= size["width"], box
    assert 0 <= box["y"] and box["y"] + box["height"] <= size["height"], box
    assert locator.is_visible()


def _weekdays_ahead(count: int) -> list[str]:
    """Names of the next ``count`` weekdays from the day after tomorrow, in the clinic's zone:
    the server runs on the real clock, so a fixed day name can already be over (a Tuesday
    afternoon asked for on a Tuesday evening)."""
    day = datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=2)
    names: list[str] = []
    while len(names) < count:
        if day.weekday() < 5:
            names.append(f"{day:%A}")
        day += timedelta(days=1)
    return names


def _day_ahead() -> tuple[str, str]:
    """A weekday at least two days ahead, in the clinic's zone: its name ("Friday") and how a
    slot choice writes it ("Fri 4 Dec")."""
    day = datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return f"{day:%A}", f"{day:%a} {day.day} {day:%b}"


@pytest.mark.parametrize("viewport", ["wide", "narrow"])
def test_the_front_desk_books_through_a_plain_card(browser: Any, app_url: str,
                                                   viewport: str) -> None:
    page = _page(browser, app_url, viewport, "frontdesk")
    day = dict(zip(("wide", "narrow"), _weekdays_ahead(2), strict=True))[viewport]  # one each
    _say(page, f"please get Ana Ruiz in to see Dr. Lee on {day} afternoon")
    book = page.get_by_role("button", name="Book it")
    book.wait_for()
    card = page.get_by_text("Book Ana Ruiz (born 1984-03-12) with Dr. Lena Lee on").last
    card.wait_for()
    assert card.is_visible()
    visible = page.locator("body").inner_text()  # what is rendered visible, expanders shut
    assert "Patient/pat-" not in visible and "PUT " not in visible and "If-Match" not in visible
    assert page.get_by_text("Technical details").count() == 1
    for button in (book, page.get_by_role("button", name="Don't book")):
        _in_viewport(page, button, viewport)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"], f"the page is {width}px wide"
    _shot(page, f"chat-card-{viewport}")
    book.click()
    page.get_by_text("Booked Ana Ruiz with Dr. Lena Lee").last.wait_for()
    assert page.get_by_role("button", name="Book it").count() == 0
    assert page.get_by_role("button", name="Don't book").count() == 0
    _shot(page, f"chat-card-done-{viewport}")


def test_a_slot_choice_leads_to_a_card(browser: Any, app_url: str) -> None:
    page = _page(browser, app_url, "narrow", "frontdesk")
    name, label = _day_ahead()
    _say(page, f"book Omar Haddad in on {name.lower()}")
    page.get_by_text("who the visit is with").wait_for()
    _say(page, "what openings has dr lee got")
    first = page.get_by_role("button", name=f"Next opening: {label}")
    first.wait_for()
    page.get_by_role("button", name="More…").wait_for()
    _shot(page, "chat-slot-choices-narrow")
    shown = first.inner_text()  # "Next opening: Thu 3 Dec, 9:00–9:30 · Dr. Lena Lee"
    span = shown.removeprefix("Next opening: ").split(" · ")[0]
    first.click()
    page.get_by_role("button", name="Book it").wait_for()
    page.get_by_text(f"with Dr. Lena Lee on {span}").last.wait_for()
    _shot(page, "chat-slot-picked-narrow")


def test_a_student_quiz_hides_the_answer_until_answered(browser: Any, app_url: str) -> None:
    page = _page(browser, app_url, "wide", "student")
    _say(page, "give me a practice quiz about energy pyramids")
    check = page.get_by_role("button", name="Check my answers")
    check.wait_for()
    page.locator("text=Fill in the blank >> visible=true").first.wait_for()  # the question
    html = page.content()
    assert "Right" not in page.locator("body").inner_text()
    assert "the answer is" not in html and "Technical details" not in html
    assert "Source:" not in page.locator("body").inner_text()  # the sources quote the answer
    _shot(page, "chat-quiz-before-wide")
    options = page.get_by_role("radiogroup").first.get_by_role("radio")
    names = [options.nth(i).evaluate("e => e.closest('label').innerText")
             for i in range(options.count())]
    wrong = next(n for n in names if n.strip() != "pyramid of energy")
    page.get_by_role("radiogroup").first.get_by_text(wrong.strip(), exact=True).click()
    check.click()
    page.get_by_text("Not quite").first.wait_for()
    page.get_by_text("the answer is pyramid of energy").first.wait_for()
    _shot(page, "chat-quiz-checked-wide")


def test_the_tutor_takes_the_student_s_attempt_and_explains(browser: Any, app_url: str) -> None:
    """The hint asks the student to try; their attempt goes back to the tutor (not to another
    tool), which explains the topic with sources and ends with a check question."""
    page = _page(browser, app_url, "wide", "student")
    _say(page, "help me get my head around energy pyramids")
    page.get_by_text("Here's a hint rather than the answer").first.wait_for()
    _say(page, "the bottom level has the most energy in it")
    page.get_by_text("Check your understanding").first.wait_for()
    assert page.get_by_text("grade(s) for").count() == 0
    page.mouse.move(640, 400)
    page.mouse.wheel(0, 20_000)
    _shot(page, "chat-tutor-attempt-wide")


def test_a_conversation_survives_a_reload_and_comes_back_from_the_list(browser: Any,
                                                                      app_url: str) -> None:
    """Issue 15, item 5: ask, reload (the address keeps the conversation), "New chat" (empty,
    the old one listed with its time), click the old one (it comes back)."""
    page = _page(browser, app_url, "wide", "frontdesk")
    name, label = _day_ahead()
    asked = f"free slots for Dr. Lee on {name}"
    messages = page.locator('[data-testid="stChatMessage"]')
    _say(page, asked)
    page.get_by_role("button", name=f"Next opening: {label}").wait_for()
    page.wait_for_url(re.compile(r"[?&]c=web-[0-9a-f]+"))
    first = re.search(r"c=(web-[0-9a-f]+)", page.url)
    assert first is not None

    page.reload(wait_until="networkidle")
    page.get_by_role("button", name=f"Next opening: {label}").wait_for()
    assert messages.filter(has_text=asked).count() == 1
    assert f"c={first[1]}" in page.url

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("button", name="New chat").click()
    messages.first.wait_for(state="detached")
    page.get_by_text("Try one of these:").wait_for()
    old = sidebar.get_by_role("button", name=re.compile(re.escape(asked)))
    old.wait_for()
    assert re.search(r"\b(CST|CDT)\b", old.inner_text()), old.inner_text()  # Chicago's zone
    assert f"c={first[1]}" not in page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-new-chat-listed-wide.png"))

    old.click()
    page.get_by_role("button", name=f"Next opening: {label}").wait_for()
    assert messages.filter(has_text=asked).count() == 1
    assert f"c={first[1]}" in page.url
    page.screenshot(path=str(ARTIFACTS / "chat-conversation-back-wide.png"))
