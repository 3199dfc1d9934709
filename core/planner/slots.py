"""Filling a tool's arguments from an utterance, field by field, by type.

Each extractor proposes candidates with spans; each field takes the best unused candidate of
its kind, preferring ones whose preceding words match the field's cue words ("born 2 March"
fills ``birth_date``, "until Friday" fills ``end_date``). Every value keeps the span it came
from. Values are then validated against the tool's argument model; an invalid value is dropped
and reported, so the dialog asks for it again instead of crashing.

This module holds the orchestration: :class:`SlotFiller` (the order in which fields choose, the
choice per kind of field, validation) and its result, :class:`Filled`. The parts live in their
own modules:

- :mod:`.candidates`: what a proposer returns (:class:`Candidate`);
- :mod:`.proposers`, :mod:`.names`, :mod:`.places`, :mod:`.texts`: finding candidate spans
  (numbers, phones, e-mails, quoted text, identifiers; names of people and things; places;
  free text), and :mod:`.pools`, which of them serve which kind of field;
- :mod:`.cues`: scoring candidates by the words before them; :mod:`.choices`: enums and flags;
  :mod:`.answers`: a bare answer to the question just asked;
- :mod:`.normalise`: a span made a value of the declared JSON type;
- :mod:`.repairs`: what is mended once all fields are filled (periods, start/end order, a
  full name split, the whole request as the one free-text argument).

What lives elsewhere: which tool (:mod:`.router`), dialog state and chaining (:mod:`.planner`),
the date/time grammar (:mod:`.temporal`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from ..extensions import SlotExtractor
from ..plan import Ref, Span
from ..tools import Tool
from .answers import first_plain_part, looks_like_name, trim_answer
from .candidates import NOT_NAMES, Candidate, cue_at, overlaps
from .choices import boolean_like, numeric_enum, read_enum, read_flag, read_flag_enum
from .cues import (
    BIRTH_CUES,
    beside,
    best_by_cue,
    cue_words,
    date_cues,
    destination_date,
    leaving_ends_a_stay,
    location_for,
    name_words,
    number_for,
    stems,
)
from .fields import FieldSpec, field_specs
from .kinds import described_things, kind_field, read_kind, things
from .lexicon import lexicon
from .meaning import WordEmbedder, read_enums_by_meaning
from .names import find_names, find_self_reference
from .normalise import as_declared, duration_in, duration_unit
from .pools import Pools
from .repairs import order_range, period_range, split_full_name, whole_request
from .texts import find_long_tail, pasted_text, takes_long_text, text_pool, whole_text

__all__ = ["Candidate", "Filled", "SlotFiller", "pasted_text", "takes_long_text"]


@dataclass
class Filled:
    """What the slot filler found for one tool."""

    arguments: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)
    """Fields whose extracted value failed validation, with the reason (asked again)."""
    referents: dict[str, Ref] = field(default_factory=dict)
    """Fields filled from a record of the conversation ("her"), with that record."""

    def missing_required(self, tool: Tool) -> list[str]:
        return [f.name for f in field_specs(tool) if f.required and f.name not in self.arguments]


class SlotFiller:
    """Fills a tool's arguments from text. One instance per planner; stateless per call."""

    def __init__(self, *, locale: str = "en-US") -> None:
        self.locale = locale
        self._adapters: dict[tuple[int, str], TypeAdapter[Any]] = {}

    def fill(
        self,
        tool: Tool,
        text: str,
        *,
        today: date,
        hour: int | None = None,
        extractors: Sequence[SlotExtractor] = (),
        context: Any = None,
        only: Sequence[str] | None = None,
        prefer: str | None = None,
        embed: WordEmbedder | None = None,
    ) -> Filled:
        """Extract what ``text`` says about the tool's fields (``only``: just these fields).

        ``prefer`` names a field the user was just asked about: a bare answer ("Ivo Brandt",
        "Wednesday") goes to it first. ``embed`` (texts → unit vectors) lets an enum's value
        be read by meaning when no spelling of it is in the text (:mod:`.meaning`). ``hour``
        is the hour now: "Wednesday morning", said on a Wednesday afternoon, is next week's.
        """
        specs = [f for f in field_specs(tool) if only is None or f.name in only]
        numeric = sum(1 for f in field_specs(tool) if f.kind in ("integer", "number")
                      or numeric_enum(f))
        if prefer:
            specs.sort(key=lambda f: f.name != prefer)
        used: list[tuple[int, int]] = []
        filled = Filled()
        pools = Pools(text, today, self.locale, extractors, context)
        pools.numeric_fields = numeric
        pools.hour = hour
        pools.has_birth_field = any(f.kind == "date" and date_cues(f) & BIRTH_CUES
                                    for f in field_specs(tool))
        about = _name_words_of(tool)
        pools.date_cues = {f.name: date_cues(f, about) for f in field_specs(tool)
                           if f.kind in ("date", "datetime")}
        destination_date(pools.date_cues)
        leaving_ends_a_stay(field_specs(tool), pools.date_cues)
        pools.titles = frozenset(t.lower().rstrip(".") for f in field_specs(tool)
                                 for t in f.titles)
        pools.vocabulary = _vocabulary(tool)
        pools.names_venues = any(f.kind == "title" for f in field_specs(tool))
        pools.venues = frozenset(f.name for f in field_specs(tool) if _names_a_venue(f))
        pools.field_words = {f.name: frozenset(w for w in name_words(f) if len(w) >= 3)
                             - _GENERIC_FIELD_WORDS for f in field_specs(tool)}
        pools.embed, pools.own_words = embed, _own_words(tool)
        pools.kind_heads = {f.name: things(f, tool) for f in field_specs(tool) if kind_field(f)}
        pools.enum_words = frozenset(
            w for f in field_specs(tool) for v in f.enum for w in _words(str(v))) | frozenset(
            w for f in field_specs(tool) for phrases in f.synonyms.values() for p in phrases
            for w in _words(p))
        # "some pop songs": a kind field's word is kept from the name fields ("Dubstep" is
        # no artist), and given to it only after the enums have been read by meaning
        # ("concert events" is the Music category, not a kind of event).
        kinds = {f.name: k for f in specs if (heads := pools.kind_heads.get(f.name))
                 and (k := read_kind(text, used, heads, pools.enum_words | pools.own_words))}
        reserved = [(k.start, k.end) for k in kinds.values()]
        # "the album The King of Limbs": a name right after a field's own word is kept from
        # the fields read before it (no artist "King", no artist "Limbs").
        named = {f.name: c for f in specs if f.name not in kinds
                 and (c := _named_after_own_word(f, pools, used))}
        if embed is not None and prefer is not None:
            self._asked_enum_by_meaning(specs, prefer, filled, pools, used,
                                        [*reserved, *((c.start, c.end) for c in named.values())],
                                        text)
        for spec in _ordered(specs):
            if spec.name in kinds or spec.name in filled.arguments:
                continue
            others = [(c.start, c.end) for n, c in named.items() if n != spec.name]
            own = named.get(spec.name)
            candidate = own if own is not None and not any(
                overlaps((own.start, own.end), u) for u in used) else self._extract(
                spec, pools, [*used, *reserved, *others], text, prefer == spec.name)
            if candidate is not None:
                self._take(tool, spec, candidate, filled, used)
        if embed is not None:
            self._enums_by_meaning(specs, filled, pools, used, text, prefer)
        for name, candidate in kinds.items():
            if not any(overlaps((candidate.start, candidate.end), u) for u in used):
                self._take(tool, next(f for f in specs if f.name == name), candidate, filled,
                           used)
        split_full_name(field_specs(tool), filled)
        if only is None:
            period_range(field_specs(tool), filled, text, today)
        order_range(field_specs(tool), filled)
        if only is None:
            whole_request(field_specs(tool), filled, text)
        return filled

    def _take(self, tool: Tool, spec: FieldSpec, candidate: Candidate, filled: Filled,
              used: list[tuple[int, int]]) -> None:
        """Give ``candidate`` to ``spec`` if the tool's argument model accepts its value."""
        value = self._validate(tool, spec, as_declared(spec, candidate.value))
        if isinstance(value, _Invalid):
            filled.invalid[spec.name] = value.reason
            return
        filled.arguments[spec.name] = value
        filled.spans[spec.name] = Span(start=candidate.start, end=candidate.end,
                                       text=candidate.text)
        if candidate.end > candidate.start:
            used.append((candidate.start, candidate.end))

    # -- per kind ------------------------------------------------------------------------------

    def _extract(self, spec: FieldSpec, pools: Pools, used: list[tuple[int, int]], text: str,
                 asked: bool) -> Candidate | None:
        free = [c for c in pools.of(spec) if not any(overlaps((c.start, c.end), u)
                                                       for u in used)]
        if spec.kind == "ref":
            return None  # references come from the conversation or a chained step
        if spec.kind == "enum":
            if boolean_like(spec.enum):
                return read_flag_enum(spec, text, used)
            if numeric_enum(spec):
                # A count offered as choices ("1".."4"): found like a number, by its unit.
                numbers = [c for c in pools.of(replace(spec, kind="integer"))
                           if not any(overlaps((c.start, c.end), u) for u in used)]
                by_text = {str(v): v for v in spec.enum}
                numbers = [replace(c, value=by_text[str(c.value)]) for c in numbers
                           if str(c.value) in by_text]
                if asked and numbers:
                    return numbers[0]
                return number_for(spec, numbers, pools.numeric_fields, text)
            return read_enum(spec, text, used)
        if spec.kind in ("date", "datetime"):
            if pools.has_birth_field and not (date_cues(spec) & BIRTH_CUES):
                # A date decades ago is somebody's birth date, not the day of the action.
                free = [c for c in free if getattr(c.value, "year", 9999) >= pools.today.year - 1]
            own = pools.date_cues.get(spec.name, date_cues(spec))
            if own & BIRTH_CUES:
                # A birth date is cued as one ("born", "dob") or lies in the past; "Friday"
                # is never one.
                free = [c for c in free if stems(c.cue.split()) & BIRTH_CUES
                        or getattr(c.value, "year", 0) < pools.today.year]
            others = frozenset().union(*(c for n, c in pools.date_cues.items()
                                         if n != spec.name))
            foreign, distinct = others - own, own - others
            # "until Christmas" belongs to the end date, "return it on the 5th" too: never to
            # the start date. Any word of the cue counts, in any inflection ("returns"),
            # except short function words, which count only right before the date. A word
            # both fields share ("date" of check_in_date and check_out_date) does not keep a
            # date cued for the other ("the check-out date on Thursday").
            free = [c for c in free if not set(c.cue.split()[-1:]) & foreign and not (
                {w for w in cue_words(c.cue) if len(w) >= 4 and w not in NOT_NAMES}
                & foreign
                and not cue_words(c.cue) & distinct)]
            return best_by_cue(free, own, foreign)
        if spec.kind in ("integer", "number"):
            unit = duration_unit(spec)
            if unit:
                durations = [c for c in pools.durations()
                             if not any(overlaps((c.start, c.end), u) for u in used)]
                if durations:
                    best = durations[0]
                    return Candidate(duration_in(best.value, unit), best.start, best.end,
                                     best.text, best.cue)
            if asked and free:
                return free[0]  # the answer to "how many ...?"
            return number_for(spec, free, pools.numeric_fields, text)
        if spec.kind == "boolean":
            return read_flag(spec, text, used)
        if spec.kind == "location":
            # A place the text marks for the other end of a trip ("to Fresno" when asked where
            # from) is never this field's bare answer.
            marked = [(c.start, c.end) for c in free]
            if pools.names_venues and not _directional(spec):
                free = [c for c in free if c.cue.split()[-1:] not in (["at"], ["to"])]
            if pools.names_venues:
                # "at The Ampersand Hotel": a name its venue noun follows is the venue's.
                free = [c for c in free if not _before_venue_noun(text, c.end)]
            found = location_for(spec, free)
            if found is None and asked:
                # The answer to "where?" may be a bare name: "Toronto please", "I'd say Reno".
                named = [c for c in find_names(text, runs_only=True, titles=pools.titles)
                         if not any(overlaps((c.start, c.end), u) for u in [*used, *marked])]
                if named:
                    return max(named, key=lambda c: (c.score, -c.start))
            if found is None and asked and not marked:
                part = first_plain_part(text, used)
                part = trim_answer(part) if part is not None else None  # "NY would be fun"
                if part is not None and looks_like_name(part.value):
                    value = part.value if any(ch.isupper() for ch in part.value) \
                        else part.value.title()
                    return Candidate(value, part.start, part.end, part.text)
            return found
        if spec.options:
            chosen = read_enum(replace(spec, enum=spec.options), text, used)
            if chosen is not None or not asked:
                return chosen  # a name the description offers, or nothing (not a stray quote)
        if spec.kind == "text" and asked and text_pool(spec) == "text:long":
            # The answer to a question for a long text is the whole message, less an
            # introduction.
            return next(iter(find_long_tail(text, pools.vocabulary)), None) or whole_text(text)
        if spec.kind in ("person", "entity", "title", "text", "identifier"):
            if not asked:
                own = spec.words | name_words(spec)
                free = [c for c in free if not c.guessed or beside(c, own, text)]
            # A name right after or before another field's own word is that field's ("the
            # album Vessel" is no artist), unless the word is this field's too.
            others = frozenset().union(*(w for n, w in pools.field_words.items()
                                         if n != spec.name)) - pools.field_words.get(
                spec.name, frozenset()) - spec.words
            free = [c for c in free if not beside(c, others, text, last_word=True)]
            if spec.kind == "title" and pools.venues:
                # "When is it showing at Vine Cinema?": a name after "at" is the venue's, when
                # the tool has a field for one ("Name of the theatre"), not the film's.
                at = [c for c in free if [w for w in c.cue.split()
                                          if w not in _ARTICLES][-1:] == ["at"]]
                free = (at or free) if spec.name in pools.venues else \
                    [c for c in free if c not in at]
            if free:
                return best_by_cue(free, spec.words)
            if spec.kind in ("person", "entity"):
                me = find_self_reference(spec, text)
                if me is not None and not any(overlaps((me.start, me.end), u) for u in used):
                    return me
            if not asked:
                return None
            if spec.kind in ("person", "title", "entity") and not looks_like_name(text):
                return None
            if spec.kind in ("title", "text") and text_pool(spec) == "text:name":
                # A short answer with extras ("a cuisine, then a price"): its first part
                # not already taken by another field.
                part = first_plain_part(text, used)
                # No part free of what other fields took: the message is not this answer.
                answer = trim_answer(part) if part is not None else None
                return _without_field_word(answer, spec)
            return whole_text(text)
        return free[0] if free else (whole_text(text) if asked and spec.kind == "text" else None)

    @staticmethod
    def _asked_enum_by_meaning(specs: Sequence[FieldSpec], asked: str, filled: Filled,
                               pools: Pools, used: list[tuple[int, int]],
                               reserved: list[tuple[int, int]], text: str) -> None:
        """The enum the person was just asked about reads its answer by meaning before any
        other field takes the words: "Search for a Concert." answers "which type of event?"
        (Music); it is not first the text of another field. ``used`` grows by the word taken;
        ``reserved`` (kind fields' words) stays out of reach."""
        spec = next((s for s in specs if s.name == asked), None)
        taken = [*used, *reserved]
        if spec is None or spec.kind != "enum" or boolean_like(spec.enum) \
                or numeric_enum(spec) or read_enum(spec, text, taken) is not None:
            return
        assert pools.embed is not None
        found = read_enums_by_meaning([spec], text, taken, pools.embed, pools.own_words,
                                      asked).get(asked)
        if found is not None:
            _give_enum(filled, asked, found)
            used.append((found.start, found.end))

    @staticmethod
    def _enums_by_meaning(specs: Sequence[FieldSpec], filled: Filled, pools: Pools,
                          used: list[tuple[int, int]], text: str,
                          asked: str | None = None) -> None:
        """Enum fields no spelling named, read by meaning, after every field has taken its
        literal words (so "skin check" stays one field's value, not another's "skin")."""
        assert pools.embed is not None
        open_enums = [s for s in specs if s.kind == "enum" and s.name not in filled.arguments
                      and s.name not in filled.invalid and not boolean_like(s.enum)
                      and not numeric_enum(s)]
        found = read_enums_by_meaning(open_enums, text, used, pools.embed, pools.own_words,
                                      asked)
        for name, candidate in found.items():
            _give_enum(filled, name, candidate)

    def _validate(self, tool: Tool, spec: FieldSpec, value: Any) -> Any:
        """The value as the tool's argument model accepts it, or why it does not."""
        key = (id(tool), spec.name)
        adapter = self._adapters.get(key)
        if adapter is None:
            info = tool.args_model.model_fields.get(spec.name)
            if info is None:
                return value
            annotation: Any = info.annotation
            if info.metadata:
                annotation = Annotated[(annotation, *info.metadata)]
            adapter = TypeAdapter(annotation)
            self._adapters[key] = adapter
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            return _Invalid(str(first["msg"]))


@dataclass(frozen=True)
class _Invalid:
    reason: str


_ARTICLES = frozenset({"the", "a", "an"})
_GENERIC_FIELD_WORDS: frozenset[str] = lexicon("en").generic_field_words
"""Words many fields' names share: they say nothing about which field a name belongs to."""


def _ordered(specs: list[FieldSpec]) -> list[FieldSpec]:
    """Typed, specific fields first; free text last, so it takes only what is left."""
    rank = {"email": 0, "phone": 0, "enum": 1, "entity": 1, "date": 2, "datetime": 2, "time": 2,
            "duration": 2, "integer": 3, "number": 3, "boolean": 3, "ref": 4, "identifier": 4,
            "person": 5,
            "location": 5.5, "title": 6, "text": 7}
    return sorted(specs, key=lambda f: rank.get(f.kind, 8))


def _vocabulary(tool: Tool) -> frozenset[str]:
    """The tool's own words: its name, description and argument names."""
    text = " ".join([tool.name, tool.description] + [f.name for f in field_specs(tool)])
    return frozenset(w for w in re.findall(r"[a-z]+", text.replace("_", " ").lower())
                     if len(w) > 3) - NOT_NAMES


def _without_field_word(answer: Candidate | None, spec: FieldSpec) -> Candidate | None:
    """"Mexican food" for a field described as the kind of food served: "Mexican" (a last word
    that is one of the field's own words names the field, not the value)."""
    if answer is None:
        return None
    words = answer.text.split()
    if len(words) < 2 or not stems([words[-1].lower()]) & stems(list(spec.words)):
        return answer
    value = answer.text[:answer.text.rfind(words[-1])].rstrip()
    return Candidate(value, answer.start, answer.start + len(value), value, answer.cue,
                     answer.score)


def _give_enum(filled: Filled, name: str, candidate: Candidate) -> None:
    """An enum's value read by meaning: already one of the schema's values, so not validated
    again."""
    filled.arguments[name] = candidate.value
    filled.spans[name] = Span(start=candidate.start, end=candidate.end, text=candidate.text)


def _named_after_own_word(spec: FieldSpec, pools: Pools, used: Sequence[tuple[int, int]]
                          ) -> Candidate | None:
    """A name of two or more words that a free-text or title field's own word introduces
    ("the album The King of Limbs", "the venue Villa Serena"), or None."""
    if spec.kind not in ("text", "title") or (spec.kind == "text"
                                              and text_pool(spec) != "text:name"):
        return None
    own = pools.field_words.get(spec.name, frozenset())
    for c in sorted([*_titled_after(pools.text, own), *pools.of(spec)],
                    key=lambda c: (c.start, -(c.end - c.start))):
        # The word as written: "the Marriott Hotel Regents Park" has no introducing word.
        before = [w for w in re.findall(r"[\w'’-]+", pools.text[:c.start])[-3:]
                  if w.lower() not in _ARTICLES]
        if len(c.text.split()) >= 2 and before[-1:] and before[-1] in own \
                and not any(overlaps((c.start, c.end), u) for u in used):
            return c
    return None


_TITLE_WORD = r"[A-Z0-9][\w'’&.-]*"
_TITLE_RUN = (rf"{_TITLE_WORD}(?:\s+(?:(?:of|the|and|a|an|in|on|to|for|with|at|by)\s+"
              rf"(?={_TITLE_WORD}))?{_TITLE_WORD})+")
"""Two or more capitalised words, lowercase connectors between them allowed."""


def _titled_after(text: str, own: frozenset[str]) -> list[Candidate]:
    """Capitalised runs right after one of a field's own words as written, whatever words
    they begin with: "the album All The Little Lights", "label it To Whom It May Concern"
    (a title of function words is no name :func:`.names.find_names` would propose)."""
    words = [w for w in own if w.isalpha() and len(w) >= 3]
    if not words:
        return []
    pattern = re.compile(rf"\b(?:{'|'.join(map(re.escape, sorted(words)))})\s+"
                         rf"(?:the\s+)?({_TITLE_RUN})")
    found = []
    for m in pattern.finditer(text):
        title = m.group(1).rstrip(".")
        found.append(Candidate(title, m.start(1), m.start(1) + len(title), title,
                               cue_at(text, m.start(1))))
    return found


def _names_a_venue(spec: FieldSpec) -> bool:
    """A title field naming a place one goes to: its name or the noun after "of" in its
    description is a venue ("theater_name", "Name of the theatre"; the locale's
    ``venue_nouns``)."""
    if spec.kind != "title":
        return False
    words = set(name_words(spec)) | described_things(spec)
    return bool(stems(sorted(words)) & lexicon("en").venue_nouns)


def _before_venue_noun(text: str, end: int) -> bool:
    """Whether the word right after ``end`` is a venue noun ("Hotel", "Cinema")."""
    following = re.findall(r"[A-Za-z]+", text[end:end + 20])[:1]
    return bool(following) and bool(stems([following[0].lower()]) & lexicon("en").venue_nouns)


def _directional(spec: FieldSpec) -> bool:
    """An origin or destination field (it takes the place after "from" or "to")."""
    return bool(name_words(spec) & (lexicon("en").origin_words | lexicon("en").destination_words))


def _name_words_of(tool: Tool) -> frozenset[str]:
    """The words of the tool's own name, its namespace left out ("search", "flights")."""
    return frozenset(re.findall(r"[a-z]{3,}", tool.name.rsplit(".", 1)[-1].lower()))


def _own_words(tool: Tool) -> frozenset[str]:
    """The words of the tool's name and argument names ("events", "category"): they name what
    the tool is about, never one value of its enums."""
    text = " ".join([tool.name] + [f.name for f in field_specs(tool)])
    return frozenset(re.findall(r"[a-z]+", text.replace("_", " ").replace(".", " ").lower()))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))
