"""The runtime's stores on a PostgreSQL server: the twin of :mod:`lamworks._sqlite`.

:class:`PostgresDatabase` has :class:`lamworks._sqlite.Database`'s interface (``execute``,
``fetchone``, ``fetchall``, ``transaction``, ``snapshot``, ``exclusive``, ``tables``), so a store
is written once, in SQLite's dialect, and runs on either (:func:`lamworks.database.open_database`
chooses). What differs lives here, in one place:

- **Dialect** (:func:`translate`, :func:`translate_script`): ``?`` placeholders become ``%s``
  (a literal ``%`` becomes ``%%``); ``INSERT OR IGNORE`` becomes ``… ON CONFLICT DO NOTHING``; in
  DDL ``INTEGER PRIMARY KEY AUTOINCREMENT`` becomes an identity column, ``INTEGER`` ``BIGINT``,
  ``REAL`` ``DOUBLE PRECISION`` (PostgreSQL's ``REAL`` is 4 bytes: a ``time.time()`` would lose
  minutes) and ``BLOB`` ``BYTEA``; SQLite's append-only trigger
  (``BEFORE UPDATE … BEGIN SELECT RAISE(ABORT, 'why'); END``) becomes a PL/pgSQL trigger raising
  ``integrity_constraint_violation`` with the same message (and, for ``DELETE``, a ``TRUNCATE``
  trigger too). Anything else SQLite-only (``PRAGMA``, ``BEGIN IMMEDIATE``, other triggers) is
  refused rather than half-translated. A column named ``user`` is quoted by the stores themselves
  (``"user"`` is an identifier in both dialects; bare ``user`` is ``current_user`` here).
- **Connections**: one :class:`psycopg_pool.ConnectionPool` per server URL per process, shared by
  every store on it (the journal, sessions, accounts and audit of one Runtime hold one pool, not
  six). Connections are in autocommit mode: a single statement is its own transaction; a unit of
  work (:meth:`PostgresDatabase.transaction`) is one pooled connection from ``BEGIN`` to
  ``COMMIT`` (``ROLLBACK`` on any error). Rows are read by column name or position, like
  ``sqlite3.Row``.
- **``BEGIN IMMEDIATE``**: SQLite's takes the file's write lock before the unit of work reads, so
  what it read cannot change before it writes. Here (READ COMMITTED) each unit of work first takes
  a transaction-scoped advisory lock, ``pg_advisory_xact_lock(NAMESPACE, key)``, where ``key``
  names what it serialises on (by default the store; the rate counter a user, the audit log its
  chain); the lock is released by ``COMMIT`` or ``ROLLBACK``, also when the client dies. Every
  statement after it sees what the previous holder committed (READ COMMITTED takes a snapshot per
  statement), which is exactly what a read-then-write needs. :meth:`~PostgresDatabase.exclusive`
  is the session-scoped variant for a lock held across many units of work (the journal's start-up
  reconciliation).
- **Errors**: a violated key or check (SQLSTATE class 23) is
  :class:`~lamworks.database.ConstraintError`; a server that cannot be reached is a
  :class:`~lamworks.errors.StoreError` naming ``stores.database_url`` and the host; anything else
  a :class:`StoreError` naming the database. Never a raw psycopg error, never the password.

What the pool does not do: check a connection before lending it (a round trip per statement). A
connection the server dropped fails its statement once, as a :class:`StoreError`, and the pool
discards it; the next statement gets a fresh one.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Literal

import psycopg
import psycopg.conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from .database import ConstraintError, safe_url, split_statements
from .errors import StoreError

__all__ = ["NAMESPACE", "PostgresDatabase", "Row", "lock_key", "probe", "server_name",
           "translate", "translate_script"]

NAMESPACE = 0x4C414D
"""The first key of every advisory lock lamworks takes (``'LAM'``): other applications sharing
the database keep their own locks apart by using other values (or the one-key form)."""

_POOL_MAX = 10
_CONNECT_TIMEOUT = 10
_SETTING = "stores.database_url"


class Row:
    """A result row readable by column name (``row["seq"]``) or position (``row[0]``), and
    convertible with ``dict(row)``, like ``sqlite3.Row``."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Row) and self._values == other._values
                and list(self._index) == list(other._index))

    def __hash__(self) -> int:
        return hash((tuple(self._index), self._values))

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def _row_factory(cursor: Any) -> Any:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        return Row(values, index)

    return make


# -- dialect ---------------------------------------------------------------------------------------

_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+", re.IGNORECASE)
_DDL = re.compile(r"^\s*(CREATE|ALTER)\b", re.IGNORECASE)
_TYPES = (
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.IGNORECASE),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
)
_APPEND_ONLY = re.compile(
    r"^\s*CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+BEFORE\s+(UPDATE|DELETE)\s+ON\s+"
    r"(\w+)\s+BEGIN\s+SELECT\s+RAISE\s*\(\s*ABORT\s*,\s*'([^']*)'\s*\)\s*;\s*END\s*;?\s*$",
    re.IGNORECASE)
_REFUSE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION lamworks_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
    "$fn$ BEGIN RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], "
    "ERRCODE = 'integrity_constraint_violation'; END $fn$")
_SQLITE_ONLY = re.compile(r"^\s*(PRAGMA|BEGIN|CREATE\s+TRIGGER)\b", re.IGNORECASE)


def _ddl_types(statement: str) -> str:
    for pattern, replacement in _TYPES:
        statement = pattern.sub(replacement, statement)
    return statement


def _placeholders(sql: str) -> str:
    """``?`` outside quotes becomes ``%s``; every ``%`` becomes ``%%`` (psycopg's escape)."""
    out: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out)


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """One statement in SQLite's dialect, as PostgreSQL runs it with parameters (see the module
    docstring). ``ValueError`` for a statement that has no translation."""
    if _SQLITE_ONLY.match(sql):
        raise ValueError(f"SQLite-only statement has no PostgreSQL translation: {sql[:60]!r}")
    statement = sql.strip().rstrip(";").strip()
    ignore = _OR_IGNORE.match(statement)
    if ignore:
        statement = "INSERT " + statement[ignore.end():]
    if _DDL.match(statement):
        statement = _ddl_types(statement)
    statement = _placeholders(statement)
    return statement + " ON CONFLICT DO NOTHING" if ignore else statement


@lru_cache(maxsize=64)
def translate_script(script: str) -> str:
    """A DDL script in SQLite's dialect (tables, indexes, append-only triggers), as one
    PostgreSQL script run without parameters. ``ValueError`` for what has no translation."""
    out: list[str] = []
    for statement in split_statements(script):
        trigger = _APPEND_ONLY.match(statement)
        if trigger:
            name, event, table, message = trigger.groups()
            if _REFUSE_FUNCTION not in out:
                out.append(_REFUSE_FUNCTION)
            refuse = f"EXECUTE FUNCTION lamworks_refuse_change('{message}')"
            out.append(f"CREATE OR REPLACE TRIGGER {name} BEFORE {event.upper()} ON {table} "
                       f"FOR EACH ROW {refuse}")
            if event.upper() == "DELETE":
                out.append(f"CREATE OR REPLACE TRIGGER {name}_truncate BEFORE TRUNCATE ON "
                           f"{table} FOR EACH STATEMENT {refuse}")
            continue
        if _SQLITE_ONLY.match(statement):
            raise ValueError("SQLite-only statement has no PostgreSQL translation: "
                             f"{statement[:60]!r}")
        statement = statement.rstrip(";").strip()
        ignore = _OR_IGNORE.match(statement)
        if ignore:
            statement = "INSERT " + statement[ignore.end():] + " ON CONFLICT DO NOTHING"
        out.append(_ddl_types(statement) if _DDL.match(statement) else statement)
    return ";\n".join(out)


def lock_key(name: str | int) -> int:
    """The second key of an advisory lock: ``name`` itself for a number, else a stable 32-bit
    hash of it (the same in every process)."""
    if isinstance(name, int):
        return name
    value = zlib.crc32(name.encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


# -- the server --------------------------------------------------------------------------------

def server_name(url: str) -> str:
    """``host:port/database`` of a URL (or the socket folder for a local socket), for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "an unreadable URL"
    host = str(info.get("host") or info.get("hostaddr") or "localhost")
    port = str(info.get("port") or "5432")
    database = str(info.get("dbname") or info.get("user") or "")
    return f"{host}:{port}/{database}"


def _scrub(url: str, text: str) -> str:
    """``text`` without the URL's password, wherever it appears."""
    try:
        password = psycopg.conninfo.conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = None
    return text.replace(str(password), "***") if password else text


def probe(url: str, *, timeout: int = _CONNECT_TIMEOUT) -> None:
    """Connect once and disconnect; :class:`StoreError` naming ``stores.database_url`` and the
    server (never the password) when that fails."""
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise StoreError(f"{_SETTING} is not a valid PostgreSQL URL: "
                         f"{_scrub(url, str(exc)).strip()}") from None
    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = " ".join(_scrub(url, str(exc)).split())
        raise StoreError(f"cannot connect to the PostgreSQL server at {server_name(url)} "
                         f"({_SETTING} = {safe_url(url)}): {reason}") from None


class _SharedPool:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool
        self.users = 0


_pools: dict[tuple[str, int], _SharedPool] = {}
_pools_guard = threading.Lock()


def _acquire_pool(url: str, timeout: float) -> ConnectionPool[Any]:
    key = (url, os.getpid())
    with _pools_guard:
        shared = _pools.get(key)
        if shared is None:
            probe(url)  # the server's own reason for a refusal, not a pool time-out later
            pool: ConnectionPool[Any] = ConnectionPool(
                conninfo=url, min_size=1, max_size=_POOL_MAX, open=False, timeout=timeout,
                name="lamworks",
                kwargs={"autocommit": True, "row_factory": _row_factory,
                        "connect_timeout": _CONNECT_TIMEOUT, "application_name": "lamworks"})
            pool.open()
            shared = _pools[key] = _SharedPool(pool)
        shared.users += 1
        return shared.pool


def _release_pool(url: str) -> None:
    key = (url, os.getpid())
    with _pools_guard:
        shared = _pools.get(key)
        if shared is None:
            return
        shared.users -= 1
        if shared.users <= 0:
            del _pools[key]
            shared.pool.close()


@atexit.register
def _close_pools() -> None:
    with _pools_guard:
        for (_url, pid), shared in list(_pools.items()):
            if pid == os.getpid():
                shared.pool.close()
        _pools.clear()


class _Connection:
    """A pooled connection lent to one unit of work: statements in SQLite's dialect."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Iterable[Any] = (), /) -> Any:
        return self._conn.execute(translate(sql), tuple(parameters))

    def script(self, script: str) -> None:
        """A DDL script (several statements, no parameters)."""
        self._conn.execute(translate_script(script))


class _Result:
    """What :meth:`PostgresDatabase.execute` returns: the rows, read before the connection went
    back to the pool, and the row count."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PostgresDatabase:
    """One PostgreSQL database, through this process's pool for its URL (see the module
    docstring for the locks, the dialect and the errors)."""

    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, url: str, *, what: str = "database", timeout: float = 30.0) -> None:
        self.url = url
        self.what = what
        self._timeout = timeout
        self._closed = False
        self._pid = os.getpid()
        self._pool = _acquire_pool(url, timeout)

    @property
    def label(self) -> str:
        """How messages name the database: its URL without the password."""
        return safe_url(self.url)

    def close(self) -> None:
        """Give this store's share of the pool back; later use raises :class:`StoreError`."""
        if not self._closed:
            self._closed = True
            if self._pid == os.getpid():
                _release_pool(self.url)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Raise psycopg's errors as :class:`ConstraintError` (SQLSTATE class 23) or
        :class:`StoreError`, naming the database and never its password."""
        try:
            yield
        except psycopg.errors.IntegrityError as exc:
            raise ConstraintError(f"the {self.what} {self.label} refused a write: "
                                  f"{self._message(exc)}") from None
        except PoolTimeout:
            raise StoreError(f"the {self.what} {self.label} lent no connection within "
                             f"{self._timeout:g} s (the server at {server_name(self.url)}, "
                             f"{_SETTING}, is down or every connection is busy)") from None
        except psycopg.OperationalError as exc:
            if exc.sqlstate is None or exc.sqlstate.startswith("08"):
                raise StoreError(f"the PostgreSQL server at {server_name(self.url)} "
                                 f"({_SETTING}) could not be reached for the {self.what}: "
                                 f"{self._message(exc)}") from None
            raise StoreError(f"the {self.what} {self.label} failed: "
                             f"{self._message(exc)}") from None
        except psycopg.Error as exc:
            raise StoreError(f"the {self.what} {self.label} failed: "
                             f"{self._message(exc)}") from None

    def _message(self, exc: BaseException) -> str:
        return " ".join(_scrub(self.url, str(exc)).split())

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise StoreError(f"the {self.what} {self.label} is closed")
        if self._pid != os.getpid():  # a forked child gets its own pool
            self._pool, self._pid = _acquire_pool(self.url, self._timeout), os.getpid()
        with self._pool.connection(timeout=self._timeout) as conn:
            yield conn

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Result:
        """One statement in autocommit mode (its own transaction)."""
        query = translate(sql)
        with self.errors(), self._connection() as conn:
            cursor = conn.execute(query, tuple(parameters))
            rows = cursor.fetchall() if cursor.description else []
            return _Result(rows, cursor.rowcount)

    def fetchone(self, sql: str, parameters: Iterable[Any] = ()) -> Any:
        return self.execute(sql, parameters).fetchone()

    def fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        return self.execute(sql, parameters).fetchall()

    @contextmanager
    def transaction(self, lock: str | int | None = None) -> Iterator[_Connection]:
        """``BEGIN`` … ``COMMIT`` on one pooled connection, first taking the advisory lock
        ``lock`` (default: this store's), so that what the unit of work reads cannot change
        before it writes; ``ROLLBACK`` (and the lock released) on any error."""
        key = lock_key(self.what if lock is None else lock)
        with self.errors(), self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s::integer, %s::integer)",
                         (NAMESPACE, key))
            yield _Connection(conn)

    @contextmanager
    def snapshot(self) -> Iterator[_Connection]:
        """Reads in one ``REPEATABLE READ, READ ONLY`` transaction: one view of the database,
        whatever others commit meanwhile."""
        with self.errors(), self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield _Connection(conn)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the session-scoped advisory lock ``name`` across many units of work, against
        every process on this database; the server releases it if the holder's connection
        dies."""
        key = (NAMESPACE, lock_key(f"{self.what}:{name}"))
        with self.errors(), self._connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s::integer, %s::integer)", key)
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s::integer, %s::integer)", key)

    def tables(self) -> set[str]:
        """The names of the tables in the connection's schema."""
        rows = self.fetchall("SELECT table_name AS name FROM information_schema.tables "
                             "WHERE table_schema = current_schema()")
        return {str(row["name"]) for row in rows}
