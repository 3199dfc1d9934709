"""Fuzzing with hypothesis: arbitrary input ends in success or in one of our documented errors.

Four surfaces, at least 1,000 examples each:

- configurations: TOML text, TOML written from arbitrary tables, and ``LAMWORKS_...``
  overrides, through :func:`lamworks.load_config` — :class:`~lamworks.ConfigError` or a config;
- every tool's argument model (healthcare, education, knowledge), through
  :meth:`Tool.validate_arguments` — :class:`~lamworks.ToolError` or the validated model;
- the slot filler on arbitrary text (:meth:`lamworks.planner.slots.SlotFiller.fill`) — never
  an error;
- FHIR JSON through the healthcare validation (``validate_resource``) — ``InvalidResource`` or
  quiet success.

Anything else (a TypeError, a RecursionError, pydantic's ValidationError escaping) fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamworks import ConfigError, Runtime, Tool, ToolError, load_config
from lamworks.config import LimitsConfig
from lamworks.planner.slots import SlotFiller

pytestmark = pytest.mark.slow

EXAMPLES = settings(max_examples=1000, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])

# ---- strategies ---------------------------------------------------------------------------------
# Kept shallow and small: generation, not the code under test, is what costs time here.

TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20)
NAMES = st.sampled_from(["staff", "alice", "frontdesk", "healthcare", "a"]) | TEXT
SCALARS = (st.booleans() | st.integers() | st.floats() | TEXT | st.dates() | st.datetimes()
           | st.sampled_from(["UTC", "Europe/Paris", "Mars/Olympus", "user/Patient.rs",
                              "system/*.cruds", "write", "read", "public", "frontdesk",
                              "keyword", "R4B", ".", "/", "data", "http://x", ""]))
LEAVES = SCALARS | st.lists(SCALARS, max_size=3)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)


def _section(*keys: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys) | TEXT, LEAVES, max_size=4)


ROLE = _section("description", "scopes", "confirm", "rate_limit_per_minute", "access")
CONFIG_TABLES = st.fixed_dictionaries({}, optional={
    "institution": _section("name", "timezone", "locale", "k12"),
    "data_dir": LEAVES,
    "planner": LEAVES,
    "roles": st.dictionaries(NAMES, ROLE, max_size=2) | LEAVES,
    "users": st.dictionaries(NAMES, _section("role", "display_name", "links"), max_size=2),
    "plugins": _section("allow", "block", "healthcare", "education", "api_key"),
    "knowledge": _section("chroma_url", "embedding_model", "paths") | st.fixed_dictionaries(
        {"paths": st.lists(_section("path", "source", "access"), max_size=2)}),
    "stores": _section("database", "audit"),
    "audit": _section("signing_key_file", "signing_key_env", "checkpoint_every"),
    "limits": _section(*LimitsConfig.model_fields),
    "unknown": LEAVES,
})

ENV_NAMES = ["LAMWORKS_DATA_DIR", "LAMWORKS_ROLES", "LAMWORKS_USERS", "LAMWORKS_PLANNER",
             "LAMWORKS_INSTITUTION", "LAMWORKS_INSTITUTION__NAME", "LAMWORKS_INSTITUTION__K12",
             "LAMWORKS_LIMITS", "LAMWORKS_LIMITS__MAX_STEPS_PER_TURN", "LAMWORKS_KNOWLEDGE",
             "LAMWORKS_KNOWLEDGE__PATHS", "LAMWORKS_PLUGINS", "LAMWORKS_PLUGINS__ALLOW",
             "LAMWORKS_STORES__DATABASE", "LAMWORKS_AUDIT__SIGNING_KEY_FILE", "LAMWORKS_AUDIT"]

BASE = ("[institution]\nname = 'Fuzz'\n[roles.staff]\nscopes = ['user/*.cruds']\n"
        "[users.alice]\nrole = 'staff'\n")


def toml_string(value: str) -> str:
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(str(k))} = {toml_value(v)}"
                           for k, v in value.items()) + "}"


def toml_document(table: dict[str, Any]) -> str:
    return "".join(f"{toml_string(key)} = {toml_value(value)}\n" for key, value in table.items())


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@pytest.fixture(autouse=True)
def _no_lamworks_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.upper().startswith("LAMWORKS_")]:
        monkeypatch.delenv(name)


def _load(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(exc), "a ConfigError says what is wrong"


# ---- configurations -----------------------------------------------------------------------------


@EXAMPLES
@given(text=st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300))
def test_fuzz_config_text(scratch: Path, text: str) -> None:
    _load(scratch / "text.toml", text)


@EXAMPLES
@given(table=CONFIG_TABLES)
def test_fuzz_config_tables(scratch: Path, table: dict[str, Any]) -> None:
    _load(scratch / "tables.toml", toml_document(table))


@EXAMPLES
@given(overrides=st.dictionaries(st.sampled_from(ENV_NAMES),
                                 TEXT | JSON_VALUES.map(json.dumps), min_size=1, max_size=3))
def test_fuzz_config_environment_overrides(scratch: Path, overrides: dict[str, str]) -> None:
    values = {name: value.replace("\x00", "") for name, value in overrides.items()}
    os.environ.update(values)
    try:
        _load(scratch / "env.toml", BASE)
    finally:
        for name in values:
            os.environ.pop(name, None)


# ---- every tool's arguments, the slot filler, FHIR JSON ----------------------------------------


@pytest.fixture(scope="module")
def runtime(scratch: Path) -> Iterator[Runtime]:
    path = scratch / "lamworks.toml"
    path.write_text('data_dir = "data"\nplanner = "keyword"\n[plugins]\n'
                    'allow = ["healthcare", "education"]\n' + BASE, encoding="utf-8")
    rt = Runtime(load_config(path))
    yield rt
    rt.close()


PLAUSIBLE = (JSON_SCALARS | st.dates().map(str) | st.datetimes().map(str)
             | st.lists(JSON_SCALARS, max_size=3)
             | st.sampled_from(["Ana Ruiz", "Dr. Lee", "MRN-000001", "1984-03-12",
                                "2030-01-01T09:30", "tomorrow", "Patient/pat-0001",
                                "argumentative", "routine", "", " ", "-1", "1e309", "nan"]))


def _arguments(tool: Tool) -> st.SearchStrategy[dict[str, Any]]:
    fields = list(tool.args_model.model_fields)
    names = (st.sampled_from(fields) | TEXT) if fields else TEXT
    return st.dictionaries(names, PLAUSIBLE, max_size=len(fields) + 2)


def test_every_plugin_tool_is_fuzzed(runtime: Runtime) -> None:
    assert {"healthcare.book_appointment", "education.essay_feedback",
            "knowledge.answer_question"} <= set(runtime.tools)
    assert len(runtime.tools) <= 20  # else raise the examples below (about 100 per tool)


@settings(EXAMPLES, max_examples=2000)
@given(data=st.data())
def test_fuzz_tool_arguments(runtime: Runtime, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(runtime.tools)), label="tool")
    tool = runtime.tools[name]
    arguments = data.draw(_arguments(tool), label="arguments")
    try:
        tool.validate_arguments(arguments)
    except ToolError as exc:
        assert exc.tool == name and str(exc)


@EXAMPLES
@given(data=st.data(), text=st.text(max_size=200) | st.lists(
    st.sampled_from(["book", "Ana", "Ruiz", "born", "1984-03-12", "MRN-000001", "with", "Dr.",
                     "Lee", "next", "Tuesday", "at", "3pm", "tomorrow", "from", "to", "between",
                     "and", "9:30", "12/31", "-", ",", "the", "second", "one", "essay", "quiz",
                     "on", "photosynthesis", "555-0101", "ana@example.org", "$", "%", "\u00a0",
                     "[/b]", "\n"]), max_size=30).map(" ".join))
def test_fuzz_slot_filler(runtime: Runtime, data: st.DataObject, text: str) -> None:
    tool = runtime.tools[data.draw(st.sampled_from(sorted(runtime.tools)), label="tool")]
    filled = FILLER.fill(tool, text, today=dt.date(2030, 5, 14),
                         extractors=tuple(runtime.plugins.slot_extractors.values()),
                         context=runtime.action_context("fuzz", "alice"))
    for name, span in filled.spans.items():
        assert name in filled.arguments
        assert 0 <= span.start <= span.end <= len(text)


FILLER = SlotFiller()

FHIR_TYPES = ["Patient", "Appointment", "Slot", "Schedule", "Practitioner", "Coverage",
              "ServiceRequest", "Communication", "Organization", "AuditEvent", "Bundle"]
FHIR_KEYS = st.sampled_from([
    "id", "meta", "versionId", "name", "family", "given", "text", "birthDate", "gender",
    "identifier", "system", "value", "telecom", "use", "status", "start", "end", "participant",
    "actor", "reference", "display", "slot", "serviceType", "coding", "code", "subject",
    "period", "payor", "beneficiary", "schedule", "minutesDuration", "priority", "intent",
    "category", "extension", "url", "valueString", "contained", "resourceType", "entry",
]) | TEXT


FHIR_VALUES = st.recursive(
    JSON_SCALARS | st.sampled_from(["booked", "free", "female", "1984-03-12",
                                    "2030-01-01T09:30:00Z", "Patient/pat-0001", "active"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FHIR_KEYS, inner, max_size=3),
    max_leaves=8)


@EXAMPLES
@given(resource_type=st.sampled_from(FHIR_TYPES) | TEXT,
       body=st.dictionaries(FHIR_KEYS, FHIR_VALUES, max_size=6),
       version=st.sampled_from(["R4B", "R5"]))
def test_fuzz_fhir_validation(resource_type: str, body: dict[str, Any], version: str) -> None:
    from lamworks_healthcare.errors import InvalidResource
    from lamworks_healthcare.validation import validate_resource

    resource = {**body, "resourceType": resource_type}
    try:
        validate_resource(resource, version)  # type: ignore[arg-type]
    except InvalidResource as exc:
        assert str(exc)
