"""Reading documents: one loader per file type, all returning the same :class:`LoadedDocument`.

What lives here: front matter parsing, and loaders for ``.md``/``.markdown``, ``.txt``,
``.html``/``.htm``, ``.pdf`` (pypdf) and ``.docx`` (python-docx). Each turns a file into a list of
:class:`Block` — headings and text, with character offsets into :attr:`LoadedDocument.text`
(the raw file for Markdown and plain text, so a citation's span points into the file itself) and
a page number for PDFs. What does not: chunking (:mod:`.chunking`) and size limits (the ingester
checks sizes before a file is read; :func:`~lamworks.knowledge.limits.check_archive` vets a
DOCX's unpacked size before python-docx opens it).

Text a reader of the page never sees is never indexed: HTML (and raw HTML in Markdown) hidden by
the ``hidden`` attribute, ``aria-hidden="true"``, an inline ``display:none``,
``visibility:hidden``, ``font-size:0`` or ``opacity:0``, the contents of ``<script>``,
``<style>``, ``<noscript>`` and ``<template>``, and comments (:func:`mask_hidden_html`; in
Markdown the hidden parts are blanked with spaces, so offsets still point into the file, and
fenced code stays as written). :attr:`LoadedDocument.hidden` counts the elements left out.

A file that cannot be read raises :class:`DocumentError` with a message meant for the person who
uploaded it ("empty file", "not a text file", "could not read PDF: ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lamworks.errors import KnowledgeError

if TYPE_CHECKING:
    from .limits import IngestLimits

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Block",
    "DocumentError",
    "LoadedDocument",
    "hidden_by_markup",
    "load_document",
    "mask_hidden_html",
    "parse_front_matter",
]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}
)
"""File types the ingester reads; other files in a folder are reported as skipped."""


class DocumentError(KnowledgeError):
    """Seen by whoever uploaded a document: this one file could not be read, and why."""


@dataclass(frozen=True)
class Block:
    """A heading or a run of text, with its place in :attr:`LoadedDocument.text`."""

    kind: Literal["heading", "text"]
    text: str
    start: int
    end: int
    level: int = 0
    page: int | None = None


@dataclass(frozen=True)
class LoadedDocument:
    """A document as the chunker sees it."""

    path: Path
    title: str
    text: str
    blocks: list[Block]
    access: str | None = None
    """The front matter's ``access:`` label, overriding the source's; ``None`` when absent."""
    meta: dict[str, str] = field(default_factory=dict)
    hidden: int = 0
    """Hidden HTML elements left out (a reader of the page never sees them; see
    :func:`hidden_by_markup`); HTML comments are left out too, uncounted."""


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def parse_front_matter(text: str) -> tuple[dict[str, str], int]:
    """``key: value`` pairs of a leading ``---`` block and the offset where the body starts."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "\t", "#")):
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, match.end()


def load_document(path: Path, *, limits: IngestLimits | None = None) -> LoadedDocument:
    """Read one file; raise :class:`DocumentError` with a readable message when it cannot be.

    ``limits`` bound what a zip-based document (DOCX) may unpack to (default: the defaults)."""
    suffix = path.suffix.lower()
    if suffix in {".md", ".markdown"}:
        return _load_markdown(path, _read_text(path))
    if suffix == ".txt":
        return _load_plain(path, _read_text(path))
    if suffix in {".html", ".htm"}:
        return _load_html(path, _read_text(path))
    if suffix == ".pdf":
        return _load_pdf(path)
    if suffix == ".docx":
        return _load_docx(path, limits)
    raise DocumentError(f"unsupported file type {suffix or '(none)'!r}")


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise DocumentError("empty file: nothing to index")
    if b"\x00" in data[:8192]:
        raise DocumentError(
            f"not a text file: it contains binary data (is it really {path.suffix}?)"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"not a UTF-8 text file (invalid byte at offset {exc.start}); "
            "save it as UTF-8 and upload it again"
        ) from None
    return text.replace("\r\n", "\n")


def _require_text(path: Path, blocks: list[Block]) -> None:
    if not any(b.kind == "text" and b.text.strip() for b in blocks):
        raise DocumentError("no text to index (empty, or only headings / scanned images)")


def _paragraph_blocks(text: str, start: int, end: int, page: int | None = None) -> list[Block]:
    """Text between ``start`` and ``end`` split at blank lines."""
    blocks = []
    segment_start = start
    for gap in [*re.finditer(r"\n[ \t]*\n\s*", text[start:end]), None]:
        segment_end = start + gap.start() if gap else end
        piece = text[segment_start:segment_end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            value = piece.strip()
            block_start = segment_start + lead
            blocks.append(Block("text", value, block_start, block_start + len(value), page=page))
        if gap:
            segment_start = start + gap.end()
    return blocks


def _fenced_ranges(text: str, start: int) -> list[tuple[int, int]]:
    """Character ranges of the fenced code blocks after ``start`` (shown as written)."""
    ranges = []
    opened: int | None = None
    offset = start
    for line in text[start:].split("\n"):
        if _FENCE.match(line):
            if opened is None:
                opened = offset
            else:
                ranges.append((opened, offset + len(line)))
                opened = None
        offset += len(line) + 1
    if opened is not None:
        ranges.append((opened, len(text)))
    return ranges


def _load_markdown(path: Path, raw: str) -> LoadedDocument:
    meta, body = parse_front_matter(raw)
    # Raw HTML in Markdown hides text as HTML does; what is hidden is blanked (offsets into the
    # file stay valid). Code blocks are shown as written, so they stay.
    fences = _fenced_ranges(raw, body)
    outside = list(raw)
    for start, end in fences:
        outside[start:end] = re.sub(r"[^\n]", " ", raw[start:end])
    text, hidden = mask_hidden_html("".join(outside))
    chars = list(text)
    for start, end in fences:
        chars[start:end] = raw[start:end]
    text = "".join(chars)
    blocks: list[Block] = []
    in_fence = False
    para_start: int | None = None
    offset = body
    lines = text[body:].split("\n")

    def close(at: int) -> None:
        nonlocal para_start
        if para_start is not None:
            blocks.extend(_paragraph_blocks(text, para_start, at))
            para_start = None

    for line in lines:
        line_end = offset + len(line)
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            close(offset)
            blocks.append(
                Block("heading", heading.group(2).strip(), offset, line_end,
                      level=len(heading.group(1)))
            )
        elif not line.strip() and not in_fence:
            close(offset)
        elif para_start is None:
            para_start = offset
        offset = line_end + 1
    close(len(text))
    _require_text(path, blocks)
    first_h1 = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    title = meta.get("title") or first_h1 or _title_from_name(path)
    return LoadedDocument(path, title, text, blocks, access=meta.get("access") or None, meta=meta,
                          hidden=hidden)


def _load_plain(path: Path, text: str) -> LoadedDocument:
    blocks = _paragraph_blocks(text, 0, len(text))
    _require_text(path, blocks)
    return LoadedDocument(path, _title_from_name(path), text, blocks)


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "param", "source", "track", "wbr"})
_NEVER_SHOWN = frozenset({"script", "style", "noscript", "template"})
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_HIDDEN_STYLE = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|"
    r"content-visibility\s*:\s*hidden|(?:font-size|opacity)\s*:\s*[+]?0*(?:\.0*)?"
    r"(?:[a-z]+|%)?)\s*(?:!\s*important\s*)?(?=;|$)", re.IGNORECASE)
_AUTO_CLOSED = {"p": frozenset({"p", "div", "ul", "ol", "table", "section", "article", "pre",
                                "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "dl"}),
                "li": frozenset({"li"}), "dt": frozenset({"dt", "dd"}),
                "dd": frozenset({"dt", "dd"}), "tr": frozenset({"tr"}),
                "td": frozenset({"td", "th", "tr"}), "th": frozenset({"td", "th", "tr"}),
                "option": frozenset({"option"})}
"""An open element of the key's kind ends where one of these starts (HTML's implied ends)."""


def hidden_by_markup(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    """Whether an element is hidden from a person reading the page: ``<script>``, ``<style>``,
    ``<noscript>``, ``<template>``, the ``hidden`` attribute, ``aria-hidden="true"``, or an
    inline style with ``display:none``, ``visibility:hidden``, ``font-size:0`` or
    ``opacity:0``. (Styles from a stylesheet are not evaluated.)"""
    if tag in _NEVER_SHOWN:
        return True
    for name, value in attrs:
        name = name.lower()
        if name == "hidden":
            return True
        if name == "aria-hidden" and (value or "").strip().lower() == "true":
            return True
        if name == "style" and value and _HIDDEN_STYLE.search(_CSS_COMMENT.sub("", value)):
            return True
    return False


class _HiddenRanges(HTMLParser):
    """Character ranges of a text's hidden elements, with what they contain. Tolerant of
    Markdown around the HTML and of unclosed elements (hidden to where their parent ends)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.text = text
        self._line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self._open: list[tuple[str, int, bool]] = []  # (tag, start, hidden)
        self.ranges: list[tuple[int, int]] = []
        self.elements = 0

    def _here(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _close_to(self, depth: int, at: int) -> None:
        for _tag, start, hidden in self._open[depth:]:
            if hidden:
                self.ranges.append((start, at))
        del self._open[depth:]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._here()
        if self._open and tag in _AUTO_CLOSED.get(self._open[-1][0], ()):
            self._close_to(len(self._open) - 1, start)
        hidden = hidden_by_markup(tag, attrs)
        self.elements += hidden
        if tag in _VOID:
            if hidden:
                self.ranges.append((start, start + len(self.get_starttag_text() or "")))
            return
        self._open.append((tag, start, hidden))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if hidden_by_markup(tag, attrs):
            self.elements += 1
            start = self._here()
            self.ranges.append((start, start + len(self.get_starttag_text() or "")))

    def handle_endtag(self, tag: str) -> None:
        start = self._here()
        end = self.text.find(">", start)
        end = len(self.text) if end < 0 else end + 1
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth][0] == tag:
                # Children left open end where their parent ends; the element takes its end tag.
                self._close_to(depth + 1, start)
                _tag, opened, hidden = self._open.pop()
                if hidden:
                    self.ranges.append((opened, end))
                return

    def finish(self) -> list[tuple[int, int]]:
        self.close()
        self._close_to(0, len(self.text))
        return self.ranges


def mask_hidden_html(text: str) -> tuple[str, int]:
    """``text`` with its hidden HTML (see :func:`hidden_by_markup`) and its comments blanked
    out — replaced by spaces, line breaks kept, so offsets into the text stay valid — and how
    many hidden elements there were."""
    if "<" not in text:
        return text, 0
    finder = _HiddenRanges(text)
    try:
        finder.feed(text)
        ranges = finder.finish()
    except Exception:  # a malformed declaration the parser gives up on: keep what it found
        ranges = finder.ranges
    # Comments, an unclosed one included (a browser hides the rest of the page).
    ranges = [*ranges, *(m.span() for m in _COMMENT.finditer(text))]
    if not ranges:
        return text, 0
    chars = list(text)
    for start, end in ranges:
        for i in range(max(start, 0), min(end, len(chars))):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars), finder.elements


class _HTMLBlocks(HTMLParser):
    _BLOCKS = frozenset({"p", "li", "td", "th", "pre", "blockquote", "div", "section",
                         "article", "dd", "dt", "caption", "br", "tr", "table", "ul", "ol"})
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, int, str]] = []  # (kind, level, text)
        self.title = ""
        self._buffer: list[str] = []
        self._heading = 0
        self._skip = 0
        self._in_title = False

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self._buffer)).strip()
        self._buffer = []
        if text:
            self.parts.append(("heading" if self._heading else "text", self._heading, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag in self._BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = 0
        elif tag in self._BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._buffer.append(data)


def _load_html(path: Path, html: str) -> LoadedDocument:
    html, hidden = mask_hidden_html(html)
    parser = _HTMLBlocks()
    parser.feed(html)
    parser.close()
    parser._flush()
    text, blocks = _assemble(parser.parts)
    _require_text(path, blocks)
    first_h1 = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    title = parser.title.strip() or first_h1 or _title_from_name(path)
    return LoadedDocument(path, title, text, blocks, hidden=hidden)


def _assemble(
    parts: list[tuple[str, int, str]], page: int | None = None
) -> tuple[str, list[Block]]:
    """Join extracted parts with blank lines; offsets refer to the joined text."""
    pieces: list[str] = []
    blocks: list[Block] = []
    offset = 0
    for kind, level, value in parts:
        start = offset
        pieces.append(value)
        offset += len(value)
        blocks.append(Block("heading" if kind == "heading" else "text", value, start, offset,
                            level=level, page=page))
        pieces.append("\n\n")
        offset += 2
    return "".join(pieces), blocks


def _load_pdf(path: Path) -> LoadedDocument:
    from pypdf import PdfReader  # imported here: only PDF ingestion pays for it

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise DocumentError("the PDF is encrypted; upload an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        detail = str(exc) or type(exc).__name__
        raise DocumentError(f"could not read PDF (damaged or not a PDF): {detail}") from None
    chunks: list[str] = []
    blocks: list[Block] = []
    offset = 0
    for number, page_text in enumerate(pages, start=1):
        page_text = page_text.replace("\r\n", "\n")
        for block in _paragraph_blocks(page_text, 0, len(page_text), page=number):
            blocks.append(Block("text", block.text, offset + block.start, offset + block.end,
                                page=number))
        chunks.append(page_text + "\n\n")
        offset += len(page_text) + 2
    if not blocks:
        raise DocumentError("no extractable text in the PDF (a scanned image? run OCR first)")
    return LoadedDocument(path, str(info_title).strip() or _title_from_name(path),
                          "".join(chunks), blocks)


def _load_docx(path: Path, limits: IngestLimits | None) -> LoadedDocument:
    import docx  # python-docx; imported here so that importing the package stays cheap

    from .limits import IngestLimits, check_archive

    check_archive(path, limits or IngestLimits())  # before python-docx unpacks anything

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises zipfile/lxml/KeyError for damaged files
        detail = str(exc) or type(exc).__name__
        raise DocumentError(f"could not read Word document (damaged or not .docx): {detail}") \
            from None
    parts: list[tuple[str, int, str]] = []
    title = (document.core_properties.title or "").strip()
    for paragraph in document.paragraphs:
        value = paragraph.text.strip()
        if not value:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level_match = re.fullmatch(r"Heading (\d)", style)
        if style == "Title":
            title = title or value
            parts.append(("heading", 1, value))
        elif level_match:
            parts.append(("heading", int(level_match.group(1)), value))
        else:
            parts.append(("text", 0, value))
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                parts.append(("text", 0, " | ".join(cells)))
    text, blocks = _assemble(parts)
    _require_text(path, blocks)
    return LoadedDocument(path, title or _title_from_name(path), text, blocks)


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or path.name
