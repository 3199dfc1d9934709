"""Filling a tool's arguments from an utterance, field by field, by type.

Each extractor proposes candidates with spans; each field takes the best unused candidate of
its kind, preferring ones whose preceding words match the field's cue words ("born 2 March"
fills ``birth_date``, "until Friday" fills ``end_date``). Every value keeps the span it came
from. Values are then validated against the tool's argument model; an invalid value is dropped
and reported, so the dialog asks for it again instead of crashing.

What lives elsewhere: which tool (:mod:`.router`), dialog state and chaining (:mod:`.planner`),
the date/time grammar (:mod:`.temporal`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from ..extensions import EntityMatch, SlotExtractor
from ..plan import Ref, Span
from ..tools import Tool
from .fields import FieldSpec, field_specs
from .lexicon import lexicon
from .temporal import MONTHS, cue, find_dates, find_durations, find_times, part_of_day

__all__ = ["Filled", "SlotFiller", "pasted_text", "takes_long_text"]

_LEX = lexicon("en")


def _alternation(words: Any) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


_NUMBER_WORDS: dict[str, int] = {k: int(v) for k, v in _LEX.number_words.items()}
_WORD_ALTERNATION = _alternation(_NUMBER_WORDS)
_NUMBER_RE = re.compile(
    r"(?<![\w.:/-])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|"
    rf"(?:{_WORD_ALTERNATION})(?:(?:[\s-]+(?:and[\s-]+)?)(?:{_WORD_ALTERNATION}))*)"
    r"(?![\w:/-])", re.I)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LOCAL_PHONE_RE = re.compile(r"(?<![\w-])\(?\d{3}\)?[\s.-]?\d{3,4}(?:[\s.-]?\d{4})?(?![\w-])")
_QUOTED_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'(?!\w)")
_HONORIFICS: frozenset[str] = _LEX.honorifics
_NOT_NAMES: frozenset[str] = _LEX.not_names
_MONTH_OR_DAY: frozenset[str] = (_LEX.months | _LEX.weekdays | frozenset(
    _LEX.month_abbreviations) | frozenset(_LEX.weekday_abbreviations))
_BIRTH_CUES: frozenset[str] = _LEX.date_cues["birth"]
_START_CUES: frozenset[str] = _LEX.date_cues["start"]
_END_CUES: frozenset[str] = _LEX.date_cues["end"]
_YES = re.compile(rf"\b(?:{_alternation(_LEX.yes_words)})\b", re.I)
_NO = re.compile(rf"(?<!\w)(?:{_alternation(_LEX.negation_words)})(?!\w)", re.I)
_TEXT_CUES = re.compile(rf"\b(?:{_alternation(_LEX.text_cues)})\b[:\s]+(.+)$", re.I)
_IDENTIFIER_RE = re.compile(r"\b(?=[\w-]*\d)(?:[A-Za-z]{1,6}[-#/]?)?\d[\w-]{2,}\b")
_SELF_RE = re.compile(rf"\b({_alternation(_LEX.self_words)})\b", re.I)
_LOWER_NAME_CUE = re.compile(
    rf"\b(?:{_alternation(_LEX.name_cues)})\s+([a-zà-ÿ][a-zà-ÿ'’-]+(?:\s+[a-zà-ÿ][a-zà-ÿ'’-]+){{1,2}})",
    re.I)
_LOCATION_RE = re.compile(
    rf"\b(?i:{_alternation(_LEX.location_prepositions)})\s+"
    rf"((?:[A-Z][\w'’.-]*\s?|(?:{_alternation(_LEX.place_connectors)})\s+(?=[A-Z])){{1,5}})")
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Z]\.")
"""Initials with full stops do not end a sentence: "D.C.", "J."."""
_KNOWN_ABBREVIATIONS: frozenset[str] = (
    _LEX.honorifics | frozenset(w.lower() for w in _LEX.street_types)
    | frozenset(w.rstrip(".") for w in _LEX.place_connectors) | _LEX.abbreviations)


@dataclass
class Candidate:
    """A value an extractor proposes, with its span and the words before it."""

    value: Any
    start: int
    end: int
    text: str
    cue: str = ""
    score: float = 1.0
    guessed: bool = False
    """Only a capitalised run, proposed for a free-text field: taken when the field's own
    words stand next to it, or when the field was asked for."""


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




def _cue(text: str, start: int) -> str:
    return cue(text, start, width=28)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


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
        extractors: Sequence[SlotExtractor] = (),
        context: Any = None,
        only: Sequence[str] | None = None,
        prefer: str | None = None,
    ) -> Filled:
        """Extract what ``text`` says about the tool's fields (``only``: just these fields).

        ``prefer`` names a field the user was just asked about: a bare answer ("Ivo Brandt",
        "Wednesday") goes to it first.
        """
        specs = [f for f in field_specs(tool) if only is None or f.name in only]
        numeric = sum(1 for f in field_specs(tool) if f.kind in ("integer", "number")
                      or _numeric_enum(f))
        if prefer:
            specs.sort(key=lambda f: f.name != prefer)
        used: list[tuple[int, int]] = []
        filled = Filled()
        pools = _Pools(text, today, self.locale, extractors, context)
        pools.numeric_fields = numeric
        pools.has_birth_field = any(f.kind == "date" and _date_cues(f) & _BIRTH_CUES
                                    for f in field_specs(tool))
        pools.date_cues = {f.name: _date_cues(f) for f in field_specs(tool)
                           if f.kind in ("date", "datetime")}
        _destination_date(pools.date_cues)
        pools.titles = frozenset(t.lower().rstrip(".") for f in field_specs(tool)
                                 for t in f.titles)
        pools.vocabulary = _vocabulary(tool)
        pools.enum_words = frozenset(
            w for f in field_specs(tool) for v in f.enum for w in _words(str(v))) | frozenset(
            w for f in field_specs(tool) for phrases in f.synonyms.values() for p in phrases
            for w in _words(p))
        for spec in _ordered(specs):
            candidate = self._extract(spec, pools, used, text, prefer == spec.name)
            if candidate is None:
                continue
            value = self._validate(tool, spec, _as_declared(spec, candidate.value))
            if isinstance(value, _Invalid):
                filled.invalid[spec.name] = value.reason
                continue
            filled.arguments[spec.name] = value
            filled.spans[spec.name] = Span(start=candidate.start, end=candidate.end,
                                           text=candidate.text)
            if candidate.end > candidate.start:
                used.append((candidate.start, candidate.end))
        _split_full_name(field_specs(tool), filled)
        if only is None:
            _period_range(field_specs(tool), filled, text, today)
        _order_range(field_specs(tool), filled)
        required = [f for f in field_specs(tool) if f.required]
        if (only is None and len(required) == 1 and required[0].kind == "text"
                and required[0].name.lower() in _WHOLE_REQUEST_WORDS
                and required[0].name not in filled.arguments):
            # A tool whose one required argument is free text ("question", "query"):
            # the request itself is that text.
            whole = _whole(text)
            if whole is not None:
                filled.arguments[required[0].name] = whole.value
                filled.spans[required[0].name] = Span(start=whole.start, end=whole.end,
                                                      text=whole.text)
        return filled

    # -- per kind ------------------------------------------------------------------------------

    def _extract(self, spec: FieldSpec, pools: _Pools, used: list[tuple[int, int]], text: str,
                 asked: bool) -> Candidate | None:
        free = [c for c in pools.of(spec) if not any(_overlaps((c.start, c.end), u)
                                                       for u in used)]
        if spec.kind == "ref":
            return None  # references come from the conversation or a chained step
        if spec.kind == "enum":
            if _boolean_like(spec.enum):
                return _flag_enum(spec, text, used)
            if _numeric_enum(spec):
                # A count offered as choices ("1".."4"): found like a number, by its unit.
                numbers = [c for c in pools.of(replace(spec, kind="integer"))
                           if not any(_overlaps((c.start, c.end), u) for u in used)]
                by_text = {str(v): v for v in spec.enum}
                numbers = [replace(c, value=by_text[str(c.value)]) for c in numbers
                           if str(c.value) in by_text]
                if asked and numbers:
                    return numbers[0]
                return _number_for(spec, numbers, pools.numeric_fields)
            return self._enum(spec, text, used)
        if spec.kind in ("date", "datetime"):
            if pools.has_birth_field and not (_date_cues(spec) & _BIRTH_CUES):
                # A date decades ago is somebody's birth date, not the day of the action.
                free = [c for c in free if getattr(c.value, "year", 9999) >= pools.today.year - 1]
            own = pools.date_cues.get(spec.name, _date_cues(spec))
            if own & _BIRTH_CUES:
                # A birth date is cued as one ("born", "dob") or lies in the past; "Friday"
                # is never one.
                free = [c for c in free if _stems(c.cue.split()) & _BIRTH_CUES
                        or getattr(c.value, "year", 0) < pools.today.year]
            foreign = frozenset().union(*(c for n, c in pools.date_cues.items()
                                          if n != spec.name)) - own
            # "until Christmas" belongs to the end date, "return it on the 5th" too: never to
            # the start date. Any word of the cue counts, in any inflection ("returns"),
            # except short function words, which count only right before the date.
            free = [c for c in free if not set(c.cue.split()[-1:]) & foreign and not (
                {w for w in _stems(c.cue.split()) if len(w) >= 4 and w not in _NOT_NAMES}
                & foreign
                and not _stems(c.cue.split()) & own)]
            return _best_by_cue(free, own, foreign)
        if spec.kind in ("integer", "number"):
            unit = _duration_unit(spec)
            if unit:
                durations = [c for c in pools.durations()
                             if not any(_overlaps((c.start, c.end), u) for u in used)]
                if durations:
                    best = durations[0]
                    amount = best.value.total_seconds() / unit
                    return Candidate(int(amount) if amount.is_integer() else amount,
                                     best.start, best.end, best.text, best.cue)
            if asked and free:
                return free[0]  # the answer to "how many ...?"
            return _number_for(spec, free, pools.numeric_fields)
        if spec.kind == "boolean":
            return _boolean(spec, text, used)
        if spec.kind == "location":
            found = _location_for(spec, free)
            if found is None and asked:
                # The answer to "where?" may be a bare name: "Toronto please", "I'd say Reno".
                named = [c for c in _names(text, runs_only=True, titles=pools.titles)
                         if not any(_overlaps((c.start, c.end), u) for u in used)]
                if named:
                    return max(named, key=lambda c: (c.score, -c.start))
            if found is None and asked:
                part = _first_plain_part(text, used)
                if part is not None and _looks_like_name(part.value):
                    value = part.value if any(ch.isupper() for ch in part.value) \
                        else part.value.title()
                    return Candidate(value, part.start, part.end, part.text)
            return found
        if spec.options:
            chosen = self._enum(replace(spec, enum=spec.options), text, used)
            if chosen is not None or not asked:
                return chosen  # a name the description offers, or nothing (not a stray quote)
        if spec.kind == "text" and asked and _text_pool(spec) == "text:long":
            # The answer to a question for a long text is the whole message, less an
            # introduction.
            return next(iter(_long_tail(text, pools.vocabulary)), None) or _whole(text)
        if spec.kind in ("person", "entity", "title", "text", "identifier"):
            if not asked:
                free = [c for c in free if not c.guessed or _next_to_field_words(c, spec, text)]
            if free:
                return _best_by_cue(free, spec.words)
            if spec.kind in ("person", "entity"):
                me = _self_reference(spec, text)
                if me is not None and not any(_overlaps((me.start, me.end), u) for u in used):
                    return me
            if not asked:
                return None
            if spec.kind in ("person", "title") and not _looks_like_name(text):
                return None
            if spec.kind in ("title", "text") and _text_pool(spec) == "text:name":
                # A short answer with extras ("a cuisine, then a price"): its first part
                # not already taken by another field.
                part = _first_plain_part(text, used)
                if part is not None:
                    return _trim_answer(part)
            return _whole(text)
        return free[0] if free else (_whole(text) if asked and spec.kind == "text" else None)

    def _enum(self, spec: FieldSpec, text: str, used: list[tuple[int, int]]) -> Candidate | None:
        lowered = text.lower()
        best: Candidate | None = None
        for value in spec.enum:
            for phrase in _enum_phrases(spec, value):
                for m in re.finditer(rf"(?<![\w]){phrase}(?![\w])", lowered):
                    if any(_overlaps((m.start(), m.end()), u) for u in used):
                        continue
                    if _negated(lowered, m.start()):
                        continue  # "not spicy", "no X": not this value
                    if best is None or (m.end() - m.start()) > (best.end - best.start):
                        best = Candidate(value, m.start(), m.end(), text[m.start():m.end()])
        if best is None and spec.enum and all(isinstance(v, str) for v in spec.enum):
            pod = part_of_day(text)
            if pod and pod[0] in spec.enum:
                return Candidate(pod[0], pod[1], pod[2], text[pod[1]:pod[2]])
        return best

    def _validate(self, tool: Tool, spec: FieldSpec, value: Any) -> Any:
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


class _Pools:
    """Candidates of every kind, extracted once per utterance (lazily, by kind)."""

    def __init__(self, text: str, today: date, locale: str,
                 extractors: Sequence[SlotExtractor], context: Any) -> None:
        self.text = text
        self.today = today
        self.locale = locale
        self.extractors = extractors
        self.context = context
        self._cache: dict[str, list[Candidate]] = {}
        self.numeric_fields = 1
        self.has_birth_field = False
        self.date_cues: dict[str, frozenset[str]] = {}
        """Each date field's cue words: a date cued for another field goes there first."""
        self.titles: frozenset[str] = frozenset()
        """Titles the tool's schema writes before names (``x-titles``): never part of a name."""
        self.vocabulary: frozenset[str] = frozenset()
        """The tool's own words (its name, description and argument names): a lower-case name
        ends before one of them ("ivo brandt booking")."""
        self.enum_words: frozenset[str] = frozenset()
        """Words of the tool's enum values and synonyms: a place name ends before them."""

    def of(self, spec: FieldSpec) -> list[Candidate]:
        key = spec.kind if spec.kind != "entity" else f"entity:{spec.entity}"
        if spec.kind == "text":
            key = _text_pool(spec)
        if spec.kind == "date" and _date_cues(spec) & _BIRTH_CUES:
            key = "birthdate"
        if key not in self._cache:
            self._cache[key] = self._build(key, spec)
        return self._cache[key]

    def _build(self, key: str, spec: FieldSpec) -> list[Candidate]:
        text = self.text
        if key in ("date", "birthdate"):
            return [Candidate(d.value, d.start, d.end, d.text, d.cue)
                    for d in find_dates(text, self.today, locale=self.locale,
                                        future=key != "birthdate")]
        if key == "datetime":
            return _datetimes(text, self.today, self.locale)
        if key == "time":
            return [Candidate(t.value, t.start, t.end, t.text, _cue(text, t.start))
                    for t in find_times(text)]
        if key == "duration":
            return [Candidate(delta, s, e, t, _cue(text, s)) for delta, s, e, t
                    in find_durations(text)]
        if key in ("integer", "number"):
            return _numbers(text, self)
        if key == "email":
            return [Candidate(m.group(0), m.start(), m.end(), m.group(0), _cue(text, m.start()))
                    for m in _EMAIL_RE.finditer(text)]
        if key == "phone":
            return _phones(text, self.locale)
        if key.startswith("entity:"):
            return self._entities(spec)
        if key == "person":
            streets = [(m.start(), m.end()) for m in _STREET.finditer(text)]
            return [c for c in _quoted(text) + self._plain_names()
                    if not any(_overlaps((c.start, c.end), s) for s in streets)]
        if key == "identifier":
            return _quoted(text) + [
                Candidate(m.group(0), m.start(), m.end(), m.group(0), _cue(text, m.start()))
                for m in _IDENTIFIER_RE.finditer(text)]
        if key == "title":
            return _quoted(text) + _titles(text, spec.words)
        if key == "location":
            return _quoted(text, score=0.5) + _locations(text, self.enum_words | self.vocabulary)
        if key == "text:long":
            return _long_tail(text, self.vocabulary) + _text_spans(text)
        if key == "text:topic":
            return _quoted(text) + _topics(text)
        if key == "text:free":
            return _quoted(text) + _text_spans(text)
        if key == "text:reason":
            return _quoted(text) + _text_spans(text) + _trailing_clause(text)
        if key == "text:whole":
            whole = _whole(text)
            return _quoted(text) + ([whole] if whole is not None else [])
        return _quoted(text) + _text_spans(text) + [
            Candidate(c.value, c.start, c.end, c.text, c.cue, score=0.6, guessed=True)
            for c in _titles(text, spec.words)]

    def durations(self) -> list[Candidate]:
        return self.of(FieldSpec(name="duration", kind="duration", required=False))

    def _plain_names(self) -> list[Candidate]:
        return (_names(self.text, titles=self.titles)
                + _lower_names(self.text, self.vocabulary | self.titles))

    def _entities(self, spec: FieldSpec) -> list[Candidate]:
        found: list[Candidate] = []
        for extractor in self.extractors:
            if extractor.entity_type != spec.entity:
                continue
            try:
                matches: list[EntityMatch] = extractor.extract(self.text, self.context)
            except Exception:  # an extractor bug must not break planning
                continue
            found.extend(Candidate(m.value, m.span.start, m.span.end, m.span.text,
                                   _cue(self.text, m.span.start), m.score) for m in matches)
        if not found:
            return self._entity_fallback(spec)
        return sorted(found, key=lambda c: -c.score)

    def _entity_fallback(self, spec: FieldSpec) -> list[Candidate]:
        """No extractor answered: for an entity whose schema names its titles (``x-titles``:
        "Prof"), titled names only; plain names (and, where the field allows it, "me") for
        everyone else."""
        if spec.titles:
            titles = frozenset(t.lower().rstrip(".") for t in spec.titles)
            return _quoted(self.text) + _names(self.text, titled=True, titles=titles)
        return _quoted(self.text) + self._plain_names()


_PERIOD_RE = re.compile(r"\b(?:(this|next) (week|month)|(?:in|during|for) (" + "|".join(MONTHS)
                        + r"))\b", re.I)
_START_NAMES = {"start", "from", "begin", "since"}
_END_NAMES = {"end", "until", "to", "through"}


def _period_range(specs: Sequence[FieldSpec], filled: Filled, text: str, today: date) -> None:
    """A period ("next week", "in December") fills both ends of a from/to pair of dates."""
    dates = [f for f in specs if f.kind == "date"]
    starts = [f for f in dates if set(f.name.split("_")) & _START_NAMES]
    ends = [f for f in dates if set(f.name.split("_")) & _END_NAMES]
    if len(starts) != 1 or len(ends) != 1 or ends[0].name in filled.arguments:
        return
    m = _PERIOD_RE.search(text)
    if m is None:
        return
    start_name, end_name = starts[0].name, ends[0].name
    if m.group(3):
        month = MONTHS.index(m.group(3).lower()) + 1
        year = today.year + (month < today.month)
        first = date(year, month, 1)
    elif m.group(2).lower() == "week":
        monday = today - timedelta(days=today.weekday())
        first = monday + timedelta(days=7) if m.group(1).lower() == "next" else today
    else:
        month_start = date(today.year, today.month, 1)
        first = (month_start if m.group(1).lower() == "this" else
                 (month_start + timedelta(days=32)).replace(day=1))
        first = max(first, today)
    if m.group(2) and m.group(2).lower() == "week":
        last = first + timedelta(days=6 - first.weekday())
    else:
        last = (first.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    span = Span(start=m.start(), end=m.end(), text=m.group(0))
    current = filled.arguments.get(start_name)
    if current is not None and not (first <= current <= last):
        return  # the start was another date the user gave
    filled.arguments[start_name] = first
    filled.arguments[end_name] = last
    filled.spans[start_name] = filled.spans.get(start_name, span)
    filled.spans[end_name] = span


def _order_range(specs: Sequence[FieldSpec], filled: Filled) -> None:
    """A start date after its end date was assigned the wrong way round: swap them."""
    dates = [f for f in specs if f.kind in ("date", "datetime") and f.name in filled.arguments]
    starts = [f for f in dates if _name_words(f) & _LEX.date_field_words["start"]]
    ends = [f for f in dates if _name_words(f) & _LEX.date_field_words["end"]]
    if len(ends) == 1 and not starts and len(dates) == 2:
        starts = [f for f in dates if f is not ends[0]]
    if len(starts) == 1 and len(ends) == 1:
        a, b = starts[0].name, ends[0].name
        if filled.arguments[a] > filled.arguments[b]:
            filled.arguments[a], filled.arguments[b] = filled.arguments[b], filled.arguments[a]
            if a in filled.spans and b in filled.spans:
                filled.spans[a], filled.spans[b] = filled.spans[b], filled.spans[a]


_FIRST: frozenset[str] = _LEX.first_name_fields
_LAST: frozenset[str] = _LEX.last_name_fields


def _split_full_name(specs: Sequence[FieldSpec], filled: Filled) -> None:
    """"Ivo Brandt" in ``first_name`` with ``last_name`` empty (or in ``last_name`` with
    ``first_name`` empty): split it."""
    names = sorted(f.name for f in specs)
    first = next((n for n in names if n.lower() in _FIRST), None)
    last = next((n for n in names if n.lower() in _LAST), None)
    if not first or not last:
        return
    if first not in filled.arguments and isinstance(filled.arguments.get(last), str) \
            and len(str(filled.arguments[last]).split()) >= 2:
        filled.arguments[first] = filled.arguments.pop(last)  # the whole name, split below
        if last in filled.spans:
            filled.spans[first] = filled.spans.pop(last)
    if last in filled.arguments:
        return
    value = filled.arguments.get(first)
    if not isinstance(value, str):
        return
    if "," in value:  # "Brandt, Ivo"
        family, _, given = value.partition(",")
        parts = [given.strip(), family.strip()]
    else:
        tokens = value.split()
        if len(tokens) < 2:
            return
        parts = [" ".join(tokens[:-1]), tokens[-1]]
    span = filled.spans.get(first)
    filled.arguments[first], filled.arguments[last] = parts
    if span is not None:
        cut = span.text.find(parts[1]) if "," not in value else 0
        if cut > 0:
            filled.spans[first] = Span(start=span.start, end=span.start + cut - 1,
                                       text=span.text[:cut - 1])
            filled.spans[last] = Span(start=span.start + cut, end=span.end,
                                      text=span.text[cut:])
        else:
            filled.spans[last] = span


def _ordered(specs: list[FieldSpec]) -> list[FieldSpec]:
    """Typed, specific fields first; free text last, so it takes only what is left."""
    rank = {"email": 0, "phone": 0, "enum": 1, "entity": 1, "date": 2, "datetime": 2, "time": 2,
            "duration": 2, "integer": 3, "number": 3, "boolean": 3, "ref": 4, "identifier": 4,
            "person": 5,
            "location": 5.5, "title": 6, "text": 7}
    return sorted(specs, key=lambda f: rank.get(f.kind, 8))


def _name_words(spec: FieldSpec) -> set[str]:
    """The words of a field's name, with two-word compounds joined ("check_in" → "checkin")."""
    parts = [p for p in spec.name.lower().split("_") if p]
    return set(parts) | {a + b for a, b in zip(parts, parts[1:], strict=False)}


def _destination_date(cues: dict[str, frozenset[str]]) -> None:
    """A tool with one start date ("from_date") and one other plain date ("date", "the new
    day") moves something from one to the other: the other date takes the end cues ("to
    Friday")."""
    starts = [n for n, c in cues.items() if c & _START_CUES and not c & _BIRTH_CUES]
    ends = [n for n, c in cues.items() if c & _END_CUES]
    others = [n for n, c in cues.items() if n not in starts and not c & _BIRTH_CUES]
    if len(starts) == 1 and not ends and len(others) == 1:
        cues[others[0]] = cues[others[0]] | _END_CUES


def _date_cues(spec: FieldSpec) -> frozenset[str]:
    words = set(spec.words) | _name_words(spec)
    name = _name_words(spec)
    if "to" in name:
        words.add("end")  # to_date: the end of a range
    if "from" in name:
        words.add("start")
    if words & _LEX.date_field_words["birth"]:
        words |= _BIRTH_CUES
    if name & _LEX.date_field_words["start"] or words & {"start", "begin", "departure",
                                                          "arrival"}:
        words |= _START_CUES
    if name & _LEX.date_field_words["end"] or words & {"end", "until", "deadline", "return"}:
        words |= _END_CUES
    return frozenset(words)


def _stems(words: Sequence[str]) -> set[str]:
    """Words with their English inflections stripped too ("returns", "returned" → "return")."""
    out = set(words)
    for w in words:
        for suffix in ("ing", "ed", "es", "s", "d"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                out.add(w[:-len(suffix)])
    return out


def _best_by_cue(candidates: list[Candidate], cues: frozenset[str],
                 foreign: frozenset[str] = frozenset()) -> Candidate | None:
    """The candidate whose preceding words match ``cues`` best; one cued for another field
    (``foreign``: "from Thursday" when this is the new date) comes last."""
    if not candidates:
        return None

    def score(c: Candidate) -> float:
        words = c.cue.split()
        nearest, cue_words = _stems(words[-1:]), _stems(words)
        own = 1.0 if cue_words & cues else 0.0
        return c.score + own + 0.1 * bool(nearest & cues) \
            - (0.5 if not nearest & cues and nearest & foreign else 0.0)

    best = max(candidates, key=score)
    # Dates cued for another purpose ("born 2 March") never fill an unrelated date field.
    if not set(best.cue.split()) & cues and set(best.cue.split()) & _BIRTH_CUES:
        others = [c for c in candidates if not set(c.cue.split()) & _BIRTH_CUES]
        return others[0] if others else None
    return best


def _variants(phrase: str) -> set[str]:
    """Spellings of a value or phrase: case, underscores and hyphens as spaces or joined, and
    the plural."""
    text = " ".join(str(phrase).lower().split())
    spaced = re.sub(r"[_-]+", " ", text)
    out = {text, spaced, spaced.replace(" ", "-"), spaced.replace(" ", "")}
    if spaced and not spaced.endswith("s") and spaced[-1].isalpha():
        out |= {spaced + "s", spaced + "es" if spaced.endswith(("ch", "sh", "x")) else
                spaced + "s"}
    return {o for o in out if o}


def _enum_phrases(spec: FieldSpec, value: Any) -> list[str]:
    """Regex phrases that mean ``value``: its spellings, its words in any order (a value
    ``red_large`` is also "large red"), a number as a word ("2" ← "two"),
    the specialist for the specialty (generic English morphology: "dermatology" ←
    "dermatologist", "pediatrics" ← "pediatrician"), and the schema's own ``x-synonyms``.
    Only a value the schema offers is ever chosen, so a phrase cannot invent an option."""
    text = str(value).lower()
    options = _variants(text)
    for phrase in spec.synonyms.get(value, ()):
        options |= _variants(phrase)
    words = re.split(r"[\s_-]+", text)
    if 1 < len(words) <= 3:
        options |= {" ".join(p) for p in _permutations(words)}
    if text.isdigit():
        options |= {w for w, n in _NUMBER_WORDS.items() if n == int(text) and " " not in w}
    if text.endswith("ology"):
        options.update({text[:-1] + "ist", text[:-1] + "ists", text[:-1] + "ical"})
    elif text.endswith("ics"):
        options.update({text[:-1] + "ian", text[:-1] + "ians", text[:-1]})
    patterns = []
    for option in sorted(options, key=lambda o: (-len(o), o)):
        escaped = re.escape(option).replace(r"\ ", r"[\s_-]+")
        patterns.append(escaped)
    return patterns


def _permutations(words: list[str]) -> list[tuple[str, ...]]:
    from itertools import permutations

    return sorted(set(permutations(words)))


def _negated(lowered: str, start: int) -> bool:
    """Whether a negation word stands right before ``start`` ("no", "not", "without")."""
    before = lowered[max(0, start - 12):start]
    return bool(re.search(rf"(?<!\w)(?:{_alternation(_LEX.negation_words)})\s+(?:\w+\s+)?$",
                          before)) and not re.search(r"\b(?:not only|no matter)\s", before)


def _datetimes(text: str, today: date, locale: str) -> list[Candidate]:
    dates = find_dates(text, today, locale=locale)
    times = find_times(text)
    out: list[Candidate] = []
    for d in dates:
        t = min(times, key=lambda t: abs(t.start - d.end)) if times else None
        if t is None:
            continue
        start, end = min(d.start, t.start), max(d.end, t.end)
        out.append(Candidate(datetime.combine(d.value, t.value), start, end, text[start:end],
                             d.cue))
    if not dates and times:
        t = times[0]
        out.append(Candidate(datetime.combine(today, t.value), t.start, t.end, t.text,
                             _cue(text, t.start)))
    return out


_UNIT_GROUPS: tuple[frozenset[str], ...] = tuple(_LEX.units[k] for k in sorted(_LEX.units))
_ALL_UNITS = frozenset().union(*_UNIT_GROUPS)


def _number_for(spec: FieldSpec, candidates: list[Candidate],
                numeric_fields: int) -> Candidate | None:
    """The number that belongs to this field, judged by the words around it.

    A number next to a unit that belongs to another field ("250 bucks" for a ticket count) is
    never taken; with several numeric fields, a number must be next to one of this field's words.
    """
    field_words = set(spec.words)
    for group in _UNIT_GROUPS:
        if field_words & group:
            field_words |= group
    best: tuple[int, Candidate] | None = None
    for candidate in candidates:
        context = set(re.findall(r"[a-z$€£]+", candidate.cue.lower()))
        score = len(context & field_words)
        spelled = not candidate.text[:1].isdigit()
        if score == 0 and (context & _ALL_UNITS or numeric_fields > 1
                           or (spelled and "for" not in context)):
            continue
        if best is None or score > best[0]:
            best = (score, candidate)
    return best[1] if best else None


def _duration_unit(spec: FieldSpec) -> int | None:
    """Seconds per unit for numeric fields that hold a duration ("duration_minutes")."""
    if not spec.words & _LEX.duration_field_words and "minutes" not in spec.name \
            and "hours" not in spec.name:
        return None
    if spec.words & _LEX.advance_words:
        return None
    if "hour" in spec.name or "hours" in spec.words:
        return 3600
    return 60


def _number_value(raw: str) -> float | int | None:
    """"1,500" → 1500, "2.5" → 2.5, "one hundred and fifty" → 150, "twenty five" → 25."""
    if raw[0].isdigit():
        raw = raw.replace(",", "")
        return float(raw) if "." in raw else int(raw)
    total, current = 0, 0
    for word in re.split(r"[\s-]+", raw):
        if word == "and":
            continue
        value = _NUMBER_WORDS.get(word)
        if value is None:
            return None
        if value == 100:
            current = max(current, 1) * 100
        elif value == 1000:
            total += max(current, 1) * 1000
            current = 0
        else:
            current += value
    return total + current


_LABEL_BEFORE = re.compile(rf"\b(?:{_alternation(_LEX.number_labels)})\.?\s*#?\s*$", re.I)


_NUMBER_IDIOM = re.compile(rf"(?<!\w)(?:{_alternation(_LEX.number_idioms)})(?!\w)")


def _numbers(text: str, pools: _Pools) -> list[Candidate]:
    taken = [(c.start, c.end) for key in ("date", "time") for c in pools.of(
        FieldSpec(name=key, kind=key, required=False))]
    out = []
    for m in _NUMBER_RE.finditer(text):
        if any(_overlaps((m.start(), m.end()), t) for t in taken):
            continue
        raw = m.group(1).lower()
        value: float | int | None = _number_value(raw)
        if value is None:
            continue
        if _NUMBER_IDIOM.search(text[max(0, m.start() - 6):m.end() + 8].lower()) and \
                not raw[0].isdigit():
            continue  # "one way", "that one": not a quantity
        if _LABEL_BEFORE.search(text[max(0, m.start() - 12):m.start()]):
            continue  # "unit 3", "room 204", "chapter two": a name, not a quantity
        after = re.split(r"[,;.!?]", text[m.end():m.end() + 24].lower())[0]
        before = text[max(0, m.start() - 1):m.start()]
        out.append(Candidate(value, m.start(), m.end(), m.group(1),
                             _cue(text, m.start()) + " " + before + " "
                             + " ".join(after.split()[:2])))
    return out


def _phones(text: str, locale: str) -> list[Candidate]:
    import phonenumbers

    region = locale.replace("_", "-").split("-")[-1].upper() if "-" in locale else "US"
    out = []
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    for match in matcher:
        out.append(Candidate(match.raw_string, match.start, match.end, match.raw_string,
                             _cue(text, match.start)))
    if not out:
        # Local numbers ("555-0134", "555 0101") that are not valid international numbers.
        for m in _LOCAL_PHONE_RE.finditer(text):
            out.append(Candidate(m.group(0), m.start(), m.end(), m.group(0),
                                 _cue(text, m.start()), score=0.8))
    return out


def _quoted(text: str, *, score: float = 1.5) -> list[Candidate]:
    out = []
    for m in _QUOTED_RE.finditer(text):
        group = next(i for i in (1, 2, 3) if m.group(i) is not None)
        out.append(Candidate(m.group(group), m.start(group), m.end(group), m.group(group),
                             _cue(text, m.start()), score=score))
    return out


_TOKEN_RE = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)


def _writes_capitals(text: str) -> bool:
    """Whether the writer capitalises: a capital letter starts a word that neither starts a
    sentence nor is "I". Such a writer's lower-case words are not names."""
    for m in re.finditer(r"(?<![\w'’])[A-Z]", text):
        if re.search(r"(?:^|[.!?]\s*|[\"“(]\s*)$", text[:m.start()]):
            continue
        if re.match(r"I(?:['’]\w+)?\b", text[m.start():]):
            continue
        return True
    return False


def _ends_sentence(token: str) -> bool:
    """A token whose full stop ends a sentence ("Dublin."), not an abbreviation ("St.")."""
    return token.endswith(".") and not _ABBREVIATION.fullmatch(token) \
        and token.lower().rstrip(".") not in _KNOWN_ABBREVIATIONS


def _is_name_token(token: str, titles: frozenset[str] = frozenset()) -> bool:
    bare = token.strip(".'’-")
    lowered = bare.lower()
    return (len(bare) >= 2 and bare[0].isupper() and lowered not in _NOT_NAMES
            and lowered not in _MONTH_OR_DAY and lowered not in _HONORIFICS
            and lowered not in titles and not bare.isupper()
            and re.sub(r"['’](?:s|d|ll|ve|re|m)$", "", lowered) not in _NOT_NAMES)


def _is_title(token: str, titles: frozenset[str]) -> bool:
    """A title before a name: an honorific ("Mrs"), a title the schema names (``x-titles``),
    or any short capitalised abbreviation with a full stop ("Prof.", "Rev.")."""
    bare = token.lower().rstrip(".")
    return bare in _HONORIFICS or bare in titles or bool(
        re.fullmatch(r"[A-Z][a-z]{0,3}\.", token) and bare not in _MONTH_OR_DAY)


def _names(text: str, *, titled: bool = False, runs_only: bool = False,
           titles: frozenset[str] = frozenset()) -> list[Candidate]:
    """Capitalised word runs ("Ivo Brandt", "José Álvarez-Núñez"); with ``titled``, only names
    after a title ("Prof. Lee" when the schema names "Prof"), the title included; with
    ``runs_only``, capitalised runs of any length anywhere (names of things: "Blue Finch").
    A sentence's full stop ends a name."""
    tokens = list(_TOKEN_RE.finditer(text))
    out: list[Candidate] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        word = token.group(0)
        is_title = word.lower().rstrip(".") in titles if titled else _is_title(word, titles)
        if titled and is_title and i + 1 < len(tokens) \
                and _is_name_token(tokens[i + 1].group(0), titles):
            j = i + 1
            while j + 1 < len(tokens) and not _ends_sentence(tokens[j].group(0)) \
                    and _is_name_token(tokens[j + 1].group(0), titles) \
                    and tokens[j + 1].start() - tokens[j].end() <= 1:
                j += 1
            end = tokens[j].end() - (1 if _ends_sentence(tokens[j].group(0)) else 0)
            out.append(Candidate(text[token.start():end], token.start(), end,
                                 text[token.start():end], _cue(text, token.start())))
            i = j + 1
            continue
        if not titled and _is_name_token(word, titles) and not (
                i > 0 and _is_title(tokens[i - 1].group(0), titles)
                and not _ends_sentence(tokens[i - 1].group(0))):
            j = i
            while j + 1 < len(tokens) and not _ends_sentence(tokens[j].group(0)) \
                    and _is_name_token(tokens[j + 1].group(0), titles) \
                    and tokens[j + 1].start() - tokens[j].end() <= 1 and j - i < 3:
                j += 1
            end = tokens[j].end()
            value = re.sub(r"['’]s$", "", text[token.start():end]).rstrip(".'’")
            score = 1.0 + 0.2 * (j - i)  # full names beat single words
            sentence_start = i == 0 or bool(re.search(r"[.!?]\s*$", text[:token.start()]))
            if j > i or not sentence_start or runs_only:
                # A lone capitalised first word of a sentence is rarely a name.
                out.append(Candidate(value, token.start(), token.start() + len(value), value,
                                     _cue(text, token.start()), score))
            i = j + 1
            continue
        i += 1
    return out


_PLACE_WORD = r"[a-zà-ÿ][a-zà-ÿ.'’-]+"
_LOWER_PLACE_RE = re.compile(rf"\b({_alternation(_LEX.location_prepositions - {'to'})})\s+"
                             rf"({_PLACE_WORD}(?:\s+{_PLACE_WORD}){{0,2}})")
_NOT_PLACES: frozenset[str] = (_NOT_NAMES | _MONTH_OR_DAY | _LEX.not_places
                               | frozenset(_NUMBER_WORDS) | frozenset(_LEX.parts_of_day))
_STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][\w'’-]*\s+){1,3}"
    rf"(?:{_alternation(_LEX.street_types)})\b"
    r"\.?(?:,\s*(?:[A-Z][\w'’-]*)(?:\s+[A-Z][\w'’-]*)?)?")
_ROUTE_WORDS: frozenset[str] = _LEX.route_words
_ROUTE_STOP: frozenset[str] = _MONTH_OR_DAY | _LEX.route_stops


def _place(name: str) -> str:
    return rf"(?P<{name}>[A-Za-z][a-z.'’-]+(?:\s+[A-Za-z][a-z.'’-]+)?)"


_ROUTE_RE = re.compile(
    r"(?:[,:;]\s*|\b(?:way|trip|flights?|fly|flying|oneway|roundtrip|round-trip|tickets?|"
    r"seats?|train|bus|drive|driving)\s+)(?:from\s+)?" + _place("o")
    + r"\s*(?:\bto\b|->|→|–)\s*" + _place("d")
    + r"|\bleaving\s+(?:from\s+)?" + _place("o2") + r"\s+for\s+" + _place("d2"), re.I)
"""Two places as a route: "denver to el paso", "denver -> el paso", "leaving Reno
for Boise" (the first is the origin, the second the destination)."""


def _place_words(raw: str | None, stops: frozenset[str] = frozenset()) -> str:
    """The words of ``raw`` that can be a place name: trip words in front ("oneway denver")
    are skipped, and the name ends before a date, a function word, one of the tool's own
    words (``stops``) or the end of a sentence."""
    words: list[str] = []
    for word in (raw or "").split():
        lowered = word.lower().strip(".,")
        if not words and lowered in _ROUTE_WORDS:
            continue
        if lowered in _ROUTE_STOP or lowered in stops:
            break
        words.append(word)
        if _ends_sentence(word) or word.endswith(","):
            break
    return " ".join(words).strip(" .,")


def _locations(text: str, stops: frozenset[str] = frozenset()) -> list[Candidate]:
    """Street addresses ("44 Kestrel Way, Riverside"), then places after a preposition:
    "in Santa Rosa", "from Seattle", "to el paso".

    The preposition is kept in the cue: "from" marks an origin, "to" a destination. A place
    name ends at a sentence's full stop, before a date or a word of the tool itself."""
    out = [Candidate(m.group(0), m.start(), m.end(), m.group(0),
                     f"{_cue(text, m.start())} address", score=1.5)
           for m in _STREET.finditer(text)]
    for m in _LOCATION_RE.finditer(text):
        if any(_overlaps((m.start(1), m.end(1)), (c.start, c.end)) for c in out):
            continue
        words: list[str] = []
        for word in m.group(1).split():
            bare = word.lower().strip(".,")
            if bare in _MONTH_OR_DAY or (bare in _NOT_NAMES and words) or bare in stops \
                    and words:
                break
            words.append(word)
            if _ends_sentence(word) or word.endswith(","):
                break
        value = " ".join(words).strip(" .,")
        if not value or value.lower() in _NOT_PLACES:
            continue
        prep = text[m.start():m.start(1)].strip().lower()
        out.append(Candidate(value, m.start(1), m.start(1) + len(value), value,
                             f"{_cue(text, m.start(1))} {prep}"))
    for m in _ROUTE_RE.finditer(text):
        ends = [_place_words(m.group(a) or m.group(b), stops) for a, b in (("o", "o2"),
                                                                           ("d", "d2"))]
        if not all(ends) or any(w.lower() in _LEX.not_places for e in ends for w in e.split()):
            continue  # "move Ana to Friday" is not a route
        if _writes_capitals(text) and not all(e[0].isupper() for e in ends):
            continue
        for group, prep in ((("o", "o2"), "from"), (("d", "d2"), "to")):
            name = group[0] if m.group(group[0]) else group[1]
            value = _place_words(m.group(name), stops)
            start = m.start(name) + (m.group(name) or "").find(value) if value else 0
            if not value or any(_overlaps((start, start + len(value)), (c.start, c.end))
                                for c in out):
                continue
            shown = value if any(ch.isupper() for ch in value) else value.title()
            out.append(Candidate(shown, start, start + len(value), value,
                                 f"{_cue(text, start)} {prep}", score=0.9))
    for m in _LOWER_PLACE_RE.finditer(text) if not _writes_capitals(text) else ():
        words = []
        for word in m.group(2).split():
            bare = word.lower().strip(".,")
            if bare in _NOT_PLACES or bare in stops:
                break
            words.append(word)
            if _ends_sentence(word) or word.endswith(","):
                break
        if not words or any(_overlaps((m.start(2), m.end(2)), (c.start, c.end)) for c in out):
            continue
        value = " ".join(words).strip(" .,")
        out.append(Candidate(value.title(), m.start(2), m.start(2) + len(value), value,
                             f"{_cue(text, m.start(2))} {m.group(1).lower()}", score=0.7))
    return sorted(out, key=lambda c: c.start)


_ORIGIN_WORDS: frozenset[str] = _LEX.origin_words
_DESTINATION_WORDS: frozenset[str] = _LEX.destination_words


def _location_for(spec: FieldSpec, candidates: list[Candidate]) -> Candidate | None:
    """Origin fields take places after "from", destination fields places after "to"."""
    if not candidates:
        return None
    words = _name_words(spec)
    wants = "from" if words & _ORIGIN_WORDS else "to" if words & _DESTINATION_WORDS else None
    if wants is None:
        return _best_by_cue(candidates, spec.words)
    matching = [c for c in candidates if c.cue.split()[-1:] == [wants]]
    if matching:
        return matching[0]
    neutral = [c for c in candidates if c.cue.split()[-1:] not in (["from"], ["to"])]
    return neutral[0] if neutral else None


_STOP_AFTER_NAME: frozenset[str] = _LEX.after_name_stops


def _lower_names(text: str, stops: frozenset[str] = frozenset()) -> list[Candidate]:
    """Names typed in lower case ("book ivo brandt"): two or three words after a cue word,
    ending before a function word or one of the tool's own words (``stops``)."""
    out: list[Candidate] = []
    if _writes_capitals(text):
        return out  # a writer who capitalises names would have capitalised this one
    for m in _LOWER_NAME_CUE.finditer(text):
        words = m.group(1).split()
        keep: list[str] = []
        for word in words:
            bare = word.lower().strip("'’.,")
            if bare in _NOT_NAMES or bare in _MONTH_OR_DAY or bare in _HONORIFICS or \
                    bare in _STOP_AFTER_NAME or bare in stops or \
                    re.sub(r"s$", "", bare) in stops:
                break
            keep.append(word)
            if _ends_sentence(word) or word.endswith(","):
                break
        if len(keep) < 2 or keep[0][0].isupper():
            continue
        value = re.sub(r"['’]s$", "", " ".join(keep)).strip(" .,")
        start = m.start(1)
        out.append(Candidate(value, start, start + len(value), value, _cue(text, start),
                             score=0.7))
    return out


def _vocabulary(tool: Tool) -> frozenset[str]:
    """The tool's own words: its name, description and argument names."""
    text = " ".join([tool.name, tool.description] + [f.name for f in field_specs(tool)])
    return frozenset(w for w in re.findall(r"[a-z]+", text.replace("_", " ").lower())
                     if len(w) > 3) - _NOT_NAMES


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _self_reference(spec: FieldSpec, text: str) -> Candidate | None:
    """"me", "myself", "my" for a field whose description allows it ("or 'me' for yourself")."""
    described = spec.description.lower()
    if "'me'" not in described and "yourself" not in described:
        return None
    if re.search(r"\b(empty|blank|leave it out|omit)\b[^.]*\byourself\b", described):
        return None  # "empty for yourself": the default already means the speaker
    m = _SELF_RE.search(text)
    if m is None:
        return None
    return Candidate(m.group(1), m.start(), m.end(), m.group(1), _cue(text, m.start()),
                     score=0.3)


_WHOLE_REQUEST_WORDS: frozenset[str] = _LEX.whole_request_fields
_WHOLE_FIELD_NAMES: frozenset[str] = _LEX.whole_field_names
"""A field with one of these names takes the request itself (unless part of it is quoted)."""
_LONG_TEXT_WORDS: frozenset[str] = _LEX.long_text_words
_LONG_TEXT_PHRASES: frozenset[str] = _LEX.long_text_phrases
_TOPIC_WORDS: frozenset[str] = _LEX.topic_words
_TOPIC_RE = re.compile(
    r"\b(?:on|about|for|of|regarding|covering|before)\s+(?:the\s+)?"
    r"([a-zA-Z][\w'’ -]*?)(?=\s*(?:[,.;:?!]|\d+\s+(?:\w+\s+)?(?:questions?|sessions?|"
    r"minutes?|mins?|hours?|items?|problems?|cards?)\b|\b(?:with|please|on|by|before|at|in|"
    r"next|this|due|until|tomorrow|today|it'?s)\b|$))", re.I)
_NOT_TOPICS: frozenset[str] = _LEX.not_topics


def _text_pool(spec: FieldSpec) -> str:
    """Which extractor serves a free-text field, judged by its name first, then by the words
    of its description (a field described as "the full text of ..." takes a pasted text; a
    "prompt" is a short free text)."""
    name = spec.name.lower()
    if name in _WHOLE_FIELD_NAMES:
        return "text:whole"
    if set(name.split("_")) & _REASON_WORDS:
        return "text:reason"
    if any(p in spec.description.lower() for p in _LONG_TEXT_PHRASES):
        return "text:long"
    for words in (frozenset(name.split("_")), spec.words):
        if words & _LONG_TEXT_WORDS:
            return "text:long"
        if words & _TOPIC_WORDS:
            return "text:topic"
        if words & _FREE_TEXT_WORDS:
            return "text:free"
    return "text:name"


_REASON_WORDS: frozenset[str] = _LEX.reason_words
_POLITE: frozenset[str] = _LEX.politeness


def _trailing_clause(text: str) -> list[Candidate]:
    """The closing clause after a comma, dash or colon, or after a last "for": the usual
    place of a reason. Politeness alone ("…, please") is not one."""
    m = re.search(r"(?:,|\s[-–—:]|:|\bfor)\s+([^,:;–—]{2,80}?)[.!?]*\s*$", text)
    if m is None or set(re.findall(r"[a-z]+", m.group(1).lower())) <= _POLITE:
        return []
    value = m.group(1).strip()
    return [Candidate(value, m.start(1), m.start(1) + len(value), value,
                      _cue(text, m.start(1)), score=0.4)]


_MIN_PASTED_WORDS = 8
_MAX_INTRO_WORDS = 25


def pasted_text(text: str) -> tuple[int, int] | None:
    """Where a pasted text (a draft, a document) lies in a message after its one-sentence
    request, as character offsets; ``None`` when the message is all request."""
    found = _long_tail(text)
    return (found[0].start, found[0].end) if found else None


def takes_long_text(spec: FieldSpec) -> bool:
    """Whether the field takes a whole pasted text rather than a phrase."""
    return spec.kind == "text" and _text_pool(spec) == "text:long"


def _long_tail(text: str, vocabulary: frozenset[str] = frozenset()) -> list[Candidate]:
    """A pasted text after its introduction.

    The cut is, in order of trust: after the last ':', '?' or closing quote; else after the
    first sentence, when that sentence reads as a request (it has a request word of the
    lexicon or one of the tool's own words); else where a capitalised word follows a
    lower-case one after such a request. The text after the cut must be at least eight words
    long.
    """
    def candidate(cut: int, score: float) -> list[Candidate]:
        tail = text[cut:].strip()
        start = text.index(tail, cut) if tail else cut
        return [Candidate(tail, start, start + len(tail), tail, _cue(text, start),
                          score=score)]

    intro = re.compile(rf"\b(?:{_alternation(_LEX.request_words | vocabulary)})", re.I)
    cuts = [m.end() for m in re.finditer(r"[:?]\s|[\"”']\s", text)]
    for cut in reversed(cuts):
        if len(text[cut:].split()) >= _MIN_PASTED_WORDS:
            return candidate(cut, 2.0)
    starts = [m for pattern in (r"[.!]\s+(?=[A-Z\"“])",
                                r"(?<=[a-z,])\s+(?=(?!I\b|I['’])[A-Z][a-z])")
              for m in re.finditer(pattern, text)]
    for m in sorted(starts, key=lambda m: m.start()):
        head = text[:m.start()]
        if len(head.split()) > _MAX_INTRO_WORDS:
            break
        if intro.search(head) and len(text[m.end():].split()) >= _MIN_PASTED_WORDS:
            return candidate(m.end(), 2.0)
    return []


def _topics(text: str) -> list[Candidate]:
    """"notes about river deltas" → "river deltas"."""
    out = []
    for m in _TOPIC_RE.finditer(text):
        value = re.sub(r"^(?:(?:my|our|your|his|her|their|the|a|an|this|that)\s+)+", "",
                       m.group(1).strip(" -"), flags=re.I)
        if value and value.split()[0].lower() not in _NOT_NAMES \
                and value.lower() not in _NOT_TOPICS:
            start = m.start(1) + m.group(1).find(value)
            out.append(Candidate(value, start, start + len(value), value,
                                 _cue(text, m.start(1)), score=1.2))
    return out


_FREE_TEXT_WORDS: frozenset[str] = _LEX.free_text_words
_TITLE_RUN = re.compile(
    rf"(?:\b(?:{_alternation(_LEX.title_articles)})\s+)?"
    r"(?:[A-Z][\w'’.-]*)(?:\s+(?:" + _alternation(_LEX.title_connectors)
    + r")\s+[A-Z][\w'’.-]*|\s+[A-Z0-9][\w'’.-]*)*")
_TITLE_CUES: frozenset[str] = _LEX.title_cues


def _titles(text: str, field_words: frozenset[str] = frozenset()) -> list[Candidate]:
    """Names of things: "The Brass Lamp", "Salt & Pepper", "Uncle Bo's". A name cued by one of the
    field's own words ("the movie Up" for ``movie_name``) or a naming word scores higher; a
    sentence's full stop ends a name."""
    out = []
    for m in _TITLE_RUN.finditer(text):
        value = _first_sentence(m.group(0)).strip(" .,")
        words = value.split()
        first = words[0].lower().strip(".,'’") if words else ""
        sentence_start = m.start() == 0 or bool(re.search(r"[.!?]\s*$", text[:m.start()]))
        if not words or (len(words) == 1 and (first in _NOT_NAMES or first in _MONTH_OR_DAY
                                                 or sentence_start or value.isdigit())):
            continue
        if first in _MONTH_OR_DAY or (first in _NOT_NAMES and first != "the") or \
                re.sub(r"['’](?:s|d|ll|ve|re|m)$", "", first) in _NOT_NAMES and first != "the":
            continue
        if re.fullmatch(r"[\d:.\s]+(am|pm)?", value, re.I):
            continue
        if len(words) == 1 and value.isupper() and len(value) <= 3:
            continue  # an abbreviation ("NYC", "GA"), not the name of a thing
        cue = _cue(text, m.start())
        cued = set(cue.split()[-1:]) & (_TITLE_CUES | field_words)
        score = 1.0 + 0.3 * bool(cued) + 0.1 * (len(words) > 1)
        out.append(Candidate(value, m.start(), m.start() + len(value), value, cue, score))
    return out


def _next_to_field_words(c: Candidate, spec: FieldSpec, text: str) -> bool:
    """Whether a word of the field stands just before or after the candidate ("Thai food"
    for a field described as the kind of food)."""
    after = re.findall(r"[a-z]+", text[c.end:c.end + 20].lower())[:1]
    before = c.cue.split()[-1:]
    return bool(_stems(after + before) & (spec.words | _name_words(spec)))


def _first_sentence(run: str) -> str:
    """A run of words up to the end of its first sentence ("Lao Che. I think" → "Lao Che")."""
    out = []
    for token in run.split(" "):
        out.append(token)
        if re.search(r"[!?]$", token) or _ends_sentence(token):
            break
    return " ".join(out)


def _text_spans(text: str) -> list[Candidate]:
    m = _TEXT_CUES.search(text)
    if not m:
        return []
    value = m.group(1).strip(" .!?\"'")
    if not value:
        return []
    start = m.start(1)
    return [Candidate(value, start, start + len(value), value, _cue(text, start), score=0.8)]


def _first_plain_part(text: str, used: list[tuple[int, int]]) -> Candidate | None:
    """The first comma-separated part of an answer that is not already a date or time."""
    start = 0
    for part in re.split(r"(,)", text) + [""]:
        if part == ",":
            start += 1
            continue
        stripped = part.strip(" .!?")
        offset = start + part.find(stripped) if stripped else start
        span = (offset, offset + len(stripped))
        start += len(part)
        if stripped and not any(_overlaps(span, u) for u in used):
            return Candidate(stripped, span[0], span[1], stripped)
    return None


_ANSWER_FILLERS: frozenset[str] = _LEX.answer_fillers
_ANSWER_BREAKERS: frozenset[str] = _LEX.answer_breakers


def _trim_answer(part: Candidate) -> Candidate | None:
    """A short answer without its frame: filler in front ("anything comic please" →
    "comic") and a clause after it ("pasta sounds good" → "pasta")."""
    words = list(re.finditer(r"[\w'’&-]+", part.text))
    first = 0
    while first < len(words) and words[first].group(0).lower() in _ANSWER_FILLERS:
        first += 1
    last = first
    while last < len(words) and (last == first or words[last].group(0).lower()
                                 not in _ANSWER_BREAKERS):
        last += 1
    if first >= len(words):
        return None
    start, end = words[first].start(), words[last - 1].end()
    value = part.text[start:end]
    return Candidate(value, part.start + start, part.start + end, value, part.cue, part.score)


def _looks_like_name(text: str) -> bool:
    words = text.split()
    first = words[0].lower().strip(",.!?") if words else ""
    return (0 < len(words) <= 5 and not any(ch.isdigit() for ch in text)
            and first not in _NOT_NAMES
            and re.sub(r"['’](?:s|d|ll|ve|re|m)$", "", first) not in _NOT_NAMES)


def _whole(text: str) -> Candidate | None:
    value = text.strip(" .!?")
    if not value:
        return None
    start = text.find(value)
    return Candidate(value, start, start + len(value), value, "", score=0.5)


_GENERIC_FLAG_WORDS: frozenset[str] = _LEX.generic_flag_words


def _flag_phrases(spec: FieldSpec) -> list[str]:
    """Regex phrases that mention a flag: the distinctive words of its name, together or
    alone, and the schema's ``x-synonyms``."""
    parts = [w for w in re.split(r"[_\W]+", spec.name.lower()) if w]
    distinctive = [w for w in parts if w not in _GENERIC_FLAG_WORDS and len(w) > 2]
    phrases = []
    if len(distinctive) > 1:
        phrases.append(r"[\s_-]?".join(map(re.escape, distinctive)))
    phrases.extend(re.escape(w) for w in sorted(distinctive, key=len, reverse=True)
                   if len(w) >= 5 or len(distinctive) == 1)
    synonyms = sorted(spec.synonyms.get(True, ()), key=lambda p: (-len(p), p))
    phrases[:0] = [re.escape(p.lower()).replace(r"\ ", r"[\s_-]+") for p in synonyms]
    return phrases


def _boolean(spec: FieldSpec, text: str,
             used: Sequence[tuple[int, int]] = ()) -> Candidate | None:
    """A flag is set when its words are mentioned ("nonstop", "all day"), unset when negated
    ("non smoking", "without ..."). Unmentioned flags stay empty (their default applies)."""
    for phrase in _flag_phrases(spec):
        for m in re.finditer(rf"(?<!\w)(non[\s-]?)?({phrase})\w*(?!\w)", text, re.I):
            if any(_overlaps((m.start(), m.end()), u) for u in used):
                continue
            if _asks_about(text, m.start()):
                return None  # "is it ...?": a question about a result, not a wish
            value = not (m.group(1) or _negated(text.lower(), m.start()))
            return Candidate(value, m.start(), m.end(), m.group(0))
    return None


_ASKS_ABOUT = re.compile(
    rf"^\W*(?:{_alternation(_LEX.question_auxiliaries)})\s+"
    rf"(?!(?:{_alternation(_LEX.requesting_subjects)})\b)\w", re.I)


def _asks_about(text: str, position: int) -> bool:
    """Whether ``position`` is inside a yes/no question about something already offered
    ("is it ...?", "are pets ...?"), which asks for information rather than states a wish;
    "do you have ...?" and "is there ...?" are requests and do not count."""
    start = max(text.rfind(mark, 0, position) for mark in ".!?") + 1
    return bool(_ASKS_ABOUT.match(text[start:position + 1]))


def _numeric_enum(spec: FieldSpec) -> bool:
    """An enum whose values are all whole numbers ("1", "2", "3")."""
    return spec.kind == "enum" and bool(spec.enum) and all(
        isinstance(v, int) and not isinstance(v, bool) or isinstance(v, str) and v.isdigit()
        for v in spec.enum)


def _boolean_like(values: Sequence[Any]) -> bool:
    """An enum of two values that mean yes and no ("True"/"False", "yes"/"no")."""
    lowered = {str(v).lower() for v in values}
    truthy, falsy = _LEX.boolean_values["true"], _LEX.boolean_values["false"]
    return len(values) == 2 and len(lowered & truthy) == 1 and len(lowered & falsy) == 1


def _flag_enum(spec: FieldSpec, text: str, used: list[tuple[int, int]]) -> Candidate | None:
    """A boolean-like enum read as a flag from the field's name words and synonyms."""
    found = _boolean(spec, text, used)
    if found is None:
        return None
    truthy = _LEX.boolean_values["true"]
    value = next(v for v in spec.enum if (str(v).lower() in truthy) == found.value)
    return replace(found, value=value)


def _as_declared(spec: FieldSpec, value: Any) -> Any:
    """The value written as the schema declares it: the kind says how a value was found, the
    declared type how it is written. A date found for a plain ``string`` field becomes
    "YYYY-MM-DD", a time "HH:MM", a number its digits; typed formats keep Python values."""
    typ = spec.type
    if typ == "string" and spec.format not in ("date", "date-time", "time", "duration"):
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat(timespec="minutes")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, time):
            return value.strftime("%H:%M")
        if isinstance(value, timedelta):
            return _iso_duration(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, int | float):
            return str(value)
    if typ == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if typ == "number" and isinstance(value, int) and not isinstance(value, bool):
        return value
    return value


def _iso_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    out = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return out + ("T" + clock if clock else "") if (days or clock) else "PT0M"
