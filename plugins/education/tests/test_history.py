"""Essay history: ``essay_feedback`` files each scored essay (once per step) in the plugin's
SQLite file; ``list_essay_feedback`` shows it under the FERPA rule of grades. Real runtime,
real SQLite, a roster from a CSV, steps proposed through the runtime (policies, journal)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from lamworks import Runtime, load_config
from lamworks_education.history import essay_title, insert_submission
from lamworks_education.scorer import EssayReport, TraitScore

CONFIG = """
data_dir = "data"
planner = "keyword"

[institution]
name = "Test Academy"
timezone = "America/Chicago"

[plugins]
allow = ["core", "education"]

[plugins.education]
use_embeddings = false
roster_csv = "roster.csv"

[roles.teacher]
scopes = ["user/Essay.crs", "user/Grade.rs", "user/Course.rs"]

[roles.student]
scopes = ["patient/Essay.crs", "patient/Grade.rs", "user/Course.rs"]

[users.tessa]
role = "teacher"

[users.page]
role = "teacher"
links = {{ teacher = "Teacher/t-0002" }}

[users.sam]
role = "student"
display_name = "Sam Student"
links = {{ student = "Student/stu-0001" }}

[users.lee]
role = "student"
links = {{ student = "Student/stu-0002" }}
"""

ROSTER = """course,teacher,student_id
Biology 10,tessa,stu-0001
Biology 10,tessa,stu-0002
English 10,t-0002,stu-0001
"""

ESSAY = (
    "Every school garden teaches more than how to grow beans. When our class planted a small "
    "plot behind the gym, we learned to measure rainfall, to count seedlings and to share the "
    "watering on hot afternoons. First, the garden turned science into something we could "
    "touch. Second, it showed that patience pays, because the squash took weeks to appear. "
    "Finally, the harvest fed the cafeteria for two days, which made everyone proud. For these "
    "reasons, each school should keep a garden that students plan and tend together.")


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "lamworks.toml").write_text(CONFIG.format(), encoding="utf-8")
    runtime = Runtime(load_config(tmp_path / "lamworks.toml"))
    yield runtime
    runtime.close()


def run(rt: Runtime, user: str, tool: str, **arguments: Any) -> Any:
    """One step proposed for ``user``: the executed step (or the turn's refusal)."""
    turn = rt.propose("s-" + user, user, f"education.{tool}", arguments,
                      text=f"[test {tool}]")
    assert turn.steps, turn.answer
    step = turn.steps[0]
    return step if step.status == "executed" else (step.status, turn.answer)


def rows(rt: Runtime) -> list[tuple[Any, ...]]:
    path = rt.config.data_dir / "education" / "education.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT student_id, submitted_by, course, rubric, overall, submitted "
                          "FROM essay_submissions ORDER BY id").fetchall()
    finally:
        db.close()


def test_a_students_essay_is_filed_with_scores_in_the_institutions_zone(rt: Runtime) -> None:
    step = run(rt, "sam", "essay_feedback", essay=ESSAY, prompt="Should schools keep gardens?")
    filed = step.result.data["submission"]
    [(student, by, course, rubric, overall, submitted)] = rows(rt)
    assert (student, by, rubric) == ("stu-0001", "sam", "argumentative")
    assert course == ""  # two courses, none named: unknown
    assert overall == step.result.data["overall"] and filed["student_id"] == "stu-0001"
    assert datetime.fromisoformat(submitted).utcoffset() is not None
    assert datetime.fromisoformat(submitted).tzname() in ("UTC-06:00", "UTC-05:00")
    assert filed["title"] == "Should schools keep gardens?"


def test_the_course_named_in_the_prompt_is_recorded(rt: Runtime) -> None:
    run(rt, "sam", "essay_feedback", essay=ESSAY, prompt="English 10: an argument about gardens")
    assert rows(rt)[0][2] == "English 10"


def test_a_retried_step_files_its_essay_once(rt: Runtime) -> None:
    report = EssayReport(rubric="argumentative", status="scored", overall=3.5, next_steps=[],
                         traits=[TraitScore("ideas", "Ideas", 4.0, "Clear", [], [])])
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE essay_submissions (id INTEGER PRIMARY KEY, student_id TEXT, "
               "submitted_by TEXT, course TEXT, title TEXT, essay TEXT, rubric TEXT, "
               "overall REAL, traits TEXT, submitted TEXT, idempotency_key TEXT UNIQUE)")
    first, again = (insert_submission(db, student_id="stu-0001", submitted_by="sam", course="",
                                      essay=ESSAY, prompt="", report=report,
                                      submitted=f"2026-12-01T10:0{n}:00-06:00",
                                      idempotency_key="k1") for n in (1, 2))
    assert first == again
    assert db.execute("SELECT COUNT(*) FROM essay_submissions").fetchone() == (1,)
    assert first.traits == (("Ideas", 4.0),) and first.title == essay_title(ESSAY)


def test_titles_cut_on_word_boundaries() -> None:
    assert essay_title("one two three") == "one two three"
    assert essay_title(ESSAY) == "Every school garden teaches more than how to…"


def test_the_student_lists_their_own_history_newest_first(rt: Runtime) -> None:
    run(rt, "sam", "essay_feedback", essay=ESSAY, prompt="first draft")
    run(rt, "sam", "essay_feedback", essay=ESSAY + " Gardens matter.", prompt="second draft")
    step = run(rt, "sam", "list_essay_feedback")
    essays = step.result.data["essays"]
    assert [e["title"] for e in essays] == ["second draft", "first draft"]
    assert essays[0]["overall"] is not None and "Ideas and thesis" in essays[0]
    assert "students" not in step.result.data  # one's own history has no roster


def test_another_student_sees_nothing_of_it(rt: Runtime) -> None:
    run(rt, "sam", "essay_feedback", essay=ESSAY)
    status, answer = run(rt, "lee", "list_essay_feedback", student_id="stu-0001")
    assert status == "denied" and "FERPA" in answer
    assert run(rt, "lee", "list_essay_feedback").result.data["essays"] == []


def test_the_teacher_sees_their_class_with_the_essays_of_their_course(rt: Runtime) -> None:
    run(rt, "sam", "essay_feedback", essay=ESSAY, prompt="Biology 10 lab reflection")
    run(rt, "sam", "essay_feedback", essay=ESSAY, prompt="English 10 argument")
    run(rt, "sam", "essay_feedback", essay=ESSAY, prompt="a draft for no course")
    data = run(rt, "tessa", "list_essay_feedback").result.data
    roster = {r["student_id"]: r for r in data["students"]}
    assert set(roster) == {"stu-0001", "stu-0002"}
    assert roster["stu-0001"]["essays"] == 2 and roster["stu-0001"]["name"] == "Sam Student"
    assert roster["stu-0002"]["essays"] == 0
    # the English essay is the English teacher's to see, not the biology teacher's
    assert {e["course"] for e in data["essays"]} == {"Biology 10", ""}
    english = run(rt, "page", "list_essay_feedback").result.data["essays"]
    assert {e["course"] for e in english} == {"English 10", ""}


def test_a_student_named_inside_the_essay_does_not_change_whose_it_is(rt: Runtime) -> None:
    step = run(rt, "sam", "essay_feedback",
               essay=ESSAY + " My friend stu-0002 (Lee) helped me water the plot.")
    assert step.result.data["submission"]["student_id"] == "stu-0001"
    assert [r[0] for r in rows(rt)] == ["stu-0001"]


def test_a_teacher_trying_the_rubric_out_files_nothing(rt: Runtime) -> None:
    step = run(rt, "tessa", "essay_feedback", essay=ESSAY)
    assert "submission" not in step.result.data and rows(rt) == []
