"""Every exception lamworks raises on purpose, split by who reads the message.

::

    LamworksError                 base of everything below
    ├── ConfigError               operators: a bad lamworks.toml (names the file and the key path)
    ├── PluginError               plugin authors and operators: a plugin failed or misbehaved
    │   └── DuplicateNameError    two plugins registered the same tool/policy/source name
    ├── PolicyDenied              end users: a policy refused a step (carries the policy and reason)
    ├── ConfirmationError         end users: a confirmation was replayed, stale or tampered with
    ├── SignInError               end users: a sign-in, token or web session was refused
    ├── ToolError                 end users: an action failed (invalid arguments, a failed system)
    │   └── ChangeConflict        end users: a planned change met records that moved meanwhile
    ├── KnowledgeError            end users and operators: ingestion or retrieval failed
    ├── StoreError                end users and operators: a runtime database was busy or failed
    └── AuditError                operators: the audit chain is broken or cannot be written

Messages are written for their audience: short, specific, and never containing secrets or
protected health information that the audience may not see.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "ChangeConflict",
    "ConfigError",
    "ConfirmationError",
    "DuplicateNameError",
    "KnowledgeError",
    "LamworksError",
    "PluginError",
    "PolicyDenied",
    "SignInError",
    "StoreError",
    "ToolError",
]


class LamworksError(Exception):
    """Base class of every error lamworks raises on purpose."""


class ConfigError(LamworksError):
    """Seen by operators: the institution configuration is invalid; names file and key path."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = ": ".join(part for part in (path, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class PluginError(LamworksError):
    """Seen by plugin authors and operators: a plugin failed at load time or in a hook."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class DuplicateNameError(PluginError):
    """Seen by plugin authors: a name is already taken by another plugin; names both plugins."""

    def __init__(self, kind: str, name: str, plugin: str, other_plugin: str) -> None:
        self.kind = kind
        self.name = name
        self.other_plugin = other_plugin
        super().__init__(
            plugin,
            f"plugin {plugin!r} registers {kind} {name!r}, which plugin {other_plugin!r} "
            "already registered; rename one or block one of the two plugins",
        )


class PolicyDenied(LamworksError):
    """Seen by end users: a policy refused a step; carries the policy's name and its reason."""

    def __init__(self, policy: str, reason: str) -> None:
        self.policy = policy
        self.reason = reason
        super().__init__(f"{reason} (policy: {policy})")


class ConfirmationError(LamworksError):
    """Seen by end users: a confirmation was already used, cancelled, or no longer matches."""


class SignInError(LamworksError):
    """Seen by end users: a sign-in, API token or web session was refused. The message never says
    whether a username exists ("wrong username or password"), only that an account is locked."""


class ToolError(LamworksError):
    """Seen by end users: an action could not be carried out; says which and why."""

    def __init__(self, tool: str, message: str, *, field: str | None = None) -> None:
        self.tool = tool
        self.field = field
        super().__init__(message)


class ChangeConflict(ToolError):
    """Seen by end users: a planned :class:`~lamworks.Change` met a record whose version moved
    (the slot was taken, the record was edited); nothing was written, and the runtime plans
    again and asks the person about the new situation."""


class KnowledgeError(LamworksError):
    """Seen by end users and operators: a document could not be ingested or searched."""


class StoreError(LamworksError):
    """Seen by end users and operators: a runtime database stayed busy or failed."""


class AuditError(LamworksError):
    """Seen by operators: the audit log could not be written or its chain is broken."""
