"""Delexicalisation: replacing the particulars of a request with generic words before routing.

"push Maria Lopez born 1992-11-02 to December 7" and the example "reschedule Ana Ruiz to
Friday" differ mostly in names and dates, and a small embedding model weighs those heavily.
Routing compares ``"push someone born on a date to a date"`` with ``"reschedule someone to a
date"`` instead: the intent words carry the decision. Tool examples are delexicalised the
same way when the router's index is built. Slot filling always sees the original words.
"""

from __future__ import annotations

import re
from datetime import date

from .temporal import find_dates, find_times

__all__ = ["delexicalize", "mentioned"]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w-])\+?\(?\d{3}\)?[\s.-]?\d{3,4}(?:[\s.-]?\d{4})?(?![\w-])")
_IDENT = re.compile(r"\b(?=[\w-]*\d)[A-Za-z]{1,6}[-#]?\d[\w-]{2,}\b")
_TITLED = re.compile(r"\b(?:[Dd]r|[Dd]octor|[Pp]rof|[Pp]rofessor|Mr|Mrs|Ms|Mx)\.?\s+"
                     r"[A-Za-z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?")
_PLACE = re.compile(r"\b(?:in|at|from|to|near)\s+"
                    r"([A-Z][a-zà-ÿ'’.-]+(?:\s+[A-Z][a-zà-ÿ'’.-]+){0,2})")
_CAPS_RUN = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zà-ÿ'’-]+(?:\s+[A-Z][a-zà-ÿ'’-]+){1,2}\b")
_TODAY = date(2026, 1, 5)  # any fixed Monday: only the spans matter here


def delexicalize(text: str) -> str:
    """The text with e-mails, phones, record numbers, dates, times and names made generic."""
    return _delex(text)[0]


def mentioned(text: str) -> set[str]:
    """Which kinds of particulars the text contains ("a date", "someone", "the doctor", ...)."""
    return _delex(text)[1]


def _delex(text: str) -> tuple[str, set[str]]:
    spans: list[tuple[int, int, str]] = []
    for pattern, word in ((_EMAIL, "an email address"), (_IDENT, "a record number"),
                          (_PHONE, "a phone number"), (_TITLED, "the doctor")):
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
