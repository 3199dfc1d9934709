"""Segmenting an essay into paragraphs, sentences and words, keeping character offsets.

Everything here is pure Python and fast: the scorer quotes sentence spans back to the student,
so every unit carries ``start``/``end`` offsets into the original text (end exclusive). What does
not live here: any judgement about the text (see :mod:`lamworks_education.features`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Paragraph", "Segmented", "Sentence", "segment", "words"]

_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s|$)")
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
_LINE_BREAK = re.compile(r"\n\s*")


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text and where it sits in the essay."""

    text: str
    start: int
    end: int
    paragraph: int


@dataclass(frozen=True)
class Paragraph:
    """One paragraph: its text, offsets and the indices of its sentences."""

    text: str
    start: int
    end: int
    sentences: tuple[int, ...]


@dataclass(frozen=True)
class Segmented:
    """An essay cut into paragraphs and sentences."""

    text: str
    paragraphs: tuple[Paragraph, ...]
    sentences: tuple[Sentence, ...]


def words(text: str) -> list[str]:
    """The alphabetic words of ``text`` (apostrophes kept inside words)."""
    return _WORD.findall(text)


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Non-empty paragraphs: blank lines separate them; in a text with no blank line, each line
    is a paragraph (many students put one newline per paragraph; wrapped text has blank lines)."""
    spans: list[tuple[int, int]] = []
    position = 0
    breaks = _BLANK_LINE if _BLANK_LINE.search(text) else _LINE_BREAK
    for match in breaks.finditer(text):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, len(text)))
    out = []
    for start, end in spans:
        chunk = text[start:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            out.append((start + lead, start + len(chunk.rstrip())))
    return out


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = start
    for match in _SENTENCE_END.finditer(text, start, end):
        spans.append((position, match.end()))
        position = match.end()
    spans.append((position, end))
    out = []
    for s, e in spans:
        chunk = text[s:e]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            out.append((s + lead, s + len(chunk.rstrip())))
    return out


def segment(text: str) -> Segmented:
    """Cut ``text`` into paragraphs and sentences with offsets into ``text``."""
    paragraphs: list[Paragraph] = []
    sentences: list[Sentence] = []
    for p_index, (p_start, p_end) in enumerate(_paragraph_spans(text)):
        indices = []
        for s_start, s_end in _sentence_spans(text, p_start, p_end):
            indices.append(len(sentences))
            sentences.append(Sentence(text[s_start:s_end], s_start, s_end, p_index))
        paragraphs.append(Paragraph(text[p_start:p_end], p_start, p_end, tuple(indices)))
    return Segmented(text, tuple(paragraphs), tuple(sentences))
