"""What using the command line feels like (issue 15): a message while it starts, plugins loaded
once per command, whole lines on a pipe, and a useful error when no configuration is found.

Real subprocesses on real files. The sample plugin written here is a real entry point (see
``conftest.install_plugins``): its registration hook appends a line to a file each time a
plugin manager loads it, and its tool has a long name, a long description and a long answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).parent.parent

LONG_NAME = "tell_the_whole_story_of_the_institution_from_its_founding_to_this_very_day"
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
LONG_DESCRIPTION = ("Tell the whole story of the institution, " * 8).strip() + " " + LONG_WORD
LONG_ANSWER = " ".join(["Once upon a time the institution was founded;"] * 6 + [LONG_WORD])

PLUGIN = f'''
import os
from collections.abc import Callable

from lamworks import ActionContext, ActionResult, Tool, hookimpl, tool


@tool(scopes=["user/Story.r"], examples=["tell me the story of the institution"])
def {LONG_NAME}(ctx: ActionContext) -> ActionResult:
    """{LONG_DESCRIPTION}"""
    return ActionResult(summary={LONG_ANSWER!r})


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    with open(os.environ["LAMWORKS_TEST_LOAD_LOG"], "a", encoding="utf-8") as log:
        log.write("loaded\\n")  # once for every plugin manager that loads this plugin
    register({LONG_NAME})
'''


@pytest.fixture
def config(install_plugins: Callable[..., Path], write_config: Callable[..., Path],
           tmp_path: Path) -> Path:
    site = install_plugins(sample="lamworks_sample", story="lamworks_cli_story")
    (site / "lamworks_cli_story.py").write_text(PLUGIN, encoding="utf-8")
    return write_config(plugins="allow = ['sample', 'story']")


def lamworks(*args: str, load_log: Path | None = None, stdin: str | None = None,
             cwd: Path | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("LAMWORKS_TOKEN", "LAMWORKS_CONFIG", "COLUMNS")}
    if load_log is not None:
        clean["LAMWORKS_TEST_LOAD_LOG"] = str(load_log)
    return subprocess.run([sys.executable, "-m", "lamworks.cli", *args], capture_output=True,
                          text=True, timeout=120, input=stdin, cwd=cwd,
                          env={**clean, **(env or {})})


def loads(log: Path) -> int:
    count = len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0
    log.unlink(missing_ok=True)
    return count


# -- a message while it starts --------------------------------------------------------------


def test_ask_says_it_is_starting_on_stderr_and_keeps_stdout_for_the_answer(
        config: Path, tmp_path: Path) -> None:
    result = lamworks("ask", "tell me the story of the institution", "--user", "alice",
                      "--config", str(config), load_log=tmp_path / "loads")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Starting lamworks (loading plugins and the planner's "
                                    "model)")
    assert "Starting lamworks" not in result.stdout
    assert result.stdout.splitlines()[0] == "plan"


def test_chat_says_it_is_starting_and_that_the_first_request_loads_the_model(
        config: Path, tmp_path: Path) -> None:
    result = lamworks("chat", "--user", "alice", "--config", str(config),
                      load_log=tmp_path / "loads", stdin="count my notes\ncount my notes\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[:2] == [
        "Starting lamworks (loading plugins)…",
        "Loading the planner's model (first request only)…"]
    assert result.stdout.count("There are 0 notes") == 2


# -- plugins loaded once per command ----------------------------------------------------------


def test_each_command_loads_the_plugins_once(config: Path, tmp_path: Path) -> None:
    log = tmp_path / "loads"
    commands: list[tuple[str, ...]] = [
        ("ask", "count my notes", "--user", "alice"),
        ("plugins",), ("tools", "--json"), ("permissions",),
        ("notes", "where"),  # a plugin's command group: mounted by main(), run with the config
    ]
    for command in commands:
        result = lamworks(*command, "--config", str(config), load_log=log)
        assert result.returncode == 0, (command, result.stderr)
        assert loads(log) == 1, command
    chat = lamworks("chat", "--user", "alice", "--config", str(config), load_log=log,
                    stdin="count my notes\n")
    assert chat.returncode == 0, chat.stderr
    assert loads(log) == 1
    listed = lamworks("--help", load_log=log, env={"LAMWORKS_CONFIG": str(config)})
    assert "notes" in listed.stdout  # the plugin's group is still mounted for help
    assert loads(log) == 1


# -- whole lines on a pipe ----------------------------------------------------------------------


def test_json_on_a_pipe_is_valid_and_whole(config: Path, tmp_path: Path) -> None:
    tools = lamworks("tools", "--json", "--config", str(config), load_log=tmp_path / "loads")
    assert tools.returncode == 0, tools.stderr
    by_name = {t["name"]: t for t in json.loads(tools.stdout)}
    assert by_name[f"story.{LONG_NAME}"]["description"] == LONG_DESCRIPTION
    plugins = lamworks("plugins", "--json", "--config", str(config), load_log=tmp_path / "loads")
    assert plugins.returncode == 0, plugins.stderr
    records = {r["name"]: r for r in json.loads(plugins.stdout)}
    assert records["story"]["tools"] == [f"story.{LONG_NAME}"]
    assert records["story"]["status"] == "loaded"


def test_tables_and_answers_on_a_pipe_are_not_cut_or_folded(config: Path,
                                                           tmp_path: Path) -> None:
    table = lamworks("tools", "--config", str(config), load_log=tmp_path / "loads")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if LONG_NAME in line)
    assert f"story.{LONG_NAME}" in row and LONG_DESCRIPTION in row  # one row, one line
    asked = lamworks("ask", "tell me the story of the institution", "--user", "alice",
                     "--config", str(config), load_log=tmp_path / "loads")
    assert asked.returncode == 0, asked.stderr
    assert f"assistant: {LONG_ANSWER}" in asked.stdout.splitlines()


# -- no configuration found ---------------------------------------------------------------------


def test_no_configuration_says_where_it_looked_and_how_to_point_at_one(tmp_path: Path) -> None:
    result = lamworks("ask", "count my notes", "--user", "alice", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"./lamworks.toml in {tmp_path}" in result.stderr
    for hint in ("--config PATH", "LAMWORKS_CONFIG=PATH", "examples/lamworks.toml",
                 "`lamworks config check examples/lamworks.toml`"):
        assert hint in result.stderr, hint

    missing = tmp_path / "elsewhere" / "lamworks.toml"
    from_env = lamworks("plugins", cwd=tmp_path, env={"LAMWORKS_CONFIG": str(missing)})
    assert from_env.returncode == 2 and "Traceback" not in from_env.stderr
    assert f"{missing} does not exist (from $LAMWORKS_CONFIG)" in from_env.stderr

    given = lamworks("tools", "--config", str(missing), cwd=tmp_path)
    assert given.returncode == 2
    assert f"{missing} does not exist (given as --config)" in given.stderr


def test_the_example_the_error_points_at_checks_out() -> None:
    result = lamworks("config", "check", "examples/lamworks.toml", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK examples/lamworks.toml")
