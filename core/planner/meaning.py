"""An enum's value by meaning: a word of the request whose embedding lies near one value and
clearly nearer to it than to the others ("a lawn court" → ``grass``, "a football match" →
``Sports``).

Used only when no spelling, synonym or ``x-synonyms`` phrase named a value (:mod:`.choices`
runs first). Only a value the schema lists is ever chosen. The words compared are the
request's content words (no function words, no words of the tool itself, none already taken
by another field); their vectors come from the planner's embedder, and the planner keeps them
in memory (a word is embedded once per process).

The two thresholds are set a priori, from a handful of word/value pairs written for the
purpose (none from an evaluation set): a related word scores 0.45-0.7 against its value and
under 0.35 against unrelated ones; antonyms ("cheap" against "inexpensive" / "expensive")
score alike, which the margin refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .candidates import NOT_NAMES, Candidate, overlaps
from .fields import FieldSpec

__all__ = ["MIN_MARGIN", "MIN_SIMILARITY", "MIN_SIMILARITY_ASKED", "WordEmbedder",
           "read_enums_by_meaning", "word_enum"]

WordEmbedder = Callable[[Sequence[str]], Any]
"""Texts → one unit-length row per text (``Embedder.embed_documents`` fits)."""

MIN_SIMILARITY = 0.45
"""The cosine a word must reach against the value it names."""
MIN_MARGIN = 0.10
"""How much nearer to that value than to the next one."""
MIN_SIMILARITY_ASKED = 0.35
"""The cosine for the field the person was just asked about ("what kind of event?" → "I like
Match events"): the question already says what the answer is about, so a looser relation
does (the margin still applies)."""
_MAX_WORDS = 12
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]{2,}")


def word_enum(spec: FieldSpec) -> bool:
    """An enum of two or more words (not numbers, not a yes/no pair): one meaning can pick."""
    values = [v for v in spec.enum if isinstance(v, str)]
    return len(values) >= 2 and len(values) == len(spec.enum)


def read_enums_by_meaning(specs: Sequence[FieldSpec], text: str, used: list[tuple[int, int]],
                          embed: WordEmbedder, stops: frozenset[str],
                          asked: str | None = None) -> dict[str, Candidate]:
    """The value each word enum of ``specs`` that one word of ``text`` means, by field name,
    with one call to ``embed`` (the values of all of them and the words of the text together);
    a word serves one field at most, and ``used`` grows by the words taken. ``asked``: the
    field the person was just asked about (:data:`MIN_SIMILARITY_ASKED`).

    >>> import numpy as np
    >>> table = {"concert": [1.0, 0.1], "music": [0.9, 0.3], "sports": [0.2, 1.0]}
    >>> fake = lambda texts: np.array([table[t.lower()] for t in texts])
    >>> spec = FieldSpec(name="category", kind="enum", required=True,
    ...                  enum=("Music", "Sports"))
    >>> read_enums_by_meaning([spec], "a concert please", [], fake, frozenset())["category"].value
    'Music'
    """
    specs = [s for s in specs if word_enum(s)]
    words = [m for m in _WORD.finditer(text)
             if m.group(0).lower() not in NOT_NAMES and m.group(0).lower() not in stops
             and not any(overlaps((m.start(), m.end()), u) for u in used)][:_MAX_WORDS]
    if not specs or not words:
        return {}
    labels = [str(v).replace("_", " ") for s in specs for v in s.enum]
    vectors = _unit(np.asarray(embed([*labels, *(m.group(0).lower() for m in words)]),
                               dtype=np.float32))
    word_vectors, offset = vectors[len(labels):], 0
    out: dict[str, Candidate] = {}
    for spec in specs:
        values = list(spec.enum)
        similarity = word_vectors @ vectors[offset:offset + len(values)].T  # words x values
        offset += len(values)
        best: tuple[float, int, int] | None = None
        for i, row in enumerate(similarity):
            m = words[i]
            if any(overlaps((m.start(), m.end()), u) for u in used):
                continue
            order = np.argsort(-row)
            top, second = float(row[order[0]]), float(row[order[1]])
            floor = MIN_SIMILARITY_ASKED if spec.name == asked else MIN_SIMILARITY
            if top >= floor and top - second >= MIN_MARGIN \
                    and (best is None or top > best[0]):
                best = (top, i, int(order[0]))
        if best is None:
            continue
        m = words[best[1]]
        out[spec.name] = Candidate(values[best[2]], m.start(), m.end(), m.group(0),
                                   score=best[0])
        used.append((m.start(), m.end()))
    return out


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)
