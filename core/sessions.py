"""Conversation state, confirmations and rate counters, in SQLite so any process can continue.

- :class:`SessionStore`: each session's :class:`~lamworks.planning.DialogState`, bound to one
  user, saved with optimistic concurrency (a stale writer gets an error, not a silent overwrite);
  and its *transcript*, the turns as a person saw them (:meth:`SessionStore.record_turn`,
  :meth:`SessionStore.transcript`, :meth:`SessionStore.conversations`), so a conversation can be
  listed and drawn again by any replica. The transcript is its own table, ``transcript``, one
  row per turn, not part of the session row: the session row is rewritten under a version check
  on every turn and loaded for every plan, so it stays small (its history is capped), while the
  transcript only grows by appending, is read only to draw a conversation, and is listed per
  user by an index. It may hold personal data: it stays in this database, is never logged, and
  older rows are deleted when the caller gives a retention period.
- :class:`ConfirmationStore`: single-use tokens bound to the exact tool and arguments a person
  approved, and to the digest of the exact change they were shown; using one twice, or for
  changed arguments or a changed change, is refused.
- :class:`RateCounter`: actions per user in a sliding window, shared by every replica.

Each store is safe to share between threads and processes: a connection per thread
(:class:`lamworks._sqlite.Database`, which says why), every check-and-write one statement (a
conditional ``UPDATE`` or an ``INSERT`` against a key) or one ``BEGIN IMMEDIATE`` unit of work,
and SQLite errors raised as :class:`~lamworks.errors.StoreError`. Given a ``postgresql://`` URL
instead of a path, the same statements run on PostgreSQL (:mod:`lamworks._postgres`: a pool, and
an advisory lock where SQLite takes the file's write lock), shared by every replica. The column
``user`` is written ``"user"``: an identifier in both dialects (bare, PostgreSQL reads it as
``current_user``). The schema is :data:`MIGRATIONS` (:mod:`lamworks.migrations`).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from ._canonical import digest
from .database import ConstraintError, Location, open_database
from .errors import ConfirmationError, LamworksError
from .migrations import Migrations, Schema
from .plan import Turn
from .planning import DialogState

__all__ = ["MIGRATIONS", "ConfirmationStore", "Conversation", "RateCounter", "SessionStore",
           "step_digest"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id      TEXT PRIMARY KEY,
    "user"  TEXT NOT NULL,
    state   TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS confirmations (
    token      TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    tool       TEXT NOT NULL,
    digest     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'used', 'cancelled')),
    created    REAL NOT NULL,
    settled    REAL
);
CREATE TABLE IF NOT EXISTS rate_events (
    "user" TEXT NOT NULL,
    ts     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_events_user_ts ON rate_events ("user", ts);
"""

MIGRATIONS = Migrations("sessions")
"""The schema changes of sessions, confirmations and rate events (:mod:`lamworks.migrations`)."""


@MIGRATIONS
def m001_sessions(schema: Schema) -> None:
    """Sessions, confirmations and rate events as of the release before migrations."""
    schema.script(_SCHEMA)


@MIGRATIONS
def m002_rate_events_by_time(schema: Schema) -> None:
    """An index on ``rate_events (ts)``: each hit deletes the events older than an hour, of
    every user, which the ``(user, ts)`` index cannot find without reading every row."""
    schema.execute("CREATE INDEX IF NOT EXISTS rate_events_ts ON rate_events (ts)")


@MIGRATIONS
def m003_transcript(schema: Schema) -> None:
    """The transcript: each turn of a conversation as a person saw it (``turn``: the
    :class:`~lamworks.Turn` as JSON, confirmation tokens removed), numbered per session, with
    its owner and time; indexed to list a user's conversations and to delete old rows."""
    schema.script("""
        CREATE TABLE IF NOT EXISTS transcript (
            session_id TEXT NOT NULL,
            seq        INTEGER NOT NULL,
            "user"     TEXT NOT NULL,
            created    REAL NOT NULL,
            utterance  TEXT NOT NULL,
            turn       TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        );
        CREATE INDEX IF NOT EXISTS transcript_user_created ON transcript ("user", created);
        CREATE INDEX IF NOT EXISTS transcript_created ON transcript (created);
    """)


@dataclass(frozen=True)
class Conversation:
    """One of a user's conversations, as a list of earlier chats shows it."""

    id: str
    """The session id (what :meth:`SessionStore.transcript` and the runtime take)."""
    title: str
    """The first request typed in it, in full ("" when it has none, e.g. only a proposed
    tool call); a page shortens it."""
    started: float
    """When its first recorded turn was written (Unix seconds)."""
    updated: float
    """When its last recorded turn was written (Unix seconds): its last activity."""
    turns: int
    """How many turns it has recorded."""


def _without_tokens(turn: Turn) -> Turn:
    """``turn`` without confirmation tokens: a transcript is for drawing a conversation again,
    and a token is confirmed through the session's stored step, never through a transcript."""
    steps = [s.model_copy(update={"confirmation_token": None}) for s in turn.steps]
    waiting = turn.awaiting_confirmation
    return turn.model_copy(update={
        "plan": turn.plan.model_copy(update={"steps": steps}) if turn.plan else None,
        "awaiting_confirmation": (waiting.model_copy(update={"confirmation_token": None})
                                  if waiting is not None else None),
    })


def step_digest(tool: str, arguments: dict[str, Any], change: str | None = None) -> str:
    """What a confirmation is bound to: the tool, its exact arguments and, for a tool that
    plans its writes, the digest of the exact :class:`~lamworks.Change` shown."""
    return digest(tool, arguments) if change is None else digest(tool, arguments, change)


class _Store:
    def __init__(self, path: Location) -> None:
        self.path = path
        self._db = open_database(path, what="session database")
        try:
            MIGRATIONS.apply(self._db)
        except BaseException:
            self._db.close()
            raise

    @property
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (SQLite only: for tests that look inside the file)."""
        conn: sqlite3.Connection = self._db.conn  # type: ignore[attr-defined]
        return conn

    def close(self) -> None:
        self._db.close()


class SessionStore(_Store):
    """Dialog state per session id."""

    def owner(self, session_id: str) -> str | None:
        """The user the session belongs to (None for a session never saved)."""
        row = self._db.fetchone('SELECT "user" FROM sessions WHERE id = ?', (session_id,))
        return None if row is None else str(row["user"])

    def load(self, session_id: str, user: str) -> tuple[DialogState, int]:
        """The session's state and version (a new, empty state at version 0 if unknown)."""
        row = self._db.fetchone(
            'SELECT "user", state, version FROM sessions WHERE id = ?', (session_id,)
        )
        if row is None:
            return DialogState(), 0
        if row["user"] != user:
            raise LamworksError(f"session {session_id!r} belongs to another user")
        return DialogState.model_validate_json(row["state"]), row["version"]

    def save(self, session_id: str, user: str, state: DialogState, version: int) -> int:
        """Store the state if nobody else saved since ``version``; returns the new version."""
        payload = state.model_dump_json()
        now = time.time()
        if version == 0:
            try:
                self._db.execute(
                    'INSERT INTO sessions (id, "user", state, version, updated) '
                    "VALUES (?, ?, ?, 1, ?)",
                    (session_id, user, payload, now),
                )
                return 1
            except ConstraintError:
                raise LamworksError(
                    f"session {session_id!r} was started elsewhere at the same time; retry"
                ) from None
        cursor = self._db.execute(
            "UPDATE sessions SET state = ?, version = version + 1, updated = ? "
            "WHERE id = ? AND version = ?",
            (payload, now, session_id, version),
        )
        if cursor.rowcount != 1:
            raise LamworksError(f"session {session_id!r} changed in another window; retry")
        return version + 1

    # -- the transcript ------------------------------------------------------------------------

    def record_turn(self, session_id: str, user: str, turn: Turn, *,
                    keep_seconds: float | None = None, now: float | None = None) -> int:
        """Append ``turn`` (without its confirmation tokens) to the session's transcript and
        return its number (1 for the first). A session or transcript of another user is refused
        (:class:`~lamworks.LamworksError`), so nobody can write into someone else's
        conversation. ``keep_seconds``: the retention period; rows of every user older than it
        are deleted in the same unit of work (the index on ``created`` finds them)."""
        now = time.time() if now is None else now
        payload = _without_tokens(turn).model_dump_json()
        # One lock for every transcript (SQLite's file lock; PostgreSQL's advisory lock): the
        # number is the next one even with two replicas writing to one conversation, and the
        # deletion of old rows never waits on another unit of work's rows.
        with self._db.transaction(lock="transcript") as conn:
            if keep_seconds is not None:
                conn.execute("DELETE FROM transcript WHERE created < ?", (now - keep_seconds,))
            owners = conn.execute(
                'SELECT "user" FROM sessions WHERE id = ? '
                'UNION SELECT "user" FROM transcript WHERE session_id = ?',
                (session_id, session_id)).fetchall()
            if any(row["user"] != user for row in owners):
                raise LamworksError(f"session {session_id!r} belongs to another user")
            seq = int(conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM transcript WHERE session_id = ?",
                (session_id,)).fetchone()["n"])
            conn.execute(
                'INSERT INTO transcript (session_id, seq, "user", created, utterance, turn) '
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, seq, user, now, turn.utterance, payload))
        return seq

    def transcript(self, session_id: str, user: str, *, since: float = 0.0) -> list[Turn]:
        """The session's recorded turns, oldest first, if they are ``user``'s (another user's
        conversation reads as empty, like an unknown one); only rows written at ``since`` or
        later (a retention period's start)."""
        rows = self._db.fetchall(
            'SELECT turn FROM transcript WHERE session_id = ? AND "user" = ? AND created >= ? '
            "ORDER BY seq", (session_id, user, since))
        return [Turn.model_validate_json(row["turn"]) for row in rows]

    def conversations(self, user: str, *, since: float = 0.0,
                      limit: int = 50) -> list[Conversation]:
        """``user``'s conversations with a turn written at ``since`` or later, the most
        recently active first, at most ``limit``."""
        rows = self._db.fetchall(
            "SELECT t.session_id AS id, MIN(t.created) AS started, MAX(t.created) AS updated, "
            "COUNT(*) AS turns, "
            "(SELECT f.utterance FROM transcript f WHERE f.session_id = t.session_id "
            " AND substr(f.utterance, 1, 1) <> '[' ORDER BY f.seq LIMIT 1) AS title "
            'FROM transcript t WHERE t."user" = ? AND t.created >= ? '
            "GROUP BY t.session_id ORDER BY MAX(t.created) DESC, t.session_id LIMIT ?",
            (user, since, limit))
        return [Conversation(id=str(r["id"]), title=str(r["title"] or ""),
                             started=float(r["started"]), updated=float(r["updated"]),
                             turns=int(r["turns"])) for r in rows]


class ConfirmationStore(_Store):
    """Single-use approval tokens."""

    def issue(self, session_id: str, step_id: str, tool: str, arguments: dict[str, Any],
              change: str | None = None) -> str:
        """A new single-use token for this step, bound to ``step_digest(tool, arguments,
        change)`` (``change``: the digest of the planned Change, if any)."""
        token = secrets.token_urlsafe(18)
        self._db.execute(
            "INSERT INTO confirmations (token, session_id, step_id, tool, digest, status, created)"
            " VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            (token, session_id, step_id, tool, step_digest(tool, arguments, change),
             time.time()),
        )
        return token

    def redeem(
        self, token: str, session_id: str, step_id: str, tool: str, arguments: dict[str, Any],
        change: str | None = None,
    ) -> None:
        """Use the token for exactly this step; raise :class:`ConfirmationError` otherwise."""
        row = self._db.fetchone("SELECT * FROM confirmations WHERE token = ?", (token,))
        if row is None or row["session_id"] != session_id or row["step_id"] != step_id:
            raise ConfirmationError("This confirmation does not belong to this step.")
        if row["status"] != "pending":
            raise ConfirmationError(f"This confirmation was already {row['status']}.")
        if row["tool"] != tool or row["digest"] != step_digest(tool, arguments, change):
            self._settle(token, "cancelled")
            raise ConfirmationError(
                "The action changed after it was shown to you, so the confirmation no longer "
                "applies. Please review it again."
            )
        if not self._settle(token, "used"):
            raise ConfirmationError("This confirmation was already used.")

    def cancel(self, token: str) -> None:
        self._settle(token, "cancelled")

    def _settle(self, token: str, status: str) -> bool:
        cursor = self._db.execute(
            "UPDATE confirmations SET status = ?, settled = ? "
            "WHERE token = ? AND status = 'pending'",
            (status, time.time(), token),
        )
        return cursor.rowcount == 1


class RateCounter(_Store):
    """Counts actions per user in a sliding window."""

    def hit(self, user: str, *, window: float = 60.0) -> int:
        """Record one action and return how many this user made in the window, this one included."""
        now = time.time()
        # One lock for every user (SQLite's file lock; PostgreSQL's advisory lock of this
        # store): the count includes exactly the hits committed before this one, and two hits
        # deleting the same old events never wait on each other's rows (no deadlock).
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM rate_events WHERE ts < ?", (now - 3600,))
            conn.execute('INSERT INTO rate_events ("user", ts) VALUES (?, ?)', (user, now))
            count = conn.execute(
                'SELECT COUNT(*) AS n FROM rate_events WHERE "user" = ? AND ts >= ?',
                (user, now - window),
            ).fetchone()["n"]
        return int(count)
