"""A typer group that turns its commands into click commands only when one is used.

typer converts every command of an app (its signature inspected, each option built) before it
prints ``lamworks --help`` or runs a single command: for the core's thirty commands that is
about 50-100 ms of the half-second budget of issue 15. :class:`LazyGroup` lists commands from
their names and help alone (a cheap placeholder each) and builds the real command, or the real
sub-group, when it is run or asked for its own ``--help``.

Its entries are :class:`LazyEntry` objects: :func:`registry_entries` makes them from a
:class:`typer.Typer` used as a registry (``@app.command()``, ``app.add_typer``), and the CLI adds
the plugins' command groups the same way (:mod:`lamworks.cli_plugins`). A subclass says where
its entries come from by overriding :meth:`LazyGroup.lazy_entries`, and may resolve a name that
is not listed (:meth:`LazyGroup.unlisted_command`).

typer has no public API for building one command of an app; this module uses
``typer.main.get_command_from_info`` and ``get_group_from_info``, the functions ``typer`` itself
builds apps with (typer 0.29; ``tests/test_cli_lazy.py`` checks that the lazy tree and typer's
own agree).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import typer
import typer.main as typer_main
from typer._click.exceptions import UsageError  # typer vendors click (0.29)
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandInfo, DefaultPlaceholder, TyperInfo

__all__ = ["LazyEntry", "LazyGroup", "registry_entries"]

Command = Any  # a click command (typer vendors click; its classes are not a public API)


@dataclass(frozen=True)
class LazyEntry:
    """One command or command group as ``--help`` lists it, and how to build it for real."""

    name: str
    help: str
    build: Callable[[], Command]
    """Returns the real click command; may print an error and raise ``typer.Exit``."""
    short_help: str | None = None
    hidden: bool = False
    deprecated: bool = False
    panel: str | None = None
    """The help panel (``None``: typer's "Commands")."""

    def placeholder(self, markup_mode: Any) -> Command:
        """What ``--help`` shows: a command with this name and help that does nothing."""
        return TyperCommand(self.name, help=self.help, short_help=self.short_help,
                            hidden=self.hidden, deprecated=self.deprecated,
                            rich_markup_mode=markup_mode, rich_help_panel=self.panel)


def _given(value: Any) -> Any:
    return None if isinstance(value, DefaultPlaceholder) else value


def registry_entries(registry: typer.Typer) -> dict[str, LazyEntry]:
    """The commands and sub-apps registered on ``registry``, in the order typer lists them
    (commands first, then groups), each built exactly as ``typer.main.get_command`` would."""
    options: dict[str, Any] = {"pretty_exceptions_short": registry.pretty_exceptions_short,
                               "rich_markup_mode": registry.rich_markup_mode}
    entries: dict[str, LazyEntry] = {}
    for info in registry.registered_commands:
        callback = info.callback
        if callback is None:
            continue
        name = info.name or typer_main.get_command_name(callback.__name__)
        text = (inspect.cleandoc(info.help) if info.help is not None
                else inspect.getdoc(callback) or "")
        entries[name] = LazyEntry(
            name=name, help=text, short_help=info.short_help, hidden=info.hidden,
            deprecated=info.deprecated, panel=_given(info.rich_help_panel),
            build=_command_builder(info, options))
    for group in registry.registered_groups:
        solved = typer_main.solve_typer_info_defaults(group)
        if not solved.name:
            continue
        entries[solved.name] = LazyEntry(
            name=solved.name, help=solved.help or "", short_help=_given(solved.short_help),
            hidden=bool(_given(solved.hidden)), deprecated=bool(_given(solved.deprecated)),
            panel=_given(solved.rich_help_panel),
            build=group_builder(group, suggest_commands=registry.suggest_commands, **options))
    return entries


def _command_builder(info: CommandInfo, options: Mapping[str, Any]) -> Callable[[], Command]:
    return lambda: typer_main.get_command_from_info(command_info=info, **options)


def group_builder(info: TyperInfo, *, pretty_exceptions_short: bool, rich_markup_mode: Any,
                  suggest_commands: bool) -> Callable[[], Command]:
    """Builds the sub-group ``info`` (as ``app.add_typer`` registered it) as typer would."""
    return lambda: typer_main.get_group_from_info(
        info, pretty_exceptions_short=pretty_exceptions_short,
        rich_markup_mode=rich_markup_mode, suggest_commands=suggest_commands)


class LazyGroup(TyperGroup):
    """A typer group whose commands are listed from :class:`LazyEntry` objects and built on use.

    While it formats its own help, every entry is a placeholder (nothing is built, no plugin is
    imported); a name that the command line actually invokes is built once and kept.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False
        self._entries: dict[str, LazyEntry] | None = None
        self._extra: dict[str, LazyEntry] | None = None
        self._built: dict[str, Command] = {}

    def lazy_entries(self) -> dict[str, LazyEntry]:
        """The entries of this group, in listing order (override; called once per process)."""
        return {}

    def extra_entries(self) -> dict[str, LazyEntry]:
        """Entries listed after :meth:`lazy_entries` that cost more to find (override): asked
        for only to list them or to run a name that is not among the first."""
        return {}

    def unlisted_command(self, name: str) -> Command | None:
        """A command that is not listed but can still be run (override); ``None``: unknown."""
        return None

    def entries(self, *, extra: bool = True) -> dict[str, LazyEntry]:
        if self._entries is None:
            self._entries = self.lazy_entries()
        if not extra:
            return self._entries
        if self._extra is None:
            self._extra = {name: entry for name, entry in self.extra_entries().items()
                           if name not in self._entries}
        return {**self._entries, **self._extra}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(n for n in self.entries() if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = self.entries(extra=False).get(cmd_name) or self.entries().get(cmd_name)
        if self._listing:
            return entry.placeholder(self.rich_markup_mode) if entry is not None else None
        if cmd_name not in self._built:
            command = entry.build() if entry is not None else self.unlisted_command(cmd_name)
            if command is None:
                return None
            command.name = cmd_name
            self._built[cmd_name] = command
        return self._built[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:  # typer suggests only among built commands: suggest among all
            if self.suggest_commands and args and "Did you mean" not in exc.message:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    exc.message = (exc.message.rstrip(".") + ". Did you mean "
                                   + ", ".join(repr(m) for m in matches) + "?")
            raise
