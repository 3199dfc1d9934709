"""FHIR search parameters the tools use, evaluated in Python for the local store.

Only the parameters listed in :data:`SEARCH_PARAMETERS` are supported, with their FHIR meaning:
``token`` (``system|code`` or ``code``), ``string`` (case-insensitive prefix on any word, as FHIR's
default string search), ``reference`` (``Type/id`` or ``id``) and ``date`` (prefixes ``eq``,
``ge``, ``gt``, ``le``, ``lt``; date-only values compare by calendar day); on every type also
``_id`` and ``_tag`` (``system|code`` of ``meta.tag``: the key an action stamped). Several
values of one parameter (a list) must all match (AND); commas inside one value mean OR. The REST
store sends the same parameters to the server, so tools behave alike on both stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Literal

from .errors import FHIRStoreError

__all__ = ["SEARCH_PARAMETERS", "SearchParams", "matches"]

Kind = Literal["token", "string", "reference", "date"]
SearchParams = Mapping[str, str | list[str]]
Extract = Callable[[dict[str, Any]], Iterable[Any]]


def _get(*path: str) -> Extract:
    def extract(resource: dict[str, Any]) -> Iterable[Any]:
        nodes: list[Any] = [resource]
        for key in path:
            nxt: list[Any] = []
            for node in nodes:
                value = node.get(key) if isinstance(node, dict) else None
                if isinstance(value, list):
                    nxt.extend(value)
                elif value is not None:
                    nxt.append(value)
            nodes = nxt
        return nodes

    return extract


def _concepts(*path: str) -> Extract:
    """Codings of a CodeableConcept (R4B) or a CodeableReference's concept (R5)."""
    base = _get(*path)

    def extract(resource: dict[str, Any]) -> Iterable[Any]:
        out: list[Any] = []
        for node in base(resource):
            concept = node.get("concept", node) if isinstance(node, dict) else {}
            out.extend(concept.get("coding", []) or [])
        return out

    return extract


def _actors(prefix: str) -> Extract:
    base = _get("participant", "actor", "reference")
    return lambda r: [ref for ref in base(r) if str(ref).startswith(prefix)]


def _names(resource: dict[str, Any]) -> Iterable[Any]:
    out: list[str] = []
    for name in resource.get("name", []) or []:
        out.extend(name.get("given", []) or [])
        out.extend(filter(None, [name.get("family"), name.get("text")]))
    return out


SEARCH_PARAMETERS: Mapping[str, Mapping[str, tuple[Kind, Extract]]] = {
    "Patient": {
        "identifier": ("token", _get("identifier")),
        "name": ("string", _names),
        "family": ("string", _get("name", "family")),
        "given": ("string", _get("name", "given")),
        "birthdate": ("date", _get("birthDate")),
    },
    "Practitioner": {
        "identifier": ("token", _get("identifier")),
        "name": ("string", _names),
    },
    "Schedule": {
        "actor": ("reference", _get("actor", "reference")),
        "specialty": ("token", _concepts("specialty")),
        "service-type": ("token", _concepts("serviceType")),
        "active": ("token", _get("active")),
    },
    "Slot": {
        "schedule": ("reference", _get("schedule", "reference")),
        "status": ("token", _get("status")),
        "start": ("date", _get("start")),
        "specialty": ("token", _concepts("specialty")),
        "service-type": ("token", _concepts("serviceType")),
    },
    "Appointment": {
        "patient": ("reference", _actors("Patient/")),
        "practitioner": ("reference", _actors("Practitioner/")),
        "slot": ("reference", _get("slot", "reference")),
        "status": ("token", _get("status")),
        "date": ("date", _get("start")),
    },
    "Coverage": {
        "beneficiary": ("reference", _get("beneficiary", "reference")),
        "status": ("token", _get("status")),
        "identifier": ("token", _get("identifier")),
    },
    "ServiceRequest": {
        "subject": ("reference", _get("subject", "reference")),
        "status": ("token", _get("status")),
    },
    "Communication": {
        "subject": ("reference", _get("subject", "reference")),
        "status": ("token", _get("status")),
    },
    "AuditEvent": {},
}
_COMMON = frozenset({"_count", "_sort"})


def matches(resource: dict[str, Any], params: SearchParams) -> bool:
    """True when the resource satisfies every search parameter."""
    rtype = resource["resourceType"]
    known = SEARCH_PARAMETERS.get(rtype, {})
    for name, raw in params.items():
        if name in _COMMON:
            continue
        if name == "_id":
            values = raw if isinstance(raw, list) else [raw]
            if not all(resource.get("id") in v.split(",") for v in values):
                return False
            continue
        if name == "_tag":
            tags = list((resource.get("meta") or {}).get("tag", []) or [])
            if not all(any(_match_one("token", tags, alt) for alt in value.split(","))
                       for value in (raw if isinstance(raw, list) else [raw])):
                return False
            continue
        if name not in known:
            raise FHIRStoreError(f"search parameter {name!r} is not supported on {rtype}")
        kind, extract = known[name]
        found = list(extract(resource))
        for value in raw if isinstance(raw, list) else [raw]:
            if not any(_match_one(kind, found, alt) for alt in value.split(",")):
                return False
    return True


def _match_one(kind: Kind, found: list[Any], wanted: str) -> bool:
    if kind == "string":
        needle = wanted.strip().lower()
        return any(word.startswith(needle) or str(value).lower().startswith(needle)
                   for value in found for word in str(value).lower().split())
    if kind == "reference":
        return any(str(ref) == wanted or str(ref).rsplit("/", 1)[-1] == wanted
                   for ref in found)
    if kind == "token":
        system, _, code = wanted.rpartition("|") if "|" in wanted else ("", "", wanted)
        for item in found:
            if isinstance(item, dict):
                item_code = item.get("code", item.get("value"))
                if str(item_code) == code and (not system or item.get("system") == system):
                    return True
            elif str(item).lower() == code.lower():
                return True
        return False
    return any(_date_match(str(value), wanted) for value in found)


_PREFIXES = ("eq", "ne", "ge", "gt", "le", "lt")


def _date_match(value: str, wanted: str) -> bool:
    prefix = wanted[:2] if wanted[:2] in _PREFIXES else "eq"
    target = wanted[2:] if wanted[:2] in _PREFIXES else wanted
    if len(target) == 10 or len(value) == 10:
        left: date | datetime = date.fromisoformat(value[:10])
        right: date | datetime = date.fromisoformat(target[:10])
    else:
        left, right = _instant(value), _instant(target)
    return {
        "eq": left == right, "ne": left != right, "ge": left >= right,  # type: ignore[operator]
        "gt": left > right, "le": left <= right, "lt": left < right,  # type: ignore[operator]
    }[prefix]


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise FHIRStoreError("date searches with a time need a time-zone offset")
    return moment
