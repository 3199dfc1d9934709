"""Essay history: each essay submitted for feedback, with its scores, and who may see which.

``essay_feedback`` records every scored essay here (:func:`record_submission`) in the plugin's
SQLite file (:mod:`.store`, table ``essay_submissions``): the student it belongs to, who
submitted it, the course when known, a title, the text, the rubric, the overall and trait
scores, and when — in the institution's time zone, with its offset. A step's idempotency key is
unique in the table, so a retried step records its essay once.

Whose essay: the acting student's own (``links.student``); ``essay_feedback`` takes no student
argument, so nothing inside a pasted essay (a name, an id) can file it as someone else's. A
teacher trying a rubric out files nothing. The course is known when the assignment prompt names
one of the student's courses or when the student takes exactly one course; otherwise it stays
empty. (:func:`course_for` also takes a submitting teacher, for an institution that files essays
for its students another way.)

Who sees what (the same rule as grades, :mod:`.roster`): the student their own essays;
authorised staff every student's; a teacher the essays of the students enrolled in a course they
teach — those of that course, and those tied to no course (the student's work their teachers
share a legitimate interest in) — never another course's. What does not live here: scoring
(:mod:`.scorer`) and drawing (:mod:`.ui_feedback`, :mod:`.home`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lamworks import InstitutionConfig

from .scorer import EssayReport

__all__ = [
    "Submission",
    "course_for",
    "essay_title",
    "insert_submission",
    "student_names",
    "submissions",
    "teacher_class",
]

TITLE_WORDS = 8
"""A title made from the essay's beginning has at most this many words."""


@dataclass(frozen=True)
class Submission:
    """One essay submitted for feedback, as stored."""

    id: int
    student_id: str
    submitted_by: str
    course: str
    title: str
    rubric: str
    overall: float | None
    traits: tuple[tuple[str, float], ...]
    """(trait name, score) in the rubric's order."""
    submitted: str
    """ISO 8601 with the institution's UTC offset."""

    def row(self) -> dict[str, Any]:
        """A flat record (a table row): date, course, title, overall and one column per trait."""
        out: dict[str, Any] = {"submitted": self.submitted, "student_id": self.student_id,
                               "course": self.course, "title": self.title,
                               "rubric": self.rubric, "overall": self.overall}
        out.update({name: score for name, score in self.traits})
        return out


def essay_title(essay: str, prompt: str = "") -> str:
    """The prompt, else the essay's first words (whole words only, "…" when cut)."""
    source = " ".join((prompt or essay).split())
    words = source.split(" ")
    if len(words) <= TITLE_WORDS:
        return source
    return " ".join(words[:TITLE_WORDS]).rstrip(",;:.") + "…"


def course_for(db: sqlite3.Connection, student_id: str, prompt: str = "",
               teacher: str = "") -> str:
    """The course an essay belongs to, when it can be known (see the module docstring)."""
    courses = [c for (c,) in db.execute(
        "SELECT course FROM enrolments WHERE student_id = ? ORDER BY course", (student_id,))]
    named = [c for c in courses if re.search(rf"(?<!\w){re.escape(c)}(?!\w)", prompt, re.I)]
    if len(named) == 1:
        return named[0]
    if len(courses) == 1:
        return courses[0]
    if teacher:
        shared = [c for c in courses if db.execute(
            "SELECT 1 FROM course_teachers WHERE lower(course) = lower(?) AND teacher = ?",
            (c, teacher)).fetchone()]
        if len(shared) == 1:
            return shared[0]
    return ""


def insert_submission(db: sqlite3.Connection, *, student_id: str, submitted_by: str,
                      course: str, essay: str, prompt: str, report: EssayReport,
                      submitted: str, idempotency_key: str = "") -> Submission:
    """Record one scored essay (once per ``idempotency_key``); the row as stored."""
    traits = [{"key": t.key, "name": t.name, "score": t.score} for t in report.traits]
    db.execute(
        "INSERT OR IGNORE INTO essay_submissions (student_id, submitted_by, course, title, "
        "essay, rubric, overall, traits, submitted, idempotency_key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (student_id, submitted_by, course, essay_title(essay, prompt), essay, report.rubric,
         report.overall, json.dumps(traits), submitted, idempotency_key or None))
    if idempotency_key:
        row = db.execute(f"SELECT {_COLUMNS} FROM essay_submissions WHERE idempotency_key = ?",
                         (idempotency_key,)).fetchone()
    else:
        row = db.execute(f"SELECT {_COLUMNS} FROM essay_submissions WHERE rowid = "
                         "last_insert_rowid()").fetchone()
    return _submission(row)


_COLUMNS = "id, student_id, submitted_by, course, title, rubric, overall, traits, submitted"


def _submission(row: tuple[Any, ...]) -> Submission:
    traits = tuple((str(t["name"]), float(t["score"])) for t in json.loads(row[7] or "[]"))
    return Submission(id=row[0], student_id=row[1], submitted_by=row[2], course=row[3],
                      title=row[4], rubric=row[5], overall=row[6], traits=traits,
                      submitted=row[8])


def submissions(db: sqlite3.Connection, visible: Mapping[str, tuple[str, ...] | None], *,
                course: str = "", limit: int = 200) -> list[Submission]:
    """The essays of the students in ``visible``, newest first: for each student id, ``None``
    (every course) or the courses whose essays may be shown (plus those tied to no course).
    ``course`` keeps only the courses containing it (case-insensitive)."""
    out: list[Submission] = []
    for student, courses in visible.items():
        query = f"SELECT {_COLUMNS} FROM essay_submissions WHERE student_id = ?"
        params: list[Any] = [student]
        if courses is not None:
            query += (f" AND (course = '' OR lower(course) IN "
                      f"({', '.join('?' * len(courses)) or 'NULL'}))")
            params.extend(c.lower() for c in courses)
        if course.strip():
            query += " AND lower(course) LIKE ?"
            params.append(f"%{course.strip().lower()}%")
        out += [_submission(r) for r in db.execute(query, params)]
    out.sort(key=lambda s: (s.submitted, s.id), reverse=True)
    return out[:limit]


def teacher_class(db: sqlite3.Connection, teacher: str) -> dict[str, tuple[str, ...]]:
    """The students enrolled in the courses ``teacher`` teaches, each with those courses."""
    rows = db.execute(
        "SELECT e.student_id, e.course FROM enrolments e JOIN course_teachers t "
        "ON lower(t.course) = lower(e.course) WHERE t.teacher = ? "
        "ORDER BY e.student_id, e.course", (teacher,)).fetchall()
    found: dict[str, list[str]] = {}
    for student, course in rows:
        found.setdefault(student, []).append(course)
    return {s: tuple(dict.fromkeys(c)) for s, c in found.items()}


def student_names(config: InstitutionConfig, ids: Iterable[str] = ()) -> dict[str, str]:
    """Display names of the students that users are linked to (``links.student``), by id."""
    names: dict[str, str] = {}
    for user in config.users.values():
        link = user.links.get("student", "")
        if link:
            names[link.rsplit("/", 1)[-1].strip()] = user.display_name
    wanted = set(ids)
    return {k: v for k, v in names.items() if not wanted or k in wanted}
