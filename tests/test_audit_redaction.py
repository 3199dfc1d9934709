"""The core audit-redaction rule (issue 12): free text and identifiers in ANY tool's arguments
never reach the audit log; plugins add their fields; the healthcare rule still applies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lamworks import Plan, PlanningContext, Runtime, Step, hookimpl, load_config, tool
from lamworks.executor import redacted_arguments
from lamworks.plugins import make_plugin_manager
from lamworks.redaction import REDACTED, audit_arguments, scrub_identifiers
from lamworks.tools import tool_from_schema

REPO = Path(__file__).parents[1]
ESSAY = (
    "Schools should start later in the morning. Teenagers need more sleep, and research shows "
    "that later start times improve attendance and grades.\n\nFirst, sleep matters. Studies of "
    "high schools found that students slept longer when the bell was later. Second, attendance "
    "improves. For example, one district reported fewer absences after it changed its "
    "schedule.\n\nIn conclusion, a later start is a simple change with real benefits for "
    "students, and every district should consider it.")
QUESTION = "I'm Ana Ruiz, born 1984-03-12: when does the clinic open on a Saturday?"


class ScriptedPlanner:
    """A fake planner: proposes exactly the step the test sets (as any planner might)."""

    name = "scripted"

    def __init__(self) -> None:
        self.next_step: tuple[str, dict[str, Any]] = ("", {})

    def plan(self, utterance: str, ctx: PlanningContext) -> Plan:
        tool_name, arguments = self.next_step
        return Plan(steps=[Step(id=f"s-{uuid.uuid4().hex[:12]}", tool=tool_name,
                                arguments=arguments)])


class _Scripted:
    def __init__(self) -> None:
        self.planner = ScriptedPlanner()

    @hookimpl
    def register_planners(self, register: Any) -> None:
        register(self.planner)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, ScriptedPlanner]]:
    folder = tmp_path_factory.mktemp("redaction")
    text = (REPO / "examples" / "lamworks.toml").read_text(encoding="utf-8").replace(
        'data_dir = "../.lamworks-demo"',
        f'data_dir = "{folder / "data"}"\nplanner = "scripted"', 1)
    (folder / "lamworks.toml").write_text(text, encoding="utf-8")
    config = load_config(folder / "lamworks.toml")
    scripted = _Scripted()
    rt = Runtime(config, plugins=make_plugin_manager(config, extra_plugins={"scripted": scripted}))
    yield rt, scripted.planner
    rt.close()


def _audit_text(rt: Runtime, session: str) -> str:
    return json.dumps([{"arguments": e.arguments, "detail": e.detail, "decisions": e.decisions}
                       for e in rt.audit.entries() if e.session_id == session])


def test_a_knowledge_question_with_a_name_and_birth_date_leaves_neither_in_the_audit(
        demo: tuple[Runtime, ScriptedPlanner]) -> None:
    rt, planner = demo
    planner.next_step = ("knowledge.answer_question", {"question": QUESTION})
    turn = rt.handle("kq", "patient", "[a question]")
    [step] = turn.plan.steps if turn.plan else []
    assert step.status == "executed", turn.answer
    logged = _audit_text(rt, "kq")
    for secret in ("Ruiz", "1984", "03-12", "opening hours"):
        assert secret not in logged
    [row] = [e for e in rt.audit.entries() if e.session_id == "kq" and e.step_id == step.id]
    marker = row.arguments["question"]
    assert marker["redacted"] == "free text" and marker["chars"] == len(QUESTION)


def test_an_essay_submitted_for_feedback_is_not_stored_in_the_audit(
        demo: tuple[Runtime, ScriptedPlanner]) -> None:
    rt, planner = demo
    planner.next_step = ("education.essay_feedback", {"essay": ESSAY,
                                                      "prompt": "Should school start later?"})
    turn = rt.handle("essay", "student", "[feedback please]")
    [step] = turn.plan.steps if turn.plan else []
    assert step.status == "executed", turn.answer
    logged = _audit_text(rt, "essay")
    for words in ("Teenagers need more sleep", "one district reported", "start later"):
        assert words not in logged
    [row] = [e for e in rt.audit.entries() if e.step_id == step.id]
    assert row.arguments["essay"]["chars"] == len(ESSAY)


def test_a_denied_step_is_audited_redacted_too(demo: tuple[Runtime, ScriptedPlanner]) -> None:
    rt, planner = demo
    planner.next_step = ("education.essay_feedback", {"essay": ESSAY})
    turn = rt.handle("denied", "patient", "[feedback please]")  # a patient has no Essay scope
    assert turn.plan and turn.plan.steps[0].status == "denied"
    assert "Teenagers" not in _audit_text(rt, "denied")


def test_identifiers_in_any_tool_are_redacted_and_plugins_add_fields() -> None:
    @tool(redact=("locker",))
    def sign_up(contact_name: str, email: str, phone: str, birth_date: str, locker: str,
                notes: str, start: str, seats: int, course_name: str) -> str:
        """Sign someone up for a course."""
        return "ok"

    arguments = {"contact_name": "Omar Haddad", "email": "omar@example.org",
                 "phone": "312-555-0142", "birth_date": "1968-01-21", "locker": "B-17",
                 "notes": "he prefers mornings", "start": "2026-12-10T09:00:00-06:00",
                 "seats": 2, "course_name": "Biology 10 (call 312-555-0199)"}
    kept = audit_arguments(arguments, sign_up)
    for name in ("contact_name", "email", "phone", "birth_date", "locker"):
        assert kept[name] == REDACTED, name
    assert kept["notes"]["redacted"] == "free text"
    assert kept["start"] == arguments["start"] and kept["seats"] == 2  # useful, not identifying
    assert kept["course_name"] == f"Biology 10 (call {REDACTED})"  # a title: kept, scrubbed


def test_a_tool_declared_from_a_json_schema_gets_the_same_rule() -> None:
    mcp_tool = tool_from_schema("crm.log_call", "Log a call.", {
        "type": "object", "properties": {
            "summary": {"type": "string", "description": "What was said."},
            "caller_email": {"type": "string", "format": "email"},
            "outcome": {"type": "string", "enum": ["resolved", "escalated"]}}})
    step = Step(id="s1", tool="crm.log_call", arguments={
        "summary": "Maria Lopez (DOB 07/30/1975) asked about her bill",
        "caller_email": "maria@example.org", "outcome": "resolved"})
    kept = redacted_arguments(step, mcp_tool)
    assert kept["summary"]["redacted"] == "free text" and kept["caller_email"] == REDACTED
    assert kept["outcome"] == "resolved"
    assert "Lopez" not in json.dumps(kept) and "1975" not in json.dumps(kept)


def test_without_a_schema_long_text_and_identifiers_are_still_hidden() -> None:
    step = Step(id="s2", tool="gone.tool", arguments={
        "utterance": "hi", "patient_birth_date": "1984-03-12", "ref": "Patient/pat-0001",
        "comment": "x" * 80})
    kept = redacted_arguments(step)
    assert kept["utterance"]["redacted"] == "free text"
    assert kept["patient_birth_date"] == REDACTED and kept["ref"] == "Patient/pat-0001"
    assert kept["comment"]["chars"] == 80
    assert scrub_identifiers("2026-12-10T09:00") == "2026-12-10T09:00"
    assert scrub_identifiers("born 12 Mar 1984, MRN-000001") == f"born {REDACTED}, {REDACTED}"
