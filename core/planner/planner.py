"""The default planner: router, slot filler, dialog state and chainer, offline on a CPU.

The utterance is routed once (one embedding; the tools of the conversation's focus weigh a
little more, so "book it" after a search stays with that service), then each turn is read as
one of:

1. an answer to the pending question — or a cancellation of it, or a new request, which sets
   the question aside instead of being taken as its answer;
2. a correction of the previous step ("no, make it Wednesday", "same time next week"), which
   re-plans that step with the new values — unless the router is sure the turn asks for
   another tool ("move her to Friday instead" after a booking is a reschedule);
3. small talk (greetings, thanks), which gets a short reply;
4. a new request: the router's tool — or none. An utterance with two requests ("register Ana
   …, and set up a meeting with her on Friday") is split at its conjunction when both halves
   route confidently on their own.

(A yes or no to a pending *confirmation* never reaches the planner: the runtime takes it as
the button it stands for.)
5. The slot filler fills each step's arguments; references ("her", "that booking") come
   from the conversation; a reference nobody supplied is produced by chaining in a tool that
   ``produces`` it, as an earlier step whose result the later step uses.
6. A required value still missing becomes a question phrased from the field's description.

Everything the planner remembers lives in :class:`~lamworks.DialogState` (persisted by the
runtime), typed: the pending question with the plan it belongs to, references, and the last
planned step.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from pydantic_core import to_jsonable_python

from ..config import InstitutionConfig
from ..extensions import EntityMatch, SlotExtractor
from ..plan import REF_PLACEHOLDER, Explanation, FollowUp, Plan, Ref, Span, Step, WaitingStep
from ..planning import (
    DialogState,
    PlanningContext,
    StatedValue,
    new_step_id,
    opens_with_yes,
    reply_to_confirmation,
    small_talk,
)
from ..scopes import missing_scopes
from ..tools import Tool
from .cues import stems
from .fields import FieldSpec, field_specs, required_order
from .lexicon import lexicon
from .options import agreeing_options, option_values, pick_option
from .router import DEFAULT_CALIBRATION, Calibration, Route, Router, TextEmbedder
from .router import tokens as router_tokens
from .slots import Filled, SlotFiller, pasted_text
from .texts import takes_long_text

__all__ = ["NeuroSymbolicPlanner"]

_FILLER = r"^\s*(?:(?:oh|hmm+|um+|uh+|ok(?:ay)?|well|so|actually|no|wait|sorry)\b[\s,.!]*)*"
_CANCEL = re.compile(_FILLER + r"(cancel|never ?mind|nevermind|stop|forget (it|that|about it)|"
                     r"no thanks|quit|abort|don'?t bother)\b", re.I)
_CORRECTION = re.compile(
    r"^\s*(?:please\s+)?(no\b|nope\b|actually\b|sorry\b|wait\b|oh wait\b|make (it|that)\b|"
    r"not (exactly|quite)\b|i(?:'ve| have)? changed my mind\b|change of plans?\b|"
    r"on second thought\b|scratch that\b|"
    r"change (it|that|the \w+)\b|instead\b|rather\b|same time\b|what about\b|how about\b|"
    r"and (for|in|on)\b|and\b(?=[^.!?]{1,40}\?\s*$))"
    r"|\b(instead|make it|make that|change it to|there will be)\b", re.I)
"""A turn that corrects the step before: a correcting opening, or one of the closing phrases
anywhere in it (read with ``search``: "please change it to half past 7"). A short question that
opens with "and" asks the same again of something else ("and the other one?")."""
_DECLINE = re.compile(r"^\s*(no|nope|nah|not (?:right )?now|i (?:do not|don'?t) (?:want|need))\b",
                      re.I)
_DECLINES_OFFER = re.compile(r"^\s*(?:(?:no|nope|nah)\b[\s,.!]*)?i (?:do not|don'?t|will not|"
                             r"won'?t) (?:want|need|wish)\b[^0-9?]*$", re.I)
"""A no to what was offered ("No, I don't want to buy them"), with no other value given."""
_PRONOUN = re.compile(r"\b(her|him|them|they|she|he|it|that|this|the same|same)\b", re.I)
_SPLIT = re.compile(r"(?:,\s*|\s+)(?:and then|and also|and|then|also|plus)\s+|;\s*", re.I)
_MAX_ROUTED_CHARS = 2000
FOCUS_ODDS = 3.0
"""How much more likely (in odds) a tool of the conversation's focus (the namespace of the
step planned or asked about last) is than another. Set a priori, not fitted: strong enough to
settle a near tie ("book it" after a search), too weak to overturn a clear request."""
ROLE_ODDS = 3.0
"""How much less likely (in odds) a tool the acting user's role may not run is than before.
Set a priori like :data:`FOCUS_ODDS`, not fitted."""
_PARTS_OF_DAY = frozenset(str(v).lower() for v in lexicon("en").parts_of_day.values())
_MAX_WORD_VECTORS = 50_000
"""Word vectors kept in memory (about 80 MB at most); past that the memory starts again."""
_BARE_NAME = re.compile(r"^(?:[A-Z][\w'’.&-]*(?:,?\s+|(?=[.!]?$))){1,4}[.!]?$")
"""A reply that is only a name: up to four capitalised words ("Anaheim, CA.", "San Mateo")."""
_NAME_KINDS = ("location", "person", "title")
_REQUEST_WORDS = 4
"""A reply shorter than this ("food webs", "1988-08-08") is an answer, whatever it resembles."""
_LONG_ANSWER_WORDS = 40
"""A reply longer than this is an answer (a pasted text), never a new request."""


class NeuroSymbolicPlanner:
    """Router + slot filler + dialog + chainer. Thread-safe; one instance per process."""

    name = "neuro-symbolic"
    fallback = False

    def __init__(self, embedder: TextEmbedder | None = None, *,
                 calibration: Calibration | None = None) -> None:
        self._embedder = embedder
        self.calibration = calibration or DEFAULT_CALIBRATION
        self._routers: dict[tuple[str, ...], Router] = {}
        self._lock = threading.Lock()
        self.slots = SlotFiller()
        self._word_vectors: dict[str, Any] = {}

    # -- set-up --------------------------------------------------------------------------------

    def embedder_for(self, config: InstitutionConfig) -> TextEmbedder:
        """The shared embedder (the model is loaded once per process, on first use); tool
        texts go through the disk cache in the institution's data folder."""
        if self._embedder is None:
            from lamworks.knowledge.embedder import Embedder, EmbeddingCache

            cache = EmbeddingCache(config.data_dir / "embedding-cache.sqlite")
            self._embedder = Embedder(config.knowledge.embedding_model, cache=cache)
        return self._embedder

    def router(self, ctx: PlanningContext) -> Router:
        key = tuple(sorted(ctx.tools))
        with self._lock:
            router = self._routers.get(key)
            if router is None:
                router = Router(self.embedder_for(ctx.action.config), ctx.tools,
                                self.calibration,
                                generalize=lambda text: _known_entities_generic(text, ctx))
                self._routers[key] = router
            return router

    def routing_text(self, utterance: str, ctx: PlanningContext,
                     asked: frozenset[str] | None = None) -> str:
        """The text the router sees: entities the plugins recognise made generic (``asked``:
        only by the extractors of these names)."""
        return _known_entities_generic(utterance, ctx, asked)

    def route(self, router: Router, text: str, ctx: PlanningContext,
              prior: Mapping[str, float] | None = None) -> Route:
        """Route ``text``, asking only the extractors the likely tools need.

        The router reads the text first as it is (names written with capitals are made generic
        anyway); then the extractors the candidate tools need — those of the entity types their
        arguments declare (``entity(...)``) and those of the candidates' own plugins — make the
        entities they recognise generic, and only when they found one is the text routed again.
        An extractor no candidate needs is never called, so a request to one plugin never makes
        another plugin read its records."""
        first = router.route(self.routing_text(text, ctx, frozenset()), prior=prior)
        likely = [ctx.tools[c.tool] for c in first.candidates if c.tool in ctx.tools]
        kinds = {spec.entity for tool in likely for spec in field_specs(tool)
                 if spec.kind == "entity"}
        owners = {tool.plugin for tool in likely}
        asked = frozenset(e.name for e in ctx.slot_extractors
                          if e.entity_type in kinds or e.plugin in owners)
        if not asked:
            return first
        general = self.routing_text(text, ctx, asked)
        return first if general == text else router.route(general, prior=prior)

    # -- planning ------------------------------------------------------------------------------

    def plan(self, utterance: str, ctx: PlanningContext) -> Plan:
        # Routing and slot filling both ask the extractors about the same text; an extractor
        # may read a store (registered people), so it answers once per text and plan.
        ctx = replace(ctx, slot_extractors=_once_per_text(ctx.slot_extractors))
        text = utterance.strip()
        if not text:
            return Plan(reply="Please type what you would like me to do.")
        dialog = ctx.dialog
        router = self.router(ctx)
        routed_text = text[:_MAX_ROUTED_CHARS]
        route = self.route(router, routed_text, ctx, prior=_prior(ctx))
        why = Explanation(planner=self.name, candidates=route.candidates, notes=route.explain())
        set_aside, dialog.set_aside = dialog.set_aside, None
        suggested, dialog.suggested = dialog.suggested, None
        if dialog.follow_up is not None:
            if _CANCEL.match(text):
                dialog.last_step = None
                return Plan(reply="Cancelled. What else can I do for you?",
                            why=Explanation(planner=self.name, notes=["cancelled"]))
            resumed = self._resume(text, dialog.follow_up, route, ctx)
            if resumed is not None:
                return resumed
            why.notes.append(f"the question about {dialog.follow_up.field} is set aside")
            dialog.set_aside = dialog.follow_up
        elif set_aside is not None and dialog.options:
            # "what times are there?" set the question aside; "the 9:30 one" answers it.
            resumed = self._resume(text, set_aside, route, ctx, only_if_picked=True)
            if resumed is not None:
                return resumed
        reply = small_talk(text)
        if reply is not None:
            # Before corrections and offers: "no, that's all for today" corrects nothing and
            # takes no offer.
            return Plan(reply=reply, why=Explanation(planner=self.name, notes=["small talk"]))
        last = dialog.last_step
        if last is not None and _CORRECTION.search(text) and last.tool in ctx.tools \
                and (route.tool in (None, last.tool) or (last.status != "executed" and
                                                          _namespace(route.tool)
                                                          == _namespace(last.tool))):
            # A step not yet done is corrected in place, unless the router finds a request
            # for another service ("no, not now. what times is it showing?"); once done,
            # "move her to Friday instead" is another action (a reschedule), unless nothing
            # else fits.
            corrected = self._correct(text, last, ctx)
            if corrected is not None:
                return corrected
        if suggested is not None and suggested in ctx.tools and dialog.follow_up is None:
            taken = self._take_suggestion(text, ctx.tools[suggested], route, ctx, why)
            if taken is not None:
                return taken
        if reply_to_confirmation(text) is not None:
            # A bare yes or no with nothing waiting for one (the runtime answers those that
            # are): not a request for any tool.
            return Plan(reply="There is nothing waiting for a yes or no right now. What would "
                              "you like to do?",
                        why=Explanation(planner=self.name, notes=["yes/no, nothing pending"]))
        pasted = pasted_text(routed_text) if router.pastes else None
        # A pasted text's own "and"s are not requests: only a plain request is split.
        parts = self._split(routed_text, router, ctx) \
            if route.tool is not None and pasted is None else []
        if parts:
            return self._multi(parts, ctx, why)
        if route.tool is None:
            return Plan(reply=self._out_of_scope(ctx), why=why)
        chosen = self._completable_sibling(text, route, ctx, router) or route.tool
        if chosen != route.tool:
            why.notes.append(f"{chosen}: the conversation completes it, {route.tool} would ask")
        return self._single(text, ctx.tools[chosen], ctx, why)

    def _completable_sibling(self, text: str, route: Route, ctx: PlanningContext,
                             router: Router) -> str | None:
        """After a step of the same service, a close runner-up that the conversation
        completes, instead of a tool that would have to ask: "buy the ticket for me" after a
        search for one-way flights is the one-way booking, not the round trip's (which asks
        for a return date). Never when the request says a word of the chosen tool's name that
        the runner-up's lacks ("a roundtrip"; "book him" is no reschedule)."""
        last = ctx.dialog.last_step
        assert route.tool is not None
        chosen = ctx.tools[route.tool]
        if last is None or _namespace(last.tool) != _namespace(chosen.name) \
                or last.tool == chosen.name or not self._would_ask(chosen, text, ctx):
            return None
        said = stems(router.tokens(text))
        for candidate in route.candidates[1:]:
            sibling = ctx.tools.get(candidate.tool)
            if candidate.score < _SIBLING_FLOOR:
                break
            if sibling is None or sibling.risk != chosen.risk or sibling.name == last.tool \
                    or _namespace(sibling.name) != _namespace(chosen.name):
                continue
            own = stems(router.tokens(_tool_words(chosen))) \
                - stems(router.tokens(_tool_words(sibling)))
            if not own & said and not self._would_ask(sibling, text, ctx):
                return sibling.name
        return None

    def _would_ask(self, tool: Tool, text: str, ctx: PlanningContext) -> bool:
        """Whether ``tool`` would ask a question after the conversation's values are taken."""
        filled = self._fill(tool, text, ctx)
        self._carry_over(tool, filled, ctx, Explanation(planner=self.name))
        return bool(filled.invalid or self._missing(tool, filled))

    def _single(self, text: str, tool: Tool, ctx: PlanningContext, why: Explanation) -> Plan:
        filled = self._fill(tool, text, ctx)
        self._take_option(text, tool, filled, ctx, why)
        steps: list[Step] = []
        self._resolve_refs(tool, text, filled, ctx, steps, why)
        for spec in field_specs(tool):
            if spec.kind == "ref" and spec.required and spec.ref \
                    and spec.name not in filled.arguments:
                # Nobody supplied the record and no producer could run on this text alone:
                # ask for what the producing tool needs, then come back to this step.
                producer = self._best_producer(spec.ref, tool.name, ctx)
                if producer is not None:
                    why.notes.append(f"{spec.name}: {producer.name} will produce the "
                                     f"{spec.ref} first")
                    after = WaitingStep(tool=tool.name, field=spec.name, ref=spec.ref,
                                        arguments=to_jsonable_python(filled.arguments))
                    return self._finish(producer, self._fill(producer, text, ctx), ctx, why,
                                        before=steps, after=after)
        return self._finish(tool, filled, ctx, why, before=steps)

    def _multi(self, parts: list[tuple[str, Tool, int]], ctx: PlanningContext,
               why: Explanation) -> Plan:
        steps: list[Step] = []
        produced: dict[str, str] = {}
        for index, (part, tool, offset) in enumerate(parts):
            filled = self._fill(tool, part, ctx)
            filled.spans = {k: Span(start=s.start + offset, end=s.end + offset, text=s.text)
                            for k, s in filled.spans.items()}
            self._resolve_refs(tool, part, filled, ctx, steps, why, produced)
            missing = self._missing(tool, filled)
            if missing:
                why.notes.append(f"step {index + 1} ({tool.name}) needs {missing[0]}")
                return self._ask(tool, missing[0], filled, ctx, why, before=steps)
            step = Step(id=new_step_id(), tool=tool.name,
                        arguments=to_jsonable_python(filled.arguments), spans=filled.spans,
                        referents=filled.referents, depends_on=[s.id for s in steps])
            steps.append(step)
            if tool.produces:
                produced[tool.produces] = step.id
        why.notes.append(f"split into {len(steps)} steps")
        self._remember(ctx, steps[-1])
        return Plan(steps=steps, why=why)

    def _finish(self, tool: Tool, filled: Filled, ctx: PlanningContext, why: Explanation,
                *, before: list[Step], after: WaitingStep | None = None) -> Plan:
        """A complete step (then the step waiting for what it produces), or a question.

        A value the user gave that failed validation is asked again even for an optional
        field: silently falling back to the default would do something they did not ask for.
        """
        self._carry_over(tool, filled, ctx, why)
        missing = [*filled.invalid, *self._missing(tool, filled)]
        if missing:
            return self._ask(tool, missing[0], filled, ctx, why, before=before, after=after)
        step = Step(id=new_step_id(), tool=tool.name,
                    arguments=to_jsonable_python(filled.arguments), spans=filled.spans,
                    referents=filled.referents, depends_on=[s.id for s in before])
        if after is not None and after.tool in ctx.tools:
            waiting = ctx.tools[after.tool]
            arguments = dict(after.arguments)
            arguments[after.field] = {REF_PLACEHOLDER: step.id, "ref": after.ref, "part": "id"}
            return self._finish(waiting, Filled(arguments=arguments), ctx, why,
                                before=[*before, step])
        self._remember(ctx, step)
        return Plan(steps=[*before, step], why=why)

    @staticmethod
    def _carry_over(tool: Tool, filled: Filled, ctx: PlanningContext, why: Explanation) -> None:
        """Fields the request leaves out, taken from the conversation.

        Any field: first the step this message replaces while it awaited confirmation, if of
        the same tool (:func:`_revised`: "for 4 people" revises the booking). Then, a required
        field: a value the assistant offered ("that one": what the person sees), else the same
        field of the step planned last in the same namespace ("book it" after a search keeps
        its city and day), else what the person said earlier in the namespace
        (:func:`_remembered`); an optional field: only what the person said earlier. Never a
        field the person stated in this request."""
        dialog = ctx.dialog
        aside = dialog.set_aside
        if aside is not None and tool.risk == "read" and \
                aside.tool.rsplit(".", 1)[0] == tool.name.rsplit(".", 1)[0]:
            # "Book Ana on Friday morning" → "what times do you have?": the question set
            # aside still says which day and part of the day the person is looking at.
            for spec in field_specs(tool):
                value = aside.arguments.get(spec.name)
                if spec.name not in filled.arguments and value is not None \
                        and not isinstance(value, dict):
                    filled.arguments[spec.name] = value
                    why.notes.append(f"{spec.name} = {value!r} from the question set aside")
        last = dialog.last_step
        same_namespace = last is not None and last.tool != tool.name and \
            last.tool.rsplit(".", 1)[0] == tool.name.rsplit(".", 1)[0]
        specs = {spec.name: spec for spec in field_specs(tool)}
        said = [specs[n] for n in filled.spans if n in specs]
        for name in required_order(tool):
            if name in filled.arguments or name in filled.invalid:
                continue
            # The step this message revises (the card awaiting confirmation), then what is
            # on the person's screen (the event they are buying tickets for has its own
            # city), then the step before, then anything said earlier.
            value, source = _revised(tool, specs[name], ctx.superseded, said), \
                "the step awaiting confirmation"
            if value is None:
                value, source = dialog.offered.get(name), "what was offered"
            if value is None and same_namespace and last is not None:
                value, source = last.arguments.get(name), f"the {last.tool} before"
            if value is None:
                value, source = _remembered(tool, specs[name], dialog, said), \
                    "earlier in the conversation"
            if value is None:
                value, source = _pointed_at(specs[name], ctx), "what \"that\" points at"
            if value is None or isinstance(value, dict):
                continue
            filled.arguments[name] = value
            why.notes.append(f"{name} = {value!r} from {source}")
        for spec in specs.values():
            # An optional field the person gave another request of the same service ("on
            # Friday" for the search, then "book a table at 7"): kept, shown on the card.
            if spec.required or spec.name in filled.arguments or spec.name in filled.invalid:
                continue
            value, source = _revised(tool, spec, ctx.superseded, said), \
                "the step awaiting confirmation"
            if value is None:
                value, source = _remembered(tool, spec, dialog, said), \
                    "earlier in the conversation"
            if value is not None:
                filled.arguments[spec.name] = value
                why.notes.append(f"{spec.name} = {value!r} from {source}")

    def _ask(self, tool: Tool, field_name: str, filled: Filled, ctx: PlanningContext,
             why: Explanation, *, before: list[Step],
             after: WaitingStep | None = None) -> Plan:
        spec = next(f for f in field_specs(tool) if f.name == field_name)
        question = _question(tool, spec)
        if field_name in filled.invalid:
            question = f"That {spec.name.replace('_', ' ')} didn't work " \
                       f"({filled.invalid[field_name]}). {question}"
        pending = FollowUp(tool=tool.name, field=field_name, question=question,
                           arguments=to_jsonable_python(filled.arguments), spans=filled.spans,
                           before=before, after=after)
        _note_stated(ctx.dialog, tool.name, pending.arguments)
        why.notes.append(f"missing {field_name}: asking")
        return Plan(follow_up=pending, why=why)

    def _resume(self, text: str, pending: FollowUp, route: Route, ctx: PlanningContext, *,
                only_if_picked: bool = False) -> Plan | None:
        """The turn as an answer to the pending question, or ``None`` when it is not one (a
        new request, or something the question cannot take): the question is set aside.
        With ``only_if_picked``, only a turn that picks one of the listed options answers."""
        tool = ctx.tools.get(pending.tool)
        if tool is None:
            return None
        spec = next((s for s in field_specs(tool) if s.name == pending.field), None)
        if reply_to_confirmation(text) == "yes" and spec is not None \
                and spec.kind not in ("boolean", "enum"):
            # A bare "yes" to an open question ("who is the visit with?") names nothing: the
            # question stands, it is never filled with the word.
            again = pending.model_copy(update={
                "question": f"I still need an answer to this: {pending.question}"})
            return Plan(follow_up=again, why=Explanation(
                planner=self.name, notes=[f"yes is no answer to {pending.field}: asked again"]))
        if spec is not None and spec.kind not in ("boolean", "enum") \
                and small_talk(text) is not None:
            return None  # "thank you very much" answers no open question: it is set aside
        correcting = bool(_CORRECTION.search(text))
        why = Explanation(planner=self.name, notes=[f"answer to the question about "
                                                    f"{pending.field}"])
        picked: list[str] = []
        filled: Filled | None = None
        if ctx.dialog.options:
            # "the second one", "the 9:30 one" point at a listed option; they are not the
            # asked field's value, so they are read without the question's preference.
            plain = self._fill(tool, text, ctx)
            picked = self._take_option(text, tool, plain, ctx, why)
            narrows = bool(agreeing_options(plain.arguments, [
                option_values(o, field_specs(tool)) for o in ctx.dialog.options]))
            if picked or narrows:
                filled = plain
        if filled is None:
            if only_if_picked:
                return None  # points at none of the options the set-aside request listed
            filled = self._fill(tool, text, ctx, prefer=None if correcting else pending.field)
            if not filled.arguments and not filled.invalid:
                filled = self._name_for_another_field(text, tool, pending, ctx) or filled
        if pending.asked_back:
            # The tool asked for this field only: what it kept (the subject it is on) stays.
            for name in [n for n in filled.arguments if n in pending.arguments
                         and n != pending.field]:
                del filled.arguments[name]
        answered = pending.field in filled.arguments or pending.field in filled.invalid
        elsewhere = route.tool is not None and route.tool != tool.name and not (
            not answered and _namespace(route.tool) == _namespace(tool.name)
            and self._fills_open_required(tool, filled, pending))
        if pending.asked_back and answered and not _asks(text) \
                and not _names_tool(text, str(route.tool)):
            elsewhere = False  # a statement in reply to the tool's own question answers it
        if answered and elsewhere and len(text.split()) >= _REQUEST_WORDS \
                and (_takes_all(filled.spans.get(pending.field), text) or _asks(text)
                     or _rest_names(text, filled, str(route.tool), tool.name)):
            # The whole message went into the asked field only because it was asked, and it
            # reads as a request for another tool: a new request, not the answer.
            return None
        if not answered and (elsewhere or (not filled.arguments and small_talk(text))):
            return None
        if not answered and not filled.arguments and _DECLINE.match(text):
            # "No, I don't want to buy them": the question is dropped, nothing is planned.
            return Plan(reply="Alright, I've left that. What else can I do for you?",
                        why=Explanation(planner=self.name, notes=["declined the question"]))
        if not answered and not filled.arguments and route.tool is None \
                and len(text.split()) > 3:
            return None  # neither an answer nor anything the tool can use
        # Spans point into this message (the earlier answers' spans pointed into theirs).
        merged = Filled(arguments={**pending.arguments, **filled.arguments},
                        spans=dict(filled.spans), invalid=filled.invalid)
        for name in filled.arguments:
            merged.invalid.pop(name, None)
        if picked:
            # The picked option replaces what the question had for the same fields.
            merged.arguments.update({k: filled.arguments[k] for k in picked})
        return self._finish(tool, merged, ctx, why, before=list(pending.before),
                            after=pending.after)

    def _take_suggestion(self, text: str, tool: Tool, route: Route, ctx: PlanningContext,
                         why: Explanation) -> Plan | None:
        """The assistant offered to run ``tool`` next ("Would you like to book a table?").

        A bare yes plans it with what the conversation has (what is on the screen, what the
        person said earlier); a yes with more ("sure, for two at 7") also takes what the rest
        says, unless the rest is plainly a request for another namespace's tool. A bare no
        closes the offer; anything else is planned as usual."""
        answer = reply_to_confirmation(text)
        if answer == "no" or _DECLINES_OFFER.match(text):
            return Plan(reply="All right. What else can I do for you?",
                        why=Explanation(planner=self.name,
                                        notes=[f"the offer to run {tool.name} declined"]))
        if answer != "yes" and not (opens_with_yes(text) and _namespace(route.tool) in (
                None, _namespace(tool.name))):
            return None
        why.notes.append(f"accepted the offer to run {tool.name}")
        return self._single("" if answer == "yes" else text, tool, ctx, why)

    @staticmethod
    def _fills_open_required(tool: Tool, filled: Filled, pending: FollowUp) -> bool:
        """Whether the reply gives the pending request required details it still lacks (not
        the one asked): "for 4 days, in London" when asked which place answers the same
        request, even though a sibling tool (the search) would take those words too."""
        return any(spec.required and spec.name in filled.arguments
                   and spec.name not in pending.arguments and spec.kind not in ("ref", "entity")
                   for spec in field_specs(tool))

    def _name_for_another_field(self, text: str, tool: Tool, pending: FollowUp,
                                ctx: PlanningContext) -> Filled | None:
        """A bare name that does not answer the question asked ("Anaheim, CA." when asked
        for a category) answers the first other required field still open that takes a
        name (a place, a person, a named thing), as a person answers what they expect to be
        asked next. Only a name: "that sounds fine" fills nothing."""
        if not _BARE_NAME.match(text.strip()) or reply_to_confirmation(text) is not None \
                or small_talk(text) is not None:
            return None
        for spec in field_specs(tool):
            if not spec.required or spec.name == pending.field \
                    or spec.name in pending.arguments or spec.kind not in _NAME_KINDS:
                continue
            filled = self._fill(tool, text, ctx, prefer=spec.name)
            if spec.name in filled.arguments:
                return filled
        return None

    def _take_option(self, text: str, tool: Tool, filled: Filled, ctx: PlanningContext,
                     why: Explanation) -> list[str]:
        """Fill the fields ``text`` leaves out from the listed option it points at ("the
        first one", "the 9:30 one"); the names filled."""
        options = ctx.dialog.options
        if not options:
            return []
        specs = field_specs(tool)
        picked = pick_option(text, filled.arguments, options, specs,
                             locale=ctx.action.config.institution.locale)
        if picked is None:
            return []
        taken = [name for name in picked if name not in filled.arguments]
        for name in taken:
            filled.arguments[name] = picked[name]
            filled.invalid.pop(name, None)
        if taken:
            why.notes.append(f"{', '.join(taken)} from the option picked")
        return taken

    def _correct(self, text: str, last: Step, ctx: PlanningContext) -> Plan | None:
        tool = ctx.tools[last.tool]
        filled = self._fill(tool, text, ctx)
        arguments = dict(last.arguments)
        if re.search(r"\bsame time\b", text, re.I):
            shifted = _same_time_shift(text, arguments, tool)
            if shifted:
                filled.arguments.update(shifted)
        changed = dict(filled.arguments)
        for spec in field_specs(tool):
            old, new = arguments.get(spec.name), changed.get(spec.name)
            if spec.kind == "time" and isinstance(old, str) and new is not None:
                changed[spec.name] = _keep_afternoon(old, new, text)
        if not changed:
            return None
        why = Explanation(planner=self.name,
                          notes=[f"correction of {tool.name}: {', '.join(sorted(changed))}"])
        merged = Filled(arguments={**arguments, **changed}, spans=filled.spans)
        return self._finish(tool, merged, ctx, why, before=[])

    # -- helpers -------------------------------------------------------------------------------

    def _fill(self, tool: Tool, text: str, ctx: PlanningContext,
              prefer: str | None = None) -> Filled:
        now = ctx.action.now()
        return self.slots.fill(tool, text, today=now.date(), hour=now.hour,
                               extractors=ctx.slot_extractors,
                               context=ctx.action, prefer=prefer,
                               embed=self._word_embedder(ctx.action.config))

    def _word_embedder(self, config: InstitutionConfig) -> Callable[[Sequence[str]], Any]:
        """Short texts (enum values, a request's words) → unit vectors, kept in memory: the
        same few thousand words recur, and the disk cache costs a query per call."""
        embedder = self.embedder_for(config)
        known = self._word_vectors

        def embed(texts: Sequence[str]) -> Any:
            missing = [t for t in dict.fromkeys(texts) if t not in known]
            if missing:
                if len(known) + len(missing) > _MAX_WORD_VECTORS:
                    known.clear()
                known.update(zip(missing, embedder.embed_documents(missing), strict=True))
            return np.stack([known[t] for t in texts])

        return embed

    def _resolve_refs(self, tool: Tool, text: str, filled: Filled, ctx: PlanningContext,
                      steps: list[Step], why: Explanation,
                      produced: Mapping[str, str] | None = None) -> None:
        """Fill reference arguments: from this plan's earlier steps, from the conversation
        ("her", "that booking"), or by chaining in a tool that produces the record."""
        for spec in field_specs(tool):
            if spec.name in filled.arguments:
                continue
            kind = spec.ref or _referenced_kind(spec, ctx, produced or {})
            if kind is None or kind == tool.produces:
                # A tool that produces this kind of record describes a new (or another) one by
                # its own arguments: "add him" never means the person named earlier.
                continue
            part = "id" if spec.kind == "ref" else "display"
            if produced and kind in produced and (spec.kind == "ref" or _PRONOUN.search(text)):
                filled.arguments[spec.name] = {REF_PLACEHOLDER: produced[kind], "ref": kind,
                                               "part": part}
                why.notes.append(f"{spec.name} = the {kind} from step {produced[kind]}")
                continue
            known: Ref | None = ctx.dialog.references.get(kind)
            if known is not None and (_PRONOUN.search(text) or spec.kind == "ref"):
                filled.arguments[spec.name] = known.id if part == "id" else (known.display
                                                                             or known.id)
                filled.referents[spec.name] = known
                why.notes.append(f"{spec.name} = {known} from the conversation")
                continue
            if spec.kind != "ref" or not spec.required:
                continue
            producer = self._producer(kind, text, ctx, exclude=tool.name)
            if producer is None:
                continue
            producer_tool, producer_filled = producer
            step = Step(id=new_step_id(), tool=producer_tool.name,
                        arguments=to_jsonable_python(producer_filled.arguments),
                        spans=producer_filled.spans)
            steps.append(step)
            filled.arguments[spec.name] = {REF_PLACEHOLDER: step.id, "ref": kind, "part": "id"}
            why.notes.append(f"{spec.name}: chained {producer_tool.name} to produce {kind}")

    def _producer(self, kind: str, text: str, ctx: PlanningContext,
                  exclude: str) -> tuple[Tool, Filled] | None:
        """A read-only tool producing ``kind`` whose required arguments the text fills."""
        options = [t for t in ctx.tools.values()
                   if t.produces == kind and t.name != exclude]
        options.sort(key=lambda t: (t.risk != "read", t.name))
        for candidate in options:
            filled = self._fill(candidate, text, ctx)
            if not self._missing(candidate, filled):
                return candidate, filled
        return None

    @staticmethod
    def _best_producer(kind: str, exclude: str, ctx: PlanningContext) -> Tool | None:
        """The tool to chain in for ``kind``: a read-only finder before a creator."""
        options = [t for t in ctx.tools.values() if t.produces == kind and t.name != exclude]
        return min(options, key=lambda t: (t.risk != "read", t.name), default=None)

    @staticmethod
    def _missing(tool: Tool, filled: Filled) -> list[str]:
        return [name for name in required_order(tool) if name not in filled.arguments]

    def _split(self, text: str, router: Router,
               ctx: PlanningContext) -> list[tuple[str, Tool, int]]:
        """Two or more requests joined by "and"/"then": each part routed on its own.

        A part that routes nowhere, or to the same tool as the part before it, is glued back
        to that part ("book Ana and Ben" stays one request).
        """
        bounds = [0]
        for m in _SPLIT.finditer(text):
            bounds.extend([m.start(), m.end()])
        if len(bounds) == 1:
            return []
        bounds.append(len(text))
        routed: list[tuple[int, int, str]] = []  # (start, end, tool)
        for start, end in zip(bounds[0::2], bounds[1::2], strict=True):
            piece = text[start:end]
            route = (self.route(router, piece, ctx) if len(piece.split()) >= 2 else None)
            tool = route.tool if route is not None else None
            if tool is None or (routed and routed[-1][2] == tool):
                if not routed:
                    return []
                routed[-1] = (routed[-1][0], end, routed[-1][2])
                continue
            routed.append((start, end, tool))
        if len(routed) < 2:
            return []
        return [(text[s:e], router.tools[t], s) for s, e, t in routed]

    def _remember(self, ctx: PlanningContext, step: Step) -> None:
        ctx.dialog.last_step = Step(id=step.id, tool=step.tool, arguments=step.arguments)
        _note_stated(ctx.dialog, step.tool, step.arguments)

    def _out_of_scope(self, ctx: PlanningContext) -> str:
        examples = [t.examples[0] for t in list(ctx.tools.values())[:3] if t.examples]
        hint = (" For example: " + "; ".join(f"“{e}”" for e in examples) + ".") if examples \
            else ""
        return "Sorry, that's not something I can do here." + hint


def _once_per_text(extractors: Sequence[SlotExtractor]) -> tuple[SlotExtractor, ...]:
    """The extractors, each remembering its matches per text for as long as they live."""

    def remembering(extract: Callable[[str, Any], list[EntityMatch]]
                    ) -> Callable[[str, Any], list[EntityMatch]]:
        seen: dict[str, list[EntityMatch]] = {}

        def extract_once(text: str, context: Any) -> list[EntityMatch]:
            if text not in seen:
                seen[text] = extract(text, context)
            return seen[text]

        return extract_once

    return tuple(replace(e, extract=remembering(e.extract)) for e in extractors)


_NOT_REMEMBERED = ("ref", "entity")
"""Field kinds never carried from memory: which record an action is about is said each time
(or pointed at: "her", "that booking"), never assumed from an earlier request."""


_POINTING = re.compile(r"\b(that|this|it|the same)\b", re.I)
_POINTING_REACH = 3
"""How many of the person's earlier messages a pointing word ("test me on that") reaches."""


def _pointed_at(spec: FieldSpec, ctx: PlanningContext) -> Any:
    """The entity a request points at instead of naming it ("explain the water cycle", then
    "test me on that"): the newest match of the field's entity type in the person's last few
    messages, when this message has a pointing word; for a field that takes a whole text, the
    text the person pasted in one of those messages ("give me feedback on that"). The entity
    type is the field's (``entity(...)``), or for a text field the type it is named after (a
    field ``subject``, an extractor of "Subject"). Records (``ref`` fields) are pointed at through
    the conversation's references instead."""
    said = [h["text"] for h in ctx.dialog.history if h.get("speaker") == "user"]
    if len(said) < 2 or not _POINTING.search(said[-1]):
        return None
    if takes_long_text(spec):
        # A field for a whole text: "that" is the text the person pasted just before.
        for text in reversed(said[-1 - _POINTING_REACH:-1]):
            if len(text.split()) > _LONG_ANSWER_WORDS:
                return text.strip()
        return None
    kind = spec.entity if spec.kind == "entity" else spec.name if spec.kind == "text" else None
    if not kind:
        return None
    extractors = [e for e in ctx.slot_extractors if e.entity_type.lower() == kind.lower()]
    if not extractors:
        return None
    for text in reversed(said[-1 - _POINTING_REACH:-1]):
        found: list[EntityMatch] = []
        for extractor in extractors:
            try:
                found.extend(extractor.extract(text, ctx.action))
            except Exception:  # an extractor bug must not break planning
                continue
        if found:
            return max(found, key=lambda m: m.span.start).value
    return None


def _note_stated(dialog: DialogState, tool: str, arguments: Mapping[str, Any]) -> None:
    """Remember the plain values a step or question of ``tool`` holds, for its namespace."""
    namespace = _namespace(tool)
    if namespace is None:
        return
    memory = dialog.stated.setdefault(namespace, {})
    for name, value in arguments.items():
        if value is not None and not isinstance(value, dict | list):
            memory[name] = StatedValue(value=value, tool=tool)


def _remembered(tool: Tool, spec: FieldSpec, dialog: DialogState,
                said: Sequence[FieldSpec] = ()) -> Any:
    """The value the conversation gave ``spec`` earlier in ``tool``'s namespace, or None.

    A tool that changes something never reuses what an earlier request *of its own* said
    ("book Ana at 9" then "book Ben at 10" is a second booking, not Ana's day for Ben); a
    read-only tool does ("other restaurants in SF?" keeps the cuisine). A time of day is not
    kept when the request (``said``: the fields it states) gives another one ("move her to
    Friday afternoon" after a booking at 10: not 10 in the afternoon)."""
    if spec.kind in _NOT_REMEMBERED:
        return None
    if _moments(spec) & {m for other in said for m in _moments(other)}:
        return None
    entry = dialog.stated.get(_namespace(tool.name) or "", {}).get(spec.name)
    if entry is None or (entry.tool == tool.name and tool.risk != "read"):
        return None
    return entry.value


def _revised(tool: Tool, spec: FieldSpec, superseded: Step | None,
             said: Sequence[FieldSpec]) -> Any:
    """The value ``spec`` had in the step this message replaces, when that step is of the
    same tool and never ran: "for 4 people" at a booking's confirmation revises it, keeping
    its day. Not a time of day when the request gives another one."""
    if superseded is None or superseded.tool != tool.name or spec.kind in _NOT_REMEMBERED:
        return None
    if _moments(spec) & {m for other in said for m in _moments(other)}:
        return None
    value = superseded.arguments.get(spec.name)
    return None if isinstance(value, dict | list) else value


def _moments(spec: FieldSpec) -> frozenset[str]:
    """Which part of a moment a field says: the day, the time of day, or both."""
    if spec.kind == "datetime":
        return frozenset({"day", "clock"})
    if spec.kind == "date":
        return frozenset({"day"})
    if spec.kind == "time" or (spec.kind == "enum" and spec.enum and all(
            str(v).lower() in _PARTS_OF_DAY for v in spec.enum)):
        return frozenset({"clock"})
    return frozenset()


_SIBLING_FLOOR = 0.1
"""How probable a runner-up must be to replace a tool that would ask (see
:meth:`NeuroSymbolicPlanner._completable_sibling`)."""


def _names_tool(text: str, tool_name: str) -> bool:
    """Whether the message says a word of the tool's own name, in any inflection ("check
    whether she is covered" names check_coverage)."""
    own = tool_name.rsplit(".", 1)[-1].replace("_", " ")
    return bool(stems(router_tokens(text)) & stems(router_tokens(own)))


def _rest_names(text: str, filled: Filled, other: str, pending: str) -> bool:
    """Whether the words of a reply outside the values taken from it name another tool and
    not the pending one: "actually, check whether Jo Park is covered" gives the name asked
    for, and its other words ask for check_coverage; "for my report deadline" has no other
    words."""
    rest = text
    for span in sorted(filled.spans.values(), key=lambda s: -s.start):
        rest = rest[:span.start] + " " + rest[span.end:]
    return _names_tool(rest, other) and not _names_tool(rest, pending)


def _tool_words(tool: Tool) -> str:
    """A tool's own name in words ("reserve roundtrip flights")."""
    return tool.name.rsplit(".", 1)[-1].replace("_", " ")


def _prior(ctx: PlanningContext) -> dict[str, float]:
    """The odds multipliers routing starts from: the conversation's focus times the role's."""
    role, focus = _role_odds(ctx), _focus(ctx)
    return {name: role.get(name, 1.0) * focus.get(name, 1.0) for name in {*role, *focus}}


def _role_odds(ctx: PlanningContext) -> dict[str, float]:
    """Odds divisors for the tools the acting user's role may not run (its scopes do not cover
    the tool's): "how is X doing" is about the records this role may read, not another
    domain's. Only those tools lose odds, so whether a request is for any tool at all is judged
    as before; and too little to turn a clear request for a tool the role lacks into another
    tool: that request is still planned, and refused with the reason."""
    grants = getattr(ctx.action, "scopes", None)
    if grants is None:
        return {}
    return {name: 1.0 / ROLE_ODDS for name, tool in ctx.tools.items()
            if missing_scopes(grants, tool.scopes)}


def _focus(ctx: PlanningContext) -> dict[str, float]:
    """Odds multipliers for the tools of the conversation's focus: the namespace ("restaurants",
    "healthcare") of the question pending or the step planned last."""
    dialog = ctx.dialog
    current = dialog.follow_up.tool if dialog.follow_up is not None else (
        dialog.last_step.tool if dialog.last_step is not None else None)
    if current is None or "." not in current:
        return {}
    namespace = current.rsplit(".", 1)[0] + "."
    return {name: FOCUS_ODDS for name in ctx.tools if name.startswith(namespace)}


def _asks(text: str) -> bool:
    """The message is itself a question ("which times does she have free?")."""
    words = lexicon("en")
    first = (re.findall(r"[\w']+", text.lower()) or [""])[0]
    return text.rstrip().endswith("?") or first in words.question_words \
        or first in words.question_auxiliaries


def _takes_all(span: Span | None, text: str) -> bool:
    """The value's span is (nearly) the whole message, and the message is not a long text."""
    if span is None:
        return False
    stripped = text.strip(" .!?")
    return (len(span.text) >= 0.8 * max(len(stripped), 1)
            and len(text.split()) <= _LONG_ANSWER_WORDS)


def _generic_word(extractor: SlotExtractor) -> str:
    """What a match becomes for routing: the extractor's own word, else its type in words."""
    if extractor.generic:
        return extractor.generic
    return f"a {re.sub(r'(?<=[a-z])(?=[A-Z])', ' ', extractor.entity_type).lower()}"


def _known_entities_generic(text: str, ctx: PlanningContext,
                            asked: frozenset[str] | None = None) -> str:
    """Entities the plugins recognise (lower-case names of known people) made generic for
    routing, as delexicalisation does for capitalised names; the text keeps its length-independent
    meaning, and slot filling still sees the original words. ``asked``: ask only the extractors
    of these names (None: every extractor, as for the tools' own texts)."""
    spans: list[tuple[int, int, str]] = []
    for extractor in ctx.slot_extractors:
        if asked is not None and extractor.name not in asked:
            continue
        try:
            found = extractor.extract(text, ctx.action)
        except Exception:  # an extractor bug must not break routing
            continue
        word = _generic_word(extractor)
        spans.extend((m.span.start, m.span.end, word) for m in found)
    if not spans:
        return text
    out: list[str] = []
    cursor = 0
    for start, end, word in sorted(spans):
        if start < cursor:
            continue
        out.extend((text[cursor:start], word))
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _referenced_kind(spec: FieldSpec, ctx: PlanningContext,
                     produced: Mapping[str, str]) -> str | None:
    """The record type a person-like field refers to ("contact_name" → "Contact")."""
    if spec.kind not in ("person", "entity", "title"):
        return None
    for kind in (*produced, *ctx.dialog.references):
        if kind.lower() in spec.words:
            return kind
    return None


def _question(tool: Tool, spec: FieldSpec) -> str:
    what = (spec.description or spec.name.replace("_", " ")).rstrip(".")
    what = what[0].lower() + what[1:] if what else spec.name
    if spec.enum:
        options = ", ".join(str(v).replace("_", " ") for v in spec.enum)
        return f"Which {spec.name.replace('_', ' ')} would you like ({options})?"
    return f"What is {what}?" if not what.startswith(("the ", "a ", "an ", "which", "who",
                                                      "when", "what")) \
        else f"Could you tell me {what}?"


def _keep_afternoon(old: str, new: Any, text: str) -> Any:
    """"make it 8:30" after 7pm means 20:30: a bare hour keeps the earlier half of the day."""
    if re.search(r"\b(am|a\.m\.|morning)\b", text, re.I):
        return new
    try:
        before = time.fromisoformat(old)
        after = new if isinstance(new, time) else time.fromisoformat(str(new))
    except ValueError:
        return new
    if before.hour >= 12 and after.hour < 12:
        return after.replace(hour=after.hour + 12)
    return new


def _same_time_shift(text: str, arguments: Mapping[str, Any], tool: Tool) -> dict[str, Any]:
    """ "same time next week": the previous date a week later, time unchanged."""
    weeks = 1 if re.search(r"\bnext week\b", text, re.I) else 0
    if not weeks:
        return {}
    out: dict[str, Any] = {}
    for spec in field_specs(tool):
        value = arguments.get(spec.name)
        if spec.kind == "date" and isinstance(value, str):
            out[spec.name] = (date.fromisoformat(value) + timedelta(weeks=weeks)).isoformat()
        elif spec.kind == "datetime" and isinstance(value, str):
            out[spec.name] = (datetime.fromisoformat(value) + timedelta(weeks=weeks)).isoformat()
    return out


def _namespace(tool: str | None) -> str | None:
    """The plugin or service a tool belongs to ("restaurants_2" of "restaurants_2.find")."""
    if tool is None or "." not in tool:
        return None
    return tool.rsplit(".", 1)[0]
