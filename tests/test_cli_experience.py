"""What using the command line feels like (issue 15): a message while it starts, plugins loaded
once per command, whole lines on a pipe, a useful error when no configuration is found, and
plugin command groups listed by ``--help`` without importing any plugin, each explained when
its plugin cannot give it (not loaded by the configuration, crashing, hanging, forgetful).

Real subprocesses on real files. The story plugin written here is a real entry point (see
``conftest.install_plugins`` and :func:`declare`): its registration hook appends a line to a
file each time a plugin manager loads it, its tool has a long name, a long description and a
long answer, and it declares and registers the command group ``story``.
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


STORY_COMMANDS = '''

import typer

from lamworks import CommandGroup

story_cli = typer.Typer(help="The story plugin's commands.")


@story_cli.command("tell")
def tell() -> None:
    """Print the story's first line."""
    print("Once upon a time")


@story_cli.command("fail")
def fail() -> None:
    """Fail as a command does: exit 3."""
    raise typer.Exit(3)


@hookimpl
def register_commands(register: Callable[[CommandGroup], None]) -> None:
    register(CommandGroup(name="story", app=story_cli))
'''


def declare(site: Path, name: str, module: str, groups: tuple[str, ...] = ()) -> None:
    """Install ``module`` as plugin ``name``, declaring ``groups`` (entry points of group
    ``lamworks.commands``) as its distribution's pyproject would."""
    dist = site / f"lamworks_test_{name}-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: lamworks-test-{name}\n"
                                   "Version: 1.0\n", encoding="utf-8")
    declared = "".join(f"{group} = {module}\n" for group in groups)
    (dist / "entry_points.txt").write_text(
        f"[lamworks]\n{name} = {module}\n\n[lamworks.commands]\n{declared}", encoding="utf-8")


@pytest.fixture
def site(install_plugins: Callable[..., Path]) -> Path:
    site = install_plugins(sample="lamworks_sample", story="lamworks_cli_story")
    (site / "lamworks_cli_story.py").write_text(PLUGIN + STORY_COMMANDS, encoding="utf-8")
    declare(site, "story", "lamworks_cli_story", ("story",))
    return site


@pytest.fixture
def config(site: Path, write_config: Callable[..., Path]) -> Path:
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
    log = tmp_path / "loads"  # the story plugin writes a line each time it is loaded
    commands: list[tuple[str, ...]] = [
        ("ask", "count my notes", "--user", "alice"),
        ("plugins",), ("tools", "--json"), ("permissions",),
        ("story", "tell"),  # a plugin's command group: its plugin is loaded, once
    ]
    for command in commands:
        result = lamworks(*command, "--config", str(config), load_log=log)
        assert result.returncode == 0, (command, result.stderr)
        assert loads(log) == 1, command
    chat = lamworks("chat", "--user", "alice", "--config", str(config), load_log=log,
                    stdin="count my notes\n")
    assert chat.returncode == 0, chat.stderr
    assert loads(log) == 1
    # Another plugin's command group loads only that plugin; help loads none.
    notes = lamworks("notes", "where", "--config", str(config), load_log=log)
    assert notes.returncode == 0, notes.stderr
    assert loads(log) == 0
    listed = lamworks("--help", load_log=log, env={"LAMWORKS_CONFIG": str(config)})
    assert listed.returncode == 0, listed.stderr
    assert "notes" in listed.stdout and "story" in listed.stdout
    assert loads(log) == 0


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


# -- plugin command groups: listed without importing the plugins, built when used ----------------

BROKEN_PLUGINS = {
    # name: (module, its source, the groups it declares)
    "crashing": ("lamworks_cli_crashing", 'raise RuntimeError("no database driver")\n',
                 ("crashing",)),
    "hanging": ("lamworks_cli_hanging", "import time\n\ntime.sleep(3600)\n", ("hanging",)),
    "forgetful": ("lamworks_cli_forgetful", "", ("forgotten",)),  # registers nothing
}
UNDECLARED = '''
from collections.abc import Callable

import typer

from lamworks import CommandGroup, hookimpl

cli = typer.Typer(help="Undeclared commands.")


@cli.command("hello")
def hello() -> None:
    print("hello from an undeclared group")


@hookimpl
def register_commands(register: Callable[[CommandGroup], None]) -> None:
    register(CommandGroup(name="quiet", app=cli))
'''


@pytest.fixture
def troubled(site: Path, write_config: Callable[..., Path]) -> Path:
    """The sample and story plugins beside one that crashes on import, one that hangs on
    import, one that declares a group it never registers, and one that registers a group it
    never declares; the configuration loads all of them but the sample plugin."""
    for name, (module, source, groups) in BROKEN_PLUGINS.items():
        (site / f"{module}.py").write_text(source, encoding="utf-8")
        declare(site, name, module, groups)
    (site / "lamworks_cli_undeclared.py").write_text(UNDECLARED, encoding="utf-8")
    declare(site, "undeclared", "lamworks_cli_undeclared")
    return write_config(plugins="allow = ['story', 'crashing', 'hanging', 'forgetful', "
                                "'undeclared']")


HELP_AND_MODULES = """
import json, sys
sys.argv = ["lamworks", *sys.argv[1:]]
from lamworks.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def help_and_modules(*args: str, config: Path) -> tuple[int, str, list[str]]:
    """``lamworks ARGS`` in a fresh interpreter: exit code, standard output, and every module
    it imported."""
    clean = {k: v for k, v in os.environ.items() if k not in ("LAMWORKS_CONFIG", "COLUMNS")}
    clean["LAMWORKS_TEST_LOAD_LOG"] = str(config.parent / "loads")
    done = subprocess.run([sys.executable, "-c", HELP_AND_MODULES, *args], capture_output=True,
                          text=True, timeout=60, env={**clean, "LAMWORKS_CONFIG": str(config)})
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], done.stdout, report["modules"]


def test_help_lists_plugin_groups_without_importing_any_plugin(config: Path) -> None:
    code, stdout, modules = help_and_modules("--help", config=config)
    assert code == 0
    assert "Plugin commands" in stdout
    listed = {line.split()[1] for line in stdout.splitlines()
              if line.startswith("│ ") and len(line.split()) > 2}
    assert {"notes", "story", "plugins", "audit"} <= listed
    imported = [m for m in modules if m.startswith(("lamworks_sample", "lamworks_cli_story"))]
    assert imported == []
    # Nor the machinery that loads plugins and configurations: help is the CLI alone.
    assert not {"lamworks.plugins", "lamworks.config", "pluggy", "pydantic"} & set(modules)


def test_a_plugin_command_runs_and_its_exit_code_comes_through(config: Path,
                                                               tmp_path: Path) -> None:
    told = lamworks("story", "tell", "--config", str(config), load_log=tmp_path / "loads")
    assert told.returncode == 0, told.stderr
    assert told.stdout == "Once upon a time\n"
    failed = lamworks("story", "fail", "--config", str(config), load_log=tmp_path / "loads")
    assert failed.returncode == 3
    code, stdout, modules = help_and_modules("story", "--help", config=config)
    assert code == 0 and "tell" in stdout and "The story plugin's commands." in stdout
    assert "lamworks_cli_story" in modules and "lamworks_sample" not in modules


def test_the_top_level_takes_config_for_its_help(config: Path, tmp_path: Path) -> None:
    listed = lamworks("--config", str(config), "--help", cwd=REPO)
    assert listed.returncode == 0, listed.stderr
    assert "notes" in listed.stdout and "story" in listed.stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bare = lamworks("--help", cwd=elsewhere)  # no configuration: only the core's commands
    assert bare.returncode == 0, bare.stderr
    assert "plugins" in bare.stdout and "notes" not in bare.stdout


def test_a_group_of_a_plugin_the_configuration_does_not_load_is_explained(
        site: Path, write_config: Callable[..., Path], tmp_path: Path) -> None:
    config = write_config(plugins="allow = ['story']")  # the sample plugin (notes) is not
    listed = lamworks("--help", env={"LAMWORKS_CONFIG": str(config)})
    assert listed.returncode == 0 and "story" in listed.stdout
    assert "notes" not in listed.stdout
    result = lamworks("notes", "where", "--config", str(config), load_log=tmp_path / "loads")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "`lamworks notes` comes from plugin 'sample', which this configuration does not " \
           "load" in result.stderr
    blocked = lamworks("story", "tell", "--config", str(config), load_log=tmp_path / "loads",
                       env={"LAMWORKS_LOAD_PLUGINS": "sample"})
    assert blocked.returncode == 2 and "plugin 'story'" in blocked.stderr


def test_plugins_that_crash_hang_or_forget_do_not_break_the_others(troubled: Path,
                                                                   tmp_path: Path) -> None:
    env = {"LAMWORKS_CONFIG": str(troubled)}
    listed = lamworks("--help", env=env)  # nothing is imported: the hanging plugin cannot hang it
    assert listed.returncode == 0, listed.stderr
    for group in ("story", "crashing", "hanging", "forgotten"):
        assert group in listed.stdout, group
    told = lamworks("story", "tell", env=env, load_log=tmp_path / "loads")
    assert (told.returncode, told.stdout) == (0, "Once upon a time\n")  # only its plugin loads

    crashed = lamworks("crashing", "anything", env=env)
    assert crashed.returncode == 2 and "Traceback" not in crashed.stderr
    assert ("`lamworks crashing` comes from plugin 'crashing', which failed to import: "
            "RuntimeError: no database driver") in crashed.stderr
    forgot = lamworks("forgotten", env=env)
    assert forgot.returncode == 2
    assert "its register_commands hook did not register it" in forgot.stderr
    assert "quiet" not in listed.stdout  # registered but not declared: cannot be listed


def test_an_undeclared_group_still_runs_and_lamworks_plugins_warns_about_it(
        troubled: Path, write_config: Callable[..., Path], tmp_path: Path) -> None:
    # Finding an undeclared group loads every plugin: this configuration has no hanging one.
    config = write_config(plugins="allow = ['story', 'undeclared', 'crashing']")
    env = {"LAMWORKS_CONFIG": str(config)}
    quiet = lamworks("quiet", "hello", env=env, load_log=tmp_path / "loads")
    assert (quiet.returncode, quiet.stdout) == (0, "hello from an undeclared group\n")
    assert loads(tmp_path / "loads") == 1
    unknown = lamworks("quite", env=env, load_log=tmp_path / "loads")
    assert unknown.returncode == 2 and "No such command 'quite'" in unknown.stderr
    result = lamworks("plugins", "--config", str(config), load_log=tmp_path / "loads")
    assert result.returncode == 0, result.stderr
    assert ("plugin 'undeclared' registers command group 'quiet' without declaring it"
            in result.stderr)
    assert "'story'" not in result.stderr  # declared: no warning


def test_declared_groups_are_what_importlib_metadata_finds(site: Path) -> None:
    import importlib.metadata

    from lamworks.cli_plugins import declared_groups

    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(
        group="lamworks.commands")}
    declared = declared_groups()
    assert {name: group.target for name, group in declared.items()} == found
    assert declared["story"].plugin == "story" and declared["notes"].plugin == "sample"
    assert declared["edu"].plugin == "education"  # the education plugin's pyproject
