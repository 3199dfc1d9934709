"""Signed checkpoints: rewriting the audit chain without the private key is detected.

The attacker here can write the data folder (drop the triggers, rewrite rows, recompute every
hash, the head record and the head file, recreate the database) but does not hold the signing key.
"""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from lamworks import (
    AuditCheckpoint,
    AuditLog,
    CheckpointSigner,
    ConfigError,
    Runtime,
    load_config,
    verify_checkpoints,
)
from lamworks.audit import _CONTENT_FIELDS, _row_hash
from lamworks.audit_signing import read_checkpoints, write_checkpoint, write_key_pair
from lamworks.cli import app

EVERY = 5
ROWS = 12  # checkpoints at rows 1 (the first), 5 and 10 (periodic) and 12 (at close)


@pytest.fixture
def signer() -> CheckpointSigner:
    return CheckpointSigner(Ed25519PrivateKey.generate(), every=EVERY)


def _append(log: AuditLog, i: int, text: str | None = None) -> None:
    log.append(actor=f"user{i}", role="staff", session_id="s", event="step.executed",
               tool="sample.add_note", step_id=f"step{i}",
               arguments={"text": text or f"note {i}"}, outcome="executed")


def _signed_log(folder: Path, signer: CheckpointSigner, n: int = ROWS) -> Path:
    log = AuditLog(folder / "audit.db", signer=signer)
    for i in range(1, n + 1):
        _append(log, i)
    log.close()
    return log.path


# -- what an attacker with write access to the data folder does ----------------------------------

def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    for trigger in ("audit_no_update", "audit_no_delete", "audit_checkpoint_no_update",
                    "audit_checkpoint_no_delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for sql in statements:
        db.execute(sql)
    db.commit()
    db.close()


def _contents(path: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    rows = [{name: row[name] for name in _CONTENT_FIELDS}
            for row in db.execute("SELECT * FROM audit ORDER BY seq")]
    db.close()
    return rows


def _rechain(path: Path, contents: list[dict[str, Any]]) -> None:
    """Replace every row by ``contents`` renumbered 1..n, with a valid chain and both heads."""
    _sql(path, "DELETE FROM audit")
    db = sqlite3.connect(path)
    prev = "0" * 64
    for seq, content in enumerate(contents, 1):
        content = {**content, "seq": seq}
        row_hash = _row_hash(prev, content)
        db.execute(f"INSERT INTO audit ({', '.join(_CONTENT_FIELDS)}, prev_hash, hash) "
                   f"VALUES ({', '.join('?' * (len(_CONTENT_FIELDS) + 2))})",
                   (*(content[name] for name in _CONTENT_FIELDS), prev, row_hash))
        prev = row_hash
    db.execute("UPDATE audit_head SET seq = ?, hash = ?", (len(contents), prev))
    db.commit()
    db.close()
    _forge_head_file(path, len(contents), prev)


def _forge_head_file(path: Path, seq: int, row_hash: str) -> None:
    head = path.with_name(path.name + ".head")
    head.write_text(json.dumps({"seq": seq, "hash": row_hash, "written": time.time()}))


def _forged(content: dict[str, Any]) -> dict[str, Any]:
    return {**content, "actor": "mallory", "arguments": '{"text":"forged"}'}


def edit(path: Path) -> None:
    _sql(path, "UPDATE audit SET arguments = '{\"text\":\"forged\"}' WHERE seq = 4")


def edit_and_rechain(path: Path) -> None:
    rows = _contents(path)
    rows[3] = _forged(rows[3])
    _rechain(path, rows)


def delete(path: Path) -> None:
    _sql(path, "DELETE FROM audit WHERE seq = 3")


def delete_and_rechain(path: Path) -> None:
    rows = _contents(path)
    del rows[2]
    _rechain(path, rows)


def reorder(path: Path) -> None:
    _sql(path, "UPDATE audit SET seq = -2 WHERE seq = 2", "UPDATE audit SET seq = 2 WHERE seq = 3",
         "UPDATE audit SET seq = 3 WHERE seq = -2")


def reorder_and_rechain(path: Path) -> None:
    rows = _contents(path)
    rows[1], rows[2] = rows[2], rows[1]
    _rechain(path, rows)


def truncate(path: Path) -> None:
    _sql(path, "DELETE FROM audit WHERE seq >= 8")


def truncate_with_forged_heads(path: Path) -> None:
    _rechain(path, _contents(path)[:7])


def truncate_and_rewrite_recreated(path: Path) -> None:
    """The issue's attacker: a new database (no triggers, no checkpoints), forged rows, heads."""
    for suffix in ("", "-wal", "-shm", ".head"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    forged = AuditLog(path)
    for i in range(1, ROWS + 1):
        _append(forged, i, text="forged" if i == 4 else None)
    forged.close()


def truncate_and_rewrite_dropping_checkpoints(path: Path) -> None:
    rows = _contents(path)
    _sql(path, "DELETE FROM audit_checkpoint")
    _rechain(path, [*rows[:3], *(_forged(r) for r in rows[3:])])


def truncate_and_rewrite_dropping_newer_checkpoints(path: Path) -> None:
    rows = _contents(path)
    _sql(path, "DELETE FROM audit_checkpoint WHERE seq > 5")
    _rechain(path, [*rows[:6], *(_forged(r) for r in rows[6:])])


def remove_the_first_checkpoint(path: Path) -> None:
    _sql(path, "DELETE FROM audit_checkpoint WHERE seq = 1")


def remove_a_middle_checkpoint(path: Path) -> None:
    _sql(path, "DELETE FROM audit_checkpoint WHERE seq = 10")


def edit_a_checkpoint_to_match(path: Path) -> None:
    edit_and_rechain(path)
    new_hashes = {r["seq"]: r["hash"] for r in _raw(path, "SELECT seq, hash FROM audit")}
    _sql(path, *(f"UPDATE audit_checkpoint SET hash = '{new_hashes[s]}' WHERE seq = {s}"
                 for s in (5, 10, 12)))


def _raw(path: Path, sql: str) -> list[sqlite3.Row]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    rows = db.execute(sql).fetchall()
    db.close()
    return rows


def forge_checkpoints_with(forger: CheckpointSigner) -> Callable[[Path], None]:
    def attack(path: Path) -> None:
        edit_and_rechain(path)
        _sql(path, "DELETE FROM audit_checkpoint")
        db = sqlite3.connect(path)
        db.row_factory = sqlite3.Row
        for seq, row_hash in db.execute("SELECT seq, hash FROM audit WHERE seq IN (5, 10, 12) "
                                        "ORDER BY seq").fetchall():
            write_checkpoint(db, forger, seq, row_hash)
        db.commit()
        db.close()
    return attack


class _ImpostorSigner(CheckpointSigner):
    """Signs with its own key but writes the real key's id into the checkpoint."""

    def __init__(self, real: CheckpointSigner) -> None:
        super().__init__(Ed25519PrivateKey.generate(), every=real.every)
        self.key_id = real.key_id


# (attack, does the unsigned verify still pass?, what the signed verify must say)
ATTACKS: list[tuple[str, Callable[..., Any], bool, str]] = [
    ("edit", edit, False, "row content does not match its hash"),
    ("edit, chain and heads recomputed", edit_and_rechain, True,
     "row 5 does not match its checkpoint"),
    ("delete", delete, False, "row 3 is missing"),
    ("delete, chain and heads recomputed", delete_and_rechain, True,
     "row 5 does not match its checkpoint"),
    ("reorder", reorder, False, "BROKEN at row 2"),
    ("reorder, chain and heads recomputed", reorder_and_rechain, True,
     "row 5 does not match its checkpoint"),
    ("truncate", truncate, False, "the tail was truncated"),
    ("truncate, heads forged", truncate_with_forged_heads, True,
     "the chain was cut: row 10 was signed"),
    ("truncate and rewrite: database recreated", truncate_and_rewrite_recreated, True,
     "no signed checkpoint: the log has 12 rows and none is signed"),
    ("truncate and rewrite: all checkpoints removed", truncate_and_rewrite_dropping_checkpoints,
     True, "no signed checkpoint"),
    ("truncate and rewrite: newer checkpoints removed",
     truncate_and_rewrite_dropping_newer_checkpoints, True,
     "row 10 has no signed checkpoint though one is written every 5 rows"),
    ("the first checkpoint removed", remove_the_first_checkpoint, True,
     "the checkpoints before the one of row 5 were removed"),
    ("a checkpoint removed", remove_a_middle_checkpoint, True,
     "the checkpoint of row 12 follows one of row 10, not the stored one of row 5"),
    ("checkpoints edited to match a rewritten chain", edit_a_checkpoint_to_match, True,
     "the checkpoint of row 5 has an invalid signature (it was altered after signing"),
]


@pytest.mark.parametrize(("name", "attack", "unsigned_passes", "message"), ATTACKS,
                         ids=[a[0] for a in ATTACKS])
def test_rewriting_without_the_key_is_detected(
    tmp_path: Path, signer: CheckpointSigner, name: str, attack: Callable[[Path], None],
    unsigned_passes: bool, message: str,
) -> None:
    path = _signed_log(tmp_path, signer)
    attack(path)
    log = AuditLog(path)
    assert log.verify().ok is unsigned_passes
    report = verify_checkpoints(log, signer.public_key)
    assert not report.ok
    assert message in str(report)


def test_checkpoints_forged_with_another_key_are_rejected(
    tmp_path: Path, signer: CheckpointSigner
) -> None:
    path = _signed_log(tmp_path, signer)
    forger = CheckpointSigner(Ed25519PrivateKey.generate(), every=EVERY)
    forge_checkpoints_with(forger)(path)
    log = AuditLog(path)
    assert log.verify().ok
    assert verify_checkpoints(log, forger.public_key).ok  # consistent under the forger's key
    report = verify_checkpoints(log, signer.public_key)
    assert not report.ok and report.first_bad == 5
    assert (f"invalid signature (it names key {forger.key_id}, not the given key "
            f"{signer.key_id}") in str(report)


def test_a_forged_checkpoint_naming_the_real_key_is_rejected(
    tmp_path: Path, signer: CheckpointSigner
) -> None:
    path = _signed_log(tmp_path, signer)
    forge_checkpoints_with(_ImpostorSigner(signer))(path)
    report = verify_checkpoints(AuditLog(path), signer.public_key)
    assert not report.ok and "altered after signing, or forged" in str(report)


# -- what is signed, and when -------------------------------------------------------------------

def test_the_head_is_signed_every_n_rows_and_at_close(tmp_path: Path,
                                                     signer: CheckpointSigner) -> None:
    path = _signed_log(tmp_path, signer)
    checkpoints = read_checkpoints(path)
    assert [(c.seq, c.prev_seq) for c in checkpoints] == [(1, 0), (5, 1), (10, 5), (12, 10)]
    assert all(c.key_id == signer.key_id and c.every == EVERY for c in checkpoints)
    AuditLog(path, signer=signer).close()  # the head is already signed: nothing new
    assert len(read_checkpoints(path)) == 4
    report = verify_checkpoints(AuditLog(path), signer.public_key)
    assert report.ok, str(report)
    assert "OK: 12 rows, chain intact; 4 signed checkpoints verified, the latest at row 12" in (
        str(report))


def test_rows_after_the_latest_checkpoint_are_reported_as_not_signed_yet(
    tmp_path: Path, signer: CheckpointSigner
) -> None:
    log = AuditLog(tmp_path / "audit.db", signer=signer)
    for i in range(1, 8):
        _append(log, i)  # the writer stops here without closing (a crash)
    report = verify_checkpoints(AuditLog(log.path), signer.public_key)
    assert report.ok and report.unsigned_tail == 2
    assert "rows 6..7 are not signed yet" in str(report)


def test_verifying_a_log_being_written_raises_no_false_alarm(tmp_path: Path,
                                                            signer: CheckpointSigner) -> None:
    writer = AuditLog(tmp_path / "audit.db", signer=CheckpointSigner(signer._private_key, every=2))
    done = threading.Event()

    def write() -> None:
        for i in range(1, 61):
            _append(writer, i)
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    reader = AuditLog(writer.path)
    reports = []
    while not done.is_set():
        reports.append(verify_checkpoints(reader, signer.public_key, every=2))
    thread.join()
    writer.close()
    # The checkpoints raise no false alarm (whether the chain's own check can race a writer is
    # tests/test_audit.py's business).
    assert len(reports) > 1 and all(r.ok for r in reports if r.chain.ok), [
        str(r) for r in reports if r.chain.ok and not r.ok]
    assert verify_checkpoints(reader, signer.public_key).ok


def test_without_a_signer_nothing_is_signed(tmp_path: Path, signer: CheckpointSigner) -> None:
    log = AuditLog(tmp_path / "audit.db")
    for i in range(1, 7):
        _append(log, i)
    log.close()
    assert read_checkpoints(log.path) == []
    assert AuditLog(log.path).verify().ok


def test_signing_turned_on_later_covers_the_earlier_rows(tmp_path: Path,
                                                          signer: CheckpointSigner) -> None:
    log = AuditLog(tmp_path / "audit.db")
    for i in range(1, 4):
        _append(log, i)
    log.close()
    _signed_log(tmp_path, signer, n=3)  # three more rows, signed from now on
    assert [c.seq for c in read_checkpoints(log.path)] == [4, 5, 6]
    assert verify_checkpoints(AuditLog(log.path), signer.public_key).ok


def test_after_a_key_rotation_both_public_keys_verify(tmp_path: Path,
                                                      signer: CheckpointSigner) -> None:
    _signed_log(tmp_path, signer, n=6)
    new = CheckpointSigner(Ed25519PrivateKey.generate(), every=EVERY)
    path = _signed_log(tmp_path, new, n=6)
    assert [c.key_id for c in read_checkpoints(path)] == [signer.key_id] * 3 + [new.key_id] * 2
    assert verify_checkpoints(AuditLog(path), [signer.public_key, new.public_key]).ok
    only_new = verify_checkpoints(AuditLog(path), new.public_key)
    assert not only_new.ok and f"it names key {signer.key_id}" in str(only_new)


def test_the_checkpoint_table_is_append_only(tmp_path: Path, signer: CheckpointSigner) -> None:
    path = _signed_log(tmp_path, signer)
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_checkpoint SET hash = 'x' WHERE seq = 5")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_checkpoint WHERE seq = 12")
    db.close()


def test_an_anchor_kept_elsewhere_catches_a_rollback_the_log_alone_cannot(
    tmp_path: Path, signer: CheckpointSigner
) -> None:
    path = _signed_log(tmp_path, signer)
    anchor = AuditCheckpoint.from_json(json.loads(json.dumps(read_checkpoints(path)[-1].to_json())))
    # Roll back to row 7 and remove the two newer checkpoints: short of the next periodic
    # checkpoint (row 10), so the log alone looks like a writer that stopped at row 7.
    _sql(path, "DELETE FROM audit_checkpoint WHERE seq > 5")
    truncate_with_forged_heads(path)
    log = AuditLog(path)
    assert verify_checkpoints(log, signer.public_key).ok  # the documented limit
    report = verify_checkpoints(log, signer.public_key, anchors=[anchor])
    assert not report.ok
    assert "the anchored checkpoint signed row 12" in str(report)
    assert "the log ends at row 7" in str(report)


def test_an_anchor_signed_by_another_key_is_rejected(tmp_path: Path,
                                                     signer: CheckpointSigner) -> None:
    path = _signed_log(tmp_path, signer)
    forger = CheckpointSigner(Ed25519PrivateKey.generate(), every=EVERY)
    real = read_checkpoints(path)[-1]
    fake = forger.sign(real.seq, real.hash, prev_seq=real.prev_seq)
    report = verify_checkpoints(AuditLog(path), signer.public_key, anchors=[fake])
    assert not report.ok and "anchored checkpoint of row 12 has an invalid signature" in (
        str(report))


def test_anchor_json_is_checked_on_reading() -> None:
    with pytest.raises(ValueError, match="not an audit checkpoint"):
        AuditCheckpoint.from_json({"seq": 1})
    with pytest.raises(ValueError, match="'signature'"):
        AuditCheckpoint.from_json({"format": "lamworks-audit-checkpoint/1", "seq": 1,
                                   "hash": "h", "time": "t", "every": 1, "prev_seq": 0,
                                   "key_id": "k"})


# -- configuration ------------------------------------------------------------------------------

def _config(tmp_path: Path, audit: str) -> Path:
    path = tmp_path / "lamworks.toml"
    path.write_text(f"data_dir = 'data'\n[institution]\nname = 'x'\n[audit]\n{audit}\n",
                    encoding="utf-8")
    return path


def test_a_key_file_is_resolved_against_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    write_key_pair(tmp_path / "keys" / "audit.key")
    config = load_config(_config(tmp_path, "signing_key_file = 'keys/audit.key'\n"
                                           "checkpoint_every = 7"))
    assert config.audit.signing_key_file == tmp_path / "keys" / "audit.key"
    signer = CheckpointSigner.from_config(config)
    assert signer is not None and signer.every == 7


def test_without_a_key_configured_there_is_no_signer(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, ""))
    assert config.audit.checkpoint_every == 100
    assert CheckpointSigner.from_config(config) is None


BAD_AUDIT = [
    ("both key sources", "signing_key_file = '/k'\nsigning_key_env = 'K'", "audit: give "
     "signing_key_file or signing_key_env, not both"),
    ("key in the data folder", "signing_key_file = 'data/audit.key'",
     "audit.signing_key_file: "),
    ("bad variable name", "signing_key_env = 'not a name'", "audit.signing_key_env"),
    ("zero interval", "checkpoint_every = 0", "audit.checkpoint_every"),
    ("unknown key", "signing_key = 'x'", "audit.signing_key"),
]


@pytest.mark.parametrize(("kind", "text", "message"), BAD_AUDIT, ids=[b[0] for b in BAD_AUDIT])
def test_bad_audit_settings_name_the_key(tmp_path: Path, kind: str, text: str,
                                         message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_config(tmp_path, text))
    assert message in str(info.value)


def test_an_unusable_key_names_the_key_and_never_echoes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(_config(tmp_path, "signing_key_env = 'LAMWORKS_TEST_AUDIT_KEY'"))
    monkeypatch.delenv("LAMWORKS_TEST_AUDIT_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"audit\.signing_key_env: the environment variable "
                                          r"LAMWORKS_TEST_AUDIT_KEY is not set"):
        CheckpointSigner.from_config(config)
    monkeypatch.setenv("LAMWORKS_TEST_AUDIT_KEY", "c2VjcmV0LXNlZWQ=")
    with pytest.raises(ConfigError) as info:
        CheckpointSigner.from_config(config)
    assert "audit.signing_key_env" in str(info.value)
    assert "c2VjcmV0LXNlZWQ=" not in str(info.value)
    missing = load_config(_config(tmp_path, "signing_key_file = '/nonexistent/audit.key'"))
    with pytest.raises(ConfigError, match=r"audit\.signing_key_file: cannot read"):
        CheckpointSigner.from_config(missing)


def test_the_runtime_signs_the_head_when_it_closes(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    install_plugins(sample="lamworks_sample")
    write_key_pair(tmp_path / "audit.key")
    monkeypatch.setenv("LAMWORKS_TEST_AUDIT_KEY", (tmp_path / "audit.key").read_text())
    runtime = Runtime(load_config(write_config(
        extra="[audit]\nsigning_key_env = 'LAMWORKS_TEST_AUDIT_KEY'\n")))
    runtime.handle("s1", "alice", "count my notes")
    head = runtime.audit.head()
    assert head[0] >= 1
    runtime.close()
    latest = read_checkpoints(runtime.audit.path)[-1]
    assert (latest.seq, latest.hash) == head


# -- the command line ---------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A config signing with a key outside the data folder, a 12-row signed log, the .pub file."""
    keys = tmp_path / "keys"
    keys.mkdir()
    result = runner.invoke(app, ["audit", "keygen", "--out", str(keys / "audit.key")])
    assert result.exit_code == 0, result.output
    config = _config(tmp_path, f"signing_key_file = '{keys / 'audit.key'}'\n"
                               f"checkpoint_every = {EVERY}")
    signer = CheckpointSigner.from_config(load_config(config))
    assert signer is not None
    path = _signed_log(tmp_path / "data", signer)
    return config, path, keys / "audit.key.pub"


def test_cli_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "keygen", "--out", str(tmp_path / "k")])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert "BEGIN PUBLIC KEY" in (tmp_path / "k.pub").read_text()
    assert "signing_key_file" in result.stdout and "[audit]" in result.stdout
    again = runner.invoke(app, ["audit", "keygen", "--out", str(tmp_path / "k")])
    assert again.exit_code == 2 and "will not overwrite" in again.stderr


def test_cli_verify_with_the_public_key(deployment: tuple[Path, Path, Path]) -> None:
    config, path, public = deployment
    ok = runner.invoke(app, ["audit", "verify", "--key", str(public), "--config", str(config)])
    assert ok.exit_code == 0, ok.output
    assert "4 signed checkpoints verified" in ok.stdout
    truncate_and_rewrite_dropping_newer_checkpoints(path)
    unsigned = runner.invoke(app, ["audit", "verify", "--config", str(_unsigned(config))])
    assert unsigned.exit_code == 0 and "OK: 12 rows" in unsigned.stdout
    bad = runner.invoke(app, ["audit", "verify", "--key", str(public), "--config", str(config)])
    assert bad.exit_code == 1
    assert "BROKEN at row 10: row 10 has no signed checkpoint" in bad.stderr


def _unsigned(config: Path) -> Path:
    """The same deployment with the [audit] table removed (no key configured)."""
    text = config.read_text().split("[audit]")[0]
    other = config.with_name("unsigned.toml")
    other.write_text(text)
    return other


def test_cli_verify_a_raw_base64_key_and_bad_keys(deployment: tuple[Path, Path, Path],
                                                  tmp_path: Path) -> None:
    config, _, public = deployment
    from lamworks.audit_signing import load_public_key

    raw = load_public_key(public.read_bytes()).public_bytes_raw()
    import base64

    (tmp_path / "raw.pub").write_text(base64.b64encode(raw).decode() + "\n")
    ok = runner.invoke(app, ["audit", "verify", "--key", str(tmp_path / "raw.pub"),
                             "--config", str(config)])
    assert ok.exit_code == 0, ok.output
    (tmp_path / "junk.pub").write_text("not a key")
    bad = runner.invoke(app, ["audit", "verify", "--key", str(tmp_path / "junk.pub"),
                              "--config", str(config)])
    assert bad.exit_code == 2 and "not an Ed25519 public key" in bad.stderr
    other = tmp_path / "other"
    other.mkdir()
    runner.invoke(app, ["audit", "keygen", "--out", str(other / "k")])
    wrong = runner.invoke(app, ["audit", "verify", "--key", str(other / "k.pub"),
                                "--config", str(config)])
    assert wrong.exit_code == 1 and "invalid signature" in wrong.stderr


def test_cli_verify_says_when_checkpoints_are_not_signed(tmp_path: Path) -> None:
    config = _config(tmp_path, "")
    log = AuditLog(tmp_path / "data" / "audit.db")
    _append(log, 1)
    log.close()
    result = runner.invoke(app, ["audit", "verify", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "OK: 1 rows, chain intact" in result.stdout
    assert "checkpoints: not signed" in result.stdout
    signing = runner.invoke(app, ["audit", "checkpoint", "--config", str(config)])
    assert signing.exit_code == 2 and "no signing key" in signing.stderr


def test_cli_checkpoint_prints_an_anchor_that_verify_checks(
    deployment: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    config, path, public = deployment
    log = AuditLog(path)
    _append(log, 13)
    log.close()
    result = runner.invoke(app, ["audit", "checkpoint", "--config", str(config)])
    assert result.exit_code == 0, result.output
    anchor = json.loads(result.stdout)
    assert anchor["seq"] == 13 and anchor["format"] == "lamworks-audit-checkpoint/1"
    assert read_checkpoints(path)[-1].to_json() == anchor  # stored as well
    saved = tmp_path / "anchor.json"
    saved.write_text(result.stdout)
    args = ["audit", "verify", "--key", str(public), "--anchor", str(saved),
            "--config", str(config)]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0 and "1 anchored checkpoint found" in ok.stdout
    # Roll back to row 7, removing the newer checkpoints: only the anchor can tell.
    _sql(path, "DELETE FROM audit_checkpoint WHERE seq > 5")
    truncate_with_forged_heads(path)
    without = runner.invoke(app, args[:4] + args[6:])
    assert without.exit_code == 0, without.output
    cut = runner.invoke(app, args)
    assert cut.exit_code == 1 and "the anchored checkpoint signed row 13" in cut.stderr
    resigned = runner.invoke(app, ["audit", "checkpoint", "--config", str(config)])
    assert resigned.exit_code == 0  # the log alone still verifies (the documented limit)
    saved.write_text("{}")
    unreadable = runner.invoke(app, args)
    assert unreadable.exit_code == 2 and "not an audit checkpoint" in unreadable.stderr


def test_cli_checkpoint_refuses_to_sign_a_rewritten_chain(
    deployment: tuple[Path, Path, Path]
) -> None:
    config, path, _ = deployment
    edit_and_rechain(path)
    result = runner.invoke(app, ["audit", "checkpoint", "--config", str(config)])
    assert result.exit_code == 1
    assert "refusing to sign" in result.stderr and "row 5 does not match" in result.stderr
    assert len(read_checkpoints(path)) == 4
