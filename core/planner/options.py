"""Picking one of the options the previous answer listed: "the first one", "the 9:30 one".

When a step's result lists records (free slots, found restaurants), the runtime keeps their
plain values as the conversation's *options* (:attr:`lamworks.DialogState.options`). A later
request may point at one of them:

- by position: "the first one", "the second", "option 3", "the last one";
- by a value only one option has: "the 9:30 one", "the one in the attic".

The picked option then fills the fields of the next tool that the person did not state: by
field name (``room`` → ``room``), and an option's date-time (``start``) gives
the date and time fields. Nothing here knows a domain: the options are whatever a tool returned,
the positions come from the locale's lexicon.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .fields import FieldSpec
from .lexicon import lexicon

__all__ = ["agreeing_options", "option_values", "pick_option"]

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _position_pattern(locale: str) -> re.Pattern[str]:
    words = lexicon(locale)
    ordinals = "|".join(sorted(map(re.escape, words.option_ordinals), key=len, reverse=True))
    nouns = "|".join(map(re.escape, words.option_nouns))
    labels = "|".join(map(re.escape, words.option_labels))
    return re.compile(
        rf"\b(?:(?P<ord>{ordinals})\s+(?:{nouns})\b|(?:{labels})\.?\s*#?(?P<num>\d{{1,2}})\b|"
        rf"^\W*(?:the\s+)?(?P<alone>{ordinals})\W*(?:please)?\W*$)", re.I)


def _position(text: str, count: int, locale: str) -> int | None:
    match = _position_pattern(locale).search(text)
    if match is None:
        return None
    ordinals = lexicon(locale).option_ordinals
    word = match.group("ord") or match.group("alone")
    number = int(ordinals[word.lower()]) if word else int(match.group("num"))
    index = count - 1 if number == -1 else number - 1
    return index if 0 <= index < count else None


def option_values(option: Mapping[str, Any], specs: Sequence[FieldSpec]) -> dict[str, Any]:
    """What one option gives each field of a tool: the value of the same name; else the
    option's date-time gives the first *required* date field (the day of the thing offered,
    never an optional date such as a birth date) and the first time field."""
    stamp = next((str(v) for v in option.values() if isinstance(v, str) and _DATETIME.match(v)),
                 None)
    when = dt.datetime.fromisoformat(stamp) if stamp else None
    values: dict[str, Any] = {}
    for spec in specs:
        if spec.name in option and isinstance(option[spec.name], str | int | float | bool):
            values[spec.name] = option[spec.name]
    if when is not None:
        day = next((s for s in specs if s.kind == "date" and s.required
                    and s.name not in option), None)
        at = next((s for s in specs if s.kind == "time" and s.name not in option), None)
        if day is not None:
            values[day.name] = when.date().isoformat()
        if at is not None:
            values[at.name] = when.time().replace(tzinfo=None).isoformat()
    return values


def _agrees(stated: Any, offered: Any) -> bool:
    a, b = str(stated).strip().lower(), str(offered).strip().lower()
    if a == b:
        return True
    words_a, words_b = set(re.findall(r"\w+", a)), set(re.findall(r"\w+", b))
    return bool(words_a) and words_a <= words_b  # "ms lee" agrees with "ms. lena lee"


def pick_option(text: str, stated: Mapping[str, Any], options: Sequence[Mapping[str, Any]],
                specs: Sequence[FieldSpec], *, locale: str = "en") -> dict[str, Any] | None:
    """The option ``text`` points at, as values for the fields in ``specs``; ``None`` when it
    points at none (or at several).

    ``stated`` holds the values the slot filler found in ``text``: an option is picked by value
    when it is the only one that agrees with every stated value the options carry.

    >>> from lamworks.planner.fields import FieldSpec
    >>> specs = [FieldSpec(name="room", kind="text", required=True),
    ...          FieldSpec(name="date", kind="date", required=True),
    ...          FieldSpec(name="time", kind="time", required=False)]
    >>> listed = [{"start": "2031-05-06T09:00:00+02:00", "room": "Attic"},
    ...           {"start": "2031-05-06T09:30:00+02:00", "room": "Attic"}]
    >>> pick_option("the second one", {}, listed, specs)["time"]
    '09:30:00'
    >>> pick_option("the 9:30 one please", {"time": "09:30:00"}, listed, specs)["date"]
    '2031-05-06'
    >>> pick_option("the attic", {"room": "Attic"}, listed, specs) is None  # both are
    True
    """
    if not options:
        return None
    candidates = [option_values(o, specs) for o in options]
    index = _position(text, len(options), locale)
    if index is not None:
        return candidates[index]
    agreeing = agreeing_options(stated, candidates)
    # Several agree: the stated values single none out ("9:30" when three rooms are free then).
    return dict(agreeing[0]) if len(agreeing) == 1 else None


def agreeing_options(stated: Mapping[str, Any],
                     candidates: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The options (as field values) that agree with every stated value they carry; none when
    no stated value is one the options carry."""
    shared = [name for name in stated if any(name in c for c in candidates)]
    if not shared:
        return []
    return [c for c in candidates if all(_agrees(stated[n], c.get(n, "")) for n in shared)]
