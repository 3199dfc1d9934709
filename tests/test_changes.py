"""Plan, then apply: what a person confirms is exactly what is committed.

The Change type (its documented example is run here), and the runtime on a third-party plugin
whose write tools plan (``tests/plugins/lamworks_ledger``): the token is bound to the change's
digest, policies run again at confirmation for every step that runs, and a change that meets
moved records writes nothing and is proposed again for a fresh confirmation.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import lamworks
from lamworks import (
    Change,
    ConfirmationError,
    Decision,
    Ref,
    Runtime,
    Step,
    Turn,
    Write,
    load_config,
)
from lamworks.config import UserConfig

DOCS = Path(__file__).parents[1] / "docs" / "plugin-hooks.md"


@pytest.fixture
def ledger(install_plugins: Callable[..., Path],
           write_config: Callable[..., Path]) -> Iterator[Runtime]:
    install_plugins(sample="lamworks_sample", ledger="lamworks_ledger")
    rt = Runtime(load_config(write_config(plugins='allow = ["sample", "ledger"]')))
    yield rt
    rt.close()


def _context(rt: Runtime, session: str = "direct", key: str = "") -> Any:
    from dataclasses import replace

    return replace(rt.action_context(session, "alice"), idempotency_key=key)


def _example(doc: str) -> str:
    """The indented block after a docstring's ``Example (...)::``."""
    block = doc.split("Example (", 1)[1].split("::\n", 1)[1]
    lines: list[str] = []
    for line in block.splitlines():
        if line and not line.startswith(" "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


# -- the type ------------------------------------------------------------------------------------


def test_the_documented_example_of_change_runs(ledger: Runtime) -> None:
    code = _example(inspect.getdoc(Change) or "")
    assert "edit_note.plan(ctx" in code
    exec(compile(code, "Change.__doc__", "exec"), {"ctx": _context(ledger)})


def test_the_plugin_docs_example_of_plan_then_apply_runs(ledger: Runtime) -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("#### Writes: plan, then apply", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert code is not None
    exec(compile(code.group(1), str(DOCS), "exec"), {"ctx": _context(ledger)})


def test_digest_is_canonical_and_binds_every_detail() -> None:
    write = Write(method="PUT", url="Slot/s1", resource={"status": "busy", "id": "s1"},
                  if_match="3", before={"id": "s1", "status": "free"})
    change = Change(action="Book.", writes=[write], summary="Booked.",
                    data={"appointment_id": "a1"}, refs=[Ref(type="Appointment", id="a1")])
    reordered = Write(method="PUT", url="Slot/s1", resource={"id": "s1", "status": "busy"},
                      if_match="3", before={"status": "free", "id": "s1"})
    assert change.model_copy(update={"writes": (reordered,)}).digest() == change.digest()
    assert Change.model_validate_json(change.model_dump_json()).digest() == change.digest()
    for other in (change.model_copy(update={"writes": (write.model_copy(update={
                      "if_match": "4"}),)}),
                  change.model_copy(update={"writes": (write.model_copy(update={
                      "url": "Slot/s2"}),)}),
                  change.model_copy(update={"data": {"appointment_id": "a2"}})):
        assert other.digest() != change.digest()
    assert change.preview().splitlines() == [
        "Book.", "Exactly this is written, all or nothing:",
        '- PUT Slot/s1 (update) [If-Match W/"3"]: status: free -> busy']
    assert change.result().data == {"appointment_id": "a1"}


def test_a_tool_that_plans_returns_a_change_and_invoke_plans_then_applies(
        ledger: Runtime) -> None:
    opener = ledger.tools["ledger.open_account"]
    assert opener.plans_changes and not ledger.tools["sample.add_note"].plans_changes
    ctx = _context(ledger, key="k1")
    change = opener.plan(ctx, {"owner": "Ana"})
    assert opener.plan(ctx, {"owner": "Ana"}) == change  # planning writes nothing
    from lamworks_ledger import read_account

    assert read_account(ctx, change.data["account_id"]) is None
    result = opener.invoke(ctx, {"owner": "Ana"})
    assert result.data == change.data and read_account(ctx, change.data["account_id"])
    with pytest.raises(TypeError, match="does not plan changes"):
        ledger.tools["sample.add_note"].plan(ctx, {"text": "x"})


# -- preview and commit --------------------------------------------------------------------------


def _open(rt: Runtime, session: str = "s1", owner: str = "Ana") -> Turn:
    turn = rt.handle(session, "alice", f"open a ledger account owner={owner}")
    assert turn.awaiting_confirmation is not None, turn.answer
    return turn


def _account(rt: Runtime, session: str = "s0") -> str:
    turn = _open(rt, session)
    step = turn.awaiting_confirmation
    assert step is not None
    done = rt.confirm(session, step.id)
    assert done.steps[0].status == "executed", done.answer
    return str(done.steps[0].result.data["account_id"])  # type: ignore[union-attr]


def test_preview_is_rendered_from_the_stored_change_and_created_ids_are_the_previewed_ones(
        ledger: Runtime) -> None:
    turn = _open(ledger)
    step = turn.awaiting_confirmation
    assert step is not None and step.change is not None
    assert step.change_digest == step.change.digest()
    assert step.change.preview() in turn.answer
    stored, _ = ledger.sessions.load("s1", "alice")
    assert stored.pending_steps[0].change == step.change
    promised = step.change.data["account_id"]
    assert f"PUT Account/{promised} (create)" in turn.answer
    done = ledger.confirm("s1", step.id)
    assert done.steps[0].status == "executed"
    assert done.steps[0].result is not None and done.steps[0].result.data["account_id"] == promised
    from lamworks_ledger import read_account

    assert read_account(_context(ledger), promised) == {"owner": "Ana", "balance": 0,
                                                         "version": "1"}
    digests = {e.event: e.detail.get("change_digest") for e in ledger.audit.entries()}
    assert digests["step.awaiting_confirmation"] == digests["step.confirmed"] == \
        digests["step.executed"] == step.change_digest


def test_token_is_bound_to_the_digest_of_the_stored_change(ledger: Runtime) -> None:
    account = _account(ledger)
    tampered = [
        # another amount written under the digest that was shown
        lambda s: s.model_copy(update={"change": s.change.model_copy(update={"writes": (
            s.change.writes[0].model_copy(update={"resource": {"owner": "Ana",
                                                                "balance": 900}}),)})}),
        # the change and its digest replaced consistently: still not what the token binds
        lambda s: (lambda c: s.model_copy(update={"change": c, "change_digest": c.digest()}))(
            s.change.model_copy(update={"summary": "something else"})),
        # the change removed: the token was issued for a change
        lambda s: s.model_copy(update={"change": None, "change_digest": None}),
        # the arguments edited
        lambda s: s.model_copy(update={"arguments": {**s.arguments, "amount": "900"}}),
    ]
    for number, edit in enumerate(tampered):
        session = f"t{number}"
        turn = ledger.handle(session, "alice",
                             f"deposit money into a ledger account account={account} amount=5")
        step = turn.awaiting_confirmation
        assert step is not None and step.change is not None, turn.answer
        state, version = ledger.sessions.load(session, "alice")
        state.pending_steps[0] = edit(state.pending_steps[0])
        ledger.sessions.save(session, "alice", state, version)
        with pytest.raises(ConfirmationError, match="changed after it was shown"):
            ledger.confirm(session, step.id)
        with pytest.raises(ConfirmationError):  # the token is spent
            ledger.confirm(session, step.id)
    # What the person saw, passed back by a client, must be the stored change.
    turn = ledger.handle("t9", "alice",
                         f"deposit money into a ledger account account={account} amount=5")
    step = turn.awaiting_confirmation
    assert step is not None
    with pytest.raises(ConfirmationError, match="changed after it was shown"):
        ledger.confirm("t9", step.id, change_digest="0" * 64)
    from lamworks_ledger import read_account

    assert read_account(_context(ledger), account)["balance"] == 0  # type: ignore[index]


# -- what is true at confirmation ----------------------------------------------------------------


def test_a_policy_that_now_denies_stops_the_confirmed_step(ledger: Runtime) -> None:
    account = _account(ledger)
    turn = ledger.handle("s1", "alice",
                         f"deposit money into a ledger account account={account} amount=5")
    step = turn.awaiting_confirmation
    assert step is not None
    (ledger.config.data_dir / "frozen.txt").write_text(account)
    done = ledger.confirm("s1", step.id)
    assert [s.status for s in done.steps] == ["denied"]
    assert "That account is frozen." in done.answer
    from lamworks_ledger import read_account

    assert read_account(_context(ledger), account)["balance"] == 0  # type: ignore[index]
    assert [e.event for e in ledger.audit.entries()][-2:] == ["step.confirmed", "step.denied"]


def test_a_role_that_lost_its_scopes_cannot_confirm(ledger: Runtime) -> None:
    turn = _open(ledger)
    step = turn.awaiting_confirmation
    assert step is not None
    users = {**ledger.config.users, "alice": UserConfig(role="reader")}
    ledger.config = ledger.config.model_copy(update={"users": users})
    done = ledger.confirm("s1", step.id)
    assert [s.status for s in done.steps] == ["denied"]
    assert "user/Account.c" in done.answer
    from lamworks_ledger import read_account

    assert read_account(_context(ledger), step.change.data["account_id"]) is None  # type: ignore


def test_steps_stored_after_a_pending_step_are_checked_again_before_they_run(
        ledger: Runtime) -> None:
    turn = ledger.handle("s1", "alice", "add a note text=first")
    step = turn.awaiting_confirmation
    assert step is not None
    allowed = [Decision(kind="allow", policy="sample.no_secret_notes")]
    state, version = ledger.sessions.load("s1", "alice")
    state.pending_steps.append(Step(id="appended", tool="sample.add_note",
                                    arguments={"text": "the secret code"}, decisions=allowed))
    ledger.sessions.save("s1", "alice", state, version)
    done = ledger.confirm("s1", step.id)
    assert [s.status for s in done.steps] == ["executed", "denied"]
    assert "must not contain secrets" in done.answer
    import sqlite3

    with sqlite3.connect(ledger.config.data_dir / "notes.db") as db:
        assert [r[0] for r in db.execute("SELECT text FROM notes")] == ["first"]


def test_a_later_step_carrying_a_stale_change_is_planned_again(ledger: Runtime) -> None:
    account = _account(ledger)
    deposit = ledger.tools["ledger.deposit"]
    stale = deposit.plan(_context(ledger), {"account": account, "amount": 7})
    turn = ledger.handle("s1", "alice", "add a note text=first")
    step = turn.awaiting_confirmation
    assert step is not None
    ledger.tools["ledger.deposit"].invoke(_context(ledger), {"account": account, "amount": 1})
    state, version = ledger.sessions.load("s1", "alice")
    state.pending_steps.append(Step(id="later", tool="ledger.deposit",
                                    arguments={"account": account, "amount": 7},
                                    change=stale, change_digest=stale.digest()))
    ledger.sessions.save("s1", "alice", state, version)
    done = ledger.confirm("s1", step.id)
    # The later step is a write: checked again, planned on the balance of now, and it waits
    # for its own confirmation with that change (never the stale one it was stored with).
    later = done.awaiting_confirmation
    assert later is not None and later.id == "later" and later.change is not None
    assert later.change.digest() != stale.digest()
    assert later.change.writes[0].resource == {"owner": "Ana", "balance": 8}
    final = ledger.confirm("s1", "later")
    assert final.steps[0].status == "executed", final.answer
    from lamworks_ledger import read_account

    assert read_account(_context(ledger), account)["balance"] == 8  # type: ignore[index]


def test_rechecks_do_not_count_twice_against_the_rate_limit(
        install_plugins: Callable[..., Path], write_config: Callable[..., Path]) -> None:
    install_plugins(sample="lamworks_sample")
    rt = Runtime(load_config(write_config(rate=2)))
    step = rt.handle("s", "alice", "add a note text=one").awaiting_confirmation
    assert step is not None
    assert rt.confirm("s", step.id).steps[0].status == "executed"
    assert rt.handle("s", "alice", "count my notes").steps[0].status == "executed"
    assert rt.handle("s", "alice", "count my notes").steps[0].status == "denied"
    rt.close()


# -- records that moved --------------------------------------------------------------------------


def test_a_conflict_writes_nothing_and_asks_again_with_the_new_situation(
        ledger: Runtime) -> None:
    from lamworks_ledger import read_account

    account = _account(ledger)
    turn = ledger.handle("s1", "alice",
                         f"deposit money into a ledger account account={account} amount=5")
    first = turn.awaiting_confirmation
    assert first is not None and first.change is not None
    # Another session deposits between the preview and the confirmation.
    ledger.tools["ledger.deposit"].invoke(_context(ledger, "other"),
                                          {"account": account, "amount": 100})
    answered = ledger.confirm("s1", first.id)
    assert [s.status for s in answered.steps] == ["conflict", "awaiting_confirmation"]
    assert read_account(_context(ledger), account)["balance"] == 100  # type: ignore[index]
    again = answered.awaiting_confirmation
    assert again is not None and again.id != first.id and again.change is not None
    assert again.change.writes[0].resource == {"owner": "Ana", "balance": 105}
    assert "changed after you saw it; nothing was written" in answered.answer
    assert again.change.preview() in answered.answer
    assert any(d.policy == "core.change_conflict" for d in again.decisions)
    with pytest.raises(ConfirmationError):
        ledger.confirm("s1", first.id)  # the old proposal is gone
    done = ledger.confirm("s1", again.id)
    assert done.steps[0].status == "executed"
    assert read_account(_context(ledger), account) == {"owner": "Ana", "balance": 105,
                                                        "version": "3"}


def test_public_names() -> None:
    assert {"Change", "ChangeConflict", "Write"} <= set(lamworks.__all__)
    assert issubclass(lamworks.ChangeConflict, lamworks.ToolError)
