"""What kind of value each argument of a tool takes, read from the tool's JSON schema.

The slot filler works from the schema alone (not from Python types), so a tool declared from a
JSON schema — by a plugin, an MCP bridge or an evaluation harness — is filled exactly like one
declared from a Python signature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..tools import ENTITY_KEY, REF_KEY, Tool

__all__ = ["FieldSpec", "field_specs", "required_order"]

_LOCATION = {"city", "location", "destination", "origin", "area", "address", "place", "town",
             "venue", "country", "state", "region", "where", "airport", "station"}
_TEXT = {"reason", "note", "notes", "text", "message", "description", "comment", "query",
         "question", "topic", "subject", "content", "details", "body", "essay", "prompt",
         "answer", "request"}
_PERSON_HINTS = {"patient", "person", "student", "first", "last", "full", "contact", "guest",
                 "customer", "recipient", "attendee", "user", "client", "passenger"}


@dataclass(frozen=True)
class FieldSpec:
    """One argument as the slot filler sees it."""

    name: str
    kind: str
    """date, datetime, time, duration, integer, number, boolean, enum, email, phone, person,
    entity, ref, location, title (a named thing: a restaurant, a film), identifier (a record
    number such as MRN-000004), or text."""
    required: bool
    description: str = ""
    enum: tuple[Any, ...] = ()
    entity: str | None = None
    ref: str | None = None
    options: tuple[str, ...] = ()
    """For a free string whose description names its choices ("'argumentative' or 'ell'"):
    those names. They are matched like enum values; other values stay possible."""
    words: frozenset[str] = field(default_factory=frozenset)
    """Lower-case words of the name and description, the field's cues in an utterance."""
    default: Any = None


_OPTION_LIST = re.compile(r"['‘\"“]([^'’\"”]{2,40})['’\"”](?:\s*(?:,|or|,\s*or)\s*['‘\"“]"
                          r"([^'’\"”]{2,40})['’\"”])+")
_QUOTED = re.compile(r"['‘\"“]([^'’\"”]{2,40})['’\"”]")


def _options(description: str) -> tuple[str, ...]:
    """Names a description offers as alternatives: "'argumentative' or 'ell'" (two or more
    quoted names joined by "or" or commas; a lone "e.g. 'Unit 3 test'" is an example, not a
    choice)."""
    m = _OPTION_LIST.search(description)
    return tuple(_QUOTED.findall(m.group(0))) if m else ()


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 1)


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in prop:
        target = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
        return {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
    for key in ("anyOf", "oneOf"):
        if key in prop:
            options = [o for o in prop[key] if o.get("type") != "null"]
            if len(options) == 1:
                merged = {**_resolve(options[0], defs),
                          **{k: v for k, v in prop.items() if k != key}}
                return merged
            enums = [v for o in options for v in o.get("enum", [o.get("const")])
                     if v is not None]
            if enums and all(("enum" in o or "const" in o) for o in options):
                return {**{k: v for k, v in prop.items() if k != key}, "enum": enums}
    if "const" in prop and "enum" not in prop:
        return {**prop, "enum": [prop["const"]]}
    return prop


def _kind(name: str, prop: dict[str, Any]) -> str:
    if prop.get(REF_KEY):
        return "ref"
    if prop.get(ENTITY_KEY):
        return "entity"
    if "enum" in prop:
        return "enum"
    fmt = prop.get("format", "")
    typ = prop.get("type", "string")
    if fmt == "date":
        return "date"
    if fmt == "date-time":
        return "datetime"
    if fmt == "time":
        return "time"
    if fmt == "duration":
        return "duration"
    if fmt == "email" or "email" in name:
        return "email"
    if typ == "integer":
        return "integer"
    if typ == "number":
        return "number"
    if typ == "boolean":
        return "boolean"
    lowered = name.lower()
    parts = set(lowered.split("_"))
    if parts & {"phone", "telephone", "mobile", "cell"}:
        return "phone"
    if parts & {"identifier", "id", "mrn", "code", "reference", "ref", "number", "account"} \
            and not parts & {"name", "phone"}:
        return "identifier"
    if parts & {"date", "day", "birthdate", "dob"} and typ == "string":
        return "date"
    if "time" in parts and typ == "string":
        return "time"
    if parts & _LOCATION:
        return "location"
    if "name" in parts and (parts & _PERSON_HINTS or lowered == "name"):
        return "person"
    if parts & {"name", "title"}:
        return "title"
    if parts & _TEXT:
        return "text"
    return "text"


@lru_cache(maxsize=1024)
def field_specs(tool: Tool) -> tuple[FieldSpec, ...]:
    """The tool's arguments in declaration order, each with its kind and cue words."""
    schema = tool.json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    specs = []
    for name, raw in schema.get("properties", {}).items():
        prop = _resolve(raw, defs)
        description = str(prop.get("description") or raw.get("description") or "")
        kind = _kind(name, prop)
        specs.append(FieldSpec(
            name=name, kind=kind, required=name in required, description=description,
            enum=tuple(prop.get("enum", ())), entity=prop.get(ENTITY_KEY),
            options=_options(description) if kind in ("text", "title") else (),
            ref=prop.get(REF_KEY), words=_words(name.replace("_", " ") + " " + description),
            default=raw.get("default"),
        ))
    return tuple(specs)



@lru_cache(maxsize=1024)
def required_order(tool: Tool) -> tuple[str, ...]:
    """Required fields in the order the schema lists them (the order questions are asked)."""
    specs = {f.name for f in field_specs(tool) if f.required}
    listed = [n for n in tool.json_schema().get("required", []) if n in specs]
    return tuple(listed + [f.name for f in field_specs(tool)
                           if f.required and f.name not in listed])
