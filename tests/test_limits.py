"""Runtime limits: message size, steps per turn, time per tool call.

Each limit trips with a message naming its key in ``[limits]`` and leaves an audit row; a hung
tool call is abandoned, its plugin switched off and reported, and the request still answered.
(The ingestion limits are tested in tests/knowledge/test_ingest_limits.py.)
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lamworks import (
    ActionResult,
    Change,
    ConfigError,
    InstitutionConfig,
    Plan,
    Runtime,
    Step,
    Write,
    hookimpl,
    load_config,
    tool,
)
from lamworks.config import LimitsConfig
from lamworks.executor import idempotency_key
from lamworks.limits import LIMITS_POLICY, ToolTimedOut, call_with_timeout
from lamworks.planning import new_step_id
from lamworks.plugins import make_plugin_manager

RELEASE = threading.Event()
"""Set at the end of each test: the abandoned worker threads finish instead of lingering."""
CALLS: list[str] = []


@tool(scopes=["user/Note.rs"], examples=["look it up slowly"])
def look_slowly() -> ActionResult:
    """Look something up in a system that stopped answering."""
    CALLS.append("look_slowly")
    RELEASE.wait(30)
    return ActionResult(summary="found it, too late")


@tool(scopes=["user/Note.rs"], examples=["look it up quickly"])
def look_quickly() -> ActionResult:
    """Look something up in a system that answers."""
    CALLS.append("look_quickly")
    return ActionResult(summary="found it")


@tool(risk="write", scopes=["user/Note.c"], examples=["write it slowly"])
def write_slowly() -> ActionResult:
    """Write to a system that stopped answering."""
    CALLS.append("write_slowly")
    RELEASE.wait(30)
    return ActionResult(summary="written, too late")


def _commit(ctx: Any, change: Change) -> ActionResult:
    return change.result()


@tool(risk="write", scopes=["user/Note.c"], examples=["plan it slowly"], apply=_commit)
def plan_slowly() -> Change:
    """Plan a write against a system that stopped answering."""
    RELEASE.wait(30)
    return Change(writes=[Write(method="PUT", url="Note/n1", resource={"text": "late"})])


class Scripted:
    """A planner that plans the tools named in the utterance, one step each (``a, b, c``)."""

    name = "scripted"

    def plan(self, utterance: str, ctx: Any) -> Plan:
        tools = [t.strip() for t in utterance.split(",") if t.strip()]
        return Plan(steps=[Step(id=new_step_id(), tool=t, arguments={}) for t in tools])


def _plugin(**hooks: Callable[..., None]) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def _tools_plugin() -> types.SimpleNamespace:
    def register_tools(register: Callable[[Any], None]) -> None:
        for t in (look_slowly, look_quickly, write_slowly, plan_slowly):
            register(t)

    return _plugin(register_tools=register_tools)


def _planner_plugin() -> types.SimpleNamespace:
    def register_planners(register: Callable[[Any], None]) -> None:
        register(Scripted())

    return _plugin(register_planners=register_planners)


@pytest.fixture
def make_runtime(write_config: Callable[..., Path]) -> Iterator[Callable[..., Runtime]]:
    opened: list[Runtime] = []

    def make(**limits: Any) -> Runtime:
        base = load_config(write_config(plugins="", staff_confirm="[]"))
        config: InstitutionConfig = base.model_copy(update={
            "planner": "scripted",
            "limits": base.limits.model_copy(update=limits),
        })
        pm = make_plugin_manager(config, load_entry_points=False,
                                 extra_plugins={"slow": _tools_plugin(),
                                                "scripted": _planner_plugin()})
        runtime = Runtime(config, plugins=pm)
        opened.append(runtime)
        return runtime

    RELEASE.clear()
    CALLS.clear()
    yield make
    RELEASE.set()
    for runtime in opened:
        runtime.close()


def test_the_runtime_checks_its_stores_before_opening_them(
    write_config: Callable[..., Path],
) -> None:
    config = load_config(write_config(plugins=""))
    config.data_dir.mkdir()
    (config.data_dir / "lamworks.db").write_text("not a database\n")
    with pytest.raises(ConfigError, match=r"stores\.database: .* is not an SQLite database"):
        Runtime(config)


def _last_row(runtime: Runtime) -> Any:
    return list(runtime.audit.entries())[-1]


# ---- input size ------------------------------------------------------------------------------


def test_a_message_over_the_size_limit_is_refused_unread_and_audited(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(max_utterance_chars=100)
    long = "slow.look_quickly" + ", slow.look_quickly" * 10  # 207 characters
    turn = runtime.handle("s1", "alice", long)
    assert turn.steps == [] and CALLS == []
    assert "207 characters" in turn.answer and "limits.max_utterance_chars" in turn.answer
    row = _last_row(runtime)
    assert (row.event, row.outcome) == ("request.denied", "denied")
    assert row.arguments == {"utterance_chars": 207}  # what was measured, not the text
    assert row.decisions[0]["policy"] == LIMITS_POLICY
    state, _ = runtime.sessions.load("s1", "alice")
    assert long not in str(state.model_dump())  # neither planned nor remembered

    ok = runtime.handle("s1", "alice", "slow.look_quickly")
    assert ok.steps[0].status == "executed"


def test_the_default_message_limit_fits_an_essay() -> None:
    assert LimitsConfig().max_utterance_chars >= 6_000 * 7  # the essay scorer reads 6,000 words


# ---- steps per turn ----------------------------------------------------------------------------


def test_a_plan_over_the_step_limit_is_refused_whole_and_audited(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(max_steps_per_turn=2)
    turn = runtime.handle("s1", "alice", "slow.look_quickly, slow.look_quickly, "
                                         "slow.look_quickly")
    assert CALLS == []  # nothing ran: a plan is refused whole, never cut short
    assert [s.status for s in turn.steps] == ["denied"] * 3
    assert "3 actions" in turn.answer and "limits.max_steps_per_turn" in turn.answer
    row = _last_row(runtime)
    assert (row.event, row.outcome) == ("request.denied", "denied")
    assert row.arguments == {"steps": ["slow.look_quickly"] * 3}

    two = runtime.handle("s1", "alice", "slow.look_quickly, slow.look_quickly")
    assert [s.status for s in two.steps] == ["executed", "executed"]


# ---- time per tool call ------------------------------------------------------------------------


def test_a_hung_read_tool_is_abandoned_its_plugin_disabled_and_the_request_answered(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(tool_timeout_seconds=0.3)
    started = time.perf_counter()
    turn = runtime.handle("s1", "alice", "slow.look_slowly")
    assert time.perf_counter() - started < 10
    step = turn.steps[0]
    assert step.status == "failed"
    assert "did not finish within 0.3 s (limits.tool_timeout_seconds)" in turn.answer
    assert "nothing was changed" in turn.answer
    assert "'slow' plugin is switched off" in turn.answer

    record = runtime.plugins.records["slow"]
    assert record.status == "failed" and "did not finish within 0.3 s" in (record.error or "")
    assert not any(name.startswith("slow.") for name in runtime.tools)
    row = _last_row(runtime)
    assert (row.event, row.outcome) == ("step.failed", "failed")
    assert "did not finish" in row.detail["error"]
    entry = runtime.journal.get(idempotency_key("s1", step))
    assert entry is not None and entry.status == "failed"  # a read: nothing to reconcile

    again = runtime.handle("s1", "alice", "slow.look_quickly")
    assert again.steps[0].status == "denied" and "not available" in again.answer


def test_a_hung_write_tool_stays_pending_in_the_journal(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(tool_timeout_seconds=0.3)
    turn = runtime.handle("s1", "alice", "slow.write_slowly")
    step = turn.steps[0]
    assert step.status == "failed"
    assert "whether it took effect will be checked" in turn.answer
    entry = runtime.journal.get(idempotency_key("s1", step))
    assert entry is not None and entry.status == "pending"  # settled at the next start-up
    assert runtime.plugins.records["slow"].status == "failed"


def test_a_hung_change_plan_is_denied_and_its_plugin_disabled(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(tool_timeout_seconds=0.3)
    turn = runtime.handle("s1", "alice", "slow.plan_slowly")
    step = turn.steps[0]
    assert step.status == "denied"
    assert step.denial() is not None and step.denial().policy == LIMITS_POLICY  # type: ignore[union-attr]
    assert "nothing was done" in turn.answer
    assert runtime.plugins.records["slow"].status == "failed"
    assert _last_row(runtime).event == "step.denied"


def test_call_with_timeout_returns_results_and_raises_the_tools_own_errors() -> None:
    assert call_with_timeout(lambda: 42, 5, tool="t") == 42

    def broken() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        call_with_timeout(broken, 5, tool="t")
    hung = threading.Event()
    with pytest.raises(ToolTimedOut, match="did not finish within 0.05 s"):
        call_with_timeout(lambda: hung.wait(5), 0.05, tool="t")
    hung.set()
