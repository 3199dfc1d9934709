"""Loading plugins, isolating them, and collecting what they register.

:func:`make_plugin_manager` returns a fresh :class:`PluginManager` (no global): built-in default
plugins first, then every entry point of group ``lamworks`` that the allow-list and block-list
admit. Each plugin's registration hooks run on their own, into a staging area; a plugin whose
import, hook or registration fails is disabled as a whole (nothing of it stays registered) and
recorded with its error. This is the one place that catches plugin exceptions. At run time
:meth:`PluginManager.disable` switches off a plugin that misbehaved (a tool call that hung past
``limits.tool_timeout_seconds``) the same way.

Allow-list: ``LAMWORKS_LOAD_PLUGINS=a,b`` (environment; empty means "none") wins over
``[plugins] allow``; ``[plugins] block`` always applies. Built-in default plugins (the core's
own policies and planners, the knowledge tool) always load.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal, TypeVar

import pluggy
from pydantic import BaseModel, ValidationError

from . import hookspecs
from .config import InstitutionConfig, format_validation_error
from .errors import ConfigError, DuplicateNameError, PluginError
from .extensions import (
    AuditFormat,
    CommandGroup,
    HomeSection,
    KnowledgeSource,
    ResultComponent,
    SlotExtractor,
    UIPage,
)
from .permissions import Permission
from .planning import Planner
from .policies import Policy
from .tools import Tool

__all__ = ["PluginManager", "PluginRecord", "make_plugin_manager"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lamworks"
DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    ("core", "lamworks.builtin"),  # role scopes, confirmation, rate limits, the planners
    ("knowledge", "lamworks.knowledge.plugin"),  # questions answered from documents
)
_REGISTRATION_HOOKS: tuple[tuple[str, str], ...] = (
    ("register_tools", "tools"),
    ("register_policies", "policies"),
    ("register_knowledge_sources", "knowledge_sources"),
    ("register_slot_extractors", "slot_extractors"),
    ("register_planners", "planners"),
    ("register_ui_pages", "ui_pages"),
    ("register_home_sections", "home_sections"),
    ("register_result_components", "result_components"),
    ("register_permissions", "permissions"),
    ("register_commands", "commands"),
    ("register_audit_formats", "audit_formats"),
)
_EXPECTED_TYPES: dict[str, type | tuple[type, ...]] = {
    "tools": Tool,
    "policies": Policy,
    "knowledge_sources": KnowledgeSource,
    "slot_extractors": SlotExtractor,
    "ui_pages": UIPage,
    "home_sections": HomeSection,
    "result_components": ResultComponent,
    "permissions": Permission,
    "commands": CommandGroup,
    "audit_formats": AuditFormat,
}
RESERVED_COMMANDS = frozenset({"plugins", "tools", "ask", "confirm", "chat", "audit", "config",
                               "ui", "kb", "users", "permissions", "mcp", "serve"})

Status = Literal["loaded", "failed", "blocked"]
T = TypeVar("T")


@dataclass
class PluginRecord:
    """One plugin as ``lamworks plugins`` shows it."""

    name: str
    version: str
    status: Status
    module: str = ""
    error: str | None = None
    builtin: bool = False
    tools: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    knowledge_sources: list[str] = field(default_factory=list)
    slot_extractors: list[str] = field(default_factory=list)
    planners: list[str] = field(default_factory=list)
    ui_pages: list[str] = field(default_factory=list)
    home_sections: list[str] = field(default_factory=list)
    result_components: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    audit_formats: list[str] = field(default_factory=list)
    permissions: list[str] = field(default_factory=list)


@dataclass
class _Staged:
    tools: list[Tool] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    knowledge_sources: list[KnowledgeSource] = field(default_factory=list)
    slot_extractors: list[SlotExtractor] = field(default_factory=list)
    planners: list[Planner] = field(default_factory=list)
    ui_pages: list[UIPage] = field(default_factory=list)
    home_sections: list[HomeSection] = field(default_factory=list)
    result_components: list[ResultComponent] = field(default_factory=list)
    commands: list[CommandGroup] = field(default_factory=list)
    audit_formats: list[AuditFormat] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus what lamworks collected from each plugin, and per-plugin isolation."""

    def __init__(self, config: InstitutionConfig) -> None:
        super().__init__("lamworks")
        self.add_hookspecs(hookspecs)
        self.config = config
        self.records: dict[str, PluginRecord] = {}
        self.settings: dict[str, BaseModel | None] = {}
        self.tools: dict[str, Tool] = {}
        self.policies: dict[str, Policy] = {}
        self.knowledge_sources: dict[str, KnowledgeSource] = {}
        self.slot_extractors: dict[str, SlotExtractor] = {}
        self.planners: dict[str, Planner] = {}
        self.ui_pages: list[UIPage] = []
        self.home_sections: list[HomeSection] = []
        self.result_components: dict[str, ResultComponent] = {}
        self.commands: dict[str, CommandGroup] = {}
        self.audit_formats: dict[str, AuditFormat] = {}
        self.permissions: dict[str, Permission] = {}
        self.warnings: list[str] = []
        self._disabling = threading.Lock()

    # -- loading -------------------------------------------------------------------------------

    def load_plugin(
        self, name: str, plugin: object, *, version: str = "", builtin: bool = False
    ) -> PluginRecord:
        """Register one plugin object, run its registration hooks and merge what it registered.

        Returns its record; on any failure the record says ``failed`` and nothing of the plugin
        stays registered. A :class:`ConfigError` (invalid ``[plugins.<name>]``) propagates.
        """
        module = getattr(plugin, "__name__", type(plugin).__name__)
        record = PluginRecord(name=name, version=version or "unknown", status="loaded",
                              module=module, builtin=builtin)
        self.records[name] = record
        try:
            self.register(plugin, name=name)
            unknown = self._unknown_hooks(plugin)
            if unknown:
                raise PluginError(name, f"unknown hook {unknown[0]!r} (misspelt?)")
            self.settings[name] = self._validate_settings(name, plugin)
            staged = self._stage_registrations(name, plugin)
            self._merge(name, staged, record)
        except ConfigError:
            self._drop(name, plugin)
            raise
        except Exception as exc:
            self._fail(record, plugin, exc)
        return record

    def _unknown_hooks(self, plugin: object) -> list[str]:
        """Hook implementations of ``plugin`` that match no hookspec."""
        unknown = []
        for attr in dir(plugin):
            caller = getattr(self.hook, attr, None)
            if isinstance(caller, pluggy.HookCaller) and caller.spec is None:
                if any(i.plugin is plugin for i in caller.get_hookimpls()):
                    unknown.append(attr)
        return unknown

    def _impl(self, hook_name: str, plugin: object) -> pluggy.HookImpl | None:
        caller = getattr(self.hook, hook_name)
        return next((i for i in caller.get_hookimpls() if i.plugin is plugin), None)

    @staticmethod
    def _call(impl: pluggy.HookImpl, kwargs: Mapping[str, Any]) -> Any:
        # Each implementation asks for a subset of the spec's parameters, by name.
        return impl.function(*[kwargs[a] for a in impl.argnames])

    def _validate_settings(self, name: str, plugin: object) -> BaseModel | None:
        impl = self._impl("plugin_settings", plugin)
        raw = self.config.plugins.settings_for(name)
        if impl is None:
            if raw:
                self.warnings.append(
                    f"[plugins.{name}] is set but plugin {name!r} declares no settings"
                )
            return None
        model = self._call(impl, {})
        if model is None:
            return None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise PluginError(name, "plugin_settings must return a pydantic BaseModel subclass")
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            source = str(self.config.source) if self.config.source else "lamworks.toml"
            lines = format_validation_error(exc, path=source)
            lines = [line.replace(f"{source}: ", f"{source}: plugins.{name}.", 1)
                     for line in lines]
            raise ConfigError("\n".join(lines)) from None

    def _stage_registrations(self, name: str, plugin: object) -> _Staged:
        staged = _Staged()
        kwargs_base = {"config": self.config, "settings": self.settings.get(name)}
        for hook_name, bucket in _REGISTRATION_HOOKS:
            impl = self._impl(hook_name, plugin)
            if impl is None:
                continue
            items: list[Any] = getattr(staged, bucket)
            expected = _EXPECTED_TYPES.get(bucket)

            def register(item: Any, *, _items: list[Any] = items,
                         _expected: Any = expected, _hook: str = hook_name) -> None:
                if _expected is not None and not isinstance(item, _expected):
                    raise PluginError(name, f"{_hook} registered {type(item).__name__}, "
                                            f"expected {getattr(_expected, '__name__', _expected)}")
                if _expected is None and not isinstance(item, Planner):
                    raise PluginError(name, f"{_hook} registered {type(item).__name__}, "
                                            "which has no name and plan() method")
                _items.append(item)

            self._call(impl, {**kwargs_base, "register": register})
        return staged

    def _merge(self, name: str, staged: _Staged, record: PluginRecord) -> None:
        tools = [t.namespaced(name) for t in staged.tools]
        policies = [p.namespaced(name) for p in staged.policies]
        sources = [s.namespaced(name) for s in staged.knowledge_sources]
        extractors = [s.namespaced(name) for s in staged.slot_extractors]
        pages = [p.namespaced(name) for p in staged.ui_pages]
        sections = [s.namespaced(name) for s in staged.home_sections]
        components = [c.namespaced(name) for c in staged.result_components]
        commands = [c.namespaced(name) for c in staged.commands]
        formats = [f.namespaced(name) for f in staged.audit_formats]
        permissions = [p.namespaced(name) for p in staged.permissions]
        for command in commands:
            if command.name in RESERVED_COMMANDS:
                raise PluginError(name, f"command group {command.name!r} clashes with a core "
                                        "command")
        # Check every name before merging anything: all of the plugin or nothing.
        checks: list[tuple[str, Iterable[str], Mapping[str, Any]]] = [
            ("tool", [t.name for t in tools], self.tools),
            ("policy", [p.name for p in policies], self.policies),
            ("knowledge source", [s.name for s in sources], self.knowledge_sources),
            ("slot extractor", [s.name for s in extractors], self.slot_extractors),
            ("planner", [p.name for p in staged.planners], self.planners),
            ("command group", [c.name for c in commands], self.commands),
            ("audit format", [f.name for f in formats], self.audit_formats),
            ("result component", [c.tool for c in components], self.result_components),
            ("permission", [p.name for p in permissions], self.permissions),
        ]
        for kind, names, existing in checks:
            seen: set[str] = set()
            for item_name in names:
                if item_name in existing:
                    raise DuplicateNameError(kind, item_name, name, existing[item_name].plugin
                                             if hasattr(existing[item_name], "plugin")
                                             else self._owner_of_planner(item_name))
                if item_name in seen:
                    raise DuplicateNameError(kind, item_name, name, name)
                seen.add(item_name)
        for t in tools:
            self.tools[t.name] = t
        for p in policies:
            self.policies[p.name] = p
        for s in sources:
            self.knowledge_sources[s.name] = s
        for e in extractors:
            self.slot_extractors[e.name] = e
        for planner in staged.planners:
            self.planners[planner.name] = planner
        self.ui_pages.extend(pages)
        self.home_sections.extend(sections)
        for component in components:
            self.result_components[component.tool] = component
        for command in commands:
            self.commands[command.name] = command
        for audit_format in formats:
            self.audit_formats[audit_format.name] = audit_format
        for permission in permissions:
            self.permissions[permission.name] = permission
        record.tools = [t.name for t in tools]
        record.policies = [p.name for p in policies]
        record.knowledge_sources = [s.name for s in sources]
        record.slot_extractors = [e.name for e in extractors]
        record.planners = [p.name for p in staged.planners]
        record.ui_pages = [p.title for p in pages]
        record.home_sections = [s.title for s in sections]
        record.result_components = [c.tool for c in components]
        record.commands = [c.name for c in commands]
        record.audit_formats = [f.name for f in formats]
        record.permissions = [p.name for p in permissions]

    def _owner_of_planner(self, planner_name: str) -> str:
        return next((r.name for r in self.records.values() if planner_name in r.planners), "?")

    def _drop(self, name: str, plugin: object | None) -> None:
        if plugin is not None and self.is_registered(plugin):
            self.unregister(plugin)
        record = self.records.get(name)
        if record is None:
            return
        # New dicts, not pops: a request on another thread may be iterating the old ones.
        self.tools = _without(self.tools, record.tools)
        self.policies = _without(self.policies, record.policies)
        self.knowledge_sources = _without(self.knowledge_sources, record.knowledge_sources)
        self.slot_extractors = _without(self.slot_extractors, record.slot_extractors)
        self.planners = _without(self.planners, record.planners)
        self.commands = _without(self.commands, record.commands)
        self.audit_formats = _without(self.audit_formats, record.audit_formats)
        self.permissions = _without(self.permissions, record.permissions)
        self.ui_pages = [p for p in self.ui_pages if p.plugin != name]
        self.home_sections = [s for s in self.home_sections if s.plugin != name]
        self.result_components = _without(self.result_components, record.result_components)
        record.tools, record.policies, record.knowledge_sources = [], [], []
        record.slot_extractors, record.planners, record.ui_pages = [], [], []
        record.home_sections, record.result_components = [], []
        record.commands, record.audit_formats, record.permissions = [], [], []

    def _fail(self, record: PluginRecord, plugin: object | None, exc: BaseException) -> None:
        self._drop(record.name, plugin)
        record.status = "failed"
        record.error = _describe(exc)
        log.error("plugin %r disabled: %s", record.name, record.error)
        log.debug("".join(traceback.format_exception(exc)))

    def disable(self, name: str, reason: str) -> PluginRecord | None:
        """Switch off a loaded plugin at run time (it misbehaved: a tool call hung): everything
        it registered goes, its record says ``failed`` with ``reason`` (``lamworks plugins``
        and the Plugins page show it). Until restart; returns the record (None: unknown)."""
        with self._disabling:
            record = self.records.get(name)
            if record is None or record.status != "loaded":
                return record
            self._fail(record, self.get_plugin(name), PluginError(name, reason))
            return record

    def record_failure(self, name: str, exc: BaseException, *, version: str = "",
                       module: str = "") -> PluginRecord:
        """Record a plugin that could not even be imported."""
        record = PluginRecord(name=name, version=version or "unknown", status="failed",
                              module=module)
        self.records[name] = record
        record.error = _describe(exc)
        log.error("plugin %r disabled: %s", name, record.error)
        return record

    # -- calling hooks at run time, one plugin at a time ---------------------------------------

    def call_each(self, hook_name: str, **kwargs: Any) -> dict[str, Any]:
        """Call ``hook_name`` on every loaded plugin separately; a plugin that raises is disabled.

        ``settings`` is filled in per plugin. Returns ``{plugin name: result}``.
        """
        results: dict[str, Any] = {}
        caller = getattr(self.hook, hook_name)
        for impl in list(caller.get_hookimpls()):
            name = self.get_name(impl.plugin) or "?"
            started = time.perf_counter()
            try:
                results[name] = self._call(impl, {**kwargs, "settings": self.settings.get(name)})
            except Exception as exc:
                record = self.records.get(name) or PluginRecord(name, "unknown", "loaded")
                self.records[name] = record
                self._fail(record, impl.plugin, PluginError(name, f"{hook_name}: {_describe(exc)}"))
            elapsed = time.perf_counter() - started
            if elapsed > 1.0:
                log.warning("plugin %r took %.1f s in %s", name, elapsed, hook_name)
        return results

    def disabled_plugin_owning(self, tool_name: str) -> PluginRecord | None:
        """The failed plugin that used to provide ``tool_name`` (to explain its absence)."""
        prefix = tool_name.split(".", 1)[0]
        record = self.records.get(prefix)
        return record if record and record.status == "failed" else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PluginError):
        return str(exc).split(": ", 1)[1] if str(exc).startswith("plugin ") else str(exc)
    return f"{type(exc).__name__}: {exc}"


def _without(items: dict[str, T], names: Iterable[str]) -> dict[str, T]:
    gone = set(names)
    return {key: value for key, value in items.items() if key not in gone}


def _returning(obj: object) -> Callable[[], object]:
    return lambda: obj


def _allowed_names(config: InstitutionConfig) -> set[str] | None:
    env = os.environ.get("LAMWORKS_LOAD_PLUGINS")
    if env is not None:
        return {n.strip() for n in env.split(",") if n.strip()}
    return set(config.plugins.allow) if config.plugins.allow is not None else None


def make_plugin_manager(
    config: InstitutionConfig,
    *,
    extra_plugins: Mapping[str, object] | None = None,
    load_entry_points: bool = True,
) -> PluginManager:
    """A fresh manager with the built-ins, the admitted entry points and ``extra_plugins``.

    ``extra_plugins`` (name → module or object) are loaded after entry points, under the same
    allow/block rules; tests use it to register sample plugins. Raises :class:`ConfigError` when
    a plugin's settings are invalid; any other plugin failure is recorded, not raised.
    """
    pm = PluginManager(config)
    from . import __version__

    for plugin_name, module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        pm.load_plugin(plugin_name, module, version=__version__, builtin=True)

    allowed = _allowed_names(config)
    blocked = set(config.plugins.block)

    def admitted(name: str) -> bool:
        if name in blocked or (allowed is not None and name not in allowed):
            pm.records[name] = PluginRecord(name=name, version="", status="blocked")
            return False
        return True

    candidates: list[tuple[str, Callable[[], object], str, str]] = []
    if load_entry_points:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                         key=lambda e: e.name):
            version = ep.dist.version if ep.dist is not None else ""
            candidates.append((ep.name, ep.load, version, ep.value))
    for name, obj in (extra_plugins or {}).items():
        candidates.append((name, _returning(obj), getattr(obj, "__version__", ""),
                           getattr(obj, "__name__", "")))

    for name, load, version, where in candidates:
        if name in pm.records:
            pm.warnings.append(f"plugin name {name!r} is provided twice; kept the first")
            continue
        if not admitted(name):
            continue
        try:
            plugin = load()
        except Exception as exc:
            pm.record_failure(name, PluginError(name, f"import failed: {_describe(exc)}"),
                              version=version, module=where)
            continue
        if isinstance(plugin, ModuleType):
            version = version or str(getattr(plugin, "__version__", ""))
        pm.load_plugin(name, plugin, version=version)

    if config.mcp.servers:  # remote MCP servers' tools, each server a plugin "mcp.<name>"
        from .mcp_client import mounted_servers

        for server in mounted_servers(config, pm):
            record = pm.load_plugin(server.plugin_name, server)
            record.version = server.server_version or record.version

    if allowed:
        for name in sorted(allowed - set(pm.records)):
            pm.warnings.append(f"plugin {name!r} is allowed but not installed")
    pm.check_pending()
    return pm
