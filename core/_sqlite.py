"""The runtime's SQLite files: how they are opened, and how threads and processes share them.

Every file is opened in WAL mode with ``synchronous=FULL`` and a busy timeout. ``synchronous=FULL``
in WAL mode fsyncs the log at every commit, so a committed row survives a power cut or a SIGKILL;
that is what the journal's "written before the side effect" relies on.

**One connection per thread** (:class:`Database`), not one shared connection behind a lock.
SQLite's transactions belong to a connection: with one connection shared by threads, one thread's
``ROLLBACK`` undoes another's half-written transaction and a second ``BEGIN`` fails with
"cannot start a transaction within a transaction" (the Streamlit app shares one ``Runtime`` across
every browser session). With a connection per thread, a transaction contains exactly one thread's
statements by construction, and a store method cannot bypass a lock by reaching for the
connection. The same mechanism, SQLite's file lock with a busy timeout, then serialises writers
whether they are threads of one process or separate processes (replicas, the CLI): one path to
reason about and to test. WAL readers wait for no one. The cost is a connection per thread per
store, opened on first use (a few pragmas); :meth:`Database.close` closes all of them, and the
connections of threads that have ended are closed when another thread opens one.

**A unit of work** that reads and then writes runs in :meth:`Database.transaction`:
``BEGIN IMMEDIATE`` takes the write lock first, so the read cannot go stale under it (a deferred
transaction that reads, then writes after another connection committed gets ``SQLITE_BUSY``
immediately; no busy timeout waits that out); ``COMMIT`` at the end, ``ROLLBACK`` on any error.
Single statements run on their own in autocommit mode (:meth:`Database.execute`).
:meth:`Database.snapshot` reads in one deferred transaction (one consistent view of the file).
The same interface has a PostgreSQL twin, :class:`lamworks._postgres.PostgresDatabase`
(:mod:`lamworks.database` chooses one).

**Busy files**: the busy timeout waits for another connection's lock; a statement or ``BEGIN``
that still reports the file busy or locked (it changed nothing) is retried a few times. Whatever
is left becomes :class:`~lamworks.errors.StoreError`, never a raw ``sqlite3`` error; a
violated key or check becomes :class:`~lamworks.database.ConstraintError`.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from .database import ConstraintError
from .errors import StoreError

__all__ = ["Database", "connect", "is_busy"]

_BUSY_RETRIES = 4


def connect(path: Path, *, timeout: float = 30.0) -> sqlite3.Connection:
    """Open (creating folders as needed) a SQLite file for the runtime's stores.

    The connection is for one thread at a time (``check_same_thread=False`` only lets
    :meth:`Database.close` close it from another thread once its own thread has ended)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    _retry_busy(lambda: _use_wal(conn))
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    # Switching to WAL takes an exclusive lock that the busy timeout does not always wait for,
    # so only ask when the file is not in WAL mode yet (it stays in WAL once switched).
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        conn.execute("PRAGMA journal_mode=WAL")


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` says the file was busy or locked by another connection."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def _retry_busy(work: Any) -> Any:
    for attempt in range(_BUSY_RETRIES):
        try:
            return work()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or attempt == _BUSY_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


class Database:
    """One SQLite file with one connection per thread (see the module docstring for why)."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, path: Path, *, schema: str = "", what: str = "database",
                 timeout: float = 30.0) -> None:
        self.path = path
        self.what = what
        self._timeout = timeout
        self._local = threading.local()
        self._guard = threading.Lock()
        self._open: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._closed = False
        self._pid = os.getpid()
        if schema:
            with self.errors():
                _retry_busy(lambda: self.conn.executescript(schema))

    @property
    def label(self) -> str:
        """How messages name the database: its file name."""
        return self.path.name

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._pid == os.getpid():
            return conn
        with self._guard:
            if self._closed:
                raise StoreError(f"the {self.what} {self.path.name} is closed")
            if self._pid != os.getpid():  # a forked child must not use the parent's handles
                self._open, self._pid = [], os.getpid()
            self._close_finished_threads()
            conn = connect(self.path, timeout=self._timeout)
            self._open.append((weakref.ref(threading.current_thread()), conn))
        self._local.conn = conn
        return conn

    def _close_finished_threads(self) -> None:
        alive = []
        for thread_ref, conn in self._open:
            thread = thread_ref()
            if thread is not None and thread.is_alive():
                alive.append((thread_ref, conn))
            else:
                conn.close()
        self._open = alive

    def close(self) -> None:
        """Close every thread's connection; later use raises :class:`StoreError`."""
        with self._guard:
            self._closed = True
            for _thread, conn in self._open:
                conn.close()
            self._open = []
        self._local = threading.local()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Raise sqlite3 errors as :class:`StoreError` naming this file; a constraint violation
        (``sqlite3.IntegrityError``) as :class:`ConstraintError`, which the store that wrote it
        expects and handles (a key seen before, a session started elsewhere)."""
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise ConstraintError(f"the {self.what} {self.path.name} refused a write: {exc}"
                                  ) from exc
        except sqlite3.Error as exc:
            state = "stayed busy (another writer held it too long)" if is_busy(exc) else "failed"
            raise StoreError(f"the {self.what} {self.path.name} {state}: {exc}") from exc

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> sqlite3.Cursor:
        """One statement in autocommit mode, retried while the file is busy."""
        with self.errors():
            args = tuple(parameters)
            cursor: sqlite3.Cursor = _retry_busy(lambda: self.conn.execute(sql, args))
            return cursor

    def fetchone(self, sql: str, parameters: Iterable[Any] = ()) -> sqlite3.Row | None:
        with self.errors():
            row: sqlite3.Row | None = self.execute(sql, parameters).fetchone()
            return row

    def fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self.errors():
            return list(self.execute(sql, parameters).fetchall())

    @contextmanager
    def transaction(self, lock: str | int | None = None) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` on this thread's connection; ``ROLLBACK`` on error.

        ``lock`` names what the unit of work serialises on (PostgreSQL takes an advisory lock
        by that name); here the file's write lock serialises every unit of work anyway.
        Errors from SQLite leave as :class:`StoreError`; others (the caller's) pass through
        unchanged after the rollback."""
        with self.errors():
            conn = self.conn
            if conn.in_transaction:
                # Only a bug leaves one open (a unit of work never spans calls): end it here
                # rather than let it swallow this one.
                conn.execute("ROLLBACK")
            _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads in one deferred transaction: one view of the file, whatever others commit
        meanwhile (WAL); rolled back at the end."""
        with self.errors():
            conn = self.conn
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock ``name`` across many units of work, against every process on this
        file: a file lock beside it (``<file>.<name>.lock``), released by the kernel if the
        holder dies."""
        lock_path = self.path.with_name(f"{self.path.name}.{name}.lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def tables(self) -> set[str]:
        """The names of the tables in the file."""
        rows = self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row["name"]) for row in rows}
