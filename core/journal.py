"""The action journal: at most once, even across crashes.

Before a tool's side effect the executor writes a ``pending`` row under the step's idempotency
key and commits it (fsynced, see :mod:`lamworks._sqlite`); after the effect it completes the row
with the result. A key that already has a row never executes again: ``done`` returns the stored
result, ``pending`` means a crash happened mid-action and only reconciliation may settle it.

At start-up :meth:`Journal.pending` lists rows a crash left behind; the runtime asks each tool's
``reconcile`` whether the effect happened and records ``done`` or ``abandoned``. Rows of tools
without ``reconcile`` stay ``pending`` and are reported to the operator: the action is blocked
rather than risk running twice.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ._sqlite import connect

__all__ = ["Journal", "JournalEntry"]

EntryStatus = Literal["pending", "done", "failed", "abandoned"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    key        TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    tool       TEXT NOT NULL,
    arguments  TEXT NOT NULL,
    actor      TEXT NOT NULL,
    owner      TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'abandoned')),
    result     TEXT,
    error      TEXT,
    created    REAL NOT NULL,
    completed  REAL
);
CREATE INDEX IF NOT EXISTS journal_status ON journal (status);
"""


@dataclass(frozen=True)
class JournalEntry:
    """One row of the journal."""

    key: str
    session_id: str
    step_id: str
    tool: str
    arguments: dict[str, Any]
    actor: str
    owner: str
    status: EntryStatus
    result: Any
    error: str | None
    created: float
    completed: float | None


class Journal:
    """Idempotent action records in a SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def begin(
        self, key: str, *, session_id: str, step_id: str, tool: str,
        arguments: dict[str, Any], actor: str,
    ) -> JournalEntry | None:
        """Record intent to run. Returns ``None`` when this call owns the key (go ahead), or the
        existing entry when the key was seen before (do not run again)."""
        try:
            self._conn.execute(
                "INSERT INTO journal (key, session_id, step_id, tool, arguments, actor, owner,"
                " status, created) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                (key, session_id, step_id, tool, json.dumps(arguments, default=str), actor,
                 f"{_HOST}:{os.getpid()}", time.time()),
            )
        except sqlite3.IntegrityError:
            return self.get(key)
        return None

    def complete(self, key: str, result: Any) -> None:
        self._finish(key, "done", result=result)

    def fail(self, key: str, error: str) -> None:
        self._finish(key, "failed", error=error)

    def abandon(self, key: str, reason: str) -> None:
        self._finish(key, "abandoned", error=reason)

    def _finish(self, key: str, status: EntryStatus, *, result: Any = None,
                error: str | None = None) -> None:
        self._conn.execute(
            "UPDATE journal SET status = ?, result = ?, error = ?, completed = ? "
            "WHERE key = ? AND status = 'pending'",
            (status, json.dumps(result, default=str) if result is not None else None, error,
             time.time(), key),
        )

    def get(self, key: str) -> JournalEntry | None:
        row = self._conn.execute("SELECT * FROM journal WHERE key = ?", (key,)).fetchone()
        return _entry(row) if row else None

    def pending(self, *, orphaned_only: bool = True, grace: float = 600.0) -> list[JournalEntry]:
        """Entries left between intent and completion, oldest first.

        With ``orphaned_only`` (the default) an entry counts only when the process that wrote
        it is gone: on this host, its pid no longer runs; on another host (a replica), it is
        older than ``grace`` seconds. Another live process's in-flight action is left alone.
        """
        rows = self._conn.execute(
            "SELECT * FROM journal WHERE status = 'pending' ORDER BY created"
        ).fetchall()
        entries = [_entry(r) for r in rows]
        if not orphaned_only:
            return entries
        return [e for e in entries if _orphaned(e, grace)]


_HOST = socket.gethostname()


def _orphaned(entry: JournalEntry, grace: float) -> bool:
    host, _, pid = entry.owner.rpartition(":")
    if host != _HOST:
        return time.time() - entry.created > grace
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _entry(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(
        key=row["key"],
        session_id=row["session_id"],
        step_id=row["step_id"],
        tool=row["tool"],
        arguments=json.loads(row["arguments"]),
        actor=row["actor"],
        owner=row["owner"],
        status=row["status"],
        result=json.loads(row["result"]) if row["result"] else None,
        error=row["error"],
        created=row["created"],
        completed=row["completed"],
    )
