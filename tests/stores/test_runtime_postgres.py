"""The whole runtime on PostgreSQL: the example institution with ``[stores] database_url`` books
an appointment with a confirmation, and the audit chain it wrote there verifies.

The demo clinic (the healthcare plugin's own SQLite FHIR store) sits in the data folder as in
``tests/conftest.py``'s ``demo_clinic``; the journal, sessions, confirmations, rate counter,
accounts and audit log live in a fresh PostgreSQL database, and no SQLite file of theirs is made.
A second Runtime on the same database (a replica) takes the confirmation of a turn the first one
planned.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lamworks import Runtime, load_config
from lamworks.database import open_database

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/Chicago"))  # as tests/conftest.py


def test_a_booking_confirmed_on_a_replica_is_journaled_and_audited_in_postgres(
        tmp_path: Path, postgres_url: str) -> None:
    from lamworks_healthcare import HealthcareSettings
    from lamworks_healthcare.clinic import load_demo_clinic
    from lamworks_healthcare.store import open_store

    data = tmp_path / "data"
    data.mkdir()
    config = load_config(REPO / "examples" / "lamworks.toml")
    config = config.model_copy(update={
        "data_dir": data,
        "stores": config.stores.model_copy(update={"database_url": postgres_url})})
    store = open_store(HealthcareSettings(**config.plugins.settings_for("healthcare")), data)
    load_demo_clinic(store, NOW.date(), timezone=config.institution.timezone)
    store.close()

    first = Runtime(config, clock=lambda: NOW)
    turn = first.handle("s1", "frontdesk", "book Ana Ruiz in for thursday afternoon with dr lee")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "healthcare.book_appointment", turn.answer
    replica = Runtime(config, clock=lambda: NOW, plugins=first.plugins)
    done = replica.confirm("s1", step.id)
    assert done.steps[0].status == "executed", done.answer
    assert step.change is not None
    [appointment] = [w.url for w in step.change.writes if w.url.startswith("Appointment/")]
    assert replica.services["fhir"].read(*appointment.split("/"))["status"] == "booked"
    for runtime in (first, replica):
        assert runtime.audit.verify().ok
    events = [e.event for e in first.audit.entries()]
    assert "step.awaiting_confirmation" in events and "step.executed" in events
    replica.close()
    first.close()

    db = open_database(postgres_url)
    try:
        [entry] = db.fetchall("SELECT status, tool FROM journal")
        assert (entry["status"], entry["tool"]) == ("done", "healthcare.book_appointment")
    finally:
        db.close()
    assert not (data / "lamworks.db").exists() and not (data / "audit.db").exists()
