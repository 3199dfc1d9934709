"""The healthcare tools on the demo clinic, called as the runtime calls them (Tool.invoke)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lamworks import ChangeConflict, ToolError
from lamworks_healthcare.errors import ServerError
from lamworks_healthcare.store_local import LocalFHIRStore

ZONE = ZoneInfo("America/Chicago")


def _tool(runtime: Any, name: str) -> Any:
    return runtime.tools[f"healthcare.{name}"]


def _next_weekday(weekday: int, weeks: int = 1) -> dt.date:
    today = dt.datetime.now(ZONE).date()
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks)


def _free_slot(store: LocalFHIRStore, practitioner: str = "lee",
               day: dt.date | None = None) -> dict[str, Any]:
    day = day or _next_weekday(1)
    slots = store.search("Slot", {"schedule": f"Schedule/sch-{practitioner}", "status": "free"})
    return sorted((s for s in slots if s["start"].startswith(day.isoformat())),
                  key=lambda s: s["start"])[0]


def test_find_patient_by_name_birth_date_and_identifier(runtime: Any,
                                                        context: Callable[..., Any]) -> None:
    find = _tool(runtime, "find_patient")
    one = find.invoke(context(), {"name": "Ana Ruiz", "birth_date": "1984-03-12"})
    assert one.data["count"] == 1 and one.refs[0].id == "pat-0001"
    by_mrn = find.invoke(context(), {"identifier": "MRN-000001"})
    assert by_mrn.refs[0].id == "pat-0001"


def test_find_patient_asks_to_disambiguate(runtime: Any, context: Callable[..., Any]) -> None:
    result = _tool(runtime, "find_patient").invoke(context(), {"name": "Maria Lopez"})
    assert result.data["needs_disambiguation"] and result.data["count"] == 2
    assert "Which one" in result.summary and "1975-07-30" in result.summary
    assert "1992-11-02" in result.summary


def test_book_appointment_writes_appointment_and_busy_slot(runtime: Any,
                                                           context: Callable[..., Any]) -> None:
    store = runtime.services["fhir"]
    day = _next_weekday(1)
    result = _tool(runtime, "book_appointment").invoke(context(), {
        "patient_name": "Ana Ruiz", "practitioner": "Dr. Lee", "date": day.isoformat(),
        "part_of_day": "afternoon", "reason": "annual check-up"})
    appointment = store.read("Appointment", result.data["appointment_id"])
    slot = store.read("Slot", result.data["slot_id"])
    assert appointment["status"] == "booked" and slot["status"] == "busy"
    assert slot["meta"]["versionId"] == "2"
    assert dt.datetime.fromisoformat(appointment["start"]).astimezone(ZONE).hour >= 12
    assert {"Patient/pat-0001", "Practitioner/pr-lee"} <= {
        p["actor"]["reference"] for p in appointment["participant"]}
    assert "Ana Ruiz" in result.summary and "Dr. Lena Lee" in result.summary


@pytest.mark.parametrize(("arguments", "message", "field"), [
    ({"date": "2026-02-30"}, "date", "date"),
    ({"practitioner": "Dr. Who"}, "don't know a practitioner called 'Dr. Who'", "practitioner"),
    ({"date": "2020-01-07"}, "is in the past", "date"),
    ({"patient_name": "Nobody Atall"}, "No patient matches", "patient_name"),
    ({"patient_name": "Maria Lopez"}, "2 patients match", "birth_date"),
])
def test_booking_errors_are_clear_and_write_nothing(
        runtime: Any, context: Callable[..., Any], arguments: dict[str, Any], message: str,
        field: str) -> None:
    store = runtime.services["fhir"]
    before = store.count()
    base = {"patient_name": "Ana Ruiz", "practitioner": "Dr. Lee",
            "date": _next_weekday(1).isoformat(), "part_of_day": "morning"}
    with pytest.raises(ToolError, match=message) as caught:
        _tool(runtime, "book_appointment").invoke(context(), {**base, **arguments})
    assert caught.value.field == field
    assert "1975" not in str(caught.value) and "Ruiz" not in str(caught.value)
    assert store.count() == before


def test_booking_a_taken_slot_says_so_and_offers_free_times(
        runtime: Any, context: Callable[..., Any]) -> None:
    store = runtime.services["fhir"]
    day = _next_weekday(1)
    busy = sorted((s for s in store.search("Slot", {"schedule": "Schedule/sch-lee",
                                                    "status": "busy"})
                   if s["start"].startswith(day.isoformat())), key=lambda s: s["start"])[0]
    at = dt.datetime.fromisoformat(busy["start"]).astimezone(ZONE)
    before = store.count()
    with pytest.raises(ToolError, match="already taken. Free that day") as caught:
        _tool(runtime, "book_appointment").invoke(context(), {
            "patient_name": "Ana Ruiz", "practitioner": "Dr. Lee", "date": day.isoformat(),
            "time": f"{at:%H:%M}"})
    assert caught.value.field == "time"
    assert store.count() == before


def test_two_threads_booking_the_same_slot_exactly_one_wins(
        runtime: Any, context: Callable[..., Any]) -> None:
    store = runtime.services["fhir"]
    slot = _free_slot(store)
    at = dt.datetime.fromisoformat(slot["start"]).astimezone(ZONE)
    tool = _tool(runtime, "book_appointment")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(patient: str) -> None:
        ctx = context()
        change = tool.plan(ctx, {"patient_name": patient, "practitioner": "Dr. Lee",
                                 "date": at.date().isoformat(), "time": f"{at:%H:%M}"})
        barrier.wait()  # both planned against the free slot; now both apply
        try:
            tool.apply(ctx, change)
            outcomes.append("won")
        except ChangeConflict as exc:
            outcomes.append("conflict: " + str(exc))

    threads = [threading.Thread(target=book, args=(name,))
               for name in ("Ana Ruiz", "Omar Haddad")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict: That slot was taken by another booking after you saw "
                                "it; nothing was booked.", "won"]
    assert len(store.search("Appointment", {"slot": f"Slot/{slot['id']}"})) == 1


def test_cancel_frees_the_slot_and_records_the_reason(runtime: Any,
                                                      context: Callable[..., Any]) -> None:
    store = runtime.services["fhir"]
    day = _next_weekday(2)
    booked = _tool(runtime, "book_appointment").invoke(context(), {
        "patient_name": "Ana Ruiz", "practitioner": "Dr. Marsh", "date": day.isoformat()})
    cancelled = _tool(runtime, "cancel_appointment").invoke(context(), {
        "patient_name": "Ana Ruiz", "date": day.isoformat(), "reason": "travelling"})
    appointment = store.read("Appointment", cancelled.data["appointment_id"])
    assert appointment["status"] == "cancelled"
    assert appointment["cancelationReason"]["text"] == "travelling"
    assert store.read("Slot", booked.data["slot_id"])["status"] == "free"


def test_reschedule_moves_the_appointment_and_frees_the_old_slot(
        runtime: Any, context: Callable[..., Any]) -> None:
    store = runtime.services["fhir"]
    first, second = _next_weekday(1, weeks=2), _next_weekday(3, weeks=2)
    booked = _tool(runtime, "book_appointment").invoke(context(), {
        "patient_name": "Omar Haddad", "practitioner": "Dr. Castellan",
        "date": first.isoformat(), "part_of_day": "morning"})
    moved = _tool(runtime, "reschedule_appointment").invoke(context(), {
        "patient_name": "Omar Haddad", "from_date": first.isoformat(),
        "date": second.isoformat(), "part_of_day": "afternoon"})
    assert moved.data["appointment_id"] == booked.data["appointment_id"]
    assert store.read("Slot", booked.data["slot_id"])["status"] == "free"
    assert store.read("Slot", moved.data["slot_id"])["status"] == "busy"
    assert store.read("Appointment", moved.data["appointment_id"])["start"].startswith(
        second.isoformat())


def test_find_available_slots_by_specialty_and_part_of_day(
        runtime: Any, context: Callable[..., Any]) -> None:
    day = _next_weekday(3)
    result = _tool(runtime, "find_available_slots").invoke(context(), {
        "specialty": "family medicine", "date": day.isoformat(), "part_of_day": "evening"})
    assert result.data["count"] > 0
    assert all(r["practitioner"] == "Dr. Lena Lee" for r in result.data["slots"])
    assert all(dt.datetime.fromisoformat(r["start"]).hour >= 17 for r in result.data["slots"])
    skin = _tool(runtime, "find_available_slots").invoke(context(), {
        "service_type": "skin-check"})
    assert {r["practitioner"] for r in skin.data["slots"]} == {"Dr. Sam Marsh"}


def test_list_check_coverage_referral_and_reminder(runtime: Any,
                                                   context: Callable[..., Any]) -> None:
    store = runtime.services["fhir"]
    day = _next_weekday(4)
    _tool(runtime, "book_appointment").invoke(context(), {
        "patient_name": "Ana Ruiz", "practitioner": "Dr. Okafor", "date": day.isoformat()})
    listed = _tool(runtime, "list_appointments").invoke(context(), {"patient_name": "Ana Ruiz"})
    assert listed.data["count"] >= 1 and "Dr. Priya Okafor" in listed.summary
    covered = _tool(runtime, "check_coverage").invoke(context(), {"patient_name": "Ana Ruiz",
                                                                  "payer": "Bluebird"})
    assert covered.data["covered"] and covered.data["payer"] == "Bluebird Health Plan"
    expired = _tool(runtime, "check_coverage").invoke(context(), {"patient_id": "pat-0010"})
    assert not expired.data["covered"]
    referral = _tool(runtime, "create_referral").invoke(context("clinician"), {
        "patient_name": "Ana Ruiz", "specialty": "dermatology", "reason": "mole check"})
    request = store.read("ServiceRequest", referral.data["service_request_id"])
    assert request["intent"] == "order" and request["performerType"]["text"] == "dermatology"
    reminder = _tool(runtime, "send_reminder").invoke(context(), {
        "patient_name": "Ana Ruiz", "date": day.isoformat(), "channel": "email"})
    communication = store.read("Communication", reminder.data["communication_id"])
    assert communication["medium"][0]["coding"][0]["code"] == "EMAILWRIT"
    assert "Dr. Priya Okafor" in communication["payload"][0]["contentString"]


def test_register_patient_checks_duplicates_and_is_conditional(
        runtime: Any, context: Callable[..., Any]) -> None:
    register = _tool(runtime, "register_patient")
    args = {"first_name": "Juno", "last_name": "Testwhistle", "birth_date": "1991-04-05",
            "phone": "555-0188"}
    result = register.invoke(context(), args)
    assert runtime.services["fhir"].read("Patient", result.refs[0].id)["birthDate"] == \
        "1991-04-05"
    with pytest.raises(ToolError, match="already registered"):
        register.invoke(context(), args)
    with pytest.raises(ToolError, match="phone number"):
        register.invoke(context(), {**args, "last_name": "Other", "phone": "call me"})


def test_update_contact_is_version_checked(runtime: Any, context: Callable[..., Any]) -> None:
    store = runtime.services["fhir"]
    _tool(runtime, "update_patient_contact").invoke(context(), {
        "patient_name": "Omar Haddad", "phone": "555-0177"})
    patient = store.read("Patient", "pat-0004")
    assert {"system": "phone", "value": "555-0177", "use": "mobile"} in patient["telecom"]
    assert patient["meta"]["versionId"] == "2"


def test_server_down_is_a_clear_tool_error(runtime: Any, context: Callable[..., Any]) -> None:
    from dataclasses import replace

    from lamworks_healthcare.store_rest import RestFHIRStore

    dead = RestFHIRStore("http://127.0.0.1:9/fhir", retries=0, timeout=1)
    ctx = replace(context(), services={"fhir": dead})
    with pytest.raises(ToolError, match="not reachable"):
        _tool(runtime, "book_appointment").invoke(ctx, {
            "patient_name": "Ana Ruiz", "practitioner": "Dr. Lee",
            "date": _next_weekday(1).isoformat()})
    assert issubclass(ServerError, Exception)


def test_reconcile_finds_a_booking_made_before_a_crash(runtime: Any,
                                                       context: Callable[..., Any]) -> None:
    tool = _tool(runtime, "book_appointment")
    ctx = context(key="crash-key-1")
    args = {"patient_name": "Ana Ruiz", "practitioner": "Dr. Lee",
            "date": _next_weekday(0, weeks=2).isoformat()}
    assert tool.reconcile(ctx, "crash-key-1") is None
    booked = tool.invoke(ctx, args)
    # Found by the key stamped on what it wrote (meta.tag), not from the arguments.
    recovered = tool.reconcile(ctx, "crash-key-1")
    assert recovered is not None
    appointment = booked.data["appointment_id"]
    assert f"Appointment/{appointment}" in {str(r) for r in recovered.refs}
    assert tool.reconcile(ctx, "another-key") is None
