"""The ingestion manifest: which file of which source was ingested, at what content hash.

What lives here: :class:`Manifest`, a SQLite file (``<data_dir>/knowledge.sqlite``) with one row
per ingested file — source, path relative to the source folder, fingerprint (content hash plus
everything else that changes the chunks), access label, chunk ids — the owner of each upload
source (people's uploads, as opposed to plugins' and configured sources), and a ``generation``
number that every change bumps, so a process holding a lexical index knows when another process (the
CLI, another UI replica on the same data folder) has changed the collections.

What does not: the chunks themselves (Chroma holds them) or the vectors (the embedding cache).

The schema is :data:`MIGRATIONS` (:mod:`lamworks.migrations`, applied when the manifest opens);
migration 1 is the schema of the release before migrations, so a file that release wrote is
adopted as it is.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lamworks.migrations import Migrations, Schema

__all__ = ["MIGRATIONS", "FileRecord", "Manifest"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,
    fingerprint TEXT NOT NULL, access TEXT NOT NULL, title TEXT NOT NULL,
    chunk_ids TEXT NOT NULL, ingested_at TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (source, path));
CREATE TABLE IF NOT EXISTS sources (
    source TEXT PRIMARY KEY, root TEXT NOT NULL, access TEXT NOT NULL,
    description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS upload_owners (
    source TEXT PRIMARY KEY, owner TEXT NOT NULL, created TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
"""

MIGRATIONS = Migrations("knowledge-manifest")
"""The manifest's schema changes (:mod:`lamworks.migrations`)."""


@MIGRATIONS
def m001_manifest(schema: Schema) -> None:
    """Files, sources, the generation counter and upload owners, as of the release before
    migrations."""
    schema.script(_SCHEMA)


@dataclass(frozen=True)
class FileRecord:
    """One ingested file."""

    source: str
    path: str
    sha256: str
    fingerprint: str
    access: str
    title: str
    chunk_ids: tuple[str, ...]
    ingested_at: str
    size: int


class Manifest:
    """Files ingested per source; safe to share between processes (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        MIGRATIONS.apply(self._conn)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def generation(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0])

    def bump(self) -> None:
        with self._lock:
            self._conn.execute("UPDATE meta SET value = value + 1 WHERE key='generation'")

    def files(self, source: str) -> dict[str, FileRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT source, path, sha256, fingerprint, access, title, chunk_ids, "
                "ingested_at, size FROM files WHERE source = ? ORDER BY path", (source,)
            ).fetchall()
        return {
            row[1]: FileRecord(row[0], row[1], row[2], row[3], row[4], row[5],
                               tuple(json.loads(row[6])), row[7], int(row[8]))
            for row in rows
        }

    def put_file(self, record: FileRecord) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.source, record.path, record.sha256, record.fingerprint, record.access,
                 record.title, json.dumps(list(record.chunk_ids)), record.ingested_at,
                 record.size),
            )

    def remove_file(self, source: str, path: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM files WHERE source = ? AND path = ?", (source, path))

    def put_source(self, source: str, root: str, access: str, description: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)",
                               (source, root, access, description))

    def sources(self) -> dict[str, tuple[str, str, str]]:
        """source -> (root folder, default access, description)."""
        with self._lock:
            rows = self._conn.execute("SELECT source, root, access, description FROM sources "
                                      "ORDER BY source").fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def remove_source(self, source: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM files WHERE source = ?", (source,))
            self._conn.execute("DELETE FROM sources WHERE source = ?", (source,))
            self._conn.execute("DELETE FROM upload_owners WHERE source = ?", (source,))

    def claim_upload(self, source: str, owner: str, created: str) -> str:
        """Record ``source`` as an upload source owned by ``owner`` unless it already has an
        owner; returns the owner it has (the first claim wins, atomically)."""
        with self._lock:
            self._conn.execute("INSERT OR IGNORE INTO upload_owners VALUES (?, ?, ?)",
                               (source, owner, created))
            row = self._conn.execute("SELECT owner FROM upload_owners WHERE source = ?",
                                     (source,)).fetchone()
        return str(row[0])

    def upload_owners(self) -> dict[str, str]:
        """Upload sources (made through :func:`lamworks.ui.services.upload_documents`) and
        their owners; every other source belongs to a plugin, the configuration or an
        operator."""
        with self._lock:
            rows = self._conn.execute("SELECT source, owner FROM upload_owners "
                                      "ORDER BY source").fetchall()
        return {row[0]: row[1] for row in rows}

    def close(self) -> None:
        with self._lock:
            self._conn.close()
