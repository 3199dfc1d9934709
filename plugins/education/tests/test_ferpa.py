"""FERPA: education records go only to the student, their teachers (the enrolment roster) and
authorised staff. Real runtime, real SQLite roster loaded from a CSV; the policy and the tool
(defence in depth) are both checked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lamworks import ConfigError, PolicyContext, Runtime, Step, ToolError, load_config
from lamworks.policies import combine, evaluate
from lamworks_education.roster import (
    NO_ROSTER,
    NOT_AUTHORISED,
    NOT_YOUR_COURSE,
    NOT_YOUR_STUDENT,
    OWN_ONLY,
)
from lamworks_education.tools import grade_lookup

CONFIG = """
data_dir = "data"
planner = "keyword"   # deterministic routing for the end-to-end checks

[institution]
name = "Test Academy"
timezone = "America/Chicago"

[plugins]
allow = ["core", "education"]

[plugins.education]
demo_grades = {demo}
use_embeddings = false
{roster}

[roles.teacher]
scopes = ["user/Grade.rs", "user/Course.rs"]

[roles.student]
scopes = ["patient/Grade.rs", "user/Course.rs"]

[roles.registrar]
scopes = ["user/Grade.rs"]

[roles.counsellor]
scopes = ["user/Grade.rs"]

[users.tessa]
role = "teacher"

[users.page]
role = "teacher"
links = {{ teacher = "Teacher/t-0002" }}

[users.curie]
role = "teacher"

[users.sam]
role = "student"
links = {{ student = "Student/stu-0001" }}

[users.rita]
role = "registrar"

[users.colin]
role = "counsellor"
"""

ROSTER = """course,teacher,student_id
Biology 10,tessa,stu-0001
Biology 10,tessa,Student/stu-0002
English 10,Teacher/t-0002,stu-0001
English 10,t-0002,stu-0002
Chemistry 11,curie,stu-0003
"""
# The demo grades (store.DEMO_GRADES): stu-0001 has two Biology 10 rows and one English 10 row,
# stu-0002 one of each.


def _runtime(folder: Path, roster: str | None = ROSTER, setting: str = "roster.csv",
             extra: str = "", demo: bool = True) -> Runtime:
    folder.mkdir(parents=True, exist_ok=True)
    if roster is not None:
        (folder / "roster.csv").write_text(roster, encoding="utf-8")
    line = f'roster_csv = "{setting}"' if setting else ""
    path = folder / "lamworks.toml"
    path.write_text(CONFIG.format(roster=f"{line}\n{extra}", demo=str(demo).lower()),
                    encoding="utf-8")
    return Runtime(load_config(path))


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = _runtime(tmp_path)
    yield runtime
    runtime.close()


def decide(rt: Runtime, user: str, **arguments: str) -> tuple[str, str]:
    """The pre-stage FERPA policy's verdict for a grade lookup: (kind, reason)."""
    tool = rt.tools["education.grade_lookup"]
    policy = rt.plugins.policies["education.ferpa_records"]
    step = Step(id="1", tool=tool.name, arguments=arguments)
    ctx = PolicyContext(rt.action_context("s", user), tool, None, rt.plugins.settings)
    verdict = combine(evaluate([policy], step, ctx))
    return verdict.kind, verdict.reason


def lookup(rt: Runtime, user: str, student_id: str = "", course: str = "") -> dict[str, Any]:
    """The tool itself, as the runtime would call it for ``user``."""
    ctx = replace(rt.action_context("s", user), settings=rt.plugins.settings["education"])
    return grade_lookup.function(ctx, student_id, course).model_dump()


def courses(result: dict[str, Any]) -> set[str]:
    return {g["course"] for g in result["data"]["grades"]}


def test_student_sees_own_grades(rt: Runtime) -> None:
    assert decide(rt, "sam") == ("allow", "")
    assert decide(rt, "sam", student_id="stu-0001") == ("allow", "")
    result = lookup(rt, "sam")
    assert result["data"]["student_id"] == "stu-0001"
    assert courses(result) == {"Biology 10", "English 10"} and len(result["data"]["grades"]) == 3


def test_student_cannot_see_another_students_grades(rt: Runtime) -> None:
    kind, reason = decide(rt, "sam", student_id="stu-0002")
    assert (kind, reason) == ("deny", OWN_ONLY)
    with pytest.raises(ToolError, match="only your own grades"):
        lookup(rt, "sam", "stu-0002")


def test_teacher_of_the_course_sees_their_student(rt: Runtime) -> None:
    assert decide(rt, "tessa", student_id="stu-0002") == ("allow", "")
    assert decide(rt, "tessa", student_id="stu-0002", course="biology") == ("allow", "")
    result = lookup(rt, "tessa", "stu-0002")
    assert [(g["course"], g["score"]) for g in result["data"]["grades"]] == [("Biology 10", 14)]
    # a teacher found through links.teacher (Teacher/t-0002), not the user name
    assert decide(rt, "page", student_id="stu-0002") == ("allow", "")


def test_teacher_of_another_course_is_denied(rt: Runtime) -> None:
    kind, reason = decide(rt, "curie", student_id="stu-0001")
    assert (kind, reason) == ("deny", NOT_YOUR_STUDENT)
    # the reason names no other student's courses or grades
    assert not re.search(r"Biology|English|stu-0|\d+/\d+", reason)
    with pytest.raises(ToolError) as raised:  # the tool refuses too (defence in depth)
        lookup(rt, "curie", "stu-0001")
    assert str(raised.value) == NOT_YOUR_STUDENT
    # an unknown student reads exactly like someone else's: no probing who exists
    assert decide(rt, "curie", student_id="stu-9999") == ("deny", NOT_YOUR_STUDENT)


def test_teacher_sees_only_rows_of_the_courses_they_teach(rt: Runtime) -> None:
    biology = lookup(rt, "tessa", "stu-0001")
    assert courses(biology) == {"Biology 10"} and len(biology["data"]["grades"]) == 2
    assert biology["data"]["courses"] == ["Biology 10"]
    assert "English" not in biology["summary"] and "3/5" not in biology["summary"]
    english = lookup(rt, "page", "stu-0001")
    assert courses(english) == {"English 10"}
    # asking for a course they do not teach the student is refused, not silently empty
    assert decide(rt, "tessa", student_id="stu-0001", course="english") == (
        "deny", NOT_YOUR_COURSE)
    with pytest.raises(ToolError):
        lookup(rt, "tessa", "stu-0001", "english")


def test_authorised_staff_see_any_student(rt: Runtime) -> None:
    assert decide(rt, "rita", student_id="stu-0002") == ("allow", "")
    result = lookup(rt, "rita", "stu-0002")
    assert courses(result) == {"Biology 10", "English 10"} and "courses" not in result["data"]
    # a role that is neither the student, a teacher nor authorised staff
    assert decide(rt, "colin", student_id="stu-0002") == ("deny", NOT_AUTHORISED)
    with pytest.raises(ToolError):
        lookup(rt, "colin", "stu-0002")


def test_denial_and_lookup_end_to_end_through_the_runtime(rt: Runtime) -> None:
    denied = rt.handle("e1", "curie", "look up grades for student_id=stu-0001")
    assert [s.tool for s in denied.steps] == ["education.grade_lookup"]
    assert denied.steps[0].status == "denied" and "FERPA" in denied.answer
    assert "17" not in denied.answer and "Biology" not in denied.answer
    events = [e.event for e in rt.audit.entries()]
    assert "step.denied" in events
    shown = rt.handle("e2", "tessa", "look up grades for student_id=stu-0001")
    assert shown.steps[0].status == "executed"
    assert "Unit 3 quiz 17/20" in shown.answer and "essay" not in shown.answer.lower()


def test_roster_is_reimported_when_the_csv_changes(rt: Runtime, tmp_path: Path) -> None:
    assert decide(rt, "curie", student_id="stu-0001")[0] == "deny"
    (tmp_path / "roster.csv").write_text(ROSTER + "Chemistry 11,curie,stu-0001\n")
    assert decide(rt, "curie", student_id="stu-0001") == ("allow", "")
    assert courses(lookup(rt, "curie", "stu-0001")) == set()  # no Chemistry grades yet
    # a roster broken after start-up fails closed: the policy denies, the tool refuses
    (tmp_path / "roster.csv").write_text("course,teacher,student_id\nBiology 10,,stu-0001\n")
    kind, reason = decide(rt, "tessa", student_id="stu-0001")
    assert kind == "deny" and "safety check failed" in reason
    with pytest.raises(ToolError, match="roster cannot be read"):
        lookup(rt, "tessa", "stu-0001")


def test_demo_roster_matches_the_demo_users(runtime: Runtime) -> None:
    """The example config's teacher (demo_grades, no roster_csv) teaches Biology 10."""
    result = lookup(runtime, "teacher", "stu-0002")
    assert [(g["course"], g["score"]) for g in result["data"]["grades"]] == [("Biology 10", 14)]
    assert decide(runtime, "teacher", student_id="stu-0002", course="english")[0] == "deny"
    assert decide(runtime, "student", student_id="stu-0002")[0] == "deny"


def test_without_a_roster_teachers_see_no_records(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, roster=None, setting="", demo=False)
    try:
        assert decide(rt, "tessa", student_id="stu-0001") == ("deny", NO_ROSTER)
        assert decide(rt, "sam") == ("allow", "")
    finally:
        rt.close()


@pytest.mark.parametrize(("roster", "setting", "expected"), [
    (None, "missing.csv", r"missing\.csv: no such file"),
    ("course,teacher\nBiology 10,tessa\n", "roster.csv",
     r"row 1: the header must name the columns course, teacher, student_id \(missing: "
     r"student_id\)"),
    ("course,teacher,student_id\nBiology 10,tessa,stu-0001\nBiology 10,,stu-0002\n",
     "roster.csv", r"row 3: teacher is empty"),
    ("course,teacher,student_id\nBiology 10,tessa,stu-0001,extra\n", "roster.csv",
     r"row 2: expected 3 fields like the header, found 4"),
    ("course,teacher,student_id\nBiology 10,tessa,stu 0001\n", "roster.csv",
     r"row 2: student_id 'stu 0001' is not an id"),
    ("course,teacher,student_id\n", "roster.csv", r"no enrolments after the header row"),
    ("", "roster.csv", r"the file is empty"),
])
def test_bad_roster_csv_is_a_config_error_naming_the_setting_and_row(
        tmp_path: Path, roster: str | None, setting: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _runtime(tmp_path, roster=roster, setting=setting)
    message = str(raised.value)
    assert "lamworks.toml: plugins.education.roster_csv: " in message
    assert re.search(expected, message), message


@pytest.mark.parametrize(("extra", "expected"), [
    ('staff_roles = ["teacher", "admin"]',
     r"plugins\.education\.staff_roles: 'teacher' is also in teacher_roles"),
    ("", r"plugins\.education\.roster_csv: 'roster\.txt' is not a \.csv file"),
])
def test_bad_ferpa_settings_are_config_errors(tmp_path: Path, extra: str,
                                              expected: str) -> None:
    setting = "roster.csv" if extra else "roster.txt"
    with pytest.raises(ConfigError, match=expected):
        _runtime(tmp_path, setting=setting, extra=extra)
