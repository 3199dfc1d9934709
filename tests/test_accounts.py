"""Local accounts, API tokens and web sessions: real SQLite files, real Argon2id, no fakes.

Most tests hash with cheap Argon2id parameters (the same algorithm, a fraction of the memory) so
that the suite stays quick on two cores; one test checks the production parameters.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from lamworks import AccountStore, LamworksError, Runtime, SignInError, load_config
from lamworks.accounts import MIN_PASSWORD_LENGTH, UserRoles, hash_secret, is_loopback

PASSWORD = "correct horse battery staple"
AUTH = """
[auth]
mode = "accounts"
session_minutes = 30
max_failed_logins = 3
lockout_minutes = 10

[users.alice]
role = "staff"
display_name = "Alice A."
links = { patient = "Patient/pat-1" }
"""


class Clock:
    """A clock the test moves by hand (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "lamworks.toml"
    path.write_text("""
data_dir = "data"
planner = "keyword"

[institution]
name = "Test Institute"

[plugins]
allow = []

[roles.staff]
scopes = ["user/*.cruds"]

[roles.reader]
scopes = ["user/Note.rs"]
""" + AUTH, encoding="utf-8")
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(config_path: Path, clock: Clock) -> Iterator[AccountStore]:
    accounts = AccountStore(load_config(config_path), clock=clock, hasher=cheap_hasher())
    yield accounts
    accounts.close()


def raw_rows(store: AccountStore, table: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(store.config.database_path)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(f"SELECT * FROM {table}"))
    finally:
        conn.close()


def test_passwords_are_hashed_with_argon2id_at_the_default_parameters(
        config_path: Path) -> None:
    accounts = AccountStore(load_config(config_path))  # the production hasher
    try:
        accounts.add("dana", role="reader", password=PASSWORD)
        [row] = raw_rows(accounts, "accounts")
        assert row["password_hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert PASSWORD not in row["password_hash"]
        assert accounts.authenticate("dana", PASSWORD).role == "reader"
    finally:
        accounts.close()


def test_sign_in_gives_the_identity_with_the_file_winning_for_links(
        store: AccountStore) -> None:
    store.add("alice", password=PASSWORD, display_name="ignored",
              links={"patient": "Patient/other", "badge": "B-7"})
    who = store.authenticate("alice", PASSWORD)
    assert (who.username, who.role, who.source) == ("alice", "staff", "local")
    assert who.display_name == "Alice A."
    assert who.links == {"patient": "Patient/pat-1", "badge": "B-7"}


def test_an_account_without_a_users_table_carries_its_own_role(store: AccountStore) -> None:
    store.add("dana", role="reader", password=PASSWORD, display_name="Dana D.")
    who = store.authenticate("dana", PASSWORD)
    assert (who.role, who.label) == ("reader", "Dana D.")


def test_roles_are_checked(store: AccountStore) -> None:
    with pytest.raises(LamworksError, match="No role named 'admin'"):
        store.add("dana", role="admin", password=PASSWORD)
    with pytest.raises(LamworksError, match="give a role"):
        store.add("dana", password=PASSWORD)
    with pytest.raises(LamworksError, match="change the role there"):
        store.add("alice", role="reader", password=PASSWORD)


def test_short_passwords_and_bad_names_are_refused(store: AccountStore) -> None:
    with pytest.raises(LamworksError, match=f"at least {MIN_PASSWORD_LENGTH} characters"):
        store.add("dana", role="reader", password="short")
    with pytest.raises(LamworksError, match="not a username"):
        store.add("dana smith", role="reader", password=PASSWORD)
    store.add("dana", role="reader", password=PASSWORD)
    with pytest.raises(LamworksError, match="already exists"):
        store.add("dana", role="reader", password=PASSWORD)


def test_wrong_password_and_unknown_user_get_the_same_message(store: AccountStore) -> None:
    store.add("dana", role="reader", password=PASSWORD)
    with pytest.raises(SignInError) as wrong:
        store.authenticate("dana", "not the password at all")
    with pytest.raises(SignInError) as unknown:
        store.authenticate("nobody", "not the password at all")
    with pytest.raises(SignInError) as token_only:
        store.add("svc", role="reader")
        store.authenticate("svc", "")
    assert str(wrong.value) == str(unknown.value) == str(token_only.value) \
        == "Wrong username or password."


def test_lock_out_after_failures_in_a_row_and_its_expiry(store: AccountStore,
                                                         clock: Clock) -> None:
    store.add("dana", role="reader", password=PASSWORD)
    for _ in range(2):
        with pytest.raises(SignInError, match="^Wrong username or password.$"):
            store.authenticate("dana", "wrong password!!")
    with pytest.raises(SignInError, match="locked"):
        store.authenticate("dana", "wrong password!!")  # the third: locked now
    with pytest.raises(SignInError, match="locked after too many failed sign-ins"):
        store.authenticate("dana", PASSWORD)  # even the right password
    clock.advance(9)
    with pytest.raises(SignInError, match="locked"):
        store.authenticate("dana", PASSWORD)
    clock.advance(2)
    assert store.authenticate("dana", PASSWORD).username == "dana"
    assert store.failed_count("dana") == 0


def test_a_success_resets_the_count_and_failures_after_expiry_start_again(
        store: AccountStore, clock: Clock) -> None:
    store.add("dana", role="reader", password=PASSWORD)
    for _ in range(2):
        with pytest.raises(SignInError):
            store.authenticate("dana", "wrong password!!")
    store.authenticate("dana", PASSWORD)
    with pytest.raises(SignInError, match="^Wrong username or password.$"):
        store.authenticate("dana", "wrong password!!")
    assert store.failed_count("dana") == 1
    for _ in range(2):
        with pytest.raises(SignInError):
            store.authenticate("dana", "wrong password!!")
    clock.advance(11)  # the lock has passed: a new failure counts from one, not locked
    with pytest.raises(SignInError, match="^Wrong username or password.$"):
        store.authenticate("dana", "wrong password!!")
    assert store.failed_count("dana") == 1


def test_concurrent_failed_sign_ins_all_count(config_path: Path, clock: Clock) -> None:
    config = load_config(config_path).model_copy(deep=True)
    accounts = AccountStore(config, clock=clock, hasher=cheap_hasher())
    accounts.add("dana", role="reader", password=PASSWORD)
    errors: list[BaseException] = []

    def attempt() -> None:
        for _ in range(3):
            try:
                accounts.authenticate("dana", "wrong password!!")
            except SignInError:
                pass
            except BaseException as exc:  # a StoreError would be a bug
                errors.append(exc)

    # A second store on the same file, as another process would have.
    other = AccountStore(config, clock=clock, hasher=cheap_hasher())
    try:
        threads = [threading.Thread(target=attempt) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        [row] = raw_rows(accounts, "accounts")
        # Every failure before the lock counted; once locked, attempts stop counting — so the
        # account is locked, and the count is at least the threshold and at most every attempt.
        assert 3 <= row["failed_count"] <= 24
        assert row["locked_until"] == clock.now + 600
        with pytest.raises(SignInError, match="locked"):
            other.authenticate("dana", PASSWORD)
    finally:
        other.close()
        accounts.close()


def test_concurrent_failures_below_the_threshold_are_counted_exactly(
        tmp_path: Path, config_path: Path, clock: Clock) -> None:
    text = config_path.read_text().replace("max_failed_logins = 3", "max_failed_logins = 1000")
    config_path.write_text(text)
    accounts = AccountStore(load_config(config_path), clock=clock, hasher=cheap_hasher())
    accounts.add("dana", role="reader", password=PASSWORD)

    def attempt() -> None:
        for _ in range(5):
            with pytest.raises(SignInError):
                accounts.authenticate("dana", "wrong password!!")

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert accounts.failed_count("dana") == 30
    finally:
        accounts.close()


def test_a_disabled_account_never_signs_in_nor_acts(store: AccountStore) -> None:
    store.add("dana", role="reader", password=PASSWORD)
    token = store.issue_token("dana")
    secret = store.start_session("dana")
    store.disable("dana")
    with pytest.raises(SignInError, match="^Wrong username or password.$"):
        store.authenticate("dana", "wrong password!!")
    with pytest.raises(SignInError, match="disabled"):
        store.authenticate("dana", PASSWORD)
    with pytest.raises(SignInError, match="disabled"):
        store.identity_for_token(token)
    with pytest.raises(SignInError, match="not signed in"):
        store.session_identity(secret)  # disabling ended the session
    with pytest.raises(SignInError, match="disabled"):
        store.identity("dana")
    store.enable("dana")
    assert store.authenticate("dana", PASSWORD).username == "dana"
    assert store.identity_for_token(token).username == "dana"


def test_disabling_a_declared_user_refuses_them_in_the_runtime(
        config_path: Path) -> None:
    runtime = Runtime.from_config(config_path)
    try:
        assert runtime.action_context("s", "alice").role == "staff"  # declared, no account
        runtime.accounts.add("alice", password=PASSWORD)
        runtime.accounts.add("dana", role="reader")
        assert runtime.action_context("s", "dana").role == "reader"  # an account, not declared
        runtime.accounts.disable("alice")
        with pytest.raises(LamworksError, match="disabled"):
            runtime.action_context("s", "alice")
        with pytest.raises(LamworksError, match="Unknown user 'zed'"):
            runtime.action_context("s", "zed")
        turn = runtime.handle("s2", "alice", "hello")
        assert "disabled" in turn.answer
    finally:
        runtime.close()


def test_sessions_expire_and_end(store: AccountStore, clock: Clock) -> None:
    store.add("dana", role="reader", password=PASSWORD)
    secret = store.start_session("dana")
    assert store.session_identity(secret).username == "dana"
    [row] = raw_rows(store, "web_sessions")
    assert row["session_hash"] == hash_secret(secret) and secret not in row["session_hash"]
    clock.advance(29)
    assert store.session_identity(secret).username == "dana"
    clock.advance(2)
    with pytest.raises(SignInError, match="session expired"):
        store.session_identity(secret)
    other = store.start_session("dana")
    store.end_session(other)
    with pytest.raises(SignInError, match="not signed in"):
        store.session_identity(other)


def test_a_new_password_ends_sessions_and_works(store: AccountStore) -> None:
    store.add("dana", role="reader", password=PASSWORD)
    secret = store.start_session("dana")
    store.set_password("dana", "another long passphrase")
    with pytest.raises(SignInError):
        store.session_identity(secret)
    with pytest.raises(SignInError):
        store.authenticate("dana", PASSWORD)
    assert store.authenticate("dana", "another long passphrase").username == "dana"


def test_tokens_are_stored_only_hashed_and_can_be_revoked(store: AccountStore,
                                                          clock: Clock) -> None:
    store.add("svc", role="reader")
    token = store.issue_token("svc", label="ehr bridge")
    assert token.startswith("lw_") and len(token) > 40
    [row] = raw_rows(store, "api_tokens")
    assert row["token_hash"] == hash_secret(token)
    assert token not in repr(dict(row))
    database = store.config.database_path.read_bytes()
    assert token.encode() not in database
    assert store.identity_for_token(token).username == "svc"
    [info] = store.tokens("svc")
    assert (info.label, info.last_used) == ("ehr bridge", clock.now)
    second = store.issue_token("svc")
    assert store.revoke_token("svc", info.id) == 1
    with pytest.raises(SignInError, match="not valid"):
        store.identity_for_token(token)
    assert store.identity_for_token(second).username == "svc"
    assert store.revoke_token("svc") == 1
    with pytest.raises(SignInError, match="not valid"):
        store.identity_for_token(second)
    with pytest.raises(SignInError, match="not valid"):
        store.identity_for_token("lw_made-up")


def test_listing_shows_no_hashes(store: AccountStore) -> None:
    store.add("dana", role="reader", password=PASSWORD)
    store.add("svc", role="reader")
    store.issue_token("svc")
    listed = {a.username: a for a in store.list()}
    assert listed["dana"].has_password and not listed["svc"].has_password
    assert listed["svc"].active_tokens == 1
    assert "argon2" not in repr(store.list())


def test_oidc_accounts_have_no_password_and_cannot_take_over_local_ones(
        store: AccountStore) -> None:
    who = store.upsert_oidc("erin", "reader", "Erin E.", {"student": "S-1"})
    assert (who.source, who.role, dict(who.links)) == ("oidc", "reader", {"student": "S-1"})
    again = store.upsert_oidc("erin", "staff", "Erin E.")
    assert again.role == "staff"
    with pytest.raises(SignInError, match="^Wrong username or password.$"):
        store.authenticate("erin", "")
    with pytest.raises(LamworksError, match="identity provider"):
        store.set_password("erin", PASSWORD)
    store.add("dana", role="reader", password=PASSWORD)
    with pytest.raises(SignInError, match="local account"):
        store.upsert_oidc("dana", "staff")
    with pytest.raises(SignInError, match="not in"):
        store.upsert_oidc("frank", "admin")
    store.disable("erin")
    with pytest.raises(SignInError, match="disabled"):
        store.upsert_oidc("erin", "reader")


def test_the_store_is_shared_by_processes_through_the_file(config_path: Path,
                                                          clock: Clock) -> None:
    make: Callable[[], AccountStore] = lambda: AccountStore(  # noqa: E731
        load_config(config_path), clock=clock, hasher=cheap_hasher())
    first, second = make(), make()
    try:
        first.add("dana", role="reader", password=PASSWORD)
        secret = first.start_session("dana")
        assert second.session_identity(secret).username == "dana"
        second.end_session(secret)
        with pytest.raises(SignInError):
            first.session_identity(secret)
    finally:
        first.close()
        second.close()


def test_loopback_addresses() -> None:
    assert all(is_loopback(a) for a in ("127.0.0.1", "127.8.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(a) for a in ("0.0.0.0", "::", "", None, "10.0.0.1",
                                            "example.org", "192.168.1.5"))


def test_the_settings_and_commands_in_docs_auth_md_exist(tmp_path: Path) -> None:
    from lamworks.cli import users_app

    doc = (Path(__file__).parents[1] / "docs" / "auth.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Local accounts"):doc.index("## OpenID Connect")]
    start = section.index("```toml\n") + len("```toml\n")
    example = section[start:section.index("```\n", start)]
    path = tmp_path / "lamworks.toml"
    path.write_text("[institution]\nname = 'x'\n" + example, encoding="utf-8")
    auth = load_config(path).auth
    assert (auth.mode, auth.session_minutes, auth.max_failed_logins, auth.lockout_minutes) \
        == ("accounts", 480, 5, 15)
    commands = {c.name for c in users_app.registered_commands}
    named = {line.split()[2] for line in section.splitlines()
             if line.startswith("lamworks users ")}
    assert named and named <= commands


def test_user_roles_is_a_live_table_of_who_may_act(store: AccountStore) -> None:
    roles = UserRoles(store)
    assert dict(roles) == {"alice": "staff"}  # declared in [users], no account
    store.add("dana", role="reader")
    assert roles["dana"] == "reader" and "dana" in roles and len(roles) == 2
    store.disable("dana")
    assert "dana" not in roles and "nobody" not in roles
    with pytest.raises(KeyError):
        roles["dana"]
