"""Every configuration and store problem is a message naming the path and the key, and exit 2.

Each case was a traceback (exit 1) before: a folder given as the configuration, nesting that
exhausts the TOML parser, an environment override that is not JSON, a store that is not an
SQLite file, a data folder that is a file or cannot be created. ``audit verify`` on a store that
is not SQLite exits 2 (bad input), not 1 (which says the chain is broken). And text printed by
the CLI is never read as Rich markup.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamworks import ConfigError, load_config
from lamworks.cli import app
from lamworks.config import MAX_NESTING, check_stores

runner = CliRunner()


def lamworks(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def assert_clear(code: int, stderr: str, *needles: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in stderr, stderr


# ---- the configuration file --------------------------------------------------------------------


def test_a_folder_given_as_the_configuration(tmp_path: Path) -> None:
    folder = tmp_path / "lamworks.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(folder)
    code, _, err = lamworks("config", "check", str(folder))
    assert_clear(code, err, str(folder), "is a folder")


@pytest.mark.parametrize("depth", [2_000, 100])
def test_deeply_nested_arrays(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "lamworks.toml"
    path.write_text("[institution]\nname = 'x'\n[plugins.sample]\ndeep = "
                    + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"deeper than {MAX_NESTING} levels") as info:
        load_config(path)
    if depth == 100:  # parsed, then refused with the key path
        assert "plugins.sample.deep[0][0]" in str(info.value)
    code, _, err = lamworks("config", "check", str(path))
    assert_clear(code, err, str(path), "nested deeper than")


def test_an_environment_override_that_is_not_json(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(plugins="")
    monkeypatch.setenv("LAMWORKS_ROLES", "{bad")
    with pytest.raises(ConfigError, match="LAMWORKS_ROLES: the environment override of roles "
                                          "is not valid JSON"):
        load_config(path)
    code, _, err = lamworks("config", "check", str(path))
    assert_clear(code, err, "LAMWORKS_ROLES", str(path))


def test_an_invalid_environment_value_names_its_variable(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(plugins="")
    monkeypatch.setenv("LAMWORKS_LIMITS__MAX_STEPS_PER_TURN", "many")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "limits.max_steps_per_turn" in message
    assert "environment variable LAMWORKS_LIMITS__MAX_STEPS_PER_TURN" in message


def test_limits_are_configurable_from_the_file_and_the_environment(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(plugins="", extra="[limits]\nmax_steps_per_turn = 3\n")
    assert load_config(path).limits.max_steps_per_turn == 3
    monkeypatch.setenv("LAMWORKS_LIMITS__TOOL_TIMEOUT_SECONDS", "2.5")
    assert load_config(path).limits.tool_timeout_seconds == 2.5
    bad = write_config(plugins="", extra="[limits]\nmax_utterance_chars = 0\n")
    with pytest.raises(ConfigError, match=r"limits\.max_utterance_chars"):
        load_config(bad)


# ---- the stores --------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["database", "audit"])
def test_a_store_that_is_not_sqlite(write_config: Callable[..., Path], store: str) -> None:
    path = write_config(plugins="", extra=f"[stores]\n{store} = 'notes.txt'\n")
    config = load_config(path)
    config.data_dir.mkdir()
    (config.data_dir / "notes.txt").write_text("these are my notes, not a database\n")
    with pytest.raises(ConfigError, match=f"stores.{store}.*is not an SQLite database"):
        check_stores(config)  # the runtime checks this first (tests/test_limits.py)
    code, _, err = lamworks("ask", "hello", "--user", "alice", "--config", str(path))
    assert_clear(code, err, f"stores.{store}", "notes.txt", "not an SQLite database")


def test_audit_verify_on_a_file_that_is_not_sqlite_is_bad_input_not_a_broken_chain(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(plugins="")
    data = path.parent / "data"
    data.mkdir()
    (data / "audit.db").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 200)
    for command in (["verify"], ["head"], ["export"]):
        code, _, err = lamworks("audit", *command, "--config", str(path))
        assert_clear(code, err, "stores.audit", "audit.db", "not an SQLite database")


def test_a_folder_where_the_database_should_be(write_config: Callable[..., Path]) -> None:
    path = write_config(plugins="")
    (path.parent / "data" / "lamworks.db").mkdir(parents=True)
    code, _, err = lamworks("ask", "hello", "--user", "alice", "--config", str(path))
    assert_clear(code, err, "stores.database", "is a folder, not a database file")


def test_data_dir_that_is_a_file(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(plugins="")
    monkeypatch.setenv("LAMWORKS_DATA_DIR", str(path))  # the configuration file itself
    with pytest.raises(ConfigError, match="data_dir.*is a file, not a folder"):
        check_stores(load_config(path))
    code, _, err = lamworks("ask", "hello", "--user", "alice", "--config", str(path))
    assert_clear(code, err, "LAMWORKS_DATA_DIR", "is a file, not a folder")
    code, _, err = lamworks("audit", "verify", "--config", str(path))
    assert_clear(code, err, "is a file, not a folder")


def test_data_dir_that_cannot_be_created(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(plugins="")
    monkeypatch.setenv("LAMWORKS_DATA_DIR", str(path / "data"))  # below a file
    with pytest.raises(ConfigError, match="cannot create the folder"):
        check_stores(load_config(path))
    code, _, err = lamworks("ask", "hello", "--user", "alice", "--config", str(path))
    assert_clear(code, err, "cannot create the folder", "data_dir")


def test_data_dir_that_is_not_writable(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(plugins="")
    (path.parent / "data").mkdir()
    # Tests run as root here, which may write anywhere: ask os.access what a user would hear.
    monkeypatch.setattr("lamworks.config.os.access", lambda *_a, **_k: False)
    with pytest.raises(ConfigError, match="is not writable"):
        check_stores(load_config(path))
    check_stores(load_config(path), write=False)  # reading (audit verify) does not need it


# ---- printed text is text ----------------------------------------------------------------------


def test_rich_markup_in_a_request_is_printed_as_text(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path]
) -> None:
    install_plugins(sample="lamworks_sample")
    path = write_config()
    code, out, err = lamworks("ask", "add a note text=park in lot [/b] B [bold red]",
                              "--user", "alice", "--yes", "--config", str(path))
    assert code == 0, err
    assert "Noted (1): park in lot [/b] B [bold red]" in out
    assert '"text": "park in lot [/b] B [bold red]"' in out  # the step's arguments
    assert "Traceback" not in out + err
