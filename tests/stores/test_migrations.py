"""Schema migrations: a data folder of the previous release is adopted and upgraded without losing
a row, the audit chain still verifies, and applying migrations again changes nothing, on both
backends.

The previous release is lamworks 0.1 (commit 8202301). Its files are rebuilt for each test from
``data/v0_1_*.sql``: SQL dumps of stores that release's own code wrote (``data/make_v0_1.py``
says how), including seven audit rows chained and signed by its audit code, so the chain checked
here was computed by the old release, not by the code under test.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamworks import AuditLog, StoreError
from lamworks.accounts import MIGRATIONS as ACCOUNTS
from lamworks.accounts import AccountStore
from lamworks.audit import MIGRATIONS as AUDIT
from lamworks.audit_signing import CheckpointSigner, load_private_key, verify_checkpoints
from lamworks.cli import app
from lamworks.config import load_config
from lamworks.database import open_database
from lamworks.journal import MIGRATIONS as JOURNAL
from lamworks.journal import Journal
from lamworks.knowledge.manifest import MIGRATIONS as MANIFEST
from lamworks.knowledge.manifest import Manifest
from lamworks.sessions import MIGRATIONS as SESSIONS
from lamworks.sessions import ConfirmationStore, RateCounter, SessionStore
from lamworks_healthcare.store_local import MIGRATIONS as FHIR
from lamworks_healthcare.store_local import LocalFHIRStore

DATA = Path(__file__).parent / "data"
VALUES = json.loads((DATA / "v0_1_values.json").read_text(encoding="utf-8"))
FILES = {"lamworks_db": "lamworks.db", "audit_db": "audit.db", "fhir": "fhir.sqlite",
         "knowledge": "knowledge.sqlite"}
CORE = (JOURNAL, SESSIONS, ACCOUNTS, AUDIT)


def _tables_and_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                            " AND name NOT LIKE 'sqlite_%'")]
        return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
                for name in names}
    finally:
        conn.close()


def _recorded(path: Path) -> dict[str, list[int]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT store, version FROM _migrations ORDER BY store, version")
        found: dict[str, list[int]] = {}
        for store, version in rows:
            found.setdefault(store, []).append(version)
        return found
    finally:
        conn.close()


@pytest.fixture
def v0_1(tmp_path: Path) -> Path:
    """A lamworks.toml whose data folder holds the 0.1 release's files, as it left them."""
    data = tmp_path / "data"
    data.mkdir()
    for name, file in FILES.items():
        conn = sqlite3.connect(data / file)
        conn.executescript((DATA / f"v0_1_{name}.sql").read_text(encoding="utf-8"))
        conn.close()
    (data / "audit.db.head").write_text(json.dumps(VALUES["audit_head_file"]), encoding="utf-8")
    config = tmp_path / "lamworks.toml"
    config.write_text(textwrap.dedent("""
        data_dir = "data"
        [institution]
        name = "Release 0.1"
        timezone = "Europe/Paris"
        [plugins]
        allow = []
        [roles.staff]
        scopes = ["user/*.cruds"]
        [users.alice]
        role = "staff"
        [auth]
        mode = "accounts"
    """), encoding="utf-8")
    return config


def test_a_v0_1_data_folder_is_adopted_and_upgraded_without_losing_a_row(v0_1: Path) -> None:
    config = load_config(v0_1)
    data = config.data_dir
    before = {file: _tables_and_counts(data / file) for file in FILES.values()}
    assert all("_migrations" not in tables for tables in before.values())

    signer = CheckpointSigner(load_private_key(VALUES["signing_seed_base64"]), every=3)
    journal, sessions = Journal(config.database_path), SessionStore(config.database_path)
    confirmations = ConfirmationStore(config.database_path)
    rate, accounts = RateCounter(config.database_path), AccountStore(config)
    log = AuditLog(config.audit_path, signer=signer)
    fhir = LocalFHIRStore(data / "fhir.sqlite")
    manifest = Manifest(data / "knowledge.sqlite")

    # Every table kept every row; the only new tables are _migrations and the (empty)
    # transcript of sessions' migration 3.
    new_tables = {"_migrations", "transcript"}
    for file, tables in before.items():
        after = _tables_and_counts(data / file)
        assert {k: v for k, v in after.items() if k not in new_tables} == tables, file
    assert _tables_and_counts(config.database_path)["transcript"] == 0
    assert _recorded(config.database_path) == {"accounts": [1, 2], "journal": [1],
                                               "sessions": [1, 2, 3]}
    assert _recorded(config.audit_path) == {"audit": [1]}
    assert _recorded(data / "fhir.sqlite") == {"fhir": [1]}
    assert _recorded(data / "knowledge.sqlite") == {"knowledge-manifest": [1]}
    conn = sqlite3.connect(config.database_path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert {"rate_events_ts", "web_sessions_expires"} <= indexes  # migrations 2 ran

    # What the old release wrote still means what it meant.
    done = journal.get("key-done")
    assert done is not None and done.status == "done" and done.result["summary"] == "Note added."
    assert journal.begin("key-done", session_id="s1", step_id="st1", tool="sample.add_note",
                         actor="alice", arguments_digest="d1") is not None
    assert sessions.load("s1", "alice")[1] == 1
    confirmations.redeem(VALUES["pending_confirmation"], "s1", "st3", "sample.add_note",
                         {"text": "later"})
    assert rate.hit("alice") >= 1
    assert accounts.identity_for_token(VALUES["api_token"]).username == "dana"
    [patient] = fhir.search("Patient", {"name": "ruiz"})  # through the 0.1 name index
    assert patient["birthDate"] == "1980-02-03"
    assert [record.title for record in manifest.files("uploads-dana").values()] == ["Late policy"]
    assert manifest.generation() == 1

    # The chain the old release computed and signed verifies, and grows on as one chain.
    assert str(log.verify()) == "OK: 7 rows, chain intact"
    assert verify_checkpoints(log, signer.public_key).ok
    log.append(actor="alice", role="staff", session_id="s1", event="step.executed")
    for store in (journal, sessions, confirmations, rate, accounts, log, fhir, manifest):
        store.close()
    result = CliRunner().invoke(app, ["audit", "verify", "--config", str(v0_1)])
    assert result.exit_code == 0, result.output
    assert "OK: 8 rows, chain intact" in result.output
    reopened = AuditLog(config.audit_path)
    assert verify_checkpoints(reopened, signer.public_key).ok
    reopened.close()

    # Opening again applies nothing.
    recorded = _recorded(config.database_path)
    Journal(config.database_path).close()
    AccountStore(config).close()
    assert _recorded(config.database_path) == recorded


def test_applying_the_migrations_twice_is_a_no_op(location: Path | str) -> None:
    db = open_database(location, what="test database")
    try:
        first = {m.store: m.apply(db) for m in CORE}
        assert first == {m.store: [s.name for s in m.steps] for m in CORE}
        rows = db.fetchall("SELECT store, version, name, applied FROM _migrations "
                           "ORDER BY store, version")
        assert {m.store: m.apply(db) for m in CORE} == {m.store: [] for m in CORE}
        assert db.fetchall("SELECT store, version, name, applied FROM _migrations "
                           "ORDER BY store, version") == rows
        assert {m.store: sorted(m.applied(db)) for m in CORE} == {
            m.store: list(range(1, m.version + 1)) for m in CORE}
        assert {"journal", "sessions", "confirmations", "rate_events", "accounts",
                "api_tokens", "web_sessions", "audit", "audit_head",
                "audit_checkpoint"} <= db.tables()
    finally:
        db.close()


def test_the_sqlite_only_stores_apply_their_migrations_once(tmp_path: Path) -> None:
    for migrations, opener, file in ((FHIR, LocalFHIRStore, "fhir.sqlite"),
                                     (MANIFEST, Manifest, "knowledge.sqlite")):
        opener(tmp_path / file).close()
        conn = sqlite3.connect(tmp_path / file)
        assert migrations.apply(conn) == []
        conn.close()
        assert _recorded(tmp_path / file) == {migrations.store: [1]}


def test_a_database_written_by_a_newer_release_is_refused(location: Path | str) -> None:
    Journal(location).close()
    db = open_database(location, what="test database")
    db.execute("INSERT INTO _migrations (store, version, name, applied) "
               "VALUES ('journal', 99, 'm099_future', 0)")
    db.close()
    with pytest.raises(StoreError, match="journal schema version 99 .* newer than this release"):
        Journal(location)


def test_replicas_starting_together_on_a_new_database_migrate_it_once(postgres_url: str) -> None:
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_stores() -> None:
        start.wait()
        try:
            for store in (AuditLog(postgres_url), Journal(postgres_url),
                          SessionStore(postgres_url)):
                store.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_stores) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db = open_database(postgres_url)
    rows = db.fetchall("SELECT store, version FROM _migrations ORDER BY store, version")
    db.close()
    assert [(r["store"], r["version"]) for r in rows] == [
        ("audit", 1), ("journal", 1), ("sessions", 1), ("sessions", 2), ("sessions", 3)]
