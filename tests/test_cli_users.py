"""``lamworks users`` and who the CLI acts for: real subprocesses, real files, real Argon2id."""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PASSWORD = "a long enough passphrase"


def lamworks(*args: str, stdin: str | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "LAMWORKS_TOKEN"}
    return subprocess.run([sys.executable, "-m", "lamworks.cli", *args], capture_output=True,
                          text=True, timeout=120, input=stdin, env={**clean, **(env or {})})


@pytest.fixture
def config(install_plugins: Callable[..., Path], write_config: Callable[..., Path]) -> Path:
    install_plugins(sample="lamworks_sample")
    return write_config(auth="accounts")


def audit_rows(config: Path) -> list[dict[str, object]]:
    result = lamworks("audit", "export", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_add_list_passwd_disable_enable(config: Path) -> None:
    short = lamworks("users", "add", "dana", "--role", "staff", "--password-stdin",
                     "--config", str(config), stdin="short\n")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    added = lamworks("users", "add", "dana", "--role", "staff", "--display-name", "Dana D.",
                     "--password-stdin", "--config", str(config), stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "added dana (role staff; password set)" in added.stdout
    twice = lamworks("users", "add", "dana", "--role", "staff", "--password-stdin",
                     "--config", str(config), stdin=PASSWORD + "\n")
    assert twice.returncode == 2 and "already exists" in twice.stderr
    bad_role = lamworks("users", "add", "erin", "--role", "wizard", "--no-password",
                        "--config", str(config))
    assert bad_role.returncode == 2 and "No role named 'wizard'" in bad_role.stderr
    no_terminal = lamworks("users", "add", "erin", "--role", "staff", "--config", str(config),
                           stdin="")
    assert no_terminal.returncode == 2 and "--password-stdin" in no_terminal.stderr

    listed = lamworks("users", "list", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    assert "dana" in listed.stdout and "Dana D." in listed.stdout and "active" in listed.stdout
    assert "alice" in listed.stdout and "no account" in listed.stdout  # declared in the file
    assert "argon2" not in listed.stdout

    changed = lamworks("users", "passwd", "dana", "--password-stdin", "--config", str(config),
                       stdin="another long passphrase\n")
    assert changed.returncode == 0, changed.stderr
    db = sqlite3.connect(config.parent / "data" / "lamworks.db")
    [(stored,)] = db.execute("SELECT password_hash FROM accounts WHERE username = 'dana'")
    db.close()
    assert stored.startswith("$argon2id$")

    assert lamworks("users", "disable", "dana", "--config", str(config)).returncode == 0
    assert "disabled" in lamworks("users", "list", "--config", str(config)).stdout
    assert lamworks("users", "enable", "dana", "--config", str(config)).returncode == 0
    missing = lamworks("users", "disable", "nobody", "--config", str(config))
    assert missing.returncode == 2 and "No account named 'nobody'" in missing.stderr


def test_a_token_acts_as_its_user_and_can_be_revoked(config: Path) -> None:
    lamworks("users", "add", "dana", "--role", "staff", "--no-password",
             "--config", str(config))
    issued = lamworks("users", "token", "dana", "--label", "script", "--config", str(config))
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("lw_") and "shown once" in issued.stderr
    assert token.encode() not in (config.parent / "data" / "lamworks.db").read_bytes()

    asked = lamworks("ask", "add a note text=from a script", "--token", token, "--yes",
                     "--config", str(config))
    assert asked.returncode == 0, asked.stderr
    assert "executed" in asked.stdout
    from_env = lamworks("ask", "count my notes", "--config", str(config),
                        env={"LAMWORKS_TOKEN": token})
    assert from_env.returncode == 0 and "There are 1 notes" in from_env.stdout
    assert {row["actor"] for row in audit_rows(config)} == {"dana"}

    tokens = lamworks("users", "tokens", "dana", "--config", str(config))
    assert "script" in tokens.stdout and token not in tokens.stdout
    token_id = tokens.stdout.split("script")[0].split("│")[-3].strip()
    revoked = lamworks("users", "revoke-token", "dana", token_id, "--config", str(config))
    assert revoked.returncode == 0 and "revoked 1 token" in revoked.stdout, revoked.stderr
    refused = lamworks("ask", "count my notes", "--token", token, "--config", str(config))
    assert refused.returncode == 2 and "not valid" in refused.stderr


def test_the_operator_acts_with_a_users_role_and_is_named_in_the_audit(config: Path) -> None:
    result = lamworks("ask", "add a note text=by the operator", "--operator", "--as", "alice",
                      "--yes", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "executed" in result.stdout
    actors = {row["actor"] for row in audit_rows(config)}
    assert actors == {f"operator:{getpass.getuser()} as alice"}
    needs_as = lamworks("ask", "count my notes", "--operator", "--config", str(config))
    assert needs_as.returncode == 2 and "--as NAME" in needs_as.stderr
    unknown = lamworks("ask", "count my notes", "--operator", "--as", "zed",
                       "--config", str(config))
    assert unknown.returncode == 2 and "Unknown user 'zed'" in unknown.stderr


def test_user_alone_is_refused_outside_demo_mode(config: Path) -> None:
    result = lamworks("ask", "count my notes", "--user", "alice", "--config", str(config))
    assert result.returncode == 2
    assert "only in demo mode" in result.stderr and "--token" in result.stderr
    nobody = lamworks("ask", "count my notes", "--config", str(config))
    assert nobody.returncode == 2 and "say who is asking" in nobody.stderr
    chat = lamworks("chat", "--user", "alice", "--config", str(config), stdin="")
    assert chat.returncode == 2 and "only in demo mode" in chat.stderr
    assert audit_rows(config) == []  # nothing ran


def test_an_unknown_user_exits_non_zero_in_demo_mode(
        install_plugins: Callable[..., Path], write_config: Callable[..., Path]) -> None:
    install_plugins(sample="lamworks_sample")
    config = write_config()  # demo mode
    result = lamworks("ask", "count my notes", "--user", "zed", "--config", str(config))
    assert result.returncode == 2
    assert "Unknown user 'zed'" in result.stderr and "alice" in result.stderr
    ok = lamworks("ask", "count my notes", "--user", "bob", "--config", str(config))
    assert ok.returncode == 0 and "There are 0 notes" in ok.stdout


def test_confirm_acts_only_for_the_user_who_asked(config: Path) -> None:
    lamworks("users", "add", "dana", "--role", "staff", "--no-password",
             "--config", str(config))
    token = lamworks("users", "token", "dana", "--config", str(config)).stdout.strip()
    asked = lamworks("ask", "add a note text=later", "--token", token, "--session", "s-1",
                     "--config", str(config))
    assert asked.returncode == 0 and "awaiting confirmation" in asked.stdout, asked.stderr
    step_id = asked.stdout.split("lamworks confirm --session s-1 ")[1].split(",")[0].strip()
    other = lamworks("confirm", step_id, "--session", "s-1", "--operator", "--as", "alice",
                     "--config", str(config))
    assert other.returncode == 2 and "belongs to another user" in other.stderr
    done = lamworks("confirm", step_id, "--session", "s-1", "--token", token,
                    "--config", str(config))
    assert done.returncode == 0 and "Noted" in done.stdout, done.stderr


def test_ui_refuses_demo_mode_off_loopback(
        install_plugins: Callable[..., Path], write_config: Callable[..., Path]) -> None:
    config = write_config()  # demo mode
    result = lamworks("ui", "--address", "0.0.0.0", "--config", str(config))
    assert result.returncode == 2
    assert "refusing to serve demo mode on '0.0.0.0'" in result.stderr
