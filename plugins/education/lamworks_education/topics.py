"""Course topics as entities, for the slot-extractor hook ("quiz me on *the nitrogen cycle*").

The vocabulary is read from the public course documents (``knowledge/course/*.md``): the lesson
titles ("Lesson 4: Nutrient cycles and the carbon cycle" gives "nutrient cycles" and "carbon
cycle"), third-level headings ("Nitrogen fixation") and the terms the lessons put in bold
("**carrying capacity**"). Teacher-only files are skipped.

The planner uses the matches in two ways: routing sees "quiz me on a topic" instead of "quiz me
on food webs" (so the decision rests on the words of intent, not on which lesson a router
example happened to name), and a field annotated ``entity("Topic")`` can be filled from them.

Example::

    >>> [m.value for m in find_topics("give me a hint about the carbon cycle", None)]
    ['carbon cycle']
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from lamworks import EntityMatch, Span
from lamworks.knowledge.loaders import parse_front_matter

__all__ = ["TOPIC_ENTITY", "course_topics", "find_topics"]

TOPIC_ENTITY = "Topic"
COURSE_DIR = Path(__file__).parent / "knowledge" / "course"
_LESSON = re.compile(r"^#\s+Lesson\s+\d+\s*:\s*(.+)$", re.MULTILINE)
_SUBHEADING = re.compile(r"^###\s+(.+)$", re.MULTILINE)
_BOLD = re.compile(r"\*\*([^*\n]{4,60})\*\*")


def _variants(term: str) -> set[str]:
    """The term, lower-cased, with and without a final plural 's' (and parentheses dropped)."""
    term = re.sub(r"\s*\([^)]*\)", "", term).strip().lower()
    term = re.sub(r"^(?:the|a|an)\s+", "", term)
    if len(term) < 4 or not re.search(r"[a-z]{3}", term):
        return set()
    out = {term}
    if term.endswith("s") and not term.endswith("ss"):
        out.add(term[:-1])
    else:
        out.add(term + "s")
    return out


@lru_cache(maxsize=4)
def course_topics(folder: Path = COURSE_DIR) -> dict[str, str]:
    """Surface form (lower case) → the topic as the course writes it."""
    topics: dict[str, str] = {}
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        meta, _ = parse_front_matter(text)
        if meta.get("access", "public").lower() != "public":
            continue
        found: list[str] = []
        for title in _LESSON.findall(text):
            found.extend(part for part in re.split(r"\s+and\s+|,\s*", title.strip()) if part)
        found.extend(_SUBHEADING.findall(text))
        found.extend(_BOLD.findall(text))
        for term in found:
            canonical = re.sub(r"^(?:the|a|an)\s+|\s*\([^)]*\)", "", term.strip(),
                               flags=re.I).lower()
            for surface in _variants(term):
                topics.setdefault(surface, canonical)
    return topics


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str] | None:
    surfaces = sorted(course_topics(), key=len, reverse=True)
    if not surfaces:
        return None
    alternation = "|".join(re.escape(s) for s in surfaces)
    return re.compile(rf"\b(?:the\s+)?({alternation})\b", re.IGNORECASE)


def find_topics(utterance: str, ctx: Any) -> list[EntityMatch]:
    """Every course topic named in ``utterance`` (longest match first, no overlaps)."""
    pattern = _pattern()
    if pattern is None:
        return []
    topics = course_topics()
    return [EntityMatch(TOPIC_ENTITY, topics[m.group(1).lower()],
                        Span(start=m.start(), end=m.end(), text=m.group(0)))
            for m in pattern.finditer(utterance)]
