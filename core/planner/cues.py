"""Scoring candidates by their cues: the words before a span ("born 2 March", "until Friday",
"from Seattle", "250 bucks") say which field it belongs to.

A field's cue words come from its name, its description and the lexicon's date cues; a
candidate whose cue matches the field's words wins, and one cued for another field comes last.
Also: which number belongs to which numeric field (by its unit), which place to an origin or a
destination, and a tool that moves something from one date to another (the new date takes the
end cues: "to Friday").

What lives elsewhere: the order in which fields choose and the rest of the choice
(:mod:`.slots`), reading enums and flags (:mod:`.choices`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from .candidates import NOT_NAMES, Candidate
from .fields import FieldSpec
from .lexicon import lexicon

__all__ = ["BIRTH_CUES", "beside", "best_by_cue", "cue_words", "date_cues", "destination_date",
           "leaving_ends_a_stay", "location_for", "name_words", "number_for", "stems"]

_LEX = lexicon("en")

BIRTH_CUES: frozenset[str] = _LEX.date_cues["birth"]
_DEPARTURE_CUES: frozenset[str] = _LEX.date_cues["departure"]
"""Leaving: the start of a trip ("leaving on the 3rd" is the departure), but the end of a
stay (:func:`leaving_ends_a_stay`)."""
_START_CUES: frozenset[str] = _LEX.date_cues["start"] | _DEPARTURE_CUES
_END_CUES: frozenset[str] = _LEX.date_cues["end"]
_UNIT_GROUPS: tuple[frozenset[str], ...] = tuple(_LEX.units[k] for k in sorted(_LEX.units))
_ALL_UNITS = frozenset().union(*_UNIT_GROUPS)
_ORIGIN_WORDS: frozenset[str] = _LEX.origin_words
_DESTINATION_WORDS: frozenset[str] = _LEX.destination_words


def name_words(spec: FieldSpec) -> set[str]:
    """The words of a field's name, with two-word compounds joined ("check_in" → "checkin")."""
    parts = [p for p in spec.name.lower().split("_") if p]
    return set(parts) | {a + b for a, b in zip(parts, parts[1:], strict=False)}


def stems(words: Sequence[str]) -> set[str]:
    """Words with their English inflections stripped too ("returns", "returned" → "return")."""
    out = set(words)
    for w in words:
        for suffix in ("ing", "ed", "es", "s", "d"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                out.add(w[:-len(suffix)])
    return out


def cue_words(cue: str) -> set[str]:
    """A cue's words in every inflection, with neighbours joined as a field's name joins them
    ("check out on" → "checkout", as ``check_out_date`` → "checkout")."""
    words = cue.split()
    return stems(words) | {a + b for a, b in zip(words, words[1:], strict=False)}


def best_by_cue(candidates: list[Candidate], cues: frozenset[str],
                foreign: frozenset[str] = frozenset()) -> Candidate | None:
    """The candidate whose preceding words match ``cues`` best; one cued for another field
    (``foreign``: "from Thursday" when this is the new date) comes last."""
    if not candidates:
        return None

    def score(c: Candidate) -> float:
        words = c.cue.split()
        nearest, cue_words = stems(words[-1:]), stems(words)
        own = 1.0 if cue_words & cues else 0.0
        return c.score + own + 0.1 * bool(nearest & cues) \
            - (0.5 if not nearest & cues and nearest & foreign else 0.0)

    best = max(candidates, key=score)
    # Dates cued for another purpose ("born 2 March") never fill an unrelated date field.
    if not set(best.cue.split()) & cues and set(best.cue.split()) & BIRTH_CUES:
        others = [c for c in candidates if not set(c.cue.split()) & BIRTH_CUES]
        return others[0] if others else None
    return best


def date_cues(spec: FieldSpec, tool_words: AbstractSet[str] = frozenset()) -> frozenset[str]:
    """A date field's cue words: its own words, with the lexicon's birth, start or end cues
    when its name or description makes it one ("to_date" is an end, "dob" a birth date).

    The description's function words are no cues ("Last day of the range" does not make
    "for the day after tomorrow" this field's), nor are the words of the tool's name
    (``tool_words``): "Date of the return flight" does not make "a flight for the 2nd" the
    return, on a tool for flights."""
    name = name_words(spec)
    about = stems(sorted(tool_words))
    words = {w for w in spec.words if w not in NOT_NAMES
             and (w in name or not stems([w]) & about)} | name
    if "to" in name:
        words.add("end")  # to_date: the end of a range
    if "from" in name:
        words.add("start")
    if words & _LEX.date_field_words["birth"]:
        words |= BIRTH_CUES
    if name & _LEX.date_field_words["start"] or words & {"start", "begin", "departure",
                                                          "arrival"}:
        words |= _START_CUES
    if name & _LEX.date_field_words["end"] or words & {"end", "until", "deadline", "return"}:
        words |= _END_CUES
    return frozenset(words)


def leaving_ends_a_stay(specs: Sequence[FieldSpec], cues: dict[str, frozenset[str]]) -> None:
    """At a place one stays (a check-in and a check-out date), leaving is the end: "I will be
    leaving on the 11th" is the check-out, where on a trip it is the departure."""
    words = _LEX.date_field_words
    ends = [f.name for f in specs if f.name in cues and name_words(f) & words["stay_end"]]
    starts = [f.name for f in specs if f.name in cues and name_words(f) & words["stay_start"]]
    if len(ends) != 1 or not starts:
        return
    for name in starts:
        cues[name] = cues[name] - _DEPARTURE_CUES
    cues[ends[0]] = cues[ends[0]] | _DEPARTURE_CUES


def destination_date(cues: dict[str, frozenset[str]]) -> None:
    """A tool with one start date ("from_date") and one other plain date ("date", "the new
    day") moves something from one to the other: the other date takes the end cues ("to
    Friday")."""
    starts = [n for n, c in cues.items() if c & _START_CUES and not c & BIRTH_CUES]
    ends = [n for n, c in cues.items() if c & _END_CUES]
    others = [n for n, c in cues.items() if n not in starts and not c & BIRTH_CUES]
    if len(starts) == 1 and not ends and len(others) == 1:
        cues[others[0]] = cues[others[0]] | _END_CUES


def number_for(spec: FieldSpec, candidates: list[Candidate],
               numeric_fields: int, text: str = "") -> Candidate | None:
    """The number that belongs to this field, judged by the words around it.

    A number next to a unit that belongs to another field ("250 bucks" for a ticket count, "a
    room for 3 days" for a room count: the unit right after the number says more than the
    words before it) is never taken; with several numeric fields, a number must be next to one
    of this field's words.
    """
    field_words = set(spec.words)
    for group in _UNIT_GROUPS:
        if field_words & group:
            field_words |= group
    best: tuple[int, Candidate] | None = None
    for candidate in candidates:
        context = set(re.findall(r"[a-z$€£]+", candidate.cue.lower()))
        after = re.match(r"\s*([a-z$€£]+)", text[candidate.end:].lower()) if text else None
        unit = after.group(1) if after else ""
        if unit in _ALL_UNITS and unit not in field_words:
            continue
        score = len(context & field_words) + 2 * (unit in field_words)
        spelled = not candidate.text[:1].isdigit()
        if score == 0 and (context & _ALL_UNITS or numeric_fields > 1
                           or (spelled and "for" not in context)):
            continue
        if best is None or score > best[0]:
            best = (score, candidate)
    return best[1] if best else None


def location_for(spec: FieldSpec, candidates: list[Candidate]) -> Candidate | None:
    """Origin fields take places after "from", destination fields places after "to"."""
    if not candidates:
        return None
    words = name_words(spec)
    wants = "from" if words & _ORIGIN_WORDS else "to" if words & _DESTINATION_WORDS else None
    if wants is None:
        return best_by_cue(candidates, spec.words)
    matching = [c for c in candidates if c.cue.split()[-1:] == [wants]]
    if matching:
        return matching[0]
    neutral = [c for c in candidates if c.cue.split()[-1:] not in (["from"], ["to"])]
    return neutral[0] if neutral else None


def beside(c: Candidate, words: AbstractSet[str], text: str, *, last_word: bool = False) -> bool:
    """Whether one of ``words`` (in any inflection) stands right before the candidate or right
    after it: "Thai food" for a field described as the kind of food, "the album Vessel".

    With ``last_word``, a word after the candidate counts only as its phrase's last word ("the
    Stars Dance album."; not "Ana Ruiz phone number", where the word begins a phrase of its
    own)."""
    if stems(c.cue.split()[-1:]) & words:
        return True
    if not last_word:
        return bool(stems(re.findall(r"[a-z]+", text[c.end:c.end + 20].lower())[:1]) & words)
    after = re.match(r"[ \t]+([a-z]+)\b(?:\s+([a-z]+))?", text[c.end:].lower())
    return after is not None and bool(stems([after.group(1)]) & words) \
        and (after.group(2) is None or after.group(2) in NOT_NAMES)