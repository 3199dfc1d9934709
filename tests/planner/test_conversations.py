"""Conversations people really have, end to end: the default planner, the runtime, policies,
confirmations and the real stores of the demo institution (``examples/lamworks.toml``).

Each was reported against the first planner (issue "Planner v2"): a follow-up that acted on the
wrong patient, a move that booked instead, a typed "yes" that was not understood, a pending
question that swallowed the next request, a pasted essay split in two. The clock is fixed (a
Tuesday) and the demo clinic is generated for that day, so "Thursday" and "Friday" are stable.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lamworks import Runtime

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/Chicago"))  # a Tuesday
THURSDAY, FRIDAY, NEXT_MONDAY = "2026-12-03", "2026-12-04", "2026-12-07"


@pytest.fixture
def runtime(demo_clinic: Runtime) -> Runtime:
    """The example institution with the demo clinic, at NOW (tests/conftest.py)."""
    return demo_clinic


def _appointments(rt: Runtime, patient_id: str) -> list[dict[str, Any]]:
    store = rt.services["fhir"]
    found = store.search("Appointment", {"patient": f"Patient/{patient_id}"})
    return [a for a in found if a.get("status") == "booked"]


def _book_ana_on_thursday(rt: Runtime) -> None:
    turn = rt.handle("s", "frontdesk", "book Ana Ruiz in for thursday afternoon with dr lee")
    assert turn.awaiting_confirmation is not None, turn.answer
    done = rt.handle("s", "frontdesk", "yes go ahead")
    assert [s.status for s in done.steps] == ["executed"], done.answer
    assert [a["start"][:10] for a in _appointments(rt, "pat-0001")] == [THURSDAY]


def test_typed_yes_confirms_through_the_same_token_as_the_button(runtime: Runtime) -> None:
    _book_ana_on_thursday(runtime)
    # The token was single-use: confirming again finds nothing waiting.
    again = runtime.handle("s", "frontdesk", "yes")
    assert not again.steps and len(_appointments(runtime, "pat-0001")) == 1


def test_typed_no_cancels_and_changes_nothing(runtime: Runtime) -> None:
    turn = runtime.handle("s", "frontdesk", "book Ana Ruiz in for friday morning with dr lee")
    assert turn.awaiting_confirmation is not None, turn.answer
    declined = runtime.handle("s", "frontdesk", "no, don't")
    assert [s.status for s in declined.steps] == ["cancelled"]
    assert _appointments(runtime, "pat-0001") == []


def test_move_her_instead_reschedules_the_appointment_of_the_conversation(
        runtime: Runtime) -> None:
    _book_ana_on_thursday(runtime)
    turn = runtime.handle("s", "frontdesk", "actually she cant do thursday anymore - can we "
                                            "move her over to friday afternoon instead?")
    assert turn.awaiting_confirmation is not None, turn.answer
    step = turn.awaiting_confirmation
    assert step.tool == "healthcare.reschedule_appointment"
    assert step.arguments["date"] == FRIDAY and step.arguments.get("from_date") == THURSDAY
    runtime.handle("s", "frontdesk", "yes")
    # Moved, not booked twice.
    assert [a["start"][:10] for a in _appointments(runtime, "pat-0001")] == [FRIDAY]


def test_reschedule_by_name_takes_the_new_day_from_to(runtime: Runtime) -> None:
    _book_ana_on_thursday(runtime)
    turn = runtime.handle("s2", "frontdesk", "please reschedule Ana Ruiz's thursday appt with "
                                             "dr lee to friday afternoon")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "healthcare.reschedule_appointment", turn.answer
    assert step.arguments["date"] == FRIDAY


def test_register_him_and_book_him_books_the_new_patient_never_the_previous_one(
        runtime: Runtime) -> None:
    _book_ana_on_thursday(runtime)  # Ana Ruiz is now the patient of the conversation
    turn = runtime.handle("s", "frontdesk", "new patient walked in - Marcus O'Neil, dob "
                                            "3/14/1988, phone 312-555-0142. register him, then "
                                            "book him in for monday morning next week, dr lee")
    first = turn.awaiting_confirmation
    assert first is not None and first.tool == "healthcare.register_patient", turn.answer
    # The booking that follows is shown with it, planned, not run.
    assert [(s.tool, s.status) for s in turn.steps] == [
        ("healthcare.register_patient", "awaiting_confirmation"),
        ("healthcare.book_appointment", "planned")]
    assert "Once this is done, I will also book an appointment" in turn.answer
    assert (first.arguments["first_name"], first.arguments["last_name"]) == ("Marcus", "O'Neil")
    assert first.arguments["birth_date"] == "1988-03-14"
    second = runtime.handle("s", "frontdesk", "yes")
    booking = second.awaiting_confirmation
    assert booking is not None and booking.tool == "healthcare.book_appointment", second.answer
    new_id = next(r.id for s in second.steps if s.result for r in s.result.refs
                  if r.type == "Patient")
    assert booking.arguments["patient_id"] == new_id != "pat-0001"
    runtime.handle("s", "frontdesk", "yes")
    assert [a["start"][:10] for a in _appointments(runtime, new_id)] == [NEXT_MONDAY]
    assert len(_appointments(runtime, "pat-0001")) == 1  # Ana's record is untouched


def test_a_new_request_sets_the_pending_question_aside(runtime: Runtime) -> None:
    asked = runtime.handle("s", "student", "give me feedback on my essay")
    assert asked.follow_up is not None
    turn = runtime.handle("s", "student", "whats my grade in bio right now?")
    assert [s.tool for s in turn.steps] == ["education.grade_lookup"], turn.answer
    assert turn.follow_up is None


def test_a_request_naming_another_tool_sets_the_question_aside(runtime: Runtime) -> None:
    """Asked for a new patient's first name, "hold on, check if Ana Ruiz is covered" holds a
    name, but its other words ask for the coverage check: that runs, nobody is registered."""
    asked = runtime.handle("s", "frontdesk", "register a new patient")
    assert asked.follow_up is not None
    turn = runtime.handle("s", "frontdesk", "hold on, check if Ana Ruiz is covered")
    assert [(s.tool, s.status) for s in turn.steps] == [
        ("healthcare.check_coverage", "executed")], turn.answer
    assert turn.follow_up is None


def test_a_request_is_never_taken_as_the_patient_s_name(runtime: Runtime) -> None:
    """Asked for the patient's name, a message that is no name ("any openings with Dr. Lee
    friday afternoon") never becomes one: nothing is looked up under it or booked."""
    asked = runtime.handle("s", "frontdesk", "book an appointment")
    assert asked.follow_up is not None and asked.follow_up.field == "patient_name"
    turn = runtime.handle("s", "frontdesk", "any openings with Dr. Lee friday afternoon")
    names = [s.arguments.get("patient_name") for s in turn.steps]
    assert not any(n and "openings" in str(n) for n in names), turn.steps
    assert turn.follow_up is None or turn.follow_up.field == "patient_name"


BIKE_SHELTER = ("Our town should build a covered bicycle shelter beside the library. Many "
             "families ride to the library on weekends, and their bikes get soaked when it "
             "rains, so the chains rust and the seats stay wet for days. A shelter would cost "
             "less than one new parking space for cars, and it would invite more people to "
             "leave the car at home. Some neighbours worry about the view, but a simple wooden "
             "roof would match the old building. In short, the shelter is cheap and useful.")


def test_a_pasted_essay_with_a_one_line_request_is_one_feedback_step(runtime: Runtime) -> None:
    essay = BIKE_SHELTER
    turn = runtime.handle("s", "student", f"feedback on my draft below, please: {essay}")
    assert [s.tool for s in turn.steps] == ["education.essay_feedback"], turn.answer
    assert turn.steps[0].arguments["essay"] == essay


def test_a_patient_asking_about_her_bookings_is_not_refused_as_advice(runtime: Runtime) -> None:
    turn = runtime.handle("p", "patient", "when's my next appointment? do i have anything "
                                          "booked at all")
    assert [s.tool for s in turn.steps] == ["healthcare.list_appointments"], turn.answer
    assert turn.steps[0].status == "executed"


def test_a_clinician_asking_for_my_appointments_gets_her_own_schedule(runtime: Runtime) -> None:
    turn = runtime.handle("c", "clinician", "show my appointments")
    step = turn.steps[0]
    assert step.tool == "healthcare.list_appointments" and step.status == "executed", turn.answer
    assert step.result is not None
    assert step.result.data["practitioner"]["id"] == "pr-lee"
    store = runtime.services["fhir"]
    for row in step.result.data["appointments"]:
        appointment = store.read("Appointment", row["id"])
        actors = {p["actor"]["reference"] for p in appointment["participant"]}
        assert "Practitioner/pr-lee" in actors


def test_a_teacher_asking_how_a_student_is_doing_sees_their_grades(runtime: Runtime) -> None:
    turn = runtime.handle("t", "teacher", "how is Sam Student getting on?")
    assert [s.tool for s in turn.steps] == ["education.grade_lookup"], turn.answer
    assert turn.steps[0].arguments["student_id"] == "stu-0001"
    assert turn.steps[0].status == "executed"


def test_a_bare_yes_to_an_open_question_asks_it_again(runtime: Runtime) -> None:
    asked = runtime.handle("s", "frontdesk", "book an appointment for Ana Ruiz on friday")
    assert asked.follow_up is not None and asked.follow_up.field == "practitioner"
    again = runtime.handle("s", "frontdesk", "yes")
    assert not again.steps
    assert again.follow_up is not None and again.follow_up.field == "practitioner"
    assert "practitioner" not in again.follow_up.arguments


def test_the_second_one_books_the_second_slot_listed(runtime: Runtime) -> None:
    listed = runtime.handle("s", "frontdesk", "free slots with dr lee on friday")
    slots = listed.steps[0].result.data["slots"]  # type: ignore[union-attr]
    turn = runtime.handle("s", "frontdesk", "book the second one for Ana Ruiz")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "healthcare.book_appointment", turn.answer
    second = datetime.fromisoformat(slots[1]["start"])
    assert step.arguments["date"] == second.date().isoformat()
    assert step.arguments["time"] == second.time().replace(tzinfo=None).isoformat()
    assert "birth_date" not in step.arguments


def test_a_question_set_aside_for_a_search_is_answered_by_picking_a_listed_time(
        runtime: Runtime) -> None:
    asked = runtime.handle("s", "frontdesk", "book Ana Ruiz on friday morning")
    assert asked.follow_up is not None and asked.follow_up.field == "practitioner"
    listed = runtime.handle("s", "frontdesk", "which times does dr lee have free")
    search = listed.steps[0]
    assert search.tool == "healthcare.find_available_slots", listed.answer
    # The set-aside booking still says which day and part of the day.
    assert search.arguments["date"] == FRIDAY and search.arguments["part_of_day"] == "morning"
    start = datetime.fromisoformat(search.result.data["slots"][1]["start"])  # type: ignore
    picked = runtime.handle("s", "frontdesk", f"the {start:%-H:%M} one")
    step = picked.awaiting_confirmation
    assert step is not None and step.tool == "healthcare.book_appointment", picked.answer
    assert step.arguments["patient_name"] == "Ana Ruiz"
    assert step.arguments["practitioner"] == "Dr. Lena Lee"
    assert (step.arguments["date"], step.arguments["time"]) == (FRIDAY, f"{start:%H:%M:%S}")


def test_the_card_names_who_her_refers_to(runtime: Runtime) -> None:
    _book_ana_on_thursday(runtime)
    turn = runtime.handle("s", "frontdesk", "please cancel her appointment on thursday")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "healthcare.cancel_appointment", turn.answer
    shown = {ref.type: ref.display for ref in step.referents.values()}
    assert shown["Patient"] == "Ana Ruiz"


def test_a_search_offers_the_booking_and_yes_with_a_pick_plans_it(runtime: Runtime) -> None:
    # find_available_slots declares offers="book_appointment": the answer asks, and a reply
    # that accepts and picks plans the booking of the slot picked, for confirmation.
    found = runtime.handle("s", "frontdesk", "when is dr lee free on friday afternoon")
    assert "Would you like me to book an appointment" in found.answer, found.answer
    turn = runtime.handle("s", "frontdesk", "yes, the second one for Ana Ruiz")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "healthcare.book_appointment", turn.answer
    options = runtime.sessions.load("s", "frontdesk")[0].options  # still what was listed
    assert step.arguments["date"] == FRIDAY
    assert step.arguments["time"][:5] == options[1]["start"][11:16]
    assert _appointments(runtime, "pat-0001") == []  # nothing before the confirmation


def test_a_declined_offer_plans_nothing(runtime: Runtime) -> None:
    found = runtime.handle("s", "frontdesk", "when is dr lee free on friday afternoon")
    assert "Would you like me to" in found.answer, found.answer
    turn = runtime.handle("s", "frontdesk", "no thanks")
    assert not turn.steps and turn.awaiting_confirmation is None
    # The offer lasts one turn: a later bare yes has nothing to accept.
    later = runtime.handle("s", "frontdesk", "yes")
    assert not later.steps and later.awaiting_confirmation is None


def test_a_yes_then_a_question_confirms_then_answers_the_question(runtime: Runtime) -> None:
    turn = runtime.handle("s", "frontdesk", "book Ana Ruiz in for thursday afternoon with dr lee")
    assert turn.awaiting_confirmation is not None, turn.answer
    both = runtime.handle("s", "frontdesk",
                          "Yes, that's right. When is Dr. Lee free on Friday afternoon?")
    assert [(s.tool, s.status) for s in both.steps] == [
        ("healthcare.book_appointment", "executed"),
        ("healthcare.find_available_slots", "executed")], both.answer
    assert [a["start"][:10] for a in _appointments(runtime, "pat-0001")] == [THURSDAY]


def test_a_yes_that_changes_something_is_not_a_confirmation(runtime: Runtime) -> None:
    turn = runtime.handle("s", "frontdesk", "book Ana Ruiz in for thursday afternoon with dr lee")
    assert turn.awaiting_confirmation is not None, turn.answer
    changed = runtime.handle("s", "frontdesk", "Yes. But can we make it Friday afternoon?")
    assert _appointments(runtime, "pat-0001") == []  # nothing booked on a qualified yes
    assert all(s.status != "executed" for s in changed.steps)


def test_a_teacher_asking_after_a_student_gets_grades_not_a_patient_record(
        runtime: Runtime) -> None:
    # The clinic's tools lose odds for a role that may not run them: the request is about a
    # student's grades, and a short "and ...?" asks the same of another student.
    turn = runtime.handle("s", "teacher", "how is stu-0002 getting along in biology?")
    assert [(s.tool, s.status) for s in turn.steps] == [
        ("education.grade_lookup", "executed")], turn.answer
    assert turn.steps[0].arguments == {"student_id": "stu-0002", "course": "Biology 10"}
    again = runtime.handle("s", "teacher", "and stu-0001?")
    assert [(s.tool, s.status) for s in again.steps] == [
        ("education.grade_lookup", "executed")], again.answer
    assert again.steps[0].arguments == {"student_id": "stu-0001", "course": "Biology 10"}


def test_a_request_for_a_tool_the_role_lacks_is_still_refused_with_the_reason(
        runtime: Runtime) -> None:
    turn = runtime.handle("s", "teacher", "book Ana Ruiz in for thursday afternoon with dr lee")
    assert [(s.tool, s.status) for s in turn.steps] == [
        ("healthcare.book_appointment", "denied")], turn.answer
    assert "not allowed" in turn.answer


def test_a_quiz_on_that_takes_the_topic_the_student_just_named(runtime: Runtime) -> None:
    runtime.handle("s", "student", "help me make sense of the carbon cycle")
    turn = runtime.handle("s", "student", "ok, now give me a short quiz on it")
    assert [s.tool for s in turn.steps] == ["education.practice_quiz"], turn.answer
    assert turn.steps[0].arguments["topic"] == "carbon cycle"
    # Without a pointing word nothing is carried over: the topic is asked for.
    runtime.handle("s2", "student", "help me make sense of the carbon cycle")
    bare = runtime.handle("s2", "student", "give me a short quiz")
    assert not bare.steps and bare.follow_up is not None, bare.answer


def test_feedback_on_this_takes_the_text_pasted_just_before(runtime: Runtime) -> None:
    runtime.handle("s", "student", BIKE_SHELTER)
    turn = runtime.handle("s", "student", "could you give me feedback on this")
    assert [s.tool for s in turn.steps] == ["education.essay_feedback"], turn.answer
    assert turn.steps[0].arguments["essay"] == BIKE_SHELTER
