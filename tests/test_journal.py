"""At most once: a process killed between the journal write and completion, then restarted."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lamworks import AuditLog, Runtime, Step, load_config
from lamworks.executor import idempotency_key
from lamworks.journal import Journal, arguments_digest

CHILD = textwrap.dedent(
    """
    import sys
    from lamworks import Runtime
    runtime = Runtime.from_config(sys.argv[1])
    runtime.handle("crash-session", "alice", "bump the counter label=first")
    """
)


def _bumps(data_dir: Path) -> int:
    path = data_dir / "counter.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM bumps").fetchone()[0])


def _run_and_kill(config: Path, hang_variable: str, marker: Path) -> None:
    env = {**os.environ, hang_variable: str(marker)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(config)], env=env)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, "the child exited before reaching the side effect"
        assert time.monotonic() < deadline, "the child never reached the side effect"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize(("hang", "expected_bumps", "expected_outcome"), [
    ("COUNTER_HANG_AFTER", 1, "reconciled"),
    ("COUNTER_HANG_BEFORE", 0, "abandoned"),
])
def test_sigkill_mid_action_then_restart_runs_at_most_once(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path], tmp_path: Path,
    hang: str, expected_bumps: int, expected_outcome: str,
) -> None:
    install_plugins(counter="lamworks_counter")
    config_path = write_config(plugins="allow = ['counter']", staff_confirm="[]")
    config = load_config(config_path)
    _run_and_kill(config_path, hang, tmp_path / "reached")

    journal = Journal(config.database_path)
    [entry] = journal.pending(orphaned_only=False)
    journal.close()
    assert entry.tool == "counter.bump"
    assert _bumps(config.data_dir) == expected_bumps

    runtime = Runtime(config)  # restart: reconciliation runs at start-up
    report = runtime.startup_report
    assert len(getattr(report, expected_outcome)) == 1, report
    assert runtime.journal.get(entry.key).status == (
        "done" if expected_outcome == "reconciled" else "abandoned"
    )

    # The same step again (same session, step id and arguments → same key) never runs again.
    # The journal keeps only the arguments' digest: the child asked for label=first.
    arguments = {"label": "first"}
    assert entry.arguments_digest == arguments_digest(arguments)
    step = Step(id=entry.step_id, tool=entry.tool, arguments=arguments)
    ctx = runtime.action_context(entry.session_id, "alice")
    again = runtime.executor.execute(step, runtime.tools["counter.bump"], ctx, [])
    assert _bumps(config.data_dir) == expected_bumps
    assert again.status == ("executed" if expected_outcome == "reconciled" else "failed")
    assert runtime.audit.verify().ok
    runtime.close()


@pytest.mark.slow
def test_pending_entry_without_reconcile_is_reported_and_blocked(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path], tmp_path: Path,
) -> None:
    install_plugins(counter="lamworks_counter")
    config = load_config(write_config(plugins="allow = ['counter']", staff_confirm="[]"))
    journal = Journal(config.database_path)
    # A pending row written by a process that no longer exists (pid 1 is never ours... use a
    # pid that cannot exist) for a tool without reconcile.
    journal.begin("k-orphan", session_id="s", step_id="s-1", tool="counter.fragile",
                  arguments_digest=arguments_digest({}), actor="alice")
    journal._conn.execute("UPDATE journal SET owner = ? WHERE key = 'k-orphan'",
                          (f"{os.uname().nodename}:99999999",))
    journal.close()
    runtime = Runtime(config)
    assert any("counter.fragile" in line for line in runtime.startup_report.unresolved)
    assert runtime.journal.get("k-orphan").status == "pending"
    runtime.close()


def test_live_process_entries_are_not_reconciled(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    journal.begin("k1", session_id="s", step_id="s1", tool="t", arguments_digest="d",
                  actor="a")
    assert journal.pending() == []  # our own, in flight
    assert [e.key for e in journal.pending(orphaned_only=False)] == ["k1"]
    assert journal.begin("k1", session_id="s", step_id="s1", tool="t", arguments_digest="d",
                         actor="a") is not None  # a key is claimed once


def _settled_by_a_dead_process(database: Path, key: str, step_id: str) -> None:
    """A journal entry marked ``done`` by a process SIGKILLed before its audit append."""
    journal = Journal(database)
    journal.begin(key, session_id="s", step_id=step_id, tool="counter.bump",
                  arguments_digest=arguments_digest({"label": "lost"}), actor="alice")
    journal.complete(key, {"summary": "Bumped the counter.", "refs": [
        {"type": "Counter", "id": "c-1"}]})
    journal._conn.execute("UPDATE journal SET owner = ? WHERE key = ?",
                          (f"{os.uname().nodename}:99999999", key))
    journal.close()


def _executed_rows(runtime: Runtime, step_id: str) -> list[Any]:
    return [e for e in runtime.audit.entries_for_step(step_id) if e.event == "step.executed"]


def test_done_entry_without_its_audit_row_gets_one_at_start_up_and_only_once(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path],
) -> None:
    install_plugins(counter="lamworks_counter")
    config = load_config(write_config(plugins="allow = ['counter']", staff_confirm="[]"))
    _settled_by_a_dead_process(config.database_path, "k-lost", "step-lost")

    runtime = Runtime(config)
    [row] = _executed_rows(runtime, "step-lost")
    assert runtime.startup_report.repaired == ["counter.bump (step step-lost, key k-lost)"]
    assert row.detail["idempotency_key"] == "k-lost"
    assert "written at start-up" in row.detail["repaired"]
    assert row.detail["summary"] == "Bumped the counter."
    assert (row.actor, row.role, row.outcome) == ("alice", "staff", "executed")
    assert runtime.audit.verify().ok
    runtime.close()

    again = Runtime(config)  # a second start adds nothing
    assert len(_executed_rows(again, "step-lost")) == 1
    assert again.startup_report.repaired == []
    again.close()


def test_done_entry_with_its_audit_row_is_checked_not_repaired(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path],
) -> None:
    install_plugins(counter="lamworks_counter")
    config = load_config(write_config(plugins="allow = ['counter']", staff_confirm="[]"))
    _settled_by_a_dead_process(config.database_path, "k-fine", "step-fine")
    audit = AuditLog(config.audit_path)
    audit.append(actor="alice", role="staff", session_id="s", event="step.executed",
                 tool="counter.bump", step_id="step-fine", outcome="executed",
                 detail={"idempotency_key": "k-fine"})
    audit.close()

    runtime = Runtime(config)
    assert runtime.startup_report.repaired == []
    assert len(_executed_rows(runtime, "step-fine")) == 1
    assert runtime.journal.unaudited() == []  # checked once, not at every start
    runtime.close()


def test_a_live_process_done_entry_is_left_for_a_later_start(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    journal.begin("k1", session_id="s", step_id="s1", tool="t", arguments_digest="d",
                  actor="a")
    journal.complete("k1", {"summary": "ok"})
    assert journal.unaudited() == []  # ours: its audit row may be on its way
    journal.close()


def test_the_journal_keeps_digests_never_arguments(runtime: Runtime) -> None:
    turn = runtime.handle("s", "alice", "add a note text=hello author_email=ana@example.org")
    step = turn.awaiting_confirmation
    assert step is not None
    runtime.confirm("s", step.id)
    entry = runtime.journal.get(idempotency_key("s", step))
    assert entry is not None and entry.status == "done"
    assert entry.arguments_digest == arguments_digest(step.arguments)
    columns = {r["name"] for r in runtime.journal._conn.execute("PRAGMA table_info(journal)")}
    assert "arguments" not in columns
    rows = [dict(r) for r in runtime.journal._conn.execute("SELECT * FROM journal")]
    assert len(rows) == 1 and "ana@example.org" not in str(rows)  # nor in its result


def test_a_journal_from_before_digests_forgets_its_arguments(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE journal (key TEXT PRIMARY KEY, session_id TEXT NOT NULL,
            step_id TEXT NOT NULL, tool TEXT NOT NULL, arguments TEXT NOT NULL,
            actor TEXT NOT NULL, owner TEXT NOT NULL, status TEXT NOT NULL, result TEXT,
            error TEXT, created REAL NOT NULL, completed REAL);
        INSERT INTO journal VALUES ('k1', 's', 'st', 'healthcare.register_patient',
            '{"first_name": "Ana", "last_name": "Ruizabal", "birth_date": "[redacted]"}',
            'frontdesk', 'host:1', 'pending', NULL, NULL, 1.0, NULL);
        INSERT INTO journal VALUES ('k2', 's', 'st2', 'healthcare.register_patient', '{}',
            'frontdesk', 'host:1', 'done', '{"summary": "Registered Ana Ruizabal.",
            "audit_summary": "register_patient completed (Patient/p1)", "data": {"mrn": "M"},
            "refs": [{"type": "Patient", "id": "p1", "display": "Ana Ruizabal"}]}', NULL, 1.0,
            2.0);
    """)
    old.close()
    journal = Journal(path)
    entry = journal.get("k1")
    assert entry is not None and entry.status == "pending"
    assert entry.arguments_digest == arguments_digest(
        {"first_name": "Ana", "last_name": "Ruizabal", "birth_date": "[redacted]"})
    done = journal.get("k2")
    assert done is not None and done.result["summary"] == \
        "register_patient completed (Patient/p1)" and "data" not in done.result
    journal.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("old.db*"))
    assert b"Ruizabal" not in raw and b'"birth_date"' not in raw
