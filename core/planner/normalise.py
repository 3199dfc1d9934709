"""Turning a found span into a value: numbers from digits or words, durations in a field's unit,
and any value written as the schema declares its type.

The kind of a field says how its value was found (a date, a number); the declared JSON type says
how the value is written (a plain ``string`` field gets "YYYY-MM-DD", "HH:MM" or the number's
digits; typed formats keep Python values). Validation against the tool's argument model comes
after (:meth:`.slots.SlotFiller.fill`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from .fields import FieldSpec
from .lexicon import lexicon

__all__ = ["NUMBER_WORDS", "as_declared", "duration_in", "duration_unit", "number_value"]

_LEX = lexicon("en")

NUMBER_WORDS: dict[str, int] = {k: int(v) for k, v in _LEX.number_words.items()}


def number_value(raw: str) -> float | int | None:
    """"1,500" → 1500, "2.5" → 2.5, "one hundred and fifty" → 150, "twenty five" → 25."""
    if raw[0].isdigit():
        raw = raw.replace(",", "")
        return float(raw) if "." in raw else int(raw)
    total, current = 0, 0
    for word in re.split(r"[\s-]+", raw):
        if word == "and":
            continue
        value = NUMBER_WORDS.get(word)
        if value is None:
            return None
        if value == 100:
            current = max(current, 1) * 100
        elif value == 1000:
            total += max(current, 1) * 1000
            current = 0
        else:
            current += value
    return total + current


def duration_unit(spec: FieldSpec) -> int | None:
    """Seconds per unit for numeric fields that hold a duration ("duration_minutes")."""
    if not spec.words & _LEX.duration_field_words and "minutes" not in spec.name \
            and "hours" not in spec.name:
        return None
    if spec.words & _LEX.advance_words:
        return None
    if "hour" in spec.name or "hours" in spec.words:
        return 3600
    return 60


def duration_in(delta: timedelta, unit: int) -> int | float:
    """A duration as a number of ``unit`` seconds: whole when it is whole (90 minutes → 90)."""
    amount = delta.total_seconds() / unit
    return int(amount) if amount.is_integer() else amount


def as_declared(spec: FieldSpec, value: Any) -> Any:
    """The value written as the schema declares it: the kind says how a value was found, the
    declared type how it is written. A date found for a plain ``string`` field becomes
    "YYYY-MM-DD", a time "HH:MM", a number its digits; typed formats keep Python values."""
    typ = spec.type
    if typ == "string" and spec.format not in ("date", "date-time", "time", "duration"):
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat(timespec="minutes")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, time):
            return value.strftime("%H:%M")
        if isinstance(value, timedelta):
            return _iso_duration(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, int | float):
            return str(value)
    if typ == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if typ == "number" and isinstance(value, int) and not isinstance(value, bool):
        return value
    return value


def _iso_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    out = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return out + ("T" + clock if clock else "") if (days or clock) else "PT0M"
