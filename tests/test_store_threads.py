"""The runtime's SQLite stores shared by threads of one process (and by processes).

The web app shares one ``Runtime`` across every browser session, so each store is used by many
threads at once. These tests hammer one store object from 8 threads and check that every write
reported as done is there exactly once, that check-and-write operations (session versions,
single-use tokens, journal keys) let exactly one thread win, and that nothing leaks a raw
``sqlite3`` error. The whole-runtime version of this is ``tests/test_concurrency.py``.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lamworks import AuditLog, ConfirmationError, LamworksError, StoreError
from lamworks._sqlite import Database
from lamworks.journal import Journal
from lamworks.planning import DialogState
from lamworks.sessions import ConfirmationStore, RateCounter, SessionStore

THREADS = 8


def _in_threads(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run ``work(i)`` in ``threads`` threads released together; results (or the exception
    each raised) in thread order."""
    start = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test, not swallowed
            results[i] = exc

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    return results


def test_800_audit_appends_from_8_threads_are_800_rows_and_the_chain_verifies(
        tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.db")
    done = threading.Event()
    verdicts: list[str] = []

    def verify_meanwhile() -> None:
        # A reader while others append must never see a "truncated tail" that is only rows
        # committed after its snapshot.
        while not done.is_set():
            result = log.verify()
            if not result.ok:
                verdicts.append(str(result))

    reader = threading.Thread(target=verify_meanwhile)
    reader.start()

    def append_100(i: int) -> list[int]:
        return [log.append(actor=f"user{i}", role="staff", session_id=f"s{i}",
                           event="step.executed", tool="sample.add_note", step_id=f"{i}-{j}",
                           arguments={"n": j}, outcome="executed").seq for j in range(100)]

    results = _in_threads(append_100)
    done.set()
    reader.join()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    seqs = sorted(seq for r in results for seq in r)
    assert seqs == list(range(1, 801))  # 800 reported, each its own row
    rows = list(log.entries())
    assert len(rows) == 800
    assert sorted(r.step_id for r in rows) == sorted(f"{i}-{j}" for i in range(8)
                                                     for j in range(100))
    assert log.verify().ok, log.verify()
    assert verdicts == []
    log.close()


def test_session_saves_with_versions_from_8_threads_lose_nothing(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "runtime.db")
    store.save("shared", "alice", DialogState(), 0)

    def add_25(i: int) -> int:
        conflicts = 0
        for j in range(25):
            while True:
                state, version = store.load("shared", "alice")
                state.offered[f"{i}-{j}"] = True
                try:
                    store.save("shared", "alice", state, version)
                    break
                except LamworksError as exc:  # a stale version: load again, as the UI does
                    assert "changed in another window" in str(exc)
                    conflicts += 1
        return conflicts

    results = _in_threads(add_25)
    assert [r for r in results if isinstance(r, BaseException)] == []
    state, version = store.load("shared", "alice")
    assert version == 1 + 200  # every save that reported success bumped it exactly once
    assert sorted(state.offered) == sorted(f"{i}-{j}" for i in range(8) for j in range(25))
    store.close()


def test_a_new_session_started_by_8_threads_at_once_is_started_once(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "runtime.db")
    for round_ in range(10):
        results = _in_threads(lambda i, r=round_: store.save(  # type: ignore[misc]
            f"new-{r}", "alice", DialogState(offered={"by": i}), 0))
        assert results.count(1) == 1, results
        assert all(isinstance(r, LamworksError) and "started elsewhere" in str(r)
                   for r in results if r != 1)
    store.close()


def test_a_token_redeemed_by_two_threads_at_once_succeeds_once(tmp_path: Path) -> None:
    store = ConfirmationStore(tmp_path / "runtime.db")
    arguments = {"text": "hello"}
    for n in range(40):
        token = store.issue("s", f"step-{n}", "sample.add_note", arguments)
        results = _in_threads(lambda i, t=token, n=n: store.redeem(  # type: ignore[misc]
            t, "s", f"step-{n}", "sample.add_note", arguments), threads=2)
        assert results.count(None) == 1, results
        [refused] = [r for r in results if r is not None]
        assert isinstance(refused, ConfirmationError)
    store.close()


def test_a_journal_key_claimed_by_8_threads_at_once_is_owned_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "runtime.db")
    for n in range(20):
        results = _in_threads(lambda i, n=n: journal.begin(  # type: ignore[misc]
            f"key-{n}", session_id="s", step_id=f"step-{n}", tool="t", arguments_digest="d",
            actor="a"))
        assert results.count(None) == 1, results  # one owner; the others see its entry
        assert all(r is not None and r.key == f"key-{n}" for r in results if r is not None)
    journal.close()


def test_rate_counter_hits_from_8_threads_are_each_counted_once(tmp_path: Path) -> None:
    counter = RateCounter(tmp_path / "runtime.db")
    results = _in_threads(lambda i: [counter.hit("alice") for _ in range(50)])
    assert [r for r in results if isinstance(r, BaseException)] == []
    # Each hit counts itself and the hits committed before it: 1..400, each seen once.
    assert sorted(c for r in results for c in r) == list(range(1, 401))
    counter.close()


def test_connections_are_per_thread_and_closed_with_the_store(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "runtime.db")
    all_open = threading.Barrier(THREADS)

    def own_connection(i: int) -> int:
        conn = store._conn
        assert store._conn is conn  # the same one for the whole thread
        all_open.wait()  # every thread alive and holding its own
        return id(conn)

    assert len(set(_in_threads(own_connection))) == THREADS
    # Those eight threads have ended: the next new thread's connection closes theirs.
    _in_threads(lambda i: store.load("x", "alice"), threads=1)
    assert len(store._db._open) <= 2  # this test's thread (none yet) and the last one
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.load("x", "alice")


def test_a_file_that_stays_busy_is_a_store_error_not_a_raw_sqlite_error(tmp_path: Path) -> None:
    path = tmp_path / "runtime.db"
    db = Database(path, schema="CREATE TABLE t (x INTEGER)", timeout=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock too long
    try:
        with pytest.raises(StoreError, match="busy"), db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(StoreError, match="busy"):
            db.execute("INSERT INTO t VALUES (2)")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with db.transaction() as conn:  # the failed units of work left nothing behind
        conn.execute("INSERT INTO t VALUES (3)")
    assert [row[0] for row in db.fetchall("SELECT x FROM t")] == [3]
    db.close()


CHILD = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from lamworks import AuditLog
    log = AuditLog(Path(sys.argv[1]))
    start = threading.Barrier(4)
    def work(i):
        start.wait()
        for j in range(50):
            log.append(actor=sys.argv[2], role="staff", session_id="s", event="step.executed",
                       step_id=f"{sys.argv[2]}-{i}-{j}")
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    log.close()
    """
)


@pytest.mark.slow
def test_three_processes_of_four_threads_append_600_rows(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    AuditLog(path).close()  # the file exists before the processes race to open it
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(path), f"p{n}"],
                                 stderr=subprocess.PIPE, text=True) for n in range(3)]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    log = AuditLog(path)
    assert len(list(log.entries())) == 600
    assert log.verify().ok
    log.close()
