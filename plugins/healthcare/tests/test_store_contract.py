"""One contract for every FHIR store: run against LocalFHIRStore and a real sekmet-fhir server.

The server is shared by the whole session, so each test makes its own ids and identifiers.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest

from lamworks_healthcare.errors import (
    FHIRStoreError,
    InvalidResource,
    ResourceNotFound,
    VersionConflict,
)
from lamworks_healthcare.store import BundleEntry, FHIRStore, version_of

from .conftest import EXAMPLES


def _uid() -> str:
    return uuid.uuid4().hex[:12]


def _patient(pid: str, mrn: str, family: str = "Testperson", birth: str = "1980-02-03"
             ) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid,
            "identifier": [{"system": "urn:test:mrn", "value": mrn}],
            "name": [{"family": family, "given": ["Ana"]}], "birthDate": birth,
            "gender": "female"}


def _slot(sid: str, schedule: str, status: str = "free",
          start: str = "2031-03-04T09:00:00-06:00") -> dict[str, Any]:
    return {"resourceType": "Slot", "id": sid, "schedule": {"reference": schedule},
            "status": status, "start": start, "end": start.replace("T09:00", "T09:30")}


def test_update_creates_then_versions(store: FHIRStore) -> None:
    pid = f"p-{_uid()}"
    first = store.update(_patient(pid, _uid()))
    assert version_of(first) == "1" and first["meta"]["lastUpdated"]
    second = store.update({**first, "gender": "other"}, if_match="1")
    assert version_of(second) == "2"
    assert store.read("Patient", pid)["gender"] == "other"


def test_stale_if_match_is_a_version_conflict(store: FHIRStore) -> None:
    pid = f"p-{_uid()}"
    store.update(_patient(pid, _uid()))
    store.update(_patient(pid, _uid()), if_match="1")
    with pytest.raises(VersionConflict):
        store.update(_patient(pid, _uid()), if_match="1")


def test_read_missing_and_deleted(store: FHIRStore) -> None:
    with pytest.raises(ResourceNotFound):
        store.read("Patient", f"nope-{_uid()}")
    pid = f"p-{_uid()}"
    store.update(_patient(pid, _uid()))
    store.delete("Patient", pid)
    with pytest.raises(ResourceNotFound):
        store.read("Patient", pid)


def test_conditional_create_returns_the_existing_match(store: FHIRStore) -> None:
    mrn = _uid()
    created = store.create(_patient("ignored", mrn), if_none_exist=f"identifier=urn:test:mrn|{mrn}")
    again = store.create(_patient("ignored", mrn), if_none_exist=f"identifier=urn:test:mrn|{mrn}")
    assert created["id"] == again["id"] != "ignored"
    assert len(store.search("Patient", {"identifier": f"urn:test:mrn|{mrn}"})) == 1


def test_invalid_resources_are_refused_before_writing(store: FHIRStore) -> None:
    pid = f"p-{_uid()}"
    with pytest.raises(InvalidResource, match="birthDate"):
        store.update({**_patient(pid, _uid()), "birthDate": "not-a-date"})
    with pytest.raises(InvalidResource, match="gender"):
        store.update({**_patient(pid, _uid()), "gender": "bogus"})  # a value set, checked by us
    with pytest.raises(ResourceNotFound):
        store.read("Patient", pid)


def test_search_by_name_birthdate_and_identifier(store: FHIRStore) -> None:
    family = "Zq" + _uid()
    mrn = _uid()
    store.update(_patient(f"p-{_uid()}", mrn, family=family, birth="1971-05-06"))
    store.update(_patient(f"p-{_uid()}", _uid(), family=family, birth="1990-01-01"))
    assert len(store.search("Patient", {"family": family})) == 2
    assert len(store.search("Patient", {"name": family.lower()})) == 2
    one = store.search("Patient", {"family": family, "birthdate": "1971-05-06"})
    assert [p["identifier"][0]["value"] for p in one] == [mrn]
    assert len(store.search("Patient", {"identifier": f"urn:test:mrn|{mrn}"})) == 1


def test_slot_search_by_schedule_status_and_start_range(store: FHIRStore) -> None:
    schedule = f"Schedule/sch-{_uid()}"
    store.update(_slot(f"s-{_uid()}", schedule, start="2031-03-04T09:00:00-06:00"))
    store.update(_slot(f"s-{_uid()}", schedule, start="2031-03-05T09:00:00-06:00"))
    store.update(_slot(f"s-{_uid()}", schedule, "busy", start="2031-03-04T09:00:00-06:00"))
    free = store.search("Slot", {"schedule": schedule, "status": "free"})
    assert len(free) == 2
    day = store.search("Slot", {"schedule": schedule, "status": "free",
                                "start": ["ge2031-03-04T00:00:00-06:00",
                                          "lt2031-03-05T00:00:00-06:00"]})
    assert len(day) == 1 and day[0]["start"].startswith("2031-03-04")


def test_search_follows_pages(store: FHIRStore) -> None:
    schedule = f"Schedule/sch-{_uid()}"
    store.transaction([BundleEntry("PUT", f"Slot/{sid}", _slot(sid, schedule))
                       for sid in (f"s-{_uid()}" for _ in range(25))])
    assert len(store.search("Slot", {"schedule": schedule})) == 25


def test_transaction_is_all_or_nothing(store: FHIRStore) -> None:
    sid, pid = f"s-{_uid()}", f"p-{_uid()}"
    bad = {**_patient(pid, _uid()), "birthDate": "31/12/1999"}
    with pytest.raises(InvalidResource):
        store.transaction([BundleEntry("PUT", f"Slot/{sid}", _slot(sid, "Schedule/x")),
                           BundleEntry("PUT", f"Patient/{pid}", bad)])
    with pytest.raises(ResourceNotFound):
        store.read("Slot", sid)


def test_transaction_with_stale_if_match_changes_nothing(store: FHIRStore) -> None:
    sid, aid = f"s-{_uid()}", f"a-{_uid()}"
    store.update(_slot(sid, "Schedule/x"))
    appointment = {"resourceType": "Appointment", "id": aid, "status": "booked",
                   "slot": [{"reference": f"Slot/{sid}"}],
                   "participant": [{"actor": {"reference": "Patient/p1"},
                                    "status": "accepted"}]}
    with pytest.raises(VersionConflict):
        store.transaction([
            BundleEntry("PUT", f"Slot/{sid}", _slot(sid, "Schedule/x", "busy"), if_match="7"),
            BundleEntry("PUT", f"Appointment/{aid}", appointment)])
    assert store.read("Slot", sid)["status"] == "free"
    with pytest.raises(ResourceNotFound):
        store.read("Appointment", aid)
    written = store.transaction([
        BundleEntry("PUT", f"Slot/{sid}", _slot(sid, "Schedule/x", "busy"), if_match="1"),
        BundleEntry("PUT", f"Appointment/{aid}", appointment)])
    assert [r["resourceType"] for r in written] == ["Slot", "Appointment"]
    assert store.search("Appointment", {"slot": f"Slot/{sid}"})[0]["id"] == aid
    assert store.search("Appointment", {"patient": "Patient/p1", "status": "booked"})


def test_two_threads_booking_one_slot_exactly_one_wins(store: FHIRStore) -> None:
    sid = f"s-{_uid()}"
    store.update(_slot(sid, "Schedule/x"))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(n: int) -> None:
        aid = f"a-{_uid()}"
        appointment = {"resourceType": "Appointment", "id": aid, "status": "booked",
                       "slot": [{"reference": f"Slot/{sid}"}],
                       "participant": [{"actor": {"reference": f"Patient/p{n}"},
                                        "status": "accepted"}]}
        barrier.wait()
        try:
            store.transaction([
                BundleEntry("PUT", f"Slot/{sid}", _slot(sid, "Schedule/x", "busy"),
                            if_match="1"),
                BundleEntry("PUT", f"Appointment/{aid}", appointment)])
            outcomes.append("won")
        except VersionConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=book, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert len(store.search("Appointment", {"slot": f"Slot/{sid}"})) == 1


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_official_hl7_examples_round_trip(store: FHIRStore, name: str) -> None:
    resource = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    resource.pop("meta", None)
    resource.pop("text", None)  # narrative XHTML is irrelevant here and large
    resource["id"] = f"{resource['id']}-{_uid()}"
    written = store.update(resource)
    read = store.read(resource["resourceType"], resource["id"])
    assert version_of(written) == version_of(read) == "1"
    for key in ("identifier", "status", "name", "start", "birthDate"):
        assert read.get(key) == resource.get(key)


def test_unknown_resource_type_is_invalid(store: FHIRStore) -> None:
    with pytest.raises(FHIRStoreError):
        store.update({"resourceType": "Spaceship", "id": "x"})
