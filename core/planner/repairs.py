"""Repairs after the fields are filled, over the whole set of arguments rather than one field.

A period ("next week", "in December") fills both ends of a from/to pair of dates; a start date
after its end date is swapped with it; a full name in a first-name field is split across first
and last name; a tool whose one required argument is free text takes the request itself.

What lives elsewhere: filling each field (:mod:`.slots`); the cue rule that sends "to Friday" to
the new date of a tool that moves something (:func:`.cues.destination_date`), applied before
filling.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ..plan import Span
from .cues import name_words
from .fields import FieldSpec
from .lexicon import lexicon
from .temporal import MONTHS
from .texts import whole_text

if TYPE_CHECKING:
    from .slots import Filled

__all__ = ["order_range", "period_range", "split_full_name", "whole_request"]

_LEX = lexicon("en")

_PERIOD_RE = re.compile(r"\b(?:(this|next) (week|month)|(?:in|during|for) (" + "|".join(MONTHS)
                        + r"))\b", re.I)
_START_NAMES = {"start", "from", "begin", "since"}
_END_NAMES = {"end", "until", "to", "through"}
_FIRST: frozenset[str] = _LEX.first_name_fields
_LAST: frozenset[str] = _LEX.last_name_fields
_WHOLE_REQUEST_WORDS: frozenset[str] = _LEX.whole_request_fields


def period_range(specs: Sequence[FieldSpec], filled: Filled, text: str, today: date) -> None:
    """A period ("next week", "in December") fills both ends of a from/to pair of dates."""
    dates = [f for f in specs if f.kind == "date"]
    starts = [f for f in dates if set(f.name.split("_")) & _START_NAMES]
    ends = [f for f in dates if set(f.name.split("_")) & _END_NAMES]
    if len(starts) != 1 or len(ends) != 1 or ends[0].name in filled.arguments:
        return
    m = _PERIOD_RE.search(text)
    if m is None:
        return
    start_name, end_name = starts[0].name, ends[0].name
    if m.group(3):
        month = MONTHS.index(m.group(3).lower()) + 1
        year = today.year + (month < today.month)
        first = date(year, month, 1)
    elif m.group(2).lower() == "week":
        monday = today - timedelta(days=today.weekday())
        first = monday + timedelta(days=7) if m.group(1).lower() == "next" else today
    else:
        month_start = date(today.year, today.month, 1)
        first = (month_start if m.group(1).lower() == "this" else
                 (month_start + timedelta(days=32)).replace(day=1))
        first = max(first, today)
    if m.group(2) and m.group(2).lower() == "week":
        last = first + timedelta(days=6 - first.weekday())
    else:
        last = (first.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    span = Span(start=m.start(), end=m.end(), text=m.group(0))
    current = filled.arguments.get(start_name)
    if current is not None and not (first <= current <= last):
        return  # the start was another date the user gave
    filled.arguments[start_name] = first
    filled.arguments[end_name] = last
    filled.spans[start_name] = filled.spans.get(start_name, span)
    filled.spans[end_name] = span


def order_range(specs: Sequence[FieldSpec], filled: Filled) -> None:
    """A start date after its end date was assigned the wrong way round: swap them."""
    dates = [f for f in specs if f.kind in ("date", "datetime") and f.name in filled.arguments]
    starts = [f for f in dates if name_words(f) & _LEX.date_field_words["start"]]
    ends = [f for f in dates if name_words(f) & _LEX.date_field_words["end"]]
    if len(ends) == 1 and not starts and len(dates) == 2:
        starts = [f for f in dates if f is not ends[0]]
    if len(starts) == 1 and len(ends) == 1:
        a, b = starts[0].name, ends[0].name
        if filled.arguments[a] > filled.arguments[b]:
            filled.arguments[a], filled.arguments[b] = filled.arguments[b], filled.arguments[a]
            if a in filled.spans and b in filled.spans:
                filled.spans[a], filled.spans[b] = filled.spans[b], filled.spans[a]


def split_full_name(specs: Sequence[FieldSpec], filled: Filled) -> None:
    """"Ivo Brandt" in ``first_name`` with ``last_name`` empty (or in ``last_name`` with
    ``first_name`` empty): split it."""
    names = sorted(f.name for f in specs)
    first = next((n for n in names if n.lower() in _FIRST), None)
    last = next((n for n in names if n.lower() in _LAST), None)
    if not first or not last:
        return
    if first not in filled.arguments and isinstance(filled.arguments.get(last), str) \
            and len(str(filled.arguments[last]).split()) >= 2:
        filled.arguments[first] = filled.arguments.pop(last)  # the whole name, split below
        if last in filled.spans:
            filled.spans[first] = filled.spans.pop(last)
    if last in filled.arguments:
        return
    value = filled.arguments.get(first)
    if not isinstance(value, str):
        return
    if "," in value:  # "Brandt, Ivo"
        family, _, given = value.partition(",")
        parts = [given.strip(), family.strip()]
    else:
        tokens = value.split()
        if len(tokens) < 2:
            return
        parts = [" ".join(tokens[:-1]), tokens[-1]]
    span = filled.spans.get(first)
    filled.arguments[first], filled.arguments[last] = parts
    if span is not None:
        cut = span.text.find(parts[1]) if "," not in value else 0
        if cut > 0:
            filled.spans[first] = Span(start=span.start, end=span.start + cut - 1,
                                       text=span.text[:cut - 1])
            filled.spans[last] = Span(start=span.start + cut, end=span.end,
                                      text=span.text[cut:])
        else:
            filled.spans[last] = span


def whole_request(specs: Sequence[FieldSpec], filled: Filled, text: str) -> None:
    """A tool whose one required argument is free text ("question", "query") and still empty:
    the request itself is that text."""
    required = [f for f in specs if f.required]
    if (len(required) == 1 and required[0].kind == "text"
            and required[0].name.lower() in _WHOLE_REQUEST_WORDS
            and required[0].name not in filled.arguments):
        whole = whole_text(text)
        if whole is not None:
            filled.arguments[required[0].name] = whole.value
            filled.spans[required[0].name] = Span(start=whole.start, end=whole.end,
                                                  text=whole.text)
