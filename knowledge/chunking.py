"""Chunking by structure: headings → sections → paragraphs → sentences, within a word budget.

What lives here: :func:`chunk_document`, which walks a :class:`~.loaders.LoadedDocument`, keeps
the heading path of every paragraph (``"Attendance > Late work"``), packs whole paragraphs into
chunks of at most :attr:`ChunkingOptions.max_words` words, splits a paragraph that does not fit at
sentence boundaries, and repeats the last sentences of a chunk (up to
:attr:`ChunkingOptions.overlap_words`) at the start of the next chunk of the same section. A chunk
never spans two sections or two PDF pages, so its section and page are exact. Also
:func:`split_sentences`, shared with the extractive answerer.

What does not: reading files (:mod:`.loaders`) and embedding (:mod:`.embedder`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .loaders import LoadedDocument

__all__ = ["Chunk", "ChunkingOptions", "chunk_document", "split_sentences"]


@dataclass(frozen=True)
class ChunkingOptions:
    """How big chunks are. Part of every file's fingerprint: changing it re-ingests."""

    max_words: int = 200
    overlap_words: int = 40

    def __post_init__(self) -> None:
        if self.max_words < 20 or not 0 <= self.overlap_words < self.max_words // 2:
            raise ValueError("need max_words >= 20 and 0 <= overlap_words < max_words / 2")


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage, with where it came from."""

    text: str
    title: str
    section: str
    """Headings from the top of the document down to this passage, joined with ``" > "``."""
    start: int
    end: int
    """Character span in the loaded document's text (the raw file for Markdown and text)."""
    index: int
    page: int | None = None

    @property
    def context_text(self) -> str:
        """What is embedded and indexed: the heading path, then the passage."""
        return with_context(self.title, self.section, self.text)


def with_context(title: str, section: str, text: str) -> str:
    """A passage prefixed with its title and heading path (the section often starts with it)."""
    heading = section if section.startswith(title) else " > ".join(p for p in (title, section) if p)
    return f"{heading}\n\n{text}" if heading else text


_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st sr jr vs etc e.g i.e no fig approx dept inc ltd co".split()
)
_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])"  # end of sentence, capital next
    r"|\n+(?=\s*(?:[-*+]|\d+[.)])\s)"  # a list item starts
    r"|\n{2,}"
)


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` in ``text`` (shifted by ``offset``), list items included."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start:match.start()].rstrip()
        last_word = before.rsplit(None, 1)[-1].lower().rstrip(".") if before else ""
        if match.group(0).strip() == "" and "\n" not in match.group(0) and (
            last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha())
        ):
            continue
        _append_span(text, start, match.start(), offset, spans)
        start = match.end()
    _append_span(text, start, len(text), offset, spans)
    return spans


def _append_span(
    text: str, start: int, end: int, offset: int, spans: list[tuple[int, int]]
) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((offset + start + lead, offset + start + lead + len(stripped)))


@dataclass
class _Unit:
    start: int
    end: int
    words: int
    paragraph: int


def chunk_document(
    document: LoadedDocument, options: ChunkingOptions | None = None
) -> list[Chunk]:
    """Split a document into chunks by structure (see the module docstring)."""
    options = options or ChunkingOptions()
    chunks: list[Chunk] = []
    headings: list[tuple[int, str]] = []
    section_units: list[_Unit] = []
    section_page: int | None = None
    paragraph = 0

    def flush() -> None:
        if section_units:
            section = " > ".join(text for _, text in headings)
            _pack(document, section, section_page, section_units, options, chunks)
            section_units.clear()

    for block in document.blocks:
        if block.kind == "heading":
            flush()
            while headings and headings[-1][0] >= block.level:
                headings.pop()
            headings.append((block.level, block.text))
            continue
        if block.page != section_page:
            flush()
            section_page = block.page
        paragraph += 1
        for start, end in split_sentences(document.text[block.start:block.end], block.start):
            section_units.extend(_split_long(document.text, start, end, options, paragraph))
    flush()
    return chunks


def _split_long(text: str, start: int, end: int, options: ChunkingOptions, paragraph: int
                ) -> list[_Unit]:
    """A sentence longer than the budget becomes word windows (tables, run-on lists)."""
    words = list(re.finditer(r"\S+", text[start:end]))
    if len(words) <= options.max_words:
        return [_Unit(start, end, len(words), paragraph)]
    step = options.max_words - options.overlap_words
    units = []
    for i in range(0, len(words), step):
        window = words[i:i + options.max_words]
        units.append(_Unit(start + window[0].start(), start + window[-1].end(), len(window),
                           paragraph))
        if i + options.max_words >= len(words):
            break
    return units


def _pack(document: LoadedDocument, section: str, page: int | None, units: list[_Unit],
          options: ChunkingOptions, out: list[Chunk]) -> None:
    current: list[_Unit] = []
    words = 0
    fresh = 0  # units in `current` that are not overlap from the previous chunk

    def emit() -> None:
        nonlocal current, words, fresh
        out.append(_make_chunk(document, section, page, current, len(out)))
        tail: list[_Unit] = []
        tail_words = 0
        for unit in reversed(current):
            if tail_words + unit.words > options.overlap_words or len(tail) + 1 >= len(current):
                break
            tail.insert(0, unit)
            tail_words += unit.words
        current, words, fresh = tail, tail_words, 0

    for i, unit in enumerate(units):
        starts_paragraph = i == 0 or units[i - 1].paragraph != unit.paragraph
        if starts_paragraph and fresh and words >= options.max_words // 2:
            paragraph_words = sum(u.words for u in units[i:] if u.paragraph == unit.paragraph)
            if words + paragraph_words > options.max_words:
                emit()  # break between paragraphs rather than inside the next one
        if fresh and words + unit.words > options.max_words:
            emit()
        while current and words + unit.words > options.max_words:
            words -= current.pop(0).words  # overlap too big for this unit: shed it
        current.append(unit)
        words += unit.words
        fresh += 1
    if fresh:
        out.append(_make_chunk(document, section, page, current, len(out)))


def _make_chunk(document: LoadedDocument, section: str, page: int | None, units: list[_Unit],
                index: int) -> Chunk:
    parts: list[str] = []
    for j, unit in enumerate(units):
        if j:
            parts.append("\n\n" if unit.paragraph != units[j - 1].paragraph else " ")
        parts.append(document.text[unit.start:unit.end])
    return Chunk(text="".join(parts), title=document.title, section=section,
                 start=units[0].start, end=units[-1].end, index=index, page=page)
