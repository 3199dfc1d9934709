"""The audit log: append-only, hash-chained, verifiable.

Each row stores the SHA-256 of the previous row's hash plus its own canonical content, so an
edited row, a deleted row or a swapped pair breaks the chain at a named row. SQLite triggers
refuse UPDATE and DELETE; this module has no update or delete path. A truncated tail leaves a
valid prefix, so the head (last sequence number and hash) is written twice more: into a
one-row table in the same transaction, and to a sidecar file ``<db>.head`` after the commit.
:meth:`AuditLog.verify` compares the chain with both.

On its own this detects tampering by anyone who does not rewrite the chain *and* both heads.
Against someone who does, give the log a :class:`~lamworks.CheckpointSigner` (``[audit]
signing_key_file`` or ``signing_key_env``): at the first row, every ``checkpoint_every`` rows and
at :meth:`close` the head is signed with a key kept outside the data folder
(:mod:`lamworks.audit_signing`, which also verifies), and ``lamworks audit checkpoint`` prints a
signed head to anchor elsewhere.

**Backends.** ``path`` is a SQLite file, or a ``postgresql://`` URL that replicas share. On
SQLite, ``BEGIN IMMEDIATE`` (the file's write lock) makes each append read the last row and
write the next one with no other writer in between. On PostgreSQL each append (and each
checkpoint, :func:`~lamworks.audit_signing.sign_head`) first takes
``pg_advisory_xact_lock(NAMESPACE, CHAIN_LOCK)``, one constant lock for the whole chain, released
at ``COMMIT`` or ``ROLLBACK``: chosen over a row lock on ``audit_head`` (``SELECT … FOR UPDATE``)
because an empty log has no head row to lock, so two first appends would race to row 1 and one
would fail on the key instead of waiting; and because the advisory lock covers the checkpoint
table in the same breath. The cost is the same either way: appends of one chain are serial by
nature (each needs the previous hash). Readers take no lock: :meth:`AuditLog.verify` reads in one
``REPEATABLE READ`` snapshot. The append-only triggers become PL/pgSQL triggers (also refusing
``TRUNCATE``). The head file is written only beside a SQLite file: replicas on PostgreSQL share no
folder, so there the head record and the signed checkpoints (anchored elsewhere) are what catch a
truncated tail. The schema is :data:`MIGRATIONS` (:mod:`lamworks.migrations`).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._canonical import canonical_json, digest
from .audit_signing import (
    CHAIN_LOCK,
    CHECKPOINT_SCHEMA,
    CheckpointSigner,
    checkpoint_if_due,
    sign_head,
)
from .database import Location, Store, open_database
from .errors import AuditError
from .migrations import Migrations, Schema

__all__ = ["AuditEntry", "AuditLog", "VerifyResult", "GENESIS", "MIGRATIONS"]

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq        INTEGER PRIMARY KEY,
    ts         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    role       TEXT NOT NULL,
    session_id TEXT NOT NULL,
    event      TEXT NOT NULL,
    tool       TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    arguments  TEXT NOT NULL,
    decisions  TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE INDEX IF NOT EXISTS audit_step ON audit (step_id);
"""

MIGRATIONS = Migrations("audit")
"""The audit log's schema changes (:mod:`lamworks.migrations`)."""


@MIGRATIONS
def m001_audit(schema: Schema) -> None:
    """The chain, its head record and the signed checkpoints, as of the release before
    migrations (with their append-only triggers)."""
    schema.script(_SCHEMA + CHECKPOINT_SCHEMA)


_BATCH = 1000
_CONTENT_FIELDS = ("seq", "ts", "actor", "role", "session_id", "event", "tool", "step_id",
                   "arguments", "decisions", "outcome", "detail")


@dataclass(frozen=True)
class AuditEntry:
    """One audit row, decoded."""

    seq: int
    ts: str
    actor: str
    role: str
    session_id: str
    event: str
    tool: str
    step_id: str
    arguments: dict[str, Any]
    decisions: list[dict[str, Any]]
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (*_CONTENT_FIELDS, "prev_hash", "hash")}


@dataclass(frozen=True)
class VerifyResult:
    """What :meth:`AuditLog.verify` found: ``ok``, rows checked, and the first bad row."""

    ok: bool
    rows: int
    first_bad: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.rows} rows, chain intact"
        return f"BROKEN at row {self.first_bad}: {self.problem}"


def _row_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return digest(prev_hash, canonical_json(content))


class AuditLog:
    """Append-only, hash-chained audit rows in a SQLite file (WAL, synchronous=FULL) or a
    PostgreSQL database (``path``: a file path or a ``postgresql://`` URL)."""

    def __init__(self, path: Location, *, signer: CheckpointSigner | None = None) -> None:
        self.path = path
        self.head_path: Path | None = (
            None if isinstance(path, str) and "://" in path
            else Path(path).with_name(Path(path).name + ".head"))
        """The head file beside a SQLite file (None on PostgreSQL: see the module docstring)."""
        self.signer = signer
        # SQLite: a connection per thread, each append one BEGIN IMMEDIATE unit of work (see
        # lamworks._sqlite for why: the threads of one Runtime append at the same time).
        self._db = open_database(path, what="audit log")
        try:
            MIGRATIONS.apply(self._db)
        except BaseException:
            self._db.close()
            raise

    @property
    def database(self) -> Store:
        """The database the log is in (for :mod:`lamworks.audit_signing`)."""
        return self._db

    @property
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (SQLite only: for tests that look inside the file)."""
        conn: sqlite3.Connection = self._db.conn  # type: ignore[attr-defined]
        return conn

    def close(self) -> None:
        """Close the log; with a signer, sign the head first (the shutdown checkpoint)."""
        try:
            if self.signer is not None:
                sign_head(self._db, self.signer)
        finally:
            self._db.close()

    def append(
        self,
        *,
        actor: str,
        role: str,
        session_id: str,
        event: str,
        tool: str = "",
        step_id: str = "",
        arguments: dict[str, Any] | None = None,
        decisions: list[dict[str, Any]] | None = None,
        outcome: str = "",
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one row; concurrent writers (threads, processes, replicas) serialise on the
        chain's lock (see the module docstring)."""
        try:
            with self._db.transaction(lock=CHAIN_LOCK) as conn:
                last = conn.execute(
                    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                seq = (last["seq"] + 1) if last else 1
                prev = last["hash"] if last else GENESIS
                content = {
                    "seq": seq,
                    "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
                    "actor": actor,
                    "role": role,
                    "session_id": session_id,
                    "event": event,
                    "tool": tool,
                    "step_id": step_id,
                    "arguments": canonical_json(arguments or {}),
                    "decisions": canonical_json(decisions or []),
                    "outcome": outcome,
                    "detail": canonical_json(detail or {}),
                }
                row_hash = _row_hash(prev, content)
                conn.execute(
                    f"INSERT INTO audit ({', '.join(_CONTENT_FIELDS)}, prev_hash, hash) "
                    f"VALUES ({', '.join('?' * (len(_CONTENT_FIELDS) + 2))})",
                    (*content.values(), prev, row_hash),
                )
                conn.execute(
                    "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                    (seq, row_hash),
                )
                if self.signer is not None:
                    checkpoint_if_due(conn, self.signer, seq, row_hash)
        except Exception as exc:
            raise AuditError(f"could not write the audit log {self._db.label}: {exc}") from exc
        self._write_sidecar(seq, row_hash)
        return _decode({**content, "prev_hash": prev, "hash": row_hash})

    def _write_sidecar(self, seq: int, row_hash: str) -> None:
        if self.head_path is None:
            return
        lock_path = self.head_path.with_name(self.head_path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self._read_sidecar()
            if current is not None and current[0] >= seq:
                return
            tmp = self.head_path.with_name(self.head_path.name + f".{os.getpid()}.tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"seq": seq, "hash": row_hash, "written": time.time()}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.head_path)

    def _read_sidecar(self) -> tuple[int, str] | None:
        if self.head_path is None:
            return None
        try:
            data = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(data["seq"]), str(data["hash"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return (-1, "")

    def head(self) -> tuple[int, str]:
        """The last sequence number and hash (0 and the genesis hash when empty)."""
        row = self._db.fetchone("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return (row["seq"], row["hash"]) if row else (0, GENESIS)

    def entries(self, *, since_seq: int = 0) -> Iterator[AuditEntry]:
        """Every row in order, decoded (read a thousand at a time)."""
        while True:
            rows = self._db.fetchall("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                                     (since_seq, _BATCH))
            for row in rows:
                yield _decode(dict(row))
            if len(rows) < _BATCH:
                return
            since_seq = rows[-1]["seq"]

    def entries_for_step(self, step_id: str) -> list[AuditEntry]:
        """The rows about one step (indexed; used by start-up reconciliation), in order."""
        rows = self._db.fetchall("SELECT * FROM audit WHERE step_id = ? ORDER BY seq",
                                 (step_id,))
        return [_decode(dict(row)) for row in rows]

    def verify(self) -> VerifyResult:
        """Walk the chain; return the first row that was edited, removed, moved or cut off."""
        # The rows and the head record are read in one snapshot, the head file before it (it is
        # written after each commit, so it cannot run ahead of a later snapshot): rows other
        # threads or processes append meanwhile are not taken for a truncated tail.
        sidecar = self._read_sidecar()
        with self._db.snapshot() as conn:
            return self._verify_snapshot(conn, sidecar)

    def _verify_snapshot(self, conn: Any, sidecar: tuple[int, str] | None) -> VerifyResult:
        prev = GENESIS
        expected = 1
        rows = 0
        by_seq: dict[int, str] = {}
        for raw in conn.execute("SELECT * FROM audit ORDER BY seq"):
            row = dict(raw)
            rows += 1
            seq = row["seq"]
            if seq != expected:
                return VerifyResult(False, rows, expected,
                                    f"row {expected} is missing (rows jump from "
                                    f"{expected - 1} to {seq})")
            content = {name: row[name] for name in _CONTENT_FIELDS}
            own_hash_ok = _row_hash(row["prev_hash"], content) == row["hash"]
            if not own_hash_ok:
                return VerifyResult(False, rows, seq, "row content does not match its hash "
                                    "(edited, or moved from elsewhere)")
            if row["prev_hash"] != prev:
                return VerifyResult(False, rows, seq,
                                    "row does not follow the previous row (reordered, "
                                    "replaced or a row before it removed)")
            prev = row["hash"]
            by_seq[seq] = prev
            expected += 1
        last = expected - 1
        head_row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        for label, head in (("head record", (head_row["seq"], head_row["hash"]) if head_row
                             else None), ("head file", sidecar)):
            if head is None:
                if last > 0 and label == "head record":
                    return VerifyResult(False, rows, last, "the head record is missing")
                continue
            head_seq, head_hash = head
            if head_seq < 0:
                return VerifyResult(False, rows, last + 1, f"the {label} is unreadable")
            if head_seq > last:
                return VerifyResult(False, rows, last + 1,
                                    f"rows {last + 1}..{head_seq} are missing: the tail was "
                                    f"truncated (the {label} says {head_seq} rows)")
            if head_seq > 0 and by_seq.get(head_seq) != head_hash:
                return VerifyResult(False, rows, head_seq,
                                    f"row {head_seq} does not match the {label}")
        return VerifyResult(True, rows)


def _decode(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        ts=row["ts"],
        actor=row["actor"],
        role=row["role"],
        session_id=row["session_id"],
        event=row["event"],
        tool=row["tool"],
        step_id=row["step_id"],
        arguments=json.loads(row["arguments"]),
        decisions=json.loads(row["decisions"]),
        outcome=row["outcome"],
        detail=json.loads(row["detail"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
