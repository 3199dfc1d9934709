"""What an action card says, in plain words: the pure part of the Chat page's cards.

A card names what a step will do or did — the plugin's own sentence when its tool plans a
:class:`~lamworks.Change` (``Change.headline``, ``Change.effects``), else the tool's description
— its status as words with an icon, the policies' reasons (their words, not their names), the
outcome, and the buttons named by what they do (``Change.confirm_label`` /
``Change.decline_label``, else the tool's verb: "Book it" / "Don't book"). The exact change
(the writes, the arguments, every policy by name) is technical detail, folded away and shown
only to roles that may see it (:func:`may_see_technical_details`).

Nothing here imports Streamlit: the page draws a :class:`CardText`; the tests read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lamworks.errors import LamworksError
from lamworks.scopes import missing_scopes

if TYPE_CHECKING:
    from lamworks import Change, Step, Turn
    from lamworks.runtime import Runtime

__all__ = ["STATUS", "CardText", "button_labels", "card_text", "example_requests", "latest_steps",
           "may_see_technical_details"]

STATUS: dict[str, tuple[str, str]] = {
    "executed": ("Done", ":material/check_circle:"),
    "awaiting_confirmation": ("Waiting for you", ":material/pending:"),
    "denied": ("Not done", ":material/block:"),
    "failed": ("Didn't work", ":material/error:"),
    "cancelled": ("Not done: you said no", ":material/cancel:"),
    "skipped": ("Skipped", ":material/skip_next:"),
    "planned": ("Planned", ":material/schedule:"),
    "conflict": ("Not done: the records changed", ":material/sync_problem:"),
    "compensated": ("Undone", ":material/undo:"),
}
"""Each step status as words and a Material icon: the words carry the meaning (a screen reader
reads them; a browser without the icon font still shows them)."""


@dataclass(frozen=True)
class CardText:
    """Everything one card shows, already worded."""

    headline: str
    """Markdown: the plugin's plain sentence, or the tool's description (empty for a finished
    read: its result speaks)."""
    status: str
    icon: str
    effects: list[str] = field(default_factory=list)
    """What will change, one sentence each; only while the step waits (a finished card's
    outcome says what did change)."""
    reasons: list[str] = field(default_factory=list)
    """Why the card waits or was refused, in the policies' words (no policy names)."""
    outcome: str = ""
    """What happened: the result's summary, the refusal or the error."""
    confirm_label: str = ""
    decline_label: str = ""
    technical: str | None = None
    """The exact change, the arguments and every decision by policy name; ``None`` for a role
    that may not see technical details."""


_PENDING = ("awaiting_confirmation", "planned")


def example_requests(rt: Runtime, user: str, limit: int = 6) -> list[str]:
    """Requests to offer a person with an empty chat: the first example of each tool their
    role's scopes cover, in the order the plugins registered them (a front desk is not offered
    a student's requests). Tools that need no scope (e.g. questions about documents) count."""
    try:
        scopes = rt.action_context("", user).scopes
    except LamworksError:
        return []
    usable = [t for t in rt.tools.values() if t.examples and not missing_scopes(scopes, t.scopes)]
    return [t.examples[0] for t in usable][:limit]


def may_see_technical_details(rt: Runtime, user: str) -> bool:
    """Whether ``user`` is shown a card's technical details (the exact writes, the tool's
    arguments, the policies by name).

    The rule: a role that acts within one person's own compartment — any SMART ``patient/``
    scope, as a patient or a student self-service role holds — does not see them; staff roles
    (``user/`` or ``system/`` scopes) and roles without tool scopes do. The details are about
    records the person may act on anyway; they are hidden because they help only someone who
    knows the record formats."""
    try:
        scopes = rt.action_context("", user).scopes
    except LamworksError:
        return False
    return not any(scope.context == "patient" for scope in scopes)


def button_labels(description: str, change: Change | None) -> tuple[str, str]:
    """The confirm and decline buttons' words: the change's own (a plugin knows "Cancel the
    appointment" / "Keep it"), else from the first word of the tool's description, its verb
    ("Book an appointment…" → "Book it" / "Don't book"), else "Go ahead" / "Don't"."""
    confirm = change.confirm_label if change is not None else ""
    decline = change.decline_label if change is not None else ""
    words = description.split()
    verb = words[0].strip(".,:;").lower() if words else ""
    if not verb.isalpha():
        return confirm or "Go ahead", decline or "Don't"
    return confirm or f"{verb.capitalize()} it", decline or f"Don't {verb}"


def _argument_lines(arguments: dict[str, Any]) -> list[str]:
    """A step's arguments in words, for a card whose tool gave no sentence of its own."""
    lines = []
    for name, value in arguments.items():
        if value is None or value == "" or (isinstance(value, dict) and "$from" in value):
            continue
        shown = value if isinstance(value, str | int | float) else json.dumps(
            value, ensure_ascii=False, default=str)
        lines.append(f"{name.replace('_', ' ')}: {shown}")
    return lines


def _technical(step: Step) -> str:
    parts = [f"Tool: {step.tool}",
             "Arguments: " + json.dumps(step.arguments, indent=2, ensure_ascii=False,
                                        default=str)]
    if step.change is not None:
        parts.append(step.change.preview())
    for decision in step.decisions:
        parts.append(f"policy {decision.policy} → {decision.kind}"
                     + (f": {decision.reason}" if decision.reason else ""))
    if step.result is not None and step.result.data is not None:
        parts.append("Result: " + json.dumps(step.result.data, indent=2, ensure_ascii=False,
                                             default=str))
    return "\n".join(parts)


def card_text(rt: Runtime, user: str, step: Step) -> CardText:
    """The card for ``step`` as ``user`` sees it."""
    tool = rt.tools.get(step.tool)
    description = tool.description if tool is not None else step.tool
    status, icon = STATUS.get(step.status, (step.status, ":material/info:"))
    change = step.change
    if change is not None and change.headline:
        # What *will* change is said while the step may still happen; once it has run (or
        # will not), the outcome says what did, in the tool's own past tense.
        headline = change.headline
        effects = list(change.effects) if step.status in _PENDING else []
    elif step.status == "executed":
        headline, effects = "", []  # the result says what was found; the tool's name is noise
    else:
        headline = description
        # A step still to come (planned after the one awaiting a yes) has no change yet: its
        # arguments say what it will use; a record an earlier step creates is left out.
        effects = _argument_lines(step.arguments) if step.status in _PENDING else []
    reasons: list[str] = []
    # Why it waits (the confirms' reasons) or why it was refused (the denies').
    wanted = {"awaiting_confirmation": "confirm", "denied": "deny"}.get(step.status)
    for decision in step.decisions:
        if decision.kind == wanted and decision.reason and decision.reason not in reasons:
            reasons.append(decision.reason)
    outcome = ""
    if step.status in ("executed", "compensated") and step.result is not None:
        outcome = step.result.summary
    elif step.status in ("failed", "conflict") and step.error:
        outcome = step.error
    confirm, decline = button_labels(description, change)
    return CardText(headline=headline, status=status, icon=icon, effects=effects,
                    reasons=reasons, outcome=outcome, confirm_label=confirm,
                    decline_label=decline,
                    technical=_technical(step) if may_see_technical_details(rt, user) else None)


def latest_steps(turns: list[Turn]) -> dict[str, tuple[int, Step]]:
    """Each step id with the last turn that carries it and its state there: a card drawn in an
    earlier turn shows what became of its step (confirmed by a button or a typed "yes")."""
    latest: dict[str, tuple[int, Step]] = {}
    for index, turn in enumerate(turns):
        for step in turn.steps:
            latest[step.id] = (index, step)
    return latest
