"""How well the healthcare plugin's no-clinical-advice rule separates advice from admin requests.

Reads ``lamworks_healthcare/evals/clinical_advice.jsonl`` (labels ``advice``/``benign``), runs
:func:`lamworks_healthcare.advice.is_clinical_advice` on each utterance, prints a table and
the misclassified requests, and writes ``bench/data/healthcare_advice.json``.

    .venv/bin/python bench/healthcare_advice.py
"""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path

from lamworks_healthcare.advice import advice_rule


def main() -> None:
    text = resources.files("lamworks_healthcare").joinpath("evals/clinical_advice.jsonl")
    records = [json.loads(line) for line in text.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    started = time.perf_counter()
    outcome = {"advice": [0, 0], "benign": [0, 0]}
    wrong = []
    for record in records:
        rule = advice_rule(record["utterance"])
        predicted = "advice" if rule else "benign"
        correct = predicted == record["label"]
        outcome[record["label"]][0] += int(correct)
        outcome[record["label"]][1] += 1
        if not correct:
            wrong.append((record["id"], record["label"], rule, record["utterance"]))
    elapsed_ms = (time.perf_counter() - started) * 1000
    figures = {label: {"correct": ok, "total": n, "rate": round(ok / n, 4)}
               for label, (ok, n) in outcome.items()}
    print(f"{'set':<8} {'correct':>8} {'total':>6} {'rate':>7}")
    for label, row in figures.items():
        print(f"{label:<8} {row['correct']:>8} {row['total']:>6} {row['rate']:>7.1%}")
    print(f"{len(records)} requests classified in {elapsed_ms:.1f} ms")
    for item in wrong:
        print("WRONG", *item)
    out = Path(__file__).parent / "data" / "healthcare_advice.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"figures": figures, "wrong": wrong}, indent=2) + "\n",
                   encoding="utf-8")


if __name__ == "__main__":
    main()
