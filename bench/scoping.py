"""Policies and extractors apply where they belong (issue 12): two measurements.

(a) **Request-stage false refusals across plugins.** The example institution (healthcare and
education, the default planner, the demo clinic) routes each utterance of the *other* plugins'
evaluation sets, and general requests, through the runtime's real routing and policy scoping
(``planner.plan`` then ``Runtime.screen_request`` with that plan, exactly as ``Runtime.handle``
does; nothing is executed). Counted: refusals by a plugin's request policies of utterances that
belong to another plugin or to no plugin (target 0). Sets: each plugin's ``evals/single.jsonl``
(as the user the record names), screened for the other plugin's rules; CLINC150 in-scope
``val`` utterances (every 10th, 300: general requests; the test part is held out and not
here) as a student and as a patient (the two roles the domain rules are about). For contrast,
the same utterances are also screened the way the runtime did before scoping (every request
policy on every request), counted as ``unscoped``. Nothing here was tuned on these utterances.

(b) **Extractor cost per utterance** at 10, 1,000 and 10,000 patients in the plugin's real local
FHIR store: the patient and practitioner extractors (what the planner asks when a request's
likely tools take a patient or a practitioner) on each utterance of the healthcare and
education single-turn sets (317), after one warm-up pass: per utterance the best of five calls
(the machine is shared with other work; the first call's median is kept too), then the median
and p95 over utterances. BLAS is pinned to one thread. The JSON records the load average before
and after the timing part.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scoping.py [--skip-refusals] [--skip-cost]

Writes ``bench/results/scoping.json`` and ``bench/results/scoping.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import types
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
RESULTS = ROOT / "bench" / "results"
CLINC = Path("/work/shared/data/clinc150-dev/data_train_val.json")
SETS = {
    "healthcare": ROOT / "plugins/healthcare/lamworks_healthcare/evals/single.jsonl",
    "education": ROOT / "plugins/education/lamworks_education/evals/single.jsonl",
}
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/Chicago"))
REPEATS = 5


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _runtime(data: Path) -> Any:
    from lamworks import Runtime, load_config
    from lamworks_healthcare import HealthcareSettings
    from lamworks_healthcare.clinic import load_demo_clinic
    from lamworks_healthcare.store import open_store

    config = load_config(ROOT / "examples" / "lamworks.toml")
    config = config.model_copy(update={"data_dir": data})
    data.mkdir(parents=True, exist_ok=True)
    store = open_store(HealthcareSettings(**config.plugins.settings_for("healthcare")), data)
    load_demo_clinic(store, NOW.date(), timezone=config.institution.timezone)
    store.close()
    return Runtime(config, clock=lambda: NOW)


def _screen(rt: Any, user: str, text: str) -> tuple[str | None, list[str], str | None]:
    """(the refusing policy or None, the planned tools, the policy the unscoped runtime would
    have refused with)."""
    from lamworks.plan import Step
    from lamworks.planning import DialogState, PlanningContext
    from lamworks.policies import REQUEST_TOOL, PolicyContext, combine, evaluate, planned_tools
    from lamworks.runtime import _REQUEST_STAND_IN

    action = replace(rt.action_context("bench", user), now=lambda: NOW)
    ctx = PlanningContext(tools=rt.tools, action=action, dialog=DialogState(),
                          slot_extractors=tuple(rt.plugins.slot_extractors.values()))
    plan = rt.planner.plan(text, ctx)
    refusal = rt.screen_request(action, text, plan)
    stand_in = Step(id="bench", tool=REQUEST_TOOL, arguments={"utterance": text})
    # Before scoping: every request policy saw every request (no tool filter, no role filter).
    old = combine([d for p in rt.policies("request") for d in evaluate(
        [replace(p, applies_to=replace(p.applies_to, plugins=("*",), tools=(), roles=()))],
        stand_in, PolicyContext(action, _REQUEST_STAND_IN, None, rt.plugins.settings))])
    return (refusal.policy if refusal is not None else None,
            [t.name for t in planned_tools(plan, rt.tools)],
            old.policy if old.kind == "deny" else None)


def refusals() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rt = _runtime(Path(tmp) / "data")
        try:
            cases: list[tuple[str, str, str, str]] = []  # (set, owner, user, text)
            for owner, path in SETS.items():
                cases += [(f"{owner} single", owner, r.get("user") or "frontdesk", r["utterance"])
                          for r in _records(path)]
            clinc = json.loads(CLINC.read_text(encoding="utf-8"))["val"][::10]
            for user in ("student", "patient"):
                cases += [(f"CLINC150 val (as {user})", "", user, text) for text, _ in clinc]
            counts: dict[str, dict[str, Any]] = {}
            for name, owner, user, text in cases:
                policy, tools, old = _screen(rt, user, text)
                foreign = policy is not None and not policy.startswith(f"{owner}.")
                was = old is not None and not old.startswith(f"{owner}.")
                row = counts.setdefault(name, {"set": name, "utterances": 0, "refused": 0,
                                               "unscoped_refused": 0, "own_rule_refused": 0})
                row["utterances"] += 1
                row["refused"] += int(foreign)
                row["unscoped_refused"] += int(was)
                row["own_rule_refused"] += int(policy is not None and not foreign)
                if foreign or was:
                    examples.append({"set": name, "user": user, "text": text, "tools": tools,
                                     "refused_by": policy, "unscoped_refused_by": old})
            rows = list(counts.values())
        finally:
            rt.services["fhir"].close()
            rt.close()
    return {"rows": rows, "cases": examples}


def _time_extractors(store: Any, texts: list[str]) -> dict[str, float]:
    from lamworks_healthcare.extractors import find_patient_names, find_practitioners

    ctx = types.SimpleNamespace(services={"fhir": store})
    for text in texts:  # warm-up: practitioner list read, SQLite pages cached
        find_patient_names(text, ctx)
        find_practitioners(text, ctx)
    per: list[float] = []  # per utterance, the best of REPEATS calls (the machine is shared)
    first: list[float] = []  # per utterance, the first call only
    found = 0
    for text in texts:
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            matches = len(find_patient_names(text, ctx)) + len(find_practitioners(text, ctx))
            times.append((time.perf_counter() - start) * 1000)
        found += matches
        per.append(min(times))
        first.append(times[0])
    per.sort()
    return {"median_ms": round(statistics.median(per), 4),
            "p95_ms": round(per[int(0.95 * (len(per) - 1))], 4),
            "median_first_call_ms": round(statistics.median(first), 4),
            "utterances": len(per), "matches": found}


def cost(sizes: list[int]) -> dict[str, Any]:
    from extractors import _store  # bench/extractors.py: the same generated clinic

    texts = [r["utterance"] for path in SETS.values() for r in _records(path)]
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            started = time.perf_counter()
            store = _store(Path(tmp), n)
            built = time.perf_counter() - started
            try:
                rows.append({"patients": n, **_time_extractors(store, texts),
                             "store_load_s": round(built, 2)})
            finally:
                store.close()
    load_after = os.getloadavg()
    base = rows[0]["median_ms"]
    for row in rows:
        row["ratio_to_smallest"] = round(row["median_ms"] / base, 3) if base else None
    return {"rows": rows, "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after]}


def markdown(result: dict[str, Any]) -> str:
    out = ["# Policies and extractors where they belong (bench/scoping.py)", ""]
    if "refusals" in result:
        out += ["## (a) Request-stage refusals of other plugins' requests (target 0)", "",
                "Routed by the runtime's planner, then screened by the request policies whose "
                "scope covers the planned tools and the role. For CLINC150 (general requests, "
                "no plugin's) every refusal counts.", "",
                "| set | utterances | refused by another plugin's rule (scoped) | "
                "the same, unscoped (before) | refused by the set's own plugin |",
                "|---|---:|---:|---:|---:|"]
        out += [f"| {r['set']} | {r['utterances']} | {r['refused']} | {r['unscoped_refused']} "
                f"| {r['own_rule_refused']} |" for r in result["refusals"]["rows"]]
        out.append("")
    if "cost" in result:
        c = result["cost"]
        out += ["## (b) Healthcare extractor cost per utterance (local store)", "",
                "| patients | median ms (best of 5) | p95 ms | × the 10-patient median | "
                "median ms, first call | utterances |",
                "|---:|---:|---:|---:|---:|---:|"]
        out += [f"| {r['patients']:,} | {r['median_ms']} | {r['p95_ms']} | "
                f"{r['ratio_to_smallest']} | {r['median_first_call_ms']} | {r['utterances']} |"
                for r in c["rows"]]
        out += ["", f"Load average (1, 5, 15 min) before: {c['load_average_before']}, after: "
                    f"{c['load_average_after']}; {result['machine']['cores']} cores, BLAS "
                    f"threads {result['machine']['blas_threads']}."]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--skip-refusals", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args()
    path = RESULTS / "scoping.json"
    result: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    result.update({"bench": "scoping", "date": date.today().isoformat(), "machine": {
        "platform": platform.platform(), "python": platform.python_version(),
        "cores": os.cpu_count(), "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")}})
    if not args.skip_refusals:
        result["refusals"] = refusals()
    if not args.skip_cost:
        result["cost"] = cost(args.sizes)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "scoping.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
