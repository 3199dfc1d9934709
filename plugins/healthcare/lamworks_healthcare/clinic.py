"""A deterministic synthetic clinic: practitioners, patients, coverage, four weeks of slots.

:func:`generate_clinic` returns the same resources for the same start date (a seeded
``random.Random``, no clock, no network). Names are invented, phone numbers are in the
fictional 555-01xx range, e-mail addresses use ``example.org``, and every resource carries the
``HTEST`` ("test health data") security label. :func:`load_demo_clinic` writes it into an empty
store at start-up so the demo has something to book.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .shapes import coverage_payer, service_types, synthetic_meta
from .validation import FHIRVersion
from .valuesets import SERVICE_TYPE_SYSTEM, SERVICE_TYPES, SNOMED, SPECIALTIES

__all__ = ["MRN_SYSTEM", "PRACTITIONERS", "ClinicPractitioner", "generate_clinic",
           "load_demo_clinic"]

MRN_SYSTEM = "urn:lamworks:clinic:mrn"
SLOT_MINUTES = 30


@dataclass(frozen=True)
class ClinicPractitioner:
    """One of the demo clinic's practitioners and the sessions they work."""

    key: str
    given: str
    family: str
    specialty: str
    services: tuple[str, ...]
    evening_weekday: int | None = None  # 0 = Monday; an extra 17:00-19:00 session

    @property
    def id(self) -> str:
        return f"pr-{self.key}"

    @property
    def display(self) -> str:
        return f"Dr. {self.given} {self.family}"


PRACTITIONERS: tuple[ClinicPractitioner, ...] = (
    ClinicPractitioner("lee", "Lena", "Lee", "family medicine",
                       ("new-patient", "follow-up", "check-up", "vaccination"), evening_weekday=3),
    ClinicPractitioner("okafor", "Priya", "Okafor", "pediatrics",
                       ("new-patient", "follow-up", "vaccination")),
    ClinicPractitioner("marsh", "Sam", "Marsh", "dermatology",
                       ("new-patient", "follow-up", "skin-check")),
    ClinicPractitioner("castellan", "Ivo", "Castellan", "cardiology",
                       ("new-patient", "follow-up", "heart-check")),
)

PAYERS = (("payer-bluebird", "Bluebird Health Plan"), ("payer-maple", "Maple Mutual Insurance"),
          ("payer-statecare", "StateCare Medicaid (demo)"))

_GIVEN_F = ["Maria", "Lucia", "Noor", "Hana", "Olive", "Zara", "Ines", "Mila", "Tove", "Ruth",
            "Selma", "Priya", "June", "Amara", "Celeste"]
_GIVEN_M = ["Tomas", "Bram", "Kofi", "Iker", "Milo", "Arlo", "Dev", "Otto", "Rafi", "Jonah",
            "Emil", "Teo", "Idris", "Caspar", "Lars"]
_FAMILY = ["Quillfeather", "Bramblewood", "Okonkwo-Vale", "Fernhollow", "Lindqvist-Moss",
           "Ashgrove", "Pemberton-Finch", "Marlowe", "Thistlewaite", "Nakamura-Reed",
           "Castellanos", "Whitlock", "Oduya", "Sandoval-Kerr", "Halloran", "Brightwater"]
_STREETS = ["Willow Lane", "Harbor Road", "Juniper Court", "Kestrel Way", "Orchard Street"]


def _patients(rng: random.Random, count: int) -> list[dict[str, Any]]:
    people: list[tuple[str, str, str, str]] = [
        ("Ana", "Ruiz", "1984-03-12", "female"),
        # Two patients share a name so that finding a patient must sometimes disambiguate.
        ("Maria", "Lopez", "1975-07-30", "female"),
        ("Maria", "Lopez", "1992-11-02", "female"),
        ("Omar", "Haddad", "1968-01-21", "male"),
    ]
    while len(people) < count:
        gender = rng.choice(["female", "male"])
        given = rng.choice(_GIVEN_F if gender == "female" else _GIVEN_M)
        family = rng.choice(_FAMILY)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80))
        if any(p[0] == given and p[1] == family for p in people):
            continue
        people.append((given, family, born.isoformat(), gender))
    resources = []
    for index, (given, family, born, gender) in enumerate(people, start=1):
        pid = f"pat-{index:04d}"
        resources.append({
            "resourceType": "Patient", "id": pid, "meta": synthetic_meta(), "active": True,
            "identifier": [{"use": "usual", "system": MRN_SYSTEM, "value": f"MRN-{index:06d}"}],
            "name": [{"use": "official", "family": family, "given": [given]}],
            "gender": gender, "birthDate": born,
            "telecom": [
                {"system": "phone", "value": f"555-01{index % 100:02d}", "use": "mobile"},
                {"system": "email", "value": f"{given}.{family}@example.org".lower()},
            ],
            "address": [{"line": [f"{rng.randrange(1, 999)} {rng.choice(_STREETS)}"],
                         "city": "Riverside", "state": "TX", "postalCode": "00000"}],
        })
    return resources


def _coverages(rng: random.Random, patients: list[dict[str, Any]], year: int,
               version: FHIRVersion) -> list[dict[str, Any]]:
    out = []
    for index, patient in enumerate(patients):
        payer_id, payer_name = PAYERS[index % len(PAYERS)] if index else PAYERS[0]
        # Every tenth patient's coverage ended last year: check_coverage must say so.
        expired = index % 10 == 9
        period = ({"start": f"{year - 2}-01-01", "end": f"{year - 1}-12-31"} if expired
                  else {"start": f"{year - 1}-01-01", "end": f"{year + 1}-12-31"})
        out.append({
            "resourceType": "Coverage", "id": f"cov-{patient['id']}", "meta": synthetic_meta(),
            "status": "active",
            "identifier": [{"system": "urn:lamworks:clinic:member-id",
                            "value": f"M{rng.randrange(10**7, 10**8)}"}],
            **_subscriber_id(version, f"SUB-{index + 1:05d}"),
            "beneficiary": {"reference": f"Patient/{patient['id']}"},
            "relationship": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                "code": "self"}]},
            "period": period,
            **coverage_payer(version, {"reference": f"Organization/{payer_id}",
                                       "display": payer_name}),
        })
    return out


def _subscriber_id(version: FHIRVersion, value: str) -> dict[str, Any]:
    # A string in R4B, an Identifier list in R5.
    if version == "R4B":
        return {"subscriberId": value}
    return {"subscriberId": [{"system": "urn:lamworks:clinic:subscriber", "value": value}]}


def _sessions(practitioner: ClinicPractitioner, day: date) -> list[tuple[time, time]]:
    if day.weekday() >= 5:
        return []
    sessions = [(time(9), time(12)), (time(13), time(17))]
    if practitioner.evening_weekday == day.weekday():
        sessions.append((time(17), time(19)))
    return sessions


def _slot_times(practitioner: ClinicPractitioner, start: date, days: int,
                zone: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    for offset in range(days):
        day = start + timedelta(days=offset)
        for begin, end in _sessions(practitioner, day):
            moment = datetime.combine(day, begin, zone)
            stop = datetime.combine(day, end, zone)
            while moment < stop:
                yield moment, moment + timedelta(minutes=SLOT_MINUTES)
                moment += timedelta(minutes=SLOT_MINUTES)


def generate_clinic(start: date, *, timezone: str = "America/Chicago", days: int = 28,
                    patients: int = 60, fhir_version: FHIRVersion = "R4B",
                    seed: int = 20261124) -> list[dict[str, Any]]:
    """Every resource of the demo clinic, schedules from ``start`` for ``days`` days."""
    rng = random.Random(seed)
    zone = ZoneInfo(timezone)
    resources: list[dict[str, Any]] = [
        {"resourceType": "Organization", "id": pid, "meta": synthetic_meta(), "active": True,
         "name": name, "type": [{"coding": [{
             "system": "http://terminology.hl7.org/CodeSystem/organization-type",
             "code": "ins"}]}]}
        for pid, name in PAYERS
    ]
    people = _patients(rng, patients)
    resources += people
    resources += _coverages(rng, people, start.year, fhir_version)
    for practitioner in PRACTITIONERS:
        code, display = SPECIALTIES[practitioner.specialty]
        specialty = [{"coding": [{"system": SNOMED, "code": code, "display": display}],
                      "text": practitioner.specialty}]
        services = service_types(fhir_version, [
            {"coding": [{"system": SERVICE_TYPE_SYSTEM, "code": s,
                         "display": SERVICE_TYPES[s]}]} for s in practitioner.services])
        resources.append({
            "resourceType": "Practitioner", "id": practitioner.id, "meta": synthetic_meta(),
            "active": True,
            "identifier": [{"system": "urn:lamworks:clinic:staff", "value": practitioner.key}],
            "name": [{"family": practitioner.family, "given": [practitioner.given],
                      "prefix": ["Dr."], "text": practitioner.display}],
        })
        schedule_id = f"sch-{practitioner.key}"
        resources.append({
            "resourceType": "Schedule", "id": schedule_id, "meta": synthetic_meta(),
            "active": True, "specialty": specialty, "serviceType": services,
            "actor": [{"reference": f"Practitioner/{practitioner.id}",
                       "display": practitioner.display}],
            "planningHorizon": {"start": start.isoformat(),
                                "end": (start + timedelta(days=days)).isoformat()},
        })
        for begin, end in _slot_times(practitioner, start, days, zone):
            slot_id = f"slot-{practitioner.key}-{begin:%Y%m%d-%H%M}"
            busy = rng.random() < 0.3
            resources.append({
                "resourceType": "Slot", "id": slot_id, "meta": synthetic_meta(),
                "schedule": {"reference": f"Schedule/{schedule_id}"},
                "status": "busy" if busy else "free", "specialty": specialty,
                "serviceType": services,
                "start": begin.isoformat(), "end": end.isoformat(),
            })
            if busy:
                patient = rng.choice(people[4:])
                resources.append({
                    "resourceType": "Appointment", "id": f"appt-{slot_id[5:]}",
                    "meta": synthetic_meta(), "status": "booked",
                    "start": begin.isoformat(), "end": end.isoformat(),
                    "minutesDuration": SLOT_MINUTES,
                    "slot": [{"reference": f"Slot/{slot_id}"}],
                    "participant": [
                        {"actor": {"reference": f"Patient/{patient['id']}"},
                         "status": "accepted"},
                        {"actor": {"reference": f"Practitioner/{practitioner.id}",
                                   "display": practitioner.display}, "status": "accepted"},
                    ],
                })
    return resources


def load_demo_clinic(store: Any, start: date, *, timezone: str = "America/Chicago") -> int:
    """Write the demo clinic into an empty store; returns how many resources were written."""
    resources = generate_clinic(start, timezone=timezone, fhir_version=store.fhir_version)
    if hasattr(store, "load"):
        return int(store.load(resources))
    from .store import BundleEntry

    store.transaction([BundleEntry("PUT", f"{r['resourceType']}/{r['id']}", r)
                       for r in resources])
    return len(resources)
