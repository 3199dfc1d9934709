"""Scripted multi-turn conversations, played end to end through the real :class:`Runtime`.

Run ``.venv/bin/python bench/conversations.py`` (all), ``--plugin healthcare``, ``--limit 5``.
Reads ``bench/data/conversations/<plugin>.jsonl`` (format: ``bench/data/blind/README.md``),
prints a table and the first failing turn of each failed conversation, and writes
``bench/results/conversations.json``.

Each conversation gets a fresh data folder (``LAMWORKS_DATA_DIR``, set before the config is
loaded) copied from one template folder made at start: the demo clinic loaded for the record's
``now`` date, then one runtime start-up so every plugin's stores exist. The runtime's clock is
the record's ``now`` in the institution's time zone. Turns go through the public API only:
``Runtime.handle`` for what the person types, ``Runtime.confirm`` (with the step's token) for
the Confirm button, ``Runtime.cancel`` for Cancel. A turn is judged by behaviour: the planned
tool and key arguments, whether a confirmation is pending, what executed, and what the plugin
stores hold afterwards; never by the wording of the reply.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from lamworks import ConfirmationError, Runtime, load_config  # noqa: E402

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples/lamworks.toml"
DATA = ROOT / "bench/data/conversations"
RESULTS = ROOT / "bench/results/conversations.json"
PLUGINS = ("healthcare", "education")
DEFAULT_NOW = "2026-12-01T10:00:00"
_WORD = re.compile(r"[a-z0-9]+")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")


# -- values ------------------------------------------------------------------------------------

def _norm(value: Any) -> str:
    text = str(value).strip().lower()
    match = _TIME.match(text)
    if match:
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    return text.strip(" .,;:!?\"'")


def value_matches(expected: Any, actual: Any) -> bool:
    """Equal after normalisation, or (for text) every expected word among the actual words."""
    if actual is None:
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected) == bool(actual)
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        try:
            return float(actual) == float(expected)
        except (TypeError, ValueError):
            return False
    exp, act = _norm(expected), _norm(actual)
    if exp == act:
        return True
    words = set(_WORD.findall(exp)) - {"dr", "doctor", "the"}
    return bool(words) and words <= set(_WORD.findall(act))


# -- store readers -------------------------------------------------------------------------------

class World:
    """Reads what the plugins' stores hold, for the checks after a turn."""

    def __init__(self, runtime: Runtime, user: str) -> None:
        self.runtime = runtime
        self.user = user
        self.zone = ZoneInfo(runtime.config.institution.timezone)

    @property
    def fhir(self) -> Any:
        return self.runtime.services.get("fhir")

    def patients(self, name: str, birth_date: str | None = None) -> list[dict[str, Any]]:
        wanted = set(_WORD.findall(name.lower()))
        found = []
        for patient in self.fhir.search("Patient"):
            words: set[str] = set()
            for n in patient.get("name", []) or []:
                for part in [*(n.get("given") or []), n.get("family") or ""]:
                    words |= set(_WORD.findall(part.lower()))
            if wanted <= words and (not birth_date or patient.get("birthDate") == birth_date):
                found.append(patient)
        return found

    def appointments(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        ids = {f"Patient/{p['id']}" for p in self.patients(spec["patient"],
                                                         spec.get("birth_date"))}
        out = []
        for appt in self.fhir.search("Appointment"):
            if appt.get("status") not in {"booked", "pending", "arrived", "proposed"}:
                continue
            actors = [p.get("actor") or {} for p in appt.get("participant", []) or []]
            if not ids & {str(a.get("reference")) for a in actors}:
                continue
            start = datetime.fromisoformat(appt["start"]).astimezone(self.zone)
            if spec.get("date") and start.date().isoformat() != spec["date"]:
                continue
            if spec.get("time") and start.strftime("%H:%M") != _norm(spec["time"]):
                continue
            part = spec.get("part_of_day")
            if part and part != ("morning" if start.hour < 12 else
                                 "afternoon" if start.hour < 17 else "evening"):
                continue
            doctor = spec.get("practitioner")
            if doctor and not any(
                value_matches(doctor, self._display(a)) for a in actors
                if "Practitioner/" in str(a.get("reference"))
            ):
                continue
            out.append(appt)
        return out

    def _display(self, actor: dict[str, Any]) -> str:
        if actor.get("display"):
            return str(actor["display"])
        with contextlib.suppress(Exception):
            practitioner = self.fhir.read("Practitioner", str(actor["reference"]).split("/")[-1])
            return json.dumps(practitioner.get("name"))
        return ""

    def referrals(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        ids = {f"Patient/{p['id']}" for p in self.patients(spec["patient"])}
        out = []
        for request in self.fhir.search("ServiceRequest"):
            if str((request.get("subject") or {}).get("reference")) not in ids:
                continue
            if spec.get("specialty") and spec["specialty"].lower() not in json.dumps(
                    request).lower():
                continue
            out.append(request)
        return out

    def study_sessions(self, deadline: str | None = None) -> list[tuple[Any, ...]]:
        path = Path(self.runtime.config.data_dir) / "education" / "education.sqlite"
        if not path.exists():
            return []
        with contextlib.closing(sqlite3.connect(path)) as db:
            try:
                rows = db.execute("SELECT topic, start, minutes, deadline FROM study_sessions "
                                  "WHERE user = ?", (self.user,)).fetchall()
            except sqlite3.OperationalError:
                return []
        return [r for r in rows if not deadline or str(r[3])[:10] == deadline]


# -- judging one turn ----------------------------------------------------------------------------

def _step_for(turn: Any, tool: str | None) -> Any:
    steps = turn.steps
    if tool:
        for step in steps:
            if step.tool == tool:
                return step
    return steps[0] if steps else None


def judge(expect: dict[str, Any], turn: Any, world: World) -> list[str]:
    """The expectations this turn missed (empty: passed)."""
    problems: list[str] = []
    steps = turn.steps
    planned = [s.tool for s in steps]
    executed = [s.tool for s in steps if s.status == "executed"]
    pending = turn.awaiting_confirmation
    refused_by_request = bool(turn.plan and turn.plan.why
                              and turn.plan.why.planner == "request-policies")
    denied = any(s.status == "denied" for s in steps)

    if "tool" in expect:
        first = planned[0] if planned else None
        if expect["tool"] is None and planned:
            problems.append(f"expected no tool, planned {planned}")
        elif expect["tool"] is not None and expect["tool"] not in planned:
            problems.append(f"expected tool {expect['tool']}, planned {first}")
    if "tools" in expect:
        got = [t for t in planned if t in expect["tools"]]
        if planned[:len(expect["tools"])] != expect["tools"] and got != expect["tools"]:
            problems.append(f"expected tools {expect['tools']}, planned {planned}")
    want_tool = expect.get("tool") or (expect["executed"] if isinstance(
        expect.get("executed"), str) else None)
    step = _step_for(turn, want_tool)
    for name, value in (expect.get("arguments") or {}).items():
        actual = step.arguments.get(name) if step else None
        if not value_matches(value, actual):
            problems.append(f"argument {name}: expected {value!r}, got {actual!r}")
    for name, part in (expect.get("arguments_contain") or {}).items():
        actual = str(step.arguments.get(name, "")) if step else ""
        if part.lower() not in actual.lower():
            problems.append(f"argument {name} lacks {part!r}")
    if "pending" in expect and bool(pending) != bool(expect["pending"]):
        problems.append(f"expected pending={expect['pending']}, got "
                        f"{pending.tool if pending else None}")
    if expect.get("asks"):
        if turn.follow_up is None and "?" not in turn.answer:
            problems.append("expected a question")
        if executed:
            problems.append(f"expected a question, executed {executed}")
    if "asks_for" in expect and (turn.follow_up is None
                                 or turn.follow_up.field != expect["asks_for"]):
        problems.append(f"expected a question about {expect['asks_for']}, got "
                        f"{turn.follow_up.field if turn.follow_up else None}")
    if expect.get("refused") and not (refused_by_request or denied):
        problems.append(f"expected a refusal, got planned={planned} executed={executed}")
    if expect.get("reply") and (steps or turn.follow_up is not None):
        problems.append(f"expected a plain reply, planned {planned}")
    if "executed" in expect:
        wanted = expect["executed"] if isinstance(expect["executed"], list) else [
            expect["executed"]]
        missing = [t for t in wanted if t not in executed]
        if missing:
            states = {s.tool: s.status for s in steps}
            problems.append(f"expected {missing} executed; steps {states}; answer "
                            f"{turn.answer[:160]!r}")
    if expect.get("nothing_executed") and executed:
        problems.append(f"expected nothing executed, executed {executed}")
    if "appointment" in expect and not world.appointments(expect["appointment"]):
        problems.append(f"no appointment matching {expect['appointment']}")
    if "no_appointment" in expect and world.appointments(expect["no_appointment"]):
        problems.append(f"an appointment matching {expect['no_appointment']} exists")
    if "patient" in expect:
        spec = expect["patient"]
        people = world.patients(spec["name"], spec.get("birth_date"))
        if spec.get("phone"):
            people = [p for p in people if any(
                t.get("value") == spec["phone"] for t in p.get("telecom", []) or [])]
        if not people:
            problems.append(f"no patient matching {spec}")
    if "referral" in expect and not world.referrals(expect["referral"]):
        problems.append(f"no referral matching {expect['referral']}")
    if "study_sessions" in expect:
        spec = expect["study_sessions"]
        rows = world.study_sessions(spec.get("deadline"))
        if "count" in spec and len(rows) != spec["count"]:
            problems.append(f"expected {spec['count']} study sessions, found {len(rows)}")
        if "min" in spec and len(rows) < spec["min"]:
            problems.append(f"expected at least {spec['min']} study sessions, found {len(rows)}")
    return problems


# -- playing -------------------------------------------------------------------------------------

class Stage:
    """The template data folder and a fresh copy of it per conversation."""

    def __init__(self, now: datetime) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lamworks-conv-"))
        self.template = self.root / "template"
        self.now = now
        self._count = 0
        self._build()

    def _build(self) -> None:
        os.environ["LAMWORKS_DATA_DIR"] = str(self.template)
        config = load_config(CONFIG)
        self.template.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(ImportError):
            from lamworks_healthcare import HealthcareSettings
            from lamworks_healthcare.clinic import load_demo_clinic
            from lamworks_healthcare.store import open_store

            settings = HealthcareSettings(**config.plugins.settings_for("healthcare"))
            store = open_store(settings, config.data_dir)
            if getattr(store, "count", lambda: 1)() == 0:
                load_demo_clinic(store, self.now.date(), timezone=config.institution.timezone)
            store.close()
        runtime = Runtime(config, clock=lambda: self.now)
        runtime.close()
        # The plugins' documents indexed once (as `make demo` does with `lamworks kb sync`),
        # so the tutor and the quiz have their course material.
        subprocess.run([sys.executable, "-m", "lamworks.cli", "kb", "sync", "--config",
                        str(CONFIG)], check=True, capture_output=True,
                       env={**os.environ, "LAMWORKS_DATA_DIR": str(self.template)})

    @contextlib.contextmanager
    def runtime(self, now: datetime) -> Iterator[Runtime]:
        self._count += 1
        folder = self.root / f"c{self._count:03d}"
        shutil.copytree(self.template, folder)
        os.environ["LAMWORKS_DATA_DIR"] = str(folder)
        runtime = Runtime(load_config(CONFIG), clock=lambda: now)
        try:
            yield runtime
        finally:
            runtime.close()
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _parse_now(text: str, zone: ZoneInfo) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def play(stage: Stage, conv: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    now = _parse_now(conv.get("now", DEFAULT_NOW), zone)
    user = conv["user"]
    session = f"conv-{conv['id']}"
    results: list[dict[str, Any]] = []
    with stage.runtime(now) as runtime:
        world = World(runtime, user)
        pending = None
        for index, spec in enumerate(conv["turns"], start=1):
            started = time.perf_counter()
            action = ("confirm" if spec.get("confirm") else "cancel" if spec.get("cancel")
                      else "say")
            problems: list[str] = []
            turn = None
            try:
                if action == "say":
                    turn = runtime.handle(session, user, spec["say"])
                elif pending is None:
                    problems.append(f"nothing awaits confirmation to {action}")
                elif action == "confirm":
                    turn = runtime.confirm(session, pending.id, pending.confirmation_token)
                else:
                    turn = runtime.cancel(session, pending.id)
            except ConfirmationError as exc:
                problems.append(f"{action} refused: {exc}")
            except Exception as exc:  # a crash is a failed turn, not a failed run
                problems.append(f"raised {type(exc).__name__}: {exc}")
            if turn is not None:
                problems += judge(spec.get("expect", {}), turn, world)
                pending = turn.awaiting_confirmation
            results.append({
                "turn": index, "action": action,
                "say": spec.get("say", f"[{action}]")[:120],
                "passed": not problems, "problems": problems,
                "planned": [s.tool for s in turn.steps] if turn else [],
                "statuses": [s.status for s in turn.steps] if turn else [],
                "answer": turn.answer[:300] if turn else "",
                "seconds": round(time.perf_counter() - started, 3),
            })
    return {"id": conv["id"], "plugin": conv["plugin"], "kind": conv.get("kind", ""),
            "passed": all(r["passed"] for r in results), "turns": results}


def load(plugins: list[str], limit: int | None) -> list[dict[str, Any]]:
    convs: list[dict[str, Any]] = []
    for plugin in plugins:
        path = DATA / f"{plugin}.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        for row in rows:
            row.setdefault("plugin", plugin)
        convs += rows[:limit] if limit else rows
    return convs


def _git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plugin", choices=PLUGINS, action="append",
                        help="only this plugin's conversations (repeatable)")
    parser.add_argument("--limit", type=int, default=None,
                        help="at most this many conversations per plugin")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    plugins = args.plugin or list(PLUGINS)
    convs = load(plugins, args.limit)

    started = time.perf_counter()
    zone = ZoneInfo(load_config(CONFIG).institution.timezone)
    stage = Stage(_parse_now(DEFAULT_NOW, zone))
    planner = ""
    try:
        outcomes = []
        for conv in convs:
            outcome = play(stage, conv, zone)
            outcomes.append(outcome)
            mark = "ok  " if outcome["passed"] else "FAIL"
            print(f"{mark} {conv['id']} ({conv.get('kind', '')})", file=sys.stderr)
        with stage.runtime(_parse_now(DEFAULT_NOW, zone)) as runtime:
            planner = runtime.planner.name
    finally:
        stage.close()

    summary: dict[str, Any] = {}
    print(f"\n{'plugin':<12} {'conversations':>13} {'passed':>7} {'rate':>6} "
          f"{'turns passed':>13}")
    for plugin in plugins:
        mine = [o for o in outcomes if o["plugin"] == plugin]
        if not mine:
            continue
        passed = sum(o["passed"] for o in mine)
        turns = [t for o in mine for t in o["turns"]]
        turns_ok = sum(t["passed"] for t in turns)
        summary[plugin] = {"conversations": len(mine), "passed": passed,
                           "rate": round(passed / len(mine), 3), "turns": len(turns),
                           "turns_passed": turns_ok}
        print(f"{plugin:<12} {len(mine):>13} {passed:>7} {passed / len(mine):>6.0%} "
              f"{turns_ok:>6}/{len(turns):<6}")
    failed = [o for o in outcomes if not o["passed"]]
    if failed:
        print("\nFirst failing turn of each failed conversation:")
    for outcome in failed:
        first = next(t for t in outcome["turns"] if not t["passed"])
        print(f"- {outcome['id']} turn {first['turn']} ({first['say'][:60]!r}): "
              f"{'; '.join(first['problems'])[:300]}")

    report = {
        "generated": datetime.now().isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count()},
        "planner": planner,
        "now": DEFAULT_NOW,
        "seconds": round(time.perf_counter() - started, 1),
        "summary": summary,
        "conversations": outcomes,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                            encoding="utf-8")
    print(f"\nwrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

