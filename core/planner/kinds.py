"""A field that says which kind of thing is wanted, read from the word that qualifies the thing:
"some pop songs", "a drama movie", "Jazz events", "Mexican food".

A *kind field* is a free-text field (no ``enum``) whose name says kind ("genre", "category",
"type": the locale's ``kind_field_words``). The *things* it qualifies come from the schema
alone: the noun after "of" in the field's description ("Genre of the song"), and the words of
the tool's name after its verb (``find_movies``: "movies"). The kind is the word right before
one of those things, in any inflection ("songs", "song"), unless it says nothing about kind:
a function word, a number, an evaluative or quantity word ("nice", "other": the locale's
``not_kinds``), a word of an enum value (that field reads it) or a word of the tool itself,
an owner ("Sia's songs"), the end of a name ("Frank Ocean songs"), a doing or a manner
("listening songs", "mostly songs").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..tools import Tool
from .candidates import NOT_NAMES, Candidate, overlaps
from .cues import name_words, stems
from .fields import FieldSpec
from .lexicon import lexicon
from .normalise import NUMBER_WORDS

__all__ = ["described_things", "kind_field", "read_kind", "things"]

_LEX = lexicon("en")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_OF_THING = re.compile(r"\bof\s+(?:the\s+|a\s+|an\s+)?([a-z]+)", re.I)


def kind_field(spec: FieldSpec) -> bool:
    """A free-text field naming a kind ("genre", "category", "type"), not a choice list.

    >>> kind_field(FieldSpec(name="genre", kind="text", required=False))
    True
    >>> kind_field(FieldSpec(name="event_type", kind="enum", required=True,
    ...                      enum=("Music", "Sports")))
    False
    """
    return spec.kind in ("text", "title") and not spec.enum \
        and bool(name_words(spec) & _LEX.kind_field_words)


def described_things(spec: FieldSpec) -> set[str]:
    """The nouns after "of" in a field's description, lower case ("Name of the theatre":
    "theatre")."""
    return {m.group(1).lower() for m in _OF_THING.finditer(spec.description or "")}


def things(spec: FieldSpec, tool: Tool) -> frozenset[str]:
    """What ``spec`` says the kind of, in every inflection: the noun after "of" in its
    description and the tool name's words after the verb."""
    found = described_things(spec)
    found |= set(tool.name.rsplit(".", 1)[-1].lower().split("_")[1:])
    found = {w for w in found if len(w) >= 3 and w not in NOT_NAMES}
    return frozenset(stems(sorted(found)))


def read_kind(text: str, used: Sequence[tuple[int, int]], heads: frozenset[str],
              skip: frozenset[str]) -> Candidate | None:
    """The word qualifying one of ``heads`` in ``text``, outside ``used`` and not one of
    ``skip`` (enum values' and the tool's own words).

    >>> read_kind("find me some nice songs, maybe country songs", [],
    ...           frozenset({"song", "songs"}), frozenset()).value
    'country'
    """
    words = list(_WORD.finditer(text))
    for i, head in enumerate(words[1:], start=1):
        if not stems([head.group(0).lower()]) & heads:
            continue
        word = words[i - 1]
        if text[word.end():head.start()].strip():
            continue  # punctuation between: "songs, country" qualifies nothing
        lowered = word.group(0).lower()
        if len(lowered) < 3 or lowered in NOT_NAMES or lowered in _LEX.not_kinds \
                or lowered in NUMBER_WORDS or lowered in skip or stems([lowered]) & heads \
                or lowered.endswith(("'", "’", "'s", "’s")):
            continue  # "Sia's songs", "Twenty One Pilots' songs": whose, not which kind
        if len(lowered) > 5 and lowered.endswith(("ing", "ly")):
            continue  # "listening songs", "mostly songs": a doing or a manner, not a kind
        before = words[i - 2] if i >= 2 else None
        if before is not None and word.group(0)[0].isupper() and before.group(0)[0].isupper() \
                and not text[before.end():word.start()].strip() \
                and before.group(0).lower() not in NOT_NAMES:
            continue  # the end of a name ("Frank Ocean songs"), not a kind
        if any(overlaps((word.start(), word.end()), u) for u in used):
            continue
        return Candidate(word.group(0), word.start(), word.end(), word.group(0),
                         text[max(0, word.start() - 24):word.start()].lower(), score=1.0)
    return None
