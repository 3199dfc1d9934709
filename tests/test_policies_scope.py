"""Policies apply where they belong: each declares its scope (plugins, tools, roles, stage) and
the core filters, so a domain's request rule never screens another domain's requests."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lamworks import (
    ActionResult,
    Decision,
    Policy,
    PolicyContext,
    Runtime,
    Step,
    deny,
    load_config,
    policy,
    tool,
)
from lamworks.policies import ALL, AppliesTo, evaluate

DOCS = Path(__file__).parents[1] / "docs" / "plugin-hooks.md"


@tool(examples=["add a note"])
def add_note(text: str) -> ActionResult:
    """Add a note."""
    return ActionResult()


@tool(examples=["open an account"])
def open_account(owner: str) -> ActionResult:
    """Open an account."""
    return ActionResult()


NOTE = add_note.namespaced("sample")
ACCOUNT = open_account.namespaced("ledger")


def _seen(pol: Policy, target: Any, role: str) -> bool:
    return pol.applies(target, role)


def _noting(**scope: Any) -> Policy:
    @policy(stage="pre", **scope)
    def noting(step: Step, ctx: PolicyContext) -> Decision | None:
        """Denies whatever it sees."""
        return deny("seen")

    return noting


# -- declaring and resolving a scope ------------------------------------------------------------


def test_a_plugins_policy_sees_its_own_tools_by_default_and_the_cores_every_tool() -> None:
    own = _noting().namespaced("sample")
    assert own.scope == AppliesTo(plugins=("sample",))
    assert _seen(own, NOTE, "staff") and not _seen(own, ACCOUNT, "staff")
    core = _noting().namespaced("core")
    assert _seen(core, NOTE, "staff") and _seen(core, ACCOUNT, "staff")


def test_tools_plugins_and_everything() -> None:
    only = _noting(tools="add_note").namespaced("sample")
    assert only.scope.tools == ("sample.add_note",) and only.scope.plugins == ()
    assert _seen(only, NOTE, "staff") and not _seen(only, ACCOUNT, "staff")
    other = _noting(tools=["ledger.open_account"]).namespaced("sample")
    assert _seen(other, ACCOUNT, "staff") and not _seen(other, NOTE, "staff")
    everything = _noting(plugins=ALL).namespaced("sample")
    assert _seen(everything, NOTE, "staff") and _seen(everything, ACCOUNT, "staff")


def test_roles_filter() -> None:
    readers = _noting(roles=["reader"]).namespaced("sample")
    assert _seen(readers, NOTE, "reader") and not _seen(readers, NOTE, "staff")
    widened = readers.scoped(roles=("reader", "staff"))
    assert _seen(widened, NOTE, "staff") and widened.name == readers.name


def test_applies_to_or_keywords_not_both() -> None:
    declared = _noting(applies_to=AppliesTo(tools=("add_note",))).namespaced("sample")
    assert declared.scope.tools == ("sample.add_note",)
    with pytest.raises(ValueError, match="not both"):
        _noting(applies_to=AppliesTo(), roles=["reader"])


def test_evaluate_runs_only_the_policies_that_apply(runtime: Runtime) -> None:
    mine = _noting(tools="add_note").namespaced("sample")
    theirs = _noting().namespaced("ledger")
    action = runtime.action_context("s", "alice")
    step = Step(id="x", tool=NOTE.name, arguments={"text": "hi"})
    decisions = evaluate([mine, theirs], step, PolicyContext(action, NOTE))
    assert [d.policy for d in decisions] == [mine.name]


def test_a_request_routed_to_no_tool_meets_only_policies_for_every_plugin(
        runtime: Runtime) -> None:
    everywhere = _noting(plugins=ALL).namespaced("sample")
    own = _noting().namespaced("sample")
    assert everywhere.applies_to_request([], "staff")
    assert not own.applies_to_request([], "staff")
    assert own.applies_to_request([NOTE], "staff") and not own.applies_to_request([ACCOUNT],
                                                                                  "staff")


# -- through the runtime, with the sample plugins ---------------------------------------------


@pytest.fixture
def two_plugins(install_plugins: Callable[..., Path],
                write_config: Callable[..., Path]) -> Iterator[Runtime]:
    install_plugins(sample="lamworks_sample", ledger="lamworks_ledger")
    rt = Runtime(load_config(write_config(plugins='allow = ["sample", "ledger"]')))
    yield rt
    rt.close()


def test_a_request_policy_screens_only_requests_routed_to_its_plugins_tools(
        two_plugins: Runtime) -> None:
    rt = two_plugins
    # The sample plugin refuses fortune telling, for its own tools only.
    noted = rt.handle("s1", "alice", "add a note about my fortune text=lucky")
    assert "nobody here tells fortunes" in noted.answer and not noted.steps
    assert [e.event for e in rt.audit.entries()] == ["request.denied"]
    ledger = rt.handle("s2", "alice", "open a ledger account for my fortune owner=Ana")
    assert "fortunes" not in ledger.answer
    assert ledger.steps and ledger.steps[0].tool == "ledger.open_account"


def test_a_refused_request_runs_nothing_and_leaves_the_dialog_as_it_was(
        two_plugins: Runtime) -> None:
    rt = two_plugins
    asked = rt.handle("s1", "alice", "add a note")
    assert asked.follow_up is not None
    refused = rt.handle("s1", "alice", "add a note about my fortune text=lucky")
    assert "fortunes" in refused.answer and refused.awaiting_confirmation is None
    state, _ = rt.sessions.load("s1", "alice")
    assert state.follow_up is None and state.last_step is None
    events = [e.event for e in rt.audit.entries()]
    assert events[-1] == "request.denied" and "step.executed" not in events


def test_small_talk_still_flows(two_plugins: Runtime) -> None:
    assert two_plugins.handle("s1", "alice", "hello there").answer.startswith("Hello")


def test_the_documented_example_registers_scoped_policies(runtime: Runtime) -> None:
    from lamworks import PolicyContext as PC
    from lamworks import hookimpl

    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### register_policies(", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert code is not None
    namespace: dict[str, Any] = {"policy": policy, "Step": Step, "PolicyContext": PC,
                                 "deny": deny, "hookimpl": hookimpl}
    exec(compile(code.group(1), str(DOCS), "exec"), namespace)
    registered: list[Policy] = []
    namespace["register_policies"](registered.append)
    secret, dictation = (p.namespaced("sample") for p in registered)
    assert _seen(secret, NOTE, "staff") and not _seen(secret, ACCOUNT, "staff")
    assert dictation.stage == "request" and dictation.applies_to_request([NOTE], "reader")
    assert not dictation.applies_to_request([NOTE], "staff")
    action = runtime.action_context("s", "alice")
    step = Step(id="x", tool=NOTE.name, arguments={"text": "a secret"})
    [decision] = evaluate([secret], step, PolicyContext(action, NOTE))
    assert decision.kind == "deny"


# -- the example institution: healthcare and education side by side (the real planner) ---------

INTEGRITY = "education.academic_integrity"
ADVICE = "healthcare.no_clinical_advice"


@pytest.fixture(scope="module")
def institution(tmp_path_factory: pytest.TempPathFactory,
                open_demo_clinic: Callable[[Path], Runtime]) -> Iterator[Runtime]:
    rt = open_demo_clinic(tmp_path_factory.mktemp("scoped") / "data")
    yield rt
    rt.services["fhir"].close()
    rt.close()


def _refused_by(rt: Runtime, session: str, user: str, utterance: str) -> str | None:
    turn = rt.handle(session, user, utterance)
    notes = turn.plan.why.notes if turn.plan is not None and turn.plan.why else []
    return next((n.removeprefix("refused by ") for n in notes if n.startswith("refused by ")),
                None)


@pytest.mark.parametrize(("user", "utterance"), [
    # The examples: each was refused by the other domain's rule (or its own, wrongly).
    ("frontdesk", "do the billing report for last month"),
    ("clinician", "polish the handout on flu shots"),
    ("admin", "rewrite the reminder text"),
    ("student", "what is the treatment for a population crash in a predator-prey model"),
    ("patient", "when is my next appointment? do i have anything booked"),
])
def test_requests_are_not_refused_by_another_domains_rule(institution: Runtime, user: str,
                                                          utterance: str) -> None:
    assert _refused_by(institution, f"ok-{user}", user, utterance) is None


@pytest.mark.parametrize(("user", "utterance", "rule"), [
    ("student", "write my essay on food webs for me so I can hand it in", INTEGRITY),
    ("patient", "what dose of ibuprofen should I take", ADVICE),
])
def test_the_real_cases_are_still_refused(institution: Runtime, user: str, utterance: str,
                                          rule: str) -> None:
    before = len(list(institution.audit.entries()))
    assert _refused_by(institution, f"no-{user}", user, utterance) == rule
    rows = list(institution.audit.entries())[before:]
    assert [r.event for r in rows] == ["request.denied"]


def test_a_scope_is_described_in_words_for_people_reading_the_plugin_list() -> None:
    assert AppliesTo(plugins=("*",)).describe() == "every tool"
    assert AppliesTo(plugins=("education",), roles=("student",)).describe() == (
        "education tools; roles student")
    assert AppliesTo(plugins=("healthcare",), tools=("knowledge.answer_question",)).describe() == (
        "healthcare tools, knowledge.answer_question")
