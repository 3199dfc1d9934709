"""What the audit log keeps of a step's arguments: the minimum necessary, for every tool.

One core rule, applied to every tool's arguments before they reach the audit log, the journal's
observers or the logs (:func:`audit_arguments`, called by
:func:`lamworks.executor.redacted_arguments`):

- **free text** — a string argument the planner reads as free text (kind ``text`` in
  :mod:`lamworks.planner.fields`: no enum, no format, no named choices, not a record reference,
  an entity, a number, a date, a title or a place) — is stored as a marker with its length and
  a short SHA-256, never its words: a question, an essay, a message, a note (a value that is
  only a date or a timestamp is kept);
- **identifiers** — arguments the planner reads as a person's name, an email or a phone number,
  and arguments named like a birth date, an address, an MRN, an SSN, a member number or a
  record ``identifier`` — are stored as ``"[redacted]"``;
- every string that is kept has emails, phone numbers, SSNs, MRN-like numbers and dates inside
  longer text replaced by ``"[redacted]"`` (a value that is only a date — an appointment's
  start — is kept);
- a plugin adds its own fields with ``@tool(redact=("field", ...))`` or, case by case, with a
  pre-stage policy's ``redact(...)`` decision (the healthcare plugin's ``phi_out_of_audit``).

The request stand-in (a refused request) and arguments of a tool no longer loaded are handled
without a schema: ``utterance`` and any string over :data:`FREE_TEXT_CHARS` characters are free
text. What does not live here: redaction of results (post-stage policies,
:func:`lamworks.policies.redact_data`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tools import Tool

__all__ = ["FREE_TEXT_CHARS", "REDACTED", "audit_arguments", "free_text_marker",
           "scrub_identifiers"]

REDACTED = "[redacted]"
FREE_TEXT_CHARS = 40
"""Without a schema, a string at least this long is taken for free text."""
_FREE_TEXT_NAMES = frozenset({"utterance", "text", "message", "body", "note", "notes",
                              "question", "answer", "comment", "description", "content"})
_IDENTIFIER_KINDS = frozenset({"person", "email", "phone"})
_IDENTIFIER_WORDS = frozenset({"birth", "dob", "born", "birthday", "birthdate", "address",
                               "street", "zip", "postcode", "mrn", "ssn", "identifier",
                               "member", "email", "phone", "mobile", "surname", "forename"})
_PERSON_NAME_WORDS = frozenset({"first", "last", "given", "family", "full", "middle", "maiden",
                                "person", "contact", "guardian", "parent"})
"""With ``name``: a person's name. No domain's record names here (the core knows no domain):
a plugin's ``patient_name`` is a person by the planner's reading of it, or listed in the
tool's ``redact``."""
_KEPT_KINDS = frozenset({"date", "datetime", "time", "duration", "integer", "number", "boolean",
                         "enum", "entity", "ref", "identifier", "title", "location"})

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_MRN = re.compile(r"\b(?:MRN|mrn)[-\s:#]*\d{3,}\b")
_PHONE = re.compile(r"(?<![\w-])(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
                    r"(?![\w-])")
_DATE = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|"
    r"\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?,?\s+\d{4}|"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r",?\s+\d{4})\b", re.IGNORECASE)
_ONLY_A_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                            r"(?:Z|[+-]\d{2}:?\d{2})?)?")


def free_text_marker(text: str) -> dict[str, Any]:
    """What the audit keeps of free text: that there was some, how long, and a short digest
    (an auditor holding the text can check it is the one submitted)."""
    return {"redacted": "free text", "chars": len(text),
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]}


def scrub_identifiers(text: str) -> str:
    """``text`` with emails, SSNs, MRN-like numbers, phone numbers and dates replaced by
    ``"[redacted]"``; a string that is only a date or a timestamp is returned as it is."""
    if _ONLY_A_MOMENT.fullmatch(text.strip()):
        return text
    for pattern in (_EMAIL, _SSN, _MRN, _PHONE, _DATE):
        text = pattern.sub(REDACTED, text)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_identifiers(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _name_words(name: str) -> set[str]:
    return set(re.split(r"[_\W]+", name.lower())) - {""}


def _names_an_identifier(name: str) -> bool:
    """A field named like a birth date, an address, a contact detail, a record number, or a
    person's name (``first_name``, ``contact_name``)."""
    words = _name_words(name)
    return bool(words & _IDENTIFIER_WORDS) or ("name" in words and bool(words & _PERSON_NAME_WORDS))


def _without_schema(name: str, value: Any) -> Any:
    if isinstance(value, str) and (name in _FREE_TEXT_NAMES or len(value) >= FREE_TEXT_CHARS):
        return free_text_marker(value)
    if _names_an_identifier(name):
        return REDACTED
    return _scrub(value)


def audit_arguments(arguments: dict[str, Any], tool: Tool | None,
                    hidden: Iterable[str] = ()) -> dict[str, Any]:
    """The arguments as the audit log stores them (see the module docstring). ``hidden``:
    top-level fields a policy or the tool asked to hide, stored as ``"[redacted]"``."""
    hidden = set(hidden) | set(getattr(tool, "redact", ()) or ())
    specs: dict[str, Any] = {}
    if tool is not None:
        from .planner.fields import field_specs

        try:
            specs = {spec.name: spec for spec in field_specs(tool)}
        except Exception:  # a schema the planner cannot read: treat as unknown, never fail
            specs = {}
    kept: dict[str, Any] = {}
    for name, value in arguments.items():
        if name in hidden:
            kept[name] = REDACTED
            continue
        if value is None or isinstance(value, bool | int | float) or value in ("", REDACTED):
            kept[name] = value
            continue
        spec = specs.get(name)
        if spec is None:
            kept[name] = _without_schema(name, value)
        elif spec.kind in _IDENTIFIER_KINDS or (
                _names_an_identifier(name) and spec.kind not in ("ref", "entity")):
            kept[name] = REDACTED
        elif spec.kind == "text" and not spec.options and not spec.enum \
                and isinstance(value, str) and not _ONLY_A_MOMENT.fullmatch(value.strip()):
            kept[name] = free_text_marker(value)
        elif spec.kind in _KEPT_KINDS or spec.options or spec.enum:
            kept[name] = _scrub(value)
        else:
            kept[name] = _without_schema(name, value)
    return kept
