"""Measure the academic-integrity policy on its labelled requests.

Usage: ``.venv/bin/python bench/education_integrity.py``. Reads
``lamworks_education/evals/integrity.jsonl`` (label ``refuse`` or ``allow``) and prints how many
of each the policy handled correctly, listing every mistake.
"""

from __future__ import annotations

import json
from importlib import resources

from lamworks_education.integrity import integrity_violation


def main() -> int:
    path = resources.files("lamworks_education") / "evals" / "integrity.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    totals = {"refuse": [0, 0], "allow": [0, 0]}
    for row in rows:
        refused = integrity_violation(row["utterance"])
        ok = refused == (row["label"] == "refuse")
        totals[row["label"]][0] += ok
        totals[row["label"]][1] += 1
        if not ok:
            print(f"  wrong ({row['label']}): {row['utterance']}")
    for label, (right, n) in totals.items():
        print(f"{label:7s} {right}/{n} correct ({100 * right / n:.1f}%)")
    return 0 if all(r / n >= 0.95 for r, n in totals.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
