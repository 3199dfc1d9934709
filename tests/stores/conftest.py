"""A real PostgreSQL for the store tests, and the two backends as one parameter.

``postgres_server`` starts one PostgreSQL 15 for the whole session (``tests/pgserver.py``: a
temporary folder, a loopback port, about two seconds) and stops it at the end, also when tests
fail. Without PostgreSQL's binaries it *fails* with what to install: CI has them, and a store
suite that silently ran on SQLite alone would prove nothing about PostgreSQL. ``postgres_url`` is
a fresh database on it for each test. ``location`` is what a store opens, once per backend: a
SQLite file in ``tmp_path``, or such a fresh database's URL.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..pgserver import PostgresUnavailable, create_database, start_postgres

_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server started for this test session (its ``postgres``
    database)."""
    try:
        url, stop = start_postgres()
    except PostgresUnavailable as exc:
        pytest.fail(f"the PostgreSQL store tests need a PostgreSQL server: {exc}")
    try:
        yield url
    finally:
        stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the session's server."""
    return create_database(postgres_server, f"test_{next(_names)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a store lives, once per backend: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "lamworks.db"
    return str(request.getfixturevalue("postgres_url"))
