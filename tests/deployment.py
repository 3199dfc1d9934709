"""A lamworks deployment on loopback, as a clinic group would run one, for the replica test and
``bench/load.py``.

Every part is a real server started here and stopped by :meth:`Deployment.close`:

- PostgreSQL 15 (:mod:`tests.pgserver`) for the runtime's stores, when ``database="postgresql"``;
  with ``"sqlite"`` the replicas share the SQLite files of one data folder instead;
- ``chroma run`` for the knowledge base, when ``chroma=True``;
- ``sekmet serve`` (a FHIR R4 REST server) holding the demo clinic, when ``fhir=True``; without
  it the healthcare plugin's local store in the shared data folder;
- ``lamworks serve`` replicas (:meth:`Deployment.start_replica`), each its own process with its
  own model, answering on its own port, all on the same configuration.

The configuration is the example institution (``examples/lamworks.toml``) with environment
overrides only, as ``docs/deploy.md`` describes: ``LAMWORKS_DATA_DIR``,
``LAMWORKS_STORES__DATABASE_URL``, ``LAMWORKS_KNOWLEDGE__CHROMA_URL``,
``LAMWORKS_PLUGINS__HEALTHCARE__FHIR_URL``, ``LAMWORKS_AUTH__MODE=accounts`` (callers present API
tokens, made by :meth:`Deployment.token`), and the front desk's rate limit lifted (a load test
is one desk sending hundreds of requests a minute).

The demo clinic is generated for the institution's today, because the servers run on the real
clock.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.pgserver import create_database, start_postgres

__all__ = ["Deployment", "Replica", "free_port"]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "lamworks.toml"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str,
                log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except (httpx.TransportError, OSError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{what} did not start (exit {process.poll()}):\n{tail}")
        time.sleep(0.25)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Replica:
    """One ``lamworks serve`` process."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def rss_mib(self) -> float:
        """Resident memory of the process (VmRSS), in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@dataclass
class Deployment:
    """The servers of one deployment; see the module docstring."""

    folder: Path
    database: str = "sqlite"
    chroma: bool = False
    fhir: bool = False
    env: dict[str, str] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)
    _stops: list[Callable[[], None]] = field(default_factory=list)
    _tokens: dict[str, str] = field(default_factory=dict)

    # -- starting ------------------------------------------------------------------------------

    @classmethod
    def start(cls, folder: Path | None = None, *, database: str = "sqlite", chroma: bool = False,
              fhir: bool = False) -> Deployment:
        """Start the shared servers and load the demo clinic; no replica yet."""
        if database not in ("sqlite", "postgresql"):
            raise ValueError(f"database must be 'sqlite' or 'postgresql', not {database!r}")
        folder = Path(folder or tempfile.mkdtemp(prefix="lamworks-deploy-"))
        folder.mkdir(parents=True, exist_ok=True)
        deployment = cls(folder=folder, database=database, chroma=chroma, fhir=fhir)
        try:
            deployment._start_shared()
        except BaseException:
            deployment.close()
            raise
        return deployment

    def _start_shared(self) -> None:
        data = self.folder / "data"
        data.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
            "LAMWORKS_CONFIG": str(CONFIG),
            "LAMWORKS_DATA_DIR": str(data),
            "LAMWORKS_AUTH__MODE": "accounts",
            "LAMWORKS_ROLES__FRONTDESK__RATE_LIMIT_PER_MINUTE": "1000000",
        }
        if self.database == "postgresql":
            url, stop = start_postgres()  # in a folder the postgres user may enter
            self._stops.append(stop)
            self.env["LAMWORKS_STORES__DATABASE_URL"] = create_database(url, "lamworks")
        if self.chroma:
            self.env["LAMWORKS_KNOWLEDGE__CHROMA_URL"] = self._start_chroma()
        if self.fhir:
            self.env["LAMWORKS_PLUGINS__HEALTHCARE__FHIR_URL"] = self._start_sekmet()
        self._load_clinic()

    def _start_chroma(self) -> str:
        port = free_port()
        log = self.folder / "chroma.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "chroma"), "run", "--path", str(self.folder / "chroma"), "--host",
                 "127.0.0.1", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                env=self.env)
        self._stops.append(lambda: _stop(process))
        url = f"http://127.0.0.1:{port}"
        _wait_until(lambda: httpx.get(f"{url}/api/v2/heartbeat", timeout=1).is_success,
                    process, "chroma run", log, 60)
        return url

    def _start_sekmet(self) -> str:
        port = free_port()
        base = f"http://127.0.0.1:{port}/fhir"
        log = self.folder / "sekmet.log"
        (self.folder / "sekmet").mkdir(exist_ok=True)
        # sekmet builds Location headers from its configured base URL, not its address.
        env = {**self.env, "SEKMET_DB": str(self.folder / "sekmet" / "sekmet.db"),
               "SEKMET_BASE_URL": base}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "sekmet"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=self.folder / "sekmet", env=env, stdout=out, stderr=subprocess.STDOUT)
        self._stops.append(lambda: _stop(process))
        _wait_until(lambda: httpx.get(f"{base}/metadata", timeout=1).status_code == 200,
                    process, "sekmet serve", log, 60)
        return base

    def config(self) -> Any:
        """The deployment's configuration, as each replica reads it (file + environment)."""
        from lamworks import load_config

        saved = dict(os.environ)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("LAMWORKS_")})
        try:
            return load_config(CONFIG)
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.config().institution.timezone)).date()

    def fhir_store(self) -> Any:
        """The healthcare plugin's store (the REST server or the shared local one); close it."""
        from lamworks_healthcare import HealthcareSettings
        from lamworks_healthcare.store import open_store

        config = self.config()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        return open_store(HealthcareSettings(**config.plugins.settings_for("healthcare")),
                          config.data_dir)

    def _load_clinic(self) -> None:
        from lamworks_healthcare.clinic import load_demo_clinic

        store = self.fhir_store()
        try:
            load_demo_clinic(store, self.today(), timezone=self.config().institution.timezone)
        finally:
            store.close()

    def token(self, user: str) -> str:
        """An API token for the demo user ``user`` (an account is made for it on first use)."""
        if user not in self._tokens:
            from lamworks import AccountStore

            accounts = AccountStore(self.config())
            try:
                if user not in {account.username for account in accounts.list()}:
                    accounts.add(user)  # the role [users.NAME] declares
                self._tokens[user] = accounts.issue_token(user, label="deployment test")
            finally:
                accounts.close()
        return self._tokens[user]

    def lamworks(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run the ``lamworks`` command against this deployment."""
        return subprocess.run([str(BIN / "lamworks"), *args], env=self.env, text=True,
                              capture_output=True, timeout=timeout, check=False)

    def start_replica(self, name: str | None = None, *, wait: bool = True) -> Replica:
        """Start one more ``lamworks serve`` on a free loopback port."""
        name = name or f"replica-{len(self.replicas) + 1}"
        port = free_port()
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "lamworks"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        replica = Replica(name=name, url=f"http://127.0.0.1:{port}", process=process, log=log)
        self.replicas.append(replica)
        if wait:
            self.wait_ready(replica)
        return replica

    def wait_ready(self, replica: Replica, timeout: float = 180) -> None:
        _wait_until(lambda: httpx.get(f"{replica.url}/readyz", timeout=2).status_code == 200,
                    replica.process, f"lamworks serve ({replica.name})", replica.log, timeout)

    def stop_replica(self, replica: Replica) -> None:
        _stop(replica.process)
        self.replicas.remove(replica)

    def close(self) -> None:
        for replica in list(self.replicas):
            _stop(replica.process)
        self.replicas.clear()
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:  # noqa: BLE001 - stop the rest whatever one does
                pass
        self._stops.clear()
