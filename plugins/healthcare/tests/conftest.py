"""Fixtures: FHIR stores (the local one, and a real sekmet-fhir server on loopback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lamworks_healthcare.store import FHIRStore
from lamworks_healthcare.store_local import LocalFHIRStore
from lamworks_healthcare.store_rest import RestFHIRStore

HERE = Path(__file__).parent
EXAMPLES = HERE / "hl7-examples"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def sekmet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real sekmet-fhir server, started once per session on a free loopback port."""
    folder = tmp_path_factory.mktemp("sekmet")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    sekmet = Path(sys.executable).with_name("sekmet")
    env = {**os.environ, "SEKMET_DB": str(folder / "sekmet.db"),
           # sekmet builds Location headers and paging links from its configured base_url, not
           # from the address it serves on; without this they point at localhost:8090.
           "SEKMET_BASE_URL": base}
    process = subprocess.Popen(
        [str(sekmet), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=folder,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/metadata", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("sekmet-fhir did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["local", pytest.param("sekmet", marks=pytest.mark.slow)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FHIRStore]:
    """Each contract test runs against LocalFHIRStore and against the real server."""
    if request.param == "local":
        local = LocalFHIRStore(tmp_path / "fhir.sqlite")
        yield local
        local.close()
    else:
        rest = RestFHIRStore(request.getfixturevalue("sekmet_url"), retries=0)
        yield rest
        rest.close()


@pytest.fixture
def local_store(tmp_path: Path) -> Iterator[LocalFHIRStore]:
    store = LocalFHIRStore(tmp_path / "fhir.sqlite")
    yield store
    store.close()


CLINIC_CONFIG = """
data_dir = "data"
# The lexical planner: these tests are about the plugin, not about planning.
planner = "keyword"

[institution]
name = "Test Clinic"
timezone = "America/Chicago"

[plugins]
allow = ["healthcare"]

[plugins.healthcare]
fhir_version = "R4B"

[roles.frontdesk]
scopes = ["user/Patient.crus", "user/Appointment.cruds", "user/Slot.rus", "user/Schedule.rs",
          "user/Practitioner.rs", "user/Coverage.rs", "user/ServiceRequest.rs",
          "user/Communication.cr"]
confirm = ["write", "irreversible"]

[roles.clinician]
scopes = ["user/Patient.rs", "user/Appointment.rus", "user/Slot.rs", "user/Schedule.rs",
          "user/Practitioner.rs", "user/ServiceRequest.crus", "user/Coverage.rs"]

[roles.patient]
scopes = ["patient/Patient.rs", "patient/Appointment.cruds", "patient/Slot.rs",
          "patient/Practitioner.rs", "patient/Coverage.rs"]
confirm = ["write", "irreversible"]

[roles.admin]
scopes = ["system/*.cruds"]
confirm = ["write", "irreversible"]

[users.frontdesk]
role = "frontdesk"

[users.clinician]
role = "clinician"

[users.patient]
role = "patient"
links = { patient = "Patient/pat-0001" }

[users.admin]
role = "admin"
"""


@pytest.fixture(scope="session")
def clinic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo clinic loaded once into a SQLite file; each test gets a copy."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from lamworks_healthcare.clinic import load_demo_clinic

    path = tmp_path_factory.mktemp("clinic") / "fhir.sqlite"
    store = LocalFHIRStore(path)
    load_demo_clinic(store, datetime.now(ZoneInfo("America/Chicago")).date())
    store.close()
    return path


@pytest.fixture
def runtime(tmp_path: Path, clinic_db: Path) -> Iterator[Any]:
    """A real Runtime on the healthcare plugin (installed entry point) and the demo clinic."""
    import shutil

    from lamworks import Runtime, load_config

    config_path = tmp_path / "lamworks.toml"
    config_path.write_text(CLINIC_CONFIG, encoding="utf-8")
    (tmp_path / "data").mkdir()
    shutil.copy(clinic_db, tmp_path / "data" / "fhir.sqlite")
    rt = Runtime(load_config(config_path))
    assert "healthcare.book_appointment" in rt.tools, rt.startup_report
    yield rt
    rt.services["fhir"].close()
    rt.close()


@pytest.fixture
def context(runtime: Any) -> Callable[..., Any]:
    """``context("frontdesk")``: the ActionContext a healthcare tool gets for that user."""
    from dataclasses import replace

    def make(user: str = "frontdesk", key: str = "") -> Any:
        base = runtime.action_context("t-session", user)
        return replace(base, settings=runtime.plugins.settings.get("healthcare"),
                       idempotency_key=key or uuid.uuid4().hex, step_id="t-step")

    return make
