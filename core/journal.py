"""The action journal: at most once, even across crashes.

Before a tool's side effect the executor writes a ``pending`` row under the step's idempotency
key and commits it (fsynced, see :mod:`lamworks._sqlite`); after the effect it completes the row
with the result. A key that already has a row never executes again: ``done`` returns the stored
result, ``pending`` means a crash happened mid-action and only reconciliation may settle it.

The journal keeps no personal data: not the arguments (even redacted ones: a policy's redaction
is for the audit, and what it leaves may still name someone), only their digest and the digest
of the step's :class:`~lamworks.Change`, so a row can be matched with what a person confirmed
without saying what it was; of the result, only what the audit log records of it (the executor's
``journal_result``). Reconciliation never needs them: the key is stamped on what the
action writes (a FHIR ``meta.tag``, a column of the plugin's own table), so after a crash the
tool's ``reconcile(ctx, key)`` looks the key up in its store.

At start-up :meth:`Journal.pending` lists rows a crash left behind; the runtime asks each tool's
``reconcile`` whether the effect happened and records ``done`` or ``abandoned``. Rows of tools
without ``reconcile`` stay ``pending`` and are reported to the operator: the action is blocked
rather than risk running twice. A row with ``compensates`` set is the undoing of an earlier
step (a later step of its plan failed): it happened when the earlier step's effect is no longer
found by that step's key. A crash can also fall between ``done`` (or ``failed``,
``abandoned``) and the step's audit row: :meth:`Journal.unaudited` lists settled rows of ended
processes that no start-up has checked against the audit log yet, and
:meth:`Journal.mark_audited` records the check, so each row is checked once.
:meth:`Journal.reconciling` lets one process at a time do this, so two replicas starting
together do not both repair the same row.

Threads and processes share the file through :class:`lamworks._sqlite.Database` (a connection
per thread; see there for why); given a ``postgresql://`` URL, replicas share a PostgreSQL
database instead (:mod:`lamworks._postgres`). Either way the key is the table's primary key, so
"exactly once" is the database's promise, not a process's: of two replicas beginning one key,
one gets the row and the other the existing entry. The schema is :data:`MIGRATIONS`
(:mod:`lamworks.migrations`).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ._canonical import digest
from .database import ConstraintError, Location, open_database
from .migrations import Migrations, Schema

__all__ = ["MIGRATIONS", "Journal", "JournalEntry", "arguments_digest"]

EntryStatus = Literal["pending", "done", "failed", "abandoned"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    key        TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    tool       TEXT NOT NULL,
    arguments_digest TEXT NOT NULL,
    change_digest TEXT,
    compensates TEXT,
    actor      TEXT NOT NULL,
    owner      TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'abandoned')),
    result     TEXT,
    error      TEXT,
    created    REAL NOT NULL,
    completed  REAL,
    audited    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS journal_status ON journal (status);
"""
# ``audited``: 1 once a start-up has checked that the settled row has its audit row (added after
# the first release: files from before it get the column, every row unchecked).
_AUDITED_INDEX = "CREATE INDEX IF NOT EXISTS journal_unaudited ON journal (audited, status)"

MIGRATIONS = Migrations("journal")
"""The journal's schema changes (:mod:`lamworks.migrations`)."""


@MIGRATIONS
def m001_journal(schema: Schema) -> None:
    """The journal as of the release before migrations; a file from before digests or before
    ``audited`` is brought to it in place."""
    columns = schema.columns("journal")
    schema.script(_SCHEMA)
    if schema.dialect == "sqlite" and columns:
        if "audited" not in columns:
            schema.execute("ALTER TABLE journal ADD COLUMN audited INTEGER NOT NULL DEFAULT 0")
        if "arguments" in columns:
            _forget_arguments(schema)
    schema.execute(_AUDITED_INDEX)


def arguments_digest(arguments: Mapping[str, Any]) -> str:
    """What the journal keeps of a step's arguments: their canonical SHA-256."""
    return digest("lamworks-arguments", dict(arguments))


@dataclass(frozen=True)
class JournalEntry:
    """One row of the journal."""

    key: str
    session_id: str
    step_id: str
    tool: str
    arguments_digest: str
    """:func:`arguments_digest` of the step's arguments (the arguments are not kept)."""
    change_digest: str | None
    """The digest of the step's :class:`~lamworks.Change`, for a tool that plans its writes."""
    compensates: str | None
    """For the undoing of an earlier step: that step's key."""
    actor: str
    owner: str
    status: EntryStatus
    result: Any
    error: str | None
    created: float
    completed: float | None


class Journal:
    """Idempotent action records in a SQLite file or a PostgreSQL database (``path``: a file
    path or a ``postgresql://`` URL)."""

    def __init__(self, path: Location) -> None:
        self.path = path
        self._db = open_database(path, what="journal")
        try:
            MIGRATIONS.apply(self._db)
        except BaseException:
            self._db.close()
            raise

    @property
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (SQLite only: for tests that edit the file)."""
        conn: sqlite3.Connection = self._db.conn  # type: ignore[attr-defined]
        return conn

    def close(self) -> None:
        self._db.close()

    def begin(
        self, key: str, *, session_id: str, step_id: str, tool: str, actor: str,
        arguments_digest: str, change_digest: str | None = None,
        compensates: str | None = None,
    ) -> JournalEntry | None:
        """Record intent to run. Returns ``None`` when this call owns the key (go ahead), or the
        existing entry when the key was seen before (do not run again)."""
        try:
            self._db.execute(
                "INSERT INTO journal (key, session_id, step_id, tool, arguments_digest,"
                " change_digest, compensates, actor, owner, status, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                (key, session_id, step_id, tool, arguments_digest, change_digest, compensates,
                 actor, f"{_HOST}:{os.getpid()}", time.time()),
            )
        except ConstraintError:
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
        self._db.execute(
            "UPDATE journal SET status = ?, result = ?, error = ?, completed = ? "
            "WHERE key = ? AND status = 'pending'",
            (status, json.dumps(result, default=str) if result is not None else None, error,
             time.time(), key),
        )

    def get(self, key: str) -> JournalEntry | None:
        row = self._db.fetchone("SELECT * FROM journal WHERE key = ?", (key,))
        return _entry(row) if row else None

    def pending(self, *, orphaned_only: bool = True, grace: float = 600.0) -> list[JournalEntry]:
        """Entries left between intent and completion, oldest first.

        With ``orphaned_only`` (the default) an entry counts only when the process that wrote
        it is gone: on this host, its pid no longer runs; on another host (a replica), it is
        older than ``grace`` seconds. Another live process's in-flight action is left alone.
        """
        rows = self._db.fetchall(
            "SELECT * FROM journal WHERE status = 'pending' ORDER BY created"
        )
        entries = [_entry(r) for r in rows]
        if not orphaned_only:
            return entries
        return [e for e in entries if _orphaned(e, grace)]

    def unaudited(self, *, grace: float = 600.0) -> list[JournalEntry]:
        """Settled rows (``done``, ``failed``, ``abandoned``) not yet checked against the audit
        log, of processes that have ended (as in :meth:`pending`), oldest first. A live process
        may be between its ``done`` and its audit row, so its rows wait for a later start-up."""
        rows = self._db.fetchall(
            "SELECT * FROM journal WHERE audited = 0 AND status IN ('done', 'failed', "
            "'abandoned') "
            "ORDER BY created"
        )
        return [e for e in (_entry(r) for r in rows) if _orphaned(e, grace)]

    def mark_audited(self, key: str) -> None:
        """Record that the row's audit row exists (checked, or written by reconciliation)."""
        self._db.execute("UPDATE journal SET audited = 1 WHERE key = ?", (key,))

    @contextmanager
    def reconciling(self) -> Iterator[None]:
        """Hold the journal's start-up lock: a file lock beside a SQLite file (every process on
        the data folder sees it, and the kernel releases it if the holder dies), a
        session-scoped advisory lock on PostgreSQL (every replica sees it, and the server
        releases it if the holder's connection dies)."""
        with self._db.exclusive("reconcile"):
            yield


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


def _forget_arguments(conn: Schema) -> None:
    """Migrate a journal from before digests: each row's arguments become their digest, and the
    column goes; a result keeps only its audit summary and refs (``secure_delete``: the old
    pages are overwritten, not just unlinked)."""
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("ALTER TABLE journal ADD COLUMN arguments_digest TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE journal ADD COLUMN change_digest TEXT")
    conn.execute("ALTER TABLE journal ADD COLUMN compensates TEXT")
    for row in conn.execute("SELECT key, arguments, result FROM journal").fetchall():
        result = json.loads(row["result"]) if row["result"] else None
        if isinstance(result, dict):  # only what the audit keeps (see journal_result)
            summary = result.get("audit_summary")
            result = {"summary": result.get("summary", "") if summary is None else summary,
                      "refs": [{"type": r.get("type"), "id": r.get("id")}
                               for r in result.get("refs", []) if isinstance(r, dict)]}
        conn.execute("UPDATE journal SET arguments_digest = ?, result = ? WHERE key = ?",
                     (arguments_digest(json.loads(row["arguments"] or "{}")),
                      None if result is None else json.dumps(result), row["key"]))
    conn.execute("ALTER TABLE journal DROP COLUMN arguments")


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(
        key=row["key"],
        session_id=row["session_id"],
        step_id=row["step_id"],
        tool=row["tool"],
        arguments_digest=row["arguments_digest"],
        change_digest=row["change_digest"],
        compensates=row["compensates"],
        actor=row["actor"],
        owner=row["owner"],
        status=row["status"],
        result=json.loads(row["result"]) if row["result"] else None,
        error=row["error"],
        created=row["created"],
        completed=row["completed"],
    )
