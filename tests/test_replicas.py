"""Replicas (issue 14, item 6): ``lamworks serve`` processes sharing PostgreSQL, a ``chroma run``
server and a FHIR REST server (``sekmet serve``) behave as one deployment.

- One conversation served alternately: the request on replica A, the confirmation on replica B
  (the pending step, its single-use token and the dialog live in PostgreSQL, not in a process);
  a document question answered by both from the one Chroma server; one audit chain that verifies.
- Four replicas, eight threads each, booking the same ten slots through the HTTP API: no slot
  booked twice, every attempt booked or refused with a reason, exactly one ``step.executed``
  audit row per booking and none for anything else, no "database is locked".

Everything is real and on loopback (:mod:`tests.deployment`); slow (four processes each load
the model).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deployment import Deployment, Replica

pytestmark = pytest.mark.slow

BOOK = "healthcare.book_appointment"
_TAKEN = re.compile(r"already taken|just taken|taken by another|no longer free|not free|"
                    r"changed by someone else|is booked|isn't free|not available", re.I)
_INTERNAL = re.compile(r"something went wrong|database is locked|internal|traceback|"
                       r"could not write the audit", re.I)
_MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    d = Deployment.start(tmp_path_factory.mktemp("deployment"), database="postgresql",
                         chroma=True, fhir=True)
    try:
        # All four replicas start together, while a document is ingested: the loads overlap.
        starting = [d.start_replica(name, wait=False) for name in ("a", "b", "r3", "r4")]
        folder = tmp_path_factory.mktemp("documents")
        (folder / "parking.md").write_text(
            "# Parking\n\nVisitors park free of charge in the north garage on Elm Street; the "
            "garage closes at 9 pm and the attendant validates tickets at the front desk.\n")
        done = d.lamworks("kb", "ingest", str(folder), "--source", "visitor-guide")
        assert done.returncode == 0, done.stdout + done.stderr
        for replica in starting:
            d.wait_ready(replica)
        yield d
    finally:
        d.close()


def _post(replica: Replica, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{replica.url}{path}", json=body, timeout=120,
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (replica.name, path, response.text)
    return dict(response.json())


def _turn(replica: Replica, token: str, session: str, text: str) -> dict[str, Any]:
    return _post(replica, f"/v1/sessions/{session}/turns", token, {"text": text})


def _confirm(replica: Replica, token: str, session: str, pending: dict[str, Any]
             ) -> dict[str, Any]:
    return _post(replica, f"/v1/sessions/{session}/steps/{pending['step_id']}/confirm", token,
                 {"token": pending["token"]})


def _audit_rows(replica: Replica, token: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    since = 0
    while True:
        page = httpx.get(f"{replica.url}/v1/audit", params={"since": since, "limit": 1000},
                         headers={"Authorization": f"Bearer {token}"}, timeout=60).json()
        rows += page["rows"]
        if not page["rows"]:
            return rows
        since = page["next_since"]


def _verify(deployment: Deployment) -> None:
    done = deployment.lamworks("audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr


def _free_slots(deployment: Deployment, day: date) -> list[dict[str, Any]]:
    store = deployment.fhir_store()
    try:
        return sorted((s for s in store.search("Slot")
                       if s["schedule"]["reference"] == "Schedule/sch-lee"
                       and s["status"] == "free" and s["start"][:10] == day.isoformat()),
                      key=lambda s: s["start"])
    finally:
        store.close()


def _a_day_with(deployment: Deployment, slots: int) -> tuple[date, list[dict[str, Any]]]:
    """The first weekday after tomorrow on which Dr. Lee has at least ``slots`` free slots."""
    day = deployment.today() + timedelta(days=2)
    for _ in range(10):
        free = _free_slots(deployment, day)
        if len(free) >= slots:
            return day, free
        day += timedelta(days=1)
    raise AssertionError(f"no day with {slots} free slots in the demo clinic")


def _patients(deployment: Deployment) -> list[tuple[str, str]]:
    """Patients with a unique full name that reads as a name (not a month)."""
    store = deployment.fhir_store()
    try:
        patients = store.search("Patient")
    finally:
        store.close()

    def name(p: dict[str, Any]) -> str:
        n = p["name"][0]
        return " ".join([*n.get("given", []), n.get("family", "")])

    counts = Counter(name(p) for p in patients)
    return [(name(p), p["id"]) for p in patients
            if counts[name(p)] == 1 and p["name"][0]["given"][0].lower() not in _MONTHS]


def _when(slot: dict[str, Any]) -> str:
    start = datetime.fromisoformat(slot["start"])
    return f"{start:%B} {start.day} at {start.hour}:{start.minute:02d}"


def test_one_conversation_across_two_replicas(deployment: Deployment) -> None:
    a, b = deployment.replicas[:2]
    token = deployment.token("frontdesk")
    day, free = _a_day_with(deployment, 2)
    slot = free[0]
    name, patient_id = _patients(deployment)[0]

    first = _turn(a, token, "alternate-1", f"book {name} with dr lee on {_when(slot)}")
    pending = first["awaiting_confirmation"]
    assert pending is not None and pending["tool"] == BOOK, first
    # The confirmation goes to the other replica: the step and its token are in PostgreSQL.
    second = _confirm(b, token, "alternate-1", pending)
    booked = [s for s in second["steps"] if s["tool"] == BOOK]
    assert booked and booked[-1]["status"] == "executed", second
    store = deployment.fhir_store()
    try:
        assert store.read("Slot", slot["id"])["status"] == "busy"
        mine = [ap for ap in store.search("Appointment")
                if any(p["actor"]["reference"] == f"Patient/{patient_id}"
                       for p in ap["participant"])
                and any(r["reference"] == f"Slot/{slot['id']}" for r in ap.get("slot", []))]
    finally:
        store.close()
    assert len(mine) == 1
    # The same token on replica A again: single-use across replicas.
    again = httpx.post(f"{a.url}/v1/sessions/alternate-1/steps/{pending['step_id']}/confirm",
                       json={"token": pending["token"]}, timeout=60,
                       headers={"Authorization": f"Bearer {token}"})
    assert again.status_code in (404, 409), again.text

    # Both replicas answer from the one Chroma server, citing the document it holds.
    for replica in (a, b):
        answer = _turn(replica, token, f"docs-{replica.name}",
                       "where do visitors park, and when does the garage close?")
        assert "9 pm" in answer["answer"] or "north garage" in answer["answer"].lower(), answer
        assert any(c["source"] == "visitor-guide" for c in answer["citations"]), answer

    # One chain: rows written by both processes, in one sequence that verifies.
    rows = _audit_rows(b, deployment.token("auditor"))
    sessions = [r for r in rows if r.get("session_id") == "alternate-1"]
    assert {r["event"] for r in sessions} >= {"step.executed"}
    _verify(deployment)


def test_four_replicas_booking_the_same_ten_slots(deployment: Deployment) -> None:
    replicas = deployment.replicas[:4]
    token = deployment.token("frontdesk")
    day, free = _a_day_with(deployment, 12)
    slots = free[1:11]  # the first may be the one the other test booked
    patients = _patients(deployment)[1:33]
    assert len(slots) == 10 and len(patients) == 32

    outcomes: dict[int, dict[str, Any]] = {}
    barrier = threading.Barrier(32)

    def worker(index: int) -> None:
        replica = replicas[index % 4]
        slot = slots[index % 10]
        name, patient_id = patients[index]
        session = f"contest-{index}"
        record: dict[str, Any] = {"slot": slot["id"], "patient": patient_id, "told": "other"}
        outcomes[index] = record
        barrier.wait()
        try:
            turn = _turn(replica, token, session, f"book {name} with dr lee on {_when(slot)}")
            for _ in range(3):  # a conflict asks again with a fresh token
                pending = turn["awaiting_confirmation"]
                if pending is None:
                    break
                # confirm on the next replica round: any replica may continue the conversation
                turn = _confirm(replicas[(index + 1) % 4], token, session, pending)
            record["answer"] = turn["answer"]
            steps = [s for s in turn["steps"] if s["tool"] == BOOK]
            if _INTERNAL.search(turn["answer"]):
                record["told"] = "error"
            elif steps and steps[-1]["status"] == "executed":
                record.update(told="booked", step_id=steps[-1]["id"])
            elif _TAKEN.search(turn["answer"]) or any(
                    _TAKEN.search(str(s.get("error") or "")) for s in steps):
                record["told"] = "refused"
        except Exception as exc:  # noqa: BLE001 - counted and shown below
            record.update(told="error", answer=f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)

    told = Counter(r["told"] for r in outcomes.values())
    unexplained = [r for r in outcomes.values() if r["told"] in ("other", "error")]
    assert not unexplained, unexplained[:5]
    assert told["booked"] + told["refused"] == 32

    store = deployment.fhir_store()
    try:
        slot_ids = {s["id"] for s in slots}
        booked = [ap for ap in store.search("Appointment") if ap.get("status") == "booked"
                  and any(r["reference"].removeprefix("Slot/") in slot_ids
                          for r in ap.get("slot", []))]
    finally:
        store.close()
    per_slot = Counter(r["reference"] for ap in booked for r in ap["slot"])
    assert max(per_slot.values()) == 1, per_slot  # no double booking
    assert len(booked) == told["booked"]  # told booked <=> booked
    assert len(per_slot) == 10  # every contested slot went to someone

    executed = Counter(r["step_id"] for r in _audit_rows(replicas[0], deployment.token("auditor"))
                       if r["event"] == "step.executed" and r.get("tool") == BOOK
                       and str(r.get("session_id", "")).startswith("contest-"))
    told_steps = {r["step_id"] for r in outcomes.values() if r["told"] == "booked"}
    assert set(executed) == told_steps  # no lost row, none for a booking nobody was told of
    assert all(n == 1 for n in executed.values())  # none duplicated
    for replica in replicas:
        assert "database is locked" not in Path(replica.log).read_text(errors="replace")
    _verify(deployment)
