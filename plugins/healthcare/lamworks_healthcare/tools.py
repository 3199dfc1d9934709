"""The healthcare tools: front-desk actions on FHIR resources, as typed functions.

Each write tool plans, then applies (:class:`lamworks.Change`): its one function reads the store,
decides and returns the exact Change — the resources it writes, the versions it expects, the ids
it mints — and its applier (:func:`~.changes.fhir_transaction`) commits exactly that change or
nothing. The runtime shows the change before a person confirms it and applies the confirmed one.
Arguments are plain and typed (names, dates, times, small Literals) so an offline slot filler can
fill them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from lamworks import ActionContext, ActionResult, Change, Ref, ToolError, Write, entity, ref, tool

from .changes import (
    fhir_compensation,
    fhir_errors,
    fhir_reconciler,
    fhir_transaction,
    new_id,
    stamped,
    store_of,
)
from .clinic import MRN_SYSTEM
from .directory import (
    SELF_WORDS,
    PatientMatch,
    PractitionerInfo,
    find_patients,
    is_self_service,
    linked_patient_id,
    patient_display,
    practitioners,
    resolve_patient,
    resolve_practitioner,
)
from .errors import ResourceNotFound
from .scheduling import (
    PartOfDay,
    free_slots,
    local_start,
    plain_span,
    schedules_for,
    slot_label,
)
from .shapes import cancellation, communication_payload
from .shapes import reason as reason_shape
from .store import FHIRStore, version_of
from .valuesets import MEDIUM_SYSTEM, SNOMED, SPECIALTIES

__all__ = ["TOOLS"]

Specialty = Literal["family medicine", "pediatrics", "dermatology", "cardiology"]
ServiceType = Literal["new-patient", "follow-up", "check-up", "vaccination", "skin-check",
                      "heart-check"]
Gender = Literal["female", "male", "other", "unknown"]
Priority = Annotated[Literal["routine", "urgent", "asap", "stat"], Field(json_schema_extra={
    "x-synonyms": {"stat": ["emergency"], "urgent": ["soon as possible"],
                   "routine": ["regular", "non-urgent", "normal"]}})]
Channel = Annotated[Literal["sms", "email", "phone"], Field(json_schema_extra={
    "x-synonyms": {"sms": ["text", "text message", "texting"],
                   "phone": ["call", "phone call", "ring"], "email": ["e-mail", "mail"]}})]

PatientName = Annotated[str, entity("Patient", "The patient's full name, or 'me' for yourself")]
OptionalPatientName = Annotated[
    str | None, entity("Patient", "The patient's full name, or 'me' for yourself")]
PatientId = Annotated[str | None, ref("Patient", "The patient record, if already known")]
AppointmentId = Annotated[str | None, ref("Appointment", "The appointment, if already known")]
_TITLED = Field(json_schema_extra={"x-titles": ["Dr", "Doctor"]})
PractitionerName = Annotated[str, entity("Practitioner", "Who the visit is with, e.g. Dr. Lee"),
                             _TITLED]
OptionalPractitioner = Annotated[
    str | None, entity("Practitioner", "Which practitioner, e.g. Dr. Lee"), _TITLED]

_CHANNEL_MEDIUM = {"sms": ("SMSWRIT", "SMS message", "phone"),
                   "email": ("EMAILWRIT", "email", "email"),
                   "phone": ("PHONE", "telephone", "phone")}
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,19}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)


def _zone(ctx: ActionContext) -> ZoneInfo:
    return ZoneInfo(ctx.config.institution.timezone)


def _now(ctx: ActionContext) -> dt.datetime:
    now = ctx.now()
    return now.astimezone(_zone(ctx)) if now.tzinfo else now.replace(tzinfo=_zone(ctx))


def _patient_ref(patient: dict[str, Any]) -> Ref:
    return Ref(type="Patient", id=patient["id"], display=patient_display(patient))


def _who(ctx: ActionContext, patient: dict[str, Any]) -> str:
    return "you" if is_self_service(ctx) else patient_display(patient)


def _person(ctx: ActionContext, patient: dict[str, Any] | None) -> str:
    """The patient as a confirmation card names them (Markdown): ``**Ana Ruiz** (born
    1990-03-02)`` so the front desk can tell two people of one name apart; "you" for a
    patient acting for themselves."""
    if patient is None:
        return "the patient"
    if is_self_service(ctx):
        return "**you**"
    born = f" (born {patient['birthDate']})" if patient.get("birthDate") else ""
    return f"**{patient_display(patient)}**{born}"


def _their_appointment(ctx: ActionContext, patient: dict[str, Any] | None) -> str:
    """"your appointment", or "the appointment of **Ana Ruiz** (born 1990-03-02)"."""
    if patient is not None and is_self_service(ctx):
        return "your appointment"
    return f"the appointment of {_person(ctx, patient)}"


def _patient_of(store: FHIRStore, appointment: dict[str, Any]) -> dict[str, Any] | None:
    """The patient an appointment is for, read from the store (``None`` if none is named)."""
    reference = next((r for r in _actors(appointment) if r.startswith("Patient/")), "")
    if not reference:
        return None
    try:
        return store.read("Patient", reference.split("/", 1)[1])
    except ResourceNotFound:
        return None


def _check_not_past(tool_name: str, ctx: ActionContext, day: dt.date, at: dt.time | None,
                    field: str = "date") -> None:
    now = _now(ctx)
    if day < now.date():
        raise ToolError(tool_name, f"{day:%a %d %b %Y} is in the past; please choose today or "
                                   "a later day.", field=field)
    if at is not None and day == now.date() and at <= now.time().replace(tzinfo=None):
        raise ToolError(tool_name, f"{at:%H:%M} today has already passed; please choose a "
                                   "later time.", field="time")


def _pick_slot(tool_name: str, ctx: ActionContext, store: FHIRStore,
               doctor: PractitionerInfo, day: dt.date, part_of_day: PartOfDay | None,
               at: dt.time | None) -> dict[str, Any]:
    zone = _zone(ctx)
    schedules = schedules_for(store, practitioner=doctor)
    free = free_slots(store, zone, schedules, start=day, end=day, now=_now(ctx),
                      part_of_day=part_of_day, at=at)
    if free:
        return free[0]
    when = f"{day:%a %d %b %Y}" + (f" at {at:%H:%M}" if at else "") + (
        f" ({part_of_day})" if part_of_day else "")
    if at is not None:
        taken = free_slots(store, zone, schedules, start=day, end=day, now=_now(ctx), at=at,
                           status="busy")
        alternatives = free_slots(store, zone, schedules, start=day, end=day, now=_now(ctx),
                                  part_of_day=part_of_day)
        hint = (" Free that day: " + ", ".join(f"{local_start(s, zone):%H:%M}"
                                                for s in alternatives[:6]) + ".") \
            if alternatives else ""
        if taken:
            raise ToolError(tool_name, f"That slot with {doctor.display} on {when} is already "
                                       f"taken.{hint}", field="time")
        raise ToolError(tool_name, f"{doctor.display} has no slot on {when}.{hint}",
                        field="time")
    raise ToolError(tool_name, f"{doctor.display} has no free slot on {when}. Try another day "
                               "or use find_available_slots.", field="date")


def _update(ctx: ActionContext, current: dict[str, Any], updated: dict[str, Any]) -> Write:
    """A PUT of ``updated`` over ``current`` (as read), expecting ``current``'s version, stamped
    with the step's idempotency key (:func:`~.changes.stamped`)."""
    return Write(method="PUT", url=f"{current['resourceType']}/{current['id']}",
                 resource=stamped(updated, ctx.idempotency_key), if_match=version_of(current),
                 before=current)


def _create(ctx: ActionContext, resource: dict[str, Any]) -> Write:
    """A PUT creating ``resource`` at the id minted for it when the change was planned, stamped
    with the step's idempotency key."""
    return Write(method="PUT", url=f"{resource['resourceType']}/{resource['id']}",
                 resource=stamped(resource, ctx.idempotency_key))


def _appointment_doctor(appointment: dict[str, Any]) -> str:
    for participant in appointment.get("participant", []) or []:
        actor = participant.get("actor") or {}
        if str(actor.get("reference", "")).startswith("Practitioner/"):
            return str(actor.get("display") or actor["reference"])
    return "the clinic"


def _appointment_data(appointment: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    start = appointment.get("start")
    reason = (appointment.get("reasonCode") or [{}])[0].get("text") or (
        (appointment.get("reason") or [{}])[0].get("concept", {}).get("text", ""))
    return {"id": appointment["id"], "status": appointment.get("status"),
            "start": local_start(appointment, zone).isoformat() if start else None,
            "practitioner": _appointment_doctor(appointment), "reason": reason or ""}


def _find_appointment(tool_name: str, ctx: ActionContext, store: FHIRStore, *,
                      appointment_id: str | None, patient: dict[str, Any] | None,
                      day: dt.date | None) -> dict[str, Any]:
    if appointment_id:
        try:
            appointment = store.read("Appointment", appointment_id.split("/", 1)[-1])
        except ResourceNotFound:
            raise ToolError(tool_name, "That appointment does not exist.",
                            field="appointment_id") from None
        own = linked_patient_id(ctx) if is_self_service(ctx) else None
        if own and f"Patient/{own}" not in _actors(appointment):
            raise ToolError(tool_name, "You can only see and change your own records.")
        return appointment
    assert patient is not None
    zone = _zone(ctx)
    since = dt.datetime.combine(day, dt.time(0), zone) if day else _now(ctx)
    params: dict[str, str | list[str]] = {"patient": f"Patient/{patient['id']}",
                                          "status": "booked", "date": [f"ge{since.isoformat()}"]}
    if day:
        until = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
        params["date"] = [f"ge{since.isoformat()}", f"lt{until.isoformat()}"]
    found = sorted(store.search("Appointment", params), key=lambda a: str(a.get("start")))
    if not found:
        on = f" on {day:%a %d %b %Y}" if day else ""
        raise ToolError(tool_name, f"No upcoming booked appointment found{on}.",
                        field="date" if day else "patient_name")
    if len(found) > 1:
        days = ", ".join(f"{local_start(a, zone):%a %d %b %H:%M}" for a in found[:6])
        raise ToolError(tool_name, f"There are {len(found)} upcoming appointments ({days}); "
                                   "which date?", field="date")
    return found[0]


def _actors(appointment: dict[str, Any]) -> set[str]:
    return {str((p.get("actor") or {}).get("reference")) for p in
            appointment.get("participant", []) or []}


def _slot_of(store: FHIRStore, appointment: dict[str, Any]) -> dict[str, Any] | None:
    for slot_ref in appointment.get("slot", []) or []:
        try:
            return store.read("Slot", str(slot_ref.get("reference")).split("/", 1)[-1])
        except ResourceNotFound:
            return None
    return None


# ---- find_patient ------------------------------------------------------------------------------


@tool(scopes=["patient/Patient.rs"], produces="Patient", examples=[
    "find patient Ana Ruiz born 1984-03-12",
    "look up the patient with MRN-000001",
    "search for a patient called Omar Haddad",
    "pull up Maria Lopez's chart details",
    "is there a patient named Ruiz born March 12 1984",
    "find the record for patient MRN-000004",
])
def find_patient(ctx: ActionContext, name: OptionalPatientName = None,
                 birth_date: dt.date | None = None,
                 identifier: str | None = None) -> ActionResult:
    """Find a patient record by name and birth date, or by an identifier such as an MRN.

    Args:
        name: The patient's name (given, family or both).
        birth_date: The patient's date of birth, to tell people with one name apart.
        identifier: A medical record number (MRN) or other identifier.
    """
    store = store_of(ctx, "healthcare.find_patient")
    with fhir_errors("healthcare.find_patient"):
        if is_self_service(ctx):
            own = resolve_patient(store, ctx, "healthcare.find_patient", patient_name=name)
            found = [PatientMatch(own)]
        else:
            if not (name or identifier):
                raise ToolError("healthcare.find_patient", "Give a name (and ideally a birth "
                                "date) or an identifier such as an MRN.", field="name")
            found = find_patients(store, name=name, birth_date=birth_date,
                                  identifier=identifier)
    candidates = [m.as_data() for m in found]
    if not found:
        return ActionResult(summary="No patient matches. Check the spelling or register them "
                                    "as a new patient.", data={"count": 0, "candidates": []})
    if len(found) == 1:
        one = candidates[0]
        return ActionResult(summary=f"Found {one['name']} (born {one['birth_date']}, "
                                    f"{one['mrn']}).",
                            data={"count": 1, "candidates": candidates},
                            refs=[_patient_ref(found[0].resource)])
    listing = "; ".join(f"{i}. {c['name']}, born {c['birth_date']} ({c['mrn']})"
                        for i, c in enumerate(candidates, start=1))
    return ActionResult(summary=f"{len(found)} patients match: {listing}. Which one do you "
                                "mean? Add the birth date or the MRN.",
                        data={"count": len(found), "candidates": candidates,
                              "needs_disambiguation": True})


# ---- register_patient --------------------------------------------------------------------------


def _telecom(tool_name: str, phone: str | None, email: str | None) -> list[dict[str, Any]]:
    telecom: list[dict[str, Any]] = []
    if phone:
        if not _PHONE.match(phone.strip()):
            raise ToolError(tool_name, "That phone number does not look valid.", field="phone")
        telecom.append({"system": "phone", "value": phone.strip(), "use": "mobile"})
    if email:
        if not _EMAIL.match(email.strip()):
            raise ToolError(tool_name, "That e-mail address does not look valid.",
                            field="email")
        telecom.append({"system": "email", "value": email.strip()})
    return telecom


@tool(risk="write", scopes=["user/Patient.cs"], produces="Patient",
      reconcile=fhir_reconciler("healthcare.register_patient", "Patient"),
      compensate=fhir_compensation("healthcare.register_patient"), apply=fhir_transaction(
          "healthcare.register_patient",
          conflict="A patient with this MRN was registered meanwhile; nothing was written."),
      examples=[
          "register a new patient Jane Doe born 1990-05-01",
          "add new patient Tom Berry, date of birth 2001-02-03, phone 555-0100",
          "create a patient record for Lia Moon born 12 June 1988",
          "new patient registration: Carl Stone, 1975-09-09, carl@example.org",
          "sign up a new patient named Bea Fox born 1999-12-24, female",
      ])
def register_patient(ctx: ActionContext, first_name: str, last_name: str, birth_date: dt.date,
                     gender: Gender | None = None, phone: str | None = None,
                     email: str | None = None, identifier: str | None = None) -> Change:
    """Register a new patient (checks for an existing record first).

    Args:
        first_name: The patient's given name(s).
        last_name: The patient's family name.
        birth_date: The patient's date of birth.
        gender: Administrative gender: female, male, other or unknown.
        phone: A phone number for reminders.
        email: An e-mail address.
        identifier: An existing medical record number, if they have one.
    """
    name = "healthcare.register_patient"
    store = store_of(ctx, name)
    if birth_date > _now(ctx).date():
        raise ToolError(name, "The birth date is in the future.", field="birth_date")
    telecom = _telecom(name, phone, email)
    with fhir_errors(name):
        if find_patients(store, name=f"{first_name} {last_name}", birth_date=birth_date):
            raise ToolError(name, "A patient with this name and birth date is already "
                                  "registered; use find_patient to open their record.")
    mrn = identifier or "MRN-" + hashlib.sha256(
        f"{first_name.lower()}|{last_name.lower()}|{birth_date}".encode()).hexdigest()[:8].upper()
    patient_id = new_id("pat", ctx)
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": patient_id, "active": True,
        "identifier": [{"use": "usual", "system": MRN_SYSTEM, "value": mrn}],
        "name": [{"use": "official", "family": last_name.strip(),
                  "given": first_name.strip().split()}],
        "birthDate": birth_date.isoformat(),
    }
    if gender:
        patient["gender"] = gender
    if telecom:
        patient["telecom"] = telecom
    display = f"{first_name} {last_name}"
    contact = [t["value"] for t in telecom]
    return Change(
        action=f"Register a new patient with MRN {mrn} as Patient/{patient_id}.",
        headline=f"Register **{display}** (born {birth_date.isoformat()}) as a new patient",
        effects=(f"A new patient record is created with medical record number {mrn}.",
                 *([f"Contact: {', '.join(contact)}."] if contact else [])),
        confirm_label="Register", decline_label="Don't register",
        writes=[Write(method="PUT", url=f"Patient/{patient_id}",
                      resource=stamped(patient, ctx.idempotency_key),
                      if_none_exist=f"identifier={MRN_SYSTEM}|{mrn}")],
        summary=f"Registered {display} (MRN {mrn}).",
        data={"patient_id": patient_id, "mrn": mrn},
        refs=[Ref(type="Patient", id=patient_id, display=display)])


# ---- update_patient_contact --------------------------------------------------------------------


@tool(risk="write", scopes=["patient/Patient.ru"], consumes=["Patient"],
      reconcile=fhir_reconciler("healthcare.update_patient_contact", "Patient"),
      compensate=fhir_compensation("healthcare.update_patient_contact"),
      apply=fhir_transaction("healthcare.update_patient_contact", conflict=(
          "The patient's record was changed by someone else after you saw it; nothing was "
          "written.")),
      examples=[
          "update Ana Ruiz's phone number to 555-0199",
          "change the email for Omar Haddad to omar.h@example.org",
          "Ana Ruiz moved, new address 12 Elm Street, Riverside",
          "set my phone to 555-0142",
          "new contact number for patient Maria Lopez born 1975-07-30: 555-0123",
      ])
def update_patient_contact(ctx: ActionContext, patient_name: OptionalPatientName = None,
                           phone: str | None = None, email: str | None = None,
                           address: str | None = None, birth_date: dt.date | None = None,
                           patient_id: PatientId = None) -> Change:
    """Update a patient's phone number, e-mail address or home address.

    Args:
        patient_name: The patient's full name, or 'me' for yourself.
        phone: The new phone number.
        email: The new e-mail address.
        address: The new home address, as one line.
        birth_date: The patient's date of birth, if several share the name.
        patient_id: The patient record, if already known.
    """
    name = "healthcare.update_patient_contact"
    if not (phone or email or address):
        raise ToolError(name, "What should change: a phone number, an e-mail or an address?",
                        field="phone")
    store = store_of(ctx, name)
    with fhir_errors(name):
        patient = resolve_patient(store, ctx, name, patient_name=patient_name,
                                  birth_date=birth_date, patient_id=patient_id)
    updated = dict(patient)
    telecom = [t for t in patient.get("telecom", []) or []
               if not (phone and t.get("system") == "phone")
               and not (email and t.get("system") == "email")]
    updated["telecom"] = _telecom(name, phone, email) + telecom
    if address:
        updated["address"] = [{"use": "home", "text": address.strip()}]
    new = [f"phone {phone}" if phone else "", f"e-mail {email}" if email else "",
           f"address {address.strip()}" if address else ""]
    return Change(
        action=f"Update the contact details of Patient/{patient['id']}.",
        headline=f"Update the contact details of {_person(ctx, patient)}",
        effects=tuple(f"New {item}." for item in new if item),
        confirm_label="Update them", decline_label="Don't update",
        writes=[_update(ctx, patient, updated)],
        summary=f"Updated the contact details of {_who(ctx, patient)}.",
        refs=[_patient_ref(patient)])


# ---- find_available_slots ----------------------------------------------------------------------


@tool(scopes=["patient/Slot.rs", "patient/Practitioner.rs"], offers="book_appointment", examples=[
    "when is Dr. Lee free next week",
    "show open slots with a dermatologist on Friday",
    "any free appointments for a vaccination tomorrow morning",
    "what times does Dr. Okafor have available on Monday afternoon",
    "find availability in cardiology between December 1 and December 5",
    "first available family medicine slot",
    "is there an evening slot with Dr. Lee this Thursday",
])
def find_available_slots(ctx: ActionContext, practitioner: OptionalPractitioner = None,
                         specialty: Specialty | None = None,
                         service_type: ServiceType | None = None,
                         date: dt.date | None = None, end_date: dt.date | None = None,
                         part_of_day: PartOfDay | None = None,
                         time: dt.time | None = None) -> ActionResult:
    """Find free appointment slots by practitioner, specialty or service, dates and time of day.

    Args:
        practitioner: Which practitioner, e.g. Dr. Lee.
        specialty: The specialty: family medicine, pediatrics, dermatology or cardiology.
        service_type: The kind of visit: new-patient, follow-up, check-up, vaccination,
            skin-check or heart-check.
        date: The first day to look at (default today).
        end_date: The last day to look at (default: the same day if a date is given, else a
            week ahead).
        part_of_day: morning, afternoon or evening.
        time: A specific start time.
    """
    name = "healthcare.find_available_slots"
    store = store_of(ctx, name)
    zone = _zone(ctx)
    today = _now(ctx).date()
    start = date or today
    end = end_date or (start if date else today + dt.timedelta(days=7))
    if end < start:
        raise ToolError(name, "The end date is before the start date.", field="end_date")
    if end < today:
        raise ToolError(name, "Those dates are in the past.", field="date")
    with fhir_errors(name):
        doctor = resolve_practitioner(store, name, practitioner) if practitioner else None
        schedules = schedules_for(store, practitioner=doctor, specialty=specialty,
                                  service_type=service_type)
        slots = free_slots(store, zone, schedules, start=max(start, today), end=end,
                           now=_now(ctx), part_of_day=part_of_day, at=time)
        who = {f"Schedule/{p.schedule_id}": p for p in practitioners(store)}
    rows = [{"id": s["id"], "start": local_start(s, zone).isoformat(),
             "practitioner": who[s["schedule"]["reference"]].display
             if s["schedule"]["reference"] in who else "",
             "specialty": who[s["schedule"]["reference"]].specialty
             if s["schedule"]["reference"] in who else ""} for s in slots]
    if not rows:
        return ActionResult(summary="No free slots match. Try other days or another "
                                    "practitioner.", data={"count": 0, "slots": []})
    shown = "; ".join(f"{r['practitioner']} {slot_label(s, zone)}"
                      for r, s in zip(rows[:8], slots[:8], strict=True))
    more = f" (and {len(rows) - 8} more)" if len(rows) > 8 else ""
    # For a front end: each slot as a choice to click, the next opening first. Clicking sends
    # ``say`` as the person's next message; the planner books it (with the patient the
    # conversation names, or asks who). The practitioner is left to the conversation: "with
    # Dr. Lena Lee" after the time is read as a patient's name by today's slot filler.
    today = _now(ctx).date()
    options = []
    for index, (row, slot) in enumerate(zip(rows[:50], slots[:50], strict=True)):
        start = local_start(slot, zone)
        label = f"{plain_span(slot, zone, today)} · {row['practitioner']}".strip(" ·")
        options.append({"label": ("Next opening: " if index == 0 else "") + label,
                        "say": f"book the {start.hour}:{start:%M} one on "
                               f"{start:%a} {start.day} {start:%b}"})
    return ActionResult(summary=f"{len(rows)} free slots: {shown}{more}.",
                        data={"count": len(rows), "slots": rows[:50],
                              "choices": {"title": f"{len(rows)} free slots", "options": options}})


# ---- book_appointment --------------------------------------------------------------------------


@tool(risk="write", scopes=["patient/Appointment.cu", "patient/Slot.rs"],
      consumes=["Patient"], produces="Appointment",
      reconcile=fhir_reconciler("healthcare.book_appointment", "Appointment", "Slot"),
      compensate=fhir_compensation("healthcare.book_appointment"),
      apply=fhir_transaction("healthcare.book_appointment", conflict=(
          "That slot was taken by another booking after you saw it; nothing was booked.")),
      examples=[
          "book Ana Ruiz in with Dr. Lee on Tuesday afternoon",
          "schedule an appointment for Omar Haddad with Dr. Marsh on Friday at 10:00",
          "make an appointment with Dr. Okafor tomorrow morning for me",
          "I'd like to see Dr. Castellan on December 3 in the afternoon",
          "put Maria Lopez born 1992-11-02 in Dr. Lee's 9:30 slot on Monday",
          "book a follow-up for Ana Ruiz with Dr. Lee on Thursday evening",
          "reserve the 2pm slot with Dr. Lee next Wednesday for Ana Ruiz, reason: flu shot",
      ])
def book_appointment(ctx: ActionContext, patient_name: PatientName,
                     practitioner: PractitionerName, date: dt.date,
                     part_of_day: PartOfDay | None = None, time: dt.time | None = None,
                     reason: str = "", birth_date: dt.date | None = None,
                     patient_id: PatientId = None) -> Change:
    """Book an appointment for a patient with a practitioner on a day (and time or part of day).

    Args:
        patient_name: The patient's full name, or 'me' when booking for yourself.
        practitioner: Who the visit is with, e.g. Dr. Lee.
        date: The day of the appointment.
        part_of_day: morning, afternoon or evening; the first free slot then is booked.
        time: The exact start time, if the person asked for one.
        reason: Why the patient is coming (administrative note, optional).
        birth_date: The patient's date of birth, if several patients share the name.
        patient_id: The patient record, if already known.
    """
    name = "healthcare.book_appointment"
    store = store_of(ctx, name)
    _check_not_past(name, ctx, date, time)
    with fhir_errors(name):
        doctor = resolve_practitioner(store, name, practitioner)
        patient = resolve_patient(store, ctx, name, patient_name=patient_name,
                                  birth_date=birth_date, patient_id=patient_id)
        slot = _pick_slot(name, ctx, store, doctor, date, part_of_day, time)
    zone = _zone(ctx)
    appointment_id = new_id("appt", ctx)
    appointment: dict[str, Any] = {
        "resourceType": "Appointment", "id": appointment_id, "status": "booked",
        "start": slot["start"], "end": slot["end"], "slot": [{"reference": f"Slot/{slot['id']}"}],
        "created": _now(ctx).date().isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{patient['id']}"}, "status": "accepted"},
            {"actor": {"reference": doctor.reference, "display": doctor.display},
             "status": "accepted"}],
    }
    if reason:
        appointment.update(reason_shape(store.fhir_version, reason))
    when = slot_label(slot, zone)
    span = plain_span(slot, zone, _now(ctx).date())
    return Change(
        action=f"Book {doctor.display} on {when} for Patient/{patient['id']}.",
        headline=f"Book {_person(ctx, patient)} with **{doctor.display}** on **{span}**",
        effects=(f"{doctor.display}'s slot on {span} becomes busy: nobody else can book it.",
                 "A new appointment is recorded as booked"
                 + (f", reason: {reason.strip()}." if reason.strip() else ".")),
        confirm_label="Book it", decline_label="Don't book",
        writes=[_update(ctx, slot, {**slot, "status": "busy"}), _create(ctx, appointment)],
        summary=f"Booked {_who(ctx, patient)} with {doctor.display} on {when}.",
        data={"appointment_id": appointment_id, "slot_id": slot["id"],
              "start": local_start(slot, zone).isoformat(), "practitioner": doctor.display},
        refs=[Ref(type="Appointment", id=appointment_id, display=f"{doctor.display}, {when}"),
              _patient_ref(patient)])


# ---- reschedule_appointment --------------------------------------------------------------------


@tool(risk="write", scopes=["patient/Appointment.ru", "patient/Slot.rs"],
      consumes=["Appointment"], produces="Appointment",
      reconcile=fhir_reconciler("healthcare.reschedule_appointment", "Appointment", "Slot"),
      compensate=fhir_compensation("healthcare.reschedule_appointment"),
      apply=fhir_transaction("healthcare.reschedule_appointment", conflict=(
          "The new slot was taken, or the appointment changed, after you saw it; nothing was "
          "moved.")),
      examples=[
          "move Ana Ruiz's appointment to Friday morning",
          "reschedule my appointment to next Monday at 10:30",
          "can we push Omar Haddad's visit from Tuesday to Thursday afternoon",
          "change the appointment of Maria Lopez born 1975-07-30 to December 4",
          "postpone that appointment to next week Wednesday",
          "rebook Ana Ruiz with Dr. Okafor on Dec 2 instead",
      ])
def reschedule_appointment(ctx: ActionContext, date: dt.date,
                           patient_name: OptionalPatientName = None,
                           part_of_day: PartOfDay | None = None, time: dt.time | None = None,
                           practitioner: OptionalPractitioner = None,
                           from_date: dt.date | None = None,
                           birth_date: dt.date | None = None,
                           appointment_id: AppointmentId = None,
                           patient_id: PatientId = None) -> Change:
    """Move a booked appointment to another day or time; the old slot is freed.

    Args:
        date: The new day.
        patient_name: The patient's full name, or 'me' for yourself.
        part_of_day: morning, afternoon or evening on the new day.
        time: The exact new start time.
        practitioner: A different practitioner (default: the same one).
        from_date: The day of the appointment being moved, if the patient has several.
        birth_date: The patient's date of birth, if several share the name.
        appointment_id: The appointment, if already known.
        patient_id: The patient record, if already known.
    """
    name = "healthcare.reschedule_appointment"
    store = store_of(ctx, name)
    _check_not_past(name, ctx, date, time)
    zone = _zone(ctx)
    with fhir_errors(name):
        patient = None if appointment_id else resolve_patient(
            store, ctx, name, patient_name=patient_name, birth_date=birth_date,
            patient_id=patient_id)
        appointment = _find_appointment(name, ctx, store, appointment_id=appointment_id,
                                        patient=patient, day=from_date)
        doctor_ref = next((r for r in _actors(appointment) if r.startswith("Practitioner/")),
                          "")
        doctor = resolve_practitioner(store, name, practitioner or doctor_ref)
        new_slot = _pick_slot(name, ctx, store, doctor, date, part_of_day, time)
        old_slot = _slot_of(store, appointment)
    moved = {**appointment, "start": new_slot["start"], "end": new_slot["end"],
             "slot": [{"reference": f"Slot/{new_slot['id']}"}],
             "participant": [p if not str((p.get("actor") or {}).get("reference", ""))
                             .startswith("Practitioner/") else
                             {**p, "actor": {"reference": doctor.reference,
                                             "display": doctor.display}}
                             for p in appointment.get("participant", [])]}
    writes = [_update(ctx, new_slot, {**new_slot, "status": "busy"}),
              _update(ctx, appointment, moved)]
    if old_slot is not None:
        writes.append(_update(ctx, old_slot, {**old_slot, "status": "free"}))
    old_when = local_start(appointment, zone) if appointment.get("start") else None
    when = slot_label(new_slot, zone)
    today = _now(ctx).date()
    span = plain_span(new_slot, zone, today)
    was = plain_span(appointment, zone, today) if appointment.get("start") else ""
    if patient is None:
        with fhir_errors(name):
            patient = _patient_of(store, appointment)
    return Change(
        action=f"Move Appointment/{appointment['id']} to {doctor.display} on {when}.",
        headline=(f"Move {_their_appointment(ctx, patient)}"
                  + (f" from **{was}**" if was else "")
                  + f" to **{span}** with **{doctor.display}**"),
        effects=(f"{doctor.display}'s slot on {span} becomes busy.",
                 *([f"The old slot ({was}) is free again for others."]
                   if old_slot is not None and was else [])),
        confirm_label="Move it", decline_label="Don't move",
        writes=writes,
        summary=("Moved the appointment" + (f" of {old_when:%a %d %b %H:%M}" if old_when
                                              else "") + f" to {doctor.display} on {when}."),
        data={"appointment_id": appointment["id"], "slot_id": new_slot["id"],
              "start": local_start(new_slot, zone).isoformat(),
              "practitioner": doctor.display},
        refs=[Ref(type="Appointment", id=appointment["id"], display=when)])


# ---- cancel_appointment ------------------------------------------------------------------------


@tool(risk="write", scopes=["patient/Appointment.ru"], consumes=["Appointment"],
      reconcile=fhir_reconciler("healthcare.cancel_appointment", "Appointment", "Slot"),
      compensate=fhir_compensation("healthcare.cancel_appointment"),
      apply=fhir_transaction("healthcare.cancel_appointment", conflict=(
          "The appointment or its slot changed after you saw it; nothing was cancelled.")),
      examples=[
          "cancel Ana Ruiz's appointment on Tuesday",
          "please cancel my appointment, I'm travelling",
          "Omar Haddad can't make it on December 2, cancel it",
          "call off that appointment, reason: patient is sick",
          "cancel the visit for Maria Lopez born 1992-11-02",
          "drop Ana Ruiz's booking with Dr. Lee",
      ])
def cancel_appointment(ctx: ActionContext, patient_name: OptionalPatientName = None,
                       date: dt.date | None = None, reason: str = "",
                       birth_date: dt.date | None = None, appointment_id: AppointmentId = None,
                       patient_id: PatientId = None) -> Change:
    """Cancel a booked appointment (with a reason); its slot becomes free again.

    Args:
        patient_name: The patient's full name, or 'me' for yourself.
        date: The day of the appointment, if the patient has several.
        reason: Why it is cancelled.
        birth_date: The patient's date of birth, if several share the name.
        appointment_id: The appointment, if already known.
        patient_id: The patient record, if already known.
    """
    name = "healthcare.cancel_appointment"
    store = store_of(ctx, name)
    with fhir_errors(name):
        patient = None if appointment_id else resolve_patient(
            store, ctx, name, patient_name=patient_name, birth_date=birth_date,
            patient_id=patient_id)
        appointment = _find_appointment(name, ctx, store, appointment_id=appointment_id,
                                        patient=patient, day=date)
        if appointment.get("status") == "cancelled":
            raise ToolError(name, "That appointment is already cancelled.")
        slot = _slot_of(store, appointment)
    text = reason.strip() or "Cancelled at the patient's request"
    cancelled = {**appointment, "status": "cancelled",
                 **cancellation(store.fhir_version, text)}
    writes = [_update(ctx, appointment, cancelled)]
    if slot is not None:
        writes.append(_update(ctx, slot, {**slot, "status": "free"}))
    when = slot_label(appointment, _zone(ctx)) if appointment.get("start") else "(no time)"
    span = (plain_span(appointment, _zone(ctx), _now(ctx).date())
            if appointment.get("start") else "(no time)")
    if patient is None:
        with fhir_errors(name):
            patient = _patient_of(store, appointment)
    return Change(
        action=f"Cancel Appointment/{appointment['id']} ({when}) and free its slot.",
        headline=(f"Cancel {_their_appointment(ctx, patient)} with "
                  f"**{_appointment_doctor(appointment)}** on **{span}**"),
        effects=(f"The appointment is marked cancelled, reason: {text}.",
                 *(["Its slot is free again for others."] if slot is not None else [])),
        confirm_label="Cancel the appointment", decline_label="Keep it",
        writes=writes,
        summary=f"Cancelled the appointment with {_appointment_doctor(appointment)} on {when}; "
                "the slot is free again.",
        data={"appointment_id": appointment["id"], "status": "cancelled"},
        refs=[Ref(type="Appointment", id=appointment["id"], display=when)])


# ---- list_appointments -------------------------------------------------------------------------


@tool(scopes=["patient/Appointment.rs"], consumes=["Patient"], produces="Appointment",
      examples=[
          "what appointments does Ana Ruiz have coming up",
          "show my upcoming appointments",
          "list Omar Haddad's bookings",
          "when is my next visit",
          "does Maria Lopez born 1975-07-30 have anything scheduled next week",
      ])
def list_appointments(ctx: ActionContext, patient_name: OptionalPatientName = None,
                      from_date: dt.date | None = None, to_date: dt.date | None = None,
                      birth_date: dt.date | None = None,
                      patient_id: PatientId = None,
                      practitioner: str | None = None) -> ActionResult:
    """List a patient's upcoming booked appointments, or a practitioner's.

    A clinician linked to a practitioner record (``links.practitioner``) who asks for "my
    appointments" gets their own schedule; staff may name a practitioner ("Dr. Lee's
    appointments on Friday"). Patients see only their own.

    Args:
        patient_name: The patient's full name, or 'me' for yourself.
        from_date: The first day to include (default today).
        to_date: The last day to include.
        birth_date: The patient's date of birth, if several share the name.
        patient_id: The patient record, if already known.
        practitioner: The practitioner whose appointments to list, e.g. Dr. Lee.
    """
    name = "healthcare.list_appointments"
    store = store_of(ctx, name)
    zone = _zone(ctx)
    with fhir_errors(name):
        since = dt.datetime.combine(from_date, dt.time(0), zone) if from_date else _now(ctx)
        dates = [f"ge{since.isoformat()}"]
        if to_date:
            until = dt.datetime.combine(to_date + dt.timedelta(days=1), dt.time(0), zone)
            dates.append(f"lt{until.isoformat()}")
        doctor = _schedule_owner(ctx, store, name, practitioner=practitioner,
                                 patient_name=patient_name, patient_id=patient_id)
        if doctor is not None:
            return _practitioner_appointments(ctx, store, doctor, dates)
        patient = resolve_patient(store, ctx, name, patient_name=patient_name,
                                  birth_date=birth_date, patient_id=patient_id)
        found = store.search("Appointment", {"patient": f"Patient/{patient['id']}",
                                             "status": "booked", "date": dates})
    found.sort(key=lambda a: str(a.get("start")))
    rows = [_appointment_data(a, zone) for a in found]
    who = _who(ctx, patient)
    if not rows:
        summary = f"No upcoming appointments for {who}."
    else:
        listing = "; ".join(f"{slot_label(a, zone)} with {r['practitioner']}"
                            for a, r in zip(found[:10], rows[:10], strict=True))
        summary = f"{len(rows)} upcoming appointment(s) for {who}: {listing}."
    return ActionResult(summary=summary,
                        data={"patient": {"id": patient["id"],
                                          "name": patient_display(patient)},
                              "count": len(rows), "appointments": rows},
                        refs=[Ref(type="Appointment", id=r["id"]) for r in rows[:1]]
                        + [_patient_ref(patient)])


def _schedule_owner(ctx: ActionContext, store: FHIRStore, tool_name: str, *,
                    practitioner: str | None, patient_name: str | None,
                    patient_id: str | None) -> PractitionerInfo | None:
    """The practitioner whose schedule is asked for, or ``None`` for a patient's appointments:
    a named practitioner (staff only), or the user's own record when a clinician linked to
    one says "my appointments" (or names no patient)."""
    if practitioner:
        if is_self_service(ctx):
            raise ToolError(tool_name, "You can only see your own appointments.")
        return resolve_practitioner(store, tool_name, practitioner)
    linked = ctx.user_config.links.get("practitioner") if ctx.user_config else None
    own = patient_id is None and (patient_name is None
                                  or patient_name.strip().lower() in SELF_WORDS)
    if linked and own and linked_patient_id(ctx) is None:
        return resolve_practitioner(store, tool_name, str(linked))
    return None


def _practitioner_appointments(ctx: ActionContext, store: FHIRStore, doctor: PractitionerInfo,
                               dates: list[str]) -> ActionResult:
    zone = _zone(ctx)
    found = store.search("Appointment", {"practitioner": f"Practitioner/{doctor.id}",
                                         "status": "booked", "date": dates})
    found.sort(key=lambda a: str(a.get("start")))
    rows = []
    for appointment in found:
        row = _appointment_data(appointment, zone)
        patient_ref = next((r for r in _actors(appointment) if r.startswith("Patient/")), "")
        try:
            row["patient"] = patient_display(store.read("Patient", patient_ref.split("/")[-1]))
        except ResourceNotFound:
            row["patient"] = ""
        rows.append(row)
    if not rows:
        summary = f"No upcoming appointments for {doctor.display}."
    else:
        listing = "; ".join(f"{slot_label(a, zone)} with {r['patient'] or 'a patient'}"
                            for a, r in zip(found[:10], rows[:10], strict=True))
        summary = f"{len(rows)} upcoming appointment(s) for {doctor.display}: {listing}."
    return ActionResult(summary=summary,
                        data={"practitioner": {"id": doctor.id, "name": doctor.display},
                              "count": len(rows), "appointments": rows},
                        refs=[Ref(type="Appointment", id=r["id"]) for r in rows[:1]]
                        + [Ref(type="Practitioner", id=doctor.id, display=doctor.display)])


# ---- check_coverage ----------------------------------------------------------------------------


@tool(scopes=["patient/Coverage.rs"], consumes=["Patient"], examples=[
    "is Ana Ruiz's insurance active",
    "check coverage for Omar Haddad on December 10",
    "does my insurance cover a visit next week",
    "verify Maria Lopez born 1992-11-02 is covered by Maple Mutual",
    "eligibility check for Ana Ruiz with Bluebird Health Plan",
])
def check_coverage(ctx: ActionContext, patient_name: OptionalPatientName = None,
                   date: dt.date | None = None, payer: str | None = None,
                   birth_date: dt.date | None = None,
                   patient_id: PatientId = None) -> ActionResult:
    """Check whether a patient has active insurance coverage on a date (and with which payer).

    Args:
        patient_name: The patient's full name, or 'me' for yourself.
        date: The day the coverage must be valid (default today).
        payer: The insurer, e.g. Bluebird Health Plan.
        birth_date: The patient's date of birth, if several share the name.
        patient_id: The patient record, if already known.
    """
    from .shapes import payer_reference

    name = "healthcare.check_coverage"
    store = store_of(ctx, name)
    day = date or _now(ctx).date()
    with fhir_errors(name):
        patient = resolve_patient(store, ctx, name, patient_name=patient_name,
                                  birth_date=birth_date, patient_id=patient_id)
        coverages = store.search("Coverage", {"beneficiary": f"Patient/{patient['id']}",
                                              "status": "active"})
    who = _who(ctx, patient)
    valid = []
    for coverage in coverages:
        period = coverage.get("period") or {}
        starts = period.get("start", "0000")[:10]
        ends = period.get("end", "9999")[:10]
        payer_name = str(payer_reference(coverage).get("display", ""))
        if not starts <= day.isoformat() <= ends:
            continue
        if payer and payer.lower().split()[0] not in payer_name.lower():
            continue
        valid.append((coverage, payer_name))
    if not valid:
        with_payer = f" with {payer}" if payer else ""
        return ActionResult(summary=f"No active coverage{with_payer} for {who} on "
                                    f"{day:%d %b %Y}. Self-pay rates apply unless they bring "
                                    "new insurance details.",
                            data={"covered": False, "date": day.isoformat()})
    coverage, payer_name = valid[0]
    member = next((i.get("value") for i in coverage.get("identifier", []) or []), "")
    return ActionResult(summary=f"{who[0].upper() + who[1:]} {'are' if who == 'you' else 'is'} "
                                f"covered by {payer_name} on {day:%d %b %Y}.",
                        data={"covered": True, "date": day.isoformat(), "payer": payer_name,
                              "member_id": member,
                              "period_end": (coverage.get("period") or {}).get("end", "")},
                        refs=[Ref(type="Coverage", id=coverage["id"])])


# ---- create_referral ---------------------------------------------------------------------------


def _concept(version: str, system: str, code: str, display: str) -> dict[str, Any]:
    concept = {"coding": [{"system": system, "code": code, "display": display}]}
    return concept if version == "R4B" else {"concept": concept}


@tool(risk="write", scopes=["user/ServiceRequest.c"], consumes=["Patient"],
      produces="ServiceRequest",
      reconcile=fhir_reconciler("healthcare.create_referral", "ServiceRequest"),
      compensate=fhir_compensation("healthcare.create_referral"),
      apply=fhir_transaction("healthcare.create_referral", conflict=(
          "The referral could not be written as shown; nothing was written.")),
      examples=[
          "refer Ana Ruiz to dermatology for a mole check",
          "create an urgent cardiology referral for Omar Haddad, reason: palpitations",
          "send a referral to pediatrics for Maria Lopez born 1992-11-02",
          "I want to refer this patient to cardiology",
          "referral to dermatology for Ana Ruiz, routine, eczema follow-up",
      ])
def create_referral(ctx: ActionContext, specialty: Specialty, reason: str,
                    patient_name: OptionalPatientName = None, priority: Priority = "routine",
                    birth_date: dt.date | None = None,
                    patient_id: PatientId = None) -> Change:
    """Create a referral (ServiceRequest) of a patient to a specialty.

    Args:
        specialty: The specialty referred to: family medicine, pediatrics, dermatology or
            cardiology.
        reason: Why the patient is referred, as the referring clinician wrote it.
        patient_name: The patient's full name.
        priority: routine, urgent, asap or stat.
        birth_date: The patient's date of birth, if several share the name.
        patient_id: The patient record, if already known.
    """
    name = "healthcare.create_referral"
    store = store_of(ctx, name)
    if not reason.strip():
        raise ToolError(name, "A referral needs a reason.", field="reason")
    with fhir_errors(name):
        patient = resolve_patient(store, ctx, name, patient_name=patient_name,
                                  birth_date=birth_date, patient_id=patient_id)
    code, display = SPECIALTIES[specialty]
    request_id = new_id("sr", ctx)
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": request_id, "status": "active",
        "intent": "order", "priority": priority,
        "code": _concept(store.fhir_version, SNOMED, "3457005", "Patient referral"),
        "performerType": {"coding": [{"system": SNOMED, "code": code, "display": display}],
                          "text": specialty},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "authoredOn": _now(ctx).isoformat(timespec="seconds"),
        **reason_shape(store.fhir_version, reason.strip()),
    }
    practitioner = ctx.user_config.links.get("practitioner") if ctx.user_config else None
    if practitioner:
        request["requester"] = {"reference": practitioner}
    return Change(
        action=f"Refer Patient/{patient['id']} to {specialty} ({priority}).",
        writes=[_create(ctx, request)],
        summary=f"Referred {_who(ctx, patient)} to {specialty} ({priority}).",
        data={"service_request_id": request_id, "specialty": specialty,
              "priority": priority},
        refs=[Ref(type="ServiceRequest", id=request_id, display=f"referral to {specialty}")])


# ---- send_reminder -----------------------------------------------------------------------------


@tool(risk="irreversible", scopes=["user/Communication.c", "user/Appointment.rs"],
      consumes=["Appointment"],
      reconcile=fhir_reconciler("healthcare.send_reminder", "Communication"),
      apply=fhir_transaction("healthcare.send_reminder", conflict=(
          "The reminder could not be recorded as shown; nothing was sent.")),
      examples=[
          "send Ana Ruiz a reminder about her appointment",
          "text Omar Haddad a reminder for Tuesday's visit",
          "email a reminder to Maria Lopez born 1975-07-30",
          "remind Ana Ruiz of her appointment on December 1 by phone",
          "send an SMS reminder for that appointment",
      ])
def send_reminder(ctx: ActionContext, patient_name: OptionalPatientName = None,
                  date: dt.date | None = None, channel: Channel = "sms",
                  birth_date: dt.date | None = None, appointment_id: AppointmentId = None,
                  patient_id: PatientId = None) -> Change:
    """Send a patient a reminder of an upcoming appointment (SMS, e-mail or phone call).

    Args:
        patient_name: The patient's full name.
        date: The day of the appointment, if the patient has several.
        channel: sms, email or phone.
        birth_date: The patient's date of birth, if several share the name.
        appointment_id: The appointment, if already known.
        patient_id: The patient record, if already known.
    """
    name = "healthcare.send_reminder"
    store = store_of(ctx, name)
    with fhir_errors(name):
        patient = resolve_patient(store, ctx, name, patient_name=patient_name,
                                  birth_date=birth_date, patient_id=patient_id) \
            if not appointment_id else None
        appointment = _find_appointment(name, ctx, store, appointment_id=appointment_id,
                                        patient=patient, day=date)
        if patient is None:
            pid = next(r for r in _actors(appointment) if r.startswith("Patient/"))
            patient = store.read("Patient", pid.split("/", 1)[1])
    code, display, system = _CHANNEL_MEDIUM[channel]
    if not any(t.get("system") == system for t in patient.get("telecom", []) or []):
        raise ToolError(name, f"There is no {system} on file for this patient; add one with "
                              "update_patient_contact first.", field="channel")
    when = slot_label(appointment, _zone(ctx))
    text = (f"Reminder: you have an appointment with {_appointment_doctor(appointment)} on "
            f"{when} at {ctx.config.institution.name}. Reply or call to change it.")
    communication_id = new_id("comm", ctx)
    communication = {
        "resourceType": "Communication", "id": communication_id, "status": "completed",
        "subject": {"reference": f"Patient/{patient['id']}"},
        "recipient": [{"reference": f"Patient/{patient['id']}"}],
        "about": [{"reference": f"Appointment/{appointment['id']}"}],
        "medium": [{"coding": [{"system": MEDIUM_SYSTEM, "code": code, "display": display}]}],
        "sent": _now(ctx).isoformat(timespec="seconds"),
        "payload": communication_payload(store.fhir_version, text),
    }
    return Change(
        action=f"Send an {display} reminder for Appointment/{appointment['id']} ({when}).",
        writes=[_create(ctx, communication)],
        summary=f"Sent {_who(ctx, patient)} an {display} reminder for {when}.",
        data={"communication_id": communication_id, "channel": channel},
        refs=[Ref(type="Communication", id=communication_id)])


TOOLS = (find_patient, register_patient, update_patient_contact, find_available_slots,
         book_appointment, reschedule_appointment, cancel_appointment, list_appointments,
         check_coverage, create_referral, send_reminder)
