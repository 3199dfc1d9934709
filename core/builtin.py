"""The core's own plugin: role/scope checks, confirmation of risky steps and of steps the person
did not ask for (:attr:`lamworks.Step.unrequested`), per-user rate limits.

Registered first, under the name ``core``, exactly like any other plugin (it is one module
with hook implementations). Its policies apply to every tool of every plugin.
"""

from __future__ import annotations

from collections.abc import Callable

from .hookspecs import hookimpl
from .plan import Decision, Step
from .planning import KeywordPlanner, Planner
from .policies import Policy, PolicyContext, confirm, deny, policy
from .scopes import missing_scopes

__all__ = ["confirm_risky_steps", "confirm_unrequested", "rate_limit", "role_scopes"]


@policy(stage="pre")
def role_scopes(step: Step, ctx: PolicyContext) -> Decision | None:
    """The user's role must hold every scope the tool needs."""
    missing = missing_scopes(ctx.action.scopes, ctx.tool.scopes)
    if missing:
        needed = ", ".join(str(s) for s in missing)
        return deny(f"Your role ({ctx.action.role}) is not allowed to do this (it needs {needed}).")
    return None


@policy(stage="pre")
def confirm_risky_steps(step: Step, ctx: PolicyContext) -> Decision | None:
    """Steps whose risk the role lists under ``confirm`` wait for a person's approval."""
    if ctx.tool.risk in ctx.role_config.confirm:
        what = "cannot be undone" if ctx.tool.risk == "irreversible" else "changes records"
        return confirm(f"This action {what}: {ctx.tool.description}")
    return None


@policy(stage="pre")
def confirm_unrequested(step: Step, ctx: PolicyContext) -> Decision | None:
    """Steps the planner could not tie to the person's own words wait for their approval."""
    if step.unrequested:
        # The reason quotes values (names, dates): shown to the person, not kept in the log.
        return confirm("You did not ask for this in your own words, so please check it before "
                       f"it runs: {step.unrequested}", private=True)
    return None


@policy(stage="pre")
def rate_limit(step: Step, ctx: PolicyContext) -> Decision | None:
    """At most ``rate_limit_per_minute`` actions per user per minute (shared across replicas)."""
    if ctx.rate_counter is None or ctx.recheck:
        return None  # a step checked again was counted when it was planned
    limit = ctx.role_config.rate_limit_per_minute
    count = ctx.rate_counter.hit(ctx.action.user)
    if count > limit:
        return deny(f"Too many actions in the last minute (limit {limit}); please wait a moment.")
    return None


@hookimpl
def register_policies(register: Callable[[Policy], None]) -> None:
    register(role_scopes)
    register(confirm_risky_steps)
    register(confirm_unrequested)
    register(rate_limit)


@hookimpl
def register_planners(register: Callable[[Planner], None]) -> None:
    from .planner import NeuroSymbolicPlanner

    register(NeuroSymbolicPlanner())  # the default: its model loads on the first request
    register(KeywordPlanner())  # a fallback that needs no model
