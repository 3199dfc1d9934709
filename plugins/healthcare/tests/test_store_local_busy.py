"""The embedded FHIR store under another process's lock: a documented error, never sqlite3's.

(Threads of one process booking one slot are in ``test_store_contract.py``.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lamworks_healthcare.errors import ResourceNotFound, ServerError
from lamworks_healthcare.store_local import LocalFHIRStore


def test_a_write_lock_held_too_long_elsewhere_is_a_server_error_and_writes_nothing(
        tmp_path: Path) -> None:
    store = LocalFHIRStore(tmp_path / "fhir.sqlite")
    store._conn.execute("PRAGMA busy_timeout = 50")  # do not wait 30 s for the test
    other_process = sqlite3.connect(tmp_path / "fhir.sqlite", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    slot = {"resourceType": "Slot", "id": "s1", "schedule": {"reference": "Schedule/x"},
            "status": "free", "start": "2031-03-04T09:00:00-06:00",
            "end": "2031-03-04T09:30:00-06:00"}
    try:
        with pytest.raises(ServerError, match="busy") as caught:
            store.update(slot)
        assert "locked" in caught.value.diagnostics  # for operators; not in str()
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    with pytest.raises(ResourceNotFound):
        store.read("Slot", "s1")
    assert store.update(slot)["meta"]["versionId"] == "1"  # the connection is usable again
    store.close()
