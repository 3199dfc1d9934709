"""Permissions: what a role may do besides running tools (pages, uploads, audit, configuration).

Tools are governed by scopes (:mod:`lamworks.scopes`); everything else a person can do through a
way in — open a page, upload documents, delete a source, read or export the audit log, verify
its chain, see the effective configuration, manage users — names one :class:`Permission`
(datasette's ``register_actions`` is the model). The core declares its own
(:data:`CORE_PERMISSIONS`); plugins add theirs through the ``register_permissions`` hook, and
their names are prefixed ``<plugin>.`` like tools. Roles grant them in ``lamworks.toml``::

    [roles.auditor]
    permissions = ["page.chat", "audit.read.all", "audit.export", "audit.verify"]

``permissions`` absent: the permissions declared ``default=True`` (chat, knowledge search, one's
own audit rows). ``"*"``: every permission. A name nobody declared is a
:class:`~lamworks.ConfigError` naming ``roles.<role>.permissions`` when the runtime starts (a
permission of a plugin that is blocked or failed to load is ignored with a warning instead:
the runtime keeps serving without that plugin). A permission may imply others
(``audit.read.all`` implies ``audit.read.own``).

What does not live here: the decisions each page takes with them (:mod:`lamworks.ui.services`)
and the scope checks of tools (:mod:`lamworks.builtin`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .errors import ConfigError, PolicyDenied

if TYPE_CHECKING:
    from .config import InstitutionConfig

__all__ = [
    "ALL",
    "CORE_PERMISSIONS",
    "PERMISSION_POLICY",
    "Permission",
    "PermissionDenied",
    "Permissions",
]

log = logging.getLogger(__name__)

ALL = "*"
"""In ``roles.<role>.permissions``: every declared permission."""
PERMISSION_POLICY = "core.permissions"
"""The policy name on refusals for want of a permission (audit rows, :class:`PermissionDenied`)."""


@dataclass(frozen=True)
class Permission:
    """Something a role may be allowed to do, by name (``audit.read.all``).

    ``default``: granted to a role whose ``permissions`` key is absent. ``implies``: the
    permissions that come with this one. The core stamps ``plugin`` at registration and
    prefixes the name of a plugin's permission with ``<plugin>.``.

    Example::

        Permission("page.essay_feedback", "See the Essay feedback page.", default=True)
    """

    name: str
    description: str
    default: bool = False
    implies: tuple[str, ...] = field(default_factory=tuple)
    plugin: str = ""

    def namespaced(self, plugin: str) -> Permission:
        """A copy stamped with its plugin, its name (and those it implies within the plugin)
        prefixed ``<plugin>.``."""

        def prefixed(name: str) -> str:
            return name if name.startswith(f"{plugin}.") else f"{plugin}.{name}"

        return replace(self, plugin=plugin, name=prefixed(self.name),
                       implies=tuple(prefixed(n) for n in self.implies))


class PermissionDenied(PolicyDenied):
    """Seen by end users: their role lacks the permission a page or an operation needs."""

    def __init__(self, permission: str, reason: str = "") -> None:
        self.permission = permission
        super().__init__(PERMISSION_POLICY, reason or (
            f"Your role is not allowed to do this (it needs the permission {permission!r})."))


CORE_PERMISSIONS: tuple[Permission, ...] = (
    Permission("page.home", "The Home page: one's role's sections and suggestions, opened "
               "first.", default=True),
    Permission("page.chat", "The Chat page: ask the assistant to act.", default=True),
    Permission("page.knowledge", "The Knowledge page: search the documents one's role may "
               "read.", default=True),
    Permission("knowledge.upload", "Add documents, into upload sources of one's own, labelled "
               "only with access labels one's role may read."),
    Permission("knowledge.delete", "Delete one's own upload sources."),
    Permission("knowledge.delete.any", "Delete anyone's upload sources (never a plugin's or a "
               "configured source).", implies=("knowledge.delete",)),
    Permission("audit.read.own", "Read one's own rows of the audit log.", default=True),
    Permission("audit.read.all", "Read every row of the audit log.",
               implies=("audit.read.own",)),
    Permission("audit.export", "Export the audit rows one may read (JSON Lines)."),
    Permission("audit.verify", "Verify the audit log's hash chain."),
    Permission("plugins.view", "The Plugins page: loaded plugins, tools and policies."),
    Permission("config.view", "See the effective configuration (secrets masked)."),
    Permission("users.manage", "Add, disable and change users and their roles."),
)
"""The core's own permissions; ``lamworks permissions`` lists them with the plugins'."""


class Permissions:
    """The declared permissions and what each role of the configuration is granted.

    Build it once the plugins are loaded (:class:`~lamworks.Runtime` does:
    ``runtime.permissions``); it checks every ``roles.<role>.permissions`` then.

    Example::

        perms = Permissions(config, plugins.permissions)
        perms.permits("student", "audit.read.all")     # -> False
        perms.granted("admin")                         # -> frozenset({...})
    """

    def __init__(self, config: InstitutionConfig, declared: Mapping[str, Permission] = (
            {}), *, unavailable_plugins: Iterable[str] = ()) -> None:
        self.config = config
        self.declared: dict[str, Permission] = {p.name: p for p in CORE_PERMISSIONS}
        self.declared.update(declared)
        self.warnings: list[str] = []
        absent = set(unavailable_plugins)
        self._granted: dict[str, frozenset[str]] = {}
        for role_name, role in config.roles.items():
            self._granted[role_name] = self._grant(role_name, role.permissions, absent)

    def _grant(self, role: str, listed: list[str] | None,
               unavailable_plugins: set[str]) -> frozenset[str]:
        if listed is None:
            names = {p.name for p in self.declared.values() if p.default}
        elif ALL in listed:
            names = set(self.declared)
        else:
            names = set()
            for name in listed:
                if name in self.declared:
                    names.add(name)
                elif name.split(".", 1)[0] in unavailable_plugins:
                    self.warnings.append(f"roles.{role}.permissions: {name!r} belongs to a plugin "
                                         "that is not loaded; ignored")
                else:
                    known = ", ".join(sorted(self.declared))
                    raise ConfigError(f"unknown permission {name!r} (known: {known}, or '*')",
                                      path=str(self.config.source or "lamworks.toml"),
                                      key=f"roles.{role}.permissions")
        return frozenset(self._closure(names))

    def _closure(self, names: set[str]) -> set[str]:
        todo, seen = list(names), set()
        while todo:
            name = todo.pop()
            if name in seen or name not in self.declared:
                continue
            seen.add(name)
            todo.extend(self.declared[name].implies)
        return seen

    def granted(self, role: str) -> frozenset[str]:
        """Every permission ``role`` holds (an unknown role holds none)."""
        return self._granted.get(role, frozenset())

    def role_permits(self, role: str, permission: str) -> bool:
        """Whether ``role`` holds ``permission``. An undeclared permission is a programming
        error (a misspelt name must never quietly refuse or allow), so it raises KeyError."""
        if permission not in self.declared:
            raise KeyError(f"no permission named {permission!r} is declared")
        return permission in self.granted(role)

    def permits(self, user: str, permission: str) -> bool:
        """Whether ``user`` (a name in ``[users]``) holds ``permission``; an unknown user holds
        nothing."""
        account = self.config.users.get(user)
        if account is None:
            if permission not in self.declared:
                raise KeyError(f"no permission named {permission!r} is declared")
            return False
        return self.role_permits(account.role, permission)

    def require(self, user: str, permission: str) -> None:
        """Raise :class:`PermissionDenied` unless ``user`` holds ``permission``."""
        if not self.permits(user, permission):
            raise PermissionDenied(permission)
