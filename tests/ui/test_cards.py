"""Chat cards in plain language and results as components, without a browser: the card text
from the real runtime on the demo configuration (healthcare and education plugins, real
SQLite), and the Chat page under Streamlit's AppTest."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from lamworks import Change, Runtime
from lamworks.ui import components
from lamworks.ui.cards import (
    button_labels,
    card_text,
    example_requests,
    may_see_technical_details,
)

REPO = Path(__file__).parents[2]
CHAT = REPO / "ui" / "views" / "chat.py"
CONFIG = REPO / "examples" / "lamworks.toml"


ZONE = ZoneInfo("America/Chicago")  # the example institution's


def _next_tuesday() -> datetime:
    """10:00 on the first Tuesday after today in the clinic's zone: the demo clinic is generated
    from today for four weeks, so every day these tests name lies inside it, and a day name
    ("Thursday") always means the same day of that week."""
    day = datetime.now(ZONE).date() + timedelta(days=1)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), ZONE)


NOW = _next_tuesday()
WEDNESDAY, THURSDAY, FRIDAY, MONDAY = (NOW.date() + timedelta(days=n) for n in (1, 2, 3, 6))


def _day(day: date) -> str:
    """How cards and choices write a day: "Thu 3 Dec"."""
    return f"{day:%a} {day.day} {day:%b}"


def _span(day: date, start: str) -> str:
    """How a card writes a half-hour slot: "Thu 3 Dec, 9:30–10:00"."""
    begin = datetime.combine(day, time.fromisoformat(start.zfill(5)))
    end = begin + timedelta(minutes=30)
    return f"{_day(day)}, {begin.hour}:{begin:%M}–{end.hour}:{end:%M}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The demo institution on a fresh data folder, as the web app serves it, its clock at
    :data:`NOW`."""
    data = tmp_path_factory.mktemp("cards-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAMWORKS_DATA_DIR", str(data))
        mp.setenv("LAMWORKS_CONFIG", str(CONFIG))
        from lamworks.ui import state

        state._runtime.clear()
        rt = state.runtime()  # the one the pages use, so AppTest shares its loaded model
        rt.clock = lambda: NOW
        yield rt
        state._runtime.clear()


def test_a_booking_card_names_people_and_times_in_words(demo: Runtime) -> None:
    free = _free_on(demo, "thursday")[0]
    turn = demo.handle("cards-1", "frontdesk",
                       f"schedule Ana Ruiz on Thursday at {free} to see Dr. Lee")
    step = turn.steps[0]
    assert step.status == "awaiting_confirmation"
    card = card_text(demo, "frontdesk", step)
    assert card.headline == ("Book **Ana Ruiz** (born 1984-03-12) with **Dr. Lena Lee** on "
                             f"**{_span(THURSDAY, free)}**")
    assert card.status == "Waiting for you"
    assert (card.confirm_label, card.decline_label) == ("Book it", "Don't book")
    shown = " ".join([card.headline, *card.effects, *card.reasons])
    assert "Patient/" not in shown and "PUT" not in shown and "If-Match" not in shown
    assert any("becomes busy" in effect for effect in card.effects)
    assert any("wait for you" in reason for reason in card.reasons)  # the policy, in words
    # The exact change is there for staff, folded away by the page.
    slot = f"PUT Slot/slot-lee-{THURSDAY:%Y%m%d}-{free.replace(':', '').zfill(4)}"
    assert card.technical is not None and slot in card.technical


def test_a_step_planned_after_a_confirmation_says_what_it_will_use(demo: Runtime) -> None:
    turn = demo.handle("cards-plan", "frontdesk",
                       "register Tomas Berg born 2 May 1990 and then get Tomas an "
                       "appointment with Dr. Lee for Thursday morning")
    assert [s.status for s in turn.steps] == ["awaiting_confirmation", "planned"]
    card = card_text(demo, "frontdesk", turn.steps[1])
    assert card.status == "Planned"
    shown = " ".join(card.effects)
    assert "practitioner: Dr. Lena Lee" in shown and "part of day: morning" in shown
    assert "$from" not in shown  # the patient the first step creates is not shown raw


def test_a_patient_sees_no_technical_details_and_is_you(demo: Runtime) -> None:
    turn = demo.handle("cards-2", "patient", "please book me in on Friday afternoon with Dr. Lee")
    card = card_text(demo, "patient", turn.steps[0])
    assert card.headline.startswith(f"Book **you** with **Dr. Lena Lee** on **{_day(FRIDAY)}, ")
    assert card.technical is None
    assert not may_see_technical_details(demo, "patient")
    assert not may_see_technical_details(demo, "student")
    assert may_see_technical_details(demo, "frontdesk")


def test_cancelling_names_what_the_buttons_do(demo: Runtime) -> None:
    free = _free_on(demo, "monday")[0]
    demo.handle("cards-3", "frontdesk", f"schedule Omar Haddad on Monday at {free} to see Dr. Lee")
    demo.handle("cards-3", "frontdesk", "yes")
    turn = demo.handle("cards-3", "frontdesk", "cancel Omar Haddad's appointment on Monday")
    card = card_text(demo, "frontdesk", turn.steps[0])
    assert card.headline.startswith("Cancel the appointment of **Omar Haddad** (born ")
    assert f"with **Dr. Lena Lee** on **{_span(MONDAY, free)}**" in card.headline
    assert (card.confirm_label, card.decline_label) == ("Cancel the appointment", "Keep it")


def test_a_finished_card_says_what_happened_not_what_will(demo: Runtime) -> None:
    free = _free_on(demo, "monday")[-1]
    turn = demo.handle("cards-5", "frontdesk",
                       f"schedule Omar Haddad on Monday at {free} to see Dr. Lee")
    waiting = card_text(demo, "frontdesk", turn.steps[0])
    assert any("becomes busy" in effect for effect in waiting.effects)
    done = demo.handle("cards-5", "frontdesk", "yes").steps[0]
    assert done.status == "executed"
    card = card_text(demo, "frontdesk", done)
    assert card.status == "Done" and card.effects == []
    assert card.outcome.startswith("Booked **Omar Haddad**") or card.outcome.startswith(
        "Booked Omar Haddad")


def test_button_words_come_from_the_tool_verb_without_a_plugin_label() -> None:
    assert button_labels("Add a note to the list.", None) == ("Add it", "Don't add")
    planned = Change(action="x", confirm_label="Send the reminder")
    assert button_labels("Send a reminder.", planned) == ("Send the reminder", "Don't send")
    assert button_labels("", None) == ("Go ahead", "Don't")


def test_a_slot_search_offers_choices_next_opening_first(demo: Runtime) -> None:
    turn = demo.handle("cards-4", "frontdesk", "what times does Dr. Lee have available next week")
    data = turn.steps[0].result.data if turn.steps[0].result else None
    choices = components.choices_of(data)
    assert choices[0].label.startswith(f"Next opening: {_day(MONDAY)}, ")
    assert re.fullmatch(rf"book the \d{{1,2}}:\d\d one on {_day(MONDAY)}", choices[0].say)


def test_an_empty_chat_offers_requests_of_the_roles_own_tools(demo: Runtime) -> None:
    offered = {user: example_requests(demo, user) for user in ("frontdesk", "student")}
    by_example = {t.examples[0]: t for t in demo.tools.values() if t.examples}
    desk_plugins = {by_example[e].plugin for e in offered["frontdesk"]}
    student_plugins = {by_example[e].plugin for e in offered["student"]}
    assert "education" not in desk_plugins and "healthcare" in desk_plugins
    assert "healthcare" not in student_plugins and "education" in student_plugins


def test_the_components_docstring_example_runs() -> None:
    doc = inspect.getdoc(components) or ""
    code = doc.split("Example (the tests run it)::", 1)[1]
    exec(compile(inspect.cleandoc(code), "components.__doc__", "exec"), vars(components).copy())


def test_quiz_answers_are_checked_by_words() -> None:
    question = {"question": "What is at the base?", "answer": "Producers.", "choices": []}
    assert components.check_answer(question, "  producers ")
    assert not components.check_answer(question, "consumers")
    assert not components.check_answer(question, "")


# -- the Chat page under AppTest --------------------------------------------------------------


def _chat(user: str) -> AppTest:
    at = AppTest.from_file(str(CHAT), default_timeout=60)
    at.session_state["acting_user"] = user
    return at.run()


def _text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def _labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def _free_on(rt: Runtime, day: str) -> list[str]:
    """Dr. Lee's free start times on ``day`` ("9:30"): the demo clinic's bookings depend on the
    day it is generated, so a fixed time may be taken when the tests run."""
    rt.handle("cards-free", "frontdesk", f"when is dr lee free on {day}")
    options = rt.sessions.load("cards-free", "frontdesk")[0].options
    return [str(int(o["start"][11:13])) + o["start"][13:16] for o in options]


def test_the_page_shows_the_card_once_and_its_buttons_go_after_use(demo: Runtime) -> None:
    at = _chat("frontdesk")
    free = _free_on(demo, "friday")[0]
    at.chat_input[0].set_value(f"schedule Ana Ruiz on Friday at {free} to see Dr. Lee").run()
    assert not at.exception
    text = _text(at)
    assert text.count("Book **Ana Ruiz** (born 1984-03-12) with **Dr. Lena Lee**") == 1
    assert "Patient/pat-" not in text and "PUT " not in text
    assert {"Book it", "Don't book"} <= set(_labels(at))
    assert [e.label for e in at.expander].count("Technical details") == 1
    next(b for b in at.button if b.label == "Book it").click().run()
    assert not at.exception
    assert "Book it" not in _labels(at) and "Don't book" not in _labels(at)
    assert "**Done**" in _text(at) and "Booked Ana Ruiz" in _text(at)


def test_a_typed_yes_updates_the_card_and_removes_its_buttons(demo: Runtime) -> None:
    at = _chat("frontdesk")
    free = _free_on(demo, "friday")[-1]
    at.chat_input[0].set_value(f"schedule Maria Lopez born 1992-11-02 on Friday at {free} "
                               "to see Dr. Lee").run()
    assert "Book it" in _labels(at)
    at.chat_input[0].set_value("yes").run()
    assert not at.exception
    assert "Book it" not in _labels(at)
    text = _text(at)
    assert "Waiting for you" not in text and "**Done**" in text


def test_free_times_end_with_the_offer_to_book_one_and_a_yes_takes_it(demo: Runtime) -> None:
    at = _chat("frontdesk")
    at.chat_input[0].set_value("when is dr lee free on friday afternoon").run()
    assert not at.exception
    # The slots are choices to click, and the question under them says what a yes does.
    assert "Would you like me to book an appointment?" in _text(at)
    assert any(b.label.startswith("Next opening: ") for b in at.button)

    at.chat_input[0].set_value("yes, the first one for Ana Ruiz").run()
    assert not at.exception
    assert {"Book it", "Don't book"} <= set(_labels(at))
    assert "Book **Ana Ruiz** (born 1984-03-12) with **Dr. Lena Lee** on **Fri " in _text(at)


def test_clicking_a_choice_sends_it_as_the_next_message(demo: Runtime) -> None:
    at = _chat("frontdesk")
    day = WEDNESDAY
    at.chat_input[0].set_value("book Ana Ruiz on wednesday").run()
    at.chat_input[0].set_value("which times does dr lee have free").run()
    label = f"Next opening: {_day(day)}, "
    first = next(b for b in at.button if b.label.startswith(label))
    assert any(b.label.startswith("More…") for b in at.button)
    first.click().run()
    assert not at.exception
    assert {"Book it", "Don't book"} <= set(_labels(at))
    assert f"with **Dr. Lena Lee** on **{_day(day)}, " in _text(at)


def test_a_list_of_appointments_is_a_table(demo: Runtime) -> None:
    at = _chat("clinician")
    at.chat_input[0].set_value("show my appointments").run()
    assert not at.exception
    frames: list[Any] = list(at.dataframe)
    assert frames and {"start", "practitioner"} <= set(frames[0].value.columns)
