"""Crash harness: a real runtime process is SIGKILLed at each point of an action, then restarted.

Run ``.venv/bin/python bench/crash.py`` (defaults: every kill point × every write tool, 4 actions
per cell: 7 × 8 × 4 = 224 actions); ``--actions``, ``--points``, ``--tools``, ``--jobs``. Prints
a table and writes ``bench/results/crash.json``. ``tests/test_crash.py`` runs a sample of the
cells, smaller, and asserts on it.

One cell is one kill point and one write tool. A copy of a prepared data folder (the demo
institution ``examples/lamworks.toml`` with the demo clinic for a fixed clock, Tuesday
2026-12-01 10:00 America/Chicago, every plugin loaded, and for each tool the records its actions
need: appointments to move, cancel or remind of, patients to update) gets a child process that
starts a runtime on it and takes the cell's actions one after the other as a person would:
``Runtime.handle``, then ``Runtime.confirm`` with the step's token. Only the planner is
scripted (each utterance names one step with exact arguments); policies, the planned change,
the confirmation, the executor, the journal, the stores and the audit log are the real ones
(the education plugin's academic-integrity screen runs on its rules only, unless
``LAMWORKS_INTEGRITY_LEARNED`` says otherwise: its learned stage is fitted in every new
process, which would triple the time per cell, and has nothing to say about these requests).
The child runs with ``LAMWORKS_CRASH_AT=<point>:<n>`` (:mod:`lamworks.crashpoints`), so it
kills itself with SIGKILL at that point of its n-th action, the cell's last. It writes a line,
fsynced, after each action whose confirmation returned ``executed``: those are acknowledged.

Then the harness starts a runtime on the folder again (start-up reconciliation runs), a person
presses Confirm once more on the action that was interrupted, and it checks, reading the
stores directly (by the action's own values, not by the idempotency key under test):

- *lost*: an acknowledged action whose effect is not there;
- *duplicated*: an action whose effect is there more than once;
- *half-applied*: a change partly there (a booking's Slot busy without its Appointment, an
  appointment moved without its new slot taken, some of a study plan's sessions);
- *stuck*: a journal entry still ``pending`` after the restart;
- *journal*: an action whose effect is there without its journal entry ``done``, or the
  reverse;
- *audit*: an action whose effect is there without exactly one ``step.executed`` or
  ``journal.reconciled`` row carrying its key; the chain must verify (``AuditLog.verify``);
- *integrity*: ``PRAGMA integrity_check`` on every SQLite file of the data folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

__all__ = ["POINTS", "TOOLS", "main", "prepare", "run_cell", "run_matrix"]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples/lamworks.toml"
RESULTS = ROOT / "bench/results/crash.json"
ZONE = ZoneInfo("America/Chicago")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZONE)  # a Tuesday
POINTS = ("before_journal", "after_journal", "mid_transaction", "after_commit",
          "before_complete", "before_audit", "after_audit")
TOOLS = ("register_patient", "update_patient_contact", "book_appointment",
         "reschedule_appointment", "cancel_appointment", "create_referral", "send_reminder",
         "study_plan")
_USERS = {"create_referral": "clinician", "study_plan": "student"}
_PLUGIN = {"study_plan": "education"}
_CHILD_TIMEOUT_S = 180
_ENVIRONMENT = threading.Lock()


# -- the prepared folder -----------------------------------------------------------------------

def institution(data_dir: Path) -> Any:
    """The demo configuration on ``data_dir`` (``LAMWORKS_DATA_DIR`` is how the configuration
    takes it: one thread at a time)."""
    from lamworks import load_config

    with _ENVIRONMENT:
        os.environ["LAMWORKS_DATA_DIR"] = str(data_dir)
        return load_config(CONFIG)


def _start(data_dir: Path) -> Any:
    from lamworks import Runtime

    return Runtime(institution(data_dir), clock=lambda: NOW)


def _local(slot: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(slot["start"]).replace("Z", "+00:00")).astimezone(ZONE)


def _free_slots(store: Any, practitioner: str) -> list[dict[str, Any]]:
    later = NOW + timedelta(days=1)
    return sorted((s for s in store.search("Slot", {"schedule": f"Schedule/sch-{practitioner}",
                                                     "status": "free"})
                   if _local(s) >= later), key=lambda s: str(s["start"]))


def _when(slot: dict[str, Any]) -> dict[str, str]:
    start = _local(slot)
    return {"date": start.date().isoformat(), "time": start.strftime("%H:%M")}


def prepare(folder: Path, actions: int) -> dict[str, list[dict[str, Any]]]:
    """Load the demo clinic into ``folder`` and give every tool ``actions`` actions, creating
    the records they act on with the tools themselves; returns each tool's actions (user,
    arguments and what to look for afterwards)."""
    from dataclasses import replace

    from lamworks_healthcare import HealthcareSettings
    from lamworks_healthcare.clinic import load_demo_clinic
    from lamworks_healthcare.store import open_store

    config = institution(folder)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(HealthcareSettings(**config.plugins.settings_for("healthcare")),
                       config.data_dir)
    load_demo_clinic(store, NOW.date(), timezone=config.institution.timezone)
    store.close()
    runtime = _start(folder)
    store = runtime.services["fhir"]

    def make(tool: str, arguments: dict[str, Any], key: str) -> dict[str, Any]:
        ctx = replace(runtime._tool_context(runtime.action_context("setup", "frontdesk"),
                                            runtime.tools[f"healthcare.{tool}"]),
                      idempotency_key=key)
        return dict(runtime.tools[f"healthcare.{tool}"].invoke(ctx, arguments).data or {})

    def patient(name: str, key: str) -> tuple[str, str]:
        first, last = name.split()
        made = make("register_patient", {"first_name": first, "last_name": last,
                                         "birth_date": "1980-01-02", "phone": "555-0100"}, key)
        return str(made["patient_id"]), name

    lee, okafor, marsh, castellan = (_free_slots(store, p)
                                     for p in ("lee", "okafor", "marsh", "castellan"))
    letters = "abcdefghijklmnopqrstuvwxyz"
    plans: dict[str, list[dict[str, Any]]] = {tool: [] for tool in TOOLS}
    for i in range(actions):
        tag = letters[i % 26] + letters[i // 26 % 26]
        plans["register_patient"].append({"arguments": {
            "first_name": f"Crash{tag}", "last_name": "Registered", "birth_date": "1990-03-04",
            "phone": "555-0144"}, "look": {"given": f"Crash{tag}", "family": "Registered"}})
        pid, name = patient(f"Update{tag} Contact", f"fixture-update-{i}")
        phone = f"555-02{i % 100:02d}"
        plans["update_patient_contact"].append({"arguments": {
            "patient_name": name, "patient_id": pid, "phone": phone},
            "look": {"patient": pid, "phone": phone}})
        pid, name = patient(f"Book{tag} Visit", f"fixture-book-{i}")
        slot = lee[i]
        plans["book_appointment"].append({"arguments": {
            "patient_name": name, "patient_id": pid, "practitioner": "Dr. Lee", **_when(slot)},
            "look": {"slot": slot["id"], "patient": pid}})
        pid, name = patient(f"Move{tag} Visit", f"fixture-move-{i}")
        old, new = okafor[2 * i], okafor[2 * i + 1]
        booked = make("book_appointment", {"patient_name": name, "patient_id": pid,
                                           "practitioner": "Dr. Okafor", **_when(old)},
                      f"fixture-move-appt-{i}")
        plans["reschedule_appointment"].append({"arguments": {
            "appointment_id": booked["appointment_id"], **_when(new)},
            "look": {"appointment": booked["appointment_id"], "old": old["id"],
                     "new": new["id"]}})
        pid, name = patient(f"Cancel{tag} Visit", f"fixture-cancel-{i}")
        booked = make("book_appointment", {"patient_name": name, "patient_id": pid,
                                           "practitioner": "Dr. Marsh", **_when(marsh[i])},
                      f"fixture-cancel-appt-{i}")
        plans["cancel_appointment"].append({"arguments": {
            "appointment_id": booked["appointment_id"], "reason": "crash test"},
            "look": {"appointment": booked["appointment_id"], "slot": marsh[i]["id"]}})
        pid, name = patient(f"Remind{tag} Visit", f"fixture-remind-{i}")
        booked = make("book_appointment", {"patient_name": name, "patient_id": pid,
                                           "practitioner": "Dr. Castellan",
                                           **_when(castellan[i])}, f"fixture-remind-appt-{i}")
        plans["send_reminder"].append({"arguments": {
            "appointment_id": booked["appointment_id"], "channel": "sms"},
            "look": {"appointment": booked["appointment_id"]}})
        pid, name = patient(f"Refer{tag} Onward", f"fixture-refer-{i}")
        reason = f"crash referral {tag}"
        plans["create_referral"].append({"arguments": {
            "specialty": "cardiology", "reason": reason, "patient_id": pid},
            "look": {"reason": reason, "patient": pid}})
        topic = f"crash topic {tag}"
        plans["study_plan"].append({"arguments": {
            "topic": topic, "deadline": (NOW.date() + timedelta(days=9)).isoformat(),
            "sessions": 3, "minutes": 45}, "look": {"topic": topic, "sessions": 3}})
    runtime.close()
    return plans


# -- the child: a runtime taking the cell's actions ---------------------------------------------

class ScriptedPlanner:
    """Each utterance names one step with exact arguments (the harness tests what comes after
    planning, not the planner)."""

    name = "crash-script"

    def __init__(self, actions: Iterable[dict[str, Any]]) -> None:
        self.steps = {a["utterance"]: a for a in actions}

    def plan(self, utterance: str, ctx: Any) -> Any:
        from lamworks import Plan, Step

        action = self.steps[utterance]
        return Plan(steps=[Step(id=action["step_id"], tool=action["tool"],
                                arguments=action["arguments"])])


def child(spec_path: str) -> int:
    """Take the actions of the spec; write one fsynced line per acknowledged action."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    runtime = _start(Path(spec["data_dir"]))
    runtime.planner = ScriptedPlanner(spec["actions"])
    with open(spec["log"], "a", encoding="utf-8") as log:
        for action in spec["actions"]:
            turn = runtime.handle(action["session"], action["user"], action["utterance"])
            if turn.awaiting_confirmation is not None:
                step = turn.awaiting_confirmation
                turn = runtime.confirm(action["session"], step.id, step.confirmation_token)
            statuses = [s.status for s in turn.steps]
            line = {"i": action["i"], "told": "executed" if statuses == ["executed"] else
                    "refused", "statuses": statuses, "answer": turn.answer[:300]}
            log.write(json.dumps(line) + "\n")
            log.flush()
            os.fsync(log.fileno())
    runtime.close()
    return 0


# -- one cell ----------------------------------------------------------------------------------

@dataclass
class Cell:
    """What one (point, tool) cell found."""

    point: str
    tool: str
    actions: int = 0
    acknowledged: int = 0
    applied_unacknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    half_applied: int = 0
    stuck: int = 0
    journal_mismatch: int = 0
    audit_missing: int = 0
    audit_ok: bool = False
    integrity_ok: bool = False
    killed: bool = False
    retry_refused: bool = False
    startup: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_cell(template: Path, work: Path, point: str, tool: str,
             plans: dict[str, list[dict[str, Any]]], actions: int, round_: int = 0) -> Cell:
    """Copy the template, run the child with the kill point at its last action, restart and
    check."""
    began = time.perf_counter()
    cell = Cell(point=point, tool=tool)
    folder = work / f"{point}-{tool}-r{round_}"
    shutil.copytree(template, folder)
    name = f"{_PLUGIN.get(tool, 'healthcare')}.{tool}"
    todo = [{"i": i, "tool": name, "user": _USERS.get(tool, "frontdesk"),
             "session": f"crash-{point}-{tool}-{i}", "step_id": f"s-crash-{i}",
             "utterance": f"crash harness action {i}", "arguments": plan["arguments"],
             "look": plan["look"]} for i, plan in enumerate(plans[tool][:actions])]
    spec = folder / "spec.json"
    log = folder / "acknowledged.jsonl"
    spec.write_text(json.dumps({"data_dir": str(folder), "actions": todo, "log": str(log)}),
                    encoding="utf-8")
    env = {**os.environ, "LAMWORKS_CRASH_AT": f"{point}:{len(todo)}",
           "LAMWORKS_DATA_DIR": str(folder)}
    # The education plugin's request policy fits its learned stage in every new process (seconds
    # on a busy machine) and has nothing to say about "crash harness action 3": rules only.
    env.setdefault("LAMWORKS_INTEGRITY_LEARNED", "0")
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(spec)],
                          env=env, capture_output=True, text=True, timeout=_CHILD_TIMEOUT_S)
    cell.killed = done.returncode == -9
    if not cell.killed:
        cell.problems.append(f"child exited {done.returncode}: {done.stderr[-400:]}")
    told = {}
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            told[entry["i"]] = entry
    check(folder, cell, todo, told)
    cell.seconds = round(time.perf_counter() - began, 2)
    return cell


def check(folder: Path, cell: Cell, todo: list[dict[str, Any]],
          told: dict[int, dict[str, Any]]) -> None:
    """Restart on the folder and compare it with what each person was told."""
    from lamworks import ConfirmationError, Step
    from lamworks.executor import idempotency_key

    runtime = _start(folder)
    report = runtime.startup_report
    cell.startup = {k: len(v) for k, v in asdict(report).items()}
    cell.problems += [f"unresolved: {u}" for u in report.unresolved]
    try:
        crashed = [a for a in todo if told.get(a["i"], {}).get("told") != "executed"]
        for action in crashed:  # the person presses Confirm again on what hung
            try:
                runtime.confirm(action["session"], action["step_id"])
            except ConfirmationError:
                cell.retry_refused = True
            else:
                cell.problems.append(f"action {action['i']}: a second Confirm was accepted")
        executed = Counter()
        for row in runtime.audit.entries():
            if row.event in ("step.executed", "journal.reconciled") and row.outcome == "executed":
                executed[row.detail.get("idempotency_key")] += 1
        for action in todo:
            cell.actions += 1
            acknowledged = told.get(action["i"], {}).get("told") == "executed"
            cell.acknowledged += acknowledged
            if action["i"] in told and not acknowledged:
                cell.problems.append(f"action {action['i']} refused: {told[action['i']]}")
            count, half = effects(runtime, cell.tool, action["look"])
            key = idempotency_key(action["session"], Step(
                id=action["step_id"], tool=action["tool"], arguments=action["arguments"]))
            entry = runtime.journal.get(key)
            status = entry.status if entry is not None else None
            cell.lost += acknowledged and count == 0
            cell.duplicated += count > 1
            cell.half_applied += half
            cell.applied_unacknowledged += (not acknowledged) and count > 0
            if (count > 0) != (status == "done"):
                cell.journal_mismatch += 1
                cell.problems.append(f"action {action['i']}: effect {count}, journal {status}")
            if count > 0 and executed[key] != 1:
                cell.audit_missing += 1
                cell.problems.append(f"action {action['i']}: {executed[key]} audit rows")
        cell.stuck = len(runtime.journal.pending(orphaned_only=False))
        cell.audit_ok = runtime.audit.verify().ok
    finally:
        runtime.close()
    cell.integrity_ok = all(integrity(path) for path in sqlite_files(folder))


def effects(runtime: Any, tool: str, look: dict[str, Any]) -> tuple[int, bool]:
    """How many times the action's effect is in the stores, and whether it is there in part."""
    store = runtime.services["fhir"]

    def history(rtype: str, rid: str) -> list[dict[str, Any]]:
        return [r for r in store.history(rtype, rid)]

    if tool == "register_patient":
        found = [p for p in store.search("Patient", {"family": look["family"]})
                 if look["given"] in p["name"][0].get("given", [])]
        return len(found), False
    if tool == "update_patient_contact":
        versions = [v for v in history("Patient", look["patient"])
                    if any(t.get("value") == look["phone"] for t in v.get("telecom", []))]
        return len(versions), False
    if tool == "book_appointment":
        booked = [a for a in store.search("Appointment", {"slot": look["slot"]})
                  if a.get("status") == "booked"]
        busy = store.read("Slot", look["slot"])["status"] == "busy"
        return len(booked), busy != bool(booked)
    if tool == "reschedule_appointment":
        moves = [v for v in history("Appointment", look["appointment"])
                 if v["slot"][0]["reference"] == f"Slot/{look['new']}"]
        now = store.read("Appointment", look["appointment"])
        moved = now["slot"][0]["reference"] == f"Slot/{look['new']}"
        new_busy = store.read("Slot", look["new"])["status"] == "busy"
        old_busy = store.read("Slot", look["old"])["status"] == "busy"
        return len(moves), not (new_busy == moved and old_busy == (not moved))
    if tool == "cancel_appointment":
        cancels = [v for v in history("Appointment", look["appointment"])
                   if v.get("status") == "cancelled"]
        cancelled = store.read("Appointment", look["appointment"])["status"] == "cancelled"
        busy = store.read("Slot", look["slot"])["status"] == "busy"
        return len(cancels), busy == cancelled
    if tool == "create_referral":
        found = [r for r in store.search("ServiceRequest", {"subject": look["patient"]})
                 if look["reason"] in json.dumps(r)]
        return len(found), False
    if tool == "send_reminder":
        found = [c for c in store.search("Communication")
                 if any(a.get("reference") == f"Appointment/{look['appointment']}"
                        for a in c.get("about", []))]
        return len(found), False
    if tool == "study_plan":
        path = runtime.config.data_dir / "education" / "education.sqlite"
        with sqlite3.connect(path) as db:
            (rows,) = db.execute("SELECT COUNT(*) FROM study_sessions WHERE topic = ?",
                                 (look["topic"],)).fetchone()
        db.close()
        return rows // look["sessions"], rows % look["sessions"] != 0
    raise ValueError(tool)


def sqlite_files(folder: Path) -> list[Path]:
    """Every SQLite database in the folder (by its header, whatever its name)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.endswith(("-wal", "-shm", "-journal")):
            with open(path, "rb") as handle:
                if handle.read(16) == b"SQLite format 3\x00":
                    found.append(path)
    return found


def integrity(path: Path) -> bool:
    db = sqlite3.connect(path)
    try:
        return bool(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        db.close()


# -- the matrix --------------------------------------------------------------------------------

def run_matrix(cells: list[tuple[str, str]], *, actions: int, jobs: int = 1,
               work: Path | None = None, rounds: int = 1) -> dict[str, Any]:
    """Prepare one template and run every (point, tool) cell on a copy of it, ``rounds``
    times (each round a fresh copy, one more kill per cell)."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lamworks-crash-", dir=work) as tmp:
        template = Path(tmp) / "template"
        plans = prepare(template, actions)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            runs = [(p, t, r) for r in range(max(1, rounds)) for p, t in cells]
            results = list(pool.map(lambda c: run_cell(template, Path(tmp), c[0], c[1], plans,
                                                       actions, c[2]), runs))
    totals = {k: sum(getattr(c, k) for c in results) for k in (
        "actions", "acknowledged", "applied_unacknowledged", "lost", "duplicated",
        "half_applied", "stuck", "journal_mismatch", "audit_missing")}
    totals.update(cells=len(results), killed=sum(c.killed for c in results),
                  audit_ok=all(c.audit_ok for c in results),
                  integrity_ok=all(c.integrity_ok for c in results),
                  problems=sum(len(c.problems) for c in results))
    return {"setup": {"actions_per_cell": actions, "rounds": rounds,
                      "points": sorted({p for p, _ in cells}),
                      "tools": sorted({t for _, t in cells}), "jobs": jobs,
                      "clock": NOW.isoformat(), "config": str(CONFIG.relative_to(ROOT))},
            "totals": totals, "wall_s": round(time.perf_counter() - began, 1),
            "cells": [asdict(c) for c in results]}


_COLUMNS = ("actions", "acknowledged", "lost", "duplicated", "half_applied", "stuck",
            "applied_unacknowledged", "journal_mismatch", "audit_missing")
_SHORT = {"actions": "act", "acknowledged": "ack", "lost": "lost", "duplicated": "dup",
          "half_applied": "half", "stuck": "stuck", "applied_unacknowledged": "unack-done",
          "journal_mismatch": "journal!", "audit_missing": "audit!"}


def table(report: dict[str, Any]) -> str:
    """The cells as a text table (point × tool), with the totals."""
    head = f"{'point':<16} {'tool':<23} " + " ".join(f"{_SHORT[c]:>10}" for c in _COLUMNS) + \
        "  chain  sqlite"
    lines = [head, "-" * len(head)]
    for c in report["cells"]:
        lines.append(f"{c['point']:<16} {c['tool']:<23} " + " ".join(
            f"{c[k]:>10}" for k in _COLUMNS) + f"  {'ok' if c['audit_ok'] else 'BAD':>5}"
            f"  {'ok' if c['integrity_ok'] else 'BAD':>6}")
    t = report["totals"]
    lines.append("-" * len(head))
    chain, files = ("ok" if t[k] else "BAD" for k in ("audit_ok", "integrity_ok"))
    lines.append(f"{'total':<40} " + " ".join(f"{t[k]:>10}" for k in _COLUMNS) +
                 f"  {chain:>5}  {files:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--actions", type=int, default=4, help="actions per cell (the last "
                                                               "one is killed)")
    parser.add_argument("--points", default=",".join(POINTS))
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--jobs", type=int, default=1, help="cells run at once")
    parser.add_argument("--rounds", type=int, default=1, help="run the matrix this many times "
                                                              "(one kill per cell and round)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    cells = [(p, t) for p in args.points.split(",") for t in args.tools.split(",")]
    report = run_matrix(cells, actions=args.actions, jobs=args.jobs, rounds=args.rounds)
    print(table(report))
    for c in report["cells"]:
        for problem in c["problems"]:
            print(f"  ! {c['point']} × {c['tool']}: {problem}")
    print(f"{report['totals']['cells']} cells, {report['totals']['killed']} processes killed, "
          f"{report['wall_s']} s")
    report["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                         "platform": platform.platform()}
    report["table"] = table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    t = report["totals"]
    bad = any(t[k] for k in ("lost", "duplicated", "half_applied", "stuck", "journal_mismatch",
                             "audit_missing", "problems"))
    return 1 if bad or not (t["audit_ok"] and t["integrity_ok"]) or t["killed"] < t["cells"] \
        else 0


if __name__ == "__main__":
    sys.exit(main())
