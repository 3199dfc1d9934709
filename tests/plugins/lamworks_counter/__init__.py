"""A plugin for crash tests: a tool whose side effect is a row in a real SQLite file.

Environment knobs (set by the test that runs it in a subprocess):
- ``COUNTER_HANG_BEFORE``: a path; the tool touches it and sleeps *before* its side effect.
- ``COUNTER_HANG_AFTER``: a path; the tool touches it and sleeps *after* its side effect.
Also a policy that raises, to check that policies fail closed.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from lamworks import (
    ActionContext,
    ActionResult,
    Decision,
    Policy,
    PolicyContext,
    Step,
    Tool,
    hookimpl,
    policy,
    tool,
)


def _db(ctx: ActionContext) -> sqlite3.Connection:
    conn = sqlite3.connect(ctx.data_dir / "counter.db", isolation_level=None)
    conn.execute("CREATE TABLE IF NOT EXISTS bumps (key TEXT, label TEXT)")
    return conn


def _hang(variable: str) -> None:
    marker = os.environ.get(variable)
    if marker:
        Path(marker).touch()
        time.sleep(120)


def reconcile_bump(ctx: ActionContext, key: str) -> ActionResult | None:
    """The bump happened if a row carries this step's idempotency key."""
    conn = _db(ctx)
    (count,) = conn.execute("SELECT COUNT(*) FROM bumps WHERE key = ?", (key,)).fetchone()
    conn.close()
    return ActionResult(summary="bumped (reconciled)") if count else None


@tool(risk="write", scopes=["user/Counter.c"], examples=["bump the counter"],
      reconcile=reconcile_bump)
def bump(ctx: ActionContext, label: str) -> ActionResult:
    """Bump the counter.

    Args:
        label: A label for this bump.
    """
    _hang("COUNTER_HANG_BEFORE")
    conn = _db(ctx)
    conn.execute("INSERT INTO bumps (key, label) VALUES (?, ?)", (ctx.idempotency_key, label))
    conn.close()
    _hang("COUNTER_HANG_AFTER")
    return ActionResult(summary=f"bumped {label}")


@tool(scopes=["user/Counter.r"], examples=["explode the policy check"])
def fragile(text: str = "") -> str:
    """Run a step that a broken policy inspects."""
    return "fragile ran"


@policy(tools="fragile")
def explodes_on_fragile(step: Step, ctx: PolicyContext) -> Decision | None:
    """A buggy policy: raises on the fragile tool."""
    raise KeyError("bug in policy")


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    register(bump)
    register(fragile)


@hookimpl
def register_policies(register: Callable[[Policy], None]) -> None:
    register(explodes_on_fragile)
