"""Reading an uploaded essay: plain text, .docx (python-docx) or .pdf (pypdf), as plain text."""

from __future__ import annotations

import io

__all__ = ["read_essay_file"]


def read_essay_file(name: str, content: bytes) -> str:
    """The text of an uploaded file; ``ValueError`` for a type we do not read."""
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix in ("txt", "md", ""):
        return content.decode("utf-8", errors="replace")
    if suffix == "docx":
        import docx

        document = docx.Document(io.BytesIO(content))
        return "\n\n".join(p.text for p in document.paragraphs if p.text.strip())
    if suffix == "pdf":
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(content))
        return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
    raise ValueError(f"cannot read .{suffix} files; upload .txt, .docx or .pdf")
