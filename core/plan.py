"""The shapes that travel through one request: Plan, Step, Decision, Turn and friends.

These are pydantic models because they cross every boundary — planner to runtime, runtime to
UI and CLI, process to process through the session store — and must serialise losslessly.
Nothing here does work; the runtime, the planners and the policies fill them in.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "REF_PLACEHOLDER",
    "ActionResult",
    "Candidate",
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
]

REF_PLACEHOLDER = "$from"
"""An argument value ``{"$from": step_id, "ref": "Patient", "part": "id"}`` stands for the id
(or, with ``"part": "display"``, the display name) of the record of that type produced by an
earlier step of the same plan; the runtime fills it in when the step is reached."""

DecisionKind = Literal["allow", "deny", "confirm", "redact"]
StepStatus = Literal[
    "planned", "denied", "awaiting_confirmation", "executed", "failed", "cancelled", "skipped"
]


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

    @property
    def steps(self) -> list[Step]:
        return self.plan.steps if self.plan else []

    @property
    def results(self) -> list[ActionResult]:
        return [s.result for s in self.steps if s.status == "executed" and s.result is not None]

    @property
    def decisions(self) -> list[Decision]:
        return [d for s in self.steps for d in s.decisions]
