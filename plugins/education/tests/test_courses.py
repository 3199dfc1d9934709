"""Course names as entities: the extractor reads the courses the records hold, and the planner
fills a tool's course from them (real runtime, real SQLite, the default planner)."""

from __future__ import annotations

import sqlite3

from lamworks import Runtime
from lamworks_education.courses import find_courses, known_courses
from lamworks_education.store import education_dir


def test_the_records_courses_are_known_from_start_up(runtime: Runtime) -> None:
    # The demo roster and grade book are in place before any tool ran.
    assert known_courses(runtime.config.data_dir) == ("Biology 10", "English 10")


def test_a_course_is_found_whole_in_any_case_or_by_a_subject_only_it_has(
        runtime: Runtime) -> None:
    ctx = runtime.action_context("s", "teacher")
    found = find_courses("just english 10, and Biology 10 too", ctx)
    assert [(m.value, m.span.text) for m in found] == [("English 10", "english 10"),
                                                       ("Biology 10", "Biology 10")]
    assert [m.value for m in find_courses("my marks in biology", ctx)] == ["Biology 10"]
    assert find_courses("the biologist's notes", ctx) == []


def test_a_subject_two_courses_share_names_neither_and_new_courses_are_seen(
        runtime: Runtime) -> None:
    ctx = runtime.action_context("s", "teacher")
    path = education_dir(runtime.config.data_dir) / "education.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO grades VALUES ('stu-0001', 'Biology 11', 'Lab report', 8, 10, "
                   "'2026-11-20')")
    assert find_courses("my marks in biology", ctx) == []
    assert [m.value for m in find_courses("my marks in biology 11", ctx)] == ["Biology 11"]


def test_a_follow_up_naming_a_course_narrows_the_grades(runtime: Runtime) -> None:
    runtime.handle("c", "student", "show my grades")
    turn = runtime.handle("c", "student", "only biology 10")
    [step] = turn.steps
    assert step.tool == "education.grade_lookup"
    assert step.arguments["course"] == "Biology 10"
    assert step.status == "executed"
    assert {g["course"] for g in step.result.data["grades"]} == {"Biology 10"}


def test_the_module_example_runs() -> None:
    import doctest

    from lamworks_education import courses

    result = doctest.testmod(courses)
    assert result.attempted >= 1 and result.failed == 0
