"""The synthetic clinic, the hooks' start-up, slot extractors, and FHIR AuditEvent export."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lamworks.audit import AuditLog
from lamworks_healthcare.audit_fhir import audit_events, to_ndjson
from lamworks_healthcare.clinic import generate_clinic
from lamworks_healthcare.extractors import find_patient_names, find_practitioners
from lamworks_healthcare.store_local import LocalFHIRStore
from lamworks_healthcare.validation import model_class, validate_resource

from .conftest import EXAMPLES


def test_clinic_is_deterministic_and_big_enough() -> None:
    first = generate_clinic(date(2026, 11, 24))
    assert first == generate_clinic(date(2026, 11, 24))
    kinds = Counter(r["resourceType"] for r in first)
    assert kinds["Practitioner"] >= 3 and kinds["Patient"] >= 50 and kinds["Coverage"] >= 50
    slots = [r for r in first if r["resourceType"] == "Slot"]
    assert {s["status"] for s in slots} == {"free", "busy"}
    assert min(s["start"] for s in slots) >= "2026-11-24"
    assert max(s["start"] for s in slots) < "2026-12-22T23"
    ana = next(r for r in first if r["id"] == "pat-0001")
    assert ana["name"][0] == {"use": "official", "family": "Ruiz", "given": ["Ana"]}
    assert all(r["meta"]["security"][0]["code"] == "HTEST" for r in first if "meta" in r)


@pytest.mark.parametrize("version", ["R4B", "R5"])
def test_clinic_validates_in_both_releases(version: Any, tmp_path: Path) -> None:
    store = LocalFHIRStore(tmp_path / "fhir.sqlite", fhir_version=version)
    store.load(generate_clinic(date(2026, 11, 24), days=3, patients=5, fhir_version=version))
    assert store.count("Practitioner") == 4
    store.close()


def test_hl7_examples_validate_as_r4b() -> None:
    for path in EXAMPLES.glob("*.json"):
        resource = json.loads(path.read_text(encoding="utf-8"))
        validate_resource(resource, "R4B")
        assert model_class(resource["resourceType"]).__module__.startswith("fhir.resources.R4B")


def test_startup_loads_the_clinic_and_publishes_the_store(runtime: Any) -> None:
    store = runtime.services["fhir"]
    assert store.read("Patient", "pat-0001")["birthDate"] == "1984-03-12"
    assert store.count("Slot") > 1000


def test_slot_extractors_find_practitioners_and_patients(runtime: Any) -> None:
    ctx = runtime.action_context("x", "frontdesk")
    text = "book Ana Ruiz with dr lee, or Doctor Okafor's 3pm"
    doctors = find_practitioners(text, ctx)
    assert [(m.value, m.span.text) for m in doctors] == [
        ("Dr. Lena Lee", "dr lee"), ("Dr. Priya Okafor", "Doctor Okafor")]
    patients = find_patient_names(text, ctx)
    assert [(m.value, m.span.start) for m in patients] == [("Ana Ruiz", 5)]


def test_audit_entries_export_as_valid_fhir_audit_events(runtime: Any, tmp_path: Path) -> None:
    runtime.handle("a1", "frontdesk", "find patient name=Omar Haddad")
    # Routed to a tool (the documents), so the advice rule screens it and refuses.
    runtime.handle("a2", "patient", "what dose of insulin should I take tonight?")
    entries = list(runtime.audit.entries())
    events = list(audit_events(entries))
    assert len(events) == len(entries) >= 2
    for event in events:
        model_class("AuditEvent").model_validate(event)
    assert events[0]["action"] == "R" and events[0]["outcome"] == "0"
    assert {"reference": "Patient/pat-0004"} in [e["what"] for e in events[0]["entity"]]
    refused = events[-1]
    assert refused["outcome"] == "4" and "clinician" in refused["outcomeDesc"]
    lines = list(to_ndjson(entries))
    assert json.loads(lines[0])["resourceType"] == "AuditEvent"
    assert "insulin" not in "\n".join(lines) and "Haddad" not in "\n".join(lines)
    assert isinstance(runtime.audit, AuditLog)
