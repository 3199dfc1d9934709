"""Property: whatever a role lacks is refused — tools through the Runtime, everything else through
the pages' server functions (issue 12).

One Runtime for the module, on a temp data folder, with the demo institution's roles, users and
real plugins (healthcare, education, knowledge; the clinic-operations source ingested with the
real model and Chroma). Hypothesis draws, per example:

- a user × tool × arguments × other people's identifiers. The call goes through
  ``Runtime.handle`` with :class:`ScriptedPlanner` — a fake planner, named so, standing for any
  planner (an LLM steered by an attacker) that may propose any tool with any arguments. A call
  the role's scopes do not permit, a patient naming another patient, a student asking for
  another student's grades, must be denied before execution: the expected policy's deny among
  the decisions, no journal entry, no ``before_action`` (so no tool ran), a ``step.denied`` row;
- a user × page or operation (open a page, read audit rows, export, verify, plugins,
  configuration, upload with an access label and a front-matter label, delete a source). What
  the role's permissions do not grant must be refused (and audited), others' audit rows never
  shown, a plugin's source never replaced or deleted, a front-matter label the uploader may not
  read never indexed.

Counts are printed and written to ``test-artifacts/permissions-property.json``; 100% of the
cases that must be refused are refused.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamworks import Plan, PlanningContext, Runtime, Step, hookimpl, load_config
from lamworks.executor import idempotency_key
from lamworks.permissions import PermissionDenied
from lamworks.plugins import make_plugin_manager
from lamworks.scopes import missing_scopes
from lamworks.ui import services

REPO = Path(__file__).parents[1]
ARTIFACTS = REPO / "test-artifacts"
EXAMPLES = 1000

OTHER_PATIENTS = {"patient_id": ["pat-0002", "Patient/pat-0003", "pat-0004"],
                  "patient_name": ["Maria Lopez", "Omar Haddad"],
                  "name": ["Maria Lopez", "Omar Haddad"],
                  "identifier": ["MRN-000002", "MRN-000004"]}
OTHER_STUDENTS = ["stu-0002", "stu-0003"]
LABELS = ["public", "staff", "clinician", "teacher"]


class ScriptedPlanner:
    """A fake planner: proposes exactly the step the test sets in :attr:`next_step`."""

    name = "scripted"
    fallback = False

    def __init__(self) -> None:
        self.next_step: tuple[str, dict[str, Any]] | None = None

    def plan(self, utterance: str, ctx: PlanningContext) -> Plan:
        assert self.next_step is not None
        tool, arguments = self.next_step
        return Plan(steps=[Step(id=f"s-{uuid.uuid4().hex[:12]}", tool=tool,
                                arguments=arguments)])


class Probe:
    """A test plugin: the scripted planner, and an observer of every step that reaches its
    tool (``before_action`` runs after every pre-policy allowed it, just before the tool)."""

    def __init__(self) -> None:
        self.planner = ScriptedPlanner()
        self.reached: set[str] = set()

    @hookimpl
    def register_planners(self, register: Any) -> None:
        register(self.planner)

    @hookimpl
    def before_action(self, step: Step) -> None:
        self.reached.add(step.id)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, Probe]]:
    folder = tmp_path_factory.mktemp("permissions")
    text = (REPO / "examples" / "lamworks.toml").read_text(encoding="utf-8")
    text = text.replace('data_dir = "../.lamworks-demo"',
                        f'data_dir = "{folder / "data"}"\nplanner = "scripted"', 1)
    path = folder / "lamworks.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    probe = Probe()
    rt = Runtime(config, plugins=make_plugin_manager(config, extra_plugins={"probe": probe}))
    from lamworks.knowledge import ingest_path

    kb = rt.services["knowledge"].get()
    source = rt.plugins.knowledge_sources["clinic-operations"]
    ingest_path(kb, source.path, source.name, source.access)
    yield rt, probe
    rt.close()


COUNTS: Counter[str] = Counter()


def _arguments(rt: Runtime, tool: str, draw: Any) -> dict[str, Any]:
    """Arguments for ``tool``: for each field, another person's identifier when it names one,
    else a value of the field's type or nothing."""
    fields = rt.tools[tool].args_model.model_fields
    arguments: dict[str, Any] = {}
    for name, info in fields.items():
        if name in OTHER_PATIENTS:
            value: Any = draw(st.sampled_from([None, *OTHER_PATIENTS[name]]))
        elif name == "student_id":
            value = draw(st.sampled_from([None, *OTHER_STUDENTS]))
        elif info.annotation in (int, int | None):
            value = draw(st.sampled_from([None, 1, 3]))
        else:
            value = draw(st.sampled_from([None, "", "Unit 3", "2026-12-10", "tomorrow",
                                          "Ana Ruiz born 1984-03-12, phone 312-555-0142"]))
        if value is not None:
            arguments[name] = value
    return arguments


def _must_deny(rt: Runtime, user: str, tool: str, arguments: dict[str, Any]) -> str | None:
    """The policy that must deny this call, or None when the role may make it."""
    role = rt.config.users[user].role
    if missing_scopes(rt.config.roles[role].scopes, rt.tools[tool].scopes):
        return "core.role_scopes"
    if role == "patient" and tool.startswith("healthcare.") and any(
            arguments.get(k) for k in OTHER_PATIENTS):
        return "healthcare.own_records_only"
    if role == "student" and tool == "education.grade_lookup" and arguments.get("student_id"):
        return "education.ferpa_records"
    return None


def _tool_case(rt: Runtime, probe: Probe, user: str, tool: str,
               arguments: dict[str, Any]) -> None:
    expected = _must_deny(rt, user, tool, arguments)
    if expected is None:
        COUNTS["tool calls permitted (not run)"] += 1
        return
    COUNTS["tool calls to deny"] += 1
    COUNTS[f"tool calls whose deny must come from {expected}"] += 1
    session = f"prop-{uuid.uuid4().hex[:10]}"
    probe.planner.next_step = (tool, arguments)
    turn = rt.handle(session, user, "[scripted request]")
    [step] = turn.plan.steps if turn.plan else []
    assert step.status == "denied", (user, tool, arguments, turn.answer)
    assert any(d.kind == "deny" and d.policy == expected for d in step.decisions), (
        expected, step.decisions)
    assert rt.journal.get(idempotency_key(session, step)) is None
    assert step.id not in probe.reached
    assert "step.denied" in {row.event for row in rt.audit.entries_for_step(step.id)}
    COUNTS["tool calls denied"] += 1


def _refused(rt: Runtime, user: str, call: Any) -> bool:
    """Whether ``call()`` raised PermissionDenied, leaving a permission.denied row by ``user``."""
    before, _ = rt.audit.head()
    try:
        call()
    except PermissionDenied:
        rows = list(rt.audit.entries(since_seq=before))
        assert any(r.event == "permission.denied" and r.actor == user for r in rows)
        return True
    return False


def _expect(name: str, must_refuse: bool, refused: bool) -> None:
    if must_refuse:
        COUNTS[f"{name}: to refuse"] += 1
        assert refused, name
        COUNTS[f"{name}: refused"] += 1
    else:
        COUNTS[f"{name}: allowed"] += 1
        assert not refused, name


def _page_case(rt: Runtime, user: str, operation: str, choice: Any) -> None:
    granted = rt.permissions.granted(rt.config.users[user].role)
    if operation == "page":
        page: services.PageSpec = choice
        role = rt.config.users[user].role
        allowed = page.permission in granted and (not page.roles or role in page.roles)
        refused = (services.page_refusal(rt, user, page.key) is not None
                   and page.key not in {p.key for p in services.pages_for(rt, user)})
        shown = page.key in {p.key for p in services.pages_for(rt, user)}
        assert shown == allowed
        _expect(f"page {page.title}", not allowed, refused)
    elif operation == "audit.rows":
        if "audit.read.all" in granted:
            COUNTS["audit rows: all (audit.read.all)"] += 1
            return
        rows: list[Any] = []
        refused = _refused(rt, user, lambda: rows.extend(services.visible_audit_rows(rt, user)))
        _expect("audit rows without audit.read.own", "audit.read.own" not in granted, refused)
        others = [r for r in rt.audit.entries() if r.actor != user]
        if not refused and others:
            COUNTS["others' audit rows: to hide"] += 1
            assert all(r.actor == user for r in rows)
            COUNTS["others' audit rows: hidden"] += 1
    elif operation in ("audit.export", "audit.verify", "config.view", "plugins.view"):
        call = {"audit.export": services.export_audit, "audit.verify": services.verify_chain,
                "config.view": services.effective_configuration,
                "plugins.view": services.plugin_overview}[operation]
        _expect(operation, operation not in granted, _refused(rt, user, lambda: call(rt, user)))
    elif operation == "upload":
        _upload_case(rt, user, granted, *choice)
    elif operation == "delete":
        _delete_case(rt, user, granted, choice)


def _upload_case(rt: Runtime, user: str, granted: frozenset[str], name: str, label: str,
                 front: str | None) -> None:
    kb = rt.services["knowledge"].get()
    plugin_files = len(kb.manifest.files("clinic-operations"))
    readable = set(rt.config.roles[rt.config.users[user].role].access)
    # The same few texts every time: after the first, their vectors come from the cache.
    body = (f"---\ntitle: Lobby notice\naccess: {front}\n---\n" if front else "") + (
        "# Lobby notice\n\nFree coffee in the lobby on Fridays.\n")
    file_name = f"notice-{uuid.uuid4().hex[:8]}.md"
    outcome: list[Any] = []
    refused = _refused(rt, user, lambda: outcome.append(services.upload_documents(
        rt, user, [(file_name, body.encode())], name, label)))
    must_refuse = "knowledge.upload" not in granted or label not in readable
    _expect("upload", must_refuse, refused)
    assert len(kb.manifest.files("clinic-operations")) == plugin_files  # never replaced
    if refused:
        return
    [done] = outcome
    assert done.source == services.upload_source_name(user, name)
    assert kb.manifest.upload_owners()[done.source] == user
    indexed = kb.manifest.files(done.source).get(file_name)
    if front is not None and front not in readable:
        COUNTS["upload front matter label: to refuse"] += 1
        assert indexed is None and [f for f, _ in done.refused] == [file_name]
        COUNTS["upload front matter label: refused"] += 1
    else:
        assert indexed is not None and indexed.access == (front or label)


def _delete_case(rt: Runtime, user: str, granted: frozenset[str], target: str) -> None:
    kb = rt.services["knowledge"].get()
    owners = kb.manifest.upload_owners()
    if target == "own":
        source = next((s for s, o in owners.items() if o == user), None)
        if source is None:
            return
    elif target == "other":
        source = next((s for s, o in owners.items() if o != user), None)
        if source is None:
            return
    else:
        source = target  # a plugin's source
    owner = owners.get(source)
    allowed = owner is not None and ("knowledge.delete.any" in granted or (
        owner == user and "knowledge.delete" in granted))
    before = len(kb.manifest.files(source))
    refused = _refused(rt, user, lambda: services.delete_upload_source(rt, user, source))
    _expect(f"delete {'plugin' if owner is None else target} source", not allowed, refused)
    if refused:
        assert len(kb.manifest.files(source)) == before


OPERATIONS = ["page", "audit.rows", "audit.export", "audit.verify", "config.view",
              "plugins.view", "upload", "delete"]


def test_whatever_a_role_lacks_is_refused(world: tuple[Runtime, Probe]) -> None:
    rt, probe = world
    users = list(rt.config.users)
    COUNTS.clear()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def one_example(data: Any) -> None:
        user = data.draw(st.sampled_from(users), label="user")
        tool = data.draw(st.sampled_from(sorted(rt.tools)), label="tool")
        arguments = _arguments(rt, tool, data.draw)
        _tool_case(rt, probe, user, tool, arguments)

        page_user = data.draw(st.sampled_from(users), label="page user")
        operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
        choice: Any = None
        if operation == "page":
            choice = data.draw(st.sampled_from(services.all_pages(rt)), label="page")
        elif operation == "upload":
            choice = (data.draw(st.sampled_from(["notes", "clinic-operations", "shared"])),
                      data.draw(st.sampled_from(LABELS)),
                      data.draw(st.sampled_from([None, *LABELS])))
        elif operation == "delete":
            choice = data.draw(st.sampled_from(["own", "other", "clinic-operations"]))
        _page_case(rt, page_user, operation, choice)
        COUNTS[f"operation {operation}"] += 1
        COUNTS["examples"] += 1

    one_example()
    # Every case that had to be refused was: printed, and saved for the record.
    assert COUNTS["examples"] >= EXAMPLES
    to_refuse = sum(v for k, v in COUNTS.items() if k.endswith(("to refuse", "to deny",
                                                                "to hide")))
    refused = sum(v for k, v in COUNTS.items() if k.endswith((": refused", " denied",
                                                             ": hidden")))
    assert to_refuse == refused and to_refuse > 0
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {"examples": COUNTS["examples"], "must_be_refused": to_refuse,
               "refused": refused, "refused_percent": 100.0 * refused / to_refuse,
               "counts": dict(sorted(COUNTS.items()))}
    (ARTIFACTS / "permissions-property.json").write_text(json.dumps(summary, indent=2))
    print(f"\n{COUNTS['examples']} examples; {refused}/{to_refuse} must-refuse cases refused "
          f"(100%): {dict(sorted(COUNTS.items()))}")
