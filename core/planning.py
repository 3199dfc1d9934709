"""Planners turn an utterance into a :class:`~lamworks.plan.Plan`; this module holds their contract.

A planner is any object with a ``name`` and a ``plan(utterance, ctx) -> Plan`` method, registered
through the ``register_planners`` hook. The institution picks one by name (the default is the
first registered that is not a fallback); the core ships :class:`KeywordPlanner`, a small lexical
planner that keeps the runtime usable with no model at all. The neuro-symbolic default planner
(router, slot filler, chainer) replaces it as the preferred planner once registered.

Example::

    class MyPlanner:
        name = "my-planner"

        def plan(self, utterance: str, ctx: PlanningContext) -> Plan:
            return Plan(reply="I only say hello.")

    @hookimpl
    def register_planners(register):
        register(MyPlanner())
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field, ValidationError

from .extensions import SlotExtractor
from .plan import Candidate, Explanation, FollowUp, Plan, Ref, Span, Step
from .tools import ActionContext, Tool

__all__ = [
    "DialogState",
    "KeywordPlanner",
    "Planner",
    "PlanningContext",
    "StatedValue",
    "field_question",
    "new_step_id",
    "opens_with_yes",
    "reply_to_confirmation",
    "small_talk",
    "yes_then",
]


class StatedValue(BaseModel):
    """A value the conversation gave a field, and the tool it was given for."""

    value: Any
    tool: str


class DialogState(BaseModel):
    """What a conversation remembers between turns; persisted with the session.

    Every field is typed: a pending question (``follow_up``), steps waiting for a person's
    confirmation (``pending_steps``), the records the conversation is about (``references``,
    by type: "her" is the last person record), and the step planned last (``last_step``, which a
    correction such as "make it Wednesday" changes)."""

    follow_up: FollowUp | None = None
    pending_steps: list[Step] = Field(default_factory=list)
    references: dict[str, Ref] = Field(default_factory=dict)
    history: list[dict[str, str]] = Field(default_factory=list)
    last_step: Step | None = None
    offered: dict[str, Any] = Field(default_factory=dict)
    """Values the assistant last put before the person, by field name (what an executed step
    was asked and what it found: the person and day of a search for free times, the restaurant a
    search returned). A request that accepts them ("book it") takes them for required fields
    it still lacks."""
    options: list[dict[str, Any]] = Field(default_factory=list)
    """The records the last result listed (free slots, search hits), each as its plain
    values, in the order shown: "the first one" or "the 9:30 one" picks one of them."""
    set_aside: FollowUp | None = None
    """The question a new request set aside last turn; a reply that picks one of the
    ``options`` that request listed answers it ("book Ana on Friday" → "what times?" → "the
    9:30 one"). Kept for one turn."""
    plan_done: list[Step] = Field(default_factory=list)
    """The steps of the plan in progress that have run (a plan paused for a confirmation keeps
    them): if a later step cannot run, those the runtime can undo are undone."""
    stated: dict[str, dict[str, StatedValue]] = Field(default_factory=dict)
    """What the person has said in this conversation, by namespace (a plugin or service: the
    part of a tool's name before its last dot) then field name, newest first: the city and day
    of a search that a later "book a table at 7" in the same namespace still means."""
    suggested: str | None = None
    """A tool the assistant offered to run next, after a result ("Would you like to book one
    of these?"): a reply that accepts ("yes", "sure, for two") plans it with what the
    conversation has; one that declines closes the offer. Kept for one turn."""

    def remember(self, speaker: str, text: str, *, keep: int = 40) -> None:
        self.history.append({"speaker": speaker, "text": text})
        del self.history[:-keep]


@dataclass(frozen=True)
class PlanningContext:
    """What a planner may look at."""

    tools: Mapping[str, Tool]
    """Every tool available to this user (already filtered by loaded plugins)."""
    action: ActionContext
    """Who is asking, the clock, the configuration."""
    dialog: DialogState
    """The conversation so far (pending follow-up, references, history)."""
    slot_extractors: Sequence[SlotExtractor] = field(default_factory=tuple)
    """Domain entity finders contributed by plugins."""
    superseded: Step | None = None
    """The step that was awaiting the person's confirmation when this message came, which the
    message replaces: it never ran, so a request for the same tool revises it ("for 4 people,
    please" keeps its day) rather than starting a second one."""


@runtime_checkable
class Planner(Protocol):
    """Turns an utterance into a Plan (steps, a follow-up question, or a plain reply)."""

    name: str

    def plan(self, utterance: str, ctx: PlanningContext) -> Plan: ...  # pragma: no cover


def new_step_id() -> str:
    return "s-" + uuid.uuid4().hex[:12]


def field_question(tool: Tool, field_name: str) -> str:
    """A follow-up question phrased from the field's description."""
    info = tool.args_model.model_fields[field_name]
    description = (info.description or field_name.replace("_", " ")).rstrip(".")
    description = description[0].lower() + description[1:] if description else field_name
    return f"To {tool.description[0].lower() + tool.description[1:].rstrip('.')}, " \
           f"I need {description}. What should I use?"


_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the to of for and or me my i we our you your please can could would will with on in at "
    "is are be it this that by from some any do does".split()
)
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b", re.I)
_THANKS = re.compile(r"^\s*(thanks|thank you|cheers|great,? thanks)\b", re.I)
_CANCEL = re.compile(r"^\s*(cancel|never ?mind|stop|forget it)\b", re.I)
_CLOSING = re.compile(
    r"^[\s,.!]*(?:(?:no|nope|ok(?:ay)?|great|perfect|alright|cool|sure|not (?:right )?now|"
    r"maybe later|perhaps later)\b[\s,.!]*)*(?:(?:thanks?|thank you)(?: (?:so|very) much)?|"
    r"that(?:'s| is| will be| would be| should be) (?:all|it|everything)|nothing else|"
    r"i'?m (?:good|done|all set)|not (?:right )?now|maybe later|perhaps later)"
    r"(?:[\s,.!]+(?:for (?:now|today)|and thanks?|and thank you|anyway|though|thanks?|"
    r"thank you|that(?:'s| is| will be) (?:all|it)))*[\s,.!]*$", re.I)
"""A conversation's close ("no, that's all", "thank you, that will be all for today")."""
_ASSIGNMENT = re.compile(
    r"\b([a-z_][a-z0-9_]*)\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^,;]+?)(?=\s+[a-z_]\w*\s*[=:]|[,;]|$)",
    re.I,
)


_FILLER = (r"(?:(?:no|nope|ok(?:ay)?|great|perfect|alright|cool|sure|awesome|excellent|nice|"
           r"wonderful|fine|oh|well)\b[\s,]*)*")
_THANKS_CLAUSE = re.compile(
    _FILLER + r"(?:thanks?|thank you|many thanks|(?:i |we )?(?:really |truly )?appreciate\b|"
    r"much appreciated)(?:\s+(?:so|very) much|\s+a lot|\s+again|\s+all)?"
    r"(?:\s+(?:for|it|that|this|your|the|all)\b(?!.*\b(?:can|could|would|will|please|book|"
    r"find|get)\b)[^?]*)?$", re.I)
"""A clause that thanks ("thank you for making the booking", "I appreciate your help")."""
_CLOSE_CLAUSE = re.compile(
    _FILLER + r"(?:(?:i think )?that(?:'?s| is| will be| would be| should be) (?:all|it|everything)"
    r"(?: the information)?(?: (?:i|we) (?:need|needed|wanted))?(?: for (?:now|today)| today)?"
    r"|nothing else(?: for (?:now|today)| today)?|i'?m (?:good|done|all set)(?: for (?:now|today))?"
    r"|i don'?t (?:think i'?ll be needing|think i need|need) anything else(?: for now| today)?"
    r"|not (?:right )?now|not today|maybe later|perhaps later|(?:have a )?(?:nice|good|great) "
    r"(?:day|one|evening|night)|bye|goodbye|see you)$", re.I)
"""A clause that closes the conversation ("that's all I need for today", "bye")."""
_DEFER_CLAUSE = re.compile(
    _FILLER + r"(?:i (?:do not|don'?t|will not|won'?t|am not going to)\b[^?]*\b(?:now|yet|today|"
    r"at the moment|at this time)|i(?:'ll| will| can) [a-z ]{1,40}\blater(?: on)?)$", re.I)
"""A clause that puts off what was offered ("I don't want to buy them just yet", "I'll book
it later")."""
_ONLY_FILLER = re.compile(_FILLER + "$", re.I)
_SPLIT_CLAUSES = re.compile(r"[.!;,]+|\s+(?:and|but)\s+", re.I)


def _closing_clauses(utterance: str) -> str | None:
    """``"thanks"``, ``"closing"`` or ``"both"`` when every clause of the message thanks,
    closes or puts off what was offered, else ``None``."""
    clauses = [c.strip() for c in _SPLIT_CLAUSES.split(utterance) if c and c.strip()]
    if not clauses or "?" in utterance:
        return None
    kinds = []
    for clause in clauses:
        if _ONLY_FILLER.match(clause):
            continue  # "no", "great": part of a closing, never one on its own
        if _THANKS_CLAUSE.match(clause):
            kinds.append("thanks")
        elif _CLOSE_CLAUSE.match(clause) or _DEFER_CLAUSE.match(clause):
            kinds.append("closing")
        else:
            return None
    if not kinds:
        return None
    return "thanks" if set(kinds) == {"thanks"} else "closing" if "thanks" not in kinds else "both"


def small_talk(utterance: str) -> str | None:
    """A short reply to a greeting, thanks or closing ("no, that's all", "Thank you for your
    help. That will be all for today.") that asks for nothing else, else ``None``.

    >>> small_talk("Thanks a lot for the help, that's all I needed.")
    "You're welcome. Is there anything else I can do for you?"
    >>> small_talk("Thanks, and book a table for two") is None
    True
    """
    words = len(utterance.split())
    if words > 30:
        return None
    if words <= 5 and _GREETING.match(utterance):
        return "Hello! What can I do for you?"
    if words <= 5 and _THANKS.match(utterance):
        return "You're welcome."
    if words <= 12 and _CLOSING.match(utterance) and "?" not in utterance:
        return "Alright. Is there anything else I can do for you?"
    kind = _closing_clauses(utterance)
    return {"thanks": "You're welcome.",
            "both": "You're welcome. Is there anything else I can do for you?",
            "closing": "Alright. Is there anything else I can do for you?"}.get(kind or "")


_AFFIRM = frozenset(
    "yes yeah yep yup ya sure ok okay k alright confirm confirmed correct right fine "
    "absolutely definitely certainly perfect great good please do it go ahead proceed book thing "
    "that works sounds thats that's is do go for me all agree agreed be that'll".split())
_NEGATE = frozenset(
    "no nope nah don't dont do not never stop cancel abort wait hold on mind forget it that "
    "please thanks thank you".split())
_AFFIRM_CORE = re.compile(r"\b(yes|yeah|yep|yup|ya|sure|ok|okay|alright|confirm(ed)?|correct|"
                          r"go ahead|proceed|do it|please do|sounds good|that works|"
                          r"absolutely|definitely|perfect|right|fine|agreed?)\b", re.I)
_NEGATE_CORE = re.compile(r"\b(no|nope|nah|don'?t|do not|never ?mind|cancel|abort|stop|"
                          r"forget it|hold on)\b", re.I)


_ACCEPT_WORDS = _AFFIRM | frozenset(
    "those these details everything looks seems sound good great nice excellent wonderful "
    "awesome lovely cool accurate exactly what want i i'm im ready you got would will are "
    "continue let's lets appreciate to me us we".split())
"""Words a clause that only accepts may be made of ("Yes, those details are correct.")."""
_ACCEPT_CORE = re.compile(r"\b(got it|will do|what i want|good|great|nice|excellent|wonderful|"
                          r"awesome|lovely|accurate)\b", re.I)
"""Words that accept on their own, besides those that say yes (:data:`_AFFIRM_CORE`)."""
_DISSENT = re.compile(r"\b(not|no|nope|never|wrong|but|change|instead|actually|rather|wait|"
                      r"except|cancel|cannot|dont|cant|wont|isnt|doesnt|didnt|arent)\b|n't\b",
                      re.I)
_CLAUSES = re.compile(r"[.!,;]+")


def _accepts(utterance: str) -> bool:
    """Whether every clause of a short message only accepts, and one says so ("Got it.
    That's what I want.", "Yes, those details are correct."): no question, no number, nothing
    that dissents."""
    words = re.findall(r"[a-z']+", utterance.lower())
    if not words or len(words) > 12 or "?" in utterance or any(ch.isdigit() for ch in utterance) \
            or _DISSENT.search(utterance) or _CLOSING.match(utterance):
        return False
    clauses = [re.findall(r"[a-z']+", c.lower()) for c in _CLAUSES.split(utterance)]
    return all(set(c) <= _ACCEPT_WORDS for c in clauses if c) and bool(
        _AFFIRM_CORE.search(utterance) or _ACCEPT_CORE.search(utterance))


def reply_to_confirmation(utterance: str) -> str | None:
    """``"yes"`` or ``"no"`` when a short message only accepts or declines what is awaiting
    confirmation ("yes go ahead", "yep, do it", "you got it right", "no, don't"), else
    ``None``.

    Anything more ("yes but make it 10am", "no, Friday") is not a bare answer: it is planned
    as a correction or a new request; so is a question ("is that right?"). Typed answers take
    the same single-use token path as the buttons (:meth:`lamworks.Runtime.handle`).

    >>> reply_to_confirmation("Got it. That's what I want."), reply_to_confirmation("Is it?")
    ('yes', None)
    """
    words = re.findall(r"[a-z']+", utterance.lower())
    if not words or len(words) > 12 or "?" in utterance or any(ch.isdigit() for ch in utterance):
        return None
    if len(words) <= 6 and _NEGATE_CORE.search(utterance) \
            and set(words) <= _NEGATE | {"i", "to", "want"}:
        return "no"
    if len(words) <= 6 and _AFFIRM_CORE.search(utterance) and set(words) <= _AFFIRM | {
            "i", "it", "please", "thanks", "thank", "you", "ahead"}:
        return "yes"  # "yes please, thank you"
    return "yes" if _accepts(utterance) else None


_OPENS_YES = re.compile(r"\W*(yes|yeah|yep|yup|sure|ok|okay|alright|absolutely|definitely|"
                        r"certainly|please do|sounds (good|great|perfect)|that (would|will) be "
                        r"(great|good|nice|perfect|fine)|that works|let'?s do (it|that))\b", re.I)


def opens_with_yes(utterance: str) -> bool:
    """Whether a message begins by accepting ("yes", "sure, for two people", "sounds good,
    at 7"): an offer the assistant made is taken, with whatever the rest adds.

    >>> opens_with_yes("Sure, for two people please"), opens_with_yes("Is it sunny?")
    (True, False)
    """
    return bool(_OPENS_YES.match(utterance))


_CLAUSE_END = re.compile(r"[.!;,](?=\s)")
_QUESTION = re.compile(r"^\s*(what|when|where|who|whose|which|how|is|are|does|do|did|can you "
                       r"tell|could you tell|tell me)\b|\?\s*$", re.I)
_ASKS_TO_ACT = re.compile(r"^\s*((will|would|could|can)\s+you\s+(please\s+)?(?!tell|let|give|"
                          r"show|say|check|find out|remind)|(could|can|may)\s+(i|we)\s+"
                          r"(please\s+)?(?!know|ask|see|find out|learn|hear))\w", re.I)
"""A request in a question's shape ("Will you please reserve it?", "Could we book two?"): an
action, not a question."""
_RESERVATION = re.compile(r"\b(but|though|however|instead|actually|rather|except|change|make "
                          r"(it|that)|wait|not|don'?t|no)\b", re.I)


def yes_then(utterance: str) -> str | None:
    """The question after a first sentence that is a bare yes ("Yes, correct. What is the
    hotel's rating?"), else ``None``: the runtime confirms, then answers the question.

    Only a question follows a yes this way: "Yes. Book it", "Yes. Will you reserve it for
    us?" or "yes, for 2 people" could repeat or change what is being confirmed, and one that
    takes anything back ("yes. but make it 10") is no plain yes.

    The yes is the longest opening that ends a clause and is a bare yes
    (:func:`reply_to_confirmation`), after a full stop or a comma alike.

    >>> yes_then("Yes, that's right. What is their phone number?")
    'What is their phone number?'
    >>> yes_then("Yes, that is correct, when does it start?")
    'when does it start?'
    >>> yes_then("yes, for 2 people") is None, yes_then("Yes. Actually, what about Friday?") is None
    (True, True)
    """
    for end in reversed([m.end() for m in _CLAUSE_END.finditer(utterance)]):
        if reply_to_confirmation(utterance[:end]) != "yes":
            continue
        rest = utterance[end:].strip()
        sentences = [part for part in re.split(r"(?<=[.!?])\s+", rest) if part.strip()]
        if not sentences or not all(_QUESTION.search(part) for part in sentences) \
                or _RESERVATION.search(rest) or any(_ASKS_TO_ACT.match(p) for p in sentences):
            return None
        return rest
    return None


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


class KeywordPlanner:
    """A lexical fallback planner: word overlap with each tool's name, description and examples.

    Arguments come from ``field=value`` / ``field: value`` pairs in the utterance; a missing
    required field becomes a follow-up question, answered by the next message. Good enough to
    drive the runtime without a model; the neuro-symbolic planner is the one to use.
    """

    name = "keyword"
    fallback = True

    def __init__(self, threshold: float = 0.2) -> None:
        self.threshold = threshold

    def plan(self, utterance: str, ctx: PlanningContext) -> Plan:
        dialog = ctx.dialog
        if dialog.follow_up is not None:
            if _CANCEL.match(utterance):
                return Plan(reply="Cancelled. What else can I do for you?")
            return self._resume(utterance, dialog.follow_up, ctx)
        reply = small_talk(utterance)
        if reply is not None:
            return Plan(reply=reply)
        candidates = self._rank(utterance, ctx.tools)
        why = Explanation(planner=self.name, candidates=candidates[:3])
        if not candidates or candidates[0].score < self.threshold:
            why.notes.append(f"best score below threshold {self.threshold}")
            return Plan(reply="Sorry, I can't help with that here.", why=why)
        chosen = ctx.tools[candidates[0].tool]
        arguments, spans = self._assignments(utterance, chosen)
        return self._complete(chosen, arguments, spans, why)

    def _rank(self, utterance: str, tools: Mapping[str, Tool]) -> list[Candidate]:
        words = _words(utterance)
        scored = []
        for name, t in tools.items():
            best = 0.0
            for text in (t.short_name.replace("_", " "), t.description, *t.examples):
                vocab = _words(text)
                if vocab and words:
                    best = max(best, len(words & vocab) / len(words | vocab))
            scored.append(Candidate(tool=name, score=round(best, 4)))
        return sorted(scored, key=lambda c: -c.score)

    def _assignments(self, utterance: str, t: Tool) -> tuple[dict[str, Any], dict[str, Span]]:
        fields = t.args_model.model_fields
        arguments: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        for match in _ASSIGNMENT.finditer(utterance):
            key = match.group(1)
            if key in fields:
                value = match.group(2).strip().strip("\"'")
                arguments[key] = value
                spans[key] = Span(start=match.start(2), end=match.end(2), text=match.group(2))
        return arguments, spans

    def _resume(self, utterance: str, pending: FollowUp, ctx: PlanningContext) -> Plan:
        t = ctx.tools.get(pending.tool)
        if t is None:
            return Plan(reply="That action is no longer available.")
        arguments = dict(pending.arguments)
        spans = dict(pending.spans)
        arguments[pending.field] = utterance.strip()
        spans[pending.field] = Span(start=0, end=len(utterance), text=utterance)
        more, more_spans = self._assignments(utterance, t)
        arguments.update(more)
        spans.update(more_spans)
        return self._complete(t, arguments, spans, Explanation(planner=self.name,
                              notes=[f"answer to the question about {pending.field}"]))

    def _complete(
        self, t: Tool, arguments: dict[str, Any], spans: dict[str, Span], why: Explanation
    ) -> Plan:
        for name, info in t.args_model.model_fields.items():
            if info.is_required() and name not in arguments:
                question = field_question(t, name)
                return Plan(follow_up=FollowUp(tool=t.name, field=name, question=question,
                                               arguments=arguments, spans=spans), why=why)
        try:
            t.args_model.model_validate(arguments)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            name = str(first["loc"][0]) if first["loc"] else ""
            if name in arguments:
                arguments.pop(name)
                question = f"{first['msg']} for {name}. " + field_question(t, name)
                return Plan(follow_up=FollowUp(tool=t.name, field=name, question=question,
                                               arguments=arguments, spans=spans), why=why)
        step = Step(id=new_step_id(), tool=t.name, arguments=arguments, spans=spans)
        return Plan(steps=[step], why=why)
