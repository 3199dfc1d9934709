"""Plans are transactions where the store allows it (issue 13, item 2).

Every step of a plan is checked before the first runs — its policies on the values it will
have (a step using the record an earlier step creates is bound to the id that step's change
mints) and its change planned through the earlier changes. When a later write is denied or
fails once earlier ones ran, those are undone (``compensate``) with an audit row saying why; a
plan whose earlier write cannot be undone says so and waits for the person's confirmation.

The ledger sample plugin (``tests/plugins/lamworks_ledger``) cannot undo and cannot plan a
deposit into an account that does not exist yet; the healthcare plugin can do both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lamworks import Plan, Runtime, Step, load_config
from lamworks.executor import compensation_key, idempotency_key
from lamworks.plan import REF_PLACEHOLDER
from lamworks.runtime import NOT_ATOMIC_POLICY

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/Chicago"))  # a Tuesday


class Scripted:
    """A planner that returns the steps it is given (the runtime is under test, not it)."""

    name = "scripted"

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)

    def plan(self, utterance: str, ctx: Any) -> Plan:
        return Plan(steps=self.steps)


def _from(step_id: str, ref: str, part: str = "id") -> dict[str, str]:
    return {REF_PLACEHOLDER: step_id, "ref": ref, "part": part}


@pytest.fixture
def ledger(install_plugins: Callable[..., Path],
           write_config: Callable[..., Path]) -> Iterator[Runtime]:
    install_plugins(sample="lamworks_sample", ledger="lamworks_ledger")
    rt = Runtime(load_config(write_config(plugins='allow = ["sample", "ledger"]',
                                          staff_confirm="[]")))
    yield rt
    rt.close()


def _ledger_plan(rt: Runtime) -> tuple[Step, Step]:
    opened = Step(id="s-open", tool="ledger.open_account", arguments={"owner": "Ana"})
    deposit = Step(id="s-deposit", tool="ledger.deposit",
                   arguments={"account": _from("s-open", "Account"), "amount": 5})
    rt.planner = Scripted(opened, deposit)
    return opened, deposit


def test_a_second_step_denied_on_its_bound_values_stops_the_plan_before_anything_runs(
        ledger: Runtime) -> None:
    opened, _ = _ledger_plan(ledger)
    # The id the first step's change will mint (from its idempotency key) is frozen: the
    # deposit's policy can only see it if the plan is bound before it runs.
    key = idempotency_key("s1", opened)
    minted = "acct-" + hashlib.sha256(key.encode()).hexdigest()[:10]
    (ledger.config.data_dir / "frozen.txt").write_text(minted)
    turn = ledger.handle("s1", "alice", "open an account and put 5 in it")
    assert [s.status for s in turn.steps] == ["skipped", "denied"], turn.answer
    assert "That account is frozen." in turn.answer
    from lamworks_ledger import read_account

    assert read_account(ledger.action_context("s1", "alice"), minted) is None
    assert ledger.journal.get(key) is None  # nothing was even begun
    events = [e.event for e in ledger.audit.entries()]
    assert "step.executed" not in events and "step.denied" in events


def test_a_plan_whose_earlier_write_cannot_be_undone_says_so_and_waits(
        ledger: Runtime) -> None:
    _ledger_plan(ledger)
    turn = ledger.handle("s1", "alice", "open an account and put 5 in it")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "ledger.open_account", turn.answer
    [ask] = [d for d in step.decisions if d.policy == NOT_ATOMIC_POLICY]
    assert "not all-or-nothing" in ask.reason and "open_account" in ask.reason
    assert "not all-or-nothing" in turn.answer
    done = ledger.confirm("s1", step.id)  # the person accepts it
    assert [s.status for s in done.steps] == ["executed", "executed"], done.answer


# -- the demo clinic: register a patient, then book them --------------------------------------


@pytest.fixture
def clinic(demo_clinic: Runtime) -> Runtime:
    """The example institution with the demo clinic, at NOW (tests/conftest.py)."""
    return demo_clinic


def _register_then_book(rt: Runtime, date: str = "2026-12-03") -> tuple[Step, Step]:
    register = Step(id="s-register", tool="healthcare.register_patient", arguments={
        "first_name": "Marcus", "last_name": "O'Neil", "birth_date": "1988-03-14",
        "phone": "312-555-0142"})
    book = Step(id="s-book", tool="healthcare.book_appointment", arguments={
        "patient_name": _from("s-register", "Patient", "display"),
        "patient_id": _from("s-register", "Patient"), "practitioner": "Dr. Lee",
        "date": date, "part_of_day": "morning"})
    rt.planner = Scripted(register, book)
    return register, book


@pytest.mark.slow
def test_the_booking_of_a_patient_not_yet_registered_is_planned_before_anything_runs(
        clinic: Runtime) -> None:
    _register_then_book(clinic, date="2026-11-30")  # a Monday already past
    turn = clinic.handle("s1", "frontdesk", "register Marcus O'Neil, then book him")
    # The booking was planned through the registration's change (the patient it will
    # create), so its own refusal is known before the patient is registered.
    assert [s.status for s in turn.steps] == ["skipped", "denied"], turn.answer
    assert "in the past" in turn.answer
    assert clinic.services["fhir"].search("Patient", {"family": "O'Neil"}) == []
    # And an allowed plan needs no "not all-or-nothing" warning: registering can be undone.
    _register_then_book(clinic)
    turn = clinic.handle("s2", "frontdesk", "register Marcus O'Neil, then book him")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "healthcare.register_patient", turn.answer
    assert not any(d.policy == NOT_ATOMIC_POLICY for d in step.decisions)


@pytest.mark.slow
def test_a_second_step_denied_after_binding_undoes_the_first_with_audit_rows(
        clinic: Runtime) -> None:
    from lamworks_healthcare.errors import ResourceNotFound

    register, _ = _register_then_book(clinic)
    turn = clinic.handle("s1", "frontdesk", "register Marcus O'Neil, then book him")
    step = turn.awaiting_confirmation
    assert step is not None and step.change is not None, turn.answer
    patient_id = step.change.data["patient_id"]
    # While the plan waits, the front desk loses the right to book: the booking is denied
    # once the registration has run and it is checked again on the real patient.
    config = clinic.config
    role = config.roles["frontdesk"]
    kept = [s for s in role.scopes if "Appointment" not in str(s)]
    clinic.config = config.model_copy(update={"roles": {
        **config.roles, "frontdesk": role.model_copy(update={"scopes": kept})}})
    done = clinic.confirm("s1", step.id)
    assert [s.status for s in done.steps] == ["compensated", "denied"], done.answer
    assert "Undone" in done.answer and "Appointment" in done.answer
    with pytest.raises(ResourceNotFound):
        clinic.services["fhir"].read("Patient", patient_id)
    rows = {e.event: e for e in clinic.audit.entries_for_step(register.id)}
    assert rows["step.executed"].outcome == "executed"
    undone = rows["step.compensated"]
    assert undone.outcome == "compensated"
    assert "healthcare.book_appointment" in undone.detail["reason"]
    assert "was denied" in undone.detail["reason"]
    key = idempotency_key("s1", register)
    assert undone.detail["compensates"] == key
    entry = clinic.journal.get(compensation_key(key))
    assert entry is not None and entry.status == "done" and entry.compensates == key
    assert clinic.audit.verify().ok
    # The registration can be made again: nothing of the undone one is left in the way.
    state, _ = clinic.sessions.load("s1", "frontdesk")
    assert state.plan_done == [] and "Patient" not in state.references
