"""What a conversation remembers between requests of one service, with schema-built tools,
the real embedding model and the default planner: the mechanism knows no domain.

A search's city and day stay meant when the person then books ("reserve one at 10 am"); a
correction may sit anywhere in the turn ("please change it to 11 am"); a bare name that does
not answer the question asked fills the open field that takes a name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from lamworks import DialogState, Plan, Runtime, Step, tool_from_schema
from lamworks.planner import NeuroSymbolicPlanner
from lamworks.planning import PlanningContext

pytestmark = pytest.mark.slow

# A Wednesday: "Saturday" is 2031-05-10.
NOW = datetime(2031, 5, 7, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))

FIND = tool_from_schema("courts.find_courts", "Find tennis courts to play on in a city.", {
    "type": "object", "required": ["surface", "city"],
    "properties": {
        "surface": {"type": "string", "enum": ["clay", "grass", "hard"],
                    "description": "The court surface"},
        "city": {"type": "string", "description": "City where the courts are"},
        "day": {"type": "string", "format": "date", "description": "Day to play"},
    }}, examples=["look for clay tennis courts in Nantes", "any grass courts around Rennes?",
                  "search hard courts in Brest for Sunday"])
RESERVE = tool_from_schema("courts.reserve_court", "Reserve a tennis court for a game.", {
    "type": "object", "required": ["court_name", "city", "start"],
    "properties": {
        "court_name": {"type": "string", "description": "Name of the court"},
        "city": {"type": "string", "description": "City where the court is"},
        "start": {"type": "string", "format": "time", "description": "Start time of the game"},
        "day": {"type": "string", "format": "date", "description": "Day of the game"},
    }}, risk="write", examples=["reserve the court at 6 pm", "book that court for 9 am please",
                                "I'd like to reserve a court at noon"])
MOVE = tool_from_schema("courts.move_booking", "Move a court booking to another day or time.", {
    "type": "object", "required": ["day"],
    "properties": {
        "day": {"type": "string", "format": "date", "description": "New day of the game"},
        "start": {"type": "string", "format": "time", "description": "New start time"},
        "part_of_day": {"type": "string", "enum": ["morning", "afternoon", "evening"],
                        "description": "Part of the day"},
    }}, risk="write", examples=["move my booking to Tuesday", "shift the game to 8 am",
                                "can we push the match to Thursday evening"])
TOOLS = {t.name: t for t in (FIND, RESERVE, MOVE)}


@pytest.fixture(scope="module")
def planner() -> NeuroSymbolicPlanner:
    return NeuroSymbolicPlanner()


@pytest.fixture
def say(runtime: Runtime, planner: NeuroSymbolicPlanner) -> Iterator:
    dialog = DialogState()

    def plan(text: str, superseded: Step | None = None) -> Plan:
        action = replace(runtime.action_context("s", "alice"), now=lambda: NOW)
        out = planner.plan(text, PlanningContext(tools=TOOLS, action=action, dialog=dialog,
                                                 superseded=superseded))
        dialog.follow_up = out.follow_up  # as the runtime keeps the pending question
        return out

    plan.dialog = dialog  # type: ignore[attr-defined]
    yield plan


def test_a_search_s_city_and_day_stay_meant_when_the_person_books(say) -> None:
    found = say("look for clay courts in Lyon for Saturday")
    assert [(s.tool, s.arguments) for s in found.steps] == [
        ("courts.find_courts", {"surface": "clay", "city": "Lyon", "day": "2031-05-10"})]
    say.dialog.offered = {"court_name": "Parc Blandan", "city": "Lyon"}  # the result shown

    booked = say("reserve one at 10 am")

    assert [s.tool for s in booked.steps] == ["courts.reserve_court"]
    assert booked.steps[0].arguments == {"start": "10:00:00", "court_name": "Parc Blandan",
                                         "city": "Lyon", "day": "2031-05-10"}
    assert any("from earlier in the conversation" in n for n in booked.why.notes)


def test_a_second_booking_does_not_reuse_the_first_booking_s_values(say) -> None:
    say.dialog.offered = {"court_name": "Parc Blandan", "city": "Lyon"}
    first = say("reserve the court at 6 pm on Saturday")
    assert first.steps[0].arguments["day"] == "2031-05-10"
    say.dialog.offered = {}

    second = say("I'd like to reserve a court at noon")

    # Its court and city are asked again, and its day is not the first booking's.
    assert second.steps == [] and second.follow_up is not None
    assert second.follow_up.field == "court_name"
    assert "day" not in second.follow_up.arguments


def test_a_request_at_a_confirmation_revises_the_step_awaiting_it(say) -> None:
    say.dialog.offered = {"court_name": "Parc Blandan", "city": "Lyon"}
    awaiting = say("reserve the court at 6 pm on Saturday").steps[0]
    say.dialog.offered = {}

    # The runtime passes the step the message replaces while it awaited a yes: the same
    # request then revises it (its court and day stay) instead of starting a second booking.
    revised = say("I'd like to reserve a court at noon", superseded=awaiting)

    assert [(s.tool, s.arguments) for s in revised.steps] == [
        ("courts.reserve_court", {"court_name": "Parc Blandan", "city": "Lyon",
                                  "start": "12:00:00", "day": "2031-05-10"})]
    assert any("from the step awaiting confirmation" in n for n in revised.why.notes)


def test_a_correction_can_sit_anywhere_in_the_turn(say) -> None:
    say.dialog.offered = {"court_name": "Parc Blandan", "city": "Lyon"}
    say("reserve the court at 6 pm")

    changed = say("please change it to 7 pm")

    assert changed.steps[0].tool == "courts.reserve_court"
    assert changed.steps[0].arguments["start"] == "19:00:00"
    assert changed.steps[0].arguments["court_name"] == "Parc Blandan"
    assert any(n.startswith("correction of courts.reserve_court") for n in changed.why.notes)


@pytest.mark.parametrize("opening", ["I changed my mind,", "On second thought,",
                                     "Not quite:"])
def test_a_change_of_mind_corrects_the_step_not_yet_done(say, opening: str) -> None:
    say.dialog.offered = {"court_name": "Parc Blandan", "city": "Lyon"}
    say("reserve the court at 6 pm")

    changed = say(f"{opening} 8 pm suits us better")

    assert changed.steps[0].tool == "courts.reserve_court"
    assert changed.steps[0].arguments["start"] == "20:00:00"
    assert changed.steps[0].arguments["court_name"] == "Parc Blandan"


def test_a_bare_name_fills_the_open_name_field_when_it_answers_another_question(say) -> None:
    asked = say("find me tennis courts")
    assert asked.follow_up is not None and asked.follow_up.field == "surface"

    named = say("Villeurbanne, France.")

    # Still the surface to ask, but the city is kept.
    assert named.follow_up is not None and named.follow_up.field == "surface"
    assert named.follow_up.arguments["city"].startswith("Villeurbanne")
    # A reply that is not a name fills nothing: the same question again.
    again = say("That sounds fine.")
    assert again.follow_up is not None and again.follow_up.field == "surface"
    assert again.follow_up.arguments == named.follow_up.arguments


def test_an_enum_value_is_read_by_meaning_when_no_spelling_names_it(say) -> None:
    found = say("find courts with a lawn surface in Lyon")

    assert found.steps[0].arguments["surface"] == "grass"
    span = found.steps[0].spans["surface"]
    assert "find courts with a lawn surface in Lyon"[span.start:span.end] == "lawn"


def test_a_word_near_no_value_in_particular_reads_none(say) -> None:
    asked = say("find me tennis courts in Lyon for a friendly game")

    assert asked.follow_up is not None and asked.follow_up.field == "surface"


def test_a_time_of_day_is_not_kept_when_the_request_gives_another(say) -> None:
    say.dialog.offered = {"court_name": "Parc Blandan", "city": "Lyon"}
    say("reserve the court at 6 pm on Saturday")
    # The runtime ran it: a later "instead" is another action, not a correction.
    say.dialog.last_step = say.dialog.last_step.model_copy(update={"status": "executed"})

    moved = say("move it to Sunday morning instead")

    assert moved.steps[0].tool == "courts.move_booking"
    assert moved.steps[0].arguments == {"day": "2031-05-11", "part_of_day": "morning"}


def test_an_offered_next_action_is_planned_on_a_yes_with_what_the_rest_says(say) -> None:
    say("look for clay courts in Lyon for Saturday")
    say.dialog.offered = {"court_name": "Parc Blandan", "city": "Lyon"}  # the result shown
    say.dialog.suggested = RESERVE.name  # "Would you like me to reserve a court …?"
    taken = say("sure, at 6 pm")
    assert [(s.tool, s.arguments) for s in taken.steps] == [
        ("courts.reserve_court", {"court_name": "Parc Blandan", "city": "Lyon",
                                  "start": "18:00:00", "day": "2031-05-10"})]
    assert say.dialog.suggested is None  # the offer is answered once


def test_a_declined_offer_plans_nothing_and_a_later_yes_accepts_nothing(say) -> None:
    say("look for clay courts in Lyon for Saturday")
    say.dialog.offered = {"court_name": "Parc Blandan", "city": "Lyon"}
    say.dialog.suggested = RESERVE.name
    declined = say("no thanks")
    assert not declined.steps and declined.reply
    assert not say("yes").steps


@pytest.mark.parametrize("text", ["No, I don't want to reserve one", "nope, I do not need it"])
def test_an_offer_declined_in_words_plans_nothing(say, text: str) -> None:
    say("look for clay courts in Lyon for Saturday")
    say.dialog.offered = {"court_name": "Parc Blandan", "city": "Lyon"}
    say.dialog.suggested = RESERVE.name
    declined = say(text)
    assert not declined.steps and declined.follow_up is None and declined.reply


def test_the_documented_offers_example_runs() -> None:
    import re
    from pathlib import Path
    doc = (Path(__file__).parents[2] / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")
    code = re.search(r"#### Offering the next action.*?```python\n(.*?)```", doc, re.S)
    assert code is not None
    exec(compile(code.group(1), "plugin-hooks.md", "exec"), {})


LESSON = tool_from_schema("courts.reserve_lesson", "Reserve a tennis lesson with a coach.", {
    "type": "object", "required": ["court_name", "city", "start", "coach_name"],
    "properties": {
        "court_name": {"type": "string", "description": "Name of the court"},
        "city": {"type": "string", "description": "City where the court is"},
        "start": {"type": "string", "format": "time", "description": "Start of the lesson"},
        "coach_name": {"type": "string", "description": "Name of the coach"},
    }}, risk="write", examples=["reserve a lesson with coach Marie at 5 pm"])


@pytest.mark.parametrize(("text", "expected"), [
    ("reserve it at 6 pm please", "courts.reserve_court"),  # the lesson would ask for a coach
    ("reserve a lesson at 6 pm please", None),  # it names what sets the lesson apart
])
def test_a_close_runner_up_the_conversation_completes_replaces_one_that_would_ask(
        runtime: Runtime, planner: NeuroSymbolicPlanner, text: str, expected: str | None
) -> None:
    from lamworks.planner.router import Candidate, Route

    tools = {t.name: t for t in (FIND, RESERVE, LESSON)}
    dialog = DialogState(offered={"court_name": "Parc Blandan", "city": "Lyon"},
                         last_step=Step(id="s-1", tool=FIND.name,
                                        arguments={"surface": "clay", "city": "Lyon"}))
    action = replace(runtime.action_context("s", "alice"), now=lambda: NOW)
    ctx = PlanningContext(tools=tools, action=action, dialog=dialog)
    route = Route(tool=LESSON.name, score=0.9, threshold=0.5, dense={}, lexical={},
                  candidates=[Candidate(tool=LESSON.name, score=0.7),
                              Candidate(tool=RESERVE.name, score=0.3)])

    assert planner._completable_sibling(text, route, ctx, planner.router(ctx)) == expected
