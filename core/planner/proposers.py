"""Proposers of values with a shape: numbers, phone numbers, e-mail addresses, quoted text,
identifiers and date-times.

Each proposer is a function from the text (and what it needs to read it: today, the locale) to
every :class:`~.candidates.Candidate` it finds, with its span and cue. High recall: which
candidate a field takes is decided later (:mod:`.slots`, :mod:`.cues`).

What lives elsewhere: dates, times and durations themselves (:mod:`.temporal`), names of people
and of things (:mod:`.names`), places (:mod:`.places`), free text (:mod:`.texts`), the value of
a spelled number (:mod:`.normalise`).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from .candidates import Candidate, alternation, cue_at, overlaps
from .lexicon import lexicon
from .normalise import NUMBER_WORDS, number_value
from .temporal import find_dates, find_times

__all__ = ["find_datetimes", "find_emails", "find_identifiers", "find_numbers", "find_phones",
           "find_quoted"]

_LEX = lexicon("en")

_WORD_ALTERNATION = alternation(NUMBER_WORDS)
_NUMBER_RE = re.compile(
    r"(?<![\w.:/-])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|"
    rf"(?:{_WORD_ALTERNATION})(?:(?:[\s-]+(?:and[\s-]+)?)(?:{_WORD_ALTERNATION}))*)"
    r"(?![\w:/-])", re.I)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LOCAL_PHONE_RE = re.compile(r"(?<![\w-])\(?\d{3}\)?[\s.-]?\d{3,4}(?:[\s.-]?\d{4})?(?![\w-])")
_QUOTED_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'(?!\w)")
_IDENTIFIER_RE = re.compile(r"\b(?=[\w-]*\d)(?:[A-Za-z]{1,6}[-#/]?)?\d[\w-]{2,}\b")
_LABEL_BEFORE = re.compile(rf"\b(?:{alternation(_LEX.number_labels)})\.?\s*#?\s*$", re.I)
_NUMBER_IDIOM = re.compile(rf"(?<!\w)(?:{alternation(_LEX.number_idioms)})(?!\w)")


def find_numbers(text: str, taken: list[tuple[int, int]]) -> list[Candidate]:
    """Numbers in digits or words ("1,500", "twenty five"), outside the spans already ``taken``
    by dates and times; the cue holds the words before and the two words after."""
    out = []
    for m in _NUMBER_RE.finditer(text):
        if any(overlaps((m.start(), m.end()), t) for t in taken):
            continue
        raw = m.group(1).lower()
        value: float | int | None = number_value(raw)
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
                             cue_at(text, m.start()) + " " + before + " "
                             + " ".join(after.split()[:2])))
    return out


def find_phones(text: str, locale: str) -> list[Candidate]:
    """Phone numbers valid in the locale's region, else local numbers ("555-0134")."""
    import phonenumbers

    region = locale.replace("_", "-").split("-")[-1].upper() if "-" in locale else "US"
    out = []
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    for match in matcher:
        out.append(Candidate(match.raw_string, match.start, match.end, match.raw_string,
                             cue_at(text, match.start)))
    if not out:
        # Local numbers ("555-0134", "555 0101") that are not valid international numbers.
        for m in _LOCAL_PHONE_RE.finditer(text):
            out.append(Candidate(m.group(0), m.start(), m.end(), m.group(0),
                                 cue_at(text, m.start()), score=0.8))
    return out


def find_emails(text: str) -> list[Candidate]:
    return [Candidate(m.group(0), m.start(), m.end(), m.group(0), cue_at(text, m.start()))
            for m in _EMAIL_RE.finditer(text)]


def find_identifiers(text: str) -> list[Candidate]:
    """Codes with a digit ("A-1042", "MRN 889123", "#4471")."""
    return [Candidate(m.group(0), m.start(), m.end(), m.group(0), cue_at(text, m.start()))
            for m in _IDENTIFIER_RE.finditer(text)]


def find_quoted(text: str, *, score: float = 1.5) -> list[Candidate]:
    """Text in quotation marks, which the writer marked as one value."""
    out = []
    for m in _QUOTED_RE.finditer(text):
        group = next(i for i in (1, 2, 3) if m.group(i) is not None)
        out.append(Candidate(m.group(group), m.start(group), m.end(group), m.group(group),
                             cue_at(text, m.start()), score=score))
    return out


def find_datetimes(text: str, today: date, locale: str) -> list[Candidate]:
    """Each date with its nearest time; a time alone is today at that time."""
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
                             cue_at(text, t.start)))
    return out
