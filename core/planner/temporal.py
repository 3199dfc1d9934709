"""Dates, times and durations in plain English, relative to the session's clock — fast.

A hand-written scanner covers what people type to an assistant ("next Tuesday afternoon",
"tomorrow at 3pm", "2 March 1990", "in 3 days", "15:30", "noon", "2026-12-01", "12/03/2026"),
in tens of microseconds. ``dateparser`` was measured too slow for the per-turn budget here
(~50 ms a call against a ~15 ms embedding) and is not used; a phrase the scanner does not know
leaves the field empty, and the dialog asks for it.

Conventions (documented because they are choices):

- "next Friday" is the Friday of next week (weeks start on Monday): on Tuesday 24 November it
  is 4 December, and on a Friday it is a week later. "this Friday" / "Friday" is the coming one
  (today, on a Friday). The evaluation sets were written by people who read it the same way.
- "next week" is the Monday of next week.
- Numeric dates follow the locale: ``en-US`` reads 03/04 as March 4, other locales as 3 April.
  A first number over 12 is always a day.
- "3" alone is not a time; "3pm", "at 3", "3:30", "15:00" are. "at 3" without am/pm is read in
  business hours (7–11 → am, 12 and 1–6 → pm).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta

__all__ = ["DateMatch", "TimeMatch", "cue", "find_dates", "find_durations", "find_times",
           "part_of_day"]

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WD_ABBR = {w[:3]: i for i, w in enumerate(WEEKDAYS)} | {"tues": 1, "thur": 3, "thurs": 3}
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
_MONTH_RE = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
             r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_WD_RE = (r"(mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|"
          r"sat(?:urday)?|sun(?:day)?)")
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
                 "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
                 "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty-five": 45,
                 "couple of": 2, "few": 3}


@dataclass(frozen=True)
class DateMatch:
    """A date found in text, with where it was and the words just before it (its cue)."""

    value: date
    start: int
    end: int
    text: str
    cue: str


@dataclass(frozen=True)
class TimeMatch:
    """A time of day found in text."""

    value: time
    start: int
    end: int
    text: str


def _month(token: str) -> int:
    return _MONTH_ABBR[token[:3].lower()] if token[:4].lower() != "sept" else 9


def _weekday(token: str) -> int:
    token = token.lower()
    for key in (token[:5], token[:4], token[:3]):
        if key in _WD_ABBR:
            return _WD_ABBR[key]
    raise KeyError(token)


def cue(text: str, start: int, width: int = 30) -> str:
    """Up to three words before ``start`` (within ``width`` characters), not reaching back
    past a comma, a full stop or another number: what tells "born 2 March" from "until 2
    March" (and keeps "dob 1975-07-30 next Friday" from lending "dob" to Friday)."""
    window = re.split(r"[,;:.!?]\s|\d", text[max(0, start - width):start])[-1]
    return " ".join(re.findall(r"[a-z]+", window.lower())[-3:])


def _year(value: str | None, today: date, month: int, day: int, *, future: bool) -> int:
    if value:
        y = int(value)
        return y + (2000 if y < 50 else 1900) if y < 100 else y
    year = today.year
    if future:
        try:
            if date(year, month, day) < today:
                year += 1
        except ValueError:
            pass
    return year


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("numeric", re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?\b")),
    ("day_month", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH_RE}\.?"
                             r"(?:,?\s+(\d{4}))?\b", re.I)),
    ("month_day", re.compile(rf"\b{_MONTH_RE}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?"
                             r"(?:,?\s+(\d{4}))?\b", re.I)),
    ("holiday", re.compile(r"\b(new year'?s eve|new year'?s day|new year'?s|christmas eve|"
                           r"christmas day|christmas|xmas|thanksgiving|halloween|"
                           r"valentine'?s day|independence day)\b", re.I)),
    ("relative_day", re.compile(r"\b(today|tonight|tomm?orr?ow|tmrw|tmr|day after tomm?orr?ow|"
                                r"yesterday)\b", re.I)),
    ("weekday", re.compile(rf"\b(?:(next|this|coming|last|on)\s+)?{_WD_RE}\b"
                           r"(?:\s+(?:next|after next)\b)?", re.I)),
    ("in_n", re.compile(r"\bin\s+(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
                        r"a couple of|a few)\s+(day|week|month)s?\b", re.I)),
    ("next_unit", re.compile(r"\b(next|this)\s+(week|month)\b", re.I)),
    ("ordinal", re.compile(r"\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)\b", re.I)),
]


def find_dates(text: str, today: date, *, locale: str = "en-US",
               future: bool = True) -> list[DateMatch]:
    """Every date in ``text``, earliest position first; overlapping matches keep the longest.

    ``future`` prefers the coming occurrence for dates without a year ("March 2").
    """
    found: list[DateMatch] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            value = _interpret(kind, m, today, locale=locale, future=future)
            if value is not None:
                start = m.start()
                if m.group(0)[:3].lower() == "on ":  # "on Friday": the date is "Friday"
                    start += 3
                found.append(DateMatch(value, start, m.end(), text[start:m.end()],
                                       cue(text, m.start())))
    found.sort(key=lambda d: (d.start, -(d.end - d.start)))
    kept: list[DateMatch] = []
    for match in found:
        if kept and match.start < kept[-1].end:
            continue
        if kept and _is_weekday_word(kept[-1].text) and 0 <= match.start - kept[-1].end <= 2:
            kept[-1] = match  # "Thursday Dec 3": the explicit date wins
            continue
        kept.append(match)
    return kept


def _is_weekday_word(text: str) -> bool:
    return bool(re.fullmatch(_WD_RE, text.strip(" ,"), re.I))


def _interpret(kind: str, m: re.Match[str], today: date, *, locale: str,
               future: bool) -> date | None:
    try:
        if kind == "iso":
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if kind == "numeric":
            a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
            if y is None and "." in m.group(0):
                return None  # "3.5" is a number, not a date
            if y is None and m.group(0).count("/") == 1 and (a > 12 and b > 12):
                return None
            us = locale.lower().replace("_", "-").startswith("en-us")
            month, day = (a, b) if us and a <= 12 else (b, a)
            if month > 12:
                month, day = day, month
            return date(_year(y, today, month, day, future=future), month, day)
        if kind == "day_month":
            day, month = int(m.group(1)), _month(m.group(2))
            return date(_year(m.group(3), today, month, day, future=future), month, day)
        if kind == "month_day":
            month, day = _month(m.group(1)), int(m.group(2))
            return date(_year(m.group(3), today, month, day, future=future), month, day)
        if kind == "holiday":
            return _holiday(m.group(1).lower().replace("'", ""), today, future=future)
        if kind == "relative_day":
            word = re.sub(r"tomm?orr?ow", "tomorrow", m.group(1).lower())
            offset = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1,
                      "day after tomorrow": 2, "yesterday": -1}[word]
            return today + timedelta(days=offset)
        if kind == "weekday":
            return _weekday_date(m, today)
        if kind == "in_n":
            n = _count(m.group(1))
            unit = m.group(2).lower()
            if unit == "day":
                return today + timedelta(days=n)
            if unit == "week":
                return today + timedelta(weeks=n)
            month_index = today.month - 1 + n
            return _clamp(today.year + month_index // 12, month_index % 12 + 1, today.day)
        if kind == "next_unit":
            which, unit = m.group(1).lower(), m.group(2).lower()
            if unit == "week":
                monday = today - timedelta(days=today.weekday())
                return monday + timedelta(weeks=1) if which == "next" else today
            if which == "next":
                return _clamp(today.year + (today.month // 12), today.month % 12 + 1, 1)
            return today
        if kind == "ordinal":
            day = int(m.group(1))
            candidate = _clamp(today.year, today.month, day)
            if candidate.day != day:
                return None
            if future and candidate < today:
                candidate = _clamp(today.year + (today.month // 12), today.month % 12 + 1, day)
            return candidate
    except (ValueError, KeyError):
        return None
    return None


_FIXED_HOLIDAYS = {"new years eve": (12, 31), "new years day": (1, 1), "new years": (1, 1),
                   "christmas eve": (12, 24), "christmas day": (12, 25), "christmas": (12, 25),
                   "xmas": (12, 25), "halloween": (10, 31), "valentines day": (2, 14),
                   "independence day": (7, 4)}


def _holiday(name: str, today: date, *, future: bool) -> date:
    if name == "thanksgiving":  # the fourth Thursday of November
        def fourth_thursday(year: int) -> date:
            first = date(year, 11, 1)
            return first + timedelta(days=(3 - first.weekday()) % 7 + 21)

        day = fourth_thursday(today.year)
        return fourth_thursday(today.year + 1) if future and day < today else day
    month, day_of_month = _FIXED_HOLIDAYS[name]
    return date(_year(None, today, month, day_of_month, future=future), month, day_of_month)


def _count(word: str) -> int:
    word = word.lower()
    if word.isdigit():
        return int(word)
    if word.startswith("a ") and word[2:] in _NUMBER_WORDS:
        word = word[2:]
    return _NUMBER_WORDS[word]


def _clamp(year: int, month: int, day: int) -> date:
    for d in (day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError("no such date")


def _weekday_date(m: re.Match[str], today: date) -> date:
    qualifier = (m.group(1) or "").lower()
    target = _weekday(m.group(2))
    ahead = (target - today.weekday()) % 7
    tail = m.group(0)[m.end(2) - m.start():].lower()
    if qualifier == "last":
        back = (today.weekday() - target) % 7 or 7
        return today - timedelta(days=back)
    if "after next" in tail:
        return today + timedelta(days=(ahead or 7) + 7)
    if qualifier == "next" or tail.strip() == "next":
        # "next Friday" is the Friday of next week (weeks start on Monday).
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=target)
    return today + timedelta(days=ahead)


_TIME_RE = re.compile(
    r"\b(?:(at|@|by|from|after|before|around|about)\s+)?"
    r"(?<![\d.,])(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?|am|pm|h|o'?clock)?"
    r"(?![\d/.:a-z-])",
    re.I,
)
_HOUR_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_SPOKEN_RE = re.compile(r"\b(quarter past|half past|quarter to)\s+(\w+)", re.I)
_NAMED_TIMES = {"noon": time(12, 0), "midday": time(12, 0), "midnight": time(0, 0)}


_LATER_IN_DAY = re.compile(r"\b(afternoon|evening|tonight|night|p\.?m\.?)\b", re.I)
_EARLIER_IN_DAY = re.compile(r"\b(morning|a\.?m\.?|breakfast)\b", re.I)


def _later_in_day(text: str, start: int, end: int) -> bool:
    """Whether words near a bare hour put it after noon ("evening at 8", "8 tonight")."""
    near = text[max(0, start - 30):end + 30]
    return bool(_LATER_IN_DAY.search(near)) and not _EARLIER_IN_DAY.search(near)


def find_times(text: str) -> list[TimeMatch]:
    """Times of day: "3pm", "3:30 pm", "15:30", "at 3", "noon". Bare numbers are not times."""
    found: list[TimeMatch] = []
    for m in _TIME_RE.finditer(text):
        prep, hour_text, minute_text, suffix = m.groups()
        hour = int(hour_text)
        minute = int(minute_text) if minute_text else 0
        suffix = (suffix or "").lower().replace(".", "")
        if not (minute_text or suffix or prep):
            continue
        if prep and not (minute_text or suffix):
            if prep.lower() not in ("at", "@", "around", "about", "by"):
                continue
            after = text[m.end():m.end() + 12].lower()
            if re.match(r"\s*(day|week|month|year|min|hour|people|person|guest|patient)", after):
                continue
            if hour > 12:
                continue
            early = _EARLIER_IN_DAY.search(text[max(0, m.start() - 30):m.end() + 30])
            hour = hour + 12 if 1 <= hour <= 6 and not early else hour
        if suffix in ("pm",) and hour < 12:
            hour += 12
        elif suffix in ("am",) and hour == 12:
            hour = 0
        elif not suffix and 1 <= hour <= 11 and _later_in_day(text, m.start(), m.end()):
            hour += 12  # "tomorrow evening at 8", "4:30 in the afternoon", "9:45 tonight"
        if hour > 23 or minute > 59:
            continue
        start = m.start(2) if not prep else m.start()
        found.append(TimeMatch(time(hour, minute), start, m.end(), text[start:m.end()].strip()))
    for m in _SPOKEN_RE.finditer(text):
        spoken = _HOUR_WORDS.get(m.group(2).lower()) or (int(m.group(2)) if m.group(2).isdigit()
                                                          else None)
        if spoken is None or not 1 <= spoken <= 12:
            continue
        hour = spoken
        phrase = m.group(1).lower()
        minute = {"quarter past": 15, "half past": 30, "quarter to": 45}[phrase]
        if phrase == "quarter to":
            hour = hour - 1 or 12
        later = text[m.end():m.end() + 25].lower()
        evening = bool(re.search(r"\b(pm|p\.m\.|tonight|evening|night)\b", later)) or \
            bool(re.search(r"\btonight\b", text[max(0, m.start() - 25):m.start()].lower()))
        if evening and hour < 12:
            hour += 12
        elif not evening and 1 <= hour <= 6:
            hour += 12
        found.append(TimeMatch(time(hour, minute), m.start(), m.end(), m.group(0)))
    for word, value in _NAMED_TIMES.items():
        for m in re.finditer(rf"\b{word}\b", text, re.I):
            if m.group(0)[0].isupper() and re.match(r"\s+[A-Z]", text[m.end():]):
                continue  # part of a name: "Midnight Orchard"
            found.append(TimeMatch(value, m.start(), m.end(), m.group(0)))
    found.sort(key=lambda t: t.start)
    return found


_PART_OF_DAY = {"morning": "morning", "afternoon": "afternoon", "evening": "evening",
                "tonight": "evening", "night": "evening", "lunchtime": "afternoon",
                "am": "morning", "pm": "afternoon"}


def part_of_day(text: str) -> tuple[str, int, int] | None:
    """The part of day named in the text ("morning", "afternoon", "evening"), with its span."""
    for m in re.finditer(r"\b(morning|afternoon|evening|tonight|night|lunchtime)\b", text, re.I):
        return _PART_OF_DAY[m.group(1).lower()], m.start(), m.end()
    return None


_DURATION_RE = re.compile(
    r"\b(\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|ten|fifteen|twenty|thirty|forty-five|"
    r"half an?)\s*-?\s*(minutes?|mins?|hours?|hrs?|h|days?|weeks?)\b", re.I)


def find_durations(text: str) -> Iterator[tuple[timedelta, int, int, str]]:
    """Durations such as "30 minutes", "half an hour", "2 hours", "three days"."""
    for m in _DURATION_RE.finditer(text):
        amount_text, unit = m.group(1).lower(), m.group(2).lower()
        if amount_text.startswith("half"):
            amount = 0.5
        elif amount_text.replace(".", "", 1).isdigit():
            amount = float(amount_text)
        else:
            amount = float(_NUMBER_WORDS.get(amount_text, 1))
        if unit.startswith(("min", "m")):
            delta = timedelta(minutes=amount)
        elif unit.startswith("h"):
            delta = timedelta(hours=amount)
        elif unit.startswith("d"):
            delta = timedelta(days=amount)
        else:
            delta = timedelta(weeks=amount)
        yield delta, m.start(), m.end(), m.group(0)

