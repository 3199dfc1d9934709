"""Resource limits that the runtime enforces: message size, plan length, time per tool call.

What lives here: the checks behind ``[limits]`` in ``lamworks.toml`` (:class:`LimitsConfig`)
that concern a request — :func:`utterance_refusal`, :func:`plan_refusal` — and
:func:`call_with_timeout`, which runs a tool call in a worker thread and stops waiting for it
after ``limits.tool_timeout_seconds``. What does not: the ingestion limits (sizes, unpacked size
and compression ratio of archives, time per run), which live in :mod:`lamworks.knowledge.limits`,
and what the runtime does once a limit trips (refuse and audit, or disable the plugin; see
:mod:`lamworks.runtime` and :mod:`lamworks.executor`).

Python cannot stop a thread: a tool call that times out keeps running in a daemon thread, its
result (or side effect) is never used, and its plugin is switched off so that no further calls
pile up behind it. A daemon thread never keeps the process from exiting.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .config import LimitsConfig
from .errors import ToolError
from .plan import Decision

__all__ = ["LIMITS_POLICY", "ToolTimedOut", "call_with_timeout", "plan_refusal",
           "utterance_refusal"]

LIMITS_POLICY = "core.limits"
"""The policy name stamped on every refusal a limit makes (in the answer and the audit log)."""

T = TypeVar("T")


class ToolTimedOut(ToolError):
    """Seen by end users: a tool call ran past ``limits.tool_timeout_seconds`` and was abandoned;
    its plugin is switched off until the service restarts."""

    def __init__(self, tool: str, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(tool, f"{tool} did not finish within {seconds:g} s "
                               "(limits.tool_timeout_seconds), so I stopped waiting for it")


def utterance_refusal(limits: LimitsConfig, utterance: str) -> Decision | None:
    """The deny for a message longer than ``limits.max_utterance_chars``, or None."""
    if len(utterance) <= limits.max_utterance_chars:
        return None
    return Decision(kind="deny", policy=LIMITS_POLICY, reason=(
        f"the message is {len(utterance):,} characters long; the limit is "
        f"{limits.max_utterance_chars:,} (limits.max_utterance_chars). Send a shorter one."))


def plan_refusal(limits: LimitsConfig, steps: Sequence[Any]) -> Decision | None:
    """The deny for a plan of more than ``limits.max_steps_per_turn`` steps, or None."""
    if len(steps) <= limits.max_steps_per_turn:
        return None
    return Decision(kind="deny", policy=LIMITS_POLICY, reason=(
        f"this request needs {len(steps)} actions; one request may run at most "
        f"{limits.max_steps_per_turn} (limits.max_steps_per_turn). Ask for fewer at a time."))


def call_with_timeout(function: Callable[[], T], seconds: float, *, tool: str) -> T:
    """``function()``, run in a daemon worker thread; :class:`ToolTimedOut` when it has not
    returned after ``seconds``. Its exception, if it raises in time, is raised here."""
    outcome: list[Any] = []
    failure: list[BaseException] = []
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome.append(context.run(function))
        except BaseException as exc:  # handed to the waiting thread, which re-raises it
            failure.append(exc)

    worker = threading.Thread(target=work, name=f"lamworks-tool:{tool}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise ToolTimedOut(tool, seconds)
    if failure:
        raise failure[0]
    result: T = outcome[0]
    return result
