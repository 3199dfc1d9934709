"""Delexicalisation: replacing the particulars of a request with generic words before routing.

"shift Ivo Brandt born 1980-05-09 to June 3" and the example "move Lina Marsh to
Monday" differ mostly in names and dates, and a small embedding model weighs those heavily.
Routing compares ``"shift someone born on a date to a date"`` with ``"move someone to a
date"`` instead: the intent words carry the decision. Tool examples are delexicalised the
same way when the router's index is built. Slot filling always sees the original words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from .lexicon import lexicon
from .temporal import find_dates, find_times

__all__ = ["delexicalize", "mentioned"]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w-])\+?\(?\d{3}\)?[\s.-]?\d{3,4}(?:[\s.-]?\d{4})?(?![\w-])")
_IDENT = re.compile(r"\b(?=[\w-]*\d)[A-Za-z]{1,6}[-#]?\d[\w-]{2,}\b")
_HONORIFICS = sorted(lexicon("en").honorifics, key=lambda w: (-len(w), w))
_NAME_AFTER_TITLE = r"\s+[A-Za-z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?"
_ABBREVIATED_TITLE = re.compile(r"\b[A-Z][a-z]{0,3}\.\s+[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?")
"""A short capitalised abbreviation with a full stop before a capitalised name ("Xy. Lee"):
a title, whatever the domain."""
_PLACE = re.compile(r"\b(?:in|at|from|to|near)\s+"
                    r"([A-Z][a-zà-ÿ'’.-]+(?:\s+[A-Z][a-zà-ÿ'’.-]+){0,2})")
_CAPS_RUN = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zà-ÿ'’-]+(?:\s+[A-Z][a-zà-ÿ'’-]+){1,2}\b")
_TODAY = date(2026, 1, 5)  # any fixed Monday: only the spans matter here


def delexicalize(text: str, titles: Iterable[str] = ()) -> str:
    """The text with e-mails, phones, record numbers, dates, times and names made generic.

    ``titles``: titles the tools' schemas name (``x-titles``), besides the lexicon's
    honorifics, that make the name after them a person."""
    return _delex(text, tuple(titles))[0]


def mentioned(text: str, titles: Iterable[str] = ()) -> set[str]:
    """Which kinds of particulars the text contains ("a date", "someone", "a place", ...)."""
    return _delex(text, tuple(titles))[1]


@lru_cache(maxsize=64)
def _titled(titles: tuple[str, ...]) -> re.Pattern[str]:
    words = sorted({*_HONORIFICS, *(t.lower().rstrip(".") for t in titles)},
                   key=lambda w: (-len(w), w))
    alternation = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?i:\b(?:{alternation}))\.?{_NAME_AFTER_TITLE}")


def _delex(text: str, titles: tuple[str, ...] = ()) -> tuple[str, set[str]]:
    spans: list[tuple[int, int, str]] = []
    for pattern, word in ((_EMAIL, "an email address"), (_IDENT, "a record number"),
                          (_PHONE, "a phone number"), (_titled(titles), "someone"),
                          (_ABBREVIATED_TITLE, "someone")):
        spans.extend((m.start(), m.end(), word) for m in pattern.finditer(text))
    spans.extend((d.start, d.end, "a date") for d in find_dates(text, _TODAY))
    spans.extend((t.start, t.end, "a time") for t in find_times(text))
    spans.extend((m.start(1), m.end(1), "a place") for m in _PLACE.finditer(text))
    spans.extend((m.start(), m.end(), "someone") for m in _CAPS_RUN.finditer(text))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[str] = []
    kinds: set[str] = set()
    cursor = 0
    for start, end, word in spans:
        if start < cursor:
            continue
        out.append(text[cursor:start])
        out.append(word)
        kinds.add(word)
        cursor = end
    out.append(text[cursor:])
    return "".join(out), kinds
