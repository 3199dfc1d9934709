"""The public API is exactly ``lamworks.__all__``: sorted, importable, and documented."""

from __future__ import annotations

import lamworks

DOCUMENTED = {
    "AuditCheckpoint", "CheckpointReport", "CheckpointSigner", "verify_checkpoints",
    "AccountStore", "Identity", "SignInError",
    "Permission", "PermissionDenied",
    "ActionContext", "ActionResult", "AuditEntry", "AuditError", "AuditFormat", "AuditLog",
    "Candidate", "Change", "ChangeConflict",
    "Citation", "CommandGroup", "ConfigError", "ConfirmationError", "Decision", "DialogState",
    "DuplicateNameError", "EntityMatch", "Explanation", "FollowUp", "HomeSection", "HomeView",
    "InstitutionConfig",
    "KeywordPlanner", "KnowledgeError", "KnowledgeSource", "LamworksError", "Plan", "Planner",
    "PlanningContext", "PluginError", "PluginManager", "PluginRecord", "Policy", "PolicyContext",
    "PolicyDenied", "Ref", "ResultComponent", "Runtime", "Scope", "SlotExtractor", "Span", "Step",
    "StoreError", "Tool",
    "ToolError", "Turn", "UIPage", "VerifyResult", "Write", "__version__", "allow", "confirm",
    "deny",
    "entity", "hookimpl", "load_config", "ref", "make_plugin_manager", "policy", "redact",
    "tool", "tool_from_schema",
}


def test_all_is_sorted_and_exact() -> None:
    assert lamworks.__all__ == sorted(lamworks.__all__)
    assert set(lamworks.__all__) == DOCUMENTED


def test_every_exported_member_exists_and_public_classes_have_docstrings() -> None:
    for name in lamworks.__all__:
        member = getattr(lamworks, name)
        if isinstance(member, type):
            assert member.__doc__, f"{name} has no docstring"
            assert member.__module__.startswith("lamworks."), name
