"""Versioned schema migrations for every table lamworks owns, on SQLite and PostgreSQL.

Modelled on llm's ``migrations.py``: each store keeps a :class:`Migrations` list, and each schema
change is a function decorated with it, numbered in the order written. :meth:`Migrations.apply`
runs, at start-up (when a store opens), the ones a database has not had yet, each in the same
transaction as the ``_migrations`` row that records it, and returns their names. A database
shared by several stores (the journal, sessions and accounts in ``lamworks.db``; everything on
PostgreSQL) keeps one ``_migrations`` table; its rows are ``(store, version, name, applied)``.

**Migration 1 of each store is the schema of the release before migrations existed**, written
with ``CREATE … IF NOT EXISTS``: on a new database it creates the tables; on a file that release
made (its tables, no ``_migrations`` table) it finds them in place, changes nothing, and is
recorded, so the file is *adopted* without copying or losing a row. Later migrations are then
applied to it like to any other. (A store whose older files need more than that, such as the
journal's column changes, does it inside migration 1, by looking at the columns it finds.)

**Concurrency**: processes starting together on one database apply each migration once. On
SQLite the work runs under ``BEGIN IMMEDIATE`` (the file's write lock); on PostgreSQL under the
transaction-scoped advisory lock ``migrations``, taken before ``_migrations`` is even created
(two ``CREATE TABLE IF NOT EXISTS`` racing on PostgreSQL can fail). The applied versions are read
again under the lock. DDL is transactional on both, so a failed migration leaves nothing behind.

**A newer database**: a database recording a version of a store that this release does not know
was written by a newer lamworks; opening it raises :class:`~lamworks.errors.StoreError` rather
than risk writing rows an older schema does not describe.

Migrations receive a :class:`Schema`: the transaction's connection plus what a migration needs
to know about the database (``dialect``, ``tables()``, ``columns(table)``) and ``script()`` for
DDL in SQLite's dialect (translated for PostgreSQL by :mod:`lamworks._postgres`).

Example::

    MIGRATIONS = Migrations("notes")

    @MIGRATIONS
    def m001_notes(schema: Schema) -> None:
        schema.script("CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, body TEXT)")

    MIGRATIONS.apply(database)   # -> ["m001_notes"] the first time, [] afterwards

SQLite-only stores that keep their own ``sqlite3.Connection`` (the healthcare plugin's FHIR
store, the knowledge manifest) pass it to :meth:`Migrations.apply` directly.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .database import Store, split_statements
from .errors import StoreError

__all__ = ["Migration", "Migrations", "Schema"]

_TABLE = """
CREATE TABLE IF NOT EXISTS _migrations (
    store   TEXT NOT NULL,
    version INTEGER NOT NULL,
    name    TEXT NOT NULL,
    applied REAL NOT NULL,
    PRIMARY KEY (store, version)
)
"""


class Schema:
    """What a migration function is given: the connection of the unit of work applying it, and
    questions about the database it may need to ask."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        """``"sqlite"`` or ``"postgresql"``."""

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        """One statement (SQLite's dialect; translated on PostgreSQL). Rows are read by column
        name, also on a bare ``sqlite3.Connection`` that has no row factory of its own."""
        if isinstance(self.conn, sqlite3.Connection):
            cursor = self.conn.cursor()
            cursor.row_factory = sqlite3.Row
            return cursor.execute(sql, parameters)
        return self.conn.execute(sql, parameters)

    def script(self, script: str) -> None:
        """Several DDL statements in SQLite's dialect, inside the migration's transaction (not
        ``executescript``, which would commit it)."""
        if self.dialect == "postgresql":
            self.conn.script(script)
            return
        for statement in split_statements(script):
            self.execute(statement)

    def tables(self) -> set[str]:
        """The tables the database holds now."""
        if self.dialect == "postgresql":
            rows = self.execute("SELECT table_name AS name FROM information_schema.tables "
                                "WHERE table_schema = current_schema()").fetchall()
        else:
            rows = self.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {str(row["name"]) for row in rows}

    def columns(self, table: str) -> set[str]:
        """The columns of ``table`` (empty when there is no such table)."""
        if self.dialect == "postgresql":
            rows = self.execute(
                "SELECT column_name AS name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?", (table,)).fetchall()
        else:
            rows = self.execute(f"PRAGMA table_info({table})").fetchall()
        return {str(row["name"]) for row in rows}


@dataclass(frozen=True)
class Migration:
    """One schema change: its number in the store's list, its name and its function."""

    version: int
    name: str
    function: Callable[[Schema], None]


class Migrations:
    """The numbered schema changes of one store (``store`` names it in ``_migrations``)."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.steps: list[Migration] = []

    def __call__(self, function: Callable[[Schema], None]) -> Callable[[Schema], None]:
        """Register ``function`` as the next migration (a decorator)."""
        if any(step.name == function.__name__ for step in self.steps):
            raise ValueError(f"{self.store}: a migration named {function.__name__!r} exists")
        self.steps.append(Migration(len(self.steps) + 1, function.__name__, function))
        return function

    @property
    def version(self) -> int:
        """The newest version this release knows."""
        return len(self.steps)

    def applied(self, target: Store | sqlite3.Connection) -> dict[int, str]:
        """``version -> name`` of the migrations recorded in the database (empty before any)."""
        with _unit_of_work(target, lock=False) as schema:
            return self._recorded(schema)

    def _recorded(self, schema: Schema) -> dict[int, str]:
        if "_migrations" not in schema.tables():
            return {}
        rows = schema.execute("SELECT version, name FROM _migrations WHERE store = ?",
                              (self.store,)).fetchall()
        return {int(row["version"]): str(row["name"]) for row in rows}

    def apply(self, target: Store | sqlite3.Connection) -> list[str]:
        """Apply the migrations the database lacks (all in one transaction, under the
        migrations lock) and return their names; ``[]`` when it is up to date.

        Errors: a :class:`~lamworks.database.Store` raises :class:`StoreError`; a bare
        ``sqlite3.Connection`` raises ``sqlite3`` errors, which its owner already handles."""
        what = getattr(target, "what", "database")
        known = self.applied(target)
        if set(known) >= {step.version for step in self.steps}:
            self._check_not_newer(known, what)
            return []
        with _unit_of_work(target, lock=True) as schema:
            schema.execute(_TABLE)
            recorded = self._recorded(schema)
            self._check_not_newer(recorded, what)
            done = []
            for step in self.steps:
                if step.version in recorded:
                    continue
                step.function(schema)
                schema.execute("INSERT INTO _migrations (store, version, name, applied) "
                               "VALUES (?, ?, ?, ?)",
                               (self.store, step.version, step.name, time.time()))
                done.append(step.name)
            return done

    def _check_not_newer(self, recorded: dict[int, str], what: str) -> None:
        newer = sorted(v for v in recorded if v > self.version)
        if newer:
            raise StoreError(
                f"the {what} has {self.store} schema version {newer[-1]} "
                f"({recorded[newer[-1]]}), newer than this release of lamworks knows "
                f"({self.version}): it was written by a newer lamworks; upgrade lamworks")


@contextmanager
def _unit_of_work(target: Store | sqlite3.Connection, *, lock: bool) -> Iterator[Schema]:
    if isinstance(target, sqlite3.Connection):
        if not lock:
            yield Schema(target, "sqlite")
            return
        target.execute("BEGIN IMMEDIATE")
        try:
            yield Schema(target, "sqlite")
        except BaseException:
            if target.in_transaction:
                target.execute("ROLLBACK")
            raise
        target.execute("COMMIT")
        return
    if lock:
        with target.transaction(lock="migrations") as conn:
            yield Schema(conn, target.dialect)
    else:
        with target.snapshot() as conn:
            yield Schema(conn, target.dialect)
