"""The Users page (ui/views/users.py) driven by AppTest: an administrator adds a person through the
form and sees them in the table, issues a token that is shown once, and a role without
``users.manage`` gets the refusal instead of the page. Demo mode (the conftest serves on
loopback), so the page says that passwords are ignored there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

PAGE = Path(__file__).parents[2] / "ui" / "views" / "users.py"
PASSWORD = "a long enough passphrase"


@pytest.fixture
def app_config(write_config: Callable[..., Path],
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = write_config(plugins="allow = []")
    # alice (staff) holds every permission, users.manage included; bob (reader) the defaults.
    path.write_text(path.read_text().replace("[roles.staff]\n",
                                             '[roles.staff]\npermissions = ["*"]\n', 1))
    monkeypatch.setenv("LAMWORKS_CONFIG", str(path))
    yield path
    from lamworks.ui import state

    state._runtime.clear()


def _open(user: str = "alice") -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=30)
    at.session_state["acting_user"] = user
    return at.run()


def _widget(widgets: Any, key: str) -> Any:
    return next(w for w in widgets if w.key == key)


def _table(at: AppTest) -> Any:
    return at.dataframe[0].value


def test_an_administrator_adds_a_person_and_issues_a_token_shown_once(app_config: Path) -> None:
    from lamworks.ui import state

    at = _open()
    assert not at.exception
    assert at.title[0].value == "Users"
    assert "Demo mode ignores passwords" in at.info[0].value
    assert set(_table(at)["user"]) == {"alice", "bob"}  # lamworks.toml's people, no account

    _widget(at.text_input, "users_add_name").set_value("dana")
    _widget(at.text_input, "users_add_display").set_value("Dana Diaz")
    _widget(at.selectbox, "users_add_role").set_value("reader")
    _widget(at.text_input, "users_add_password").set_value(PASSWORD)
    _widget(at.text_input, "users_add_password_again").set_value(PASSWORD)
    next(b for b in at.button if b.label == "Add").click().run()
    assert not at.exception and not at.error
    assert "Added dana" in at.success[0].value
    table = _table(at)
    dana = table[table["user"] == "dana"].iloc[0]
    assert (dana["role"], dana["name"], dana["source"], dana["status"], dana["password"]) == (
        "reader", "Dana Diaz", "local", "active", "yes")
    rt = state.runtime()
    assert rt.accounts.authenticate("dana", PASSWORD).role == "reader"

    _widget(at.selectbox, "users_person").set_value("dana")
    at.run()
    _widget(at.text_input, "users_token_label").set_value("nightly export")
    next(b for b in at.button if b.label == "Issue an API token").click().run()
    assert not at.exception
    [shown] = at.code
    token = shown.value
    assert token.startswith("lw_") and rt.accounts.identity_for_token(token).username == "dana"
    assert "will not be shown again" in at.warning[-1].value
    assert _table(at).loc[_table(at)["user"] == "dana", "tokens"].iloc[0] == 1
    assert list(at.dataframe[1].value["label"]) == ["nightly export"]

    at.run()  # any later run: the token is gone from the page
    assert not at.code
    assert "users_new_token" not in at.session_state  # nor kept for later

    next(b for b in at.button if b.label == "Revoke token").click().run()
    assert not at.exception and "is revoked" in at.success[0].value
    assert _table(at).loc[_table(at)["user"] == "dana", "tokens"].iloc[0] == 0


def test_a_refused_change_says_why_and_changes_nothing(app_config: Path) -> None:
    at = _open()
    _widget(at.text_input, "users_add_name").set_value("erin")
    _widget(at.selectbox, "users_add_role").set_value("reader")
    _widget(at.text_input, "users_add_password").set_value(PASSWORD)
    _widget(at.text_input, "users_add_password_again").set_value("something else entirely")
    next(b for b in at.button if b.label == "Add").click().run()
    assert not at.exception
    assert "passwords differ" in at.error[0].value
    assert "erin" not in set(_table(at)["user"])

    from lamworks.ui import state

    state.runtime().accounts.add("alice", password=PASSWORD)
    at.run()
    _widget(at.selectbox, "users_person").set_value("alice")
    at.run()
    next(b for b in at.button if b.label == "Disable").click().run()
    assert "cannot disable your own account" in at.error[0].value
    table = _table(at)
    assert table.loc[table["user"] == "alice", "status"].iloc[0] == "active"


def test_a_role_without_users_manage_gets_a_refusal(app_config: Path) -> None:
    at = _open("bob")
    assert not at.exception
    assert "don't have access" in at.error[0].value
    assert not at.dataframe and not at.text_input
