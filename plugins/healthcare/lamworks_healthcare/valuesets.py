"""The value sets we enforce: fhir.resources checks structure, not codes.

The frozensets list the codes allowed for one element. :func:`check_codes` walks a resource
and raises :class:`~lamworks_healthcare.errors.InvalidResource` for the first code outside its
set; both stores call it before every write, so nothing with a bogus status reaches the data.

Statuses come from the FHIR R4B required bindings; specialties are SNOMED CT practice-setting
codes; service types are this clinic's own small code system.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .errors import InvalidResource

__all__ = [
    "APPOINTMENT_STATUS",
    "GENDER",
    "SERVICE_TYPES",
    "SERVICE_TYPE_SYSTEM",
    "SLOT_STATUS",
    "SNOMED",
    "SPECIALTIES",
    "check_codes",
    "specialty_code",
]

SNOMED = "http://snomed.info/sct"
SERVICE_TYPE_SYSTEM = "urn:lamworks:clinic:service-type"
MEDIUM_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"

APPOINTMENT_STATUS = frozenset({"proposed", "pending", "booked", "arrived", "fulfilled",
                                "cancelled", "noshow", "entered-in-error", "checked-in",
                                "waitlist"})
SLOT_STATUS = frozenset({"busy", "free", "busy-unavailable", "busy-tentative",
                         "entered-in-error"})
GENDER = frozenset({"male", "female", "other", "unknown"})
PARTICIPATION_STATUS = frozenset({"accepted", "declined", "tentative", "needs-action"})
COVERAGE_STATUS = frozenset({"active", "cancelled", "draft", "entered-in-error"})
REQUEST_STATUS = frozenset({"draft", "active", "on-hold", "revoked", "completed",
                            "entered-in-error", "unknown"})
REQUEST_INTENT = frozenset({"proposal", "plan", "directive", "order", "original-order",
                            "reflex-order", "filler-order", "instance-order", "option"})
REQUEST_PRIORITY = frozenset({"routine", "urgent", "asap", "stat"})
EVENT_STATUS = frozenset({"preparation", "in-progress", "not-done", "on-hold", "stopped",
                          "completed", "entered-in-error", "unknown"})
CONTACT_SYSTEM = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
CONTACT_USE = frozenset({"home", "work", "temp", "old", "mobile"})
SCHEDULE_ACTIVE = frozenset({True, False})

#: Specialty name (as people say it) -> SNOMED CT practice-setting code and display.
SPECIALTIES: Mapping[str, tuple[str, str]] = {
    "family medicine": ("419772000", "Family practice"),
    "pediatrics": ("394537008", "Paediatric specialty"),
    "dermatology": ("394582007", "Dermatology"),
    "cardiology": ("394579002", "Cardiology"),
}
#: Service type code -> display, in this clinic's own code system.
SERVICE_TYPES: Mapping[str, str] = {
    "new-patient": "New patient visit",
    "follow-up": "Follow-up visit",
    "check-up": "Annual check-up",
    "vaccination": "Vaccination",
    "skin-check": "Skin check",
    "heart-check": "Heart check",
}
_SPECIALTY_CODES = frozenset(code for code, _ in SPECIALTIES.values())
MEDIUM = frozenset({"SMSWRIT", "EMAILWRIT", "PHONE"})


def specialty_code(name: str) -> tuple[str, str]:
    """The SNOMED code and display of a specialty name; ``KeyError`` when unknown."""
    return SPECIALTIES[name.strip().lower()]


# resource type -> {top-level element: allowed values}
_STATUS_FIELDS: Mapping[str, Mapping[str, frozenset[Any]]] = {
    "Appointment": {"status": APPOINTMENT_STATUS},
    "Slot": {"status": SLOT_STATUS},
    "Patient": {"gender": GENDER},
    "Practitioner": {"gender": GENDER},
    "Coverage": {"status": COVERAGE_STATUS},
    "ServiceRequest": {"status": REQUEST_STATUS, "intent": REQUEST_INTENT,
                       "priority": REQUEST_PRIORITY},
    "Communication": {"status": EVENT_STATUS, "priority": REQUEST_PRIORITY},
}
# system -> allowed codes, checked wherever a Coding with that system appears
# (Specialty and medium bindings are only "preferred" in FHIR, so the stores accept other codes
# from real-world data; the tools only ever write codes from SPECIALTIES and MEDIUM.)
_SYSTEM_CODES: Mapping[str, frozenset[str]] = {
    SERVICE_TYPE_SYSTEM: frozenset(SERVICE_TYPES),
}


def _fail(rtype: str, path: str, value: Any) -> InvalidResource:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return InvalidResource(f"{rtype}.{path}: {shown} is not an allowed code here")


def _allowed(value: Any, codes: Collection[str]) -> bool:
    # A code is a string; anything else (a list, an object) is never an allowed code.
    return isinstance(value, str) and value in codes


def check_codes(resource: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidResource` for the first code outside its value set.

    Only codes are checked here, wherever the resource has the expected shape; an element of
    the wrong shape (a status that is an object, telecom that is not a list) is left to the
    fhir.resources validation, which names it."""
    rtype = str(resource.get("resourceType", ""))
    for element, allowed in _STATUS_FIELDS.get(rtype, {}).items():
        if element in resource and not _allowed(resource[element], allowed):
            raise _fail(rtype, element, resource[element])
    for contact_path, contacts in _contacts(resource):
        for index, point in enumerate(contacts):
            if not isinstance(point, dict):
                continue
            if "system" in point and not _allowed(point["system"], CONTACT_SYSTEM):
                raise _fail(rtype, f"{contact_path}[{index}].system", point["system"])
            if "use" in point and not _allowed(point["use"], CONTACT_USE):
                raise _fail(rtype, f"{contact_path}[{index}].use", point["use"])
    participants = resource.get("participant")
    for index, participant in enumerate(participants if isinstance(participants, list) else []):
        status = participant.get("status") if isinstance(participant, dict) else None
        if (rtype == "Appointment" and status is not None
                and not _allowed(status, PARTICIPATION_STATUS)):
            raise _fail(rtype, f"participant[{index}].status", status)
    for key in ("serviceType",):
        for coding in _codings(resource.get(key)):
            codes = _SYSTEM_CODES.get(str(coding.get("system")))
            if codes is not None and not _allowed(coding.get("code"), codes):
                raise _fail(rtype, key, coding.get("code"))


def _contacts(resource: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    telecom = resource.get("telecom")
    return [("telecom", telecom if isinstance(telecom, list) else [])]


def _codings(value: Any) -> list[dict[str, Any]]:
    """Every Coding inside a CodeableConcept, a CodeableReference, or a list of either."""
    items = value if isinstance(value, list) else [value] if value else []
    codings: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        concept = item.get("concept", item)
        coding = concept.get("coding") if isinstance(concept, dict) else None
        if isinstance(coding, list):
            codings.extend(c for c in coding if isinstance(c, dict))
    return codings
