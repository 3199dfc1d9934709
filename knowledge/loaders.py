"""Reading documents: one loader per file type, all returning the same :class:`LoadedDocument`.

What lives here: front matter parsing, and loaders for ``.md``/``.markdown``, ``.txt``,
``.html``/``.htm``, ``.pdf`` (pypdf) and ``.docx`` (python-docx). Each turns a file into a list of
:class:`Block` — headings and text, with character offsets into :attr:`LoadedDocument.text`
(the raw file for Markdown and plain text, so a citation's span points into the file itself) and
a page number for PDFs. What does not: chunking (:mod:`.chunking`) and size limits (the ingester
checks sizes before a file is read).

A file that cannot be read raises :class:`DocumentError` with a message meant for the person who
uploaded it ("empty file", "not a text file", "could not read PDF: ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from lamworks.errors import KnowledgeError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Block",
    "DocumentError",
    "LoadedDocument",
    "load_document",
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


def load_document(path: Path) -> LoadedDocument:
    """Read one file; raise :class:`DocumentError` with a readable message when it cannot be."""
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
        return _load_docx(path)
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


def _load_markdown(path: Path, text: str) -> LoadedDocument:
    meta, body = parse_front_matter(text)
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
    return LoadedDocument(path, title, text, blocks, access=meta.get("access") or None, meta=meta)


def _load_plain(path: Path, text: str) -> LoadedDocument:
    blocks = _paragraph_blocks(text, 0, len(text))
    _require_text(path, blocks)
    return LoadedDocument(path, _title_from_name(path), text, blocks)


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
    parser = _HTMLBlocks()
    parser.feed(html)
    parser.close()
    parser._flush()
    text, blocks = _assemble(parser.parts)
    _require_text(path, blocks)
    first_h1 = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    title = parser.title.strip() or first_h1 or _title_from_name(path)
    return LoadedDocument(path, title, text, blocks)


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


def _load_docx(path: Path) -> LoadedDocument:
    import docx  # python-docx; imported here so that importing the package stays cheap

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
