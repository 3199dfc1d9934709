"""Slot types with tricky inputs. Pure functions: no model, fast."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Annotated, Literal

import pytest
from pydantic import Field

from lamworks import tool
from lamworks.planner.slots import SlotFiller
from lamworks.planner.temporal import find_dates, find_durations, find_times

FRIDAY = date(2026, 11, 27)
TUESDAY = date(2026, 11, 24)


@pytest.mark.parametrize(("text", "today", "expected"), [
    ("next Friday", FRIDAY, date(2026, 12, 4)),  # on a Friday: a week later
    ("this Friday", FRIDAY, FRIDAY),  # on a Friday: today
    ("on Friday", TUESDAY, FRIDAY),
    ("next Friday", TUESDAY, date(2026, 12, 4)),  # the Friday of next week
    ("next Monday", TUESDAY, date(2026, 11, 30)),
    ("Friday", TUESDAY, FRIDAY),  # a bare weekday: the coming one
    ("friday after next", TUESDAY, date(2026, 12, 4)),
    ("Tuesday Dec 8", TUESDAY, date(2026, 12, 8)),  # the explicit date wins
    ("New Year's Eve", TUESDAY, date(2026, 12, 31)),
    ("thanksgiving", TUESDAY, date(2026, 11, 26)),
    ("tomorrow", date(2026, 12, 31), date(2027, 1, 1)),
    ("in 3 days", TUESDAY, date(2026, 11, 27)),
    ("in two weeks", TUESDAY, date(2026, 12, 8)),
    ("next week", TUESDAY, date(2026, 11, 30)),  # Monday of next week
    ("2 March 1990", TUESDAY, date(1990, 3, 2)),
    ("March 2nd, 1990", TUESDAY, date(1990, 3, 2)),
    ("March 2", TUESDAY, date(2027, 3, 2)),  # no year: the coming one
    ("2026-12-01", TUESDAY, date(2026, 12, 1)),
    ("on the 5th", TUESDAY, date(2026, 12, 5)),
    ("31/12/2026", TUESDAY, date(2026, 12, 31)),  # a first number over 12 is a day
])
def test_dates(text: str, today: date, expected: date) -> None:
    [match] = find_dates(text, today)
    assert match.value == expected
    assert text[match.start:match.end] == match.text


def test_ambiguous_numeric_date_follows_the_locale() -> None:
    assert find_dates("03/04/2027", TUESDAY, locale="en-US")[0].value == date(2027, 3, 4)
    assert find_dates("03/04/2027", TUESDAY, locale="en-GB")[0].value == date(2027, 4, 3)


@pytest.mark.parametrize(("text", "hour", "expected"), [
    ("see them Friday morning", 9, FRIDAY),  # the morning is not over yet: today
    ("see them Friday morning", 13, FRIDAY + timedelta(days=7)),  # it is: next week's
    ("on Friday afternoon please", 13, FRIDAY),
    ("on Friday afternoon please", 18, FRIDAY + timedelta(days=7)),
    ("see them Friday", 18, FRIDAY),  # no part of day said: today stays today
    ("see them this Friday morning", 13, FRIDAY),  # "this" names today on purpose
    ("see them Friday evening", 23, FRIDAY),  # the evening lasts until midnight
])
def test_a_weekday_naming_today_with_its_part_of_day_over_is_next_weeks(
        text: str, hour: int, expected: date) -> None:
    [match] = find_dates(text, FRIDAY, hour=hour)
    assert match.value == expected


def test_the_hour_now_reaches_the_date_a_tool_gets() -> None:
    said = "table for two on Friday morning"
    assert FILLER.fill(reserve, said, today=FRIDAY, hour=8).arguments["day"] == FRIDAY
    assert FILLER.fill(reserve, said, today=FRIDAY, hour=15).arguments["day"] \
        == FRIDAY + timedelta(days=7)


def test_impossible_dates_are_not_dates() -> None:
    assert find_dates("31/02/2027", TUESDAY) == []
    assert find_dates("version 3.5 of the form", TUESDAY) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("at 3pm", time(15, 0)), ("3:30 p.m.", time(15, 30)), ("15:30", time(15, 30)),
    ("12am", time(0, 0)), ("12pm", time(12, 0)), ("at noon", time(12, 0)),
    ("at 3", time(15, 0)), ("at 9", time(9, 0)), ("at 10 o'clock", time(10, 0)),
    ("7 am", time(7, 0)),
])
def test_times_12_and_24_hour(text: str, expected: time) -> None:
    assert [t.value for t in find_times(text)] == [expected]


@pytest.mark.parametrize("text", ["3 people", "room 12", "3.5 hours", "for 2 days", "at 14 days"])
def test_bare_numbers_are_not_times(text: str) -> None:
    assert find_times(text) == []


def test_durations() -> None:
    found = {t: d for d, _, _, t in find_durations("half an hour, then 2 hours and 3 days")}
    assert found == {"half an hour": timedelta(minutes=30), "2 hours": timedelta(hours=2),
                     "3 days": timedelta(days=3)}


@tool
def reserve(
    guest_name: str,
    day: date,
    start: time,
    party_size: Annotated[int, Field(ge=1, le=12)],
    seating: Literal["indoor", "outdoor", "bar"] = "indoor",
    email: str = "",
    phone: str = "",
    city: str = "",
    note: str = "",
) -> str:
    """Reserve a table.

    Args:
        guest_name: Name of the guest.
        party_size: Number of people.
    """
    return ""


@tool
def register(full_name: str, birth_date: date, visit_date: date | None = None) -> str:
    """Register a person."""
    return ""


FILLER = SlotFiller()


def test_every_kind_with_spans() -> None:
    text = ("Table for four for Zoë O'Brien-Núñez on Friday at 7:30pm outside in Santa Cruz, "
            "zoe@example.org, +1 312 555 0142, because it's her birthday")
    filled = FILLER.fill(reserve, text, today=TUESDAY)
    assert filled.arguments == {
        "guest_name": "Zoë O'Brien-Núñez", "day": FRIDAY, "start": time(19, 30),
        "party_size": 4, "email": "zoe@example.org", "phone": "+1 312 555 0142",
        "city": "Santa Cruz", "note": "it's her birthday",
    } | ({"seating": filled.arguments["seating"]} if "seating" in filled.arguments else {})
    for name, span in filled.spans.items():
        assert text[span.start:span.end] == span.text, name


def test_enum_by_synonym_and_plural() -> None:
    filled = FILLER.fill(reserve, "two people at the bar tomorrow at 8pm", today=TUESDAY)
    assert filled.arguments["seating"] == "bar"
    assert filled.arguments["party_size"] == 2


def test_invalid_value_is_reported_not_raised() -> None:
    filled = FILLER.fill(reserve, "a table for 40 people tomorrow at 8pm", today=TUESDAY)
    assert "party_size" not in filled.arguments
    assert "party_size" in filled.invalid


def test_birth_date_and_visit_date_go_to_the_right_fields() -> None:
    filled = FILLER.fill(register, "register Ana Ruiz, born 2 March 1990, visiting next Monday",
                         today=TUESDAY)
    assert filled.arguments["birth_date"] == date(1990, 3, 2)
    assert filled.arguments["visit_date"] == date(2026, 11, 30)
    assert filled.arguments["full_name"] == "Ana Ruiz"


def test_a_birth_date_never_fills_another_date_field() -> None:
    filled = FILLER.fill(reserve, "for Ana Ruiz born 2 March 1990", today=TUESDAY)
    assert "day" not in filled.arguments


def test_unicode_and_emoji_do_not_break_extraction() -> None:
    filled = FILLER.fill(register, "🎉 register 李小龍 and Renée Zellweger born 1969-04-25 ✨",
                         today=TUESDAY)
    assert filled.arguments["full_name"] == "Renée Zellweger"
    assert filled.arguments["birth_date"] == date(1969, 4, 25)


def test_ten_kilobyte_input() -> None:
    text = "please note " + "blah " * 2000 + " register Ana Ruiz born 2 March 1990"
    assert len(text) > 10_000
    filled = FILLER.fill(register, text, today=TUESDAY)
    assert filled.arguments["birth_date"] == date(1990, 3, 2)
    assert filled.arguments["full_name"] == "Ana Ruiz"


def test_answer_to_a_question_goes_to_the_asked_field() -> None:
    filled = FILLER.fill(reserve, "Ana Ruiz", today=TUESDAY, prefer="guest_name")
    assert filled.arguments == {"guest_name": "Ana Ruiz"}
    lower = FILLER.fill(reserve, "ana ruiz", today=TUESDAY, prefer="guest_name")
    assert lower.arguments == {"guest_name": "ana ruiz"}
    not_a_name = FILLER.fill(reserve, "no, make it Wednesday", today=TUESDAY,
                             prefer="guest_name")
    assert "guest_name" not in not_a_name.arguments


# -- words around a value decide it -----------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("a table tomorrow evening at 8", time(20, 0)),
    ("Jan 6 at 4:30 in the afternoon", time(16, 30)),
    ("4 tix 9:45 tonight", time(21, 45)),
    ("at 3 in the morning", time(3, 0)),  # not the afternoon default of a bare 'at 3'
])
def test_part_of_day_words_place_a_bare_hour(text: str, expected: time) -> None:
    assert [t.value for t in find_times(text)] == [expected]


def test_a_capitalised_time_word_inside_a_title_is_not_a_time() -> None:
    assert [t.value for t in find_times("three seats for Midnight Harbour at 7:40pm")] == [
        time(19, 40)]
    assert [t.value for t in find_times("meet at midnight")] == [time(0, 0)]


@tool(name="feedback", description="Feedback on an essay.")
def feedback(
    essay: Annotated[str, Field(description="The full text of the essay.")],
    prompt: Annotated[str, Field(description="The assignment prompt the essay answers.")] = "",
    rubric: Annotated[str, Field(description="Rubric name: 'argumentative' or 'ell'.")] = "",
) -> None:
    """Essay feedback."""


ESSAY = ("Cities should plant more trees because shade cools the streets. Studies show that "
         "neighbourhoods with many trees stay cooler in summer.")


def test_a_quoted_prompt_goes_to_the_prompt_and_the_rubric_only_takes_a_named_choice() -> None:
    filled = FILLER.fill(feedback, f"check my essay for the prompt \"Is homework useful?\": "
                                   f"{ESSAY}", today=TUESDAY)
    assert filled.arguments == {"essay": ESSAY, "prompt": "Is homework useful?"}
    named = FILLER.fill(feedback, f"grade this with the argumentative rubric: {ESSAY}",
                        today=TUESDAY)
    assert named.arguments["rubric"] == "argumentative"


@pytest.mark.parametrize("intro", ["pls grade this draft with the ELL rubric. ",
                                   "analyse this essay's grammar "])
def test_a_pasted_text_after_a_one_sentence_request(intro: str) -> None:
    filled = FILLER.fill(feedback, intro + ESSAY, today=TUESDAY)
    assert filled.arguments["essay"] == ESSAY


def test_the_answer_to_the_essay_question_is_the_whole_message() -> None:
    filled = FILLER.fill(feedback, ESSAY, today=TUESDAY, prefer="essay")
    assert filled.arguments["essay"] == ESSAY.rstrip(".")


@tool(name="move", description="Move an appointment.")
def move(
    patient_name: Annotated[str, Field(description="The patient.")],
    date: Annotated[date, Field(description="The new date.")],
    from_date: Annotated[date | None, Field(description="The current appointment's date.")]
    = None,
    reason: Annotated[str, Field(description="Why.")] = "",
    address: Annotated[str, Field(description="New home address.")] = "",
) -> None:
    """Move."""


def test_a_date_cued_for_another_field_goes_there() -> None:
    filled = FILLER.fill(move, "reschedule Ivo Brandt from Thursday to Friday", today=TUESDAY)
    assert filled.arguments["from_date"] == date(2026, 11, 26)
    assert filled.arguments["date"] == date(2026, 11, 27)


@pytest.mark.parametrize(("text", "reason"), [
    ("move Omar Haddad to Friday, transport problems", "transport problems"),
    ("move Ivo Brandt to Friday - he's away on a trip", "he's away on a trip"),
    ("move Omar Haddad to Friday, please", None),  # politeness is not a reason
])
def test_a_closing_clause_is_the_reason(text: str, reason: str | None) -> None:
    assert FILLER.fill(move, text, today=TUESDAY).arguments.get("reason") == reason


def test_street_addresses() -> None:
    filled = FILLER.fill(move, "Maria Lopez moved to 9 Orchard Street, Riverside on Friday",
                         today=TUESDAY)
    assert filled.arguments["address"] == "9 Orchard Street, Riverside"


@tool(name="plan_study", description="Plan study sessions.")
def plan_study(
    topic: Annotated[str, Field(description="What to study for.")],
    sessions: Annotated[int, Field(description="How many sessions.")] = 4,
) -> None:
    """Plan."""


@pytest.mark.parametrize(("text", "topic"), [
    ("plan my revision for the chapter 4 exam, it's on Friday", "chapter 4 exam"),
    ("put 3 sessions on my calendar before the biology test", "biology test"),
    ("study plan for cell biology 5 sessions", "cell biology"),
])
def test_topics_keep_their_numbers_and_skip_the_calendar(text: str, topic: str) -> None:
    assert FILLER.fill(plan_study, text, today=TUESDAY).arguments["topic"] == topic


@tool(name="fly", description="Search one-way flights.")
def fly(
    origin_city: Annotated[str, Field(description="City of departure.")],
    destination_city: Annotated[str, Field(description="City of arrival.")],
) -> None:
    """Fly."""


@pytest.mark.parametrize(("text", "origin", "destination"), [
    ("one way denver to new york the day after tomorrow", "Denver", "New York"),
    ("oneway boston -> new orleans jan 8", "Boston", "New Orleans"),
    ("a flight leaving Nashville for Washington on Thursday", "Nashville", "Washington"),
    ("one way, Tucson to Seattle, Jan 4", "Tucson", "Seattle"),
])
def test_two_places_as_a_route(text: str, origin: str, destination: str) -> None:
    filled = FILLER.fill(fly, text, today=TUESDAY)
    assert (filled.arguments["origin_city"], filled.arguments["destination_city"]) == (
        origin, destination)


def test_a_name_and_a_day_are_not_a_route() -> None:
    assert "origin_city" not in FILLER.fill(fly, "move Ana to Friday", today=TUESDAY).arguments


@tool(name="list_visits", description="List appointments.")
def list_visits(
    patient_name: Annotated[str, Field(description="The patient.")],
    from_date: Annotated[date | None, Field(description="First day.")] = None,
    to_date: Annotated[date | None, Field(description="Last day.")] = None,
    specialty: Literal["dermatology", "pediatrics"] | None = None,
) -> None:
    """List."""


@pytest.mark.parametrize(("text", "first", "last"), [
    ("visits for Lina Marsh next week", date(2026, 11, 30), date(2026, 12, 6)),
    ("Maria Lopez appointments in December", date(2026, 12, 1), date(2026, 12, 31)),
    ("Ana Ruiz this month", TUESDAY, date(2026, 11, 30)),
])
def test_a_period_fills_both_ends_of_a_range(text: str, first: date, last: date) -> None:
    filled = FILLER.fill(list_visits, text, today=TUESDAY)
    assert (filled.arguments["from_date"], filled.arguments["to_date"]) == (first, last)


def test_until_is_the_end_of_a_range() -> None:
    filled = FILLER.fill(list_visits, "list Ivo Brandt visits until Christmas", today=TUESDAY)
    assert filled.arguments == {"patient_name": "Ivo Brandt", "to_date": date(2026, 12, 25)}


@pytest.mark.parametrize("word", ["dermatologist", "pediatrician"])
def test_the_specialist_names_the_specialty(word: str) -> None:
    filled = FILLER.fill(list_visits, f"Ana Ruiz with a {word}", today=TUESDAY)
    assert filled.arguments["specialty"] in ("dermatology", "pediatrics")


@tool(name="eat", description="Find restaurants.")
def eat(
    city: Annotated[str, Field(description="City.")],
    cuisine: Annotated[str, Field(description="Kind of food, e.g. \"Thai\".")],
    price_range: Annotated[
        Literal["inexpensive", "moderate", "expensive"] | None,
        Field(json_schema_extra={"x-synonyms": {"inexpensive": ["cheap", "budget"]}})] = None,
) -> None:
    """Eat."""


def test_a_short_answer_with_extras_fills_the_asked_field_with_its_first_part() -> None:
    # "cheap" means "inexpensive" because the tool's schema says so (x-synonyms), not the core.
    filled = FILLER.fill(eat, "ethiopian, something cheap", today=TUESDAY, prefer="cuisine")
    assert filled.arguments == {"cuisine": "ethiopian", "price_range": "inexpensive"}


@tool(name="trip", description="Round trip.")
def trip(
    departure_date: Annotated[date, Field(description="Departure date.")],
    return_date: Annotated[date, Field(description="Return date.")],
) -> None:
    """Trip."""


def test_leaving_is_the_departure() -> None:
    filled = FILLER.fill(trip, "leaving Jan 9", today=TUESDAY)
    assert filled.arguments == {"departure_date": date(2027, 1, 9)}


def test_a_date_right_after_a_birth_date_is_not_a_birth_date() -> None:
    filled = FILLER.fill(reserve, "for Ana Ruiz dob 1975-07-30 next Friday", today=TUESDAY)
    assert filled.arguments["day"] == date(2026, 12, 4)


def test_a_street_name_is_not_a_person() -> None:
    filled = FILLER.fill(move, "update Ivo Brandt to 17 Heron Lane, Millbrook on Friday",
                         today=TUESDAY)
    assert filled.arguments["patient_name"] == "Ivo Brandt"
    assert filled.arguments["address"] == "17 Heron Lane, Millbrook"
