"""The enrolment roster and the FERPA rule built on it: who may see a student's education records.

FERPA lets education records go to the student themself, to school officials with a legitimate
educational interest — here: *their* teachers, the teachers of a course the student is enrolled
in, and only for those courses — and to authorised staff (``staff_roles``: registrar, admin).
:func:`record_access` decides that for one request; the ``ferpa_records`` policy (pre stage) and
the ``grade_lookup`` tool (defence in depth) both ask it.

The roster lives in the plugin's SQLite file (:mod:`.store`): ``course_teachers`` (course,
teacher) and ``enrolments`` (course, student_id). An institution loads it from a CSV file, the
``roster_csv`` setting, with a header row and the columns ``course``, ``teacher``,
``student_id``::

    course,teacher,student_id
    Biology 10,teacher,stu-0001
    Biology 10,teacher,stu-0002
    English 10,t-0002,stu-0001

A teacher is a lamworks user name (``[users.<name>]``) or the id in a user's ``links.teacher``
(``Teacher/t-0002``). The file is checked when the plugin loads (a bad path or row stops the
runtime with an error naming ``plugins.education.roster_csv`` and the row) and re-imported
whenever its content changes. Without a file, ``demo_grades = true`` seeds :data:`DEMO_ROSTER`
to match the demo grades and the demo users of ``examples/lamworks.toml``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lamworks import ActionContext, ConfigError, InstitutionConfig

from .settings import EducationSettings
from .store import connect

__all__ = [
    "COLUMNS",
    "DEMO_ROSTER",
    "Enrolment",
    "RecordAccess",
    "RosterError",
    "check_roster_setting",
    "read_roster_csv",
    "record_access",
    "roster_path",
    "student_of",
    "sync_roster",
    "teacher_of",
]

COLUMNS = ("course", "teacher", "student_id")

OWN_ONLY = "Education records are private (FERPA): you can see only your own grades."
NOT_YOUR_STUDENT = ("Education records are private (FERPA): a teacher sees the grades only of "
                    "students enrolled in a course they teach.")
NOT_YOUR_COURSE = ("Education records are private (FERPA): a teacher sees a student's grades only "
                   "for the courses they teach that student.")
NO_ROSTER = ("Education records are private (FERPA), and no class roster is loaded, so I can't "
             "tell which students are in your classes. An administrator can load one (the "
             "roster_csv setting of the education plugin).")
NOT_AUTHORISED = ("Education records are private (FERPA): only the student, their teachers and "
                  "authorised staff may see them.")


@dataclass(frozen=True)
class Enrolment:
    """One roster row: ``student_id`` is enrolled in ``course``, which ``teacher`` teaches."""

    course: str
    teacher: str
    student_id: str


DEMO_ROSTER: tuple[Enrolment, ...] = (
    Enrolment("Biology 10", "teacher", "stu-0001"),  # the demo user "teacher" (Ms. Tessa Teacher)
    Enrolment("Biology 10", "teacher", "stu-0002"),
    Enrolment("English 10", "t-english", "stu-0001"),  # a teacher with no demo login
    Enrolment("English 10", "t-english", "stu-0002"),
)
"""The demo roster: matches :data:`lamworks_education.store.DEMO_GRADES`."""


class RosterError(ValueError):
    """A roster CSV that cannot be used; the message names the file and the row."""


def _bare_id(value: str) -> str:
    """``Student/stu-0001`` → ``stu-0001`` (the id part of a FHIR-style reference)."""
    return value.strip().rsplit("/", 1)[-1].strip()


def parse_roster(text: str, where: str = "roster") -> list[Enrolment]:
    """The enrolments in CSV ``text``; :class:`RosterError` names the first bad row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise RosterError(f"{where}: the file is empty; it needs a header row "
                              f"({', '.join(COLUMNS)}) and one row per enrolment")
        names = [cell.strip().lower() for cell in header]
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise RosterError(f"{where} row 1: the header must name the columns "
                              f"{', '.join(COLUMNS)} (missing: {', '.join(missing)})")
        index = {c: names.index(c) for c in COLUMNS}
        rows: list[Enrolment] = []
        for cells in reader:
            row = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(names):
                raise RosterError(f"{where} row {row}: expected {len(names)} fields like the "
                                  f"header, found {len(cells)}")
            values = {c: cells[i].strip() for c, i in index.items()}
            for column in COLUMNS:
                if not values[column]:
                    raise RosterError(f"{where} row {row}: {column} is empty")
            student, teacher = _bare_id(values["student_id"]), _bare_id(values["teacher"])
            for column, value in (("student_id", student), ("teacher", teacher)):
                if not value or any(ch.isspace() for ch in value):
                    raise RosterError(f"{where} row {row}: {column} {values[column]!r} is not "
                                      "an id (no spaces)")
            rows.append(Enrolment(values["course"], teacher, student))
    except csv.Error as exc:
        raise RosterError(f"{where} row {reader.line_num}: not valid CSV ({exc})") from None
    if not rows:
        raise RosterError(f"{where}: no enrolments after the header row")
    return rows


def read_roster_csv(path: Path) -> list[Enrolment]:
    """The enrolments of a roster file; :class:`RosterError` for a missing or malformed one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RosterError(f"{path}: no such file") from None
    except OSError as exc:
        raise RosterError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return parse_roster(_decode(data, path), str(path))


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(f"{path}: not a UTF-8 text file (invalid byte at offset "
                          f"{exc.start}); save the roster as UTF-8 CSV") from None


def roster_path(settings: EducationSettings, config: InstitutionConfig) -> Path | None:
    """``roster_csv`` made absolute against the folder of lamworks.toml (None when unset)."""
    if settings.roster_csv is None:
        return None
    path = settings.roster_csv.expanduser()
    if path.is_absolute():
        return path
    base = config.source.parent if config.source is not None else Path.cwd()
    return base / path


def check_roster_setting(config: InstitutionConfig, settings: EducationSettings) -> None:
    """Read the configured roster once; a bad path or row is a :class:`ConfigError` naming
    ``plugins.education.roster_csv`` (called when the plugin loads)."""
    path = roster_path(settings, config)
    if path is None:
        return
    try:
        read_roster_csv(path)
    except RosterError as exc:
        raise ConfigError(str(exc), path=str(config.source or "lamworks.toml"),
                          key="plugins.education.roster_csv") from None


def sync_roster(db: sqlite3.Connection, settings: EducationSettings,
                config: InstitutionConfig) -> None:
    """Bring the roster tables up to date: import ``roster_csv`` when its content changed since
    the last import; without one, seed :data:`DEMO_ROSTER` when ``demo_grades`` is on and the
    roster is empty. Without either, the tables are left as they are (an institution may fill
    them itself)."""
    path = roster_path(settings, config)
    if path is None:
        empty = db.execute("SELECT COUNT(*) FROM enrolments").fetchone()[0] == 0
        if settings.demo_grades and empty:
            _replace(db, DEMO_ROSTER, "demo")
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    fingerprint = hashlib.sha256(str(path).encode() + b"\0" + data).hexdigest()
    row = db.execute("SELECT value FROM roster_meta WHERE key = 'fingerprint'").fetchone()
    if row is None or row[0] != fingerprint:
        _replace(db, parse_roster(_decode(data, path), str(path)), fingerprint)


def _replace(db: sqlite3.Connection, rows: Sequence[Enrolment], fingerprint: str) -> None:
    db.execute("DELETE FROM course_teachers")
    db.execute("DELETE FROM enrolments")
    db.executemany("INSERT OR IGNORE INTO course_teachers VALUES (?, ?)",
                   [(r.course, r.teacher) for r in rows])
    db.executemany("INSERT OR IGNORE INTO enrolments VALUES (?, ?)",
                   [(r.course, r.student_id) for r in rows])
    db.execute("INSERT OR REPLACE INTO roster_meta VALUES ('fingerprint', ?)", (fingerprint,))


def student_of(ctx: ActionContext) -> str:
    """The acting user's own student id (``links.student = "Student/stu-0001"``), or ''."""
    link = ctx.user_config.links.get("student", "")
    return _bare_id(link) if link else ""


def teacher_of(ctx: ActionContext) -> str:
    """The acting user's id on the roster: ``links.teacher`` when set, else the user name."""
    link = ctx.user_config.links.get("teacher", "")
    return _bare_id(link) if link else ctx.user


@dataclass(frozen=True)
class RecordAccess:
    """Whether the acting user may see one student's education records, and which."""

    allowed: bool
    basis: Literal["self", "staff", "teacher", "denied"]
    reason: str = ""
    """Why not (for the user; it never names another student's courses or grades)."""
    courses: tuple[str, ...] | None = None
    """Only these courses' records (a teacher's); ``None``: every course."""


def record_access(ctx: ActionContext, settings: EducationSettings, student_id: str,
                  course: str = "") -> RecordAccess:
    """Apply the FERPA rule (see the module docstring) to ``student_id`` for the acting user.

    ``course`` is the lookup's optional course filter (a case-insensitive substring, as in the
    tool); a teacher asking only about courses they do not teach the student is refused.
    """
    wanted = _bare_id(student_id)
    own = student_of(ctx)
    if ctx.role in settings.staff_roles:
        return RecordAccess(True, "staff")
    if own and wanted == own:
        return RecordAccess(True, "self")
    if ctx.role not in settings.teacher_roles:
        return RecordAccess(False, "denied", OWN_ONLY if own else NOT_AUTHORISED)
    with connect(ctx.data_dir, demo_grades=settings.demo_grades) as db:
        sync_roster(db, settings, ctx.config)
        if db.execute("SELECT COUNT(*) FROM enrolments").fetchone()[0] == 0:
            return RecordAccess(False, "denied", NO_ROSTER)
        shared = tuple(c for (c,) in db.execute(
            "SELECT DISTINCT e.course FROM enrolments e JOIN course_teachers t "
            "ON lower(t.course) = lower(e.course) WHERE e.student_id = ? AND t.teacher = ? "
            "ORDER BY e.course", (wanted, teacher_of(ctx))))
    if not shared:
        return RecordAccess(False, "denied", NOT_YOUR_STUDENT)
    if course.strip() and not any(course.strip().lower() in c.lower() for c in shared):
        return RecordAccess(False, "denied", NOT_YOUR_COURSE)
    return RecordAccess(True, "teacher", courses=shared)
