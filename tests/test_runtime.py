"""One request end to end: planning, policies, confirmation, execution, sessions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from lamworks import ConfirmationError, InstitutionConfig, Runtime, load_config


def _notes(runtime: Runtime) -> list[tuple[str, str]]:
    path = runtime.config.data_dir / "notes.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return db.execute("SELECT text, author FROM notes ORDER BY id").fetchall()


def test_risky_step_waits_for_confirmation_then_runs_once(runtime: Runtime) -> None:
    turn = runtime.handle("s1", "alice", "add a note text=buy milk")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "sample.add_note"
    assert step.arguments == {"text": "buy milk"}
    assert step.spans["text"].text == "buy milk"
    assert any(d.kind == "confirm" and d.policy == "core.confirm_risky_steps"
               for d in step.decisions)
    assert _notes(runtime) == []  # nothing happened yet

    done = runtime.confirm("s1", step.id)
    assert done.steps[0].status == "executed"
    assert done.answer.startswith("Noted (1)")
    assert _notes(runtime) == [("buy milk", "")]


def test_confirmation_replayed_is_rejected(runtime: Runtime) -> None:
    step = runtime.handle("s1", "alice", "add a note text=once").awaiting_confirmation
    assert step is not None and step.confirmation_token
    runtime.confirm("s1", step.id, step.confirmation_token)
    with pytest.raises(ConfirmationError):
        runtime.confirm("s1", step.id, step.confirmation_token)
    with pytest.raises(ConfirmationError, match="already used"):
        runtime.confirmations.redeem(step.confirmation_token, "s1", step.id, step.tool,
                                     step.arguments)
    assert _notes(runtime) == [("once", "")]


def test_confirmation_with_changed_arguments_is_rejected(runtime: Runtime) -> None:
    step = runtime.handle("s1", "alice", "add a note text=pay rent").awaiting_confirmation
    assert step is not None
    with pytest.raises(ConfirmationError, match="changed"):
        runtime.confirm("s1", step.id, arguments={"text": "pay rent twice"})
    # The token is spent by the failed attempt: even the original arguments are refused now.
    with pytest.raises(ConfirmationError):
        runtime.confirm("s1", step.id)
    assert _notes(runtime) == []


def test_confirmation_rejected_when_stored_step_was_tampered(runtime: Runtime) -> None:
    step = runtime.handle("s1", "alice", "add a note text=small").awaiting_confirmation
    assert step is not None
    state, version = runtime.sessions.load("s1", "alice")
    state.pending_steps[0].arguments["text"] = "something else entirely"
    runtime.sessions.save("s1", "alice", state, version)
    with pytest.raises(ConfirmationError, match="changed"):
        runtime.confirm("s1", step.id)
    assert _notes(runtime) == []


def test_cancel_drops_the_step(runtime: Runtime) -> None:
    step = runtime.handle("s1", "alice", "add a note text=never").awaiting_confirmation
    assert step is not None
    turn = runtime.cancel("s1", step.id)
    assert turn.steps[0].status == "cancelled"
    with pytest.raises(ConfirmationError):
        runtime.confirm("s1", step.id)
    assert _notes(runtime) == []
    events = [e.event for e in runtime.audit.entries()]
    assert events == ["step.awaiting_confirmation", "step.cancelled"]


def test_plugin_policy_denies_with_its_reason_and_nothing_runs(runtime: Runtime) -> None:
    turn = runtime.handle("s1", "alice", "add a note text=my secret password")
    assert turn.steps[0].status == "denied"
    denial = turn.steps[0].denial()
    assert denial is not None and denial.policy == "sample.no_secret_notes"
    assert "must not contain secrets" in turn.answer
    assert turn.awaiting_confirmation is None
    assert _notes(runtime) == []
    entry = list(runtime.audit.entries())[-1]
    assert entry.event == "step.denied" and entry.detail["reason"].startswith("Notes must")


def test_role_without_scope_is_denied(runtime: Runtime) -> None:
    turn = runtime.handle("s2", "bob", "add a note text=hello")
    assert turn.steps[0].status == "denied"
    assert "user/Note.c" in turn.answer and "reader" in turn.answer


def test_raising_policy_fails_closed(runtime: Runtime) -> None:
    turn = runtime.handle("s1", "alice", "explode the policy check")
    step = turn.steps[0]
    assert step.status == "denied"
    denial = step.denial()
    assert denial is not None and denial.policy == "counter.explodes_on_fragile"
    assert "safety check failed" in denial.reason
    assert all(e.tool != "counter.fragile" or e.event == "step.denied"
               for e in runtime.audit.entries())


def test_redaction_hides_fields_from_audit_and_result(runtime: Runtime) -> None:
    step = runtime.handle(
        "s1", "alice", "add a note text=call back author_email=ana@example.org"
    ).awaiting_confirmation
    assert step is not None
    done = runtime.confirm("s1", step.id)
    result = done.steps[0].result
    assert result is not None and result.data["author_email"] == "[redacted]"
    assert _notes(runtime) == [("call back", "ana@example.org")]  # the tool got the real value
    for entry in runtime.audit.entries():
        assert "ana@example.org" not in str(entry.as_dict())


def test_follow_up_question_then_answer_completes_the_step(runtime: Runtime) -> None:
    turn = runtime.handle("s1", "alice", "add a note")
    assert turn.follow_up is not None and turn.follow_up.field == "text"
    assert "text of the note" in turn.answer
    assert not turn.steps
    turn = runtime.handle("s1", "alice", "water the plants")
    assert turn.awaiting_confirmation is not None
    assert turn.awaiting_confirmation.arguments["text"] == "water the plants"


def test_session_continues_in_another_runtime(sample_config: InstitutionConfig) -> None:
    first = Runtime(sample_config)
    step = first.handle("shared", "alice", "add a note text=from process one")
    assert step.awaiting_confirmation is not None
    first.close()
    second = Runtime(sample_config)  # a new process would see exactly these files
    done = second.confirm("shared", step.awaiting_confirmation.id)
    assert done.steps[0].status == "executed"
    second.close()


def test_session_belongs_to_its_user(runtime: Runtime) -> None:
    runtime.handle("mine", "alice", "count my notes")
    turn = runtime.handle("mine", "bob", "count my notes")
    assert "another user" in turn.answer
    assert not turn.steps


def test_rate_limit_denies_after_the_limit(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path]
) -> None:
    install_plugins(sample="lamworks_sample")
    runtime = Runtime(load_config(write_config(rate=3)))
    answers = [runtime.handle("s", "alice", "count my notes") for _ in range(4)]
    assert [t.steps[0].status for t in answers] == ["executed"] * 3 + ["denied"]
    assert "Too many actions" in answers[-1].answer
    runtime.close()


def test_unexpected_error_gives_a_reference_not_a_traceback(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        name = "broken"

        def plan(self, utterance: str, ctx: object) -> object:
            raise RuntimeError("planner bug with internal detail")

    runtime.planner = Broken()  # type: ignore[assignment]
    turn = runtime.handle("s1", "alice", "anything")
    assert turn.error_reference and turn.error_reference in turn.answer
    assert "internal detail" not in turn.answer
    assert turn.error_reference in caplog.text


def test_unknown_user_gets_a_clear_answer(runtime: Runtime) -> None:
    assert "Unknown user" in runtime.handle("s1", "mallory", "count my notes").answer


def test_greeting_and_out_of_scope_need_no_tool(runtime: Runtime) -> None:
    assert runtime.handle("s1", "alice", "hello there").answer.startswith("Hello")
    turn = runtime.handle("s1", "alice", "what is the airspeed of a swallow")
    assert not turn.steps and "can't help" in turn.answer


def test_request_policy_refuses_before_planning(runtime: Runtime) -> None:
    turn = runtime.handle("s1", "alice", "add a note about my fortune text=lucky")
    assert not turn.steps and turn.awaiting_confirmation is None
    assert "nobody here tells fortunes" in turn.answer
    [entry] = list(runtime.audit.entries())
    assert entry.event == "request.denied"
    assert entry.decisions[-1]["policy"] == "sample.no_fortune_telling"
    assert _notes(runtime) == []


def test_private_preview_and_summary_stay_out_of_the_audit_log(runtime: Runtime) -> None:
    turn = runtime.handle("s1", "alice", "add a note text=call Dr. Zhivago")
    assert "Preview: the note will read “call Dr. Zhivago”" in turn.answer  # the user sees it
    assert turn.awaiting_confirmation is not None
    done = runtime.confirm("s1", turn.awaiting_confirmation.id)
    assert done.answer == "Noted (1): call Dr. Zhivago"
    rows = [e.as_dict() for e in runtime.audit.entries()]
    assert all("Preview" not in str(row["decisions"]) for row in rows)
    assert any("[shown to the user; not recorded]" in str(row["decisions"]) for row in rows)
    executed = [row for row in rows if row["event"] == "step.executed"][0]
    assert executed["detail"]["summary"] == "Noted (1)."


def test_policies_see_their_own_plugin_settings(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path]
) -> None:
    install_plugins(sample="lamworks_sample")
    runtime = Runtime(load_config(write_config(extra="[plugins.sample]\nmax_note_length = 5\n")))
    turn = runtime.handle("s", "alice", "add a note text=much too long")
    assert turn.steps[0].status == "denied"
    assert "limited to 5 characters" in turn.answer
    runtime.close()


# -- live stages (issue 15, item 3): what a progress display is told, and when ----------------


def test_on_stage_is_told_each_stage_at_its_real_boundary(runtime: Runtime) -> None:
    seen: list[tuple[str, list[str], list[tuple[str, str]]]] = []

    def on_stage(stage: str) -> None:  # what is on record when each stage begins
        seen.append((stage, [e.event for e in runtime.audit.entries()], _notes(runtime)))

    turn = runtime.handle("st1", "alice", "add a note text=stage lines", on_stage=on_stage)
    step = turn.awaiting_confirmation
    assert step is not None
    assert [s for s, _, _ in seen] == ["planning", "checking", "waiting", "done"]
    assert "step.awaiting_confirmation" not in seen[1][1]  # checking: before the pause
    assert seen[2][1][-1] == "step.awaiting_confirmation"  # waiting: once it is on record

    seen.clear()
    done = runtime.confirm("st1", step.id, on_stage=on_stage)
    assert done.steps[0].status == "executed"
    assert [s for s, _, _ in seen] == ["checking", "running", "done"]
    running, finished = seen[1], seen[2]
    assert running[2] == [] and "step.executed" not in running[1]  # before the tool ran
    assert finished[2] == [("stage lines", "")] and "step.executed" in finished[1]

    seen.clear()
    runtime.handle("st2", "alice", "count my notes", on_stage=on_stage)
    assert [s for s, _, _ in seen] == ["planning", "checking", "running", "done"]

    seen.clear()  # a refusal before planning: only "done"
    too_long = "x" * (runtime.config.limits.max_utterance_chars + 1)
    runtime.handle("st3", "alice", too_long, on_stage=on_stage)
    assert [s for s, _, _ in seen] == ["done"]


def test_a_failing_on_stage_callback_changes_nothing(runtime: Runtime) -> None:
    told: list[str] = []

    def broken(stage: str) -> None:
        told.append(stage)
        raise RuntimeError("the display went away")

    turn = runtime.handle("st4", "alice", "add a note text=still planned", on_stage=broken)
    step = turn.awaiting_confirmation
    assert step is not None and turn.error_reference is None
    done = runtime.confirm("st4", step.id, on_stage=broken)
    assert done.steps[0].status == "executed" and done.answer.startswith("Noted (1)")
    assert _notes(runtime) == [("still planned", "")]
    assert told == ["planning", "checking", "waiting", "done", "checking", "running", "done"]


def test_a_new_message_at_a_confirmation_shows_the_planner_the_step_it_replaces(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    awaiting = runtime.handle("s1", "alice", "add a note text=buy milk").awaiting_confirmation
    assert awaiting is not None
    seen: list = []
    plan = runtime.planner.plan
    monkeypatch.setattr(runtime.planner, "plan",
                        lambda text, ctx: (seen.append(ctx.superseded), plan(text, ctx))[1])

    replacing = runtime.handle("s1", "alice", "add a note text=buy bread")
    runtime.cancel("s1", replacing.awaiting_confirmation.id)
    runtime.handle("s1", "alice", "add a note text=buy eggs")

    # The planner saw the step that was waiting (it never ran), and its token is spent; a
    # message with nothing waiting replaces nothing.
    assert seen[0] is not None and seen[0].id == awaiting.id
    assert seen[0].arguments == {"text": "buy milk"}
    assert seen[1] is None
    with pytest.raises(ConfirmationError):
        runtime.confirm("s1", awaiting.id)
