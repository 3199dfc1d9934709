"""What every proposer hands to the slot filler: a :class:`Candidate`, a value with its span and
the words before it (its cue).

Also the few helpers every stage shares: the cue before a position, whether two spans overlap, a
regular-expression alternation of lexicon words, and the words that are never a name.

What lives elsewhere: finding candidates (:mod:`.proposers`, :mod:`.names`, :mod:`.places`,
:mod:`.texts`), choosing one per field (:mod:`.slots`, :mod:`.cues`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .lexicon import lexicon
from .temporal import cue

__all__ = ["MONTH_OR_DAY", "NOT_NAMES", "Candidate", "alternation", "cue_at", "overlaps"]

_LEX = lexicon("en")


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


def cue_at(text: str, start: int) -> str:
    """The words just before ``start``: what cues a candidate there ("born", "until")."""
    return cue(text, start, width=28)


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def alternation(words: Any) -> str:
    """A regex alternation of ``words``, longest first (so "next week" wins over "next")."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


NOT_NAMES: frozenset[str] = _LEX.not_names
MONTH_OR_DAY: frozenset[str] = (_LEX.months | _LEX.weekdays | frozenset(
    _LEX.month_abbreviations) | frozenset(_LEX.weekday_abbreviations))
