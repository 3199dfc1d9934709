"""The embedded FHIR store: one SQLite file in the institution's data folder.

Every write is validated (value sets, then fhir.resources in the configured release), stamped
with ``meta.versionId`` and ``meta.lastUpdated``, and kept in a history table. Writes run inside
``BEGIN IMMEDIATE`` transactions, so a version check (``if_match``) and the write it guards are
atomic across threads and processes: of two bookings of one slot, exactly one wins. Searches
load the type's current resources and filter them with :mod:`.search` (fine for a clinic's
thousands of rows; a larger deployment uses :class:`~.store_rest.RestFHIRStore`).

Patients are also indexed by their terms (``patient_terms``: the folded words of the name as
the extractors key it, the words of the names as searches match them, birth date, identifiers,
phone digits), written in the same transaction as the patient, so the index is exactly as
current as the resources, whichever process wrote them. :meth:`LocalFHIRStore.patient_names`
looks the names in an utterance up (the slot extractors), :meth:`~LocalFHIRStore.search` of
Patients by ``name``, ``birthdate`` or ``identifier`` reads only the candidates the index gives
(then filters them exactly as before): their cost follows the terms asked about, not the number
of patients. A file from before the index (or an older version of it) gets it filled once, when
first opened.

Threads: one connection per store, and a lock held for a whole unit of work (a read, or a
transaction from ``BEGIN IMMEDIATE`` to ``COMMIT``/``ROLLBACK``), so no thread's statements
ever land in another's transaction. A lock rather than a connection per thread (as the core's
stores have) because every unit of work here is short and in-process, the store is one object
the plugin shares through the runtime's services, and a write holds SQLite's write lock anyway:
a second connection would only wait on the file instead of on the lock. Processes serialise on
SQLite's file lock (busy timeout); a file that stays busy, or any other SQLite failure, is
raised as :class:`~.errors.ServerError` (the transaction rolled back, nothing written), never
as a raw ``sqlite3`` error.

The schema is :data:`MIGRATIONS` (``lamworks.migrations``, applied when the store opens);
migration 1 is the schema of the release before migrations, so a file that release wrote is
adopted as it is.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lamworks.crashpoints import crash_point
from lamworks.migrations import Migrations, Schema

from .errors import (
    FHIRStoreError,
    InvalidResource,
    MultipleMatches,
    ResourceNotFound,
    ServerError,
    VersionConflict,
)
from .search import SearchParams, matches
from .store import BundleEntry
from .validation import FHIRVersion, validate_resource

__all__ = ["MIGRATIONS", "LocalFHIRStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, last_updated TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL, PRIMARY KEY (type, id));
CREATE TABLE IF NOT EXISTS history (
    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, last_updated TEXT NOT NULL,
    deleted INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (type, id, version));
CREATE TABLE IF NOT EXISTS patient_terms (
    kind TEXT NOT NULL, term TEXT NOT NULL, id TEXT NOT NULL, display TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS patient_terms_by_term ON patient_terms (kind, term);
CREATE INDEX IF NOT EXISTS patient_terms_by_id ON patient_terms (id);
"""
MIGRATIONS = Migrations("fhir")
"""The embedded FHIR store's schema changes (``lamworks.migrations``)."""


@MIGRATIONS
def m001_fhir(schema: Schema) -> None:
    """Resources, their history and the patient index, as of the release before migrations."""
    schema.script(_SCHEMA)


_TERMS_VERSION = "2"
"""What ``patient_terms`` holds (2: name keys, name words, birth dates, identifiers, phones)."""


class LocalFHIRStore:
    """A validated, versioned FHIR resource store in one SQLite file (WAL mode)."""

    def __init__(self, path: Path | str, *, fhir_version: FHIRVersion = "R4B") -> None:
        self.path = Path(path)
        self.fhir_version: FHIRVersion = fhir_version
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        with _store_errors():
            self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                         check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            # Switching to WAL takes an exclusive lock the busy timeout does not always wait
            # for (processes opening a new file together): only ask when not in WAL yet.
            if str(self._conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            MIGRATIONS.apply(self._conn)
        self._fill_patient_terms()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"LocalFHIRStore({str(self.path)!r}, fhir_version={self.fhir_version!r})"

    # -- reads -----------------------------------------------------------------------------------

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        with self._lock, _store_errors():
            row = self._conn.execute(
                "SELECT body, deleted FROM resources WHERE type = ? AND id = ?",
                (resource_type, resource_id)).fetchone()
        if row is None or row["deleted"]:
            raise ResourceNotFound(f"{resource_type}/{resource_id} does not exist")
        return dict(json.loads(row["body"]))

    def search(self, resource_type: str,
               params: SearchParams | None = None) -> list[dict[str, Any]]:
        params = dict(params or {})
        candidates = self._patient_candidates(params) if resource_type == "Patient" else None
        with self._lock, _store_errors():
            if candidates is None:
                rows = self._conn.execute(
                    "SELECT body FROM resources WHERE type = ? AND deleted = 0 ORDER BY id",
                    (resource_type,)).fetchall()
            else:
                rows = []
                ordered = sorted(candidates)
                for start in range(0, len(ordered), 500):
                    chunk = ordered[start:start + 500]
                    rows += self._conn.execute(
                        f"SELECT body FROM resources WHERE type = 'Patient' AND deleted = 0 AND "
                        f"id IN ({', '.join('?' * len(chunk))}) ORDER BY id", chunk).fetchall()
        found = [r for r in (json.loads(row["body"]) for row in rows) if matches(r, params)]
        count = params.get("_count")
        return found[: int(str(count))] if count else found

    def count(self, resource_type: str | None = None) -> int:
        """How many live resources (of one type, or in all)."""
        sql = "SELECT COUNT(*) FROM resources WHERE deleted = 0"
        args: tuple[str, ...] = ()
        if resource_type:
            sql, args = sql + " AND type = ?", (resource_type,)
        with self._lock, _store_errors():
            return int(self._conn.execute(sql, args).fetchone()[0])

    def patients_by_term(self, kind: str, terms: Iterable[str]) -> list[tuple[str, str]]:
        """``(id, display name)`` of the live patients indexed under ``kind`` (``"name"``: the
        folded word runs of the name, space-joined, as :func:`.name_index.name_key` makes them;
        ``"birthdate"``, ``"identifier"``, ``"phone"`` digits; ``"unkeyed"``: names without a
        key, listed under the term ``""``) with one of ``terms``; one indexed query."""
        wanted = list(dict.fromkeys(terms))
        found: list[tuple[str, str]] = []
        with self._lock, _store_errors():
            for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
                chunk = wanted[start:start + 500]
                rows = self._conn.execute(
                    f"SELECT DISTINCT id, display FROM patient_terms WHERE kind = ? AND term "
                    f"IN ({', '.join('?' * len(chunk))}) ORDER BY id", (kind, *chunk)).fetchall()
                found.extend((str(row["id"]), str(row["display"])) for row in rows)
        return found

    def _patient_candidates(self, params: Mapping[str, Any]) -> set[str] | None:
        """The ids of the only patients that can match ``params`` (a superset, from the term
        index), or None when no parameter narrows the search."""
        found: set[str] | None = None
        for name, raw in params.items():
            for value in raw if isinstance(raw, list) else [raw]:
                ids = self._candidates_for(name, str(value))
                if ids is not None:
                    found = ids if found is None else found & ids
        return found

    def _candidates_for(self, name: str, value: str) -> set[str] | None:
        ids: set[str] = set()
        args: tuple[str, ...]
        for alternative in value.split(","):
            if name == "name":
                needle = alternative.strip().lower()
                if not needle:
                    return None
                sql, args = ("SELECT id FROM patient_terms WHERE kind = 'word' AND term >= ? "
                             "AND term < ?", (needle, needle + "\U0010ffff"))
            elif name == "identifier":
                code = alternative.rpartition("|")[2]
                sql, args = ("SELECT id FROM patient_terms WHERE kind = 'identifier' AND "
                             "lower(term) = lower(?)", (code,))
            elif name == "birthdate" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", alternative):
                sql, args = ("SELECT id FROM patient_terms WHERE kind = 'birthdate' AND "
                             "substr(term, 1, 10) = ?", (alternative,))
            else:
                return None
            with self._lock, _store_errors():
                ids.update(str(row[0]) for row in self._conn.execute(sql, args).fetchall())
        return ids

    def patient_names(self, keys: Iterable[str]) -> list[tuple[str, str]]:
        """``(id, display name)`` of the patients whose name key is one of ``keys``, and of those
        whose name has no key; one row per distinct name (the smallest id: the one a name found
        in an utterance stands for), so the cost follows the names asked about, not how many
        patients share them. One indexed query."""
        wanted = list(dict.fromkeys(keys))[:900]  # within SQLite's bound-parameter limit
        with self._lock, _store_errors():
            rows = self._conn.execute(
                f"SELECT MIN(id) AS id, display FROM patient_terms WHERE (kind = 'name' AND "
                f"term IN ({', '.join('?' * len(wanted))})) OR kind = 'unkeyed' "
                f"GROUP BY display ORDER BY id", wanted).fetchall()
        return [(str(row["id"]), str(row["display"])) for row in rows]

    def _fill_patient_terms(self) -> None:
        """Index the patients of a file written before ``patient_terms`` (or before its current
        version, :data:`_TERMS_VERSION`, kept as a row of kind ``"version"``) existed (once)."""
        check = "SELECT 1 FROM patient_terms WHERE kind = 'version' AND term = ?"
        with self._lock, _store_errors():
            if self._conn.execute(check, (_TERMS_VERSION,)).fetchone() is not None:
                return
        with self._write() as conn:
            if conn.execute(check, (_TERMS_VERSION,)).fetchone() is not None:
                return
            conn.execute("DELETE FROM patient_terms")
            for row in conn.execute("SELECT id, body FROM resources WHERE type = 'Patient' "
                                    "AND deleted = 0").fetchall():
                _index_patient(conn, str(row["id"]), json.loads(row["body"]))
            conn.execute("INSERT INTO patient_terms VALUES ('version', ?, '', '')",
                         (_TERMS_VERSION,))

    # -- change feed (for caches such as the extractors' name index) -------------------------------

    def change_cursor(self) -> int:
        """A position in the change feed: the newest ``history`` row (O(1), the rowid b-tree)."""
        with self._lock, _store_errors():
            return int(self._conn.execute(
                "SELECT COALESCE(MAX(rowid), 0) FROM history").fetchone()[0])

    def changes_since(self, cursor: int, resource_types: Iterable[str]
                      ) -> tuple[int, list[tuple[str, str, dict[str, Any] | None]]]:
        """What was written after ``cursor`` to resources of these types, oldest first, as
        ``(type, id, resource or None when deleted)``, with the new cursor.

        ``history`` is append-only (rows are never deleted or replaced), so its rowids grow with
        every committed write, by any connection or process; the query walks the rowid range
        only (``+type`` keeps SQLite off the (type, id, version) key), so the cost is the number
        of writes since ``cursor``, not the size of the store.
        """
        types = list(resource_types)
        marks = ", ".join("?" * len(types))
        with self._lock, _store_errors():
            newest = int(self._conn.execute(
                "SELECT COALESCE(MAX(rowid), 0) FROM history").fetchone()[0])
            if newest <= cursor or not types:
                return max(newest, cursor), []
            rows = self._conn.execute(
                f"SELECT type, id, deleted, body FROM history WHERE rowid > ? AND rowid <= ? "
                f"AND +type IN ({marks}) ORDER BY rowid", (cursor, newest, *types)).fetchall()
        return newest, [(row["type"], row["id"],
                         None if row["deleted"] else json.loads(row["body"])) for row in rows]

    # -- writes ----------------------------------------------------------------------------------

    def create(self, resource: Mapping[str, Any], *,
               if_none_exist: str | None = None) -> dict[str, Any]:
        entry = BundleEntry("POST", str(resource.get("resourceType", "")), dict(resource),
                            if_none_exist=if_none_exist)
        with self._write() as conn:
            return self._apply(conn, entry)  # type: ignore[return-value]

    def update(self, resource: Mapping[str, Any], *,
               if_match: str | None = None) -> dict[str, Any]:
        url = f"{resource.get('resourceType')}/{resource.get('id')}"
        with self._write() as conn:
            return self._apply(conn, BundleEntry("PUT", url, dict(resource),  # type: ignore
                                                 if_match=if_match))

    def delete(self, resource_type: str, resource_id: str) -> None:
        with self._write() as conn:
            self._apply(conn, BundleEntry("DELETE", f"{resource_type}/{resource_id}"))

    def transaction(self, entries: list[BundleEntry]) -> list[dict[str, Any]]:
        with self._write() as conn:
            written = []
            for entry in entries:
                written.append(self._apply(conn, entry))
                if len(written) == 1:
                    crash_point("mid_transaction")  # a test hook (lamworks.crashpoints)
        crash_point("after_commit")
        return written  # type: ignore[return-value]

    def load(self, resources: Iterable[Mapping[str, Any]]) -> int:
        """Write many resources (PUT at their ids) in one transaction; returns how many."""
        entries = [BundleEntry("PUT", f"{r['resourceType']}/{r['id']}", dict(r))
                   for r in resources]
        self.transaction(entries)
        return len(entries)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _store_errors():
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _apply(self, conn: sqlite3.Connection, entry: BundleEntry) -> dict[str, Any] | None:
        rtype, _, rid = entry.url.partition("/")
        if entry.method == "POST":
            assert entry.resource is not None
            if entry.if_none_exist:
                criteria = _parse_query(entry.if_none_exist)
                found = [r for r in self._live(conn, rtype) if matches(r, criteria)]
                if len(found) > 1:
                    raise MultipleMatches(
                        f"conditional create of {rtype} matched {len(found)} resources")
                if found:
                    return found[0]
            return self._write_resource(conn, {**entry.resource, "id": _new_id()}, None)
        if entry.method == "PUT":
            assert entry.resource is not None
            if entry.resource.get("id") not in (None, rid) or not rid:
                raise InvalidResource(f"the resource id does not match {entry.url}")
            if entry.resource.get("resourceType") != rtype:
                raise InvalidResource(f"the resource is not a {rtype}")
            return self._write_resource(conn, {**entry.resource, "id": rid}, entry.if_match)
        if entry.method == "DELETE":
            row = self._row(conn, rtype, rid)
            if row is not None and not row["deleted"]:
                if entry.if_match and str(row["version"]) != entry.if_match:
                    raise VersionConflict(f"{rtype}/{rid} was changed by someone else")
                self._store(conn, rtype, rid, int(row["version"]) + 1, row["body"], deleted=True)
            return None
        raise FHIRStoreError(f"unsupported transaction method {entry.method!r}")

    def _write_resource(self, conn: sqlite3.Connection, resource: dict[str, Any],
                        if_match: str | None) -> dict[str, Any]:
        rtype, rid = resource["resourceType"], resource["id"]
        row = self._row(conn, rtype, rid)
        current = None if row is None else int(row["version"])
        if if_match is not None and (row is None or row["deleted"] or str(current) != if_match):
            raise VersionConflict(f"{rtype}/{rid} was changed by someone else since it was read")
        version = (current or 0) + 1
        meta = {k: v for k, v in (resource.get("meta") or {}).items()
                if k not in ("versionId", "lastUpdated")}
        stamped = {**resource, "meta": {**meta, "versionId": str(version),
                                        "lastUpdated": _now()}}
        validate_resource(stamped, self.fhir_version)
        self._store(conn, rtype, rid, version, json.dumps(stamped, separators=(",", ":")))
        return stamped

    @staticmethod
    def _store(conn: sqlite3.Connection, rtype: str, rid: str, version: int, body: str,
               *, deleted: bool = False) -> None:
        stamp = _now()
        conn.execute("INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?)",
                     (rtype, rid, version, stamp, int(deleted), body))
        conn.execute("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?)",
                     (rtype, rid, version, stamp, int(deleted), body))
        if rtype == "Patient":
            _index_patient(conn, rid, None if deleted else json.loads(body))

    @staticmethod
    def _row(conn: sqlite3.Connection, rtype: str, rid: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT version, deleted, body FROM resources WHERE type = ? AND id = ?",
            (rtype, rid)).fetchone()
        return row

    @staticmethod
    def _live(conn: sqlite3.Connection, rtype: str) -> list[dict[str, Any]]:
        rows = conn.execute("SELECT body FROM resources WHERE type = ? AND deleted = 0",
                            (rtype,)).fetchall()
        return [json.loads(row["body"]) for row in rows]

    def history(self, resource_type: str, resource_id: str) -> list[dict[str, Any]]:
        """Every stored version, oldest first (deleted versions included)."""
        with self._lock, _store_errors():
            rows = self._conn.execute(
                "SELECT body FROM history WHERE type = ? AND id = ? ORDER BY version",
                (resource_type, resource_id)).fetchall()
        return [json.loads(row["body"]) for row in rows]


def _index_patient(conn: sqlite3.Connection, rid: str, patient: dict[str, Any] | None) -> None:
    """The patient's rows of ``patient_terms``, replaced (removed when ``patient`` is None)."""
    from .name_index import patient_terms

    conn.execute("DELETE FROM patient_terms WHERE id = ?", (rid,))
    if patient is not None:
        conn.executemany("INSERT INTO patient_terms VALUES (?, ?, ?, ?)",
                         [(kind, term, rid, display)
                          for kind, term, display in patient_terms(patient)])


@contextmanager
def _store_errors() -> Iterator[None]:
    """SQLite failures as :class:`ServerError`: what tools show people, never raw sqlite3."""
    try:
        yield
    except sqlite3.Error as exc:
        busy = isinstance(exc, sqlite3.OperationalError) and any(
            word in str(exc).lower() for word in ("locked", "busy"))
        raise ServerError("The clinic's records are busy right now; nothing was changed. "
                          "Please try again." if busy else
                          "The clinic's records could not be read or written; nothing was "
                          "changed.", diagnostics=str(exc)) from exc


def _parse_query(query: str) -> dict[str, str | list[str]]:
    from urllib.parse import parse_qsl

    params: dict[str, str | list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in params:
            existing = params[key]
            params[key] = [*(existing if isinstance(existing, list) else [existing]), value]
        else:
            params[key] = value
    return params


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_id() -> str:
    return uuid.uuid4().hex



