"""Course names as entities, for the slot-extractor hook ("only *Biology 10*").

The names are the courses the institution's records hold (the roster's teachers and
enrolments, and the grade book), read from the plugin's SQLite file and kept until the file
changes. A name is found whole, in any case ("biology 10"), or by its subject alone ("how did I
do in biology") when exactly one course has that subject.

Routing sees "a course" instead of the name, so the decision rests on the words of intent.

Example::

    >>> pattern_for(["Biology 10", "English 10"]).findall("only biology 10 please")
    ['biology 10']
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from lamworks import EntityMatch, Span

from .store import education_dir

__all__ = ["COURSE_ENTITY", "find_courses", "known_courses", "pattern_for"]

COURSE_ENTITY = "Course"
_QUERY = ("SELECT course FROM course_teachers UNION SELECT course FROM enrolments "
          "UNION SELECT course FROM grades")


def known_courses(data_dir: Path) -> tuple[str, ...]:
    """The course names the records hold (none when there is no database yet)."""
    path = education_dir(data_dir) / "education.sqlite"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return ()
    return _read(str(path), stamp)


@lru_cache(maxsize=8)
def _read(path: str, stamp: int) -> tuple[str, ...]:
    """The names in the file as it was at ``stamp`` (a new stamp reads it again)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute(_QUERY).fetchall()
    except sqlite3.Error:
        return ()  # no such tables yet: no courses
    return tuple(sorted({" ".join(str(r[0]).split()) for r in rows if str(r[0]).strip()}))


def _subject(name: str) -> str:
    """The course's subject: its name without a trailing level ("Biology 10" → "Biology")."""
    return re.sub(r"\s+(?:\d+\w*|[IVX]+)$", "", name)


@lru_cache(maxsize=8)
def _forms(names: tuple[str, ...]) -> dict[str, str]:
    """Each written form (lower case) → the course name: the whole name, and the subject alone
    where only one course has it."""
    subjects = Counter(_subject(n).lower() for n in names)
    forms = {n.lower(): n for n in names}
    for name in names:
        subject = _subject(name).lower()
        if subject != name.lower() and subjects[subject] == 1:
            forms.setdefault(subject, name)
    return forms


def pattern_for(names: Iterable[str]) -> re.Pattern[str]:
    """A pattern finding any of the names' forms, longest first, in any case."""
    return _pattern(tuple(names))


@lru_cache(maxsize=8)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    forms = sorted(_forms(names), key=len, reverse=True)
    alternation = "|".join(r"\s+".join(map(re.escape, f.split())) for f in forms) or r"(?!x)x"
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)


def find_courses(utterance: str, ctx: Any) -> list[EntityMatch]:
    """Every known course named in ``utterance``, as the course's name."""
    data_dir = getattr(ctx, "data_dir", None)
    names = known_courses(Path(data_dir)) if data_dir is not None else ()
    if not names:
        return []
    forms = _forms(names)
    return [EntityMatch(COURSE_ENTITY, forms[" ".join(m.group(0).lower().split())],
                        Span(start=m.start(), end=m.end(), text=m.group(0)))
            for m in _pattern(names).finditer(utterance)]
