"""Which proposers serve which kind of field: the candidate pools of one utterance.

:class:`Pools` runs the proposers a field's kind needs (dates, numbers, names, places, free text,
the plugins' entity extractors), once per utterance and kind, and keeps their candidates for the
other fields of the same kind. It also holds what the proposers need to know about the tool
(its titles, its own words, its enum words, its date fields' cues).

What lives elsewhere: the proposers themselves (:mod:`.proposers`, :mod:`.names`,
:mod:`.places`, :mod:`.texts`, :mod:`.temporal`), choosing a candidate (:mod:`.slots`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from ..extensions import EntityMatch, SlotExtractor
from .candidates import Candidate, cue_at, overlaps
from .cues import BIRTH_CUES, date_cues
from .fields import FieldSpec
from .meaning import WordEmbedder
from .names import find_lower_names, find_names, find_titles
from .places import STREET, find_locations
from .proposers import (
    find_datetimes,
    find_emails,
    find_identifiers,
    find_numbers,
    find_phones,
    find_quoted,
)
from .temporal import find_dates, find_durations, find_times
from .texts import (
    find_cued_text,
    find_long_tail,
    find_topics,
    find_trailing_clause,
    text_pool,
    whole_text,
)

__all__ = ["Pools"]


class Pools:
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
        self.hour: int | None = None
        """The hour now, where known: a weekday naming today with its part of day over is
        next week's (:func:`.temporal.find_dates`)."""
        self.date_cues: dict[str, frozenset[str]] = {}
        """Each date field's cue words: a date cued for another field goes there first."""
        self.titles: frozenset[str] = frozenset()
        """Titles the tool's schema writes before names (``x-titles``): never part of a name."""
        self.vocabulary: frozenset[str] = frozenset()
        """The tool's own words (its name, description and argument names): a lower-case name
        ends before one of them ("ivo brandt booking")."""
        self.embed: WordEmbedder | None = None
        """Texts → unit vectors, to read an enum's value by meaning (None: by spelling only)."""
        self.own_words: frozenset[str] = frozenset()
        """Words of the tool's name and argument names (never one value of its enums)."""
        self.enum_words: frozenset[str] = frozenset()
        """Words of the tool's enum values and synonyms: a place name ends before them."""
        self.field_words: dict[str, frozenset[str]] = {}
        """Each field's own name words ("album" of ``album``): a name beside one belongs there."""
        self.names_venues = False
        self.venues: frozenset[str] = frozenset()
        """Title fields that name a place one goes to ("Name of the theatre"): "at X" is theirs."""
        self.kind_heads: dict[str, frozenset[str]] = {}
        """By kind field ("genre"): the things it says the kind of ("song"; :mod:`.kinds`)."""
        """The tool has a field for the name of a thing (a restaurant, a film): a name after
        "at" or "to" ("a table at Nopa", "tickets to Star Harbor") is that thing, not a town."""

    def of(self, spec: FieldSpec) -> list[Candidate]:
        """The candidates for a field of this kind (built on first use, then shared)."""
        key = spec.kind if spec.kind != "entity" else f"entity:{spec.entity}"
        if spec.kind == "text":
            key = text_pool(spec)
        if spec.kind == "date" and date_cues(spec) & BIRTH_CUES:
            key = "birthdate"
        if key not in self._cache:
            self._cache[key] = self._build(key, spec)
        return self._cache[key]

    def _build(self, key: str, spec: FieldSpec) -> list[Candidate]:
        """The proposers that serve ``key``, in the order their candidates are preferred."""
        text = self.text
        if key in ("date", "birthdate"):
            return [Candidate(d.value, d.start, d.end, d.text, d.cue)
                    for d in find_dates(text, self.today, locale=self.locale,
                                        future=key != "birthdate",
                                        hour=self.hour if key == "date" else None)]
        if key == "datetime":
            return find_datetimes(text, self.today, self.locale)
        if key == "time":
            return [Candidate(t.value, t.start, t.end, t.text, cue_at(text, t.start))
                    for t in find_times(text)]
        if key == "duration":
            return [Candidate(delta, s, e, t, cue_at(text, s)) for delta, s, e, t
                    in find_durations(text)]
        if key in ("integer", "number"):
            taken = [(c.start, c.end) for kind in ("date", "time") for c in self.of(
                FieldSpec(name=kind, kind=kind, required=False))]
            return find_numbers(text, taken)
        if key == "email":
            return find_emails(text)
        if key == "phone":
            return find_phones(text, self.locale)
        if key.startswith("entity:"):
            return self._entities(spec)
        if key == "person":
            streets = [(m.start(), m.end()) for m in STREET.finditer(text)]
            return [c for c in find_quoted(text) + self._plain_names()
                    if not any(overlaps((c.start, c.end), s) for s in streets)]
        if key == "identifier":
            return find_quoted(text) + find_identifiers(text)
        if key == "title":
            return find_quoted(text) + find_titles(text, spec.words)
        if key == "location":
            return find_quoted(text, score=0.5) + find_locations(
                text, self.enum_words | self.vocabulary)
        if key == "text:long":
            return find_long_tail(text, self.vocabulary) + find_cued_text(text)
        if key == "text:topic":
            return find_quoted(text) + find_topics(text)
        if key == "text:free":
            return find_quoted(text) + find_cued_text(text)
        if key == "text:reason":
            return find_quoted(text) + find_cued_text(text) + find_trailing_clause(text)
        if key == "text:whole":
            whole = whole_text(text)
            return find_quoted(text) + ([whole] if whole is not None else [])
        return find_quoted(text) + find_cued_text(text, one_sentence=True) + [
            Candidate(c.value, c.start, c.end, c.text, c.cue, score=0.6, guessed=True)
            for c in find_titles(text, spec.words)]

    def durations(self) -> list[Candidate]:
        return self.of(FieldSpec(name="duration", kind="duration", required=False))

    def _plain_names(self) -> list[Candidate]:
        return (find_names(self.text, titles=self.titles)
                + find_lower_names(self.text, self.vocabulary | self.titles))

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
                                   cue_at(self.text, m.span.start), m.score) for m in matches)
        if not found:
            return self._entity_fallback(spec)
        return sorted(found, key=lambda c: -c.score)

    def _entity_fallback(self, spec: FieldSpec) -> list[Candidate]:
        """No extractor answered: for an entity whose schema names its titles (``x-titles``:
        "Prof"), titled names only; plain names (and, where the field allows it, "me") for
        everyone else."""
        if spec.titles:
            titles = frozenset(t.lower().rstrip(".") for t in spec.titles)
            return find_quoted(self.text) + find_names(self.text, titled=True, titles=titles)
        return find_quoted(self.text) + self._plain_names()
