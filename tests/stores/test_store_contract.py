"""The store contract, on both backends: what the journal, sessions, confirmations, rate counter,
accounts and audit log promise, checked against a SQLite file and a real PostgreSQL database.

Each test takes ``location`` (``conftest.py``), so it runs once per backend with the same
assertions: exactly-once journal keys under 8 threads and under 2 processes (replicas), a
session's optimistic versions, a confirmation redeemed by exactly one of 8 threads, a rate count
that sees every hit once, accounts with tokens, the append-only audit table, and 4 processes x 25
appends making one chain that verifies, with its signed checkpoints, and no row lost or doubled.
The SQLite-only stress tests stay in ``tests/test_store_threads.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from lamworks import AuditLog, ConfirmationError, LamworksError, SignInError
from lamworks.accounts import AccountStore
from lamworks.audit_signing import CheckpointSigner, load_private_key, verify_checkpoints
from lamworks.config import load_config
from lamworks.database import ConstraintError, open_database
from lamworks.journal import Journal
from lamworks.plan import Plan, Step, Turn
from lamworks.planning import DialogState
from lamworks.sessions import ConfirmationStore, RateCounter, SessionStore

THREADS = 8
SEED = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # a test key: 32 zero bytes


def _in_threads(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """``work(i)`` in ``threads`` threads released together; results or exceptions in order."""
    start = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    return results


def _processes(script: str, location: Path | str, tmp_path: Path, count: int) -> list[Any]:
    """Run ``script`` in ``count`` Python processes (``LOCATION``, ``WORKER`` and ``GO`` set),
    released together by a file; each prints one JSON value, returned in worker order."""
    go = tmp_path / "go"
    prelude = textwrap.dedent(f"""
        import json, sys, time
        from pathlib import Path
        LOCATION = {str(location)!r}
        if "://" not in LOCATION:
            LOCATION = Path(LOCATION)
        WORKER = int(sys.argv[1])
        GO = Path({str(go)!r})
        while not GO.exists():
            time.sleep(0.01)
    """)
    code = prelude + textwrap.dedent(script)
    workers = [subprocess.Popen([sys.executable, "-c", code, str(i)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for i in range(count)]
    go.touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


# -- journal -----------------------------------------------------------------------------------

def _begin(journal: Journal, key: str, actor: str = "alice") -> Any:
    return journal.begin(key, session_id="s", step_id=key, tool="sample.add_note", actor=actor,
                         arguments_digest="d")


def test_a_journal_key_is_owned_by_exactly_one_of_8_threads_on_two_replicas(
        location: Path | str) -> None:
    replicas = [Journal(location), Journal(location)]  # two processes' objects, one database
    results = _in_threads(lambda i: _begin(replicas[i % 2], "k-1", actor=f"t{i}"))
    assert [r for r in results if isinstance(r, BaseException)] == []
    owners = [i for i, r in enumerate(results) if r is None]
    assert len(owners) == 1
    # Every other thread was handed the one row, written by the owner.
    assert {r.actor for r in results if r is not None} == {f"t{owners[0]}"}
    replicas[0].complete("k-1", {"summary": "done"})
    entry = replicas[1].get("k-1")
    assert entry is not None and entry.status == "done" and entry.result == {"summary": "done"}
    assert _begin(replicas[1], "k-1") is not None  # never runs again
    for journal in replicas:
        journal.close()


def test_two_processes_beginning_the_same_50_keys_each_key_runs_once(
        location: Path | str, tmp_path: Path) -> None:
    Journal(location).close()  # the schema exists before the race (as after any start-up)
    owned = _processes("""
        from lamworks.journal import Journal
        journal = Journal(LOCATION)
        mine = [k for k in (f"key-{n}" for n in range(50))
                if journal.begin(k, session_id="s", step_id=k, tool="t", actor=f"p{WORKER}",
                                 arguments_digest="d") is None]
        journal.close()
        print(json.dumps(mine))
    """, location, tmp_path, 2)
    assert sorted(owned[0] + owned[1]) == sorted(f"key-{n}" for n in range(50))
    assert set(owned[0]).isdisjoint(owned[1])
    journal = Journal(location)
    entries = [journal.get(f"key-{n}") for n in range(50)]
    assert all(e is not None and e.actor == ("p0" if e.key in owned[0] else "p1")
               for e in entries)
    journal.close()


def test_the_reconciliation_lock_is_held_by_one_replica_at_a_time(location: Path | str) -> None:
    replicas = [Journal(location), Journal(location)]
    inside = 0
    most = 0
    guard = threading.Lock()

    def reconcile(i: int) -> None:
        nonlocal inside, most
        with replicas[i % 2].reconciling():
            with guard:
                inside += 1
                most = max(most, inside)
            replicas[i % 2].pending()  # real work on the store while holding the lock
            with guard:
                inside -= 1

    assert [r for r in _in_threads(reconcile, 4) if isinstance(r, BaseException)] == []
    assert most == 1
    for journal in replicas:
        journal.close()


# -- sessions, confirmations, rate counter -------------------------------------------------------

def test_a_session_round_trips_and_a_stale_writer_is_refused(location: Path | str) -> None:
    store = SessionStore(location)
    assert store.load("s1", "alice") == (DialogState(), 0)
    assert store.owner("s1") is None
    state = DialogState(history=[{"role": "user", "text": "book a visit"}])
    assert store.save("s1", "alice", state, 0) == 1
    assert store.load("s1", "alice") == (state, 1)
    assert store.owner("s1") == "alice"
    with pytest.raises(LamworksError, match="another user"):
        store.load("s1", "bob")
    with pytest.raises(LamworksError, match="started elsewhere"):
        store.save("s1", "alice", state, 0)
    results = _in_threads(lambda i: store.save("s1", "alice", state, 1))
    assert sum(1 for r in results if r == 2) == 1  # one writer wins version 2
    assert all(isinstance(r, LamworksError) for r in results if r != 2)
    store.close()


def test_a_confirmation_is_redeemed_by_exactly_one_of_8_threads(location: Path | str) -> None:
    store = ConfirmationStore(location)
    token = store.issue("s", "step", "tool.x", {"a": 1}, change="c1")
    results = _in_threads(lambda i: store.redeem(token, "s", "step", "tool.x", {"a": 1},
                                                 change="c1"))
    assert results.count(None) == 1
    assert all(isinstance(r, ConfirmationError) for r in results if r is not None)
    changed = store.issue("s", "step2", "tool.x", {"a": 1})
    with pytest.raises(ConfirmationError, match="changed"):
        store.redeem(changed, "s", "step2", "tool.x", {"a": 2})
    with pytest.raises(ConfirmationError, match="already cancelled"):
        store.redeem(changed, "s", "step2", "tool.x", {"a": 1})
    store.close()


def test_rate_counter_hits_from_8_threads_are_each_counted_once(location: Path | str) -> None:
    counter = RateCounter(location)
    results = _in_threads(lambda i: [counter.hit("alice") for _ in range(20)])
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(c for r in results for c in r) == list(range(1, THREADS * 20 + 1))
    assert counter.hit("bob") == 1  # per user
    counter.close()


# -- transcripts: conversations listed and drawn again ---------------------------------------------

def _turn(session: str, user: str, utterance: str, *, token: str | None = None) -> Turn:
    """A turn as the runtime returns it; with ``token``, a step waiting for confirmation."""
    if token is None:
        return Turn(session_id=session, turn_id=f"t-{utterance}", user=user,
                    utterance=utterance, answer=f"answered {utterance}")
    step = Step(id="s-1", tool="tool.x", arguments={"text": utterance},
                status="awaiting_confirmation", confirmation_token=token)
    return Turn(session_id=session, turn_id=f"t-{utterance}", user=user, utterance=utterance,
                plan=Plan(steps=[step]), awaiting_confirmation=step, answer="waiting")


def test_a_transcript_round_trips_without_tokens_and_only_for_its_owner(
        location: Path | str) -> None:
    store = SessionStore(location)
    store.save("c1", "alice", DialogState(), 0)  # the runtime saved the dialog first
    first = _turn("c1", "alice", "jot down the parcel code", token="secret-token")
    assert store.record_turn("c1", "alice", first) == 1
    assert store.record_turn("c1", "alice", _turn("c1", "alice", "[confirm tool.x]")) == 2
    shown = store.transcript("c1", "alice")
    assert [t.utterance for t in shown] == ["jot down the parcel code", "[confirm tool.x]"]
    assert shown[0].steps[0].arguments == {"text": "jot down the parcel code"}
    assert shown[0].steps[0].status == "awaiting_confirmation"
    assert shown[0].awaiting_confirmation is not None
    assert shown[0].steps[0].confirmation_token is None
    assert shown[0].awaiting_confirmation.confirmation_token is None
    assert shown[0].model_copy(update={"plan": first.plan, "awaiting_confirmation":
                                       first.awaiting_confirmation}) == first
    if isinstance(location, Path):  # nothing of the token anywhere in the file
        assert b"secret-token" not in location.read_bytes()
    # Another user can neither read nor write it; their own list does not show it.
    assert store.transcript("c1", "bob") == []
    with pytest.raises(LamworksError, match="another user"):
        store.record_turn("c1", "bob", _turn("c1", "bob", "sneak a line in"))
    assert store.conversations("bob") == []
    assert len(store.transcript("c1", "alice")) == 2
    # A transcript without a session row is owned by whoever wrote it first.
    store.record_turn("c2", "bob", _turn("c2", "bob", "first words of bob"))
    with pytest.raises(LamworksError, match="another user"):
        store.record_turn("c2", "alice", _turn("c2", "alice", "alice tries too"))
    store.close()


def test_conversations_are_listed_newest_first_and_old_ones_are_deleted(
        location: Path | str) -> None:
    store = SessionStore(location)
    day = 86_400.0
    store.record_turn("old", "alice", _turn("old", "alice", "[sample.tool]"), now=1_000.0)
    store.record_turn("old", "alice", _turn("old", "alice", "what the oldest chat asked"),
                      now=1_000.0 + 60)
    store.record_turn("mid", "alice", _turn("mid", "alice", "the middle chat"), now=4 * day)
    store.record_turn("new", "alice", _turn("new", "alice", "the newest chat"), now=9 * day)
    store.record_turn("mid", "alice", _turn("mid", "alice", "more in the middle"),
                      now=10 * day)
    store.record_turn("bobs", "bob", _turn("bobs", "bob", "bob has his own"), now=10 * day)
    listed = store.conversations("alice")
    assert [(c.id, c.title, c.turns) for c in listed] == [
        ("mid", "the middle chat", 2), ("new", "the newest chat", 1),
        ("old", "what the oldest chat asked", 2)]  # the title skips a bracketed tool call
    assert (listed[0].started, listed[0].updated) == (4 * day, 10 * day)
    assert [c.id for c in store.conversations("alice", since=8 * day)] == ["mid", "new"]
    assert [c.id for c in store.conversations("alice", limit=1)] == ["mid"]
    assert [t.utterance for t in store.transcript("mid", "alice", since=8 * day)] == [
        "more in the middle"]
    # Retention: recording with a period of 7 days at day 12 deletes every user's older rows.
    store.record_turn("new", "alice", _turn("new", "alice", "and again"), now=12 * day,
                      keep_seconds=7 * day)
    assert [(c.id, c.turns) for c in store.conversations("alice")] == [("new", 2), ("mid", 1)]
    assert store.transcript("old", "alice") == []
    assert [c.id for c in store.conversations("bob")] == ["bobs"]
    store.close()


def test_8_threads_on_two_replicas_recording_one_conversation_lose_no_turn(
        location: Path | str) -> None:
    replicas = [SessionStore(location), SessionStore(location)]
    results = _in_threads(lambda i: replicas[i % 2].record_turn(
        "shared", "alice", _turn("shared", "alice", f"line {i}")))
    assert sorted(results) == list(range(1, THREADS + 1))
    shown = replicas[0].transcript("shared", "alice")
    assert sorted(t.utterance for t in shown) == sorted(f"line {i}" for i in range(THREADS))
    for store in replicas:
        store.close()


# -- accounts ------------------------------------------------------------------------------------

def test_accounts_tokens_and_web_sessions(location: Path | str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lamworks.toml"
    path.write_text(textwrap.dedent("""
        data_dir = "data"
        [institution]
        name = "Test Institute"
        [plugins]
        allow = []
        [roles.staff]
        scopes = ["user/*.cruds"]
        [auth]
        mode = "accounts"
        max_failed_logins = 3
    """), encoding="utf-8")
    if isinstance(location, str):
        monkeypatch.setenv("LAMWORKS_STORES__DATABASE_URL", location)
    config = load_config(path)
    if isinstance(location, str):
        assert config.database_location == location
    store = AccountStore(config, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                       parallelism=1))
    store.add("dana", role="staff", password="correct horse battery")
    with pytest.raises(LamworksError, match="already exists"):
        store.add("dana", role="staff")
    assert store.authenticate("dana", "correct horse battery").role == "staff"
    failures = _in_threads(lambda i: store.authenticate("dana", "wrong password!!"), 4)
    assert all(isinstance(f, SignInError) for f in failures)
    assert store.failed_count("dana") >= 3  # every concurrent failure counted, then locked
    with pytest.raises(SignInError, match="locked"):
        store.authenticate("dana", "correct horse battery")
    store.enable("dana")
    token = store.issue_token("dana", "script")
    assert store.identity_for_token(token).username == "dana"
    [info] = store.tokens("dana")
    assert store.revoke_token("dana", info.id[:10]) == 1  # by an id prefix
    with pytest.raises(SignInError, match="not valid"):
        store.identity_for_token(token)
    secret = store.start_session("dana")
    assert store.session_identity(secret).username == "dana"
    store.disable("dana")
    with pytest.raises(SignInError):
        store.session_identity(secret)
    assert [a.username for a in store.list()] == ["dana"]
    store.close()


# -- audit ---------------------------------------------------------------------------------------

def test_the_audit_table_refuses_updates_and_deletes(location: Path | str) -> None:
    log = AuditLog(location)
    log.append(actor="alice", role="staff", session_id="s", event="e")
    db = open_database(location, what="test")
    try:
        with pytest.raises(ConstraintError, match="append-only"):
            db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 1")
        with pytest.raises(ConstraintError, match="append-only"):
            db.execute("DELETE FROM audit WHERE seq = 1")
    finally:
        db.close()
    assert log.verify().ok
    log.close()


def test_4_processes_appending_25_rows_each_make_one_signed_chain_that_verifies(
        location: Path | str, tmp_path: Path) -> None:
    AuditLog(location).close()
    written = _processes(f"""
        from lamworks import AuditLog
        from lamworks.audit_signing import CheckpointSigner, load_private_key
        signer = CheckpointSigner(load_private_key({SEED!r}), every=10)
        log = AuditLog(LOCATION, signer=signer)
        seqs = [log.append(actor=f"p{{WORKER}}", role="staff", session_id=f"s{{WORKER}}",
                           event="step.executed", detail={{"worker": WORKER, "n": n}}).seq
                for n in range(25)]
        log.close()
        print(json.dumps(seqs))
    """, location, tmp_path, 4)
    log = AuditLog(location)
    entries = list(log.entries())
    assert [e.seq for e in entries] == list(range(1, 101))
    assert sorted(s for seqs in written for s in seqs) == list(range(1, 101))
    assert sorted((e.detail["worker"], e.detail["n"]) for e in entries) == sorted(
        (w, n) for w in range(4) for n in range(25))  # none lost, none doubled
    assert str(log.verify()) == "OK: 100 rows, chain intact"
    signer = CheckpointSigner(load_private_key(SEED), every=10)
    report = verify_checkpoints(log, signer.public_key)
    assert report.ok, str(report)
    assert report.latest is not None and report.latest.seq == 100
    log.close()
