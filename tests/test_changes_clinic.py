"""Plan, then apply on the demo institution: a booking commits exactly what was previewed.

The setup of the end-to-end conversations (``examples/lamworks.toml``, the default planner, the
demo clinic generated for a fixed Tuesday): another session books the previewed slot before
every confirmation, two sessions preview the same slot, a role loses its scopes while a booking
waits. Whatever happens, the resources committed are exactly the previewed ones, or none are
and the person is shown the new situation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lamworks import Change, Runtime, Step, Turn

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("America/Chicago")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZONE)  # a Tuesday


@pytest.fixture
def runtime(demo_clinic: Runtime) -> Runtime:
    """The example institution with the demo clinic, at NOW (tests/conftest.py)."""
    return demo_clinic


def _booked(rt: Runtime, patient_id: str) -> list[dict[str, Any]]:
    found = rt.services["fhir"].search("Appointment", {"patient": f"Patient/{patient_id}"})
    return [a for a in found if a.get("status") == "booked"]


def _preview(turn: Turn) -> tuple[Step, Change]:
    step = turn.awaiting_confirmation
    assert step is not None and step.change is not None, turn.answer
    assert step.change.preview() in turn.answer  # shown from the stored change
    return step, step.change


def _slot(change: Change) -> str:
    return next(w.url for w in change.writes if w.url.startswith("Slot/"))


def _appointment(change: Change) -> str:
    return next(w.url for w in change.writes if w.url.startswith("Appointment/"))


def _outcome(rt: Runtime, change: Change) -> str:
    """``exact``: every write of the change is in the store as planned (updates one version
    after the one they expected); ``nothing``: none of it is; ``different`` otherwise."""
    from lamworks_healthcare.errors import ResourceNotFound

    store = rt.services["fhir"]

    def stored(url: str) -> dict[str, Any] | None:
        kind, _, rid = url.partition("/")
        try:
            return dict(store.read(kind, rid))
        except ResourceNotFound:
            return None

    def bare(resource: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if resource is None else {k: v for k, v in resource.items() if k != "meta"}

    now = {w.url: stored(w.url) for w in change.writes}
    created = [w for w in change.writes if w.before is None]
    if all(bare(now[w.url]) == bare(w.resource) for w in change.writes) and all(
            now[w.url]["meta"]["versionId"] == str(int(w.if_match) + 1)  # type: ignore[index]
            for w in change.writes if w.if_match):
        return "exact"
    if all(now[w.url] is None for w in created):
        return "nothing"
    return "different"


def _race(rt: Runtime, change: Change, number: int) -> None:
    """Another session books the slot this change promised, through the same tool."""
    slot = rt.services["fhir"].read("Slot", _slot(change).split("/")[1])
    start = datetime.fromisoformat(slot["start"]).astimezone(ZONE)
    ctx = replace(rt.action_context(f"racer-{number}", "frontdesk"),
                  settings=rt.plugins.settings.get("healthcare"),
                  idempotency_key=f"racer-{number}")
    rt.tools["healthcare.book_appointment"].invoke(ctx, {
        "patient_name": "Maria Lopez", "birth_date": "1975-07-30", "practitioner": "Dr. Lee",
        "date": start.date().isoformat(), "time": f"{start:%H:%M}"})


def test_a_booking_raced_before_every_confirmation_never_commits_anything_else(
        runtime: Runtime) -> None:
    outcomes: list[str] = []
    requests = [("s1", "book Ana Ruiz in for thursday afternoon with dr lee", "pat-0001"),
                ("s2", "book Omar Haddad in for friday morning with dr lee", "pat-0004")]
    race = 0
    for session, utterance, patient in requests:
        turn = runtime.handle(session, "frontdesk", utterance)
        step, change = _preview(turn)
        shown_slots = [_slot(change)]
        while True:
            race += 1
            _race(runtime, change, race)
            # The button, or a typed "yes": the same single-use token.
            answered = (runtime.confirm(session, step.id) if race % 2
                        else runtime.handle(session, "frontdesk", "yes"))
            outcome = _outcome(runtime, change)
            outcomes.append(outcome)
            assert outcome == "nothing", answered.answer
            assert _booked(runtime, patient) == []
            assert answered.steps[0].status == "conflict"
            assert "taken by another booking after you saw it; nothing was booked" in \
                answered.answer
            if answered.awaiting_confirmation is None:
                # No free slot is left that part of the day: said so, nothing pending.
                assert answered.steps[-1].status == "denied"
                assert "no free slot" in answered.answer
                break
            step, change = _preview(answered)
            assert _slot(change) not in shown_slots  # the new situation, shown, not taken
            shown_slots.append(_slot(change))
        assert len(shown_slots) >= 2
    assert len(outcomes) >= 8 and outcomes.count("different") == 0
    assert set(outcomes) == {"nothing"}


def test_an_unraced_confirmation_commits_exactly_the_preview_with_its_ids(
        runtime: Runtime) -> None:
    turn = runtime.handle("s1", "frontdesk", "book Ana Ruiz in for thursday afternoon with "
                                             "dr lee")
    step, change = _preview(turn)
    _race(runtime, change, 1)
    retry = runtime.confirm("s1", step.id)
    step, change = _preview(retry)
    done = runtime.confirm("s1", step.id)
    assert [s.status for s in done.steps] == ["executed"], done.answer
    assert _outcome(runtime, change) == "exact"
    [appointment] = _booked(runtime, "pat-0001")
    assert f"Appointment/{appointment['id']}" == _appointment(change)
    assert appointment["slot"] == [{"reference": _slot(change)}]
    result = done.steps[0].result
    assert result is not None and result.data["appointment_id"] == appointment["id"]
    assert result.data["written"] == [w.url for w in change.writes]


def test_created_ids_are_the_previewed_ids_for_a_new_patient_and_their_booking(
        runtime: Runtime) -> None:
    turn = runtime.handle("s", "frontdesk", "new patient walked in - Marcus O'Neil, dob "
                                            "3/14/1988, phone 312-555-0142. register him, then "
                                            "book him in for monday morning next week, dr lee")
    step, change = _preview(turn)
    assert step.tool == "healthcare.register_patient"
    promised_patient = change.data["patient_id"]
    assert f"PUT Patient/{promised_patient} (create)" in turn.answer
    second = runtime.confirm("s", step.id)
    assert second.steps[0].result is not None
    assert [r.id for r in second.steps[0].result.refs] == [promised_patient]
    assert runtime.services["fhir"].read("Patient", promised_patient)["name"][0]["family"] == \
        "O'Neil"
    booking, booking_change = _preview(second)
    assert booking.arguments["patient_id"] == promised_patient
    runtime.confirm("s", booking.id)
    [appointment] = _booked(runtime, promised_patient)
    assert f"Appointment/{appointment['id']}" == _appointment(booking_change)
    assert _outcome(runtime, booking_change) == "exact"


def test_two_sessions_previewing_one_slot_the_second_confirm_commits_nothing(
        runtime: Runtime) -> None:
    first = runtime.handle("a", "frontdesk", "book Ana Ruiz in for thursday afternoon with "
                                             "dr lee")
    second = runtime.handle("b", "frontdesk", "book Omar Haddad in for thursday afternoon "
                                              "with dr lee")
    step_a, change_a = _preview(first)
    step_b, change_b = _preview(second)
    assert _slot(change_a) == _slot(change_b)  # both were promised the same slot
    assert runtime.confirm("a", step_a.id).steps[0].status == "executed"
    assert _outcome(runtime, change_a) == "exact"
    answered = runtime.confirm("b", step_b.id)
    assert _outcome(runtime, change_b) == "nothing"
    assert _booked(runtime, "pat-0004") == []
    assert answered.steps[0].status == "conflict"
    assert "That slot was taken by another booking after you saw it; nothing was booked." in \
        answered.answer
    step, change = _preview(answered)  # the new situation, for a fresh confirmation
    assert _slot(change) != _slot(change_b) and step.id != step_b.id
    assert "Please confirm" in answered.answer


def test_a_role_that_lost_its_scopes_while_a_booking_waited_commits_nothing(
        runtime: Runtime) -> None:
    turn = runtime.handle("s1", "frontdesk", "book Ana Ruiz in for friday morning with dr lee")
    step, change = _preview(turn)
    config = runtime.config
    role = config.roles["frontdesk"]
    kept = [s for s in role.scopes if "Appointment" not in str(s)]
    runtime.config = config.model_copy(update={"roles": {
        **config.roles, "frontdesk": role.model_copy(update={"scopes": kept})}})
    done = runtime.confirm("s1", step.id)
    assert [s.status for s in done.steps] == ["denied"]
    assert "Appointment" in done.answer
    assert _outcome(runtime, change) == "nothing" and _booked(runtime, "pat-0001") == []
