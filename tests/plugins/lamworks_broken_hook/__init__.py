"""A plugin whose register_tools hook raises; its policies must not stay registered either."""

from __future__ import annotations

from collections.abc import Callable

from lamworks import Decision, Policy, PolicyContext, Step, Tool, deny, hookimpl, policy


@policy
def deny_everything(step: Step, ctx: PolicyContext) -> Decision | None:
    """Would deny every step, if it were ever registered."""
    return deny("broken plugin says no")


@hookimpl
def register_policies(register: Callable[[Policy], None]) -> None:
    register(deny_everything)


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    raise ValueError("register_tools exploded")
