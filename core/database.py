"""Which database a store opens: a SQLite file (the embedded default) or a PostgreSQL server.

What lives here: :func:`open_database`, which turns a store's *location* into a database object
(a :class:`~pathlib.Path` opens :class:`lamworks._sqlite.Database`; a ``postgresql://`` URL opens
:class:`lamworks._postgres.PostgresDatabase`), the interface both share (:class:`Store`,
:class:`Connection`, :class:`Cursor`), and :class:`ConstraintError`, which both raise for a
violated key or check so that a store handles "seen before" the same way on either.

What does not: SQL dialect translation (:mod:`lamworks._postgres`, in one place), schema changes
(:mod:`lamworks.migrations`), or which location a configuration names
(:attr:`~lamworks.InstitutionConfig.database_location`).

The two backends behave the same for the stores: one statement runs on its own
(:meth:`Store.execute`), a unit of work that reads then writes runs in
:meth:`Store.transaction`, which holds the store's write lock from its first statement (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock, released at commit or
rollback), rows are read by column name, and every failure is a
:class:`~lamworks.errors.StoreError` naming the database, never its password.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from .errors import StoreError

__all__ = [
    "ConstraintError",
    "Connection",
    "Cursor",
    "Location",
    "Store",
    "is_postgres_url",
    "open_database",
    "opened",
    "safe_url",
    "split_statements",
]

Location = Path | str
"""Where a store lives: a SQLite file path, or a ``postgresql://`` URL."""

Dialect = Literal["sqlite", "postgresql"]


class ConstraintError(StoreError):
    """Seen by the stores (and, unhandled, by operators): a statement broke a key, a check or
    an append-only rule (a journal key seen before, a session started elsewhere, an edit of an
    audit row)."""


class Cursor(Protocol):
    """What a statement returns on either backend."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The connection a unit of work holds (:meth:`Store.transaction`)."""

    def execute(self, sql: str, parameters: Any = (), /) -> Any: ...


class Store(Protocol):
    """A database the runtime's stores write to; both backends implement it."""

    what: str

    @property
    def dialect(self) -> Dialect:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    @property
    def label(self) -> str:
        """How messages name the database (a file name, or the URL without its password)."""
        ...

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> Cursor: ...

    def fetchone(self, sql: str, parameters: Iterable[Any] = ()) -> Any: ...

    def fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]: ...

    def transaction(self, lock: str | int | None = None
                    ) -> AbstractContextManager[Connection]: ...

    def snapshot(self) -> AbstractContextManager[Connection]: ...

    def exclusive(self, name: str) -> AbstractContextManager[None]: ...

    def tables(self) -> set[str]: ...

    def close(self) -> None: ...


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and location.split(":", 1)[0].lower() in (
        "postgresql", "postgres")


def safe_url(url: str) -> str:
    """``url`` without its password (for messages and listings)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def split_statements(script: str) -> list[str]:
    """The statements of a script in SQLite's dialect, split where SQLite's own parser says one
    ends (so a trigger's ``BEGIN … ; END`` stays whole)."""
    statements: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \t\r\n;"):
        statements.append(buffer.strip())
    return statements


def open_database(location: Location, *, what: str = "database") -> Store:
    """The database at ``location``: a SQLite file for a path, PostgreSQL for a URL."""
    if is_postgres_url(location):
        from ._postgres import PostgresDatabase

        return PostgresDatabase(str(location), what=what)
    if isinstance(location, str) and "://" in location:
        raise StoreError(f"the {what} location {safe_url(location)!r} is neither a file path nor "
                         "a postgresql:// URL")
    from ._sqlite import Database

    return Database(Path(location), what=what)


@contextmanager
def opened(target: Location | Store, *, what: str = "database") -> Iterator[Store]:
    """``target`` itself when it is an open database, else one opened for the block."""
    if isinstance(target, Path | str):
        db = open_database(target, what=what)
        try:
            yield db
        finally:
            db.close()
    else:
        yield target
