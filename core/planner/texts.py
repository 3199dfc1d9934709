"""Proposers of free text, and which of them serves a free-text field.

A pasted text after its one-sentence request (a draft, a document), a topic ("notes about river
deltas"), a reason (the closing clause), the text after a cue word ("note: ..."), and the whole
message. Each proposer is a function from the text to candidates. :func:`text_pool` reads a
free-text field's name and description to say which proposers serve it.

What lives elsewhere: names of things (:mod:`.names`), quoted text (:mod:`.proposers`).
"""

from __future__ import annotations

import re

from .candidates import NOT_NAMES, Candidate, alternation, cue_at
from .fields import FieldSpec
from .lexicon import lexicon
from .names import first_sentence

__all__ = ["find_cued_text", "find_long_tail", "find_topics", "find_trailing_clause",
           "pasted_text", "takes_long_text", "text_pool", "whole_text"]

_LEX = lexicon("en")

_TEXT_CUES = re.compile(rf"\b(?:{alternation(_LEX.text_cues)})\b[:\s]+(.+)$", re.I)
_WHOLE_FIELD_NAMES: frozenset[str] = _LEX.whole_field_names
"""A field with one of these names takes the request itself (unless part of it is quoted)."""
_LONG_TEXT_WORDS: frozenset[str] = _LEX.long_text_words
_LONG_TEXT_PHRASES: frozenset[str] = _LEX.long_text_phrases
_TOPIC_WORDS: frozenset[str] = _LEX.topic_words
_TOPIC_RE = re.compile(
    r"\b(?:on|about|for|of|regarding|covering|before)\s+(?:the\s+)?"
    r"([a-zA-Z][\w'’ -]*?)(?=\s*(?:[,.;:?!]|\d+\s+(?:\w+\s+)?(?:questions?|sessions?|"
    r"minutes?|mins?|hours?|items?|problems?|cards?)\b|\b(?:with|please|on|by|before|at|in|"
    r"next|this|due|until|tomorrow|today|it'?s)\b|$))", re.I)
_NOT_TOPICS: frozenset[str] = _LEX.not_topics
_REASON_WORDS: frozenset[str] = _LEX.reason_words
_FREE_TEXT_WORDS: frozenset[str] = _LEX.free_text_words
_POLITE: frozenset[str] = _LEX.politeness
_MIN_PASTED_WORDS = 8
_MAX_INTRO_WORDS = 25


def text_pool(spec: FieldSpec) -> str:
    """Which extractor serves a free-text field, judged by its name first, then by the words
    of its description (a field described as "the full text of ..." takes a pasted text; a
    "prompt" is a short free text)."""
    name = spec.name.lower()
    if name in _WHOLE_FIELD_NAMES:
        return "text:whole"
    if set(name.split("_")) & _REASON_WORDS:
        return "text:reason"
    if any(p in spec.description.lower() for p in _LONG_TEXT_PHRASES):
        return "text:long"
    for words in (frozenset(name.split("_")), spec.words):
        if words & _LONG_TEXT_WORDS:
            return "text:long"
        if words & _TOPIC_WORDS:
            return "text:topic"
        if words & _FREE_TEXT_WORDS:
            return "text:free"
    return "text:name"


def takes_long_text(spec: FieldSpec) -> bool:
    """Whether the field takes a whole pasted text rather than a phrase."""
    return spec.kind == "text" and text_pool(spec) == "text:long"


def pasted_text(text: str) -> tuple[int, int] | None:
    """Where a pasted text (a draft, a document) lies in a message after its one-sentence
    request, as character offsets; ``None`` when the message is all request."""
    found = find_long_tail(text)
    return (found[0].start, found[0].end) if found else None


def find_long_tail(text: str, vocabulary: frozenset[str] = frozenset()) -> list[Candidate]:
    """A pasted text after its introduction.

    The cut is, in order of trust: after the last ':', '?' or closing quote; else after the
    first sentence, when that sentence reads as a request (it has a request word of the
    lexicon or one of the tool's own words); else where a capitalised word follows a
    lower-case one after such a request. The text after the cut must be at least eight words
    long.
    """
    def candidate(cut: int, score: float) -> list[Candidate]:
        tail = text[cut:].strip()
        start = text.index(tail, cut) if tail else cut
        return [Candidate(tail, start, start + len(tail), tail, cue_at(text, start),
                          score=score)]

    intro = re.compile(rf"\b(?:{alternation(_LEX.request_words | vocabulary)})", re.I)
    cuts = [m.end() for m in re.finditer(r"[:?]\s|[\"”']\s", text)]
    for cut in reversed(cuts):
        if len(text[cut:].split()) >= _MIN_PASTED_WORDS:
            return candidate(cut, 2.0)
    starts = [m for pattern in (r"[.!]\s+(?=[A-Z\"“])",
                                r"(?<=[a-z,])\s+(?=(?!I\b|I['’])[A-Z][a-z])")
              for m in re.finditer(pattern, text)]
    for m in sorted(starts, key=lambda m: m.start()):
        head = text[:m.start()]
        if len(head.split()) > _MAX_INTRO_WORDS:
            break
        if intro.search(head) and len(text[m.end():].split()) >= _MIN_PASTED_WORDS:
            return candidate(m.end(), 2.0)
    return []


def find_topics(text: str) -> list[Candidate]:
    """"notes about river deltas" → "river deltas"."""
    out = []
    for m in _TOPIC_RE.finditer(text):
        value = re.sub(r"^(?:(?:my|our|your|his|her|their|the|a|an|this|that)\s+)+", "",
                       m.group(1).strip(" -"), flags=re.I)
        if value and value.split()[0].lower() not in NOT_NAMES \
                and value.lower() not in _NOT_TOPICS:
            start = m.start(1) + m.group(1).find(value)
            out.append(Candidate(value, start, start + len(value), value,
                                 cue_at(text, m.start(1)), score=1.2))
    return out


def find_trailing_clause(text: str) -> list[Candidate]:
    """The closing clause after a comma, dash or colon, or after a last "for": the usual
    place of a reason. Politeness alone ("…, please") is not one."""
    m = re.search(r"(?:,|\s[-–—:]|:|\bfor)\s+([^,:;–—]{2,80}?)[.!?]*\s*$", text)
    if m is None or set(re.findall(r"[a-z]+", m.group(1).lower())) <= _POLITE:
        return []
    value = m.group(1).strip()
    return [Candidate(value, m.start(1), m.start(1) + len(value), value,
                      cue_at(text, m.start(1)), score=0.4)]


def find_cued_text(text: str, *, one_sentence: bool = False) -> list[Candidate]:
    """The rest of the message after a cue word of the lexicon ("note: ...", "saying ...");
    with ``one_sentence``, only to the end of that sentence: a name-like value ("in the mood
    for a Drama. Are any playing today?") never runs into the next one."""
    m = _TEXT_CUES.search(text)
    if not m:
        return []
    value = first_sentence(m.group(1)) if one_sentence else m.group(1)
    value = value.strip(" .!?\"'")
    if not value:
        return []
    start = m.start(1)
    return [Candidate(value, start, start + len(value), value, cue_at(text, start), score=0.8)]


def whole_text(text: str) -> Candidate | None:
    """The whole message, less its closing punctuation."""
    value = text.strip(" .!?")
    if not value:
        return None
    start = text.find(value)
    return Candidate(value, start, start + len(value), value, "", score=0.5)
