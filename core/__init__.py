"""lamworks: a Large Action Model runtime for regulated verticals.

A person asks in plain language; the runtime plans actions, checks them against safety
policies, executes them against real systems, audits them, and answers with sources. Domains
arrive as plugins (see :mod:`lamworks.hookspecs`).

The public surface is exactly ``__all__`` below; everything else is private.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .accounts import AccountStore, Identity
from .audit import AuditEntry, AuditLog, VerifyResult
from .audit_signing import AuditCheckpoint, CheckpointReport, CheckpointSigner, verify_checkpoints
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
    KnowledgeSource,
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
