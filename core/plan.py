"""The shapes that travel through one request: Plan, Step, Change, Decision, Turn and friends.

These are pydantic models because they cross every boundary — planner to runtime, runtime to
UI and CLI, process to process through the session store — and must serialise losslessly.
Nothing here does work; the runtime, the planners and the policies fill them in (a
:class:`Change` only renders itself and computes its own digest).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._canonical import digest as _digest

__all__ = [
    "REF_PLACEHOLDER",
    "ActionResult",
    "Candidate",
    "Change",
    "Citation",
    "Decision",
    "DecisionKind",
    "Explanation",
    "FollowUp",
    "Plan",
    "Ref",
    "Span",
    "Step",
    "StepStatus",
    "Turn",
    "WaitingStep",
    "Write",
]

REF_PLACEHOLDER = "$from"
"""An argument value ``{"$from": step_id, "ref": "Patient", "part": "id"}`` stands for the id
(or, with ``"part": "display"``, the display name) of the record of that type produced by an
earlier step of the same plan; the runtime fills it in when the step is reached."""

DecisionKind = Literal["allow", "deny", "confirm", "redact"]
StepStatus = Literal[
    "planned", "denied", "awaiting_confirmation", "executed", "failed", "cancelled", "skipped",
    "conflict", "compensated",
]
"""``conflict``: the step's :class:`Change` no longer matched the records when it was applied
(a version it expected had moved), so nothing was written. ``compensated``: the step ran, then
was undone because a later step of its plan could not run."""


class Decision(BaseModel):
    """What one policy said about one step. Build with ``allow()``, ``deny()``, ``confirm()``,
    ``redact()`` from :mod:`lamworks.policies`; the runtime stamps ``policy``."""

    model_config = ConfigDict(frozen=True)

    kind: DecisionKind
    policy: str = ""
    reason: str = ""
    fields: tuple[str, ...] = ()
    private: bool = False
    """The reason is for the person in front of the screen only (a preview with patient
    details): the audit log records that a reason was shown, not its text."""

    def for_audit(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if self.private:
            data["reason"] = "[shown to the user; not recorded]"
        return data


class Span(BaseModel):
    """Where in the user's words an argument came from (character offsets, end exclusive)."""

    start: int
    end: int
    text: str


class Ref(BaseModel):
    """A typed reference to a domain record a tool produced or consumes (``Patient/pat-0001``)."""

    model_config = ConfigDict(frozen=True)

    type: str
    id: str
    display: str = ""

    def __str__(self) -> str:
        return f"{self.type}/{self.id}"


class Citation(BaseModel):
    """A source an answer relied on."""

    source: str
    title: str = ""
    section: str = ""
    page: int | None = None
    snippet: str = ""
    score: float | None = None


class ActionResult(BaseModel):
    """What a tool returns (tools may also return any JSON-able value; it is wrapped in this).

    ``summary`` is one sentence for the user; ``data`` the structured result shown in the action
    card; ``refs`` the domain records produced (the planner resolves "her", "that appointment"
    from them); ``citations`` the sources used.
    """

    summary: str = ""
    audit_summary: str | None = None
    """What the audit log records instead of ``summary`` (which may name a patient); ``None``
    records ``summary`` itself."""
    data: Any = None
    refs: list[Ref] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    asks: str = ""
    """The field of the same tool that the result asks the person for (a check question put
    back to the person is answered in the tool's ``answer`` field): the conversation then
    waits for it like for any pending question, so the next message goes back to the tool as
    that field, unless it is a new request. The tool's required arguments are kept. Empty:
    the result asks nothing.

    Example::

        return ActionResult(summary="What do producers make their food from?", asks="answer")
    """


class Write(BaseModel):
    """One resource a :class:`Change` writes, with the version it expects to find there.

    ``method`` and ``url`` follow HTTP (and FHIR transactions): ``PUT Type/id`` creates or
    updates at that id, ``POST Type`` creates with an id the store assigns, ``DELETE Type/id``
    removes. ``if_match`` is the version the target must still have (FHIR ``meta.versionId``,
    HTTP ``If-Match``): when it moved, apply writes nothing and raises
    :class:`~lamworks.ChangeConflict`. A new resource has no ``if_match``; its id is minted when
    the change is planned, so the preview names the id that will exist.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["POST", "PUT", "DELETE"]
    url: str
    """``Type/id`` (``Type`` alone for a POST)."""
    resource: dict[str, Any] | None = None
    """The resource exactly as it will be written (``None`` for a DELETE)."""
    if_match: str | None = None
    """The version the target must still have; ``None``: no version check (a new resource)."""
    if_none_exist: str | None = None
    """A search that must find nothing (a conditional create), in the store's query syntax."""
    before: dict[str, Any] | None = None
    """The target as it was when the change was planned (updates), for the preview."""

    def describe(self) -> str:
        """One line: the method, the target, its conditions and what changes."""
        condition = f' [If-Match W/"{self.if_match}"]' if self.if_match else ""
        if self.if_none_exist:
            condition += f" [If-None-Exist {self.if_none_exist}]"
        if self.resource is None:
            return f"{self.method} {self.url}{condition}"
        verb = "update" if self.before is not None else "create"
        return f"{self.method} {self.url} ({verb}){condition}: " + _describe(self.resource,
                                                                             self.before)


class Change(BaseModel):
    """The exact writes a write tool will make, planned before a person confirms them.

    A write tool that plans (``@tool(apply=...)``) returns a Change instead of acting: every
    resource it will write, each with the version it expects, new resources with their ids
    already minted. The runtime stores the change with the step awaiting confirmation, shows
    :meth:`preview` to the person, and binds the confirmation token to :meth:`digest`. At
    confirmation it checks the step's policies again and calls the tool's ``apply`` with
    exactly this change: apply commits all of it or, when a version moved (the slot was
    taken, the record was edited), nothing — it raises :class:`~lamworks.ChangeConflict`, and
    the runtime plans again and asks the person about the new situation. Nothing is decided
    twice: apply never reads the request again, it writes what was shown.

    ``summary``, ``data`` and ``refs`` are the result once applied (:meth:`result`), planned
    with the change so that the ids the person saw are the ids the answer names.

    Example (the test suite runs it; ``ctx`` is the :class:`~lamworks.ActionContext` the
    runtime passes)::

        from lamworks import ActionContext, ActionResult, Change, ChangeConflict, Write, tool

        NOTES = {"Note/n1": {"text": "buy milk"}}          # a tiny versioned store
        VERSIONS = {"Note/n1": "1"}

        def write_notes(ctx: ActionContext, change: Change) -> ActionResult:
            \"""Commit every write of the change, or none when a version moved.\"""
            for write in change.writes:
                if write.if_match is not None and VERSIONS.get(write.url) != write.if_match:
                    raise ChangeConflict("notes.edit_note", f"{write.url} changed meanwhile")
            for write in change.writes:
                NOTES[write.url] = dict(write.resource or {})
                VERSIONS[write.url] = str(int(VERSIONS.get(write.url, "0")) + 1)
            return change.result()

        @tool(risk="write", apply=write_notes)
        def edit_note(note_id: str, text: str) -> Change:
            \"""Replace the text of a note.\"""
            url = f"Note/{note_id}"
            return Change(action=f"Replace the text of {url}.", summary="The note is updated.",
                          writes=[Write(method="PUT", url=url, resource={"text": text},
                                        if_match=VERSIONS[url], before=NOTES[url])],
                          # For people: what the card says, and its buttons' words.
                          headline=f"Replace the text of **note {note_id}**",
                          effects=(f"The note will read “{text}”.",),
                          confirm_label="Replace it", decline_label="Keep it")

        # What the runtime does: plan, show the preview, bind the token to the digest ...
        change = edit_note.plan(ctx, {"note_id": "n1", "text": "buy oat milk"})
        preview = change.preview()
        assert 'PUT Note/n1 (update) [If-Match W/"1"]: text: buy milk -> buy oat milk' in preview
        assert change.headline == "Replace the text of **note n1**"  # what a person reads
        stored = Change.model_validate_json(change.model_dump_json())  # the session store
        assert stored.digest() == change.digest()
        # ... and, once the person confirms, apply exactly that change.
        assert edit_note.apply(ctx, stored).summary == "The note is updated."
        assert NOTES["Note/n1"] == {"text": "buy oat milk"} and VERSIONS["Note/n1"] == "2"
        try:
            edit_note.apply(ctx, stored)    # planned against version 1, which is gone
        except ChangeConflict:
            pass                            # nothing written: plan again, ask again
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str
    """One line for people: what will happen ("Book Dr. Lena Lee on Tue 01 Dec 2026 13:00")."""
    writes: tuple[Write, ...] = ()
    """Everything written, in order, all or nothing."""
    summary: str = ""
    """The answer once applied."""
    data: dict[str, Any] = Field(default_factory=dict)
    """The result's structured data once applied (the ids the change mints, among others)."""
    refs: tuple[Ref, ...] = ()
    """The records the change creates or updates (the planner resolves "that appointment")."""
    headline: str = ""
    """For people, optional: the change in plain words — who, what, when — with the facts to
    check in ``**bold**`` (Markdown), e.g. ``"Replace the text of **note n1**"``. A front end
    shows it instead of :attr:`action` and folds the writes away; empty: :attr:`action` is
    shown. Part of the digest, like everything here: the words confirmed are the words shown."""
    effects: tuple[str, ...] = ()
    """For people, optional: what changes, one plain sentence each."""
    confirm_label: str = ""
    """The words on the button that applies the change ("Replace it"); empty: the front end
    derives them from the tool's verb."""
    decline_label: str = ""
    """The words on the button that drops it ("Keep it"); empty: derived likewise."""

    def digest(self) -> str:
        """SHA-256 of the change's canonical JSON: what a confirmation is bound to."""
        return _digest("lamworks-change", self.model_dump(mode="json"))

    def preview(self) -> str:
        """The change in words: the action, then each write and, for updates, what changes."""
        lines = [self.action, "Exactly this is written, all or nothing:"]
        lines += [f"- {write.describe()}" for write in self.writes]
        return "\n".join(lines)

    def result(self) -> ActionResult:
        """The :class:`ActionResult` an apply returns once every write is committed."""
        return ActionResult(summary=self.summary, data=dict(self.data), refs=list(self.refs))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"),
                                                           ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(new: dict[str, Any], old: dict[str, Any] | None) -> str:
    """A new resource's elements, or an updated one's changed elements (``meta`` is the
    store's: its version is the write's ``if_match``)."""
    if old is None:
        keys = [k for k in new if k not in ("meta", "resourceType", "id")]
        return "; ".join(f"{k}={_short(new[k])}" for k in keys)
    changed = [k for k in sorted(set(new) | set(old)) if k != "meta" and new.get(k) != old.get(k)]
    if not changed:
        return "no element changes"
    return "; ".join(f"{k}: {_short(old.get(k, '(none)'))} -> {_short(new.get(k, '(none)'))}"
                     for k in changed)


class Candidate(BaseModel):
    """One tool the planner considered, with its score."""

    tool: str
    score: float


class Explanation(BaseModel):
    """Why the planner chose what it chose: the top candidates and free-form notes."""

    planner: str
    candidates: list[Candidate] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Step(BaseModel):
    """One planned action: a tool, its arguments, what policies said, and what happened."""

    id: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    spans: dict[str, Span] = Field(default_factory=dict)
    status: StepStatus = "planned"
    decisions: list[Decision] = Field(default_factory=list)
    result: ActionResult | None = None
    error: str | None = None
    confirmation_token: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    referents: dict[str, Ref] = Field(default_factory=dict)
    """Arguments that name a record by reference rather than by the person's own words ("book
    *her*", "book *him*" after registering him): each with the record it refers to, shown
    on the confirmation card so the person sees who "her" is."""
    change: Change | None = None
    """For a tool that plans its writes: the exact :class:`Change` it will apply (planned once
    its pre-policies allowed it; the one a person confirms is the one applied)."""
    change_digest: str | None = None
    """``change.digest()`` when the change was planned; the confirmation token is bound to it."""
    unrequested: str | None = None
    """Set by a planner that cannot tie the step to the person's own words — a tool they did
    not ask for, a value they did not give (an LLM planner may have been steered by text it
    read) — saying why. Such a step waits for the person's confirmation whatever its risk
    (policy ``core.confirm_unrequested``)."""

    def denial(self) -> Decision | None:
        """The first deny among the decisions, if any."""
        return next((d for d in self.decisions if d.kind == "deny"), None)


class WaitingStep(BaseModel):
    """A step that waits for the record another step of the same plan produces ("book the
    patient we are about to register"): its tool, the field that takes the record, the record
    type, and the arguments it already has."""

    tool: str
    field: str
    ref: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class FollowUp(BaseModel):
    """A question the planner needs answered before it can finish a step.

    The pending plan is typed: ``before`` holds the steps of the same plan already complete
    (they run with it once the answer comes), ``after`` the step that waits for what this
    one produces."""

    tool: str
    field: str
    question: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    spans: dict[str, Span] = Field(default_factory=dict)
    before: list[Step] = Field(default_factory=list)
    after: WaitingStep | None = None
    asked_back: bool = False
    """The question is a tool's result asking the person back (:attr:`ActionResult.asks`: a
    hint that invites an attempt, a check question), not a field the planner lacks: a
    statement in reply is the answer, even when it reads like a request for another tool,
    unless it names one."""


class Plan(BaseModel):
    """What a planner returns: steps to run, or a follow-up question, or a plain reply."""

    steps: list[Step] = Field(default_factory=list)
    follow_up: FollowUp | None = None
    reply: str | None = None
    why: Explanation | None = None


class Turn(BaseModel):
    """The runtime's answer to one message (or one Confirm/Cancel)."""

    session_id: str
    turn_id: str
    user: str
    utterance: str
    plan: Plan | None = None
    answer: str = ""
    awaiting_confirmation: Step | None = None
    follow_up: FollowUp | None = None
    citations: list[Citation] = Field(default_factory=list)
    error_reference: str | None = Field(None, description="Shown to users; also in the log.")
    offer: str | None = None
    """The question that ends ``answer`` when a result offers the next action ("Would you like
    me to book an appointment? …"; :attr:`lamworks.Tool.offers`), for a page that shows the
    results as cards rather than the answer's text."""

    @property
    def steps(self) -> list[Step]:
        return self.plan.steps if self.plan else []

    @property
    def results(self) -> list[ActionResult]:
        return [s.result for s in self.steps if s.status == "executed" and s.result is not None]

    @property
    def decisions(self) -> list[Decision]:
        return [d for s in self.steps for d in s.decisions]
