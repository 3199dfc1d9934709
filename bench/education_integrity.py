"""Measure the academic-integrity policy on its labelled requests.

Usage::

    .venv/bin/python bench/education_integrity.py [--set integrity|independent|heldout|all]

Three labelled sets live in ``lamworks_education/evals/`` (label ``refuse`` or ``allow``):

- ``integrity``: ``integrity.jsonl``, the set written alongside the classifier;
- ``independent``: ``integrity_independent.jsonl``, written blind by a helper; the classifier
  was then improved on its misses, so it is a development set now;
- ``heldout``: ``integrity_heldout.jsonl``, written blind by another helper while the
  classifier was being improved, and never looked at for tuning: the honest figure.

For each set measured (default ``all``) prints how many of each label the policy handled
correctly (refuse-recall and allow-accuracy), listing every mistake, and writes
``bench/results/education-integrity.json``. Exits 0 only if every measured set reaches 95% on
both labels.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

from lamworks_education.integrity import integrity_violation

SETS = {"integrity": "integrity.jsonl", "independent": "integrity_independent.jsonl",
        "heldout": "integrity_heldout.jsonl"}
TARGET = 0.95
RESULTS = Path(__file__).resolve().parent / "results" / "education-integrity.json"


def measure(name: str) -> dict:
    """Run the policy on one labelled set; per-label counts and the mistakes."""
    path = resources.files("lamworks_education") / "evals" / SETS[name]
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    totals = {"refuse": [0, 0], "allow": [0, 0]}
    wrong = []
    for row in rows:
        refused = integrity_violation(row["utterance"])
        ok = refused == (row["label"] == "refuse")
        totals[row["label"]][0] += ok
        totals[row["label"]][1] += 1
        if not ok:
            wrong.append(
                {"id": row.get("id"), "label": row["label"], "utterance": row["utterance"]}
            )
    labels = {
        label: {"correct": right, "total": n, "rate": round(right / n, 4)}
        for label, (right, n) in totals.items()
    }
    passed = all(v["rate"] >= TARGET for v in labels.values())
    return {"file": SETS[name], "labels": labels, "passed": passed, "wrong": wrong}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all", dest="which")
    args = parser.parse_args()
    names = list(SETS) if args.which == "all" else [args.which]
    results = {name: measure(name) for name in names}
    for name, res in results.items():
        print(f"== {name} ({res['file']})")
        for w in res["wrong"]:
            print(f"  wrong ({w['label']}) {w['id'] or ''}: {w['utterance']}")
    print(f"\n{'set':12s} {'label':7s} {'correct':>9s} {'rate':>7s}")
    for name, res in results.items():
        for label, v in res["labels"].items():
            counts = f"{v['correct']}/{v['total']}"
            print(f"{name:12s} {label:7s} {counts:>9s} {100 * v['rate']:6.1f}%")
    RESULTS.parent.mkdir(exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous.update(results)
    previous["target"] = TARGET
    RESULTS.write_text(json.dumps(previous, indent=1) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0 if all(res["passed"] for res in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
