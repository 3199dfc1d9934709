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
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from ..extensions import EntityMatch, SlotExtractor
from ..plan import Span
from ..tools import Tool
from .fields import FieldSpec, field_specs
from .temporal import MONTHS, cue, find_dates, find_durations, find_times, part_of_day

__all__ = ["Filled", "SlotFiller"]

_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                 "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
                 "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
                 "fifty": 50, "hundred": 100, "a couple": 2, "couple": 2, "a dozen": 12,
                 "dozen": 12, "single": 1, "solo": 1, "both": 2, "pair": 2, "sixty": 60,
                 "seventy": 70, "eighty": 80, "ninety": 90, "thousand": 1000}
_WORD_ALTERNATION = "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
_NUMBER_RE = re.compile(
    r"(?<![\w.:/-])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|"
    rf"(?:{_WORD_ALTERNATION})(?:(?:[\s-]+(?:and[\s-]+)?)(?:{_WORD_ALTERNATION}))*)"
    r"(?![\w:/-])", re.I)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"(?<!\w)(\+?\d[\d\s().-]{6,}\d)(?!\w)")
_LOCAL_PHONE_RE = re.compile(r"(?<![\w-])\(?\d{3}\)?[\s.-]?\d{3,4}(?:[\s.-]?\d{4})?(?![\w-])")
_QUOTED_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'(?!\w)")
_TITLES = {"dr", "doctor", "prof", "professor", "mr", "mrs", "ms", "miss", "mx", "nurse"}
_NOT_NAMES = {"i", "i'm", "im", "please", "can", "could", "would", "book", "cancel", "find",
              "show", "list", "check", "send", "register", "update", "schedule", "give", "what",
              "when", "where", "who", "how", "is", "are", "the", "a", "an", "my", "me", "we",
              "our", "hi", "hello", "hey", "thanks", "thank", "yes", "no", "ok", "okay", "and",
              "also", "then", "next", "this", "on", "at", "in", "for", "with", "to", "from",
              "new", "tomorrow", "today", "tonight", "need", "want", "let", "lets", "set",
              "make", "get", "tell", "reschedule", "move", "change", "add", "create", "help",
              "am", "pm", "noon", "midnight", "morning", "afternoon", "evening", "please,"}
_MONTH_OR_DAY = {"january", "february", "march", "april", "may", "june", "july", "august",
                 "september", "october", "november", "december", "jan", "feb", "mar", "apr",
                 "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "monday", "tuesday",
                 "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "wed",
                 "thu", "fri", "sat", "sun"}
_BIRTH_CUES = {"born", "birth", "dob", "birthday", "birthdate", "b"}
_START_CUES = {"from", "starting", "start", "since", "beginning", "arriving", "out", "going",
               "departing", "in", "leave", "leaving"}
_END_CUES = {"until", "till", "to", "through", "thru", "end", "ending", "before", "by", "due",
             "deadline", "returning", "return", "back", "checkout", "leaving"}
_YES = re.compile(r"\b(yes|yeah|yep|sure|with|include|including|please do)\b", re.I)
_NO = re.compile(r"\b(no|not|without|don't|dont|do not|never|exclude)\b", re.I)
_TEXT_CUES = re.compile(
    r"\b(?:because(?: of)?|since|reason(?: is)?|saying|that says|which says|says|about|regarding|"
    r"re|note|message|topic|subject|memo|for an?|for (?:his|her|their|my))\b[:\s]+(.+)$",
    re.I)
_PROFESSIONALS = {"practitioner", "doctor", "physician", "provider", "clinician", "teacher",
                  "professor", "tutor", "nurse", "therapist", "dentist"}
_IDENTIFIER_RE = re.compile(r"\b(?=[\w-]*\d)(?:[A-Za-z]{1,6}[-#/]?)?\d[\w-]{2,}\b")
_SELF_RE = re.compile(r"\b(me|myself|my)\b", re.I)
_LOWER_NAME_CUE = re.compile(
    r"\b(?:for|patient|named|called|name is|is|book|register|add|find|see|with|pull up|"
    r"look up|student)\s+([a-zà-ÿ][a-zà-ÿ'’-]+(?:\s+[a-zà-ÿ][a-zà-ÿ'’-]+){1,2})", re.I)
_LOCATION_RE = re.compile(r"\b(?:in|at|to|from|near|around|into)\s+((?:[A-Z][\w'’.-]*\s?){1,4})")


@dataclass
class Candidate:
    """A value an extractor proposes, with its span and the words before it."""

    value: Any
    start: int
    end: int
    text: str
    cue: str = ""
    score: float = 1.0


@dataclass
class Filled:
    """What the slot filler found for one tool."""

    arguments: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)
    """Fields whose extracted value failed validation, with the reason (asked again)."""

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

        ``prefer`` names a field the user was just asked about: a bare answer ("Ana Ruiz",
        "Wednesday") goes to it first.
        """
        specs = [f for f in field_specs(tool) if only is None or f.name in only]
        numeric = sum(1 for f in field_specs(tool) if f.kind in ("integer", "number"))
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
        for spec in _ordered(specs):
            candidate = self._extract(spec, pools, used, text, prefer == spec.name)
            if candidate is None:
                continue
            value = self._validate(tool, spec, candidate.value)
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
            return self._enum(spec, text, used)
        if spec.kind in ("date", "datetime"):
            if pools.has_birth_field and not (_date_cues(spec) & _BIRTH_CUES):
                # A date decades ago is somebody's birth date, not the day of the action.
                free = [c for c in free if getattr(c.value, "year", 9999) >= pools.today.year - 1]
            own = _date_cues(spec)
            foreign = frozenset().union(*(c for n, c in pools.date_cues.items()
                                          if n != spec.name)) - own
            # "until Christmas" belongs to the end date: never to the start date.
            free = [c for c in free if not set(c.cue.split()[-1:]) & foreign]
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
            return _boolean(spec, text)
        if spec.kind == "location":
            found = _location_for(spec, free)
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
            # The answer to "what is the essay?" is the whole message, less an introduction.
            return next(iter(_long_tail(text)), None) or _whole(text)
        if spec.kind in ("person", "entity", "title", "text", "identifier"):
            if free:
                return _best_by_cue(free, spec.words)
            if spec.kind in ("person", "entity"):
                me = _self_reference(spec, text)
                if me is not None and not any(_overlaps((me.start, me.end), u) for u in used):
                    return me
            if not asked:
                return None
            if spec.kind == "person" and not _looks_like_name(text):
                return None
            if spec.kind in ("title", "text") and _text_pool(spec) == "text:name":
                # A short answer with extras ("vietnamese, something cheap"): its first part
                # not already taken by another field.
                part = _first_plain_part(text, used)
                if part is not None:
                    return part
            return _whole(text)
        return free[0] if free else (_whole(text) if asked and spec.kind == "text" else None)

    def _enum(self, spec: FieldSpec, text: str, used: list[tuple[int, int]]) -> Candidate | None:
        lowered = text.lower()
        best: Candidate | None = None
        for value in spec.enum:
            for synonym in _enum_synonyms(value):
                for m in re.finditer(rf"(?<![\w]){re.escape(synonym)}(?![\w])", lowered):
                    if any(_overlaps((m.start(), m.end()), u) for u in used):
                        continue
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
            return self._entities(spec.entity or "")
        if key == "person":
            streets = [(m.start(), m.end()) for m in _STREET.finditer(text)]
            return [c for c in _quoted(text) + _names(text) + _lower_names(text)
                    if not any(_overlaps((c.start, c.end), s) for s in streets)]
        if key == "identifier":
            return _quoted(text) + [
                Candidate(m.group(0), m.start(), m.end(), m.group(0), _cue(text, m.start()))
                for m in _IDENTIFIER_RE.finditer(text)]
        if key == "title":
            return _quoted(text) + _titles(text)
        if key == "location":
            return _quoted(text, score=0.5) + _locations(text)
        if key == "text:long":
            return _long_tail(text) + _text_spans(text)
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
            Candidate(c.value, c.start, c.end, c.text, c.cue, score=0.6) for c in _titles(text)]

    def durations(self) -> list[Candidate]:
        return self.of(FieldSpec(name="duration", kind="duration", required=False))

    def _entities(self, entity_type: str) -> list[Candidate]:
        found: list[Candidate] = []
        for extractor in self.extractors:
            if extractor.entity_type != entity_type:
                continue
            try:
                matches: list[EntityMatch] = extractor.extract(self.text, self.context)
            except Exception:  # an extractor bug must not break planning
                continue
            found.extend(Candidate(m.value, m.span.start, m.span.end, m.span.text,
                                   _cue(self.text, m.span.start), m.score) for m in matches)
        if not found:
            return self._entity_fallback(entity_type)
        return sorted(found, key=lambda c: -c.score)

    def _entity_fallback(self, entity_type: str) -> list[Candidate]:
        """No extractor answered: titled names for professionals ("Dr. Lee"), plain names
        (and, where the field allows it, "me") for everyone else."""
        words = {entity_type.lower()}
        if words & _PROFESSIONALS:
            return _quoted(self.text) + _names(self.text, titled=True)
        return _quoted(self.text) + _names(self.text) + _lower_names(self.text)


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
    starts = [f for f in dates if set(f.name.split("_")) & {"start", "from", "in", "departure",
                                                            "begin", "checkin", "arrival"}]
    ends = [f for f in dates if set(f.name.split("_")) & {"end", "until", "out", "return",
                                                          "checkout", "to"}]
    if len(ends) == 1 and not starts and len(dates) == 2:
        starts = [f for f in dates if f is not ends[0]]
    if len(starts) == 1 and len(ends) == 1:
        a, b = starts[0].name, ends[0].name
        if filled.arguments[a] > filled.arguments[b]:
            filled.arguments[a], filled.arguments[b] = filled.arguments[b], filled.arguments[a]
            if a in filled.spans and b in filled.spans:
                filled.spans[a], filled.spans[b] = filled.spans[b], filled.spans[a]


_FIRST = {"first_name", "given_name", "firstname", "forename", "given"}
_LAST = {"last_name", "family_name", "lastname", "surname", "family"}


def _split_full_name(specs: Sequence[FieldSpec], filled: Filled) -> None:
    """"Jonas Pike" in ``first_name`` with ``last_name`` empty: split it."""
    names = {f.name for f in specs}
    first = next((n for n in names if n.lower() in _FIRST), None)
    last = next((n for n in names if n.lower() in _LAST), None)
    if not first or not last or last in filled.arguments:
        return
    value = filled.arguments.get(first)
    if not isinstance(value, str):
        return
    if "," in value:  # "Lopez, Maria"
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
            "location": 6, "title": 6, "text": 7}
    return sorted(specs, key=lambda f: rank.get(f.kind, 8))


def _date_cues(spec: FieldSpec) -> frozenset[str]:
    words = set(spec.words)
    name = set(spec.name.lower().split("_"))
    if "to" in name:
        words.add("end")  # to_date: the end of a range
    if "from" in name:
        words.add("start")
    if words & {"birth", "born", "dob", "birthdate", "birthday"}:
        words |= _BIRTH_CUES
    if words & {"start", "from", "begin", "arrival", "checkin", "departure"}:
        words |= _START_CUES
    if words & {"end", "until", "deadline", "due", "return", "checkout"}:
        words |= _END_CUES
    return frozenset(words)


def _best_by_cue(candidates: list[Candidate], cues: frozenset[str],
                 foreign: frozenset[str] = frozenset()) -> Candidate | None:
    """The candidate whose preceding words match ``cues`` best; one cued for another field
    (``foreign``: "from Thursday" when this is the new date) comes last."""
    if not candidates:
        return None

    def score(c: Candidate) -> float:
        words = c.cue.split()
        nearest, cue_words = set(words[-1:]), set(words)
        own = 1.0 if cue_words & cues else 0.0
        return c.score + own + 0.1 * bool(nearest & cues) \
            - (0.5 if not nearest & cues and nearest & foreign else 0.0)

    best = max(candidates, key=score)
    # Dates cued for another purpose ("born 2 March") never fill an unrelated date field.
    if not set(best.cue.split()) & cues and set(best.cue.split()) & _BIRTH_CUES:
        others = [c for c in candidates if not set(c.cue.split()) & _BIRTH_CUES]
        return others[0] if others else None
    return best


# Everyday words for common enum values, by value. Only a value the schema actually offers is
# ever chosen, so a synonym cannot invent an option.
_ENUM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "sms": ("text", "text message", "texting"),
    "phone": ("call", "phone call", "ring"),
    "email": ("e-mail", "mail"),
    "inexpensive": ("cheap", "budget", "affordable", "low cost", "not expensive"),
    "cheap": ("inexpensive", "budget", "affordable"),
    "moderate": ("mid-range", "midrange", "reasonably priced", "mid priced"),
    "expensive": ("pricey", "fancy", "upscale", "high end", "splurge"),
    "very_expensive": ("very pricey", "luxury", "fine dining"),
    "outdoor": ("outside", "patio", "terrace", "al fresco"),
    "indoor": ("inside", "indoors"),
    "private_room": ("private room", "private dining"),
    "multiple_choice": ("multiple choice", "mcq", "multiple-choice"),
    "short_answer": ("short answer", "short-answer", "written answers"),
    "stat": ("urgent", "emergency", "asap"),
    "urgent": ("stat", "asap", "soon as possible"),
    "routine": ("regular", "non-urgent", "normal"),
    "economy": ("coach", "cheapest seats"),
    "premium_economy": ("premium economy",),
    "business": ("business class",),
    "first": ("first class",),
    "checking": ("chequing", "current account"),
    "savings": ("saving", "savings account"),
    "celsius": ("centigrade", "metric", "°c"),
    "fahrenheit": ("imperial", "°f"),
    "animation": ("animated", "cartoon", "cartoons"),
    "comedy": ("comedies", "funny"),
    "horror": ("scary",),
    "documentary": ("documentaries",),
    "morning": ("am", "before noon", "early"),
    "afternoon": ("after lunch", "pm"),
    "evening": ("tonight", "after work", "night"),
}


def _enum_synonyms(value: Any) -> list[str]:
    text = str(value).lower()
    options = {text, text.replace("_", " "), text.replace("-", " ")}
    if not text.endswith("s"):
        options.add(text + "s")
    options.update(_ENUM_SYNONYMS.get(text, ()))
    # The specialist for the specialty: "dermatology" ← "dermatologist", "pediatrics" ←
    # "pediatrician".
    if text.endswith("ology"):
        options.update({text[:-1] + "ist", text[:-1] + "ists", text[:-1] + "ical"})
    elif text.endswith("ics"):
        options.update({text[:-1] + "ian", text[:-1] + "ians", text[:-1]})
    return sorted(options, key=len, reverse=True)


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


_UNIT_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"people", "person", "persons", "guests", "guest", "party", "pax", "seats", "of",
               "adults", "passengers", "passenger", "travelers", "travellers", "attendees",
               "riders", "size", "us", "me"}),
    frozenset({"tickets", "ticket", "seats", "passengers", "passenger"}),
    frozenset({"rooms", "room"}),
    frozenset({"stars", "star", "rating", "rated"}),
    frozenset({"minutes", "minute", "mins", "min", "hours", "hour", "hrs"}),
    frozenset({"dollars", "dollar", "bucks", "usd", "eur", "euros", "gbp", "pounds", "price",
               "budget", "max", "under", "amount", "cost", "$", "€", "£"}),
    frozenset({"nights", "night", "days", "day"}),
    frozenset({"years", "year", "old", "age", "aged"}),
)
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
    if not spec.words & {"duration", "length", "lasts", "long"} and "minutes" not in spec.name \
            and "hours" not in spec.name:
        return None
    if spec.words & {"before", "reminder", "remind", "advance"}:
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


_LABEL_BEFORE = re.compile(r"\b(unit|chapter|lesson|module|week|grade|room|suite|gate|level|"
                           r"part|section|page|version|problem|exercise|question|set|lab|"
                           r"period|platform|terminal|floor|apartment|apt|no)\.?\s*#?\s*$",
                           re.I)


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


def _is_name_token(token: str) -> bool:
    bare = token.strip(".'’-")
    return (len(bare) >= 2 and bare[0].isupper() and bare.lower() not in _NOT_NAMES
            and bare.lower() not in _MONTH_OR_DAY and bare.lower() not in _TITLES
            and not bare.isupper())


def _names(text: str, *, titled: bool = False, runs_only: bool = False) -> list[Candidate]:
    """Capitalised word runs ("Ana Ruiz", "José Álvarez-Núñez"); with ``titled``, only names
    after a title ("Dr. Lee"), the title included; with ``runs_only``, capitalised runs of any
    length anywhere (names of things: "Sushi Ran")."""
    tokens = list(_TOKEN_RE.finditer(text))
    out: list[Candidate] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        is_title = token.group(0).lower().strip(".") in _TITLES
        if titled and is_title and i + 1 < len(tokens) and _is_name_token(tokens[i + 1].group(0)):
            j = i + 1
            while j + 1 < len(tokens) and _is_name_token(tokens[j + 1].group(0)) \
                    and tokens[j + 1].start() - tokens[j].end() <= 1:
                j += 1
            end = tokens[j].end()
            out.append(Candidate(text[token.start():end], token.start(), end,
                                 text[token.start():end], _cue(text, token.start())))
            i = j + 1
            continue
        if not titled and _is_name_token(token.group(0)) and not (
                i > 0 and tokens[i - 1].group(0).lower().strip(".") in _TITLES):
            j = i
            while j + 1 < len(tokens) and _is_name_token(tokens[j + 1].group(0)) \
                    and tokens[j + 1].start() - tokens[j].end() <= 1 and j - i < 3:
                j += 1
            end = tokens[j].end()
            value = re.sub(r"['’]s$", "", text[token.start():end]).rstrip(".'’")
            score = 1.0 + 0.2 * (j - i)  # full names beat single words
            if j > i or i > 0 or runs_only:  # a lone capitalised first word is rarely a name
                out.append(Candidate(value, token.start(), token.start() + len(value), value,
                                     _cue(text, token.start()), score))
            i = j + 1
            continue
        i += 1
    return out


_LOWER_PLACE_RE = re.compile(r"\b(in|at|to|from|near|around)\s+"
                             r"([a-z][a-z.'’-]+(?:\s+[a-z][a-z.'’-]+)?)")
_NOT_PLACES = _NOT_NAMES | _MONTH_OR_DAY | {"the", "a", "an", "my", "our", "this", "that", "one",
                                            "two", "there", "here", "town", "home", "work",
                                            "least", "most", "all", "stay", "go", "get", "see",
                                            "be", "have", "find", "book", "fly", "check",
                                            "celsius", "fahrenheit", "please", "bed", "night",
                                            "it", "them", "him", "her", "us", "you", "me", "and"}


_STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][\w'’-]*\s+){1,3}(?:Street|St|Road|Rd|Way|Avenue|Ave|Lane|Ln|"
    r"Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|Terrace|Close|Crescent|Square|Highway|Hwy)\b"
    r"\.?(?:,\s*(?:[A-Z][\w'’-]*)(?:\s+[A-Z][\w'’-]*)?)?")


_ROUTE_WORDS = {"one", "way", "oneway", "round", "trip", "roundtrip", "round-trip", "flight",
                "flights", "fly", "flying", "ticket", "tickets", "seat", "seats", "train", "bus",
                "drive", "driving", "from"}
_ROUTE_STOP = _MONTH_OR_DAY | {"the", "a", "an", "for", "on", "at", "in", "by", "next", "this",
                               "tomorrow", "today", "tonight", "with", "and", "or", "please",
                               "pls", "one", "two", "first", "business", "economy"}


def _place(name: str) -> str:
    return rf"(?P<{name}>[A-Za-z][a-z.'’-]+(?:\s+[A-Za-z][a-z.'’-]+)?)"


_ROUTE_RE = re.compile(
    r"(?:[,:;]\s*|\b(?:way|trip|flights?|fly|flying|oneway|roundtrip|round-trip|tickets?|"
    r"seats?|train|bus|drive|driving)\s+)(?:from\s+)?" + _place("o")
    + r"\s*(?:\bto\b|->|→|–)\s*" + _place("d")
    + r"|\bleaving\s+" + _place("o2") + r"\s+for\s+" + _place("d2"), re.I)
"""Two places as a route: "dallas to new york", "chicago -> new orleans", "leaving Nashville
for Washington" (the first is the origin, the second the destination)."""


def _place_words(raw: str | None) -> str:
    """The words of ``raw`` that can be a place name: trip words in front ("oneway chicago")
    are skipped, and the name ends before a date or a function word."""
    words: list[str] = []
    for word in (raw or "").split():
        lowered = word.lower().strip(".,")
        if not words and lowered in _ROUTE_WORDS:
            continue
        if lowered in _ROUTE_STOP:
            break
        words.append(word)
    return " ".join(words).strip(" .,")


def _locations(text: str) -> list[Candidate]:
    """Street addresses ("44 Kestrel Way, Riverside"), then places after a preposition:
    "in San Jose", "from Seattle", "to new york".

    The preposition is kept in the cue: "from" marks an origin, "to" a destination."""
    out = [Candidate(m.group(0), m.start(), m.end(), m.group(0),
                     f"{_cue(text, m.start())} address", score=1.5)
           for m in _STREET.finditer(text)]
    for m in _LOCATION_RE.finditer(text):
        if any(_overlaps((m.start(1), m.end(1)), (c.start, c.end)) for c in out):
            continue
        words: list[str] = []
        for word in m.group(1).split():
            if word.lower().strip(".,") in _MONTH_OR_DAY:
                break
            words.append(word)
        value = " ".join(words).strip(" .,")
        if not value:
            continue
        prep = text[m.start():m.start(1)].strip().lower()
        out.append(Candidate(value, m.start(1), m.start(1) + len(value), value,
                             f"{_cue(text, m.start(1))} {prep}"))
    for m in _ROUTE_RE.finditer(text):
        ends = [_place_words(m.group(a) or m.group(b)) for a, b in (("o", "o2"), ("d", "d2"))]
        if not all(ends):
            continue  # "move Ana to Friday" is not a route
        for group, prep in ((("o", "o2"), "from"), (("d", "d2"), "to")):
            name = group[0] if m.group(group[0]) else group[1]
            value = _place_words(m.group(name))
            start = m.start(name) + (m.group(name) or "").find(value) if value else 0
            if not value or any(_overlaps((start, start + len(value)), (c.start, c.end))
                                for c in out):
                continue
            shown = value if any(ch.isupper() for ch in value) else value.title()
            out.append(Candidate(shown, start, start + len(value), value,
                                 f"{_cue(text, start)} {prep}", score=0.9))
    for m in _LOWER_PLACE_RE.finditer(text):
        words = []
        for word in m.group(2).split():
            if word.lower().strip(".,") in _NOT_PLACES:
                break
            words.append(word)
        if not words or any(_overlaps((m.start(2), m.end(2)), (c.start, c.end)) for c in out):
            continue
        value = " ".join(words).strip(" .,")
        out.append(Candidate(value.title(), m.start(2), m.start(2) + len(value), value,
                             f"{_cue(text, m.start(2))} {m.group(1).lower()}", score=0.7))
    return sorted(out, key=lambda c: c.start)


_ORIGIN_WORDS = {"origin", "from", "departure", "departing", "source", "pickup", "start"}
_DESTINATION_WORDS = {"destination", "to", "arrival", "arriving", "dropoff", "end"}


def _location_for(spec: FieldSpec, candidates: list[Candidate]) -> Candidate | None:
    """Origin fields take places after "from", destination fields places after "to"."""
    if not candidates:
        return None
    words = set(spec.name.lower().split("_"))
    wants = "from" if words & _ORIGIN_WORDS else "to" if words & _DESTINATION_WORDS else None
    if wants is None:
        return _best_by_cue(candidates, spec.words)
    matching = [c for c in candidates if c.cue.split()[-1:] == [wants]]
    if matching:
        return matching[0]
    neutral = [c for c in candidates if c.cue.split()[-1:] not in (["from"], ["to"])]
    return neutral[0] if neutral else None


def _lower_names(text: str) -> list[Candidate]:
    """Names typed in lower case ("book ana ruiz"): two or three words after a cue word."""
    out = []
    for m in _LOWER_NAME_CUE.finditer(text):
        words = m.group(1).split()
        keep: list[str] = []
        for word in words:
            bare = word.lower().strip("'’")
            if bare in _NOT_NAMES or bare in _MONTH_OR_DAY or bare in _TITLES or \
                    bare in _STOP_AFTER_NAME:
                break
            keep.append(word)
        if len(keep) < 2 or keep[0][0].isupper():
            continue
        value = re.sub(r"['’]s$", "", " ".join(keep))
        start = m.start(1)
        out.append(Candidate(value, start, start + len(value), value, _cue(text, start),
                             score=0.7))
    return out


_STOP_AFTER_NAME = {"appointment", "appointments", "visit", "booking", "record", "records",
                    "phone", "number", "email", "born", "dob", "coverage", "insurance", "slot",
                    "dr", "doctor", "please", "as", "into", "about", "of", "by", "via", "his",
                    "her", "their", "a", "an", "the", "to", "for", "with", "at", "on", "in",
                    "contact", "patient", "new", "table", "party", "people"}


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


_WHOLE_REQUEST_WORDS = {"question", "query", "request", "utterance", "message", "text", "ask"}
_WHOLE_FIELD_NAMES = {"question", "query", "request", "utterance", "ask"}
"""A field with one of these names takes the request itself (unless part of it is quoted)."""
_LONG_TEXT_WORDS = {"essay", "draft", "body", "content", "passage", "document", "paper"}
_TOPIC_WORDS = {"topic", "subject", "theme", "area", "unit"}
_TOPIC_RE = re.compile(
    r"\b(?:on|about|for|of|regarding|covering|before)\s+(?:the\s+)?"
    r"([a-zA-Z][\w'’ -]*?)(?=\s*(?:[,.;:?!]|\d+\s+(?:\w+\s+)?(?:questions?|sessions?|"
    r"minutes?|mins?|hours?|items?|problems?|cards?)\b|\b(?:with|please|on|by|before|at|in|"
    r"next|this|due|until|tomorrow|today|it'?s)\b|$))", re.I)
_NOT_TOPICS = {"calendar", "schedule", "planner", "agenda", "diary", "list", "phone", "screen"}


def _text_pool(spec: FieldSpec) -> str:
    """Which extractor serves a free-text field, judged by its name first, then by the words
    of its description (``prompt`` — "the assignment prompt the essay answers" — is a short
    free text, not the essay)."""
    name = spec.name.lower()
    if name in _WHOLE_FIELD_NAMES:
        return "text:whole"
    if set(name.split("_")) & _REASON_WORDS:
        return "text:reason"
    for words in (frozenset(name.split("_")), spec.words):
        if words & _LONG_TEXT_WORDS:
            return "text:long"
        if words & _TOPIC_WORDS:
            return "text:topic"
        if words & _FREE_TEXT_WORDS:
            return "text:free"
    return "text:name"


_REASON_WORDS = {"reason", "note", "notes", "memo", "comment", "comments"}
_POLITE = {"please", "pls", "thanks", "thank", "you", "asap", "ok", "okay", "if", "possible"}


def _trailing_clause(text: str) -> list[Candidate]:
    """The closing clause after a comma, dash or colon ("cancel Omar's visit, transport
    problems"), or after a last "for" ("refer Ana to cardiology for syncope"): the usual
    place of a reason. Politeness alone ("…, please") is not one."""
    m = re.search(r"(?:,|\s[-–—:]|:|\bfor)\s+([^,:;–—]{2,80}?)[.!?]*\s*$", text)
    if m is None or set(re.findall(r"[a-z]+", m.group(1).lower())) <= _POLITE:
        return []
    value = m.group(1).strip()
    return [Candidate(value, m.start(1), m.start(1) + len(value), value,
                      _cue(text, m.start(1)), score=0.4)]


_INTRO = re.compile(r"\b(my|this|these|here|please|pls|grade|check|review|feedback|score|"
                    r"assess|analy[sz]e|mark|rate|look at|evaluate)\b", re.I)
_MIN_PASTED_WORDS = 8
_MAX_INTRO_WORDS = 25


def _long_tail(text: str) -> list[Candidate]:
    """A pasted text after its introduction.

    The cut is, in order of trust: after the last ':', '?' or closing quote; else after the
    first sentence, when that sentence reads as a request ("pls grade this draft. Schools
    should ..."); else where a capitalised word follows a lower-case one after such a request
    ("analyse this essay's grammar Schools should ..."). The text after the cut must be at
    least eight words long.
    """
    def candidate(cut: int, score: float) -> list[Candidate]:
        tail = text[cut:].strip()
        start = text.index(tail, cut) if tail else cut
        return [Candidate(tail, start, start + len(tail), tail, _cue(text, start),
                          score=score)]

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
        if _INTRO.search(head) and len(text[m.end():].split()) >= _MIN_PASTED_WORDS:
            return candidate(m.end(), 2.0)
    return []


def _topics(text: str) -> list[Candidate]:
    """"quiz me on food webs" → "food webs"."""
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


_FREE_TEXT_WORDS = {"reason", "note", "notes", "message", "description", "comment", "query",
                    "question", "text", "body", "content", "details", "memo", "topic",
                    "subject", "essay", "prompt", "answer", "request", "instructions"}
_TITLE_RUN = re.compile(
    r"(?:\b(?:The|La|Le|El|Los|Las)\s+)?"
    r"(?:[A-Z][\w'’.-]*)(?:\s+(?:&|and|of|de|del|la|the)\s+[A-Z][\w'’.-]*"
    r"|\s+[A-Z0-9][\w'’.-]*)*")
_TITLE_CUES = {"called", "named", "at", "book", "reserve", "for", "see", "watch", "play",
               "titled", "movie", "film", "song", "event"}


def _titles(text: str) -> list[Candidate]:
    """Names of things: "The Oak Room", "Fire & Vine", "AMC Mercado", "Mama Rosa's"."""
    out = []
    for m in _TITLE_RUN.finditer(text):
        value = re.split(r"[.!?]\s", m.group(0))[0].strip(" .,")
        words = value.split()
        first = words[0].lower().strip(".,'’") if words else ""
        if not words or (len(words) == 1 and (first in _NOT_NAMES or first in _MONTH_OR_DAY
                                                 or m.start() == 0 or value.isdigit())):
            continue
        if first in _MONTH_OR_DAY or (first in _NOT_NAMES and first != "the"):
            continue
        if re.fullmatch(r"[\d:.\s]+(am|pm)?", value, re.I):
            continue
        cue = _cue(text, m.start())
        score = 1.0 + 0.3 * bool(set(cue.split()[-1:]) & _TITLE_CUES) + 0.1 * (len(words) > 1)
        out.append(Candidate(value, m.start(), m.start() + len(value), value, cue, score))
    return out


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


def _looks_like_name(text: str) -> bool:
    words = text.split()
    return (0 < len(words) <= 5 and not any(ch.isdigit() for ch in text)
            and words[0].lower().strip(",.") not in _NOT_NAMES)


def _whole(text: str) -> Candidate | None:
    value = text.strip(" .!?")
    if not value:
        return None
    start = text.find(value)
    return Candidate(value, start, start + len(value), value, "", score=0.5)


_GENERIC_FLAG_WORDS = {"is", "has", "have", "include", "includes", "with", "allow", "allowed",
                       "options", "option", "only", "enable", "enabled", "use", "want", "needs"}


# Everyday words for common flag words (the distinctive words of a boolean field's name), as
# _ENUM_SYNONYMS does for enum values.
_FLAG_SYNONYMS: dict[str, tuple[str, ...]] = {
    "detail": ("thoroughly", "in depth", "in-depth", "fuller", "full explanation",
               "tell me more", "explain more"),
    "detailed": ("thoroughly", "in depth", "in-depth", "step by step"),
    "nonstop": ("non-stop", "direct", "no stops", "no layovers"),
    "hourly": ("hour by hour", "by the hour", "each hour"),
    "vegetarian": ("veggie", "meatless", "plant-based"),
    "vegan": ("plant-based",),
    "refundable": ("refund",),
    "wheelchair": ("accessible", "accessibility"),
    "interpreter": ("translator",),
    "urgent": ("asap", "as soon as possible", "emergency"),
}


def _boolean(spec: FieldSpec, text: str) -> Candidate | None:
    """A flag is set when its words are mentioned ("nonstop", "all day"), unset when negated
    ("non smoking", "without ..."). Unmentioned flags stay empty (their default applies)."""
    parts = [w for w in spec.name.lower().split("_") if w]
    distinctive = [w for w in parts if w not in _GENERIC_FLAG_WORDS and len(w) > 2]
    phrases = []
    if len(distinctive) > 1:
        phrases.append(r"[\s_-]?".join(map(re.escape, distinctive)))
    phrases.extend(re.escape(w) for w in sorted(distinctive, key=len, reverse=True)
                   if len(w) >= 5 or len(distinctive) == 1)
    phrases.extend(re.escape(p) for w in distinctive for p in _FLAG_SYNONYMS.get(w, ()))
    for phrase in phrases:
        m = re.search(rf"\b(non[\s-]?)?({phrase})\w*\b", text, re.I)
        if m is None:
            continue
        before = text[max(0, m.start() - 20):m.start()].lower()
        value = not (m.group(1) or _NO.search(before))
        return Candidate(value, m.start(), m.end(), m.group(0))
    return None

