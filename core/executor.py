"""Running one allowed step: journal, observers, the tool, post-policies, audit.

The order is the contract:

1. journal ``pending`` row under the idempotency key (committed, fsynced) — or stop if the key
   was seen before. The row keeps digests of the arguments and of the change, never the
   arguments: the key is stamped on what the tool writes, and reconciliation finds it there
   (and of the result, only what the audit keeps: :func:`journal_result`);
2. ``before_action`` observers;
3. the tool — for a tool that plans its writes, its ``apply`` with the step's stored
   :class:`~lamworks.Change` (the one the person confirmed), never a fresh plan — in a worker
   thread, abandoned after ``limits.tool_timeout_seconds``: the step fails, its plugin is
   switched off, and the journal entry of a tool that writes stays ``pending`` (whether it took
   effect is settled at the next start-up, as after a crash);
4. journal ``done`` (or ``failed``; a :class:`~lamworks.ChangeConflict` leaves the step
   ``conflict``: nothing was written, and the runtime plans again);
5. post-policies on the result (deny withholds it, redact hides fields — in the data and in
   the summary sentence, see :func:`~lamworks.policies.redact_text`);
6. ``after_action`` observers;
7. one audit row.

:meth:`Executor.compensate` undoes an executed step whose plan could not finish (its tool's
``compensate``), under a key derived from the step's, journaled and audited the same way.
``lamworks.crashpoints.crash_point`` marks where the crash harness may kill the process (a test
hook; nothing without ``LAMWORKS_CRASH_AT``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ._canonical import digest
from .audit import AuditLog
from .crashpoints import crash_point
from .errors import ChangeConflict, ToolError
from .journal import Journal, arguments_digest
from .limits import ToolTimedOut, call_with_timeout
from .plan import ActionResult, Decision, Ref, Step
from .plugins import PluginManager
from .policies import Policy, PolicyContext, combine, evaluate, redact_data, redact_text
from .redaction import audit_arguments
from .tools import ActionContext, Tool, as_action_result

__all__ = ["Executor", "compensation_key", "idempotency_key", "journal_result",
           "redacted_arguments"]

log = logging.getLogger(__name__)


def idempotency_key(session_id: str, step: Step) -> str:
    """Stable for one step with one set of arguments; a retried step gets the same key."""
    return digest("lamworks-step", session_id, step.id, step.tool, step.arguments)


def journal_result(result: ActionResult) -> dict[str, Any]:
    """What the journal keeps of a result: what the audit log records of it (the audit
    summary, else the summary, and the records it touched, ``Type/id`` without their display
    names) — never its data, which may name someone. A step run again under its key gets
    this back."""
    summary = result.audit_summary if result.audit_summary is not None else result.summary
    refs = [Ref(type=r.type, id=r.id) for r in result.refs]
    return ActionResult(summary=summary, refs=refs).model_dump(mode="json")


def compensation_key(key: str) -> str:
    """The key of the undoing of the step whose key is ``key``."""
    return digest("lamworks-compensation", key)


def redacted_arguments(step: Step, tool: Tool | None = None) -> dict[str, Any]:
    """The step's arguments as the audit log and observers see them: every field a
    pre-policy asked to redact hidden, then the core rule for every tool (free text and
    identifiers, and the tool's own ``redact`` fields: :func:`lamworks.redaction.audit_arguments`;
    without ``tool``, the rule applies without the schema)."""
    fields = [f for d in step.decisions if d.kind == "redact" for f in d.fields]
    arguments = redact_data(step.arguments, fields) if fields else dict(step.arguments)
    return audit_arguments(arguments, tool)


def decisions_for_audit(decisions: Iterable[Decision]) -> list[dict[str, Any]]:
    """Decisions as the audit log stores them (private reasons withheld)."""
    return [d.for_audit() for d in decisions]


class Executor:
    """Executes steps exactly as the module docstring says."""

    def __init__(self, journal: Journal, audit: AuditLog, plugins: PluginManager) -> None:
        self.journal = journal
        self.audit = audit
        self.plugins = plugins

    def execute(self, step: Step, tool: Tool, ctx: ActionContext,
                post_policies: Iterable[Policy], rate_counter: Any = None) -> Step:
        """Run the step; returns it with ``status``, ``result`` or ``error`` filled in."""
        key = idempotency_key(ctx.session_id, step)
        ctx = replace(ctx, step_id=step.id, idempotency_key=key)
        shown_args = redacted_arguments(step, tool)
        crash_point("before_journal")
        seen = self.journal.begin(key, session_id=ctx.session_id, step_id=step.id,
                                  tool=step.tool, actor=ctx.user,
                                  arguments_digest=arguments_digest(step.arguments),
                                  change_digest=step.change_digest)
        if seen is not None:
            return self._already_seen(step, ctx, seen.status, seen.result, shown_args)
        crash_point("after_journal")

        self.plugins.call_each("before_action", step=step, context=ctx, arguments=shown_args)
        try:
            change, apply, arguments = step.change, tool.apply, step.arguments
            if change is not None and apply is not None:
                result = as_action_result(call_with_timeout(
                    lambda: apply(ctx, change), ctx.config.limits.tool_timeout_seconds,
                    tool=tool.name))
            else:
                result = call_with_timeout(lambda: tool.invoke(ctx, arguments),
                                           ctx.config.limits.tool_timeout_seconds, tool=tool.name)
        except ToolTimedOut as exc:
            step = self._timed_out(step, tool, key, exc)
        except ChangeConflict as exc:
            self.journal.fail(key, f"conflict: {exc}")
            step = step.model_copy(update={"status": "conflict", "error": str(exc)})
        except ToolError as exc:
            self.journal.fail(key, str(exc))
            step = step.model_copy(update={"status": "failed", "error": str(exc)})
        except Exception as exc:
            reference = uuid.uuid4().hex[:8]
            log.exception("tool %s failed (ref %s)", step.tool, reference)
            self.journal.fail(key, f"{type(exc).__name__} (ref {reference})")
            step = step.model_copy(update={
                "status": "failed",
                "error": f"The action failed unexpectedly (reference {reference}).",
            })
        else:
            crash_point("before_complete")
            self.journal.complete(key, journal_result(result))
            step = step.model_copy(update={"status": "executed", "result": result})
            step = self._post_policies(step, tool, ctx, post_policies, rate_counter)

        self.plugins.call_each("after_action", step=step, context=ctx, result=step.result)
        crash_point("before_audit")
        self._audit(step, ctx, shown_args, event=f"step.{step.status}")
        crash_point("after_audit")
        return step

    def compensate(self, step: Step, tool: Tool, ctx: ActionContext, reason: str) -> bool:
        """Undo an executed step with its tool's ``compensate``, at most once (journaled under
        :func:`compensation_key`), and audit it (``step.compensated`` with ``reason``, or
        ``step.compensation_failed``). Returns whether it was undone."""
        if tool.compensate is None:
            return False
        key = idempotency_key(ctx.session_id, step)
        undo_key = compensation_key(key)
        ctx = replace(ctx, step_id=step.id, idempotency_key=undo_key)
        shown_args = redacted_arguments(step, tool)
        seen = self.journal.begin(undo_key, session_id=ctx.session_id, step_id=step.id,
                                  tool=step.tool, actor=ctx.user,
                                  arguments_digest=arguments_digest(step.arguments),
                                  change_digest=step.change_digest, compensates=key)
        detail: dict[str, Any] = {"idempotency_key": undo_key, "compensates": key,
                                  "reason": reason}
        if step.change_digest:
            detail["change_digest"] = step.change_digest
        if seen is not None:
            return seen.status == "done"
        compensate, change = tool.compensate, step.change
        try:
            result = as_action_result(call_with_timeout(
                lambda: compensate(ctx, change, key), ctx.config.limits.tool_timeout_seconds,
                tool=tool.name))
        except ToolTimedOut as exc:
            # It may still write: the entry stays pending for start-up reconciliation.
            detail["error"] = str(exc)
            self.plugins.disable(tool.plugin, str(exc))
            event, outcome, undone = "step.compensation_failed", "failed", False
        except Exception as exc:
            error = str(exc) if isinstance(exc, ToolError) else type(exc).__name__
            if not isinstance(exc, ToolError):
                log.exception("undoing %s failed", step.tool)
            self.journal.fail(undo_key, error)
            detail["error"] = error
            event, outcome, undone = "step.compensation_failed", "failed", False
        else:
            self.journal.complete(undo_key, journal_result(result))
            detail["refs"] = [str(r) for r in result.refs]
            event, outcome, undone = "step.compensated", "compensated", True
        self.audit.append(
            actor=ctx.actor, role=ctx.role, session_id=ctx.session_id, event=event,
            tool=step.tool, step_id=step.id, arguments=shown_args,
            decisions=decisions_for_audit(step.decisions), outcome=outcome, detail=detail)
        return undone

    def _post_policies(self, step: Step, tool: Tool, ctx: ActionContext,
                       policies: Iterable[Policy], rate_counter: Any) -> Step:
        post = evaluate(policies, step, PolicyContext(ctx, tool, rate_counter,
                                                      self.plugins.settings))
        if not post:
            return step
        verdict = combine(post)
        result = step.result or ActionResult()
        if verdict.kind == "deny":
            result = ActionResult(summary=f"The result was withheld: {verdict.reason}")
        elif verdict.kind == "redact":
            # The summary sentence is built from the same values: hide them there too.
            result = result.model_copy(update={
                "data": redact_data(result.data, verdict.fields),
                "summary": redact_text(result.summary, result.data, verdict.fields),
                "audit_summary": (None if result.audit_summary is None else
                                  redact_text(result.audit_summary, result.data, verdict.fields)),
            })
        return step.model_copy(update={"decisions": [*step.decisions, *post], "result": result})

    def _timed_out(self, step: Step, tool: Tool, key: str, exc: ToolTimedOut) -> Step:
        """The step of a tool call abandoned after the time limit; its plugin is disabled."""
        if tool.risk == "read":
            self.journal.fail(key, f"timed out after {exc.seconds:g} s")
            outcome = "nothing was changed"
        else:
            # It may still write: the entry stays pending, so this step is never run again and
            # start-up reconciliation (or an operator) settles whether it took effect.
            outcome = "whether it took effect will be checked before it can run again"
        self.plugins.disable(tool.plugin, str(exc))
        log.error("tool %s abandoned after %g s; plugin %r disabled", tool.name, exc.seconds,
                  tool.plugin)
        return step.model_copy(update={"status": "failed", "error": (
            f"{exc}; {outcome}. The {tool.plugin!r} plugin is switched off until the service "
            "restarts.")})

    def _already_seen(self, step: Step, ctx: ActionContext, status: str, stored: Any,
                      shown_args: dict[str, Any]) -> Step:
        if status == "done":
            result = ActionResult.model_validate(stored) if stored else ActionResult()
            step = step.model_copy(update={"status": "executed", "result": result})
            self._audit(step, ctx, shown_args, event="step.deduplicated")
            return step
        message = {
            "pending": "This action was interrupted earlier and is still being checked, so it "
                       "was not run again.",
            "abandoned": "This action was interrupted earlier and did not happen; ask again to "
                         "retry it.",
            "failed": "This action already failed once; ask again to retry it.",
        }.get(status, "This action was already handled.")
        step = step.model_copy(update={"status": "failed", "error": message})
        self._audit(step, ctx, shown_args, event="step.deduplicated")
        return step

    def _audit(self, step: Step, ctx: ActionContext, shown_args: dict[str, Any],
               *, event: str) -> None:
        detail: dict[str, Any] = {"idempotency_key": ctx.idempotency_key}
        if step.change_digest:
            detail["change_digest"] = step.change_digest
        if step.error:
            detail["error"] = step.error
        if step.result is not None:
            result = step.result
            detail["summary"] = (result.audit_summary if result.audit_summary is not None
                                 else result.summary)
            detail["refs"] = [str(r) for r in step.result.refs]
        self.audit.append(
            actor=ctx.actor, role=ctx.role, session_id=ctx.session_id, event=event,
            tool=step.tool, step_id=step.id, arguments=shown_args,
            decisions=decisions_for_audit(step.decisions), outcome=step.status, detail=detail,
        )
