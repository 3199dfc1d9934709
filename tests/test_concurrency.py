"""One Runtime shared by 8 threads (as the web app shares it across browser sessions) while 3
other processes book on the same data folder: nothing is double-booked, nothing is lost from
the audit log, and every answer is true to what happened.

The scenario lives in ``bench/concurrency.py`` (which also reports it as a benchmark): the demo
institution with the demo clinic for a fixed clock, each worker thread booking its own patient
into a few contested slots of Dr. Lee through ``Runtime.handle`` and ``Runtime.confirm``, all
released together once every runtime has started. Here it runs a little smaller: 8 threads of
one runtime × 13 attempts, and processes of 8, 8 and 2 threads × 6 attempts: 212 attempts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_threads_and_processes_booking_the_same_slots(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The spawned processes import the scenario by module name, so its folder goes on sys.path
    # (they inherit it) rather than being loaded from a file path.
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setenv("LAMWORKS_DATA_DIR", str(tmp_path / "data"))  # restored afterwards
    import concurrency

    try:
        report = concurrency.run_scenario(tmp_path / "data", threads=8, processes=(8, 8, 2),
                                          attempts=13, child_attempts=6, slots=20)
    finally:
        sys.modules.pop("concurrency", None)
    summary = {k: v for k, v in report.items() if k != "attempt_list"}

    assert report["crashed_processes"] == [], summary
    assert report["attempts"] == 8 * 13 + 18 * 6 >= 200, summary
    assert report["raw_errors"] == 0, summary
    assert report["false_denials"] == 0, summary
    assert report["misread_requests"] == 0, summary
    assert report["double_bookings"] == 0, summary
    assert report["busy_slots_without_booking"] == 0, summary
    assert report["false_messages"] == 0, summary
    assert report["lost_audit_rows"] == 0 and report["extra_audit_rows"] == 0, summary
    assert report["audit_ok"], summary
    # The slots really were fought over: every attempt either booked or was told why not, and
    # at most one booking per slot won.
    assert report["booked"] + report["refused_with_reason"] == report["attempts"], summary
    assert 0 < report["booked"] == report["slots_booked"] <= 20, summary
