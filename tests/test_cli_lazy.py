"""The lazily built command line is the one typer builds eagerly: same commands, same help, same
options, and help rendered from placeholders reads exactly as typer's own."""

from __future__ import annotations

import typer.main
from typer.testing import CliRunner

from lamworks import cli
from lamworks.cli_lazy import LazyGroup, registry_entries


def _describe(command: object) -> dict[str, object]:
    params = sorted((p.name or "", tuple(p.opts), p.required)  # type: ignore[attr-defined]
                    for p in command.params)  # type: ignore[attr-defined]
    described: dict[str, object] = {"help": command.help, "params": params,  # type: ignore
                                     "hidden": command.hidden}  # type: ignore[attr-defined]
    subcommands = getattr(command, "commands", None)
    if subcommands:
        described["commands"] = {name: _describe(sub) for name, sub in subcommands.items()}
    return described


def test_every_command_built_lazily_is_the_one_typer_builds() -> None:
    eager = typer.main.get_command(cli.app)
    entries = registry_entries(cli.app)
    assert list(entries) == list(eager.commands)  # type: ignore[attr-defined]
    for name, entry in entries.items():
        built = entry.build()
        real = eager.commands[name]  # type: ignore[attr-defined]
        assert type(built) is type(real), name
        assert _describe(built) == _describe(real), name
        assert entry.help == real.help, name


class _Eager(LazyGroup):
    def lazy_entries(self):  # type: ignore[no-untyped-def]
        return registry_entries(cli.app)


def test_help_from_placeholders_reads_as_typers_own() -> None:
    lazy = typer.Typer(cls=_Eager, help=cli.app.info.help, add_completion=False,
                       rich_markup_mode="markdown", no_args_is_help=True)

    @lazy.callback()
    def _top() -> None:
        pass

    runner = CliRunner()
    ours = runner.invoke(lazy, ["--help"], env={"COLUMNS": "100"}, prog_name="lamworks")
    theirs = runner.invoke(cli.app, ["--help"], env={"COLUMNS": "100"}, prog_name="lamworks")
    assert ours.exit_code == theirs.exit_code == 0
    assert ours.output == theirs.output
    built = runner.invoke(lazy, ["audit", "--help"], env={"COLUMNS": "100"},
                          prog_name="lamworks")
    assert built.output == runner.invoke(cli.app, ["audit", "--help"], env={"COLUMNS": "100"},
                                         prog_name="lamworks").output


def test_a_typo_is_still_answered_with_a_suggestion() -> None:
    result = CliRunner().invoke(cli.root, ["plugin"], prog_name="lamworks",
                                env={"LAMWORKS_CONFIG": "/nonexistent/lamworks.toml"})
    assert result.exit_code == 2
    assert "No such command 'plugin'. Did you mean 'plugins'?" in result.output


def test_every_core_command_name_is_reserved_from_plugin_groups() -> None:
    """A plugin group may not take a core command's name: the reserved list is the CLI's own."""
    import typer.main

    from lamworks.cli import app
    from lamworks.plugins import RESERVED_COMMANDS

    built = typer.main.get_command(app)
    assert set(built.commands) == set(RESERVED_COMMANDS)  # type: ignore[attr-defined]
