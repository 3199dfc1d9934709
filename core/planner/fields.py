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
from .lexicon import lexicon

__all__ = ["SYNONYMS_KEY", "TITLES_KEY", "FieldSpec", "field_specs", "required_order"]

SYNONYMS_KEY = "x-synonyms"
"""Schema key: phrases that mean a value. On an enum property, an object mapping each value to
its phrases (``{"sms": ["text message", "texting"]}``); on a boolean, a boolean-like enum or a
plain string, a list of phrases that mean "this field applies" (a flag set, a cue for the
field's value)."""
TITLES_KEY = "x-titles"
"""Schema key: titles written before a name of this entity (``["Capt", "Captain"]``). A field
with titles takes titled names only, when no slot extractor answered."""

_LEX = lexicon("en")
_TEMPORAL_FORMATS = {"date": "date", "date-time": "datetime", "time": "time",
                     "duration": "duration"}


@dataclass(frozen=True)
class FieldSpec:
    """One argument as the slot filler sees it."""

    name: str
    kind: str
    """date, datetime, time, duration, integer, number, boolean, enum, email, phone, person,
    entity, ref, location, title (a named thing: a shop, a film), identifier (a record
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
    synonyms: dict[Any, tuple[str, ...]] = field(default_factory=dict, hash=False)
    """From ``x-synonyms``: for an enum, each value's phrases; for any other field, the
    phrases that mean the field applies, under the key ``True``."""
    titles: tuple[str, ...] = ()
    """From ``x-titles``: titles written before a name of this entity ("Capt")."""
    type: str = "string"
    """The declared JSON type: what the value is written as (the kind says how to find it)."""
    format: str = ""
    """The declared JSON format ("date", "time", ...), if any."""


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
    """How to find the value, guessed from the format, the type and the name's words; the
    declared type still decides how the value is written (:func:`_declared_type`)."""
    if prop.get(REF_KEY):
        return "ref"
    if prop.get(ENTITY_KEY):
        return "entity"
    if "enum" in prop:
        return "enum"
    fmt = prop.get("format", "")
    typ = _declared_type(prop)
    if fmt in _TEMPORAL_FORMATS:
        return _TEMPORAL_FORMATS[fmt]
    if fmt == "email" or "email" in name:
        return "email"
    if typ in ("integer", "number", "boolean"):
        return typ
    lowered = name.lower()
    parts = set(re.split(r"[_\W]+", lowered)) - {""}
    if parts & _LEX.phone_field_words:
        return "phone"
    if lowered.startswith("number_of") or (parts & _LEX.count_field_words and not parts & {
            "name", "type", "id", "date", "time", "day"}):
        return "integer"  # "number_of_seats", "travelers", "party_size", even as a string
    if parts & (_LEX.money_field_words | _LEX.measure_field_words) \
            and not parts & {"name", "type"}:
        return "number"
    if parts & _LEX.identifier_field_words and not parts & {"name", "phone"}:
        return "identifier"
    if parts & _LEX.date_name_words:
        return "date"
    if "time" in parts:
        return "time"
    if parts & _LEX.location_field_words and not parts & {"name", "type"}:
        return "location"
    if "name" in parts and (parts & _LEX.person_field_words or lowered == "name"
                            or any(_person_noun(p) for p in parts)):
        return "person"
    if any(_person_noun(p) for p in parts) and len(parts) == 1:
        return "person"
    if parts & {"name", "title"}:
        return "title"
    return "text"


def _person_noun(word: str) -> bool:
    """English agent nouns in -ist and -ian name people ("artist", "librarian")."""
    return len(word) > 5 and (word.endswith("ist") and not word.endswith("list")
                              or word.endswith("ian"))


def _declared_type(prop: dict[str, Any]) -> str:
    typ = prop.get("type", "string")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "string")
    return str(typ)


def _synonyms(prop: dict[str, Any]) -> dict[Any, tuple[str, ...]]:
    raw = prop.get(SYNONYMS_KEY)
    if isinstance(raw, dict):
        values = {str(v): v for v in prop.get("enum", ())}
        return {values.get(str(k), k): tuple(str(p) for p in phrases)
                for k, phrases in raw.items() if isinstance(phrases, list | tuple)}
    if isinstance(raw, list | tuple):
        return {True: tuple(str(p) for p in raw)}
    return {}


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
        synonyms = _synonyms(prop)
        cue_words = " ".join(synonyms.get(True, ())) if kind not in ("enum", "boolean") else ""
        specs.append(FieldSpec(
            name=name, kind=kind, required=name in required, description=description,
            enum=tuple(prop.get("enum", ())), entity=prop.get(ENTITY_KEY),
            options=_options(description) if kind in ("text", "title") else (),
            ref=prop.get(REF_KEY),
            words=_words(name.replace("_", " ") + " " + description + " " + cue_words),
            default=raw.get("default"), synonyms=synonyms,
            titles=tuple(str(t) for t in prop.get(TITLES_KEY, ())),
            type=_declared_type(prop), format=str(prop.get("format", "")),
        ))
    return tuple(specs)


@lru_cache(maxsize=1024)
def required_order(tool: Tool) -> tuple[str, ...]:
    """Required fields in the order the schema lists them (the order questions are asked)."""
    specs = {f.name for f in field_specs(tool) if f.required}
    listed = [n for n in tool.json_schema().get("required", []) if n in specs]
    return tuple(listed + [f.name for f in field_specs(tool)
                           if f.required and f.name not in listed])
