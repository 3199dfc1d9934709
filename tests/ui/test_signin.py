"""Signing in to the web app with a local account, and demo mode's guard and banner (AppTest,
real SQLite, real Argon2id)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from lamworks import AccountStore, load_config
from lamworks.ui.signin import DEMO_BANNER

REPO = Path(__file__).parents[2]
APP = REPO / "ui" / "app.py"
PAGES = REPO / "ui" / "views"
PASSWORD = "a long enough passphrase"


def _clear_runtime() -> None:
    from lamworks.ui import state

    state._runtime.clear()


@pytest.fixture
def accounts_config(install_plugins: Callable[..., Path], write_config: Callable[..., Path],
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    install_plugins(sample="lamworks_sample")
    path = write_config(auth="accounts")
    accounts = AccountStore(load_config(path))
    accounts.add("alice", password=PASSWORD, display_name="Alice Adams")
    accounts.close()
    monkeypatch.setenv("LAMWORKS_CONFIG", str(path))
    yield path
    _clear_runtime()


@pytest.fixture
def demo_config(install_plugins: Callable[..., Path], write_config: Callable[..., Path],
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    install_plugins(sample="lamworks_sample")
    path = write_config(auth="demo")
    monkeypatch.setenv("LAMWORKS_CONFIG", str(path))
    yield path
    _clear_runtime()


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    [user_box, password_box] = at.text_input
    user_box.input(username)
    password_box.input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    return at.run()


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption]
    return " ".join(str(p) for p in parts)


def web_sessions(config: Path) -> int:
    db = sqlite3.connect(config.parent / "data" / "lamworks.db")
    try:
        return int(db.execute("SELECT COUNT(*) FROM web_sessions").fetchone()[0])
    finally:
        db.close()


def test_the_app_asks_for_a_sign_in_and_shows_nothing_else(accounts_config: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Sign in"]
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.sidebar.selectbox and not at.chat_input
    assert DEMO_BANNER not in [w.value for w in at.warning]


def test_a_wrong_password_says_so_without_saying_whether_the_user_exists(
        accounts_config: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    sign_in(at, "alice", "not the password")
    assert [e.value for e in at.error] == ["Wrong username or password."]
    sign_in(at, "nobody", "not the password")
    assert [e.value for e in at.error] == ["Wrong username or password."]
    assert web_sessions(accounts_config) == 0


def test_repeated_failures_lock_the_account(accounts_config: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    for _ in range(5):  # [auth] max_failed_logins defaults to 5
        sign_in(at, "alice", "not the password")
    assert "locked" in at.error[0].value
    sign_in(at, "alice", PASSWORD)
    assert "locked" in at.error[0].value and web_sessions(accounts_config) == 0


def test_signing_in_shows_who_and_the_role(accounts_config: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    sign_in(at, "alice", PASSWORD)
    assert not at.exception
    assert "Signed in as **Alice Adams**" in texts(at)
    assert "Role: **staff**" in texts(at)
    assert not at.sidebar.selectbox  # no "Acting as" outside demo mode
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    assert DEMO_BANNER not in [w.value for w in at.warning]
    assert web_sessions(accounts_config) == 1
    assert "lamworks_web_session" in at.session_state  # the secret only, not the person


def _shell() -> None:
    """The app's sign-in steps on their own: AppTest re-runs only the first page of an
    st.navigation app (streamlit#9446), so the shell's sidebar cannot be clicked twice there."""
    import streamlit as st

    from lamworks.ui.signin import sign_out_button, signed_in
    from lamworks.ui.state import current_user

    who = signed_in()
    st.markdown(f"Signed in as {who.username}, page sees {current_user()}")
    sign_out_button(who)


def test_signing_out_ends_the_session(accounts_config: Path) -> None:
    at = AppTest.from_function(_shell, default_timeout=30).run()
    sign_in(at, "alice", PASSWORD)
    assert "Signed in as alice, page sees alice" in texts(at)
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Sign in"]
    assert web_sessions(accounts_config) == 0
    assert "lamworks_web_session" not in at.session_state


def test_an_expired_session_goes_back_to_the_form_saying_so(accounts_config: Path) -> None:
    at = AppTest.from_function(_shell, default_timeout=30).run()
    sign_in(at, "alice", PASSWORD)
    assert "Signed in as alice" in texts(at)
    db = sqlite3.connect(accounts_config.parent / "data" / "lamworks.db")
    db.execute("UPDATE web_sessions SET expires = created")  # as if session_minutes had passed
    db.commit()
    db.close()
    at.run()
    assert [s.value for s in at.subheader] == ["Sign in"]
    assert [i.value for i in at.info] == ["Your session expired; please sign in again."]
    sign_in(at, "alice", PASSWORD)
    assert "Signed in as alice" in texts(at)


def test_disabling_an_account_ends_its_session_at_the_next_click(
        accounts_config: Path) -> None:
    at = AppTest.from_function(_shell, default_timeout=30).run()
    sign_in(at, "alice", PASSWORD)
    accounts = AccountStore(load_config(accounts_config))
    accounts.disable("alice")
    accounts.close()
    at.run()
    assert [s.value for s in at.subheader] == ["Sign in"]
    sign_in(at, "alice", PASSWORD)
    assert [e.value for e in at.error] == ["This account is disabled; ask an administrator."]


def test_a_page_opened_on_its_own_needs_a_sign_in_too(accounts_config: Path) -> None:
    at = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=30).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Sign in"]
    assert not at.chat_input


def test_the_sign_ins_are_audited_without_unknown_names(accounts_config: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    sign_in(at, "my secret password", "oops")
    sign_in(at, "alice", PASSWORD)
    from lamworks.ui.state import runtime

    rows = [(r.actor, r.event, r.outcome) for r in runtime().audit.entries()]
    assert rows[:2] == [("(unknown user)", "sign_in.refused", "refused"),
                        ("alice", "sign_in", "ok")]


def test_demo_mode_shows_the_banner_and_acting_as(demo_config: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert DEMO_BANNER in [w.value for w in at.warning]
    assert at.sidebar.selectbox[0].label == "Acting as"
    assert not [b for b in at.sidebar.button if b.label == "Sign out"]


def test_demo_mode_is_refused_off_loopback(demo_config: Path) -> None:
    streamlit_config.set_option("server.address", "0.0.0.0")
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    [message] = [e.value for e in at.error]
    assert "demo mode" in message and "loopback" in message
    assert not at.sidebar.selectbox and not at.chat_input
    chat = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=30).run()
    assert chat.error and not chat.chat_input
