"""Proposers of places: street addresses, places after a preposition ("in Santa Rosa", "from
Seattle"), two places as a route ("denver to el paso"), and places typed in lower case.

:func:`find_locations` is a function from the text (and the tool's words, before which a place
name ends) to candidates; the preposition stays in the cue, so an origin field can take the
place after "from" and a destination the place after "to" (:func:`.cues.location_for`).

What lives elsewhere: names of people and of things (:mod:`.names`).
"""

from __future__ import annotations

import re

from .candidates import MONTH_OR_DAY, NOT_NAMES, Candidate, alternation, cue_at, overlaps
from .lexicon import lexicon
from .names import ends_sentence, writes_capitals
from .normalise import NUMBER_WORDS

__all__ = ["STREET", "find_locations"]

_LEX = lexicon("en")

_ORIGIN_PREPOSITIONS: frozenset[str] = _LEX.origin_prepositions
"""Words that mark the place after them as where a trip starts, as "from" does: "flying out
of Boston", "departing Lyon"."""
_LOCATION_RE = re.compile(
    rf"\b(?i:{alternation(_LEX.location_prepositions | _ORIGIN_PREPOSITIONS)})\s+"
    rf"((?:[A-Z][\w'’.-]*\s?|(?:{alternation(_LEX.place_connectors)})\s+(?=[A-Z])){{1,5}})")
_PLACE_WORD = r"[a-zà-ÿ][a-zà-ÿ.'’-]+"
_LOWER_PLACE_RE = re.compile(rf"\b({alternation(_LEX.location_prepositions - {'to'})})\s+"
                             rf"({_PLACE_WORD}(?:\s+{_PLACE_WORD}){{0,2}})")
_NOT_PLACES: frozenset[str] = (NOT_NAMES | MONTH_OR_DAY | _LEX.not_places
                               | frozenset(NUMBER_WORDS) | frozenset(_LEX.parts_of_day))
_ROUTE_WORDS: frozenset[str] = _LEX.route_words
_ROUTE_STOP: frozenset[str] = MONTH_OR_DAY | _LEX.route_stops
STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][\w'’-]*\s+){1,3}"
    rf"(?:{alternation(_LEX.street_types)})\b"
    rf"(?:\s*(?i:{alternation(_LEX.unit_words)})\.?\s*#?\s*\w+|\s*#\s*\w+)?"
    r"\.?(?:,\s*(?:[A-Z][\w'’-]*)(?:\s+[A-Z][\w'’-]*)?)?")
"""A street address ("44 Kestrel Way, Riverside", "12 Elm Road #7", "9 Oak St Apt 2"): the
capitalised words in it are no person's name."""
_AREA_RE = re.compile(
    r"\b(?i:in|around|near)\s+the\s+((?:[A-Z][\w'’.-]*\s+){1,3})"
    rf"(?i:{alternation(_LEX.area_nouns)})\b")
"""A place named as an area: "in the San Diego area", "around the Boston region"."""
_ABBREVIATED_STREET_TYPES = frozenset(
    short for short in _LEX.street_types
    if any(len(full) > len(short) and re.fullmatch(".*".join(map(re.escape, short)) + ".*",
                                                   full) for full in _LEX.street_types))
"""Street types that abbreviate another ("St" of "Street", "Blvd" of "Boulevard"): their full
stop is their own."""


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
        if ends_sentence(word) or word.endswith(","):
            break
    return " ".join(words).strip(" .,")


def _without_full_stop(address: str) -> str:
    """An address that ends a sentence ("to 698 Post Street.", "at 3 Elm Road.") loses the
    sentence's full stop; an abbreviated street type keeps its own ("12 Elm St.")."""
    if address.endswith(".") and address.rstrip(".").split()[-1] not in \
            _ABBREVIATED_STREET_TYPES:
        return address[:-1]
    return address


def _complement(text: str, at: int) -> bool:
    """Whether the "in" at ``at`` belongs to the word before it ("interested in Games",
    "believe in miracles"): what follows is that word's complement, not a place."""
    if not re.match(r"\s*in\b", text[at:], re.I):
        return False
    before = re.search(r"(\w+)\W*$", text[:at])
    return before is not None and before.group(1).lower() in _LEX.in_complement_words


def find_locations(text: str, stops: frozenset[str] = frozenset()) -> list[Candidate]:
    """Street addresses ("44 Kestrel Way, Riverside"), then places after a preposition:
    "in Santa Rosa", "from Seattle", "to el paso".

    The preposition is kept in the cue: "from" marks an origin, "to" a destination. A place
    name ends at a sentence's full stop, before a date or a word of the tool itself."""
    out = [Candidate(value, m.start(), m.start() + len(value), value,
                     f"{cue_at(text, m.start())} address", score=1.5)
           for m in STREET.finditer(text) for value in [_without_full_stop(m.group(0))]]
    for m in _AREA_RE.finditer(text):
        value = m.group(1).strip()
        if value.lower() not in _NOT_PLACES and not any(
                overlaps((m.start(1), m.end(1)), (c.start, c.end)) for c in out):
            prep = m.group(0).split()[0].lower()
            out.append(Candidate(value, m.start(1), m.start(1) + len(value), value,
                                 f"{cue_at(text, m.start())} {prep}"))
    for m in _LOCATION_RE.finditer(text):
        if any(overlaps((m.start(1), m.end(1)), (c.start, c.end)) for c in out) \
                or _complement(text, m.start()):
            continue
        words: list[str] = []
        for word in m.group(1).split():
            bare = word.lower().strip(".,")
            if bare in MONTH_OR_DAY or (bare in NOT_NAMES and words) or bare in stops \
                    and words:
                break
            words.append(word)
            if ends_sentence(word) or word.endswith(","):
                break
        value = " ".join(words).strip(" .,")
        if not value or value.lower() in _NOT_PLACES:
            continue
        prep = " ".join(text[m.start():m.start(1)].lower().split())
        prep = "from" if prep in _ORIGIN_PREPOSITIONS else prep
        out.append(Candidate(value, m.start(1), m.start(1) + len(value), value,
                             f"{cue_at(text, m.start(1))} {prep}"))
    for m in _ROUTE_RE.finditer(text):
        ends = [_place_words(m.group(a) or m.group(b), stops) for a, b in (("o", "o2"),
                                                                           ("d", "d2"))]
        if not all(ends) or any(w.lower() in _LEX.not_places for e in ends for w in e.split()):
            continue  # "move Ana to Friday" is not a route
        if writes_capitals(text) and not any(e[0].isupper() for e in ends):
            continue  # one end written as a name makes the other one too: "London to paris"
        for group, prep in ((("o", "o2"), "from"), (("d", "d2"), "to")):
            name = group[0] if m.group(group[0]) else group[1]
            value = _place_words(m.group(name), stops)
            start = m.start(name) + (m.group(name) or "").find(value) if value else 0
            if not value or any(overlaps((start, start + len(value)), (c.start, c.end))
                                for c in out):
                continue
            shown = value if any(ch.isupper() for ch in value) else value.title()
            out.append(Candidate(shown, start, start + len(value), value,
                                 f"{cue_at(text, start)} {prep}", score=0.9))
    for m in _LOWER_PLACE_RE.finditer(text) if not writes_capitals(text) else ():
        words = []
        for word in m.group(2).split():
            bare = word.lower().strip(".,")
            if bare in _NOT_PLACES or bare in stops:
                break
            words.append(word)
            if ends_sentence(word) or word.endswith(","):
                break
        if not words or words[0].lower().endswith("ing") or _complement(text, m.start()) \
                or any(overlaps((m.start(2), m.end(2)), (c.start, c.end)) for c in out):
            continue  # "interested in finding ..." names a doing, not a place
        value = " ".join(words).strip(" .,")
        out.append(Candidate(value.title(), m.start(2), m.start(2) + len(value), value,
                             f"{cue_at(text, m.start(2))} {m.group(1).lower()}", score=0.7))
    return sorted(out, key=lambda c: c.start)
