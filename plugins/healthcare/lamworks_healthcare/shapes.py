"""The few places where R4B and R5 resources differ in shape, for the elements we write.

Tools and the clinic generator build resources through these helpers, so one code path writes
valid resources in whichever release ``fhir_version`` selects.
"""

from __future__ import annotations

from typing import Any

from .validation import FHIRVersion

__all__ = ["cancellation", "communication_payload", "coverage_payer", "payer_reference",
           "payload_text", "reason", "service_types", "synthetic_meta"]

#: Every resource of the demo clinic is labelled as test data (HL7 v3 ActReason HTEST).
SYNTHETIC_TAG = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                 "code": "HTEST", "display": "test health data"}


def synthetic_meta() -> dict[str, Any]:
    return {"security": [dict(SYNTHETIC_TAG)]}


def service_types(version: FHIRVersion, concepts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``serviceType``: CodeableConcept in R4B, CodeableReference in R5."""
    return concepts if version == "R4B" else [{"concept": c} for c in concepts]


def reason(version: FHIRVersion, text: str) -> dict[str, Any]:
    """An Appointment's or ServiceRequest's free-text reason."""
    if version == "R4B":
        return {"reasonCode": [{"text": text}]}
    return {"reason": [{"concept": {"text": text}}]}


def cancellation(version: FHIRVersion, text: str) -> dict[str, Any]:
    key = "cancelationReason" if version == "R4B" else "cancellationReason"
    return {key: {"text": text}}


def coverage_payer(version: FHIRVersion, payer: dict[str, Any]) -> dict[str, Any]:
    if version == "R4B":
        return {"payor": [payer]}
    return {"insurer": payer, "kind": "insurance"}


def payer_reference(coverage: dict[str, Any]) -> dict[str, Any]:
    """The paying organisation of a Coverage in either release."""
    payors = coverage.get("payor") or []
    return dict(payors[0]) if payors else dict(coverage.get("insurer") or {})


def communication_payload(version: FHIRVersion, text: str) -> list[dict[str, Any]]:
    if version == "R4B":
        return [{"contentString": text}]
    return [{"contentCodeableConcept": {"text": text}}]


def payload_text(communication: dict[str, Any]) -> str:
    for payload in communication.get("payload", []) or []:
        if "contentString" in payload:
            return str(payload["contentString"])
        if "contentCodeableConcept" in payload:
            return str(payload["contentCodeableConcept"].get("text", ""))
    return ""
