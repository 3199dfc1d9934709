"""Healthcare policies through a real Runtime: advice refusal, own records, previews, PHI."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from lamworks_healthcare.advice import is_clinical_advice
from lamworks_healthcare.policies import REFUSAL


def _next_tuesday() -> dt.date:
    today = dt.datetime.now(ZoneInfo("America/Chicago")).date()
    return today + dt.timedelta(days=(1 - today.weekday()) % 7 + 7)


def _audit_text(runtime: Any) -> str:
    return json.dumps([e.as_dict() for e in runtime.audit.entries()])


def test_book_shows_fhir_preview_then_books_after_confirmation(runtime: Any) -> None:
    day = _next_tuesday()
    turn = runtime.handle("s1", "frontdesk", "book appointment patient_name=Ana Ruiz "
                          f"practitioner=Dr. Lee date={day} part_of_day=afternoon")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "healthcare.book_appointment"
    assert any(d.policy == "healthcare.preview_fhir_change" and d.kind == "confirm"
               for d in step.decisions)
    assert step.change is not None and step.change_digest == step.change.digest()
    preview = step.change.preview()
    assert preview in turn.answer  # what the person reads is rendered from the stored change
    assert "PUT Slot/slot-lee-" in preview and "status: free -> busy" in preview
    assert "PUT Appointment/appt-" in preview and "If-Match" in preview
    assert runtime.services["fhir"].search("Appointment", {"patient": "Patient/pat-0001"}) == []

    done = runtime.confirm("s1", step.id)
    assert done.steps[0].status == "executed", done.answer
    assert done.answer.startswith("Booked Ana Ruiz with Dr. Lena Lee")
    booked = runtime.services["fhir"].search("Appointment", {"patient": "Patient/pat-0001"})
    assert len(booked) == 1 and booked[0]["status"] == "booked"
    # The appointment and slot written are those previewed.
    shown = {w.url: w.resource for w in step.change.writes}
    assert f"Appointment/{booked[0]['id']}" in shown
    assert booked[0]["slot"] == shown[f"Appointment/{booked[0]['id']}"]["slot"]


def test_audit_log_holds_no_patient_identifiers_from_arguments(runtime: Any) -> None:
    day = _next_tuesday()
    turn = runtime.handle("s1", "frontdesk", "book appointment patient_name=Ana Ruiz "
                          f"practitioner=Dr. Lee date={day} reason=chest pain follow-up")
    assert turn.awaiting_confirmation is not None, turn.answer
    runtime.confirm("s1", turn.awaiting_confirmation.id)
    for entry in runtime.audit.entries():
        assert entry.arguments.get("patient_name") in (None, "[redacted]")
        assert entry.arguments.get("reason") in (None, "[redacted]")
    arguments = json.dumps([e.arguments for e in runtime.audit.entries()])
    assert "Ruiz" not in arguments and "chest pain" not in arguments


def test_clinical_advice_is_refused_before_planning_and_not_audited(runtime: Any) -> None:
    turn = runtime.handle("s2", "patient", "what dose of metformin should I take tonight?")
    assert turn.answer == f"I can't help with that: {REFUSAL}"
    assert "clinician" in turn.answer and not turn.steps
    entry = list(runtime.audit.entries())[-1]
    assert entry.event == "request.denied"
    assert entry.arguments == {"utterance": "[redacted]"}
    assert "metformin" not in _audit_text(runtime)


def test_administrative_request_mentioning_a_symptom_is_not_refused() -> None:
    assert not is_clinical_advice("book Ana Ruiz with Dr. Marsh about her rash on Monday")
    assert is_clinical_advice("what cream should I use for my rash")


def test_asking_what_someone_has_booked_is_not_a_diagnosis() -> None:
    """"does she have" asks about a condition only when a condition follows it."""
    assert not is_clinical_advice("which visits does he have?")
    assert not is_clinical_advice("what appointments do I have")
    assert is_clinical_advice("does he have pneumonia")
    assert is_clinical_advice("do I have an ear infection?")


def test_patient_can_only_act_on_own_records(runtime: Any) -> None:
    other = runtime.handle("s3", "patient", "show upcoming appointments patient_name=Omar Haddad")
    assert other.steps[0].status == "denied"
    assert "only see and change your own records" in other.answer
    own = runtime.handle("s3", "patient", "show upcoming appointments patient_name=Ana Ruiz")
    assert own.steps[0].status == "executed", own.answer
    me = runtime.handle("s3", "patient", "show upcoming appointments patient_name=me")
    assert me.steps[0].status == "executed" and "for you" in me.answer
    by_id = runtime.handle("s3b", "patient", "check coverage patient_id=pat-0004")
    assert by_id.steps[0].status == "denied"


def test_patient_cannot_cancel_someone_elses_appointment(runtime: Any) -> None:
    store = runtime.services["fhir"]
    theirs = next(a for a in store.search("Appointment", {"status": "booked"})
                  if "Patient/pat-0001" not in str(a["participant"]))
    turn = runtime.handle("s4", "patient", f"cancel appointment appointment_id={theirs['id']}")
    assert turn.steps[0].status == "denied"
    assert store.read("Appointment", theirs["id"])["status"] == "booked"


def test_write_that_cannot_be_prepared_is_denied_with_its_reason(runtime: Any) -> None:
    turn = runtime.handle("s5", "frontdesk", "book appointment patient_name=Ana Ruiz "
                          "practitioner=Dr. Nobody date=2099-01-05")
    assert turn.steps[0].status == "denied"
    assert "don't know a practitioner called 'Dr. Nobody'" in turn.answer
    assert "Dr. Lena Lee (family medicine)" in turn.answer


def test_clinician_writes_need_confirmation_too(runtime: Any) -> None:
    turn = runtime.handle("s6", "clinician", "create referral patient_name=Ana Ruiz "
                          "specialty=cardiology reason=palpitations")
    step = turn.awaiting_confirmation
    assert step is not None and step.change is not None
    preview = step.change.preview()
    assert "PUT ServiceRequest/sr-" in preview and "intent=order" in preview
    created = step.change.data["service_request_id"]
    done = runtime.confirm("s6", step.id)
    assert done.steps[0].status == "executed", done.answer
    assert runtime.services["fhir"].read("ServiceRequest", created)["intent"] == "order"


def test_frontdesk_cannot_create_referrals(runtime: Any) -> None:
    turn = runtime.handle("s7", "frontdesk", "create referral patient_name=Ana Ruiz "
                          "specialty=cardiology reason=palpitations")
    assert turn.steps[0].status == "denied" and "ServiceRequest.c" in turn.answer


def test_minimum_necessary_hides_contact_details_from_clinicians(runtime: Any) -> None:
    front = runtime.handle("s8", "frontdesk", "find patient name=Omar Haddad")
    assert front.steps[0].result.data["candidates"][0]["phone"].startswith("555-")
    clinician = runtime.handle("s9", "clinician", "find patient name=Omar Haddad")
    candidate = clinician.steps[0].result.data["candidates"][0]
    assert candidate["phone"] == candidate["email"] == candidate["address"] == "[redacted]"
    assert candidate["name"] == "Omar Haddad"


def test_minimum_necessary_hides_the_same_values_in_the_answer(runtime: Any) -> None:
    # The summary sentence is built from the data: what the role may not see is hidden in both.
    turn = runtime.handle("s10", "admin", "find patient name=Ana Ruiz")
    step = turn.steps[0]
    candidate = step.result.data["candidates"][0]
    assert candidate["birth_date"] == candidate["mrn"] == "[redacted]"
    assert candidate["name"] == "Ana Ruiz"
    for hidden in ("1984-03-12", "MRN-000001"):
        assert hidden not in turn.answer and hidden not in step.result.summary
        assert hidden not in _audit_text(runtime)
    assert "Found Ana Ruiz (born [redacted], [redacted])" in turn.answer
    front = runtime.handle("s11", "frontdesk", "find patient name=Ana Ruiz")
    assert "1984-03-12" in front.answer and "MRN-000001" in front.answer  # theirs to see
