"""The command line, run as a user would: real subprocesses on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def lamworks(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lamworks.cli", *args], capture_output=True,
                          text=True, timeout=120, input=stdin,
                          env=None)


@pytest.fixture
def config(install_plugins: Callable[..., Path], write_config: Callable[..., Path]) -> Path:
    install_plugins(sample="lamworks_sample", broken_import="lamworks_broken_import")
    return write_config(plugins="allow = ['sample', 'broken_import']")


def test_plugins_lists_the_third_party_tool_policy_and_failures(config: Path) -> None:
    result = lamworks("plugins", "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sample.add_note" in out and "sample.no_secret_notes" in out
    assert "1.0" in out  # version from the distribution
    assert "broken_import" in out and "failed" in out
    assert "core.role_scopes" in out


def test_ask_shows_the_policy_blocking_with_its_reason(config: Path) -> None:
    result = lamworks("ask", "add a note text=the secret code", "--user", "alice",
                      "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "sample.no_secret_notes → deny" in result.stdout
    assert "Notes must not contain secrets" in result.stdout


def test_ask_with_yes_confirms_and_executes(config: Path) -> None:
    result = lamworks("ask", "add a note text=hello", "--user", "alice", "--yes",
                      "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "awaiting_confirmation" in result.stdout
    assert "executed" in result.stdout and "Noted" in result.stdout
    verify = lamworks("audit", "verify", "--config", str(config))
    assert verify.returncode == 0 and "OK: 3 rows" in verify.stdout


def test_ask_json_is_one_object_without_tokens(config: Path) -> None:
    pending = lamworks("ask", "add a note text=hello", "--user", "alice", "--json",
                       "--config", str(config))
    assert pending.returncode == 0, pending.stderr
    turns = json.loads(pending.stdout)["turns"]  # nothing but the JSON on standard output
    assert len(turns) == 1 and turns[0]["awaiting_confirmation"]["tool"] == "sample.add_note"
    assert "confirmation_token" not in pending.stdout  # stdout may end up in a log
    done = lamworks("ask", "add a note text=hello", "--user", "alice", "--json", "--yes",
                    "--config", str(config))
    turns = json.loads(done.stdout)["turns"]
    assert [t["awaiting_confirmation"] is None for t in turns] == [False, True]
    assert turns[-1]["plan"]["steps"][-1]["status"] == "executed"


def test_ask_explain_shows_candidates_and_spans(config: Path) -> None:
    result = lamworks("ask", "add a note text=hello", "--user", "alice", "--explain",
                      "--config", str(config))
    assert "candidates: sample.add_note" in result.stdout
    assert "text ← “hello”" in result.stdout


def test_tools_json_is_mcp_shaped(config: Path) -> None:
    result = lamworks("tools", "--json", "--config", str(config))
    tools = {t["name"]: t for t in json.loads(result.stdout)}
    assert tools["sample.add_note"]["inputSchema"]["required"] == ["text"]


def test_config_check_ok_and_bad(config: Path, tmp_path: Path) -> None:
    ok = lamworks("config", "check", str(config))
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[institution]\nname = 'x'\n[roles.a]\nrate_limit_per_minute = -1\n")
    result = lamworks("config", "check", str(bad))
    assert result.returncode == 2
    assert "roles.a.rate_limit_per_minute" in result.stderr
    assert "Traceback" not in result.stderr


def test_chat_reads_lines_and_confirms(config: Path) -> None:
    result = lamworks("chat", "--user", "alice", "--config", str(config),
                      stdin="add a note text=from chat\ny\ncount my notes\n")
    assert result.returncode == 0, result.stderr
    assert "Noted" in result.stdout and "There are 1 notes" in result.stdout


def test_plugin_command_group_runs_with_the_config(config: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    result = lamworks("notes", "where", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(config.parent / "data" / "notes.db")
    monkeypatch.setenv("LAMWORKS_CONFIG", str(config))
    listed = lamworks("--help")
    assert "notes" in listed.stdout


def test_audit_export_in_a_plugin_format(config: Path) -> None:
    lamworks("ask", "count my notes", "--user", "alice", "--config", str(config))
    result = lamworks("audit", "export", "--format", "toolcounts", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sample.count_notes,1"
    unknown = lamworks("audit", "export", "--format", "xml", "--config", str(config))
    assert unknown.returncode == 2 and "toolcounts" in unknown.stderr


def test_kb_ingest_list_search_and_drop(tmp_path: Path) -> None:
    config = tmp_path / "kb.toml"
    config.write_text("data_dir = 'data'\n[institution]\nname = 'x'\n[roles.staff]\n"
                      "access = ['public', 'staff']\n[roles.guest]\n[users.sam]\nrole = 'staff'\n"
                      "[users.gus]\nrole = 'guest'\n", encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "parking.md").write_text("# Parking\n\n## Fees\n\nParking costs 3 dollars an hour "
                                     "in the west lot.\n", encoding="utf-8")
    (docs / "broken.md").write_bytes(b"\x00\x01binary\x02")
    first = lamworks("kb", "ingest", str(docs), "--source", "handbook", "--access", "staff",
                     "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "1 added" in first.stdout and "broken.md" in first.stderr
    again = lamworks("kb", "ingest", str(docs), "--source", "handbook", "--access", "staff",
                     "--config", str(config))
    assert "0 embedded" in again.stdout
    assert "handbook" in lamworks("kb", "list", "--config", str(config)).stdout
    staff = lamworks("kb", "search", "how much is parking", "--user", "sam",
                     "--config", str(config))
    assert "3 dollars an hour" in staff.stdout
    guest = lamworks("kb", "search", "how much is parking", "--user", "gus",
                     "--config", str(config))
    assert "3 dollars" not in guest.stdout  # a staff-only chunk never reaches a guest
    dropped = lamworks("kb", "drop", "handbook", "--config", str(config))
    assert dropped.returncode == 0 and "dropped handbook: 1 chunks" in dropped.stdout


def test_ask_explain_shows_the_question_and_what_is_filled_so_far(
        install_plugins: Callable[..., Path], write_config: Callable[..., Path]) -> None:
    install_plugins(agenda="lamworks_agenda")
    path = write_config(plugins="allow = ['agenda']")
    path.write_text(path.read_text().replace('planner = "keyword"', 'planner = "neuro-symbolic"'))
    result = lamworks("ask", "add a new contact, email ana@example.com", "--user", "alice",
                      "--explain", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "missing: full_name of agenda.add_contact" in result.stdout
    assert "email ← “ana@example.com”" in result.stdout
    assert "assistant:" in result.stdout and "?" in result.stdout.split("assistant:")[1]


def test_help_shows_table_names_and_placeholders_as_written(config: Path) -> None:
    # Help is Markdown, not Rich markup: "[users]" and "<...>" were swallowed as style tags.
    result = subprocess.run([sys.executable, "-m", "lamworks.cli", "ask", "--help"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "200"})  # one option, one line
    assert result.returncode == 0, result.stderr
    assert "(in [users], or an account)" in result.stdout
    assert "operator:ACCOUNT as NAME" in result.stdout
    assert "``" not in result.stdout
