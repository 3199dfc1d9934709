"""RestFHIRStore against misbehaving servers (httpx.MockTransport fakes) and a dead port."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx
import pytest

from lamworks_healthcare.errors import (
    InvalidResource,
    ResourceNotFound,
    ServerError,
    VersionConflict,
)
from lamworks_healthcare.store import BundleEntry
from lamworks_healthcare.store_rest import RestFHIRStore

PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Ruiz"}]}
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{
    "severity": "error", "code": "invalid", "expression": ["Patient.birthDate"],
    "diagnostics": "birthDate 1984-03-12 of Ana Ruiz is wrong"}]}


def _fake(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[RestFHIRStore,
                                                                         list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return RestFHIRStore("http://fhir.test/fhir", transport=httpx.MockTransport(record),
                         backoff=0), seen


def test_malformed_json_is_a_clear_server_error() -> None:
    store, _ = _fake(lambda r: httpx.Response(200, content=b"{not json"))
    with pytest.raises(ServerError, match="not valid JSON"):
        store.read("Patient", "p1")


def test_operation_outcome_becomes_a_phi_free_error() -> None:
    store, _ = _fake(lambda r: httpx.Response(400, json=OUTCOME))
    with pytest.raises(InvalidResource) as caught:
        store.update(PATIENT)
    assert "Patient.birthDate" in str(caught.value) and "invalid" in str(caught.value)
    assert "Ana" not in str(caught.value) and "1984" not in str(caught.value)
    assert "Ana Ruiz" in caught.value.diagnostics


def test_status_codes_map_to_errors() -> None:
    store, _ = _fake(lambda r: httpx.Response(404, json=OUTCOME))
    with pytest.raises(ResourceNotFound):
        store.read("Patient", "nope")
    store, _ = _fake(lambda r: httpx.Response(412, json={"resourceType": "OperationOutcome",
                                                         "issue": [{"code": "conflict"}]}))
    with pytest.raises(VersionConflict):
        store.update(PATIENT, if_match="3")


def test_if_match_and_if_none_exist_headers_are_sent() -> None:
    store, seen = _fake(lambda r: httpx.Response(200, json={**PATIENT, "meta": {
        "versionId": "4"}}))
    store.update(PATIENT, if_match="3")
    store.create(PATIENT, if_none_exist="identifier=urn:x|1")
    assert seen[0].headers["If-Match"] == 'W/"3"' and seen[0].method == "PUT"
    assert seen[1].headers["If-None-Exist"] == "identifier=urn:x|1"
    assert "id" not in json.loads(seen[1].content)


def test_idempotent_reads_are_retried_posts_are_not() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json=PATIENT)])
    store, seen = _fake(lambda r: next(answers))
    assert store.read("Patient", "p1")["id"] == "p1"
    assert len(seen) == 2

    store, seen = _fake(lambda r: httpx.Response(503))
    with pytest.raises(ServerError):
        store.transaction([BundleEntry("PUT", "Patient/p1", PATIENT)])
    assert len(seen) == 1


def test_timeouts_are_retried_then_reported() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    store, seen = _fake(slow)
    with pytest.raises(ServerError, match="did not answer in time"):
        store.search("Patient", {"name": "x"})
    assert len(seen) == 3


def test_server_down_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RestFHIRStore(f"http://127.0.0.1:{port}/fhir", retries=1, backoff=0, timeout=2)
    with pytest.raises(ServerError, match="not reachable"):
        store.read("Patient", "p1")
    with pytest.raises(ServerError, match="not reachable"):
        store.create(PATIENT)


def test_invalid_resource_never_reaches_the_server() -> None:
    store, seen = _fake(lambda r: httpx.Response(201, json=PATIENT))
    with pytest.raises(InvalidResource):
        store.create({**PATIENT, "gender": "bogus"})
    assert seen == []
