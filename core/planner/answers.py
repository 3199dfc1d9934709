"""A bare answer to the question just asked: its first plain part ("Toronto, at noon"), without
its frame ("anything comic please" → "comic"), and whether it reads as a name.

Used only when a field was asked for; what a request says unprompted is read by the proposers.
"""

from __future__ import annotations

import re

from .candidates import NOT_NAMES, Candidate, overlaps
from .lexicon import lexicon

__all__ = ["first_plain_part", "looks_like_name", "trim_answer"]

_LEX = lexicon("en")

_ANSWER_FILLERS: frozenset[str] = _LEX.answer_fillers
_ANSWER_BREAKERS: frozenset[str] = _LEX.answer_breakers
_QUESTION_AUXILIARIES: frozenset[str] = _LEX.question_auxiliaries
_REQUESTING_SUBJECTS: frozenset[str] = _LEX.requesting_subjects


def first_plain_part(text: str, used: list[tuple[int, int]]) -> Candidate | None:
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
        if stripped and not any(overlaps(span, u) for u in used):
            return Candidate(stripped, span[0], span[1], stripped)
    return None


def trim_answer(part: Candidate) -> Candidate | None:
    """A short answer without its frame: filler in front ("anything comic please" →
    "comic") and a clause after it ("pasta sounds good" → "pasta"); function words left at
    its end are dropped ("Luna Loca and I would ..." → "Luna Loca"). A request in return
    ("can you suggest another?") or nothing but function words ("if I") answers nothing."""
    words = list(re.finditer(r"[\w'’&-]+", part.text))
    if len(words) >= 2 and words[0].group(0).lower() in _QUESTION_AUXILIARIES \
            and words[1].group(0).lower() in _REQUESTING_SUBJECTS:
        return None
    first = 0
    while first < len(words) and words[first].group(0).lower() in _ANSWER_FILLERS:
        first += 1
    last = first
    while last < len(words) and (last == first or words[last].group(0).lower()
                                 not in _ANSWER_BREAKERS):
        last += 1
    while last > first + 1 and _function_word(words[last - 1].group(0)):
        last -= 1
    if first >= len(words) or all(_function_word(w.group(0)) for w in words[first:last]):
        return None
    start, end = words[first].start(), words[last - 1].end()
    value = part.text[start:end]
    return Candidate(value, part.start + start, part.start + end, value, part.cue, part.score)


def _function_word(word: str) -> bool:
    lowered = word.lower()
    return lowered in NOT_NAMES or re.sub(r"['’](?:s|d|ll|ve|re|m)$", "", lowered) in NOT_NAMES


def looks_like_name(text: str) -> bool:
    words = text.split()
    first = words[0].lower().strip(",.!?") if words else ""
    return (0 < len(words) <= 5 and not any(ch.isdigit() for ch in text)
            and first not in NOT_NAMES
            and re.sub(r"['’](?:s|d|ll|ve|re|m)$", "", first) not in NOT_NAMES)
