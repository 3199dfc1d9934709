"""Slot extractors: practitioner and patient names found in an utterance, from the FHIR store.

The planner's slot filler uses them for arguments marked ``entity("Practitioner", ...)`` and
``entity("Patient", ...)``. Values are the canonical display names ("Dr. Lena Lee", "Ana Ruiz"),
which the tools resolve again, so a stale extractor can never book the wrong person.
"""

from __future__ import annotations

import re
from typing import Any

from lamworks import EntityMatch, SlotExtractor, Span

from .directory import patient_display, practitioners
from .errors import FHIRStoreError

__all__ = ["PATIENT_EXTRACTOR", "PRACTITIONER_EXTRACTOR", "find_patient_names",
           "find_practitioners"]

_TITLE = r"(?:dr\.?|doctor)\s+"


def _store(ctx: Any) -> Any:
    for holder in (ctx, getattr(ctx, "action", None)):
        services = getattr(holder, "services", None)
        if services and "fhir" in services:
            return services["fhir"]
    return None


def find_practitioners(utterance: str, ctx: Any) -> list[EntityMatch]:
    """"Dr. Lee", "doctor Okafor", "Lena Lee", "Dr Sam Marsh" -> the practitioner's name."""
    store = _store(ctx)
    if store is None:
        return []
    try:
        known = practitioners(store)
    except FHIRStoreError:
        return []
    matches: list[EntityMatch] = []
    for info in known:
        family = re.escape(info.family)
        given = re.escape(info.given)
        pattern = re.compile(
            rf"\b(?:{_TITLE}(?:{given}\s+)?{family}|{given}\s+{family}|{_TITLE}{given})\b"
            rf"(?:'s)?", re.I)
        for found in pattern.finditer(utterance):
            text = found.group(0).removesuffix("'s")
            matches.append(EntityMatch("Practitioner", info.display,
                                       Span(start=found.start(), end=found.start() + len(text),
                                            text=text)))
    return sorted(matches, key=lambda m: m.span.start)


def find_patient_names(utterance: str, ctx: Any) -> list[EntityMatch]:
    """Full names of registered patients ("Ana Ruiz", "ana ruiz's") found in the utterance."""
    store = _store(ctx)
    if store is None:
        return []
    try:
        patients = store.search("Patient", {})
    except FHIRStoreError:
        return []
    matches: list[EntityMatch] = []
    seen: set[tuple[int, int]] = set()
    for patient in patients:
        name = patient_display(patient)
        pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, name.split())) + r"\b", re.I)
        for found in pattern.finditer(utterance):
            if (found.start(), found.end()) in seen:
                continue
            seen.add((found.start(), found.end()))
            matches.append(EntityMatch("Patient", name, Span(
                start=found.start(), end=found.end(), text=found.group(0))))
    return sorted(matches, key=lambda m: m.span.start)


PRACTITIONER_EXTRACTOR = SlotExtractor(name="practitioners", entity_type="Practitioner",
                                       extract=find_practitioners, generic="the doctor")
PATIENT_EXTRACTOR = SlotExtractor(name="patients", entity_type="Patient",
                                  extract=find_patient_names, generic="someone")

