"""Course material as sections, with a small lexical retriever for the tutor and the quiz.

The plugin's course documents (``knowledge/course/*.md``, front matter ``title``/``access``) are
cut at Markdown headings; :class:`CourseMaterial` ranks sections by BM25 over lower-cased words.
Only documents whose access is ``public`` are loaded: teacher-only files (answer keys) never
reach a student through the tutor or the quiz.

This is deliberately small and replaceable: when the shared knowledge layer
(``lamworks.knowledge``) is published in ``services``, the tutor can use it instead.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["COURSE_DIR", "CourseMaterial", "Section", "load_course"]

COURSE_DIR = Path(__file__).parent / "knowledge" / "course"
_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a an the and or of to in on for with by is are was were be been it its this
that these those as at from what which who how why when where do does did can i me my you your
we our they their he she his her about into than then so if not no yes please tell
explain""".split())


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


@dataclass(frozen=True)
class Section:
    """One headed section of a course document."""

    source: str
    title: str
    heading: str
    text: str

    @property
    def terms(self) -> list[str]:
        """Bold terms (``**term**``) introduced in this section."""
        return [t.strip() for t in re.findall(r"\*\*([^*]{2,40})\*\*", self.text)]

    @property
    def plain(self) -> str:
        return re.sub(r"\*\*([^*]+)\*\*", r"\1", self.text).strip()


def _front_matter(raw: str) -> tuple[dict[str, str], str]:
    if raw.startswith("---"):
        end = raw.find("\n---", 3)
        if end != -1:
            meta = {}
            for line in raw[3:end].splitlines():
                if ":" in line:
                    key, value = line.split(":", 1)
                    meta[key.strip()] = value.strip()
            return meta, raw[end + 4:]
    return {}, raw


def _sections(path: Path) -> list[Section]:
    meta, body = _front_matter(path.read_text(encoding="utf-8"))
    if meta.get("access", "public") != "public":
        return []
    title = meta.get("title", path.stem)
    out: list[Section] = []
    heading, lines = title, []
    for line in body.splitlines():
        match = re.match(r"^#{1,6}\s+(.*)$", line)
        if match:
            if "".join(lines).strip():
                out.append(Section(path.name, title, heading, "\n".join(lines).strip()))
            heading, lines = match.group(1).strip(), []
        else:
            lines.append(line)
    if "".join(lines).strip():
        out.append(Section(path.name, title, heading, "\n".join(lines).strip()))
    return out


class CourseMaterial:
    """Sections of course documents and BM25 search over them."""

    def __init__(self, folder: Path = COURSE_DIR) -> None:
        self.sections: list[Section] = [s for p in sorted(folder.glob("*.md"))
                                        for s in _sections(p)]
        self._docs = [Counter(_tokens(f"{s.heading} {s.heading} {s.text}"))
                      for s in self.sections]
        self._lengths = [sum(d.values()) for d in self._docs]
        self._avg = sum(self._lengths) / max(len(self._lengths), 1)
        df: Counter[str] = Counter()
        for d in self._docs:
            df.update(d.keys())
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def search(self, query: str, k: int = 3) -> list[tuple[Section, float]]:
        """The ``k`` best sections for ``query`` with their scores (best first, score > 0)."""
        terms = _tokens(query)
        scored = []
        for section, doc, length in zip(self.sections, self._docs, self._lengths, strict=True):
            score = 0.0
            for t in terms:
                tf = doc.get(t, 0)
                if tf:
                    score += self._idf[t] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length
                                                                     / self._avg))
            if score > 0:
                scored.append((section, score))
        scored.sort(key=lambda item: -item[1])
        return scored[:k]


@lru_cache(maxsize=4)
def load_course(folder: Path = COURSE_DIR) -> CourseMaterial:
    """The course material, parsed once per process."""
    return CourseMaterial(folder)
