"""Finding the people a request names: patients (name, birth date, identifier) and practitioners.

Lookups go through the :class:`~.store.FHIRStore` search API only. Error messages never echo
patient names, birth dates or identifiers (they end up in logs and the audit log); practitioner
names are staff directory data, not PHI, and are listed to help the user.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from lamworks import ActionContext, ToolError

from .store import FHIRStore

__all__ = ["PatientMatch", "PractitionerInfo", "SELF_WORDS", "linked_patient_id",
           "find_patients", "patient_display", "practitioners", "resolve_patient",
           "resolve_practitioner"]

SELF_WORDS = frozenset({"me", "myself", "my", "i", "mine", "self"})
_TITLE = re.compile(r"^\s*(dr\.?|doctor|doc)\s+", re.I)


def linked_patient_id(ctx: ActionContext) -> str | None:
    """The patient a self-service user is bound to (``links.patient``), as a bare id."""
    link = ctx.user_config.links.get("patient") if ctx.user_config else None
    return str(link).split("/", 1)[-1] if link else None


def is_self_service(ctx: ActionContext) -> bool:
    """True for a user bound to one patient whose role has only ``patient/`` scopes."""
    return linked_patient_id(ctx) is not None and all(
        s.context == "patient" for s in ctx.scopes)


def patient_display(patient: dict[str, Any]) -> str:
    name = (patient.get("name") or [{}])[0]
    given = " ".join(name.get("given", []) or [])
    return " ".join(part for part in (given, name.get("family", "")) if part) or "(no name)"


def _mrn(patient: dict[str, Any]) -> str:
    return next((str(i.get("value")) for i in patient.get("identifier", []) or []), "")


@dataclass(frozen=True)
class PatientMatch:
    """A patient found by a search, with the fields front-desk staff use to tell them apart."""

    resource: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.resource["id"])

    def as_data(self) -> dict[str, Any]:
        telecom = self.resource.get("telecom", []) or []
        address = (self.resource.get("address") or [{}])[0]
        return {
            "id": self.id, "name": patient_display(self.resource),
            "birth_date": self.resource.get("birthDate", ""), "mrn": _mrn(self.resource),
            "phone": next((t["value"] for t in telecom if t.get("system") == "phone"), ""),
            "email": next((t["value"] for t in telecom if t.get("system") == "email"), ""),
            "address": ", ".join([*address.get("line", []),
                                  *filter(None, [address.get("city")])]),
        }


def find_patients(store: FHIRStore, *, name: str | None = None,
                  birth_date: dt.date | None = None,
                  identifier: str | None = None) -> list[PatientMatch]:
    """Patients matching every criterion given (name words must all match given or family)."""
    params: dict[str, str | list[str]] = {}
    words = [w for w in re.split(r"[\s,]+", name or "") if w]
    if words:
        params["name"] = words
    if birth_date:
        params["birthdate"] = birth_date.isoformat()
    if identifier:
        params["identifier"] = identifier.strip()
    if not params:
        return []
    return [PatientMatch(p) for p in store.search("Patient", params)]


def resolve_patient(store: FHIRStore, ctx: ActionContext, tool: str, *,
                    patient_name: str | None = None, birth_date: dt.date | None = None,
                    patient_id: str | None = None) -> dict[str, Any]:
    """Exactly one patient, or a :class:`ToolError` that asks for what would disambiguate."""
    own = linked_patient_id(ctx) if is_self_service(ctx) else None
    if patient_id:
        wanted = patient_id.split("/", 1)[-1]
        if own is not None and wanted != own:
            raise ToolError(tool, "You can only see and change your own records.")
        return _read_patient(store, tool, wanted)
    if own is not None:
        patient = _read_patient(store, tool, own)
        if patient_name and patient_name.strip().lower() not in SELF_WORDS:
            if not _same_name(patient_name, patient):
                raise ToolError(tool, "You can only see and change your own records.")
        return patient
    if not patient_name or patient_name.strip().lower() in SELF_WORDS:
        raise ToolError(tool, "Which patient is this for? Please give their full name.",
                        field="patient_name")
    found = find_patients(store, name=patient_name, birth_date=birth_date)
    if not found:
        extra = " and birth date" if birth_date else ""
        raise ToolError(tool, f"No patient matches that name{extra}. Check the spelling, or "
                              "register them as a new patient.", field="patient_name")
    if len(found) > 1:
        raise ToolError(tool, f"{len(found)} patients match that name. Please add the birth "
                              "date (or use find_patient to see them).", field="birth_date")
    return found[0].resource


def _read_patient(store: FHIRStore, tool: str, pid: str) -> dict[str, Any]:
    from .errors import ResourceNotFound

    try:
        return store.read("Patient", pid)
    except ResourceNotFound:
        raise ToolError(tool, "That patient record does not exist.",
                        field="patient_id") from None


def _same_name(text: str, patient: dict[str, Any]) -> bool:
    words = {w.lower() for w in re.split(r"[\s,]+", text) if w}
    names = {w.lower() for w in patient_display(patient).split()}
    return bool(words) and words <= names


@dataclass(frozen=True)
class PractitionerInfo:
    """A practitioner with what people call them by and where their schedule is."""

    id: str
    display: str
    family: str
    given: str
    specialty: str
    schedule_id: str | None

    @property
    def reference(self) -> str:
        return f"Practitioner/{self.id}"


def practitioners(store: FHIRStore) -> list[PractitionerInfo]:
    """Every practitioner with a schedule, with their specialty (from the Schedule)."""
    schedules = {str(a.get("reference")): s for s in store.search("Schedule", {})
                 for a in s.get("actor", []) or []}
    found = []
    for resource in store.search("Practitioner", {}):
        name = (resource.get("name") or [{}])[0]
        ref = f"Practitioner/{resource['id']}"
        schedule = schedules.get(ref)
        specialty = ""
        if schedule:
            concept = (schedule.get("specialty") or [{}])[0]
            specialty = concept.get("text") or next(
                (c.get("display", "") for c in concept.get("coding", []) or []), "")
        given = " ".join(name.get("given", []) or [])
        family = str(name.get("family", ""))
        display = name.get("text") or f"Dr. {given} {family}".strip()
        found.append(PractitionerInfo(resource["id"], display, family, given, specialty,
                                      schedule["id"] if schedule else None))
    return found


def resolve_practitioner(store: FHIRStore, tool: str, text: str) -> PractitionerInfo:
    """The practitioner ``text`` names ("Dr. Lee", "lena lee", "pr-lee"), or a ToolError."""
    known = practitioners(store)
    wanted = _TITLE.sub("", text.strip()).strip().lower().split("/")[-1]
    words = set(wanted.replace(".", " ").split())
    for info in known:
        full = {info.family.lower(), *info.given.lower().split()}
        if wanted in (info.id.lower(), info.display.lower()) or (words and words <= full
                                                                and info.family.lower() in words):
            return info
    by_given = [i for i in known if words and words <= {*i.given.lower().split()}]
    if len(by_given) == 1:
        return by_given[0]
    listing = "; ".join(f"{i.display} ({i.specialty})" for i in known)
    raise ToolError(tool, f"I don't know a practitioner called {text.strip()!r}. "
                          f"Our practitioners: {listing}.", field="practitioner")
