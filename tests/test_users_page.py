"""Managing people from the web app (the Users page's server code, lamworks.ui.services): only
with ``users.manage``, every refusal and every change an audit row, never a password or a token
in one; the account store's rules (password length, roles of [roles], a declared name keeps its
role) hold here as on the command line. Real SQLite, real Argon2."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lamworks import (
    AuditEntry,
    LamworksError,
    PermissionDenied,
    Runtime,
    SignInError,
    load_config,
)
from lamworks.accounts import hash_secret
from lamworks.ui import services

PASSWORD = "a long enough passphrase"
NEW_PASSWORD = "another long passphrase"


@pytest.fixture
def rt(write_config: Callable[..., Path]) -> Iterator[Runtime]:
    """alice (staff) holds every permission, users.manage included; bob (reader) the defaults.
    Accounts mode: passwords count."""
    path = write_config(plugins="allow = []", auth="accounts")
    path.write_text(path.read_text().replace("[roles.staff]\n",
                                             '[roles.staff]\npermissions = ["*"]\n', 1))
    runtime = Runtime(load_config(path))
    yield runtime
    runtime.close()


def _rows(rt: Runtime, event: str) -> list[AuditEntry]:
    return [e for e in rt.audit.entries() if e.event == event]


def test_a_role_without_users_manage_is_refused_and_audited_each_time(rt: Runtime) -> None:
    rt.accounts.add("dana", role="reader", password=PASSWORD)
    token = rt.accounts.issue_token("dana")
    token_id = rt.accounts.tokens("dana")[0].id
    attempts: list[tuple[str, Callable[[], object]]] = [
        ("user.list", lambda: services.list_accounts(rt, "bob")),
        ("user.add", lambda: services.add_account(rt, "bob", "eve", role="reader",
                                                   password=PASSWORD, password_again=PASSWORD)),
        ("user.disable", lambda: services.disable_account(rt, "bob", "dana")),
        ("user.enable", lambda: services.enable_account(rt, "bob", "dana")),
        ("user.password", lambda: services.set_account_password(rt, "bob", "dana",
                                                                 NEW_PASSWORD, NEW_PASSWORD)),
        ("token.issue", lambda: services.issue_api_token(rt, "bob", "dana")),
        ("token.list", lambda: services.api_tokens(rt, "bob", "dana")),
        ("token.revoke", lambda: services.revoke_api_token(rt, "bob", "dana", token_id)),
    ]
    for what, attempt in attempts:
        with pytest.raises(PermissionDenied) as refused:
            attempt()
        assert refused.value.permission == "users.manage"
        row = _rows(rt, "permission.denied")[-1]
        assert (row.actor, row.role, row.tool) == ("bob", "reader", what)
        assert row.detail["permission"] == "users.manage" and row.outcome == "denied"
    assert len(_rows(rt, "permission.denied")) == len(attempts)
    # Nothing happened: no account added, dana enabled with her password and her token.
    assert not rt.accounts.known("eve")
    assert rt.accounts.authenticate("dana", PASSWORD).username == "dana"
    assert rt.accounts.identity_for_token(token).username == "dana"
    assert services.page_refusal(rt, "bob", "users") is not None
    assert "Users" not in [p.title for p in services.pages_for(rt, "bob")]
    assert "Users" in [p.title for p in services.pages_for(rt, "alice")]


def test_an_administrator_manages_an_account_from_start_to_end(rt: Runtime) -> None:
    added = services.add_account(rt, "alice", "dana", role="reader", display_name="Dana Diaz",
                                 password=PASSWORD, password_again=PASSWORD, session_id="web-1")
    assert (added.username, added.role, added.display_name, added.source) == (
        "dana", "reader", "Dana Diaz", "local")
    assert added.has_account and added.has_password and not added.disabled
    assert rt.accounts.authenticate("dana", PASSWORD).role == "reader"

    listed = {row.username: row for row in services.list_accounts(rt, "alice")}
    assert set(listed) == {"dana", "alice", "bob"}  # alice and bob: lamworks.toml, no account
    assert listed["bob"].source == "lamworks.toml" and not listed["bob"].has_account
    assert not any(hasattr(row, "password_hash") for row in listed.values())

    services.disable_account(rt, "alice", "dana")
    with pytest.raises(SignInError):
        rt.accounts.authenticate("dana", PASSWORD)
    assert next(r for r in services.list_accounts(rt, "alice") if r.username == "dana").disabled
    services.enable_account(rt, "alice", "dana")
    services.set_account_password(rt, "alice", "dana", NEW_PASSWORD, NEW_PASSWORD)
    with pytest.raises(SignInError):
        rt.accounts.authenticate("dana", PASSWORD)
    assert rt.accounts.authenticate("dana", NEW_PASSWORD).username == "dana"

    token = services.issue_api_token(rt, "alice", "dana", "nightly export")
    assert token.startswith("lw_") and rt.accounts.identity_for_token(token).username == "dana"
    [info] = services.api_tokens(rt, "alice", "dana")
    assert info.label == "nightly export" and info.revoked is None
    assert services.revoke_api_token(rt, "alice", "dana", info.id) == info.id
    with pytest.raises(SignInError):
        rt.accounts.identity_for_token(token)
    with pytest.raises(LamworksError, match="no active token"):
        services.revoke_api_token(rt, "alice", "dana", info.id)

    events = [(e.event, e.actor, e.role, e.arguments.get("username"))
              for e in rt.audit.entries() if e.event.startswith(("user.", "token."))]
    assert events == [(event, "alice", "staff", "dana") for event in (
        "user.added", "user.disabled", "user.enabled", "user.password_set", "token.issued",
        "token.revoked")]
    issued, revoked = _rows(rt, "token.issued")[0], _rows(rt, "token.revoked")[0]
    assert issued.arguments["token"] == revoked.arguments["token"] == info.id
    assert _rows(rt, "user.added")[0].session_id == "web-1"

    # No row holds a password, a token, or a hash of either.
    stored = rt.accounts._row("dana")
    assert stored is not None
    secrets = [PASSWORD, NEW_PASSWORD, token, token.removeprefix("lw_"), hash_secret(token),
               str(stored["password_hash"])]
    for entry in rt.audit.entries():
        text = json.dumps(entry.as_dict())
        for secret in secrets:
            assert secret not in text, (entry.event, secret[:6])


def test_an_administrator_cannot_disable_their_own_account(rt: Runtime) -> None:
    rt.accounts.add("alice", password=PASSWORD)  # role "staff", from [users.alice]
    with pytest.raises(LamworksError, match="cannot disable your own account") as refused:
        services.disable_account(rt, "alice", "alice")
    assert "Ask another administrator" in str(refused.value)
    assert rt.accounts.authenticate("alice", PASSWORD).username == "alice"
    [row] = _rows(rt, "user.disable.refused")
    assert row.actor == "alice" and row.arguments == {"username": "alice"}
    assert not _rows(rt, "user.disabled")


def test_the_command_lines_rules_hold(rt: Runtime) -> None:
    def add(name: str, role: str | None = None, password: str | None = None,
            password_again: str | None = None) -> None:
        services.add_account(rt, "alice", name, role=role, password=password,
                             password_again=password_again)

    with pytest.raises(LamworksError, match="differ"):
        add("erin", role="reader", password=PASSWORD, password_again=PASSWORD + "!")
    with pytest.raises(LamworksError, match="at least 12 characters"):
        add("erin", role="reader", password="short", password_again="short")
    with pytest.raises(LamworksError, match="No role named 'root'"):
        add("erin", role="root", password=PASSWORD, password_again=PASSWORD)
    with pytest.raises(LamworksError, match="give a role"):
        add("erin", password=PASSWORD, password_again=PASSWORD)
    with pytest.raises(LamworksError, match="declared in lamworks.toml with role 'reader'"):
        add("bob", role="staff", password=PASSWORD, password_again=PASSWORD)
    assert not rt.accounts.list() and not _rows(rt, "user.added")

    assert services.add_account(rt, "alice", "bob").role == "reader"  # the declared role
    service = services.add_account(rt, "alice", "ehr-bridge", role="reader")
    assert not service.has_password  # a script or service: API tokens only
    assert _rows(rt, "user.added")[-1].detail == {"password": False}
    with pytest.raises(LamworksError, match="already exists"):
        add("bob")
    with pytest.raises(LamworksError, match="differ"):
        services.set_account_password(rt, "alice", "bob", NEW_PASSWORD, PASSWORD)
    assert services.assignable_roles(rt) == ["staff", "reader"]
