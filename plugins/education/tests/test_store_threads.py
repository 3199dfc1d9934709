"""The plugin's SQLite file opened by many threads at once (one runtime serves many sessions)."""

from __future__ import annotations

import threading
from pathlib import Path

from lamworks_education.store import DEMO_GRADES, connect


def test_demo_grades_are_seeded_once_when_eight_first_calls_race(tmp_path: Path) -> None:
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def first_call() -> None:
        start.wait()
        try:
            with connect(tmp_path, demo_grades=True) as db:
                db.execute("SELECT COUNT(*) FROM grades").fetchone()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with connect(tmp_path) as db:
        assert db.execute("SELECT COUNT(*) FROM grades").fetchone()[0] == len(DEMO_GRADES)
