"""How the ``v0_1_*.sql`` fixtures were made: the stores of lamworks 0.1 (commit 8202301), written
by that release's own code, so the upgrade test starts from exactly what an institution has.

Not a test (pytest does not collect it). To run it again, put the old release's packages first
on ``sys.path`` and give an output folder::

    mkdir -p /tmp/v01/pkg
    git archive 8202301 core knowledge plugins/healthcare | tar -x -C /tmp/v01
    ln -s /tmp/v01/core /tmp/v01/pkg/lamworks
    ln -s /tmp/v01/knowledge /tmp/v01/core/knowledge
    ln -s /tmp/v01/plugins/healthcare/lamworks_healthcare /tmp/v01/pkg/lamworks_healthcare
    .venv/bin/python tests/stores/data/make_v0_1.py /tmp/v01/pkg /tmp/v01/out

then dump each file of ``/tmp/v01/out/data`` with ``sqlite3.Connection.iterdump()`` into
``v0_1_<name>.sql``, and the token, the pending confirmation and the head file into
``v0_1_values.json``. The signing key is a fixed test seed (32 zero bytes), never a real one.
"""

import importlib
import sys
import textwrap
from pathlib import Path
from typing import Any


def old(module: str) -> Any:
    """``module`` from the old release (its folder is first on sys.path)."""
    imported = importlib.import_module(module)
    assert imported.__file__.startswith(sys.argv[1]), imported.__file__
    return imported


def main() -> None:
    sys.path.insert(0, sys.argv[1])
    out = Path(sys.argv[2])
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    (out / "lamworks.toml").write_text(textwrap.dedent("""
        data_dir = "data"
        [institution]
        name = "Release 0.1"
        timezone = "Europe/Paris"
        [roles.staff]
        scopes = ["user/*.cruds"]
        [users.alice]
        role = "staff"
        [auth]
        mode = "accounts"
    """))
    cfg = old("lamworks.config").load_config(out / "lamworks.toml")
    db = cfg.database_path
    sessions = old("lamworks.sessions")

    journal = old("lamworks.journal").Journal(db)
    journal.begin("key-done", session_id="s1", step_id="st1", tool="sample.add_note",
                  actor="alice", arguments_digest="d1")
    journal.complete("key-done", {"summary": "Note added.",
                                  "refs": [{"type": "Note", "id": "1"}]})
    journal.begin("key-failed", session_id="s1", step_id="st2", tool="sample.add_note",
                  actor="alice", arguments_digest="d2")
    journal.fail("key-failed", "the notes store was full")
    journal.mark_audited("key-done")
    journal.mark_audited("key-failed")
    store = sessions.SessionStore(db)
    store.save("s1", "alice", old("lamworks.planning").DialogState(), 0)
    confirmations = sessions.ConfirmationStore(db)
    used = confirmations.issue("s1", "st1", "sample.add_note", {"text": "hi"})
    confirmations.redeem(used, "s1", "st1", "sample.add_note", {"text": "hi"})
    pending = confirmations.issue("s1", "st3", "sample.add_note", {"text": "later"})
    rate = sessions.RateCounter(db)
    rate.hit("alice")
    rate.hit("alice")
    accounts = old("lamworks.accounts").AccountStore(cfg)
    accounts.add("dana", role="staff", password="correct horse battery staple")
    token = accounts.issue_token("dana", "script")
    accounts.start_session("dana")

    signing = old("lamworks.audit_signing")
    key = signing.load_private_key(b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    log = old("lamworks.audit").AuditLog(cfg.audit_path,
                                         signer=signing.CheckpointSigner(key, every=3))
    for i in range(7):
        log.append(actor="alice", role="staff", session_id="s1", event="step.executed",
                   tool="sample.add_note", step_id=f"st{i}", arguments={"text": f"note {i}"},
                   decisions=[{"policy": "core.scope", "outcome": "allow"}],
                   outcome="executed", detail={"idempotency_key": f"k{i}"})
    print(log.verify())
    log.close()

    fhir = old("lamworks_healthcare.store_local").LocalFHIRStore(data / "fhir.sqlite")
    fhir.create({"resourceType": "Patient", "id": "pat-1",
                 "name": [{"family": "Ruiz", "given": ["Ana"]}], "birthDate": "1980-02-03"})
    fhir.close()
    manifest_module = old("lamworks.knowledge.manifest")
    manifest = manifest_module.Manifest(data / "knowledge.sqlite")
    manifest.put_source("uploads-dana", "/srv/uploads", "staff", "Dana's uploads")
    manifest.put_file(manifest_module.FileRecord(
        source="uploads-dana", path="policy.md", sha256="ab" * 32, fingerprint="f1",
        access="staff", title="Late policy", chunk_ids=("c1", "c2"),
        ingested_at="2026-12-01T10:00:00Z", size=120))
    manifest.bump()
    manifest.close()
    for opened in (journal, store, confirmations, rate, accounts):
        opened.close()
    (out / "token.txt").write_text(token)
    (out / "confirmation.txt").write_text(pending)


if __name__ == "__main__":
    main()
