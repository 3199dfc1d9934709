"""The default planner end to end, with the real embedding model, real SQLite and the runtime.

The sample ``agenda`` plugin (tests/plugins/lamworks_agenda) has contacts and meetings; a
meeting needs a Contact reference that two other tools produce.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lamworks import Runtime, load_config

pytestmark = pytest.mark.slow

# A Tuesday morning in the institution's zone: "Friday" is 2026-11-27.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def runtime(install_plugins: Callable[..., Path],
            write_config: Callable[..., Path]) -> Iterator[Runtime]:
    install_plugins(agenda="lamworks_agenda", sample="lamworks_sample")
    path = write_config(plugins="allow = ['agenda', 'sample']", staff_confirm="[]")
    text = path.read_text().replace('planner = "keyword"', 'planner = "neuro-symbolic"')
    path.write_text(text)
    rt = Runtime(load_config(path), clock=lambda: NOW)
    yield rt
    rt.close()


def _meetings(rt: Runtime) -> list[tuple[str, str, str]]:
    with sqlite3.connect(rt.config.data_dir / "agenda.db") as db:
        return db.execute("SELECT c.name, m.day, m.part FROM meetings m "
                          "JOIN contacts c ON c.id = m.contact ORDER BY m.id").fetchall()


def test_two_intents_become_a_chained_plan(runtime: Runtime) -> None:
    turn = runtime.handle("s", "alice", "add Maria Lopez as a contact and schedule a meeting "
                                        "with her on Friday afternoon")
    assert [s.tool for s in turn.steps] == ["agenda.add_contact", "agenda.schedule_meeting"]
    assert all(s.status == "executed" for s in turn.steps), turn.answer
    assert _meetings(runtime) == [("Maria Lopez", "2026-11-27", "afternoon")]
    span = turn.steps[1].spans["day"]
    assert turn.utterance[span.start:span.end] == "Friday"


def test_missing_reference_is_chained_from_a_finder(runtime: Runtime) -> None:
    runtime.handle("s", "alice", "add a contact called Tom Baker")
    turn = runtime.handle("s2", "alice", "set up a meeting with Tom Baker next Monday morning")
    assert [s.tool for s in turn.steps] == ["agenda.find_contact", "agenda.schedule_meeting"]
    assert turn.steps[-1].status == "executed", turn.answer
    assert _meetings(runtime) == [("Tom Baker", "2026-11-30", "morning")]


def test_follow_up_questions_then_answers(runtime: Runtime) -> None:
    runtime.handle("s0", "alice", "add a contact called Jane Doe")
    first = runtime.handle("s", "alice", "I want to schedule a meeting")
    assert first.follow_up is not None and first.follow_up.field == "full_name"
    assert "full name" in first.answer
    second = runtime.handle("s", "alice", "Jane Doe")
    assert second.follow_up is not None and second.follow_up.field == "day"
    assert "day of the meeting" in second.answer
    third = runtime.handle("s", "alice", "Thursday afternoon")  # answers two fields at once
    assert third.steps[-1].status == "executed", third.answer
    assert _meetings(runtime) == [("Jane Doe", "2026-11-26", "afternoon")]


def test_cancel_during_a_follow_up(runtime: Runtime) -> None:
    runtime.handle("s", "alice", "I want to schedule a meeting")
    turn = runtime.handle("s", "alice", "never mind")
    assert "Cancelled" in turn.answer and not turn.steps
    assert runtime.sessions.load("s", "alice")[0].follow_up is None


def test_correction_and_same_time_next_week(runtime: Runtime) -> None:
    runtime.handle("s", "alice", "add Ana Ruiz as a contact and schedule a meeting with her on "
                                 "Friday at 3pm")
    moved = runtime.handle("s", "alice", "no, make it Thursday")
    assert moved.steps[0].tool == "agenda.schedule_meeting"
    assert moved.steps[0].arguments["day"] == "2026-11-26"
    assert moved.steps[0].arguments["start"] == "15:00:00"
    again = runtime.handle("s", "alice", "same time next week")
    assert again.steps[0].arguments["day"] == "2026-12-03"
    assert again.steps[0].arguments["start"] == "15:00:00"


def test_invalid_value_becomes_a_question(runtime: Runtime) -> None:
    runtime.handle("s0", "alice", "add a contact called Jane Doe")
    turn = runtime.handle("s", "alice", "schedule a meeting with Jane Doe on Friday for 50 "
                                        "attendees")
    assert turn.follow_up is not None and turn.follow_up.field == "attendees"
    assert "less than or equal to 20" in turn.answer
    fixed = runtime.handle("s", "alice", "12")
    assert fixed.steps[-1].status == "executed", fixed.answer
    assert fixed.steps[-1].arguments["attendees"] == 12


def test_out_of_scope_and_small_talk(runtime: Runtime) -> None:
    assert runtime.handle("s", "alice", "thanks!").answer == "You're welcome."
    # A request no tool serves. (A general question would go to the documents' question tool,
    # which is loaded here and says when the documents do not answer it.)
    turn = runtime.handle("s", "alice", "play some jazz music")
    assert not turn.steps and "not something I can do" in turn.answer
    assert turn.plan is not None and turn.plan.why is not None
    assert turn.plan.why.candidates  # the why is there even when no tool is chosen


def test_thanks_answers_no_open_question(runtime: Runtime) -> None:
    """A pending question about a free-text name is set aside by a thanks, never filled with
    it; the conversation closes politely and nothing is planned."""
    first = runtime.handle("s", "alice", "I want to schedule a meeting")
    assert first.follow_up is not None and first.follow_up.field == "full_name"
    turn = runtime.handle("s", "alice", "Thanks so much for your help, that is all for now.")
    assert not turn.steps and turn.follow_up is None
    assert turn.answer.startswith("You're welcome")
    assert runtime.sessions.load("s", "alice")[0].follow_up is None


def test_a_closing_after_a_step_corrects_nothing(runtime: Runtime) -> None:
    runtime.handle("s", "alice", "add Ana Ruiz as a contact and schedule a meeting with her on "
                                 "Friday at 3pm")
    turn = runtime.handle("s", "alice", "No, that is everything I need today.")
    assert not turn.steps and "anything else" in turn.answer
    assert [(name, day) for name, day, _ in _meetings(runtime)] == [("Ana Ruiz", "2026-11-27")]
