"""The education plugin's home sections: who sees which (by scopes and links, never by role
name), and what they draw on the real Home page (AppTest, real runtime and SQLite)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from lamworks import Runtime, load_config
from lamworks.ui.services import home_sections_for
from lamworks_education.home import trait_trends_html

HOME = Path(__file__).parents[3] / "ui" / "views" / "home.py"
CLASS, OWN = "Class roster and essays", "Your essays and feedback"

CONFIG = """
data_dir = "data"
planner = "keyword"

[institution]
name = "Test Academy"
timezone = "America/Chicago"

[plugins]
allow = ["core", "education"]

[auth]
mode = "demo"

[plugins.education]
use_embeddings = false
demo_grades = true

[roles.teacher]
scopes = ["user/Essay.crs", "user/Grade.rs", "user/Course.rs"]

[roles.student]
scopes = ["patient/Essay.crs", "patient/Grade.rs", "user/Course.rs"]

[roles.tutor]
scopes = ["user/Grade.rs", "user/Course.rs", "patient/Essay.rs"]

[users.teacher]
role = "teacher"
display_name = "Ms. Tessa Teacher"

[users.student]
role = "student"
display_name = "Sam Student"
links = {{ student = "Student/stu-0001" }}

[users.nolink]
role = "student"

[users.tutor]
role = "tutor"
"""

ESSAY = (
    "Our library should stay open later on school nights. Many students have no quiet place "
    "at home, and the building closes just as practice ends. First, longer hours would give "
    "athletes a fair chance to finish research. Second, the staff could run a homework desk, "
    "which the town survey asked for. Finally, the cost is small compared with the benefit. "
    "For these reasons, the board should extend the library hours until nine o'clock.")


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "lamworks.toml"
    path.write_text(CONFIG.format(), encoding="utf-8")
    monkeypatch.setenv("LAMWORKS_CONFIG", str(path))
    # As `lamworks ui` serves it: on loopback (demo mode refuses any other address).
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "127.0.0.1")
    yield path
    streamlit_config.set_option("server.address", before)
    from lamworks.ui import state

    state._runtime.clear()


def titles(rt: Runtime, user: str) -> list[str]:
    return [s.title for s in home_sections_for(rt, user) if s.plugin == "education"]


def test_sections_follow_scopes_and_links(config: Path) -> None:
    rt = Runtime(load_config(config))
    try:
        assert titles(rt, "teacher") == [CLASS]  # user/Essay.rs, not linked to a student
        assert titles(rt, "student") == [OWN]  # linked to a student record
        assert titles(rt, "nolink") == []  # a student's scopes, but no record to show
        assert titles(rt, "tutor") == []  # patient/ essay scopes do not cover a class view
    finally:
        rt.close()


def _home(user: str) -> AppTest:
    at = AppTest.from_file(str(HOME), default_timeout=60)
    at.session_state["acting_user"] = user
    return at.run()


def _column(at: AppTest, name: str) -> list[str]:
    """The values of column ``name`` in the page's responsive table (lamworks.ui.responsive)."""
    body = at.get("html")[0].proto.body
    return [html.unescape(v) for v in re.findall(rf'data-label="{name}">([^<]*)<', body)]


def _html(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_the_student_sees_their_essay_and_the_teacher_their_class(config: Path) -> None:
    rt = Runtime(load_config(config))
    try:
        turn = rt.propose("s", "student", "education.essay_feedback",
                          {"essay": ESSAY, "prompt": "Biology 10 reflection"}, text="[test]")
        assert turn.steps[0].status == "executed", turn.answer
    finally:
        rt.close()
    student = _home("student")
    assert not student.exception
    assert OWN in [s.value for s in student.subheader]
    assert _column(student, "essay") == ["Biology 10 · Biology 10 reflection"]
    assert "Ideas and thesis" in _column(student, "traits")[0]
    assert any("America/Chicago" in c.value for c in student.caption)

    teacher = _home("teacher")
    assert not teacher.exception
    assert CLASS in [s.value for s in teacher.subheader]
    assert _column(teacher, "student") == ["Sam Student (stu-0001)", "stu-0002"]
    assert _column(teacher, "essays") == ["1", "0"]
    assert "Ideas and thesis" in _column(teacher, "latest traits")[0]
    page = _html(teacher)
    assert "role='img'" in page and "aria-label='Ideas and thesis, 1 essay(s)" in page


def test_trait_charts_say_every_score_to_a_screen_reader() -> None:
    essays = [{"submitted": "2026-12-02T09:00:00-06:00", "student_id": "stu-0001",
               "name": "Sam", "overall": 3.0, "Ideas": 4.0, "Conventions": 2.0},
              {"submitted": "2026-12-01T09:00:00-06:00", "student_id": "stu-0002",
               "name": "", "overall": 2.0, "Ideas": 2.5}]
    chart = trait_trends_html(essays, by_student=True)
    assert chart.count("<figure role='img'") == 2  # one per trait
    # oldest first, each score with whose essay it is
    assert "Ideas, 2 essay(s) oldest first, out of 5: stu-0002, Tue 1 Dec 09:00: 2.5; Sam, " \
           "Wed 2 Dec 09:00: 4" in chart
    assert trait_trends_html([], by_student=False) == ""


def test_an_essay_sent_from_the_essay_feedback_page_is_listed_too(config: Path) -> None:
    page = AppTest.from_file(str(Path(__file__).parents[1] / "lamworks_education" /
                                  "ui_essay.py"), default_timeout=60)
    page.session_state["acting_user"] = "student"
    page.run()
    page.text_area[0].input(ESSAY)
    page.button[0].click().run()
    assert not page.exception
    assert any("Saved in the feedback history" in c.value for c in page.caption)
    assert _column(_home("student"), "essay") == ["Our library should stay open later on school…"]
