"""The extractors' patient lookups: targeted, indexed queries (never a scan of every patient),
current after the plugin's own writes and after direct ones."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from lamworks_healthcare.extractors import find_patient_names, find_practitioners
from lamworks_healthcare.name_index import PatientNameIndex, names_of
from lamworks_healthcare.store_local import LocalFHIRStore
from lamworks_healthcare.store_rest import RestFHIRStore


def _patient(pid: str, given: str, family: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "active": True,
            "name": [{"family": family, "given": [given]}], "birthDate": "1990-01-02"}


def _names(text: str, ctx: Any) -> list[tuple[str, str]]:
    return [(m.value, m.span.text) for m in find_patient_names(text, ctx)]


def _word(rng: random.Random) -> str:
    return rng.choice(string.ascii_uppercase) + "".join(
        rng.choice(string.ascii_lowercase) for _ in range(9))


def test_a_patient_registered_by_the_tool_is_found_on_the_next_utterance(
        runtime: Any, context: Callable[..., Any]) -> None:
    ctx = context()
    assert _names("book Juno Testwhistle and ana ruiz", ctx) == [("Ana Ruiz", "ana ruiz")]
    runtime.tools["healthcare.register_patient"].invoke(context(), {
        "first_name": "Juno", "last_name": "Testwhistle", "birth_date": "1991-04-05"})
    assert _names("book Juno Testwhistle and ana ruiz", ctx) == [
        ("Juno Testwhistle", "Juno Testwhistle"), ("Ana Ruiz", "ana ruiz")]
    assert names_of(runtime.services["fhir"]).rebuilds == 0  # patients were never scanned


def test_direct_writes_to_the_local_store_are_seen_on_the_next_utterance(
        runtime: Any, context: Callable[..., Any]) -> None:
    ctx = context()
    store = runtime.services["fhir"]
    assert _names("is Wren Kettleby here?", ctx) == []
    # Another connection (as another process would), not the plugin's tools.
    other = LocalFHIRStore(store.path)
    try:
        other.update(_patient("pat-direct", "Wren", "Kettleby"))
        assert _names("is wren kettleby here?", ctx) == [("Wren Kettleby", "wren kettleby")]
        other.update(_patient("pat-direct", "Wren", "Ashdown"))
        assert _names("is Wren Kettleby or Wren Ashdown here?", ctx) == [
            ("Wren Ashdown", "Wren Ashdown")]
        other.delete("Patient", "pat-direct")
        assert _names("is Wren Ashdown here?", ctx) == []
        other.update({"resourceType": "Practitioner", "id": "pr-vale", "active": True,
                      "name": [{"family": "Vale", "given": ["Iris"]}]})
        other.update({"resourceType": "Schedule", "id": "sch-vale", "active": True,
                      "actor": [{"reference": "Practitioner/pr-vale"}]})
        assert ("Dr. Iris Vale", "dr vale") in [
            (m.value, m.span.text) for m in find_practitioners("see dr vale", ctx)]
    finally:
        other.close()
    assert names_of(store).rebuilds == 0


def test_the_index_matches_like_the_full_scan() -> None:
    def full_scan(text: str, patients: dict[str, str]) -> list[tuple[str, int, int]]:
        found, seen = [], set()
        for _, name in sorted(patients.items()):
            pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, name.split())) + r"\b",
                                 re.I)
            for hit in pattern.finditer(text):
                if (hit.start(), hit.end()) not in seen:
                    seen.add((hit.start(), hit.end()))
                    found.append((name, hit.start(), hit.end()))
        return sorted(found, key=lambda m: m[1])

    rng = random.Random(7)
    words = ["ana", "Ana", "RUIZ", "O'Brien", "Anne-Marie", "Jr.", "(no", "name)", "José",
             "jose", "İlker", "ilker", "-", "x"]
    for _ in range(2000):
        patients = {f"p{rng.randint(0, 9)}": " ".join(rng.choice(words)
                                                       for _ in range(rng.randint(1, 3)))
                    for _ in range(rng.randint(1, 5))}
        text = "".join(rng.choice(words) + rng.choice([" ", ", ", "'s ", "(", ""])
                       for _ in range(rng.randint(1, 8)))
        index = PatientNameIndex()
        index.put("p99", "Ana Ruiz")
        for pid, name in patients.items():
            index.put(pid, name)
        index.remove("p99")
        got = [(m.value, m.span.start, m.span.end) for m in index.match(text)]
        assert got == full_scan(text, patients), (text, patients)


@pytest.mark.slow
def test_rest_store_searches_by_name_never_every_patient(
        sekmet_url: str, runtime: Any, context: Callable[..., Any]) -> None:
    rng = random.Random()
    rest, other = RestFHIRStore(sekmet_url, retries=0), RestFHIRStore(sekmet_url, retries=0)
    sent: list[str] = []
    rest._client.event_hooks["request"] = [lambda request: sent.append(str(request.url))]
    try:
        ctx = replace(context(), services={**runtime.services, "fhir": rest})
        given, family = _word(rng), _word(rng)
        assert _names(f"see {given} {family}", ctx) == []
        runtime.tools["healthcare.register_patient"].invoke(ctx, {
            "first_name": given, "last_name": family, "birth_date": "1991-04-05"})
        assert _names(f"see {given} {family}", ctx) == [(f"{given} {family}",) * 2]
        # Written by someone else: found on the very next utterance, no TTL to wait for.
        direct_given, direct_family = _word(rng), _word(rng)
        other.create(_patient("x", direct_given, direct_family))
        sent.clear()
        assert _names(f"please see {direct_given} {direct_family} today", ctx) == [
            (f"{direct_given} {direct_family}",) * 2]
        patients = [u for u in sent if "/Patient" in u]
        # One targeted search per pair of adjacent words that could be a name ("please see"
        # and "see <given>" and "<given> <family>" and "<family> today"), each by name.
        assert patients and all("name=" in u and "_count=" in u for u in patients), patients
        assert len(patients) <= 4
        assert names_of(rest).rebuilds == 0
    finally:
        rest.close()
        other.close()


def test_the_local_term_index_follows_every_write(local_store: LocalFHIRStore) -> None:
    ctx = type("Ctx", (), {"services": {"fhir": local_store}})()
    local_store.update({**_patient("p1", "Ana", "Ruiz"), "identifier": [
        {"system": "urn:mrn", "value": "MRN-000001"}],
        "telecom": [{"system": "phone", "value": "(555) 010-0001"}]})
    assert local_store.patients_by_term("name", ["ana\x1fruiz"]) == [("p1", "Ana Ruiz")]
    assert local_store.patients_by_term("birthdate", ["1990-01-02"]) == [("p1", "Ana Ruiz")]
    assert local_store.patients_by_term("identifier", ["MRN-000001"]) == [("p1", "Ana Ruiz")]
    assert local_store.patients_by_term("phone", ["5550100001"]) == [("p1", "Ana Ruiz")]
    local_store.update(_patient("p1", "Ana", "Castillo"))  # renamed, identifier dropped
    assert _names("ana ruiz or ana castillo?", ctx) == [("Ana Castillo", "ana castillo")]
    assert local_store.patients_by_term("identifier", ["MRN-000001"]) == []
    local_store.delete("Patient", "p1")
    assert _names("ana castillo?", ctx) == [] and local_store.patients_by_term(
        "birthdate", ["1990-01-02"]) == []
    assert names_of(local_store).rebuilds == 0


def test_a_store_written_before_the_index_gets_it_on_first_open(tmp_path: Any) -> None:
    import sqlite3

    store = LocalFHIRStore(tmp_path / "old.sqlite")
    store.update(_patient("p1", "Wren", "Kettleby"))
    store.close()
    conn = sqlite3.connect(tmp_path / "old.sqlite")
    conn.execute("DROP TABLE patient_terms")  # as written by the release before the index,
    conn.execute("DROP TABLE _migrations")    # which was also before migrations
    conn.commit()
    conn.close()
    reopened = LocalFHIRStore(tmp_path / "old.sqlite")
    try:
        ctx = type("Ctx", (), {"services": {"fhir": reopened}})()
        assert _names("is wren kettleby in?", ctx) == [("Wren Kettleby", "wren kettleby")]
    finally:
        reopened.close()


def test_the_local_lookup_matches_like_the_full_scan(tmp_path: Any) -> None:
    """The same names as the in-memory index finds (which matches the full scan, above)."""
    rng = random.Random(11)
    words = ["ana", "Ana", "RUIZ", "O'Brien", "Anne-Marie", "Jr.", "José", "jose", "İlker", "x"]
    store = LocalFHIRStore(tmp_path / "many.sqlite")
    try:
        ctx = type("Ctx", (), {"services": {"fhir": store}})()
        index = PatientNameIndex()
        for i in range(60):
            given, family = rng.choice(words), rng.choice(words)
            store.update(_patient(f"p{i:02d}", given, family))
            index.put(f"p{i:02d}", f"{given} {family}")
        for _ in range(200):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 7)))
            got = [(m.value, m.span.start, m.span.end) for m in find_patient_names(text, ctx)]
            assert got == [(m.value, m.span.start, m.span.end) for m in index.match(text)], text
    finally:
        store.close()


def test_indexed_patient_searches_return_what_the_full_filter_returns(tmp_path: Any) -> None:
    from lamworks_healthcare.search import matches

    rng = random.Random(5)
    words = ["Ana", "ana", "Anabel", "Ruiz", "O'Brien", "José", "Lee", "Mary Ann", "de la Cruz"]
    store = LocalFHIRStore(tmp_path / "search.sqlite")
    try:
        everyone = []
        for i in range(80):
            patient = {**_patient(f"p{i:02d}", rng.choice(words), rng.choice(words)),
                       "birthDate": f"19{rng.randint(80, 82)}-01-0{rng.randint(1, 3)}",
                       "identifier": [{"system": "urn:mrn", "value": f"MRN-{i % 7:06d}"}]}
            everyone.append(store.update(patient))
        queries: list[dict[str, Any]] = [
            {"name": "ana"}, {"name": ["ana", "ruiz"]}, {"name": "an,lee"}, {"name": "cruz"},
            {"name": "mary ann"}, {"name": "o'b"}, {"name": "josé"}, {"birthdate": "1981-01-02"},
            {"identifier": "MRN-000003"}, {"identifier": "urn:mrn|MRN-000004"},
            {"name": "ana", "birthdate": "1980-01-01"}, {"name": "zed"}, {"_count": "3"}]
        for params in queries:
            expected = [p["id"] for p in sorted(everyone, key=lambda p: p["id"])
                        if matches(p, params)]
            if "_count" in params:
                expected = expected[:3]
            assert [p["id"] for p in store.search("Patient", params)] == expected, params
        assert store._patient_candidates({"name": "ruiz"}) is not None  # narrowed, not scanned
    finally:
        store.close()
