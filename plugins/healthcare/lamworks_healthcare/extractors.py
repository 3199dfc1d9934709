"""Slot extractors: practitioner and patient names found in an utterance, from the FHIR store.

The planner's slot filler uses them for arguments marked ``entity("Practitioner", ...)`` and
``entity("Patient", ...)``. Values are the canonical display names ("Dr. Lena Lee", "Ana Ruiz"),
which the tools resolve again, so a stale extractor can never book the wrong person.

Neither reads every record per utterance: patients are looked up by the utterance's words with
targeted, indexed queries (the local store's term index, ``Patient?name=`` on a FHIR server),
practitioners come from a list kept current (see :mod:`.name_index`), so their cost follows the
utterance's length, not the number of patients. The planner calls them only for requests whose
likely tools take a patient or a practitioner.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from lamworks import EntityMatch, SlotExtractor, Span

from .errors import FHIRStoreError
from .name_index import names_of

__all__ = ["PATIENT_EXTRACTOR", "PRACTITIONER_EXTRACTOR", "find_patient_names",
           "find_practitioners"]

_TITLE = r"(?:dr\.?|doctor)\s+"


def _store(ctx: Any) -> Any:
    for holder in (ctx, getattr(ctx, "action", None)):
        services = getattr(holder, "services", None)
        if services and "fhir" in services:
            return services["fhir"]
    return None


@lru_cache(maxsize=1024)
def _practitioner_pattern(given: str, family: str) -> re.Pattern[str]:
    family, given = re.escape(family), re.escape(given)
    return re.compile(
        rf"\b(?:{_TITLE}(?:{given}\s+)?{family}|{given}\s+{family}|{_TITLE}{given})\b"
        rf"(?:'s)?", re.I)


def find_practitioners(utterance: str, ctx: Any) -> list[EntityMatch]:
    """"Dr. Lee", "doctor Okafor", "Lena Lee", "Dr Sam Marsh" -> the practitioner's name."""
    store = _store(ctx)
    if store is None:
        return []
    try:
        known = names_of(store).practitioner_list()
    except FHIRStoreError:
        return []
    matches: list[EntityMatch] = []
    for info in known:
        for found in _practitioner_pattern(info.given, info.family).finditer(utterance):
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
        return names_of(store).patients_in(utterance)
    except FHIRStoreError:
        return []


PRACTITIONER_EXTRACTOR = SlotExtractor(name="practitioners", entity_type="Practitioner",
                                       extract=find_practitioners, generic="the doctor")
PATIENT_EXTRACTOR = SlotExtractor(name="patients", entity_type="Patient",
                                  extract=find_patient_names, generic="someone")

