"""The extractors' name index: current after the plugin's own writes and after direct ones."""

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
    assert names_of(runtime.services["fhir"]).rebuilds == 1


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
    assert names_of(store).rebuilds == 1


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
def test_rest_store_tool_writes_at_once_direct_writes_after_the_ttl(
        sekmet_url: str, runtime: Any, context: Callable[..., Any]) -> None:
    rng = random.Random()
    rest, other = RestFHIRStore(sekmet_url, retries=0), RestFHIRStore(sekmet_url, retries=0)
    try:
        ctx = replace(context(), services={**runtime.services, "fhir": rest})
        given, family = _word(rng), _word(rng)
        assert _names(f"see {given} {family}", ctx) == []
        names = names_of(rest)
        assert names.check_every > 0  # a TTL: no HTTP request per utterance
        runtime.tools["healthcare.register_patient"].invoke(ctx, {
            "first_name": given, "last_name": family, "birth_date": "1991-04-05"})
        assert _names(f"see {given} {family}", ctx) == [(f"{given} {family}",) * 2]

        direct_given, direct_family = _word(rng), _word(rng)
        other.create(_patient("x", direct_given, direct_family))
        names.check_every = 0.0  # the TTL has run out
        assert _names(f"see {direct_given} {direct_family}", ctx) == [
            (f"{direct_given} {direct_family}",) * 2]
        assert names.rebuilds == 1
    finally:
        rest.close()
        other.close()
