"""Cost of one call of the healthcare slot extractors, against the number of patients.

For 10, 1,000 and 10,000 patients in the plugin's real SQLite-backed local FHIR store (the demo
clinic's practitioners and schedules, plus patients with deterministic generated names), times
one call of ``find_patient_names`` and of ``find_practitioners`` on each of 50 fixed utterances,
after one warm-up pass, and reports p50/p95 per call. The implementation at git ``HEAD`` (a
per-utterance full scan, loaded from ``git show``) is timed in the same run as "before" when it
differs from the working tree's. The education plugin's student extractor is a regular
expression on student ids that reads no roster, so it is not benchmarked.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/extractors.py [--sizes 10 1000 10000]

Writes ``bench/results/extractors.json``. Settings: BLAS pinned to one thread
(``OPENBLAS_NUM_THREADS=1``; nothing here uses BLAS), single-threaded Python.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "extractors.json"
EXTRACTORS = "plugins/healthcare/lamworks_healthcare/extractors.py"

GIVEN = ["Ana", "Omar", "Maria", "Liam", "Noor", "Chen", "Ivy", "Kofi", "Sara", "Tomas",
         "Aiko", "Ben", "Elena", "Hugo", "Lina", "Mateo", "Nadia", "Oskar", "Priya", "Ravi",
         "Sofia", "Theo", "Uma", "Victor", "Wen", "Yara", "Zane", "Amir", "Bea", "Dara"]
FAMILY = ["Ruiz", "Haddad", "Lopez", "Okoro", "Nguyen", "Silva", "Berg", "Khan", "Moreau",
          "Novak", "Tanaka", "Walsh", "Adeyemi", "Costa", "Dubois", "Fischer", "Garcia",
          "Hansen", "Ivanova", "Jensen", "Kowalski", "Larsen", "Mendes", "Nakamura", "Olsen",
          "Petrov", "Quinn", "Rossi", "Santos", "Torres", "Ueda", "Varga", "Weber", "Xu",
          "Yilmaz", "Zhang", "Abbott", "Brandt", "Castillo", "Diaz", "Eriksen", "Ferrari",
          "Gomez", "Horvat", "Ibrahim", "Jovanovic", "Keller", "Lindqvist", "Marsh", "Nilsen"]

UTTERANCES = [
    "book Ana Ruiz with dr lee tomorrow morning",
    "can Omar Haddad see Doctor Okafor on Friday?",
    "cancel maria lopez's appointment",
    "what time is my appointment",
    "reschedule Liam Okoro to next Tuesday afternoon with Dr. Marsh",
    "find patient Noor Nguyen born 1990-02-03",
    "is there anything free with dr lee next week",
    "update Chen Silva's phone to 555-0100",
    "send a reminder to ivy berg",
    "refer Kofi Khan to cardiology, urgent",
    "who is Sara Moreau's doctor",
    "list appointments for Tomas Novak",
    "check coverage for aiko tanaka please",
    "book me with the doctor on monday at 9",
    "register a new patient Jane Doe born 1990-05-01",
    "Ben Walsh wants the earliest slot with Doctor Okafor",
    "Elena Adeyemi and Hugo Costa both need flu shots",
    "what are the clinic's opening hours",
    "move Lina Dubois from 3pm to 4pm",
    "Mateo Fischer called about his bill",
    "please book Nadia Garcia, Oskar Hansen and Priya Ivanova",
    "dr lee or dr okafor, whoever is free first",
    "Ravi Jensen's insurance card expired",
    "does Sofia Kowalski have a referral",
    "cancel everything for Theo Larsen",
    "Uma Mendes needs an interpreter",
    "is Victor Nakamura still a patient here",
    "book Wen Olsen in the afternoon",
    "yara petrov's address changed to 12 Elm Street",
    "Zane Quinn with Dr Marsh next Thursday",
    "an appointment for Amir Rossi please",
    "Bea Santos wants to see a dermatologist",
    "Dara Torres missed her appointment",
    "i need to see a doctor about my knee",
    "hello",
    "thanks, that's all",
    "who are your practitioners",
    "free slots on Wednesday morning",
    "book ana ruiz again, same time next week",
    "omar haddad and maria lopez are siblings",
    "remind Liam Okoro by sms",
    "what does dr lee specialise in",
    "Noor Nguyen: new email noor@example.org",
    "is chen silva booked with doctor okafor",
    "can I speak to the front desk",
    "Ivy Berg's appointment, please cancel it",
    "Kofi Khan and Sara Moreau, both at 10",
    "anything for Tomas Novak today?",
    "Aiko Tanaka wants Dr. Marsh",
    "how long are appointments usually",
]


def _patients(n: int) -> list[dict[str, Any]]:
    """``n`` patients; patient i is GIVEN[i % 30] + FAMILY[(i // 30 + i) % 50] (deterministic;
    the first patients carry the names the utterances use)."""
    out = []
    for i in range(n):
        given = GIVEN[i % len(GIVEN)]
        family = FAMILY[(i // len(GIVEN) + i) % len(FAMILY)]
        out.append({"resourceType": "Patient", "id": f"bench-{i:05d}", "active": True,
                    "name": [{"use": "official", "family": family, "given": [given]}],
                    "birthDate": f"{1940 + i % 60}-{1 + i % 12:02d}-{1 + i % 28:02d}"})
    return out


def _store(folder: Path, n: int) -> Any:
    from lamworks_healthcare.clinic import generate_clinic
    from lamworks_healthcare.store_local import LocalFHIRStore

    store = LocalFHIRStore(folder / f"fhir-{n}.sqlite")
    staff = [r for r in generate_clinic(date(2026, 11, 24), days=1, patients=10)
             if r["resourceType"] in ("Practitioner", "Schedule")]
    store.load(staff)
    patients = _patients(n)
    for start in range(0, n, 2000):
        store.load(patients[start:start + 2000])
    return store


def _head_module() -> types.ModuleType | None:
    """The extractors module at git HEAD, if it differs from the working tree's."""
    try:
        source = subprocess.run(["git", "show", f"HEAD:{EXTRACTORS}"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    if source == (ROOT / EXTRACTORS).read_text(encoding="utf-8"):
        return None
    module = types.ModuleType("lamworks_healthcare._extractors_head")
    module.__package__ = "lamworks_healthcare"
    module.__file__ = f"git:HEAD:{EXTRACTORS}"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module


def _time(extract: Callable[[str, Any], Any], ctx: Any, repeats: int) -> dict[str, float]:
    for text in UTTERANCES:  # warm-up: builds indexes, fills caches
        extract(text, ctx)
    samples = []
    for _ in range(repeats):
        for text in UTTERANCES:
            start = time.perf_counter()
            extract(text, ctx)
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 4),
            "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 4),
            "calls": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--repeats", type=int, default=20, help="Passes over the utterances.")
    args = parser.parse_args()

    from lamworks_healthcare import extractors as new

    old = _head_module()
    impls: list[tuple[str, types.ModuleType]] = [("after", new)]
    if old is not None:
        impls.insert(0, ("before", old))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            store = _store(Path(tmp), n)
            ctx = types.SimpleNamespace(services={"fhir": store})
            for label, module in impls:
                # The full scan costs up to a second a call at 10,000: fewer passes for it.
                repeats = args.repeats if label == "after" else max(1, min(
                    args.repeats, 2000 // max(n, 1)))
                for extractor in ("find_patient_names", "find_practitioners"):
                    result = _time(getattr(module, extractor), ctx, repeats)
                    found = sum(len(getattr(module, extractor)(t, ctx)) for t in UTTERANCES)
                    rows.append({"patients": n, "implementation": label,
                                 "extractor": extractor, "matches": found, **result})
            store.close()

    print(f"{'patients':>8}  {'extractor':<20} {'impl':<7} {'p50 ms':>9} {'p95 ms':>9} "
          f"{'calls':>6} {'matches':>7}")
    for row in rows:
        print(f"{row['patients']:>8}  {row['extractor']:<20} {row['implementation']:<7} "
              f"{row['p50_ms']:>9.4f} {row['p95_ms']:>9.4f} {row['calls']:>6} "
              f"{row['matches']:>7}")
    report = {
        "bench": "extractors", "utterances": len(UTTERANCES), "sizes": args.sizes,
        "before": "git HEAD extractors.py (full scan per utterance)" if old else None,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(),
                    "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")},
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
