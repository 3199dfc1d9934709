"""Who may read what, shared by every way in: permission checks that audit their refusals, and
the audit rows a person may read.

What lives here: :func:`require_permission` and :func:`refuse_permission` (a refusal is an audit
row ``permission.denied`` naming the permission, then a
:class:`~lamworks.permissions.PermissionDenied` to raise), :func:`visible_audit_rows` (every row
with ``audit.read.all``, one's own with ``audit.read.own``) and :func:`acted_for`. The web app's
pages (``lamworks.ui.services``) and the HTTP API (``lamworks.api``) both call these, so one rule
holds for both. What does not: which permissions exist and which roles hold them
(:mod:`lamworks.permissions`), the scope checks of tools (:mod:`lamworks.builtin`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .audit import AuditEntry
from .errors import LamworksError
from .permissions import PERMISSION_POLICY, PermissionDenied

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = [
    "acted_for",
    "refuse_permission",
    "require_permission",
    "role_of",
    "visible_audit_rows",
]


def role_of(rt: Runtime, user: str) -> str:
    """``user``'s role, or ``""`` for an unknown or disabled user (for audit rows)."""
    try:
        return rt.action_context("", user).role
    except LamworksError:
        return ""


def refuse_permission(rt: Runtime, user: str, permission: str, what: str, *,
                      session_id: str = "", detail: dict[str, Any] | None = None,
                      reason: str = "") -> PermissionDenied:
    """Audit a refused attempt (``permission.denied``, with the permission and ``detail``) and
    return the exception to raise: the refusal is on record before the person hears of it."""
    denied = PermissionDenied(permission, reason)
    rt.audit.append(actor=user, role=role_of(rt, user), session_id=session_id,
                    event="permission.denied", tool=what,
                    decisions=[{"kind": "deny", "policy": PERMISSION_POLICY,
                                "reason": denied.reason}],
                    outcome="denied", detail={"permission": permission, **(detail or {})})
    return denied


def require_permission(rt: Runtime, user: str, permission: str, what: str, *,
                       session_id: str = "", detail: dict[str, Any] | None = None) -> None:
    """Raise :class:`PermissionDenied` (audited) unless ``user``'s role holds ``permission``."""
    if not rt.permits(user, permission):
        raise refuse_permission(rt, user, permission, what, session_id=session_id,
                                detail=detail)


def acted_for(actor: str) -> str:
    """The user a row's actor acted for: the actor itself, or NAME of ``operator:ACCOUNT as
    NAME`` (what an operator did with someone's role is part of that person's activity)."""
    if actor.startswith("operator:") and " as " in actor:
        return actor.rsplit(" as ", 1)[1]
    return actor


def visible_audit_rows(rt: Runtime, user: str, *, since_seq: int = 0) -> list[AuditEntry]:
    """The audit rows ``user`` may read after ``since_seq``, oldest first: every row with
    ``audit.read.all``, their own (rows whose actor is ``user``, or an operator acting as
    ``user``) with ``audit.read.own``; else :class:`PermissionDenied` (audited)."""
    if rt.permits(user, "audit.read.all"):
        return list(rt.audit.entries(since_seq=since_seq))
    require_permission(rt, user, "audit.read.own", "audit.read")
    return [e for e in rt.audit.entries(since_seq=since_seq) if acted_for(e.actor) == user]
