"""Reading a value the schema offers: an enum's value by its spellings and synonyms, a flag
(a boolean, or an enum of yes/no) by the words of its name.

Only a value the schema lists is ever chosen, so the words of a phrase cannot invent an option;
a negated mention ("not spicy", "non smoking") unsets a flag and never picks an enum value, and
a yes/no question about a result ("is it ...?") sets nothing.

What lives elsewhere: counts offered as choices ("1".."4") are found as numbers (:mod:`.slots`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .candidates import NOT_NAMES, Candidate, alternation, overlaps
from .fields import FieldSpec
from .lexicon import lexicon
from .normalise import NUMBER_WORDS
from .temporal import part_of_day

__all__ = ["boolean_like", "numeric_enum", "read_enum", "read_flag", "read_flag_enum"]

_LEX = lexicon("en")

_GENERIC_FLAG_WORDS: frozenset[str] = _LEX.generic_flag_words
_ASKS_ABOUT = re.compile(
    rf"^\W*(?:{alternation(_LEX.question_auxiliaries)})\s+"
    rf"(?!(?:{alternation(_LEX.requesting_subjects)})\b)\w", re.I)


def read_enum(spec: FieldSpec, text: str, used: list[tuple[int, int]]) -> Candidate | None:
    """The value of ``spec.enum`` the text names, by its longest unnegated mention, else the
    part of the day ("in the morning") when the values name one."""
    lowered = text.lower()
    best: Candidate | None = None
    for value, pattern in _enum_patterns(spec):
        for m in pattern.finditer(lowered):
            if any(overlaps((m.start(), m.end()), u) for u in used):
                continue
            if _negated(lowered, m.start()):
                continue  # "not spicy", "no X": not this value
            if " " not in m.group(0) and m.group(0) != str(value).lower() \
                    and _after_place_preposition(lowered, m.start()):
                continue  # "a flight to France" names a place, not "Air France"
            if best is None or (m.end() - m.start()) > (best.end - best.start):
                best = Candidate(value, m.start(), m.end(), text[m.start():m.end()])
    if best is None and spec.enum and all(isinstance(v, str) for v in spec.enum):
        pod = part_of_day(text)
        if pod and pod[0] in spec.enum:
            return Candidate(pod[0], pod[1], pod[2], text[pod[1]:pod[2]])
    return best


_PATTERNS: dict[tuple[Any, ...], list[tuple[Any, re.Pattern[str]]]] = {}


def _enum_patterns(spec: FieldSpec) -> list[tuple[Any, re.Pattern[str]]]:
    """Each value of ``spec.enum`` with one compiled pattern of all its phrases (longest
    first), built once per field (a request reads the same fields again and again)."""
    key = (spec.name, tuple(map(str, spec.enum)),
           tuple(sorted((str(k), v) for k, v in spec.synonyms.items())))
    found = _PATTERNS.get(key)
    if found is None:
        if len(_PATTERNS) > 4096:
            _PATTERNS.clear()
        found = [(value, re.compile(rf"(?<![\w])(?:{'|'.join(_enum_phrases(spec, value))})"
                                    rf"(?![\w])")) for value in spec.enum]
        _PATTERNS[key] = found
    return found


def _after_place_preposition(lowered: str, start: int) -> bool:
    before = re.findall(r"[a-z]+", lowered[max(0, start - 12):start])
    return bool(before) and before[-1] in _LEX.location_prepositions


def _enum_phrases(spec: FieldSpec, value: Any) -> list[str]:
    """Regex phrases that mean ``value``: its spellings, its words in any order (a value
    ``red_large`` is also "large red"), a number as a word ("2" ← "two"),
    the specialist for the specialty (generic English morphology: "dermatology" ←
    "dermatologist", "pediatrics" ← "pediatrician"), and the schema's own ``x-synonyms``.
    Only a value the schema offers is ever chosen, so a phrase cannot invent an option."""
    text = str(value).lower()
    options = _variants(text)
    for phrase in spec.synonyms.get(value, ()):
        options |= _variants(phrase)
    words = re.split(r"[\s_-]+", text)
    if 1 < len(words) <= 3:
        options |= {" ".join(p) for p in _permutations(words)}
        # When the values share a head word ("kitchen speaker", "bedroom speaker"), the word
        # only this value has ("kitchen") names it too; the shared word ("speaker") names none.
        others = {w for v in spec.enum if v != value
                  for w in re.split(r"[\s_-]+", str(v).lower())}
        if any(w in others for w in words):
            options |= {w for w in words if len(w) >= 4 and w.isalpha() and w not in others
                        and w not in NOT_NAMES and w not in spec.name.lower().split("_")}
    if text.isdigit():
        options |= {w for w, n in NUMBER_WORDS.items() if n == int(text) and " " not in w}
    if text.endswith("ology"):
        options.update({text[:-1] + "ist", text[:-1] + "ists", text[:-1] + "ical"})
    elif text.endswith("ics"):
        options.update({text[:-1] + "ian", text[:-1] + "ians", text[:-1]})
    patterns = []
    for option in sorted(options, key=lambda o: (-len(o), o)):
        escaped = re.escape(option).replace(r"\ ", r"[\s_-]+")
        patterns.append(escaped)
    return patterns


def _variants(phrase: str) -> set[str]:
    """Spellings of a value or phrase: case, underscores and hyphens as spaces or joined, and
    the plural."""
    text = " ".join(str(phrase).lower().split())
    spaced = re.sub(r"[_-]+", " ", text)
    out = {text, spaced, spaced.replace(" ", "-"), spaced.replace(" ", "")}
    if spaced and not spaced.endswith("s") and spaced[-1].isalpha():
        out |= {spaced + "s", spaced + "es" if spaced.endswith(("ch", "sh", "x")) else
                spaced + "s"}
    return {o for o in out if o}


def _permutations(words: list[str]) -> list[tuple[str, ...]]:
    from itertools import permutations

    return sorted(set(permutations(words)))


def _negated(lowered: str, start: int) -> bool:
    """Whether a negation word stands right before ``start`` ("no", "not", "without")."""
    before = lowered[max(0, start - 12):start]
    return bool(re.search(rf"(?<!\w)(?:{alternation(_LEX.negation_words)})\s+(?:\w+\s+)?$",
                          before)) and not re.search(r"\b(?:not only|no matter)\s", before)


def numeric_enum(spec: FieldSpec) -> bool:
    """An enum whose values are all whole numbers ("1", "2", "3")."""
    return spec.kind == "enum" and bool(spec.enum) and all(
        isinstance(v, int) and not isinstance(v, bool) or isinstance(v, str) and v.isdigit()
        for v in spec.enum)


def boolean_like(values: Sequence[Any]) -> bool:
    """An enum of two values that mean yes and no ("True"/"False", "yes"/"no")."""
    lowered = {str(v).lower() for v in values}
    truthy, falsy = _LEX.boolean_values["true"], _LEX.boolean_values["false"]
    return len(values) == 2 and len(lowered & truthy) == 1 and len(lowered & falsy) == 1


def read_flag_enum(spec: FieldSpec, text: str, used: list[tuple[int, int]]) -> Candidate | None:
    """A boolean-like enum read as a flag from the field's name words and synonyms."""
    found = read_flag(spec, text, used)
    if found is None:
        return None
    truthy = _LEX.boolean_values["true"]
    value = next(v for v in spec.enum if (str(v).lower() in truthy) == found.value)
    return replace(found, value=value)


def read_flag(spec: FieldSpec, text: str,
              used: Sequence[tuple[int, int]] = ()) -> Candidate | None:
    """A flag is set when its words are mentioned ("nonstop", "all day"), unset when negated
    ("non smoking", "without ..."). Unmentioned flags stay empty (their default applies)."""
    for phrase in _flag_phrases(spec):
        for m in re.finditer(rf"(?<!\w)(non[\s-]?)?({phrase})\w*(?!\w)", text, re.I):
            if any(overlaps((m.start(), m.end()), u) for u in used):
                continue
            if _asks_about(text, m.start()):
                return None  # "is it ...?": a question about a result, not a wish
            value = not (m.group(1) or _negated(text.lower(), m.start()))
            return Candidate(value, m.start(), m.end(), m.group(0))
    return None


def _flag_phrases(spec: FieldSpec) -> list[str]:
    """Regex phrases that mention a flag: the distinctive words of its name, together or
    alone, and the schema's ``x-synonyms``."""
    parts = [w for w in re.split(r"[_\W]+", spec.name.lower()) if w]
    distinctive = [w for w in parts if w not in _GENERIC_FLAG_WORDS and len(w) > 2]
    phrases = []
    if len(distinctive) > 1:
        phrases.append(r"[\s_-]?".join(map(re.escape, distinctive)))
    phrases.extend(re.escape(w) for w in sorted(distinctive, key=len, reverse=True)
                   if len(w) >= 5 or len(distinctive) == 1)
    synonyms = sorted(spec.synonyms.get(True, ()), key=lambda p: (-len(p), p))
    phrases[:0] = [re.escape(p.lower()).replace(r"\ ", r"[\s_-]+") for p in synonyms]
    return phrases


def _asks_about(text: str, position: int) -> bool:
    """Whether ``position`` is inside a yes/no question about something already offered
    ("is it ...?", "are pets ...?"), which asks for information rather than states a wish;
    "do you have ...?" and "is there ...?" are requests and do not count."""
    start = max(text.rfind(mark, 0, position) for mark in ".!?") + 1
    return bool(_ASKS_ABOUT.match(text[start:position + 1]))
