"""The plugin's own SQLite file in the institution's data folder: tutor progress, the study
calendar, grades (seeded for the demo), the enrolment roster (see :mod:`.roster`) and the essays
submitted for feedback with their scores (see :mod:`.history`).

One file, ``<data_dir>/education/education.sqlite``, WAL mode, opened per call (tools run rarely
and may run in different processes). A connection per call is also what makes it safe for the
threads of one runtime: no two threads ever share a connection, so no thread's statements land
in another's transaction. A check-then-write (seeding the demo grades) runs under
``BEGIN IMMEDIATE`` so two first calls at once seed once. What does not live here: the
calibration models (:mod:`lamworks_education.calibration` keeps them as ``.npz`` files beside
this one).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["DEMO_GRADES", "connect", "education_dir"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tutor_state (
    session_id TEXT NOT NULL, topic TEXT NOT NULL, stage INTEGER NOT NULL DEFAULT 0,
    pending TEXT, mastered TEXT NOT NULL DEFAULT '[]', updated TEXT,
    PRIMARY KEY (session_id, topic));
CREATE TABLE IF NOT EXISTS study_sessions (
    id INTEGER PRIMARY KEY, user TEXT NOT NULL, topic TEXT NOT NULL, start TEXT NOT NULL,
    minutes INTEGER NOT NULL, deadline TEXT NOT NULL, idempotency_key TEXT, created TEXT);
CREATE INDEX IF NOT EXISTS study_by_key ON study_sessions(idempotency_key);
CREATE TABLE IF NOT EXISTS grades (
    student_id TEXT NOT NULL, course TEXT NOT NULL, assignment TEXT NOT NULL,
    score REAL NOT NULL, max_score REAL NOT NULL, recorded TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS course_teachers (
    course TEXT NOT NULL, teacher TEXT NOT NULL, PRIMARY KEY (course, teacher));
CREATE TABLE IF NOT EXISTS enrolments (
    course TEXT NOT NULL, student_id TEXT NOT NULL, PRIMARY KEY (course, student_id));
CREATE TABLE IF NOT EXISTS roster_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS essay_submissions (
    id INTEGER PRIMARY KEY, student_id TEXT NOT NULL, submitted_by TEXT NOT NULL,
    course TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '', essay TEXT NOT NULL,
    rubric TEXT NOT NULL, overall REAL, traits TEXT NOT NULL DEFAULT '[]',
    submitted TEXT NOT NULL, idempotency_key TEXT UNIQUE);
CREATE INDEX IF NOT EXISTS essays_by_student ON essay_submissions(student_id, submitted);
"""

DEMO_GRADES: tuple[tuple[str, str, str, float, float, str], ...] = (
    ("stu-0001", "Biology 10", "Unit 3 quiz", 17, 20, "2026-11-10"),
    ("stu-0001", "Biology 10", "Food web project", 44, 50, "2026-11-17"),
    ("stu-0001", "English 10", "Argumentative essay draft", 3, 5, "2026-11-12"),
    ("stu-0002", "Biology 10", "Unit 3 quiz", 14, 20, "2026-11-10"),
    ("stu-0002", "English 10", "Argumentative essay draft", 4, 5, "2026-11-12"),
)


def education_dir(data_dir: Path) -> Path:
    path = Path(data_dir) / "education"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def connect(data_dir: Path, *, demo_grades: bool = False) -> Iterator[sqlite3.Connection]:
    """An open connection with the schema in place (committed on success, always closed)."""
    db = sqlite3.connect(education_dir(data_dir) / "education.sqlite", timeout=10)
    try:
        _prepare(db)
        if demo_grades:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("SELECT COUNT(*) FROM grades").fetchone()[0] == 0:
                db.executemany("INSERT INTO grades VALUES (?, ?, ?, ?, ?, ?)", DEMO_GRADES)
            db.commit()
        with db:
            yield db
    finally:
        db.close()


_SETUP = threading.Lock()


def _prepare(db: sqlite3.Connection) -> None:
    """WAL mode and the schema, once per call. Switching to WAL, and two connections that both
    read before they write the schema, can fail at once with "database is locked" (SQLite
    refuses rather than wait, to avoid a deadlock; the busy timeout does not apply). So the
    threads of this process take turns here, and a clash with another process is retried."""
    with _SETUP:
        for attempt in range(40):
            try:
                if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 39:
                    raise
                time.sleep(min(0.02 * (attempt + 1), 0.25))


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
