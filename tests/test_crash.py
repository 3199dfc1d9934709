"""Recovery by idempotency key (issue 13, item 4): a real runtime process SIGKILLed at each
point of an action, then restarted, loses nothing, duplicates nothing and leaves nothing half
done or pending.

The harness lives in ``bench/crash.py`` (which runs every kill point × every write tool with
at least 200 actions and writes ``bench/results/crash.json``); here it runs a sample: every
point and every tool at least once, two actions per cell (the second one killed), including
the crash the issue measured — a new patient written, the journal not completed, and the
entry's arguments redacted for the audit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "bench"

SAMPLE = [
    ("before_complete", "register_patient"),  # the reported ValueError: '[redacted]'
    ("after_commit", "book_appointment"),
    ("mid_transaction", "book_appointment"),
    ("before_audit", "register_patient"),  # done without its audit row: repaired at start-up
    ("before_journal", "update_patient_contact"),
    ("after_journal", "reschedule_appointment"),
    ("mid_transaction", "reschedule_appointment"),
    ("before_complete", "cancel_appointment"),
    ("after_audit", "create_referral"),
    ("after_commit", "send_reminder"),
    ("mid_transaction", "study_plan"),
    ("before_complete", "study_plan"),
]


def test_sigkill_at_every_point_then_restart_keeps_every_action_exactly_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setenv("LAMWORKS_DATA_DIR", str(tmp_path / "data"))  # restored afterwards
    import crash

    try:
        assert {p for p, _ in SAMPLE} == set(crash.POINTS)
        assert {t for _, t in SAMPLE} == set(crash.TOOLS)
        report = crash.run_matrix(SAMPLE, actions=2, jobs=2, work=tmp_path)
        table = crash.table(report)
    finally:
        sys.modules.pop("crash", None)
    totals = report["totals"]
    problems = {f"{c['point']} × {c['tool']}": c["problems"] for c in report["cells"]
                if c["problems"]}
    summary = f"{table}\n{problems}"
    assert totals["killed"] == totals["cells"] == len(SAMPLE), summary
    assert totals["actions"] == 2 * len(SAMPLE), summary
    assert totals["acknowledged"] == len(SAMPLE), summary  # the first of each; the second died
    for column in ("lost", "duplicated", "half_applied", "stuck", "journal_mismatch",
                   "audit_missing"):
        assert totals[column] == 0, summary
    assert totals["audit_ok"] and totals["integrity_ok"], summary
    assert problems == {}, summary
    cells = {(c["point"], c["tool"]): c for c in report["cells"]}
    # A commit before the kill is found by its key and completed; a kill before it, abandoned.
    assert cells[("before_complete", "register_patient")]["applied_unacknowledged"] == 1
    assert cells[("before_complete", "register_patient")]["startup"]["reconciled"] == 1
    assert cells[("mid_transaction", "book_appointment")]["applied_unacknowledged"] == 0
    assert cells[("mid_transaction", "book_appointment")]["startup"]["abandoned"] == 1
    assert cells[("before_audit", "register_patient")]["startup"]["repaired"] == 1
    assert all(c["retry_refused"] for c in report["cells"])

