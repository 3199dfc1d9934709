"""lamworks audit entries as FHIR AuditEvent resources (validated with fhir.resources).

:func:`audit_events` maps each :class:`lamworks.audit.AuditEntry` to an R4B AuditEvent:
``type`` is DICOM "Application Activity" for tool steps (``rest`` for healthcare tools that
touch FHIR), ``action`` C/R/U/D/E from the tool's verb, ``outcome`` 0 (success), 4 (minor
failure: denied or cancelled) or 8 (serious failure), the agent is the acting user with their
role, ``entity`` records the FHIR references the step produced and the hash-chain position.
Arguments are not exported: they may hold PHI, and the audit log already redacts what policies
asked for. The CLI's ``lamworks audit export --format fhir`` writes these as NDJSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from lamworks.audit import AuditEntry

from .validation import FHIRVersion, validate_resource

__all__ = ["audit_event", "audit_events", "to_ndjson"]

_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_REST = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_ACTIONS = (("register", "C"), ("create", "C"), ("book", "C"), ("send", "C"),
            ("update", "U"), ("reschedule", "U"), ("cancel", "U"), ("delete", "D"),
            ("find", "R"), ("list", "R"), ("check", "R"))
_FAILED = {"failed": "8", "denied": "4", "cancelled": "4", "abandoned": "4"}


def _action(tool: str) -> str:
    verb = tool.rsplit(".", 1)[-1]
    return next((code for prefix, code in _ACTIONS if verb.startswith(prefix)), "E")


def _recorded(ts: str) -> str:
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def audit_event(entry: AuditEntry, *, source: str = "lamworks",
                fhir_version: FHIRVersion = "R4B") -> dict[str, Any]:
    """One AuditEvent (a JSON dict) for one audit row; raises if it would not validate."""
    outcome = _FAILED.get(entry.outcome, "0")
    refs = [r for r in entry.detail.get("refs", []) if isinstance(r, str) and "/" in r]
    subtype = {"system": "urn:lamworks:audit-event", "code": entry.event}
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"lamworks-{entry.seq}",
        "type": ({"system": _REST, "code": "rest", "display": "RESTful Operation"}
                 if entry.tool.startswith("healthcare.") else
                 {"system": _DCM, "code": "110100", "display": "Application Activity"}),
        "subtype": [subtype],
        "action": _action(entry.tool),
        "recorded": _recorded(entry.ts),
        "outcome": outcome,
        "agent": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                           "extra-security-role-type",
                                 "code": "humanuser", "display": "human user"}]},
            "who": {"identifier": {"system": "urn:lamworks:user", "value": entry.actor}},
            "role": [{"text": entry.role}],
            "requestor": True,
        }],
        "source": {"observer": {"display": source},
                   "type": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                       "security-source-type", "code": "4",
                             "display": "Application Server"}]},
        "entity": [
            {"what": {"identifier": {"system": "urn:lamworks:audit-chain",
                                     "value": f"{entry.seq}:{entry.hash}"}},
             "name": entry.tool,
             "detail": [{"type": "session", "valueString": entry.session_id},
                        {"type": "step", "valueString": entry.step_id},
                        {"type": "outcome", "valueString": entry.outcome}]},
            *({"what": {"reference": ref}} for ref in refs),
        ],
    }
    if outcome != "0":
        reason = entry.detail.get("reason") or entry.detail.get("error") or entry.outcome
        event["outcomeDesc"] = str(reason)[:500]
    validate_resource(event, fhir_version)
    return event


def audit_events(entries: Iterable[AuditEntry], *, source: str = "lamworks"
                 ) -> Iterator[dict[str, Any]]:
    """AuditEvent resources for audit rows, in order (R4B, each validated)."""
    for entry in entries:
        yield audit_event(entry, source=source)


def to_ndjson(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """NDJSON lines, one AuditEvent per line (what ``audit export --format fhir`` prints)."""
    for event in audit_events(entries):
        yield json.dumps(event, separators=(",", ":"), ensure_ascii=False)
