"""A throwaway PostgreSQL server for tests and benchmarks: ``start_postgres() -> (url, stop)``.

Runs Debian's PostgreSQL 15 binaries (``initdb``, ``pg_ctl``) on a free loopback port, with its
data and Unix socket in a fresh temporary folder, trust authentication for the role
``lamworks``, and durability switched off (``fsync=off``: a test server is thrown away, and this
makes it start in about a second). ``initdb`` refuses to run as root, and CI runs as root: then
the server runs as the ``postgres`` user through ``runuser``, in a folder that user owns (a
pytest ``tmp_path`` is private to root, so the folder is made under the system's temp folder, or
under ``parent`` when given). ``stop()`` stops the server (immediate shutdown) and removes the
folder; it is safe to call twice.

For a benchmark or a replica experiment outside pytest::

    from tests.pgserver import start_postgres
    url, stop = start_postgres()
    try:
        ...  # LAMWORKS_STORES__DATABASE_URL=url lamworks serve ...
    finally:
        stop()

:class:`PostgresUnavailable` says what is missing when the binaries are not installed.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["PostgresUnavailable", "create_database", "find_binaries", "start_postgres"]

_SEARCH = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin",
           "/usr/local/bin", "/usr/bin")
USER = "lamworks"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries (or the ``postgres`` user, when running as root) are
    missing."""


def find_binaries() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (``$LAMWORKS_PG_BIN`` first)."""
    candidates = [os.environ.get("LAMWORKS_PG_BIN", ""), *_SEARCH]
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(str(Path(which).parent))
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise PostgresUnavailable(
        "PostgreSQL's server binaries (initdb, pg_ctl) were not found in "
        f"{', '.join(_SEARCH)} or on PATH: install Debian's postgresql package "
        "(apt-get install postgresql) or set LAMWORKS_PG_BIN to their folder")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_postgres(parent: Path | None = None, *, timeout: float = 30.0
                   ) -> tuple[str, Callable[[], None]]:
    """Start a server; return its URL (database ``postgres``, role ``lamworks``) and ``stop``."""
    binaries = find_binaries()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root, and runuser (util-linux) is missing: "
                                      "initdb refuses to run as root")
        try:
            import pwd

            postgres = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root, and there is no 'postgres' user to run "
                                      "the server as (initdb refuses to run as root)") from None
        prefix = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="lamworks-pg-", dir=parent))
    if as_root:
        os.chown(folder, postgres.pw_uid, postgres.pw_gid)
    data, log = folder / "db", folder / "log"
    port = _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*prefix, *command], capture_output=True, text=True,
                              timeout=timeout, check=False)
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command[:2])} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}{tail}")

    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        try:
            if (data / "postmaster.pid").exists():
                subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m",
                                "immediate", "-w", "stop"], capture_output=True, timeout=timeout,
                               check=False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8",
            "--locale=C", "--no-sync")
        options = (f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w",
            "-t", str(int(timeout)), "start")
    except BaseException:
        stop()
        raise
    atexit.register(stop)  # a benchmark that forgets stop() leaves no server behind
    url = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    try:
        _wait_until_ready(url, timeout)
    except BaseException:
        stop()
        raise
    return url, stop


def _wait_until_ready(url: str, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server and return its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server_url.rsplit("/", 1)[0] + "/" + name
