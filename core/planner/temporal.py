"""Dates, times and durations in plain English, relative to the session's clock — fast.

A hand-written scanner covers what people type to an assistant ("next Sunday morning",
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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta

from .lexicon import lexicon

__all__ = ["MONTHS", "WEEKDAYS", "DateMatch", "TimeMatch", "cue", "find_dates",
           "find_durations", "find_times", "part_of_day"]

_LEX = lexicon("en")
WEEKDAYS = _LEX.ordered("weekdays")
MONTHS = _LEX.ordered("months")
_MONTH_NUMBER: dict[str, int] = {m: i + 1 for i, m in enumerate(MONTHS)} | dict(
    _LEX.month_abbreviations)
_WEEKDAY_NUMBER: dict[str, int] = {w: i for i, w in enumerate(WEEKDAYS)} | dict(
    _LEX.weekday_abbreviations)


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first (so "sept" wins over "sep")."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


_MONTH_RE = rf"({_alternation(_MONTH_NUMBER)})"
_WD_RE = rf"({_alternation(_WEEKDAY_NUMBER)})"
_NUMBER_WORDS: dict[str, int] = {k: int(v) for k, v in _LEX.number_words.items()} | {
    k: int(v) for k, v in _LEX.count_words.items()}
_ORDINAL_WORDS: dict[str, int] = {k: int(v) for k, v in _LEX.ordinal_words.items()}
_COUNT_RE = _alternation(k for k in _NUMBER_WORDS if _NUMBER_WORDS[k] <= 31)


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
    return _MONTH_NUMBER[token.lower().rstrip(".")]


def _weekday(token: str) -> int:
    return _WEEKDAY_NUMBER[token.lower()]


def cue(text: str, start: int, width: int = 30) -> str:
    """Up to three words before ``start`` (within ``width`` characters), not reaching back
    past a comma, a full stop or another number: what tells "born 2 March" from "until 2
    March" (and keeps "dob 1975-07-30 next Friday" from lending "dob" to Friday)."""
    window = re.split(r"[,;:.!?]\s|\d", text[max(0, start - width):start])[-1].lower()
    window = _CUE_PHRASES.sub(lambda m: _LEX.date_cues["phrases"][m.group(0)], window)
    return " ".join(re.findall(r"[a-z]+", window)[-3:])


_CUE_PHRASES = re.compile(rf"\b(?:{_alternation(_LEX.date_cues['phrases'])})\b")


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


_HOLIDAYS = sorted({*_LEX.fixed_holidays, *_LEX.floating_holidays}, key=lambda h: (-len(h), h))
_HOLIDAY_RE = "|".join(re.escape(h).replace("'", "'?") for h in _HOLIDAYS)
_HOLIDAY_NAMES = {h.replace("'", ""): h for h in _HOLIDAYS}
_RELATIVE_RE = _alternation(_LEX.relative_days).replace("tomorrow", "tomm?orr?ow")
_ORDINAL = rf"(\d{{1,2}})(?:st|nd|rd|th)|({_alternation(_ORDINAL_WORDS)})"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("numeric", re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?\b")),
    ("day_month", re.compile(rf"\b(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+"
                             rf"{_MONTH_RE}\b\.?(?:,?\s+(\d{{4}}))?\b", re.I)),
    ("month_day", re.compile(rf"\b{_MONTH_RE}\b\.?\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?"
                             r"(?:,?\s+(\d{4}))?\b", re.I)),
    ("holiday", re.compile(rf"\b({_HOLIDAY_RE})\b", re.I)),
    ("relative_day", re.compile(rf"\b({_RELATIVE_RE})\b", re.I)),
    # A weekday with its week before or after it: "next Friday", "Friday next week",
    # "Sunday this week", "Friday after next".
    ("weekday", re.compile(rf"\b(?:(next|this|coming|last|on)\s+)?{_WD_RE}\b"
                           r"(?:\s+(?:of\s+)?(next week|this week|the week after|next|after next)"
                           r"\b)?", re.I)),
    ("in_n", re.compile(rf"\bin\s+(\d+|{_COUNT_RE})\s+(day|week|month)s?\b", re.I)),
    ("next_unit", re.compile(r"\b(next|this)\s+(week|month)\b", re.I)),
    # "the 11th of this month" is the 11th, not the month: the ordinal wins over the month.
    ("ordinal", re.compile(rf"\b(?:on\s+)?(?:the\s+)?(?:{_ORDINAL})"
                           r"(?:\s+of\s+(this|next|the)\s+month)?(?![\w-])", re.I)),
]
"""Order matters only for ties: overlapping matches keep the earliest, then the longest."""


def find_dates(text: str, today: date, *, locale: str = "en-US",
               future: bool = True, hour: int | None = None) -> list[DateMatch]:
    """Every date in ``text``, earliest position first; overlapping matches keep the longest.

    ``future`` prefers the coming occurrence for dates without a year ("March 2"). ``hour`` is
    the hour now (0-23): a bare weekday naming today, said with a part of day that is already
    over ("Wednesday morning", said on a Wednesday afternoon), is next week's.
    """
    pod = part_of_day(text) if hour is not None else None
    part_over = pod is not None and hour is not None \
        and hour >= int(_LEX.part_of_day_ends.get(pod[0], 24))
    found: list[DateMatch] = []
    attributive: list[int] = []  # where a holiday names a thing ("the Christmas party")
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if kind == "ordinal" and not _is_date_ordinal(text, m):
                continue
            if kind == "holiday" and _names_a_thing(text, m.end()):
                attributive.append(m.start())
            value = _interpret(kind, m, today, locale=locale, future=future,
                               part_over=part_over)
            if value is not None:
                start = m.start()
                if m.group(0)[:3].lower() == "on ":  # "on Friday": the date is "Friday"
                    start += 3
                found.append(DateMatch(value, start, m.end(), text[start:m.end()],
                                       cue(text, m.start())))
    if attributive and any(d.start not in attributive for d in found):
        # "add the Christmas party on Dec 19": the date said as a date is the date.
        found = [d for d in found if d.start not in attributive]
    found.sort(key=lambda d: (d.start, -(d.end - d.start)))
    kept: list[DateMatch] = []
    for match in found:
        if kept and match.start < kept[-1].end:
            continue
        if kept and _is_weekday_word(kept[-1].text) and 0 <= match.start - kept[-1].end <= 2:
            kept[-1] = match  # "Monday May 4": the explicit date wins
            continue
        kept.append(match)
    return kept


def _is_date_ordinal(text: str, m: re.Match[str]) -> bool:
    """An ordinal is a day of the month after "the"/"on", or before "of this month"; a bare
    "2nd" or "third" elsewhere ("my third visit", "2nd floor") is not a date."""
    if m.group(3):
        return True
    lead = m.group(0).lower()
    if not lead.startswith(("the ", "on ")):
        return False
    if m.group(2):  # a spelled ordinal after "the" must not be followed by a noun
        return not re.match(r"\s+[a-z]", text[m.end():m.end() + 3]) or bool(
            re.match(r"\s+(?:of|at|in|and|or|for|to)\b", text[m.end():], re.I))
    return True


def _names_a_thing(text: str, end: int) -> bool:
    """Whether the holiday name ending at ``end`` may qualify the word after it ("the Christmas
    party", "an Easter egg hunt") rather than name the day: the next word is no function word,
    part of the day or calendar word ("Christmas morning", "Easter at 10"). Such a holiday is
    dropped only when the text says another date."""
    after = re.match(r"[ \t]+([A-Za-z]+)", text[end:])
    if after is None:
        return False
    word = after.group(1).lower()
    return word not in _LEX.not_names and word not in _LEX.parts_of_day \
        and word not in _LEX.holiday_followers and not re.fullmatch(_WD_RE, word, re.I) \
        and word[:3] not in {m[:3].lower() for m in MONTHS}


def _is_weekday_word(text: str) -> bool:
    return bool(re.fullmatch(_WD_RE, text.strip(" ,"), re.I))


def _interpret(kind: str, m: re.Match[str], today: date, *, locale: str, part_over: bool,
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
            return today + timedelta(days=int(_LEX.relative_days[word]))
        if kind == "weekday":
            return _weekday_date(m, today, part_over=part_over)
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
            day = int(m.group(1)) if m.group(1) else _ORDINAL_WORDS[m.group(2).lower()]
            which = (m.group(3) or "").lower()
            year, month = today.year, today.month
            if which == "next":
                year, month = today.year + (today.month // 12), today.month % 12 + 1
            candidate = _clamp(year, month, day)
            if candidate.day != day:
                return None
            if future and candidate < today and which != "this":
                candidate = _clamp(today.year + (today.month // 12), today.month % 12 + 1, day)
            return candidate
    except (ValueError, KeyError):
        return None
    return None


def _holiday(name: str, today: date, *, future: bool) -> date:
    name = _HOLIDAY_NAMES[re.sub(r"\s+", " ", name)]
    rule = _LEX.floating_holidays.get(name)
    if rule is not None:  # the nth weekday of a month ("the fourth Thursday of November")
        def nth(year: int) -> date:
            first = date(year, int(rule["month"]), 1)
            return first + timedelta(days=(int(rule["weekday"]) - first.weekday()) % 7
                                     + 7 * (int(rule["nth"]) - 1))

        day = nth(today.year)
        return nth(today.year + 1) if future and day < today else day
    month, day_of_month = _LEX.fixed_holidays[name]
    return date(_year(None, today, month, day_of_month, future=future), month, day_of_month)


def _count(word: str) -> int:
    word = " ".join(word.lower().split())
    if word.isdigit():
        return int(word)
    return _NUMBER_WORDS[word]


def _clamp(year: int, month: int, day: int) -> date:
    for d in (day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError("no such date")


def _weekday_date(m: re.Match[str], today: date, *, part_over: bool = False) -> date:
    qualifier = (m.group(1) or "").lower()
    target = _weekday(m.group(2))
    ahead = (target - today.weekday()) % 7
    tail = (m.group(3) or "").lower()
    if qualifier == "last":
        back = (today.weekday() - target) % 7 or 7
        return today - timedelta(days=back)
    if tail == "after next":
        return today + timedelta(days=(ahead or 7) + 7)
    monday = today - timedelta(days=today.weekday())
    if tail == "this week":
        return monday + timedelta(days=target)
    if tail == "the week after":
        return monday + timedelta(weeks=2, days=target)
    if qualifier == "next" or tail in ("next", "next week"):
        # "next Friday" is the Friday of next week (weeks start on Monday).
        return monday + timedelta(weeks=1, days=target)
    if ahead == 0 and part_over and qualifier != "this":
        return today + timedelta(days=7)  # "Wednesday morning", said on Wednesday afternoon
    return today + timedelta(days=ahead)


_FIRST_WORD: dict[int, str] = {}
for _word, _number in _LEX.number_words.items():
    if 1 <= int(_number) <= 12 and " " not in _word:
        _FIRST_WORD.setdefault(int(_number), _word)
_HOUR_WORDS = {w: n for n, w in _FIRST_WORD.items()}
"""The first word the lexicon lists for each number from 1 to 12 ("two", not "pair")."""
_SUFFIX = r"(a\.m\.?|p\.m\.?|am|pm|h|o'?clock)"
_PART_PHRASE = rf"(?:in\s+the\s+|at\s+|this\s+)?({_alternation(_LEX.parts_of_day)})"
_TIME_RE = re.compile(
    r"\b(?:(at|@|by|from|after|before|around|about|for|until|till)\s+)?"
    rf"(?<![\d.,])(\d{{1,2}})(?::(\d{{2}}))?\s*{_SUFFIX}?"
    r"(?![\d/:a-z-]|\.\d)",
    re.I,
)
_SPOKEN_HOUR_RE = re.compile(
    rf"\b(?:(at|by|around|about|for|until|till)\s+)?({_alternation(_HOUR_WORDS)})"
    rf"(?:[\s-]+({_alternation(m for m in _LEX.spoken_minutes if ' ' not in m or '-' in m)}))?"
    rf"(?:\s*{_SUFFIX}|\s+{_PART_PHRASE})?(?![\w-])", re.I)
_SPOKEN_RE = re.compile(
    rf"\b({_alternation(m for m in _LEX.spoken_minutes if ' ' in m and '-' not in m)})\s+"
    r"(\w+)", re.I)
_NAMED_TIMES = {w: time.fromisoformat(v) for w, v in _LEX.named_times.items()}
_NOT_AFTER_HOUR = re.compile(rf"\s*(?:{_alternation(_LEX.not_after_bare_hour)})", re.I)
_LATER_IN_DAY = re.compile(rf"(?<!\w)(?:{_alternation(_LEX.later_in_day)})(?!\w)", re.I)
_EARLIER_IN_DAY = re.compile(rf"(?<!\w)(?:{_alternation(_LEX.earlier_in_day)})(?!\w)", re.I)
_PART_AFTER = re.compile(rf"\s+{_PART_PHRASE}\b", re.I)


def _later_in_day(text: str, start: int, end: int) -> bool:
    """Whether words near a bare hour put it after noon ("evening at 7", "7 tonight")."""
    near = text[max(0, start - 30):end + 30]
    return bool(_LATER_IN_DAY.search(near)) and not _EARLIER_IN_DAY.search(near)


def _clock(hour: int, minute: int, suffix: str, text: str, start: int, end: int,
           *, bare: bool) -> time | None:
    """The time of day of an hour read with its suffix and the words around it."""
    suffix = suffix.lower().replace(".", "")
    after = _PART_AFTER.match(text, end)
    part = _LEX.parts_of_day.get(after.group(1).lower()) if after else None
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    elif not suffix and 1 <= hour <= 11:
        if part in ("afternoon", "evening"):
            hour += 12  # "4 in the evening", "2:15 in the afternoon"
        elif part == "morning":
            pass
        elif _later_in_day(text, start, end):
            hour += 12  # "Sunday evening at 7", "8:10 tonight"
        elif bare and 1 <= hour <= 6 and not _EARLIER_IN_DAY.search(
                text[max(0, start - 30):end + 30]):
            hour += 12  # "at 3" in business hours is the afternoon
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def find_times(text: str) -> list[TimeMatch]:
    """Times of day: "3pm", "3:30 pm", "15:30", "at 3", "noon", "three pm", "half past 11",
    "4 in the evening". Bare numbers are not times."""
    found: list[TimeMatch] = []
    for m in _TIME_RE.finditer(text):
        prep, hour_text, minute_text, suffix = m.groups()
        hour = int(hour_text)
        minute = int(minute_text) if minute_text else 0
        part_after = _PART_AFTER.match(text, m.end())
        if not (minute_text or suffix or prep or part_after):
            continue
        if prep and prep.lower() in ("for", "until", "till", "from", "after", "before") \
                and not (minute_text or suffix or part_after):
            continue
        if not (minute_text or suffix):
            if _NOT_AFTER_HOUR.match(text, m.end()) or hour > 12:
                continue
        value = _clock(hour, minute, suffix or "", text, m.start(), m.end(),
                       bare=not (minute_text or suffix))
        if value is None:
            continue
        end = part_after.end() if part_after and not suffix else m.end()
        start = m.start(2) if not prep else m.start()
        found.append(TimeMatch(value, start, end, text[start:end].strip()))
    for m in _SPOKEN_HOUR_RE.finditer(text):
        prep, word, minutes, suffix, part = m.groups()
        if not (suffix or part or (minutes and minutes.lower() in ("o'clock", "oclock"))
                or (prep and minutes)):
            continue  # "three" alone, or "for two", is a count
        value = _clock(_HOUR_WORDS[word.lower()], _LEX.spoken_minutes.get(
            (minutes or "").lower(), 0), suffix or "", text, m.start(), m.end(), bare=False)
        if value is not None:
            start = m.start(2) if not prep else m.start()
            found.append(TimeMatch(value, start, m.end(), text[start:m.end()]))
    for m in _SPOKEN_RE.finditer(text):
        word = m.group(2).lower()
        spoken = _HOUR_WORDS.get(word) or (int(word) if word.isdigit() else None)
        if spoken is None or not 1 <= spoken <= 12:
            continue
        offset = int(_LEX.spoken_minutes[" ".join(m.group(1).lower().split())])
        hour, minute = (spoken, offset) if offset >= 0 else (spoken - 1 or 12, 60 + offset)
        end = m.end()
        suffix_m = re.match(rf"\s*{_SUFFIX}(?![\w])", text[end:], re.I)
        if suffix_m:
            end += suffix_m.end()
        value = _clock(hour, minute, suffix_m.group(1) if suffix_m else "", text, m.start(),
                       end, bare=True)
        if value is None:
            continue
        part_after = _PART_AFTER.match(text, end)
        if part_after:
            end = part_after.end()
        found.append(TimeMatch(value, m.start(), end, text[m.start():end]))
    for word, value in sorted(_NAMED_TIMES.items()):
        for m in re.finditer(rf"\b{word}\b", text, re.I):
            if m.group(0)[0].isupper() and re.match(r"\s+[A-Z]", text[m.end():]):
                continue  # part of a name: "Midnight Orchard"
            found.append(TimeMatch(value, m.start(), m.end(), m.group(0)))
    found.sort(key=lambda t: (t.start, -(t.end - t.start)))
    kept: list[TimeMatch] = []
    for t in found:
        if kept and t.start < kept[-1].end:
            continue
        kept.append(t)
    return kept


_PART_OF_DAY_RE = re.compile(rf"\b({_alternation(_LEX.parts_of_day)})\b", re.I)


def part_of_day(text: str) -> tuple[str, int, int] | None:
    """The part of day named in the text ("morning", "afternoon", "evening"), with its span."""
    for m in _PART_OF_DAY_RE.finditer(text):
        return _LEX.parts_of_day[m.group(1).lower()], m.start(), m.end()
    return None


_DURATION_RE = re.compile(
    rf"\b(\d+(?:\.\d+)?|half an?|{_alternation(_NUMBER_WORDS)})\s*-?\s*"
    r"(minutes?|mins?|hours?|hrs?|h|days?|weeks?)\b", re.I)


def find_durations(text: str) -> Iterator[tuple[timedelta, int, int, str]]:
    """Durations such as "30 minutes", "half an hour", "2 hours", "three days"."""
    for m in _DURATION_RE.finditer(text):
        amount_text, unit = " ".join(m.group(1).lower().split()), m.group(2).lower()
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
