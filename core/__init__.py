"""lamworks: a Large Action Model runtime for regulated verticals.

A person asks in plain language; the runtime plans actions, checks them against safety
policies, executes them against real systems, audits them, and answers with sources. Domains
arrive as plugins (see :mod:`lamworks.hookspecs`).

The public surface is exactly ``__all__`` below; everything else is private.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Imported on first use (PEP 562): `import lamworks` stays cheap, so `lamworks --help` and
# other commands that need little start fast; `from lamworks import Runtime` works as before.
_EXPORTS: dict[str, str] = {
    "AccountStore": "accounts",
    "ActionContext": "tools",
    "ActionResult": "plan",
    "AuditCheckpoint": "audit_signing",
    "AuditEntry": "audit",
    "AuditError": "errors",
    "AuditFormat": "extensions",
    "AuditLog": "audit",
    "Candidate": "plan",
    "Change": "plan",
    "ChangeConflict": "errors",
    "CheckpointReport": "audit_signing",
    "CheckpointSigner": "audit_signing",
    "Citation": "plan",
    "CommandGroup": "extensions",
    "ConfigError": "errors",
    "ConfirmationError": "errors",
    "Decision": "plan",
    "DialogState": "planning",
    "DuplicateNameError": "errors",
    "EntityMatch": "extensions",
    "Explanation": "plan",
    "FollowUp": "plan",
    "Identity": "accounts",
    "InstitutionConfig": "config",
    "KeywordPlanner": "planning",
    "HomeSection": "extensions",
    "HomeView": "extensions",
    "KnowledgeError": "errors",
    "KnowledgeSource": "extensions",
    "LamworksError": "errors",
    "Permission": "permissions",
    "PermissionDenied": "permissions",
    "Plan": "plan",
    "Planner": "planning",
    "PlanningContext": "planning",
    "PluginError": "errors",
    "PluginManager": "plugins",
    "PluginRecord": "plugins",
    "Policy": "policies",
    "PolicyContext": "policies",
    "PolicyDenied": "errors",
    "Ref": "plan",
    "ResultComponent": "extensions",
    "Runtime": "runtime",
    "Scope": "scopes",
    "SignInError": "errors",
    "SlotExtractor": "extensions",
    "Span": "plan",
    "Step": "plan",
    "StoreError": "errors",
    "Tool": "tools",
    "ToolError": "errors",
    "Turn": "plan",
    "UIPage": "extensions",
    "VerifyResult": "audit",
    "Write": "plan",
    "allow": "policies",
    "confirm": "policies",
    "deny": "policies",
    "entity": "tools",
    "hookimpl": "hookspecs",
    "load_config": "config",
    "make_plugin_manager": "plugins",
    "policy": "policies",
    "redact": "policies",
    "ref": "tools",
    "tool": "tools",
    "tool_from_schema": "tools",
    "verify_checkpoints": "audit_signing",
}

if TYPE_CHECKING:
    from .accounts import AccountStore, Identity
    from .audit import AuditEntry, AuditLog, VerifyResult
    from .audit_signing import (
        AuditCheckpoint,
        CheckpointReport,
        CheckpointSigner,
        verify_checkpoints,
    )
    from .config import InstitutionConfig, load_config
    from .errors import (
        AuditError,
        ChangeConflict,
        ConfigError,
        ConfirmationError,
        DuplicateNameError,
        KnowledgeError,
        LamworksError,
        PluginError,
        PolicyDenied,
        SignInError,
        StoreError,
        ToolError,
    )
    from .extensions import (
        AuditFormat,
        CommandGroup,
        EntityMatch,
        HomeSection,
        HomeView,
        KnowledgeSource,
        ResultComponent,
        SlotExtractor,
        UIPage,
    )
    from .hookspecs import hookimpl
    from .permissions import Permission, PermissionDenied
    from .plan import (
        ActionResult,
        Candidate,
        Change,
        Citation,
        Decision,
        Explanation,
        FollowUp,
        Plan,
        Ref,
        Span,
        Step,
        Turn,
        Write,
    )
    from .planning import DialogState, KeywordPlanner, Planner, PlanningContext
    from .plugins import PluginManager, PluginRecord, make_plugin_manager
    from .policies import Policy, PolicyContext, allow, confirm, deny, policy, redact
    from .runtime import Runtime
    from .scopes import Scope
    from .tools import ActionContext, Tool, entity, ref, tool, tool_from_schema


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lamworks' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

__all__ = [
    "AccountStore",
    "ActionContext",
    "ActionResult",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditError",
    "AuditFormat",
    "AuditLog",
    "Candidate",
    "Change",
    "ChangeConflict",
    "CheckpointReport",
    "CheckpointSigner",
    "Citation",
    "CommandGroup",
    "ConfigError",
    "ConfirmationError",
    "Decision",
    "DialogState",
    "DuplicateNameError",
    "EntityMatch",
    "Explanation",
    "FollowUp",
    "HomeSection",
    "HomeView",
    "Identity",
    "InstitutionConfig",
    "KeywordPlanner",
    "KnowledgeError",
    "KnowledgeSource",
    "LamworksError",
    "Permission",
    "PermissionDenied",
    "Plan",
    "Planner",
    "PlanningContext",
    "PluginError",
    "PluginManager",
    "PluginRecord",
    "Policy",
    "PolicyContext",
    "PolicyDenied",
    "Ref",
    "ResultComponent",
    "Runtime",
    "Scope",
    "SignInError",
    "SlotExtractor",
    "Span",
    "Step",
    "StoreError",
    "Tool",
    "ToolError",
    "Turn",
    "UIPage",
    "VerifyResult",
    "Write",
    "__version__",
    "allow",
    "confirm",
    "deny",
    "entity",
    "hookimpl",
    "load_config",
    "make_plugin_manager",
    "policy",
    "redact",
    "ref",
    "tool",
    "tool_from_schema",
    "verify_checkpoints",
]
