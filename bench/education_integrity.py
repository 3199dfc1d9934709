"""Measure the academic-integrity policy on its labelled requests.

Usage::

    .venv/bin/python bench/education_integrity.py [--set integrity|independent|train|heldout|all]
    .venv/bin/python bench/education_integrity.py --cv [--embeddings]   # choose hyper-parameters
    .venv/bin/python bench/education_integrity.py --timing              # ms per request
    .venv/bin/python bench/education_integrity.py --traffic             # ordinary requests

Four labelled sets live in ``lamworks_education/evals/`` (label ``refuse`` or ``allow``):

- ``integrity``: ``integrity.jsonl``, the set written alongside the rules;
- ``independent``: ``integrity_independent.jsonl``, written blind by a helper; the rules were
  then improved on its misses, so it is a development set now;
- ``train``: ``integrity_train.jsonl``, written to train the learned stage (never blind);
- ``heldout``: ``integrity_heldout.jsonl``, written blind by another helper and never looked at
  for tuning: the honest figure. The first three are the learned stage's training data, so the
  policy's figures on them are in-sample; only ``heldout`` and ``--cv`` measure generalisation.

For each set measured (default ``all``) prints how many of each label the policy (rules, then the
learned stage) handled correctly (refuse-recall and allow-accuracy) beside the rules alone,
lists every mistake of the policy, and writes ``bench/results/education-integrity.json``. Exits
0 only if every measured set reaches 95% on both labels.

``--cv`` re-runs the hyper-parameter search of :mod:`lamworks_education.integrity_model` on the
three training files only: repeated stratified 10-fold cross-validation over a grid of C, cue
weight and n-gram length; for each, the threshold that maximises the lower of refuse-recall and
allow-accuracy of the *combined* decision (rules or model) on out-of-fold probabilities. Then
leave-one-file-out and leave-one-topic-out (topics of ``integrity_train.jsonl``) figures for
the chosen setting. ``--embeddings`` adds sentence-embedding features (the shared
all-MiniLM-L6-v2) to the comparison. The search takes under a minute on two idle cores.

``--traffic`` runs the policy on the requests of every plugin's planner evaluation sets
(education and healthcare: single requests, dialog turns, out-of-scope requests), which carry
no integrity label, and lists each one the learned stage refuses: false refusals of ordinary
traffic. (They informed the kinds of ordinary requests written into ``integrity_train.jsonl``,
not their wording, so this is a check, not a held-out measure.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from importlib import resources
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from lamworks_education import integrity_model as im
from lamworks_education.integrity import (
    _request_part,
    integrity_explanation,
    integrity_reason,
)

SETS = {"integrity": "integrity.jsonl", "independent": "integrity_independent.jsonl",
        "train": "integrity_train.jsonl", "heldout": "integrity_heldout.jsonl"}
TARGET = 0.95
RESULTS = Path(__file__).resolve().parent / "results" / "education-integrity.json"

GRID_C = (3.0, 10.0, 30.0, 100.0)
GRID_CUE_WEIGHT = (0.0, 0.1, 0.3)      # 1.0 and 3-grams never won (first search, 48 settings)
GRID_NGRAMS = (1, 2)
THRESHOLDS = tuple(round(0.2 + 0.025 * k, 3) for k in range(29))    # 0.2 .. 0.9
REPEATS, FOLDS = 3, 10


def _rows(name: str) -> list[dict[str, Any]]:
    path = resources.files("lamworks_education") / "evals" / SETS[name]
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _rates(refused: Sequence[bool], labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    totals = {"refuse": [0, 0], "allow": [0, 0]}
    for r, label in zip(refused, labels, strict=True):
        totals[label][0] += r == (label == "refuse")
        totals[label][1] += 1
    return {label: {"correct": right, "total": n, "rate": round(right / n, 4)}
            for label, (right, n) in totals.items()}


def measure(name: str) -> dict[str, Any]:
    """Run the policy on one labelled set; per-label counts, the rules alone, the mistakes."""
    rows = _rows(name)
    decisions = [integrity_explanation(row["utterance"]) for row in rows]
    refused = [d is not None for d in decisions]
    labels = [row["label"] for row in rows]
    rules = [integrity_reason(row["utterance"]) is not None for row in rows]
    wrong = [{"id": row.get("id"), "label": row["label"], "utterance": row["utterance"],
              "decision": d or "allow"}
             for row, r, d in zip(rows, refused, decisions, strict=True)
             if r != (row["label"] == "refuse")]
    result: dict[str, Any] = {"file": SETS[name], "labels": _rates(refused, labels),
              "rules_only": _rates(rules, labels), "wrong": wrong}
    result["passed"] = all(v["rate"] >= TARGET for v in result["labels"].values())
    return result


# ---------------------------------------------------------------------------------------------
# Cross-validation
# ---------------------------------------------------------------------------------------------

def _folds(labels: np.ndarray, seed: int, k: int = FOLDS) -> list[np.ndarray]:
    """Stratified folds: each label's rows shuffled and dealt round-robin."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=int)
    for value in (True, False):
        idx = np.flatnonzero(labels == value)
        rng.shuffle(idx)
        fold_of[idx] = np.arange(len(idx)) % k
    return [np.flatnonzero(fold_of == f) for f in range(k)]


def _combined(rules: np.ndarray, prob: np.ndarray, labels: np.ndarray, threshold: float,
              gate: np.ndarray | None) -> tuple[float, float]:
    refused = rules | ((prob >= threshold) & (True if gate is None else gate))
    return float(refused[labels].mean()), float((~refused[~labels]).mean())


def _best_threshold(rules: np.ndarray, probs: np.ndarray, labels: np.ndarray,
                    gate: np.ndarray | None) -> tuple[float, float, float]:
    """(threshold, refuse, allow) maximising min(refuse, allow), then their mean, then the
    higher threshold; ``probs`` is repeats x rows of out-of-fold probabilities; ``gate`` the
    rows in school territory (None: no gate)."""
    best: tuple[tuple[float, float, float], float, float, float] | None = None
    for t in THRESHOLDS:
        scores = [_combined(rules, p, labels, t, gate) for p in probs]
        refuse = float(np.mean([s[0] for s in scores]))
        allow = float(np.mean([s[1] for s in scores]))
        key = (round(min(refuse, allow), 6), round(refuse + allow, 6), t)
        if best is None or key > best[0]:
            best = (key, t, refuse, allow)
    assert best is not None
    return best[1], best[2], best[3]


Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]   # (train rows, test rows) -> P(refuse)


def _out_of_fold(score: Scorer, labels: np.ndarray) -> np.ndarray:
    probs = np.zeros((REPEATS, len(labels)))
    for rep in range(REPEATS):
        folds = _folds(labels, seed=rep)
        for f, test in enumerate(folds):
            train = np.concatenate([folds[g] for g in range(len(folds)) if g != f])
            probs[rep, test] = score(train, test)
    return probs


def _stage_scorer(data: im.Prepared, c: float, cue_weight: float, ngrams: int) -> Scorer:
    def score(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        stage = im.fit_prepared(data, train, c=c, cue_weight=cue_weight, ngrams=ngrams)
        return np.array([stage.probability_of(data.tokens[i], data.cues[i]) for i in test])
    return score


def _embedding_scorer(data: im.Prepared, vectors: np.ndarray, c: float, cue_weight: float,
                      ngrams: int, emb_weight: float) -> Scorer:
    """Logistic regression over [n-grams | cues | emb_weight * embedding] (cue_weight and
    ngrams None: the embedding alone)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def score(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        if ngrams == 0:
            x_train, x_test = vectors[train], vectors[test]
        else:
            vec = TfidfVectorizer(analyzer=lambda t: list(im._ngrams(t, ngrams)),
                                  sublinear_tf=True)
            g_train = vec.fit_transform([data.tokens[i] for i in train])
            g_test = vec.transform([data.tokens[i] for i in test])
            x_train = hstack([g_train, csr_matrix(cue_weight * data.cues[train]),
                              csr_matrix(emb_weight * vectors[train])]).tocsr()
            x_test = hstack([g_test, csr_matrix(cue_weight * data.cues[test]),
                             csr_matrix(emb_weight * vectors[test])]).tocsr()
        model = LogisticRegression(C=c, max_iter=10000).fit(x_train, data.labels[train])
        return np.asarray(model.predict_proba(x_test)[:, 1], dtype=np.float64)
    return score


def cross_validate(with_embeddings: bool) -> dict[str, Any]:
    rows = im.training_rows()
    data = im.Prepared.of(rows)
    labels = data.labels
    rules = np.array([integrity_reason(r["utterance"]) is not None for r in rows])
    print(f"training rows: {len(rows)} ({labels.sum()} refuse, {(~labels).sum()} allow); "
          f"rules alone: refuse {rules[labels].mean():.3f}, allow {(~rules[~labels]).mean():.3f}")
    print(f"{REPEATS} x stratified {FOLDS}-fold; combined = rules or P >= threshold\n")
    grid: list[dict[str, Any]] = []
    start = time.perf_counter()
    for c, w, n in product(GRID_C, GRID_CUE_WEIGHT, GRID_NGRAMS):
        probs = _out_of_fold(_stage_scorer(data, c, w, n), labels)
        t, refuse, allow = _best_threshold(rules, probs, labels, data.academic)
        t0, refuse0, allow0 = _best_threshold(rules, probs, labels, None)
        grid.append({"C": c, "cue_weight": w, "ngrams": n, "threshold": t,
                     "refuse": round(refuse, 4), "allow": round(allow, 4),
                     "without_gate": {"threshold": t0, "refuse": round(refuse0, 4),
                                      "allow": round(allow0, 4)}})
        print(f"C={c:<5g} cues={w:<4g} ngrams={n}  threshold {t:.3f}  "
              f"refuse {refuse:.3f}  allow {allow:.3f}   (no gate: {t0:.3f} {refuse0:.3f} "
              f"{allow0:.3f})", flush=True)
    chosen = max(grid, key=lambda g: (min(g["refuse"], g["allow"]), g["refuse"] + g["allow"],
                                      -g["ngrams"], -g["C"]))
    print(f"\nsearch took {time.perf_counter() - start:.0f} s; chosen: {chosen}")
    shipped = {"C": im.C, "cue_weight": im.CUE_WEIGHT, "ngrams": im.NGRAMS,
               "threshold": im.THRESHOLD}
    same = all(chosen[k] == v for k, v in shipped.items())
    print(f"shipped in integrity_model.py: {shipped} ({'the same' if same else 'DIFFERENT'})")

    # generalisation across authors and across kinds of work, at the chosen setting
    files = np.array([f for f in im.TRAINING_FILES for _ in _rows_of_file(f)])
    topics = np.array([r.get("topic", "") for r in rows])
    c, w, n, t = chosen["C"], chosen["cue_weight"], chosen["ngrams"], chosen["threshold"]
    print(f"\nleave one file out (train on the other two), threshold {t}:")
    held: dict[str, Any] = {}
    for name in im.TRAINING_FILES:
        test = np.flatnonzero(files == name)
        train = np.flatnonzero(files != name)
        prob = _stage_scorer(data, c, w, n)(train, test)
        held[name] = _report(name, rules[test], prob * data.academic[test], labels[test], t)
    print(f"\nleave one topic of integrity_train.jsonl out, threshold {t}:")
    by_topic: dict[str, Any] = {}
    for topic in sorted(set(topics) - {"", "other", "tools", "fragments", "everyday"}):
        test = np.flatnonzero(topics == topic)
        train = np.flatnonzero(topics != topic)
        prob = _stage_scorer(data, c, w, n)(train, test)
        by_topic[topic] = _report(topic, rules[test], prob * data.academic[test],
                                  labels[test], t)
    result = {"rows": len(rows), "repeats": REPEATS, "folds": FOLDS, "grid": grid,
              "chosen": chosen, "shipped": shipped, "leave_one_file_out": held,
              "leave_one_topic_out": by_topic}
    if with_embeddings:
        result["embeddings"] = _compare_embeddings(rows, data, rules, chosen)
    return result


def _rows_of_file(name: str) -> list[dict[str, str]]:
    return im.training_rows((name,))


def _report(name: str, rules: np.ndarray, prob: np.ndarray, labels: np.ndarray,
            threshold: float) -> dict[str, Any]:
    refused = rules | (prob >= threshold)
    out = {"refuse": f"{int(refused[labels].sum())}/{int(labels.sum())}",
           "allow": f"{int((~refused[~labels]).sum())}/{int((~labels).sum())}",
           "rules_refuse": f"{int(rules[labels].sum())}/{int(labels.sum())}",
           "rules_allow": f"{int((~rules[~labels]).sum())}/{int((~labels).sum())}"}
    print(f"  {name:30s} combined refuse {out['refuse']:>8s} allow {out['allow']:>8s}   "
          f"(rules alone {out['rules_refuse']:>8s} / {out['rules_allow']:>8s})")
    return out


def _compare_embeddings(rows: list[dict[str, Any]], data: im.Prepared, rules: np.ndarray,
                        chosen: dict[str, Any]) -> list[dict[str, Any]]:
    """The same CV with sentence embeddings of the request (the shared model)."""
    from lamworks_education.embedding import default_embedder

    embedder = default_embedder()
    texts = [_request_part(r["utterance"]) for r in rows]
    start = time.perf_counter()
    vectors = np.asarray(embedder.encode(texts), dtype=np.float64)
    print(f"\nembedded {len(texts)} training requests in {time.perf_counter() - start:.1f} s")
    c, w, n = chosen["C"], chosen["cue_weight"], chosen["ngrams"]
    out = []
    variants = [(f"embedding alone, C={ce:g}", ce, 0.0, 0, 1.0) for ce in (3.0, 10.0, 30.0, 100.0)]
    variants += [(f"chosen + embedding x{we:g}", c, w, n, we) for we in (0.5, 1.0)]
    for name, cc, ww, nn, we in variants:
        probs = _out_of_fold(_embedding_scorer(data, vectors, cc, ww, nn, we), data.labels)
        t, refuse, allow = _best_threshold(rules, probs, data.labels, data.academic)
        out.append({"model": name, "threshold": t, "refuse": round(refuse, 4),
                    "allow": round(allow, 4)})
        print(f"  {name:28s} threshold {t:.3f}  refuse {refuse:.3f}  allow {allow:.3f}",
              flush=True)
    print(f"  {'chosen (no embedding)':28s} threshold {chosen['threshold']:.3f}  refuse "
          f"{chosen['refuse']:.3f}  allow {chosen['allow']:.3f}")
    return out


# ---------------------------------------------------------------------------------------------
# Ordinary traffic
# ---------------------------------------------------------------------------------------------

def traffic() -> dict[str, Any]:
    """Requests of the planner evaluation sets of every plugin (single requests, dialog turns,
    out-of-scope requests) with no integrity label: how many does the learned stage refuse
    that the rules let through? Each one is listed to be judged by eye."""
    root = Path(__file__).resolve().parent.parent / "plugins"
    out: dict[str, Any] = {}
    for path in sorted(root.glob("*/lamworks_*/evals/*.jsonl")):
        if path.name.startswith("integrity"):
            continue
        utterances = []
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if isinstance(row.get("utterance"), str):
                utterances.append(row["utterance"])
            utterances += [t["say"] for t in row.get("turns", []) if isinstance(t.get("say"), str)]
        learned = [u for u in utterances
                   if integrity_reason(u) is None and integrity_explanation(u) is not None]
        name = f"{path.parent.parent.name}/{path.name}"
        out[name] = {"requests": len(utterances), "learned_refusals": learned}
        print(f"{name:45s} {len(utterances):4d} requests, learned refusals {len(learned)}")
        for u in learned:
            print(f"    {integrity_explanation(u)}: {u}")
    return out


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------

def timing() -> dict[str, Any]:
    """First use (fit) and ms per request of the policy's decision, on the training requests."""
    start = time.perf_counter()
    stage = im.learned_stage()
    first = time.perf_counter() - start
    assert stage is not None
    utterances = [r["utterance"] for r in im.training_rows()]
    per: list[float] = []
    for _ in range(3):
        for u in utterances:
            t0 = time.perf_counter()
            integrity_explanation(u)
            per.append(time.perf_counter() - t0)
    learned: list[float] = []
    for u in utterances:
        t0 = time.perf_counter()
        stage.probability(u)
        learned.append(time.perf_counter() - t0)
    out = {"first_use_s": round(first, 3), "fit_s": round(stage.fit_seconds, 3),
           "decision_ms_p50": round(1000 * statistics.median(per), 4),
           "decision_ms_p95": round(1000 * float(np.percentile(per, 95)), 4),
           "learned_ms_p50": round(1000 * statistics.median(learned), 4)}
    print(f"first use (import scikit-learn, fit on {stage.n_train}): {first:.2f} s "
          f"(fit {stage.fit_seconds:.2f} s)")
    print(f"policy decision per request: p50 {out['decision_ms_p50']:.3f} ms, "
          f"p95 {out['decision_ms_p95']:.3f} ms; learned stage alone p50 "
          f"{out['learned_ms_p50']:.3f} ms")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all", dest="which")
    parser.add_argument("--cv", action="store_true", help="hyper-parameter search (training "
                        "files only) instead of measuring sets")
    parser.add_argument("--embeddings", action="store_true",
                        help="with --cv: compare sentence-embedding features")
    parser.add_argument("--timing", action="store_true", help="ms per request")
    parser.add_argument("--traffic", action="store_true", help="learned refusals of the "
                        "plugins' planner evaluation requests (no integrity labels)")
    args = parser.parse_args()
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous["target"] = TARGET
    if args.cv or args.timing or args.traffic:
        if args.cv:
            previous["cv"] = cross_validate(args.embeddings)
        if args.traffic:
            previous["traffic"] = traffic()
        if args.timing:
            previous["timing"] = timing()
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(previous, indent=1) + "\n")
        print(f"\nwrote {RESULTS}")
        return 0
    names = list(SETS) if args.which == "all" else [args.which]
    results = {name: measure(name) for name in names}
    for name, res in results.items():
        print(f"== {name} ({res['file']})")
        for w in res["wrong"]:
            print(f"  wrong ({w['label']}, {w['decision']}) {w['id'] or ''}: {w['utterance']}")
    print(f"\n{'set':12s} {'label':7s} {'correct':>9s} {'rate':>7s}   {'rules alone':>11s}")
    for name, res in results.items():
        for label, v in res["labels"].items():
            counts = f"{v['correct']}/{v['total']}"
            r = res["rules_only"][label]
            print(f"{name:12s} {label:7s} {counts:>9s} {100 * v['rate']:6.1f}%   "
                  f"{r['correct']:>4d}/{r['total']:<3d} {100 * r['rate']:5.1f}%")
    stage = im.learned_stage()
    previous["learned_stage"] = None if stage is None else {
        "C": im.C, "cue_weight": im.CUE_WEIGHT, "ngrams": im.NGRAMS, "threshold": im.THRESHOLD,
        "training_files": list(im.TRAINING_FILES), "n_train": stage.n_train,
        "fingerprint": stage.fingerprint}
    previous.update(results)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(previous, indent=1) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0 if all(res["passed"] for res in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
