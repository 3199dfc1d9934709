"""Plugin command groups: declared by the plugin's distribution, listed without importing the
plugin, built by its ``register_commands`` hook when one of its commands runs.

A plugin that adds ``lamworks <name> ...`` commands declares each group's name in the entry-point
group ``lamworks.commands`` of its distribution, beside its plugin entry point; the value is the
plugin's own entry point (the module whose ``register_commands`` builds the group)::

    [project.entry-points.lamworks]
    education = "lamworks_education"

    [project.entry-points."lamworks.commands"]
    edu = "lamworks_education"

``lamworks --help`` lists the declared groups of the plugins that the configuration loads, from
the installed distributions' ``entry_points.txt`` files alone: no plugin is imported (and not
even :mod:`importlib.metadata`, whose import and scan cost a fifth of the help's half-second
budget; :func:`declared_groups` reads the same files, on ``sys.path`` in the same order, first
distribution of a name wins). Running ``lamworks edu ...`` loads that one plugin, runs its
registration hooks and takes the group it registered under that name
(:func:`load_declared_group`). A group that a plugin registers without declaring it still runs
(the CLI then loads every plugin to find it), but ``--help`` cannot list it and
``lamworks plugins`` warns about it.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import LamworksError

if TYPE_CHECKING:
    from .config import InstitutionConfig
    from .extensions import CommandGroup

__all__ = ["COMMANDS_GROUP", "DeclaredGroup", "GroupUnavailable", "declared_groups",
           "load_declared_group", "plugin_filter"]

COMMANDS_GROUP = "lamworks.commands"
PLUGINS_GROUP = "lamworks"


@dataclass(frozen=True)
class DeclaredGroup:
    """One ``lamworks <name>`` group as a distribution declares it."""

    name: str
    plugin: str
    """The plugin (its entry-point name in group ``lamworks``) whose hook builds the group."""
    target: str
    """That plugin's entry point: ``module`` or ``module:attribute``."""
    distribution: str
    version: str


class GroupUnavailable(LamworksError):  # noqa: N818 - reads as what it reports
    """A declared command group cannot be built: its plugin is not loaded by the configuration,
    failed to import or load, or did not register the group it declared."""


def declared_groups(paths: Iterable[str] | None = None) -> dict[str, DeclaredGroup]:
    """Every command group declared by an installed distribution (``sys.path`` by default).

    A group whose value names no plugin entry point of its distribution is left out; when two
    distributions declare the same name the first on the path wins (plugin loading refuses the
    second anyway)."""
    groups: dict[str, DeclaredGroup] = {}
    for distribution, version, sections in _distributions(paths):
        plugins = sections.get(PLUGINS_GROUP, {})
        for name, target in sections.get(COMMANDS_GROUP, {}).items():
            owners = [p for p, value in plugins.items() if value == target]
            if not owners and len(plugins) == 1:
                owners = list(plugins)
            if owners and name not in groups:
                groups[name] = DeclaredGroup(name=name, plugin=owners[0], target=target,
                                             distribution=distribution, version=version)
    return groups


def _distributions(paths: Iterable[str] | None
                   ) -> Iterator[tuple[str, str, dict[str, dict[str, str]]]]:
    """(name, version, entry points by group) of each distribution with ``entry_points.txt``,
    in the order :mod:`importlib.metadata` finds them (``*.dist-info``/``*.egg-info`` folders of
    each path entry), a name only once."""
    seen: set[str] = set()
    for entry in sys.path if paths is None else paths:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except OSError:  # not a folder (a zip file, a missing entry): nothing of ours there
            continue
        for child in names:
            if not child.endswith((".dist-info", ".egg-info")):
                continue
            stem = child.rsplit(".", 1)[0]
            name, _, rest = stem.partition("-")
            key = re.sub(r"[-_.]+", "-", name).lower()
            if key in seen:
                continue
            try:
                with open(os.path.join(folder, child, "entry_points.txt"),
                          encoding="utf-8") as file:
                    text = file.read()
            except OSError:
                seen.add(key)  # a distribution without entry points still hides later copies
                continue
            seen.add(key)
            yield key, rest.split("-", 1)[0], _sections(text)


def _sections(text: str) -> dict[str, dict[str, str]]:
    """``entry_points.txt`` (INI: ``[group]`` then ``name = value`` lines) by group."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), {})
        elif current is not None and "=" in line:
            name, value = line.split("=", 1)
            current.setdefault(name.strip(), value.strip())
    return sections


def admits(name: str, allow: Iterable[str] | None, block: Iterable[str]) -> bool:
    """Whether plugin ``name`` loads: ``$LAMWORKS_LOAD_PLUGINS`` (comma-separated; empty: none)
    wins over ``allow``; ``block`` always applies (the rule of :mod:`lamworks.plugins`)."""
    env = os.environ.get("LAMWORKS_LOAD_PLUGINS")
    if env is not None:
        allow = {n.strip() for n in env.split(",") if n.strip()}
    return name not in set(block) and (allow is None or name in set(allow))


def plugin_filter(path: Path) -> Callable[[str], bool] | None:
    """Which plugins the configuration at ``path`` loads, read cheaply (``[plugins] allow`` and
    ``block`` of the TOML file; the full validated configuration when ``LAMWORKS_PLUGINS__...``
    variables override them). ``None`` when the file is missing or unreadable: the command
    that needs it reports why."""
    try:
        if any(key.startswith("LAMWORKS_PLUGINS__") for key in os.environ):
            from .config import load_config

            plugins = load_config(path).plugins
            allow, block = plugins.allow, plugins.block
        else:
            import tomllib

            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            table = raw.get("plugins", {})
            table = table if isinstance(table, dict) else {}
            allow, block = table.get("allow"), table.get("block") or []
            if not (allow is None or isinstance(allow, list)) or not isinstance(block, list):
                return None
    except Exception:  # noqa: BLE001 - any problem with the file: the command reports it
        return None
    return lambda name: admits(name, allow, block)


def load_declared_group(declared: DeclaredGroup, config: InstitutionConfig) -> CommandGroup:
    """Load ``declared``'s plugin alone (settings validated, registration hooks run, as
    :func:`lamworks.plugins.make_plugin_manager` would) and return the group it registered.

    Raises :class:`GroupUnavailable` saying why it cannot (the plugin is not loaded by this
    configuration, failed to import or to load, or did not register the group), and
    :class:`~lamworks.ConfigError` for invalid plugin settings."""
    from .plugins import PluginManager, _describe

    where = f"`lamworks {declared.name}` comes from plugin {declared.plugin!r}"
    if not admits(declared.plugin, config.plugins.allow, config.plugins.block):
        source = config.source or "lamworks.toml"
        raise GroupUnavailable(f"{where}, which this configuration does not load "
                               f"([plugins] allow/block in {source}, or $LAMWORKS_LOAD_PLUGINS)")
    try:
        plugin = _import(declared.target)
    except Exception as exc:  # noqa: BLE001 - a plugin's import may raise anything
        raise GroupUnavailable(f"{where}, which failed to import: {_describe(exc)}") from None
    pm = PluginManager(config)
    record = pm.load_plugin(declared.plugin, plugin, version=declared.version)
    if record.status != "loaded":
        raise GroupUnavailable(f"{where}, which failed to load: {record.error}")
    group = pm.commands.get(declared.name)
    if group is None:
        raise GroupUnavailable(f"{where} (declared in {declared.distribution}'s entry points, "
                               f"group {COMMANDS_GROUP}), but its register_commands hook did "
                               "not register it")
    return group


def _import(target: str) -> object:
    module, _, attribute = target.partition(":")
    found: object = importlib.import_module(module.strip())
    for part in filter(None, attribute.strip().split(".")):
        found = getattr(found, part)
    return found
