"""The audit chain catches edits, deletions, reordering and truncation, naming the row."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lamworks import AuditLog


def _log_with_rows(tmp_path: Path, n: int = 6) -> AuditLog:
    log = AuditLog(tmp_path / "audit.db")
    for i in range(1, n + 1):
        log.append(actor=f"user{i}", role="staff", session_id="s", event="step.executed",
                   tool="sample.add_note", step_id=f"step{i}", arguments={"text": f"note {i}"},
                   outcome="executed")
    return log


def _tamper(path: Path, *statements: str) -> None:
    """What an attacker with write access to the file could do (triggers removed first)."""
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    for sql in statements:
        db.execute(sql)
    db.commit()
    db.close()


def test_intact_chain_verifies(tmp_path: Path) -> None:
    log = _log_with_rows(tmp_path)
    result = log.verify()
    assert result.ok and result.rows == 6


def test_the_log_refuses_update_and_delete(tmp_path: Path) -> None:
    log = _log_with_rows(tmp_path, 2)
    db = sqlite3.connect(log.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET actor = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq = 2")
    db.close()


def test_edited_row_is_named(tmp_path: Path) -> None:
    log = _log_with_rows(tmp_path)
    _tamper(log.path, "UPDATE audit SET arguments = '{\"text\":\"forged\"}' WHERE seq = 4")
    result = log.verify()
    assert not result.ok and result.first_bad == 4 and "edited" in result.problem


def test_deleted_row_is_named(tmp_path: Path) -> None:
    log = _log_with_rows(tmp_path)
    _tamper(log.path, "DELETE FROM audit WHERE seq = 3")
    result = log.verify()
    assert not result.ok and result.first_bad == 3 and "missing" in result.problem


def test_deleted_and_renumbered_rows_are_caught(tmp_path: Path) -> None:
    log = _log_with_rows(tmp_path)
    _tamper(log.path, "DELETE FROM audit WHERE seq = 3",
            "UPDATE audit SET seq = seq - 1 WHERE seq > 3")
    result = log.verify()
    assert not result.ok and result.first_bad == 3


def test_reordered_pair_is_named(tmp_path: Path) -> None:
    log = _log_with_rows(tmp_path)
    # Swap rows 2 and 3 wholesale (contents, hashes and all), keeping the numbering.
    _tamper(log.path,
            "UPDATE audit SET seq = -2 WHERE seq = 2",
            "UPDATE audit SET seq = 2 WHERE seq = 3",
            "UPDATE audit SET seq = 3 WHERE seq = -2")
    result = log.verify()
    assert not result.ok and result.first_bad == 2


def test_truncated_tail_is_named(tmp_path: Path) -> None:
    log = _log_with_rows(tmp_path)
    _tamper(log.path, "DELETE FROM audit WHERE seq >= 5")
    result = log.verify()
    assert not result.ok and result.first_bad == 5 and "truncated" in result.problem


def test_truncated_tail_with_forged_head_record_is_caught_by_the_head_file(
    tmp_path: Path,
) -> None:
    log = _log_with_rows(tmp_path)
    seq4_hash = [e.hash for e in log.entries() if e.seq == 4][0]
    _tamper(log.path, "DELETE FROM audit WHERE seq >= 5",
            f"UPDATE audit_head SET seq = 4, hash = '{seq4_hash}'")
    result = log.verify()
    assert not result.ok and result.first_bad == 5 and "head file" in result.problem


def test_appends_continue_the_chain_across_instances(tmp_path: Path) -> None:
    _log_with_rows(tmp_path, 2).close()
    log = AuditLog(tmp_path / "audit.db")
    entry = log.append(actor="a", role="r", session_id="s", event="e")
    assert entry.seq == 3 and log.verify().ok


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lamworks.cli", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_cli_verify_and_export(tmp_path: Path) -> None:
    config = tmp_path / "lamworks.toml"
    config.write_text("data_dir = 'data'\n[institution]\nname = 'x'\n", encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    _log_with_rows(data, 5).close()

    ok = _cli(config, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "OK: 5 rows" in ok.stdout

    exported = _cli(config, "audit", "export", "--format", "jsonl")
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[1]["prev_hash"] == rows[0]["hash"]

    _tamper(data / "audit.db", "UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    bad = _cli(config, "audit", "verify")
    assert bad.returncode == 1
    assert "row 2" in bad.stderr
