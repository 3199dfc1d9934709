"""The runtime: one request from utterance to answer.

::

    utterance ─► Planner ─► Plan ─► request policies (those whose scope covers a planned tool)
              ─► pre-policies (every step, before any runs) ─► Change
              ─► [confirm? token bound to the change's digest] ─► pre-policies again
              ─► Executor (journal, apply the change or run the tool, post-policies, audit)
              ─► Turn

Nothing half-executes: every step's pre-policies run before the first step does, and one deny
stops the whole plan. A step of a tool that plans its writes gets its exact
:class:`~lamworks.Change` once its policies allow it (a change that cannot be planned denies the
step). A later step that uses what an earlier one creates is checked on the values that step's
change mints (the patient id a registration will have), and planned through the earlier
changes (``ActionContext.planned``), before anything runs. When a later write step is denied or
fails once earlier ones ran, the earlier ones are undone (their tools' ``compensate``, audited
as ``step.compensated`` with the reason); a plan with a write that cannot be undone before
another write says so first and waits for the person's confirmation (``core.not_atomic``).

A step that needs confirmation pauses the plan, with its change and a token bound to the
change's digest; :meth:`Runtime.confirm` resumes it — the pre-policies of every step that
runs are checked again with what is true then, and the confirmed change is applied exactly, or,
when the records moved meanwhile, not at all: the step is planned again and the person is asked
about the new proposal. :meth:`Runtime.cancel` drops it. Everything a later request needs
(dialog state, pending steps, confirmation tokens, rate counters, the journal, the audit log)
lives in SQLite files, so another process — another Streamlit replica, the CLI — can continue
the conversation.

Example::

    runtime = Runtime.from_config("examples/lamworks.toml")
    turn = runtime.handle("session-1", "frontdesk", "book Ana Ruiz with Dr. Lee on Tuesday")
    if turn.awaiting_confirmation:
        turn = runtime.confirm("session-1", turn.awaiting_confirmation.id)
    print(turn.answer)
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .accounts import AccountStore
from .audit import AuditLog
from .audit_signing import CheckpointSigner
from .config import InstitutionConfig, check_stores, load_config
from .errors import ConfigError, ConfirmationError, LamworksError, ToolError
from .executor import (
    Executor,
    decisions_for_audit,
    idempotency_key,
    journal_result,
    redacted_arguments,
)
from .journal import Journal, JournalEntry
from .limits import LIMITS_POLICY, ToolTimedOut, call_with_timeout, plan_refusal, utterance_refusal
from .permissions import Permissions
from .plan import (
    REF_PLACEHOLDER,
    ActionResult,
    Change,
    Citation,
    Decision,
    Explanation,
    FollowUp,
    Plan,
    Step,
    Turn,
)
from .planning import DialogState, Planner, PlanningContext, reply_to_confirmation, yes_then
from .plugins import PluginManager, make_plugin_manager
from .policies import REQUEST_TOOL, Policy, PolicyContext, combine, evaluate, planned_tools
from .scopes import missing_scopes
from .sessions import ConfirmationStore, RateCounter, SessionStore
from .tools import ActionContext, Tool, tool

__all__ = ["Runtime", "Stage", "StageCallback", "StartupReport"]

log = logging.getLogger(__name__)

NOT_ATOMIC_POLICY = "core.not_atomic"
"""The policy name of the confirmation a plan asks for when it is not all-or-nothing."""

Stage = Literal["planning", "checking", "waiting", "running", "done"]
"""Where the runtime is with a message, as reported to an ``on_stage`` callback:

- ``planning``: the planner is about to read the message (after the limits and the session);
- ``checking``: the plan (or a confirmed step) is about to go through the policies;
- ``running``: a step is about to run (its journal entry, then its tool or change);
- ``waiting``: the turn will end waiting for the person (a step awaiting confirmation, or a
  question to answer);
- ``done``: the runtime has finished with the message, whatever the outcome; always last.

A stage is reported when it begins, in that order of events, each at most once in a row (a plan
of three steps reports ``running`` once); a refused or failed request skips what did not happen
(a message over the length limit reports only ``done``)."""

StageCallback = Callable[[Stage], None]
"""Told each :data:`Stage` as it begins (a progress display: the web app's status line)."""


@dataclass
class StartupReport:
    """What happened at start-up: journal entries reconciled, still pending, audit rows a crash
    lost and start-up wrote (``repaired``), plugin failures."""

    reconciled: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    failed_plugins: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


class Runtime:
    """Plans, checks, executes and audits requests for one institution configuration."""

    def __init__(
        self,
        config: InstitutionConfig,
        *,
        plugins: PluginManager | None = None,
        clock: Callable[[], datetime] | None = None,
        operator: str | None = None,
    ) -> None:
        self._config = config
        self.operator = operator or ""
        """Set by ``lamworks ask --operator``: the machine account every action of this runtime
        is audited as done by (``operator:<account> as <user>``)."""
        self.plugins = plugins if plugins is not None else make_plugin_manager(config)
        # Plugins are known now: a permission a role is granted that nobody declared stops here.
        self.permissions = self._permissions(config)
        zone = ZoneInfo(config.institution.timezone)
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(zone))
        check_stores(config)  # a ConfigError naming the path and key, not SQLite's complaint
        db = config.database_location  # a SQLite file, or [stores] database_url (PostgreSQL)
        self.journal = Journal(db)
        self.sessions = SessionStore(db)
        self.confirmations = ConfirmationStore(db)
        self.rate_counter = RateCounter(db)
        self.accounts = AccountStore(config)
        self.audit = AuditLog(config.audit_location, signer=CheckpointSigner.from_config(config))
        self.executor = Executor(self.journal, self.audit, self.plugins)
        self.services: dict[str, Any] = {"runtime": self}
        self.planner = self._choose_planner()
        self.plugins.call_each("startup", config=config, services=self.services)
        self.startup_report = self._reconcile()
        self.startup_report.failed_plugins = [
            f"{r.name}: {r.error}" for r in self.plugins.records.values() if r.status == "failed"
        ]

    @property
    def config(self) -> InstitutionConfig:
        """The institution configuration."""
        return self._config

    @config.setter
    def config(self, value: InstitutionConfig) -> None:
        # A reloaded configuration reaches everything that reads roles and users from it.
        self._config = value
        self.accounts.config = value
        self.permissions = self._permissions(value)

    def _permissions(self, config: InstitutionConfig) -> Permissions:
        return Permissions(config, self.plugins.permissions, unavailable_plugins=[
            r.name for r in self.plugins.records.values() if r.status != "loaded"])

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **kwargs: Any) -> Runtime:
        """Load and validate ``lamworks.toml`` and start a runtime on it."""
        return cls(load_config(path), **kwargs)

    def close(self) -> None:
        for store in (self.journal, self.sessions, self.confirmations, self.rate_counter,
                      self.accounts, self.audit):
            store.close()
        if self.config.mcp.servers:  # their connections (a stdio server's process) end too
            from .mcp_client import close_mounted

            close_mounted(self.plugins)

    # -- what is available ---------------------------------------------------------------------

    @property
    def tools(self) -> dict[str, Tool]:
        return self.plugins.tools

    def policies(self, stage: str) -> list[Policy]:
        return [p for p in self.plugins.policies.values() if p.stage == stage]

    def permits(self, user: str, permission: str) -> bool:
        """Whether ``user``'s role holds ``permission`` (see :mod:`lamworks.permissions`); an
        unknown user holds none, an undeclared permission raises ``KeyError``."""
        try:
            role = self.action_context("", user).role
        except LamworksError:
            self.permissions.role_permits("", permission)  # still raises for a misspelt name
            return False
        return self.permissions.role_permits(role, permission)

    def _choose_planner(self) -> Planner:
        planners = self.plugins.planners
        if self.config.planner:
            if self.config.planner not in planners:
                known = ", ".join(sorted(planners)) or "none"
                raise ConfigError(f"no planner named {self.config.planner!r} (known: {known})",
                                  path=str(self.config.source or ""), key="planner")
            return planners[self.config.planner]
        preferred = [p for p in planners.values() if not getattr(p, "fallback", False)]
        if preferred:
            return preferred[0]
        if not planners:
            raise LamworksError("no planner is registered (is the core plugin blocked?)")
        return next(iter(planners.values()))

    def action_context(self, session_id: str, user: str) -> ActionContext:
        """The context tools and policies see for this user (step fields filled at execution).

        The user is declared in ``[users]`` or has an account (:attr:`accounts`); an unknown
        user or a disabled account raises :class:`~lamworks.LamworksError`."""
        identity = self.accounts.identity(user)
        role = self.config.roles[identity.role]
        return ActionContext(
            user=user, user_config=identity.user_config(), role=identity.role,
            scopes=tuple(role.scopes), config=self.config, settings=None, session_id=session_id,
            now=self.clock, services=self.services, operator=self.operator,
        )

    def _suggestion(self, tool: Tool, options: list[dict[str, Any]],
                    base: ActionContext) -> str | None:
        """The tool to offer after ``tool`` listed ``options`` (its :attr:`Tool.offers`), when
        it lists something, is loaded, and the person's scopes allow it."""
        offered = self.tools.get(tool.offers or "")
        if not options or offered is None or missing_scopes(base.scopes, offered.scopes):
            return None
        return offered.name

    def _tool_context(self, base: ActionContext, tool: Tool) -> ActionContext:
        return replace(base, settings=self.plugins.settings.get(tool.plugin))

    # -- requests ------------------------------------------------------------------------------

    def handle(self, session_id: str, user: str, utterance: str, *,
               on_stage: StageCallback | None = None) -> Turn:
        """Answer one message: plan, check, execute what may run now, and say what happened.

        With a step awaiting confirmation, a bare "yes go ahead" or "no, don't" is the button
        (the same single-use token); "Yes, that's right. What is their address?" confirms,
        then answers the question as a turn of its own (:func:`lamworks.planning.yes_then`).
        A result whose tool declares ``offers=`` ends with "Would you like me to …?", and a
        reply that accepts plans the offered tool (``DialogState.suggested``).

        ``on_stage``, when given, is told each :data:`Stage` as it begins, in this thread, so
        that a person sees what is happening while they wait (the web app's status). It only
        observes: the turn, the stores and the audit log are the same with or without it, and
        an exception it raises is logged and ignored (a display must not stop an action half
        way)."""
        stages = _Stages(on_stage)
        turn = Turn(session_id=session_id, turn_id=_new_id(), user=user, utterance=utterance)
        try:
            return self._guard(turn, lambda: self._handle(turn, stages=stages))
        finally:
            stages("done")

    def propose(self, session_id: str, user: str, tool: str, arguments: dict[str, Any], *,
                text: str = "") -> Turn:
        """Run one step of ``tool`` with ``arguments`` that the caller proposes itself (an MCP
        client's ``tools/call``) instead of a planned utterance: no planner, and everything
        else exactly as :meth:`handle` — the request policies (on ``text``: what the caller
        asked, by default the arguments' text values), the pre-policies, the
        :class:`~lamworks.Change`, a confirmation (then :meth:`confirm` or :meth:`cancel`),
        the journal and the audit log. A tool the user's role may not use is denied and
        audited like any other step."""
        shown = text or "\n".join(str(v) for v in arguments.values() if isinstance(v, str))
        turn = Turn(session_id=session_id, turn_id=_new_id(), user=user,
                    utterance=shown or f"[{tool}]")
        proposed = Plan(steps=[Step(id=_new_id(), tool=tool, arguments=dict(arguments))],
                        why=Explanation(planner="proposed", notes=[f"{tool} called directly"]))
        return self._guard(turn, lambda: self._handle(turn, proposed=proposed,
                                                      stages=_Stages(None)))

    def confirm(self, session_id: str, step_id: str, token: str | None = None, *,
                arguments: dict[str, Any] | None = None,
                change_digest: str | None = None,
                on_stage: StageCallback | None = None) -> Turn:
        """Approve the step awaiting confirmation and run it (and the plan's remaining steps).

        ``token`` defaults to the one issued with the step; ``arguments`` and
        ``change_digest``, when given, are what the person saw, and must equal the step's. The
        token is bound to the step's tool, arguments and the digest of its
        :class:`~lamworks.Change`, recomputed from the stored change. Raises
        :class:`~lamworks.ConfirmationError` for a replayed, stale or altered confirmation.

        Before anything runs, the step's pre-policies are checked again with what is true now
        (roles, scopes, records, policies), and so are those of each later step before it runs;
        a deny stops there. The confirmed change is applied exactly as shown; when a version it
        expects has moved, nothing is written and the answer is a new proposal awaiting a fresh
        confirmation (or, when none can be planned, why not).

        ``on_stage``: as for :meth:`handle` (``checking``, ``running``, ``waiting``, ``done``).
        """
        stages = _Stages(on_stage)
        try:
            return self._confirm(session_id, step_id, token, arguments=arguments,
                                 change_digest=change_digest, stages=stages)
        finally:
            stages("done")

    def _confirm(self, session_id: str, step_id: str, token: str | None, *,
                 arguments: dict[str, Any] | None, change_digest: str | None,
                 stages: _Stages) -> Turn:
        user = self._session_owner(session_id)
        state, version = self.sessions.load(session_id, user)
        step = self._pending_step(state, step_id)
        tool = self.tools.get(step.tool)
        used_token = token or step.confirmation_token or ""
        shown = step.change.digest() if step.change is not None else None
        if step.change_digest != shown or change_digest not in (None, shown):
            # The stored change or its digest was edited, or the person saw another change:
            # redeem against a digest no token has, which spends the token and says so.
            shown = f"altered:{shown}"
        self.confirmations.redeem(used_token, session_id, step_id, step.tool,
                                  step.arguments if arguments is None else arguments, shown)
        turn = Turn(session_id=session_id, turn_id=_new_id(), user=user,
                    utterance=f"[confirm {step.tool}]")
        base = self.action_context(session_id, user)
        self._audit_step(base, step, "step.confirmed", outcome="confirmed")
        confirmed = step.model_copy(update={"confirmation_token": None})
        remaining = [confirmed, *state.pending_steps[1:]]
        state.pending_steps = []
        if tool is None:
            return self._unavailable(turn, state, version, confirmed)
        stages("checking")  # every step that runs is checked again first
        return self._guard(turn, lambda: self._run(turn, state, version, base, remaining,
                                                   confirmed=(step_id, shown), recheck=True,
                                                   stages=stages))

    def cancel(self, session_id: str, step_id: str) -> Turn:
        """Drop the step awaiting confirmation and the rest of its plan."""
        user = self._session_owner(session_id)
        state, version = self.sessions.load(session_id, user)
        step = self._pending_step(state, step_id)
        if step.confirmation_token:
            self.confirmations.cancel(step.confirmation_token)
        base = self.action_context(session_id, user)
        cancelled = step.model_copy(update={"status": "cancelled", "confirmation_token": None})
        self._audit_step(base, cancelled, "step.cancelled", outcome="cancelled")
        state.pending_steps = []
        state.plan_done = []  # what already ran stays: the person stopped the rest
        state.remember("assistant", "Cancelled.")
        self.sessions.save(session_id, user, state, version)
        return Turn(session_id=session_id, turn_id=_new_id(), user=user,
                    utterance=f"[cancel {step.tool}]", plan=Plan(steps=[cancelled]),
                    answer="Cancelled; nothing was changed.")

    # -- internals -----------------------------------------------------------------------------

    def _guard(self, turn: Turn, work: Callable[[], Turn]) -> Turn:
        try:
            return work()
        except ConfirmationError:
            raise
        except LamworksError as exc:
            return turn.model_copy(update={"answer": str(exc)})
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("request failed (ref %s)", reference)
            return turn.model_copy(update={
                "answer": f"Something went wrong on our side (reference {reference}). "
                          "Nothing further was done.",
                "error_reference": reference,
            })

    def _handle(self, turn: Turn, proposed: Plan | None = None, *, stages: _Stages) -> Turn:
        base = self.action_context(turn.session_id, turn.user)
        too_long = utterance_refusal(self.config.limits, turn.utterance)
        if too_long is not None:
            # Before anything reads or stores the text: it is neither planned nor remembered.
            self._audit_limit(base, too_long, {"utterance_chars": len(turn.utterance)})
            return turn.model_copy(update={"answer": f"I can't do that: {too_long.reason}"})
        state, version = self.sessions.load(turn.session_id, turn.user)
        waiting = bool(state.pending_steps) and proposed is None
        typed = reply_to_confirmation(turn.utterance) if waiting else None
        question = yes_then(turn.utterance) if waiting and typed is None else None
        if typed is not None or question is not None:
            # "yes go ahead" at a pending confirmation is the button, through the same
            # single-use token; "no, don't" is the other button. "Yes, correct. What is
            # their address?" presses it, then the question is a turn of its own.
            pending = state.pending_steps[0]
            try:
                answered = (self.cancel(turn.session_id, pending.id) if typed == "no" else
                            self._confirm(turn.session_id, pending.id, None, arguments=None,
                                          change_digest=None, stages=stages))
            except ConfirmationError as exc:
                return turn.model_copy(update={"answer": str(exc)})
            answered = answered.model_copy(update={"turn_id": turn.turn_id,
                                                   "utterance": turn.utterance})
            if question is None or answered.awaiting_confirmation is not None:
                return answered
            then = self._handle(turn.model_copy(update={"utterance": question}), stages=stages)
            return _joined(answered, then)
        superseded = state.pending_steps[0] if state.pending_steps else None
        if superseded is not None:
            if superseded.confirmation_token:
                self.confirmations.cancel(superseded.confirmation_token)
            self._audit_step(base, superseded, "step.cancelled", outcome="superseded")
        state.pending_steps = []
        state.plan_done = []  # a new request: the paused plan (if any) ends as it stands
        state.remember("user", turn.utterance)

        # Routed first, so that each domain's request policies screen only the requests that
        # go to its tools; the dialog as it was is kept, as a refused request leaves no trace.
        before = state.model_copy(deep=True)
        planning = PlanningContext(
            tools=self.tools, action=base, dialog=state,
            slot_extractors=tuple(self.plugins.slot_extractors.values()),
            superseded=superseded,
        )
        if proposed is None:
            stages("planning")
        plan = proposed if proposed is not None else self.planner.plan(turn.utterance, planning)
        state.suggested = None  # an offer answers one turn, taken or not
        stages("checking")
        refusal = self.screen_request(base, turn.utterance, plan)
        if refusal is not None:
            state = before
            state.follow_up = None
            answer = f"I can't help with that: {refusal.reason}"
            state.remember("assistant", answer)
            self.sessions.save(turn.session_id, turn.user, state, version)
            return turn.model_copy(update={"answer": answer, "plan": Plan(
                why=Explanation(planner="request-policies",
                                notes=[f"refused by {refusal.policy}"]))})
        state.follow_up = plan.follow_up
        turn = turn.model_copy(update={"plan": plan})
        if plan.follow_up is not None or not plan.steps:
            if plan.follow_up is not None:
                stages("waiting")
            answer = plan.follow_up.question if plan.follow_up else (plan.reply or "")
            state.remember("assistant", answer)
            self.sessions.save(turn.session_id, turn.user, state, version)
            return turn.model_copy(update={"answer": answer, "follow_up": plan.follow_up})
        too_many = plan_refusal(self.config.limits, plan.steps)
        if too_many is not None:
            self._audit_limit(base, too_many, {"steps": [s.tool for s in plan.steps]})
            answer = f"I can't do that: {too_many.reason}"
            state.remember("assistant", answer)
            self.sessions.save(turn.session_id, turn.user, state, version)
            steps = [s.model_copy(update={"status": "denied", "decisions": [too_many]})
                     for s in plan.steps]
            return turn.model_copy(update={"plan": plan.model_copy(update={"steps": steps}),
                                           "answer": answer})

        checked = self._drop_unrequested_denials(base, self._check_plan(base, plan.steps))
        denied = [s for s in checked if s.status == "denied"]
        if denied:
            steps = [s if s.status == "denied" else s.model_copy(update={"status": "skipped"})
                     for s in checked]
            for step in denied:
                self._audit_step(base, step, "step.denied", outcome="denied")
            answer = " ".join(_denial_text(s) for s in denied)
            state.remember("assistant", answer)
            self.sessions.save(turn.session_id, turn.user, state, version)
            return turn.model_copy(update={"plan": plan.model_copy(update={"steps": steps}),
                                           "answer": answer})
        return self._run(turn, state, version, base, checked, stages=stages)

    def screen_request(self, base: ActionContext, utterance: str,
                       plan: Plan | None = None) -> Decision | None:
        """Run the request-stage policies that apply to the request on its utterance; the
        first deny, audited, or None.

        ``plan`` is what the planner made of the utterance: a policy screens the request when
        its scope covers one of the tools the plan routes it to (its steps, or the question it
        asks) and the acting role; a request routed to no tool (``plan`` None, small talk, out
        of scope) is screened only by the policies that apply to every plugin. :meth:`handle`
        calls it after planning and before anything runs; an evaluation harness calls it, with
        its own plan, to see what the runtime would do without executing anything."""
        planned = planned_tools(plan, self.tools) if plan is not None else []
        policies = [p for p in self.policies("request")
                    if p.applies_to_request(planned, base.role)]
        if not policies:
            return None
        stand_in = Step(id=_new_id(), tool=REQUEST_TOOL, arguments={"utterance": utterance})
        decisions = evaluate(policies, stand_in, PolicyContext(base, _REQUEST_STAND_IN,
                                                                 self.rate_counter,
                                                                 self.plugins.settings),
                             planned=planned)
        verdict = combine(decisions)
        if verdict.kind != "deny":
            return None
        refused = stand_in.model_copy(update={"decisions": decisions, "status": "denied"})
        self._audit_step(base, refused, "request.denied", outcome="denied")
        return verdict

    def _check_plan(self, base: ActionContext, steps: list[Step]) -> list[Step]:
        """Every step checked before the first runs: its pre-policies and its change, a later
        step through the changes of the earlier ones (placeholders bound to the records those
        changes mint, its change planned with ``ActionContext.planned``). A step that uses an
        earlier step's record keeps its placeholders (it is bound and planned again, on what
        really happened, when it is reached); if its tool cannot plan it before that record
        exists (a refusal about the argument that names the record, or about no argument in
        particular), its policies still decide now on the values it will have; any other
        refusal denies the plan.

        A plan whose write is followed by another write that may still fail, and whose tool
        cannot undo it, waits for the person's confirmation saying so (``core.not_atomic``)."""
        checked: list[Step] = []
        planned: list[Change] = []
        provisional: list[Step] = []  # the earlier steps as if done: their changes' results
        for step in steps:
            bound = _bind_references(step, provisional)
            if bound is None:
                result = self._pre_check(base, step)
            else:
                result = self._pre_check(base, bound, planned=tuple(planned))
                denial = result.denial()
                waiting = {k for k, v in step.arguments.items()
                           if isinstance(v, dict) and REF_PLACEHOLDER in v}
                if bound is not step and denial is not None and denial.policy == "core.plan" \
                        and (not denial.fields or set(denial.fields) & waiting):
                    # Its tool cannot plan before the earlier record exists: the policies
                    # decided on the real values; the change is planned when it is reached.
                    result = result.model_copy(update={
                        "decisions": [d for d in result.decisions if d is not denial],
                        "status": "planned"})
            if result.change is not None:
                planned.append(result.change)
            provisional.append(result.model_copy(update={
                "id": step.id, "result": result.change.result() if result.change else None}))
            if bound is not None and bound is not step and result.status != "denied":
                # Stored with its placeholders: bound to what the earlier step really produced.
                result = step.model_copy(update={"decisions": result.decisions,
                                                 "status": result.status})
            checked.append(result)
        return self._not_atomic(checked)

    def _drop_unrequested_denials(self, base: ActionContext, steps: list[Step]) -> list[Step]:
        """The steps without those nobody asked for (:attr:`Step.unrequested`) that policies
        deny, which are audited as denied and dropped, unless nothing else is left: a step an
        LLM planner was steered into never stops what the person did ask for."""
        dropped = [s for s in steps if s.status == "denied" and s.unrequested]
        if not dropped or len(dropped) == len(steps):
            return steps
        for step in dropped:
            self._audit_step(base, step, "step.denied", outcome="denied")
        return self._not_atomic([s for s in steps if not (s.status == "denied" and s.unrequested)])

    def _not_atomic(self, steps: list[Step]) -> list[Step]:
        """The steps, the first write among them asking for confirmation when a write that
        cannot be undone comes before another write (which could still fail)."""
        writes = [i for i, s in enumerate(steps)
                  if (t := self.tools.get(s.tool)) is not None and t.risk != "read"]
        if len(writes) < 2 or any(s.status == "denied" for s in steps):
            return steps
        stuck = [steps[i] for i in writes[:-1] if self.tools[steps[i].tool].compensate is None]
        if not stuck:
            return steps
        names = ", ".join(dict.fromkeys(self.tools[s.tool].short_name for s in stuck))
        ask = Decision(kind="confirm", policy=NOT_ATOMIC_POLICY, reason=(
            f"These {len(writes)} changes are not all-or-nothing: if a later one cannot be "
            f"done, what {names} did stays done (it cannot be undone automatically)."))
        first = writes[0]
        marked = steps[first].model_copy(update={"decisions": [*steps[first].decisions, ask]})
        return [*steps[:first], marked, *steps[first + 1:]]

    def _pre_check(self, base: ActionContext, step: Step, *, recheck: bool = False,
                   keep_change: bool = False, planned: tuple[Change, ...] = ()) -> Step:
        """The step with its pre-policies' decisions and, for a tool that plans its writes, the
        exact Change it will make, planned once no policy denies (a change that cannot be
        planned denies the step). ``keep_change``: the step keeps the change it carries (the
        one a person confirmed); any other change is planned afresh, never trusted.
        ``planned``: the changes earlier steps of the plan will make first."""
        tool = self.tools.get(step.tool)
        if tool is None:
            return step.model_copy(update={"status": "denied", "decisions": [
                _unavailable_decision(step.tool)]})
        if not keep_change:
            step = step.model_copy(update={"change": None, "change_digest": None})
        ctx = PolicyContext(self._tool_context(base, tool), tool, self.rate_counter,
                            self.plugins.settings, recheck=recheck)
        decisions = evaluate(self.policies("pre"), step, ctx)
        if combine(decisions).kind == "deny":
            return step.model_copy(update={"decisions": decisions, "status": "denied"})
        if tool.apply is not None and step.change is None and not _waits_for_references(step):
            change = self._plan_change(replace(base, planned=planned), tool, step)
            if isinstance(change, Decision):
                return step.model_copy(update={"decisions": [*decisions, change],
                                               "status": "denied"})
            step = step.model_copy(update={"change": change, "change_digest": change.digest()})
        return step.model_copy(update={"decisions": decisions, "status": "planned"})

    def _plan_change(self, base: ActionContext, tool: Tool, step: Step) -> Change | Decision:
        """The tool's Change for the step, with the step's id and idempotency key in the context
        (ids it mints derive from them), or the deny that says why it cannot be planned."""
        ctx = replace(self._tool_context(base, tool), step_id=step.id,
                      idempotency_key=idempotency_key(base.session_id, step))
        try:
            return call_with_timeout(lambda: tool.plan(ctx, step.arguments),
                                     self.config.limits.tool_timeout_seconds, tool=tool.name)
        except ToolTimedOut as exc:
            self.plugins.disable(tool.plugin, str(exc))
            return Decision(kind="deny", policy=LIMITS_POLICY, reason=(
                f"{exc}; nothing was done, and the {tool.plugin!r} plugin is switched off "
                "until the service restarts."))
        except ToolError as exc:
            # ``fields``: the argument the refusal is about, when the tool says.
            return Decision(kind="deny", policy="core.plan", reason=str(exc),
                            fields=(exc.field,) if exc.field else ())
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("planning %s failed (ref %s)", tool.name, reference)
            return Decision(kind="deny", policy="core.plan", reason=(
                f"This could not be prepared, so nothing was done (reference {reference})."))

    def _replan(self, base: ActionContext, conflicted: Step) -> Step:
        """A new step for a step whose change met moved records: planned again with what is
        true now, under a new id (a new idempotency key, new minted ids), and always waiting
        for a fresh confirmation — another slot is never taken silently."""
        fresh = Step(id=_new_id(), tool=conflicted.tool, arguments=conflicted.arguments,
                     spans=conflicted.spans, depends_on=conflicted.depends_on)
        step = self._pre_check(base, fresh, recheck=True)
        if step.status == "denied":
            return step
        ask = Decision(kind="confirm", policy="core.change_conflict", reason=(
            "The records changed after you were shown the last proposal; this is what can be "
            "done now."))
        return step.model_copy(update={"decisions": [*step.decisions, ask]})

    def _run(self, turn: Turn, state: DialogState, version: int, base: ActionContext,
             steps: list[Step], confirmed: tuple[str, str | None] | None = None,
             recheck: bool = False, *, stages: _Stages) -> Turn:
        """Run the steps in order until one pauses, fails or is denied.

        ``confirmed``: the id of the step a person just confirmed and the digest of the change
        they confirmed. ``recheck``: the steps were checked earlier (a plan resumed at
        confirmation), so each is checked again before it runs, on what is true now.
        ``stages``: told ``running`` before a step runs and ``waiting`` when one pauses."""
        done: list[Step] = []
        awaiting: Step | None = None
        confirmed_id, confirmed_change = confirmed if confirmed is not None else (None, None)
        for index, step in enumerate(steps):
            tool = self.tools.get(step.tool)
            if tool is None:
                done.append(step.model_copy(update={"status": "failed",
                                                    "error": "This action is not available."}))
                break
            bound = _bind_references(step, done)
            if bound is None:
                done.append(step.model_copy(update={
                    "status": "failed",
                    "error": "An earlier step did not produce what this step needs."}))
                break
            if recheck or bound is not step:
                # Policies decide on the real values, not on the placeholder they saw first,
                # and on what is true now, not on decisions stored with a paused plan. Only the
                # confirmed step keeps its change: it is the one the person saw.
                step = self._pre_check(base, bound.model_copy(update={"decisions": []}),
                                       recheck=True,
                                       keep_change=step.id == confirmed_id and bound is step)
                if step.status == "denied":
                    self._audit_step(base, step, "step.denied", outcome="denied")
                    done.append(step)
                    break
            if step.id == confirmed_id:
                needs_ok = step.change_digest != confirmed_change
            else:
                needs_ok = combine(step.decisions).kind == "confirm"
            if needs_ok:
                awaiting = self._await(turn, base, step)
                state.pending_steps = [awaiting, *steps[index + 1:]]
                done.append(awaiting)
                stages("waiting")
                break
            stages("running")
            ctx = self._tool_context(base, tool)
            finished = self.executor.execute(step, tool, ctx, self.policies("post"),
                                             self.rate_counter)
            done.append(finished)
            if finished.status == "executed" and tool.risk != "read":
                state.plan_done.append(finished)
            if finished.status == "conflict":
                # Nothing was written. Plan again on what is true now and ask the person about
                # the new situation; the later steps follow the new step.
                retry = self._replan(base, finished)
                if retry.status == "denied":
                    self._audit_step(base, retry, "step.denied", outcome="denied")
                    done.append(retry)
                    break
                awaiting = self._await(turn, base, retry)
                later = [_retarget(s, finished.id, retry.id) for s in steps[index + 1:]]
                state.pending_steps = [awaiting, *later]
                if state.last_step is not None and state.last_step.id == finished.id:
                    state.last_step = state.last_step.model_copy(update={"id": retry.id})
                done.append(awaiting)
                stages("waiting")
                break
            if finished.result is not None:
                for ref in finished.result.refs:
                    state.references[ref.type] = ref
                state.offered = _offered(finished)
                state.options = _options(finished)
                state.suggested = self._suggestion(tool, state.options, base)
                state.follow_up = _asked_back(finished, tool)
            if state.last_step is not None and state.last_step.id == finished.id:
                # Done: a later "instead" is another action, not a correction of this one.
                state.last_step = state.last_step.model_copy(update={"status": finished.status})
            if finished.status != "executed":
                break
        if awaiting is None:
            done = self._undo_if_unfinished(base, state, done)
            state.plan_done = []
        # The steps still to come after the one awaiting a yes are part of what the person
        # is shown ("register him, then book him"): planned, not run.
        later = state.pending_steps[1:] if awaiting is not None else []
        answer = _answer(done)
        then = "; ".join(_lower_first(self.tools[s.tool].description.rstrip("."))
                         for s in later if s.tool in self.tools)
        if then:
            answer += f"\nOnce this is done, I will also {then}."
        offer = _offer_text(self.tools[state.suggested]) \
            if state.suggested is not None and awaiting is None else None
        if offer is not None:
            answer += f" {offer}"
        state.remember("assistant", answer)
        try:
            self.sessions.save(turn.session_id, turn.user, state, version)
        except LamworksError as exc:
            if not any(s.status == "executed" for s in done):
                raise
            # Steps ran: the answer must still say so; only the conversation state is lost.
            log.warning("session %s not saved after executed steps: %s", turn.session_id, exc)
            answer += f" (This conversation could not be saved, so I may not remember it: {exc})"
        citations: list[Citation] = [c for s in done if s.result for c in s.result.citations]
        plan = (turn.plan or Plan()).model_copy(update={"steps": [*done, *later]})
        return turn.model_copy(update={"plan": plan, "answer": answer,
                                       "awaiting_confirmation": awaiting,
                                       "citations": citations, "offer": offer})

    def _undo_if_unfinished(self, base: ActionContext, state: DialogState,
                            done: list[Step]) -> list[Step]:
        """When the plan stopped at a write step that was denied or failed, undo the writes of
        the plan that ran before it, newest first (their tools' ``compensate``; each audited).
        Returns ``done`` with the undone steps marked ``compensated``."""
        stopped = done[-1] if done else None
        if stopped is None or stopped.status not in ("denied", "failed") or not state.plan_done:
            return done
        tool = self.tools.get(stopped.tool)
        if tool is not None and tool.risk == "read":
            return done  # a read that failed changed nothing the earlier writes depend on
        entry = self.journal.get(idempotency_key(base.session_id, stopped))
        if entry is not None and entry.status == "pending":
            return done  # timed out: it may still take effect, so what it needs stays
        denial = stopped.denial()
        why = (f"was denied: {denial.for_audit()['reason']}" if denial is not None
               else "failed")
        reason = f"A later step of the same request ({stopped.tool}) {why}."
        undone: dict[str, Step] = {}
        for step in reversed(state.plan_done):
            earlier = self.tools.get(step.tool)
            if earlier is not None and self.executor.compensate(
                    step, earlier, self._tool_context(base, earlier), reason):
                undone[step.id] = step.model_copy(update={"status": "compensated",
                                                          "error": reason})
        gone = {(r.type, r.id) for s in undone.values() if s.result for r in s.result.refs}
        state.references = {k: r for k, r in state.references.items()
                            if (r.type, r.id) not in gone}
        shown = [undone.pop(s.id, s) for s in done]
        return [*undone.values(), *shown]

    def _await(self, turn: Turn, base: ActionContext, step: Step) -> Step:
        """The step paused for confirmation, with a token bound to its tool, arguments and
        the digest of its change."""
        token = self.confirmations.issue(turn.session_id, step.id, step.tool, step.arguments,
                                         step.change_digest)
        awaiting = step.model_copy(update={"status": "awaiting_confirmation",
                                           "confirmation_token": token})
        self._audit_step(base, awaiting, "step.awaiting_confirmation",
                         outcome="awaiting_confirmation")
        return awaiting

    def _unavailable(self, turn: Turn, state: DialogState, version: int, step: Step) -> Turn:
        failed = step.model_copy(update={"status": "failed",
                                         "error": "This action is no longer available."})
        self.sessions.save(turn.session_id, turn.user, state, version)
        return turn.model_copy(update={"plan": Plan(steps=[failed]), "answer": failed.error})

    def _session_owner(self, session_id: str) -> str:
        owner = self.sessions.owner(session_id)
        if owner is None:
            raise ConfirmationError("There is nothing to confirm in this conversation.")
        return owner

    @staticmethod
    def _pending_step(state: DialogState, step_id: str) -> Step:
        if not state.pending_steps or state.pending_steps[0].id != step_id:
            raise ConfirmationError(
                "That action is not waiting for confirmation (already done, cancelled, or "
                "replaced by a newer request)."
            )
        return state.pending_steps[0]

    def _audit_limit(self, base: ActionContext, refusal: Decision,
                     arguments: dict[str, Any]) -> None:
        """One ``request.denied`` row for a request a limit refused (what was measured, never
        the text itself)."""
        self.audit.append(actor=base.actor, role=base.role, session_id=base.session_id,
                          event="request.denied", tool=REQUEST_TOOL, step_id=_new_id(),
                          arguments=arguments, decisions=decisions_for_audit([refusal]),
                          outcome="denied", detail={"reason": refusal.reason})

    def _audit_step(self, base: ActionContext, step: Step, event: str, *, outcome: str) -> None:
        self.audit.append(
            actor=base.actor, role=base.role, session_id=base.session_id, event=event,
            tool=step.tool, step_id=step.id,
            arguments=redacted_arguments(step, self.tools.get(step.tool)),
            decisions=decisions_for_audit(step.decisions), outcome=outcome,
            detail={**({"reason": d.for_audit()["reason"]} if (d := step.denial()) else {}),
                    **({"change_digest": step.change_digest} if step.change_digest else {})},
        )

    def _reconcile(self) -> StartupReport:
        # One process at a time: replicas starting together must not both settle (and audit)
        # the same entry.
        with self.journal.reconciling():
            report = self._settle_pending()
            self._repair_audit(report)
        return report

    def _settle_pending(self) -> StartupReport:
        """Settle the entries a crash left pending, each by its tool's ``reconcile(ctx, key)``:
        the key is stamped on what the action wrote, so the store says whether it happened (the
        journal has no arguments to offer). The undoing of an earlier step happened when that
        step's effect is no longer found by that step's key."""
        report = StartupReport()
        for entry in self.journal.pending():
            tool = self.tools.get(entry.tool)
            label = f"{entry.tool} (step {entry.step_id}, key {entry.key[:12]})"
            if tool is None or tool.reconcile is None:
                report.unresolved.append(label)
                log.warning("journal entry left pending, needs an operator: %s", label)
                continue
            looked_up = entry.compensates or entry.key
            try:
                base = self.action_context(entry.session_id, entry.actor)
                ctx = replace(self._tool_context(base, tool), step_id=entry.step_id,
                              idempotency_key=looked_up)
                outcome = tool.reconcile(ctx, looked_up)
            except Exception as exc:
                report.unresolved.append(f"{label}: reconcile failed: {exc!r}")
                log.exception("reconcile failed for %s", label)
                continue
            if entry.compensates is not None:
                # Undone when the earlier step's effect is gone; else it stays done.
                happened = outcome is None
                outcome = ActionResult(summary="Undone (recovered after a restart).")
            else:
                happened = outcome is not None
            if not happened:
                self.journal.abandon(entry.key, "interrupted before the side effect (reconciled)")
                report.abandoned.append(label)
                event, result = "journal.abandoned", "abandoned"
            else:
                assert outcome is not None
                self.journal.complete(entry.key, journal_result(outcome))
                report.reconciled.append(label)
                event, result = "journal.reconciled", (
                    "compensated" if entry.compensates else "executed")
            detail = {"idempotency_key": entry.key, **_digests(entry)}
            self.audit.append(actor=entry.actor, role=base.role, session_id=entry.session_id,
                              event=event, tool=entry.tool, step_id=entry.step_id,
                              arguments=self._audited_arguments(entry), outcome=result,
                              detail=detail)
            self.journal.mark_audited(entry.key)
        return report

    def _audited_arguments(self, entry: JournalEntry) -> dict[str, Any]:
        """The step's arguments as the audit log already holds them (redacted by the step's
        policies when it was proposed or confirmed), or none: the journal keeps only their
        digest."""
        for row in reversed(self.audit.entries_for_step(entry.step_id)):
            if row.arguments:
                return dict(row.arguments)
        return {}

    def _repair_audit(self, report: StartupReport) -> None:
        """Give settled journal entries of ended processes the audit row a crash cost them (a
        SIGKILL between the journal's ``done`` and the append); each entry is checked once."""
        expected = {"done": ("step.executed", "journal.reconciled"), "failed": ("step.failed",),
                    "abandoned": ("journal.abandoned",)}
        undoing = {"done": ("step.compensated", "journal.reconciled"),
                   "failed": ("step.compensation_failed",), "abandoned": ("journal.abandoned",)}
        for entry in self.journal.unaudited():
            label = f"{entry.tool} (step {entry.step_id}, key {entry.key[:12]})"
            try:
                events = (undoing if entry.compensates else expected)[entry.status]
                if not any(row.event in events and row.detail.get("idempotency_key") == entry.key
                           for row in self.audit.entries_for_step(entry.step_id)):
                    self._append_repaired(entry, events[0])
                    report.repaired.append(label)
                    log.warning("audit row written at start-up for %s", label)
                self.journal.mark_audited(entry.key)
            except Exception as exc:
                report.unresolved.append(f"{label}: audit repair failed: {exc!r}")
                log.exception("audit repair failed for %s", label)

    def _append_repaired(self, entry: JournalEntry, event: str) -> None:
        detail: dict[str, Any] = {
            "idempotency_key": entry.key,
            "repaired": "written at start-up: the process that ran this action stopped before "
                        "its audit row (policy decisions were not kept)",
            **_digests(entry),
        }
        if entry.status == "done" and entry.result is not None:
            result = ActionResult.model_validate(entry.result)
            detail["summary"] = (result.audit_summary if result.audit_summary is not None
                                 else result.summary)
            detail["refs"] = [str(r) for r in result.refs]
        elif entry.error:
            detail["error"] = entry.error
        try:
            role = self.accounts.identity(entry.actor).role
        except LamworksError:  # no longer known, or disabled since
            role = ""
        outcome = {"done": "compensated" if entry.compensates else "executed"}.get(
            entry.status, entry.status)
        self.audit.append(actor=entry.actor, role=role,
                          session_id=entry.session_id, event=event, tool=entry.tool,
                          step_id=entry.step_id, arguments=self._audited_arguments(entry),
                          outcome=outcome, detail=detail)


class _Stages:
    """An ``on_stage`` callback as the runtime calls it: each stage reported once in a row,
    and the callback's own failure logged, never raised into the request it describes."""

    def __init__(self, callback: StageCallback | None) -> None:
        self._callback = callback
        self._last: Stage | None = None

    def __call__(self, stage: Stage) -> None:
        if self._callback is None or stage == self._last:
            return
        self._last = stage
        try:
            self._callback(stage)
        except Exception:
            log.exception("the on_stage callback failed at %r (ignored)", stage)


@tool(name=REQUEST_TOOL, description="The person's request itself, before anything runs.")
def _request_stand_in() -> ActionResult:
    return ActionResult()


_REQUEST_STAND_IN: Tool = _request_stand_in


def _digests(entry: JournalEntry) -> dict[str, str]:
    """What the journal holds of a step instead of its arguments, for an audit row's detail."""
    found = {"arguments_digest": entry.arguments_digest, "change_digest": entry.change_digest,
             "compensates": entry.compensates}
    return {k: v for k, v in found.items() if v}


def _bind_references(step: Step, done: list[Step]) -> Step | None:
    """The step with placeholders replaced by what earlier steps produced (None: missing)."""
    if not any(isinstance(v, dict) and REF_PLACEHOLDER in v for v in step.arguments.values()):
        return step
    arguments: dict[str, Any] = {}
    referents = dict(step.referents)
    for name, value in step.arguments.items():
        if not (isinstance(value, dict) and REF_PLACEHOLDER in value):
            arguments[name] = value
            continue
        source = next((s for s in done if s.id == value[REF_PLACEHOLDER]), None)
        refs = source.result.refs if source is not None and source.result is not None else []
        ref = next((r for r in refs if r.type == value.get("ref")), None)
        if ref is None:
            return None
        arguments[name] = (ref.display or ref.id) if value.get("part") == "display" else ref.id
        referents[name] = ref  # "book him": the card shows who the new record is
    return step.model_copy(update={"arguments": arguments, "referents": referents})


def _waits_for_references(step: Step) -> bool:
    """Whether an argument still stands for a record an earlier step will produce."""
    return any(isinstance(v, dict) and REF_PLACEHOLDER in v for v in step.arguments.values())


def _retarget(step: Step, old: str, new: str) -> Step:
    """The step with references to step ``old``'s records pointing at step ``new``'s."""
    if not any(isinstance(v, dict) and v.get(REF_PLACEHOLDER) == old
               for v in step.arguments.values()):
        return step
    arguments = {k: {**v, REF_PLACEHOLDER: new}
                 if isinstance(v, dict) and v.get(REF_PLACEHOLDER) == old else v
                 for k, v in step.arguments.items()}
    depends_on = [new if d == old else d for d in step.depends_on]
    return step.model_copy(update={"arguments": arguments, "depends_on": depends_on})


def _offered(step: Step) -> dict[str, Any]:
    """What an executed step put before the person, by field name: its own arguments and the
    plain values of its result's data (a dict's scalars; of a list, the first item's)."""
    offered = {k: v for k, v in step.arguments.items()
               if isinstance(v, str | int | float | bool)}
    data = step.result.data if step.result is not None else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if isinstance(data, dict):
        offered.update({k: v for k, v in data.items() if isinstance(v, str | int | float | bool)})
    return offered


def _options(step: Step, *, limit: int = 50) -> list[dict[str, Any]]:
    """The records an executed step's result listed (its data, or the first list in it), each
    as its plain values, in the order shown."""
    data = step.result.data if step.result is not None else None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list) and v
                     and all(isinstance(i, dict) for i in v)), None)
    if not isinstance(data, list):
        return []
    return [{k: v for k, v in item.items() if isinstance(v, str | int | float | bool)}
            for item in data[:limit] if isinstance(item, dict)]


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def _unavailable_decision(tool: str) -> Decision:
    return Decision(kind="deny", policy="core.available",
                    reason=f"The action {tool!r} is not available here.")


def _denial_text(step: Step) -> str:
    decision = step.denial()
    reason = decision.reason if decision else "not allowed"
    return f"I can't do that: {reason}"


def _joined(first: Turn, then: Turn) -> Turn:
    """One turn that did ``first`` (a confirmation), then ``then`` (the question after it)."""
    steps = [*first.steps, *then.steps]
    plan = (then.plan or Plan()).model_copy(update={"steps": steps})
    return then.model_copy(update={
        "utterance": first.utterance, "turn_id": first.turn_id, "plan": plan,
        "answer": " ".join(a for a in (first.answer, then.answer) if a),
        "citations": [*first.citations, *then.citations]})


def _offer_text(tool: Tool) -> str:
    """The question under a result that offers ``tool`` next, from the first clause of its
    description: "Would you like me to book an appointment? Say yes, or pick one (“the first
    one”)." for "Book an appointment for a patient with a practitioner on a day"."""
    what = re.split(r"[.,;(]| for | with | on ", tool.description, maxsplit=1)[0].strip()
    return (f"Would you like me to {what[:1].lower() + what[1:]}? "
            "Say yes, or pick one (“the first one”).")


def _asked_back(step: Step, tool: Tool) -> FollowUp | None:
    """The question an executed step's result puts to the person (:attr:`ActionResult.asks`),
    pending like a planner's, with the step's required arguments kept; ``None`` when it asks
    nothing or names a field the tool does not have."""
    result = step.result
    fields = tool.args_model.model_fields
    if result is None or not result.asks or result.asks not in fields:
        return None
    kept = {name: value for name, value in step.arguments.items()
            if name in fields and fields[name].is_required() and name != result.asks}
    return FollowUp(tool=step.tool, field=result.asks, question=result.summary, arguments=kept,
                    asked_back=True)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _answer(steps: list[Step]) -> str:
    parts = []
    for step in steps:
        if step.status == "executed":
            summary = step.result.summary if step.result else ""
            parts.append(summary or f"Done: {step.tool}.")
        elif step.status == "awaiting_confirmation":
            reasons = [d.reason for d in step.decisions if d.kind == "confirm" and d.reason]
            ask = " ".join(["Please confirm before I go ahead.", *dict.fromkeys(reasons)])
            # The preview is rendered from the stored change: what is shown is what applies.
            parts.append(ask + (f"\n{step.change.preview()}" if step.change else ""))
        elif step.status == "conflict":
            parts.append(f"Nothing was changed: {step.error}")
        elif step.status == "denied":
            parts.append(_denial_text(step))
        elif step.status == "failed":
            parts.append(f"That didn't work: {step.error}")
        elif step.status == "compensated":
            summary = step.result.summary if step.result else step.tool
            parts.append(f"Undone, because the request could not be completed: {summary}")
    return " ".join(parts)

