"""Bookings from many threads and processes at once: does every answer stay true?

Run ``.venv/bin/python bench/concurrency.py`` (defaults: one runtime driven by 8 threads, and
at the same time 3 processes with 8, 8 and 2 threads, each with its own runtime on the same data
folder); ``--threads``, ``--processes 8,8,2``, ``--attempts``, ``--child-attempts``. Prints a
table and writes ``bench/results/concurrency.json``. ``tests/test_concurrency.py`` runs the same
scenario (smaller) and asserts on it.

The scenario: the demo institution (``examples/lamworks.toml``) with the demo clinic generated
for a fixed clock (Tuesday 2026-12-01 10:00, America/Chicago), the front desk's rate limit
lifted (every attempt still counts through the shared rate counter). Every worker (a thread of
a process) books its own patient, so appointments can be attributed, into a small set of Dr.
Lee's free slots, each attempt a different slot of the set and neighbouring workers overlapping,
so most slots are fought over by a dozen attempts. An attempt is what a person does:
``Runtime.handle`` ("book <patient> with dr lee on December 3 at 9:30"), then ``Runtime.confirm``
with the step's token (again, if the runtime asks again). All workers are released together
once every runtime has started and answered one warm-up request.

Afterwards the stores are read back and compared with what each person was told:

- *double bookings*: a slot with more than one booked appointment;
- *lost / extra audit rows*: an executed booking without exactly one ``step.executed`` row, or
  such a row for a booking nobody was told about; and the chain must verify;
- *false messages*: a patient whose booked appointments are not exactly the ones their worker was
  told were booked (told booked ⇒ it exists; told not booked ⇒ none was created);
- *false denials*: a refusal for any reason other than the slot being taken;
- *raw errors*: an exception out of ``handle``/``confirm``, or an answer that is an internal
  error ("Something went wrong", "database is locked", "could not write the audit log").
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import queue
import re
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

__all__ = ["Attempt", "main", "run_scenario"]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples/lamworks.toml"
RESULTS = ROOT / "bench/results/concurrency.json"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/Chicago"))  # a Tuesday
DAYS = ("2026-12-03", "2026-12-04")  # Thursday and Friday of that week
BOOK = "healthcare.book_appointment"
USER = "frontdesk"
_TAKEN = re.compile(r"already taken|just taken|taken by another|no longer free|not free|"
                    r"changed by someone else", re.I)
_INTERNAL = re.compile(r"something went wrong|database is locked|could not write the audit|"
                       r"operationalerror|sqlite|cannot start a transaction|unique constraint",
                       re.I)
_MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"}


@dataclass
class Attempt:
    """One booking attempt: who asked for what, and what they were told."""

    worker: str
    session: str
    patient: str
    patient_id: str
    slot_id: str
    utterance: str
    told: str = ""  # booked | refused | other | error
    answer: str = ""
    statuses: list[str] = field(default_factory=list)
    reason: str = ""
    step_id: str = ""
    appointment_id: str = ""
    booked_slot: str = ""
    error: str = ""
    seconds: float = 0.0


# -- the data folder ---------------------------------------------------------------------------

def institution(data_dir: Path) -> Any:
    """The demo configuration on ``data_dir``, the front desk's rate limit lifted."""
    from lamworks import load_config

    os.environ["LAMWORKS_DATA_DIR"] = str(data_dir)
    config = load_config(CONFIG)
    desk = config.roles[USER].model_copy(update={"rate_limit_per_minute": 1_000_000})
    return config.model_copy(update={"roles": {**config.roles, USER: desk}})


def prepare(data_dir: Path, *, slots: int) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Load the demo clinic for :data:`NOW`; return the contested slots and the patients (name,
    id) to book, one per worker."""
    from lamworks_healthcare import HealthcareSettings
    from lamworks_healthcare.clinic import load_demo_clinic
    from lamworks_healthcare.store import open_store

    config = institution(data_dir)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(HealthcareSettings(**config.plugins.settings_for("healthcare")),
                       config.data_dir)
    try:
        load_demo_clinic(store, NOW.date(), timezone=config.institution.timezone)
        free = sorted((s for s in store.search("Slot")
                       if s["schedule"]["reference"] == "Schedule/sch-lee"
                       and s["status"] == "free" and s["start"][:10] in DAYS),
                      key=lambda s: s["start"])
        names = Counter(_name(p) for p in store.search("Patient"))
        patients = [(_name(p), p["id"]) for p in store.search("Patient")
                    if names[_name(p)] == 1 and p["name"][0]["given"][0].lower() not in _MONTHS]
    finally:
        store.close()
    return free[:slots], patients


def _name(patient: dict[str, Any]) -> str:
    name = patient["name"][0]
    return " ".join([*name.get("given", []), name.get("family", "")])


def _utterance(patient: str, slot: dict[str, Any]) -> str:
    start = datetime.fromisoformat(slot["start"])
    return (f"book {patient} with dr lee on {start:%B} {start.day} at "
            f"{start.hour}:{start.minute:02d}")


def plan_attempts(workers: list[str], attempts: dict[str, int], slots: list[dict[str, Any]],
                  patients: list[tuple[str, str]]) -> dict[str, list[Attempt]]:
    """Each worker its own patient; attempt j of worker w targets slot (3w + j) mod |slots|, so
    a worker never asks twice for one slot and neighbouring workers overlap."""
    if len(patients) < len(workers):
        raise SystemExit(f"only {len(patients)} distinct patients for {len(workers)} workers")
    plans: dict[str, list[Attempt]] = {}
    for w, worker in enumerate(workers):
        name, pid = patients[w]
        if attempts[worker] > len(slots):
            raise SystemExit(f"{attempts[worker]} attempts per worker need as many slots")
        plans[worker] = [
            Attempt(worker=worker, session=f"{worker}-a{j}", patient=name, patient_id=pid,
                    slot_id=slot["id"], utterance=_utterance(name, slot))
            for j in range(attempts[worker])
            for slot in [slots[(3 * w + j) % len(slots)]]]
    return plans


# -- driving one runtime -----------------------------------------------------------------------

def attempt(runtime: Any, a: Attempt) -> Attempt:
    """Ask, confirm with the step's token (again if asked again), and record what was said."""
    began = time.perf_counter()
    try:
        turn = runtime.handle(a.session, USER, a.utterance)
        for _ in range(3):
            step = turn.awaiting_confirmation
            if step is None:
                break
            turn = runtime.confirm(a.session, step.id, step.confirmation_token)
        a.answer = turn.answer or ""
        a.statuses = [s.status for s in turn.steps]
        booking = [s for s in turn.steps if s.tool == BOOK]
        if _INTERNAL.search(a.answer) or getattr(turn, "error_reference", None):
            a.told = "error"
        elif booking and booking[-1].status == "executed":
            step = booking[-1]
            data = step.result.data if step.result is not None else {}
            a.told, a.step_id = "booked", step.id
            a.appointment_id = str((data or {}).get("appointment_id", ""))
            a.booked_slot = str((data or {}).get("slot_id", ""))
        elif booking and booking[-1].status in ("denied", "failed"):
            step = booking[-1]
            denial = step.denial()
            a.reason = step.error or (denial.reason if denial else "") or a.answer
            a.told = "refused" if _TAKEN.search(a.reason) else "other"
        else:
            a.told = "other"
    except Exception as exc:  # noqa: BLE001 - the point is to count these
        a.told, a.error = "error", f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
        a.answer = traceback.format_exc(limit=3)
    a.seconds = time.perf_counter() - began
    return a


def drive(runtime: Any, plans: dict[str, list[Attempt]]) -> list[Attempt]:
    """Run each worker's attempts in its own thread, all released together."""
    start = threading.Barrier(len(plans))
    done: list[Attempt] = []
    lock = threading.Lock()

    def work(todo: list[Attempt]) -> None:
        start.wait()
        for a in todo:
            result = attempt(runtime, a)
            with lock:
                done.append(result)

    threads = [threading.Thread(target=work, args=(todo,), name=worker)
               for worker, todo in plans.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done


def start_runtime(data_dir: Path, name: str) -> Any:
    from lamworks import Runtime

    runtime = Runtime(institution(data_dir), clock=lambda: NOW)
    # The first request loads the encoder and builds the name index: do it before the race.
    runtime.handle(f"warm-{name}", USER, "find free slots with dr lee on December 10")
    return runtime


def child_process(data_dir: str, name: str, plans: dict[str, list[dict[str, Any]]],
                  ready: Any, go: Any, out: str) -> None:
    """A separate process: its own runtime on the same data folder, its workers as threads."""
    runtime = start_runtime(Path(data_dir), name)
    ready.put(name)
    go.wait(timeout=600)
    done = drive(runtime, {w: [Attempt(**a) for a in todo] for w, todo in plans.items()})
    runtime.close()
    Path(out).write_text(json.dumps([asdict(a) for a in done]), encoding="utf-8")


# -- the whole scenario ------------------------------------------------------------------------

def run_scenario(data_dir: Path, *, threads: int = 8, processes: tuple[int, ...] = (8, 8, 2),
                 attempts: int = 13, child_attempts: int = 6, slots: int = 20) -> dict[str, Any]:
    """Run it on a fresh ``data_dir``; returns the counts (see :func:`check`) and the attempts."""
    contested, patients = prepare(data_dir, slots=slots)
    workers = [f"main-t{t}" for t in range(threads)]
    per_worker = dict.fromkeys(workers, attempts)
    for p, count in enumerate(processes):
        for t in range(count):
            workers.append(f"p{p}-t{t}")
            per_worker[f"p{p}-t{t}"] = child_attempts
    plans = plan_attempts(workers, per_worker, contested, patients)

    spawn = multiprocessing.get_context("spawn")
    ready, go = spawn.Queue(), spawn.Event()
    children = []
    for p in range(len(processes)):
        mine = {w: [asdict(a) for a in todo] for w, todo in plans.items()
                if w.startswith(f"p{p}-")}
        child = spawn.Process(target=child_process, name=f"p{p}", args=(
            str(data_dir), f"p{p}", mine, ready, go, str(data_dir / f"outcomes-p{p}.json")))
        child.start()
        children.append(child)
    runtime = start_runtime(data_dir, "main")
    started = 0
    while started < len(children):
        try:
            ready.get(timeout=5)
            started += 1
        except queue.Empty:
            if any(c.exitcode not in (None, 0) for c in children):
                go.set()
                raise SystemExit("a process failed to start its runtime") from None
    began = time.perf_counter()
    go.set()
    done = drive(runtime, {w: todo for w, todo in plans.items() if w.startswith("main-")})
    for child in children:
        child.join(timeout=600)
    wall = time.perf_counter() - began
    crashed = [c.name for c in children if c.exitcode != 0]
    for p in range(len(processes)):
        path = data_dir / f"outcomes-p{p}.json"
        if path.exists():
            done += [Attempt(**a) for a in json.loads(path.read_text(encoding="utf-8"))]
    report = check(runtime, done, contested)
    runtime.close()
    report.update(wall_s=round(wall, 1), crashed_processes=crashed,
                  setup={"threads": threads, "processes": list(processes),
                         "attempts_per_thread": attempts,
                         "attempts_per_child_thread": child_attempts, "slots": len(contested)})
    report["attempt_list"] = [asdict(a) for a in sorted(done, key=lambda a: a.session)]
    return report


def check(runtime: Any, done: list[Attempt], slots: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare what people were told with what the FHIR store, the journal and the audit hold."""
    store = runtime.services["fhir"]
    slot_ids = {s["id"] for s in slots}
    booked_appointments = [a for a in store.search("Appointment")
                           if a.get("status") == "booked"
                           and any(ref["reference"].removeprefix("Slot/") in slot_ids
                                   for ref in a.get("slot", []))]
    per_slot = Counter(ref["reference"] for a in booked_appointments for ref in a["slot"])
    double = sum(1 for n in per_slot.values() if n > 1)
    busy_without_booking = sum(1 for s in slots
                               if store.read("Slot", s["id"])["status"] == "busy"
                               and per_slot[f"Slot/{s['id']}"] == 0)

    # told booked <=> the appointment exists, per patient (each worker books its own patient)
    def patient_of(appointment: dict[str, Any]) -> str:
        return next(str(p["actor"]["reference"]).removeprefix("Patient/")
                    for p in appointment["participant"]
                    if p["actor"]["reference"].startswith("Patient/"))

    actual: dict[str, set[str]] = defaultdict(set)
    for appointment in booked_appointments:
        actual[patient_of(appointment)].add(appointment["id"])
    told: dict[str, set[str]] = defaultdict(set)
    for a in done:
        if a.told == "booked":
            told[a.patient_id].add(a.appointment_id)
    false_messages = sum(len(actual[p] ^ told[p]) for p in set(actual) | set(told))
    misread = sum(1 for a in done if a.told == "booked" and a.booked_slot != a.slot_id)

    executed_rows = Counter(e.step_id for e in runtime.audit.entries()
                            if e.event == "step.executed" and e.tool == BOOK)
    booked_steps = {a.step_id for a in done if a.told == "booked"}
    lost = sum(1 for s in booked_steps if executed_rows[s] == 0)
    extra = (sum(n - 1 for n in executed_rows.values() if n > 1)
             + sum(n for s, n in executed_rows.items() if s not in booked_steps))
    verified = runtime.audit.verify()

    outcomes = Counter(a.told for a in done)
    return {
        "attempts": len(done),
        "booked": outcomes["booked"],
        "refused_with_reason": outcomes["refused"],
        "false_denials": outcomes["other"],
        "raw_errors": outcomes["error"],
        "double_bookings": double,
        "busy_slots_without_booking": busy_without_booking,
        "false_messages": false_messages,
        "misread_requests": misread,
        "lost_audit_rows": lost,
        "extra_audit_rows": extra,
        "audit_chain": str(verified),
        "audit_ok": verified.ok,
        "slots_booked": len(per_slot),
        "seconds_per_attempt_median": round(sorted(a.seconds for a in done)[len(done) // 2], 3)
        if done else 0.0,
        "other_answers": sorted({f"{a.told}: {a.error or a.reason or a.answer}"[:300]
                                 for a in done if a.told in ("other", "error")})[:20],
    }


# -- the command -------------------------------------------------------------------------------

_ROWS = ("attempts", "booked", "refused_with_reason", "false_denials", "raw_errors",
         "double_bookings", "busy_slots_without_booking", "false_messages", "misread_requests",
         "lost_audit_rows", "extra_audit_rows", "audit_ok", "slots_booked",
         "seconds_per_attempt_median", "wall_s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="threads on the shared runtime")
    parser.add_argument("--processes", default="8,8,2",
                        help="threads of each extra process, comma-separated ('' for none)")
    parser.add_argument("--attempts", type=int, default=13, help="attempts per main thread")
    parser.add_argument("--child-attempts", type=int, default=6,
                        help="attempts per thread of the extra processes")
    parser.add_argument("--slots", type=int, default=20, help="contested slots")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    processes = tuple(int(n) for n in args.processes.split(",") if n.strip())
    with tempfile.TemporaryDirectory(prefix="lamworks-concurrency-") as tmp:
        report = run_scenario(Path(tmp) / "data", threads=args.threads, processes=processes,
                              attempts=args.attempts, child_attempts=args.child_attempts,
                              slots=args.slots)
    width = max(len(r) for r in _ROWS)
    print(f"concurrency: {report['setup']}")
    for row in _ROWS:
        print(f"  {row:<{width}}  {report[row]}")
    for line in report["other_answers"]:
        print(f"  ! {line}")
    report["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                         "platform": platform.platform()}
    keep = ("worker", "session", "patient_id", "slot_id", "told", "statuses", "reason",
            "booked_slot", "error", "seconds")
    report["attempt_list"] = [{k: round(a[k], 3) if k == "seconds" else a[k] for k in keep}
                              for a in report["attempt_list"]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    bad = [r for r in ("false_denials", "raw_errors", "double_bookings", "false_messages",
                       "lost_audit_rows", "extra_audit_rows", "crashed_processes") if report[r]]
    return 1 if bad or not report["audit_ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
