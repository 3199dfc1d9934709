"""Users: the people who may use lamworks, and what an administrator does with their accounts
(``users.manage``): add a person, disable or enable an account, set a new password, issue an API
token (shown once) and revoke one. The decisions and the audit rows live in
:mod:`lamworks.ui.services`; this page only draws them.

Changes run in the buttons' callbacks, before the page is drawn again, so the table below always
shows their result; what a change has to say waits in ``st.session_state`` for that one run (a
new token is popped from there as it is shown: it is never shown again).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import streamlit as st

from lamworks import Runtime
from lamworks.accounts import MIN_PASSWORD_LENGTH
from lamworks.errors import LamworksError
from lamworks.permissions import PermissionDenied
from lamworks.ui.services import (
    AccountRow,
    add_account,
    api_tokens,
    assignable_roles,
    disable_account,
    enable_account,
    issue_api_token,
    list_accounts,
    page_refusal,
    revoke_api_token,
    set_account_password,
)
from lamworks.ui.signin import markdown_text
from lamworks.ui.state import current_user, guarded, runtime, session_id

_NOTICES = "users_notices"
_NEW_TOKEN = "users_new_token"


def _say(kind: str, text: str) -> None:
    st.session_state.setdefault(_NOTICES, []).append((kind, text))


def _attempt(work: Callable[[], object], done: str) -> bool:
    """Run one change; say ``done`` or why it was refused."""
    try:
        work()
    except PermissionDenied as exc:
        _say("error", exc.reason)
        return False
    except LamworksError as exc:
        _say("error", str(exc))
        return False
    if done:
        _say("success", done)
    return True


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _status(row: AccountRow) -> str:
    if not row.has_account:
        return "no account"
    status = "disabled" if row.disabled else "active"
    if row.locked_until is not None:
        status += f", locked until {_when(row.locked_until)}"
    return status


# -- callbacks: they run before the page is drawn again ----------------------------------------

def _add(rt: Runtime, user: str, sid: str) -> None:
    state = st.session_state
    username = str(state.get("users_add_name") or "").strip()
    role = state.get("users_add_role")
    no_password = bool(state.get("users_add_no_password"))
    password = None if no_password else str(state.get("users_add_password") or "")
    again = None if no_password else str(state.get("users_add_password_again") or "")
    if not username:
        _say("error", "Give the person a username.")
        return
    kind = "API tokens only" if no_password else "password set"
    _attempt(lambda: add_account(
        rt, user, username, role=str(role) if role else None,
        display_name=str(state.get("users_add_display") or "").strip(), password=password,
        password_again=again, session_id=sid), f"Added {username} ({kind}).")


def _toggle(rt: Runtime, user: str, sid: str, username: str, disabled: bool) -> None:
    if disabled:
        _attempt(lambda: enable_account(rt, user, username, session_id=sid),
                 f"{username} is enabled.")
    else:
        _attempt(lambda: disable_account(rt, user, username, session_id=sid),
                 f"{username} is disabled; their web sessions are signed out.")


def _password(rt: Runtime, user: str, sid: str, username: str) -> None:
    state = st.session_state
    _attempt(lambda: set_account_password(
        rt, user, username, str(state.get("users_new_password") or ""),
        str(state.get("users_new_password_again") or ""), session_id=sid),
        f"The password of {username} is changed; their web sessions are signed out.")


def _issue(rt: Runtime, user: str, sid: str, username: str) -> None:
    label = str(st.session_state.get("users_token_label") or "").strip()

    def work() -> None:
        st.session_state[_NEW_TOKEN] = (username, issue_api_token(rt, user, username, label,
                                                                  session_id=sid))

    _attempt(work, "")


def _revoke(rt: Runtime, user: str, sid: str, username: str) -> None:
    token_id = st.session_state.get("users_revoke_id")
    if not token_id:
        return
    _attempt(lambda: revoke_api_token(rt, user, username, str(token_id), session_id=sid),
             f"Token {token_id} of {username} is revoked.")


# -- the page ----------------------------------------------------------------------------------

def _add_form(rt: Runtime, user: str, sid: str) -> None:
    with st.expander("Add a person", expanded=False), st.form("users_add", clear_on_submit=True):
        st.text_input("Username", key="users_add_name",
                      help="Letters, digits and . _ @ + - (starting with a letter or digit).")
        st.text_input("Display name", key="users_add_display")
        st.selectbox("Role", assignable_roles(rt), index=None, key="users_add_role",
                     placeholder="Choose a role",
                     help="A role of [roles] in lamworks.toml. A person declared in [users] "
                          "keeps the role declared there (leave it empty to take it).")
        st.checkbox("No password: a script or service, signing in with API tokens only",
                    key="users_add_no_password")
        st.text_input(f"Password (at least {MIN_PASSWORD_LENGTH} characters)", type="password",
                      key="users_add_password", autocomplete="new-password")
        st.text_input("Password again", type="password", key="users_add_password_again",
                      autocomplete="new-password")
        st.form_submit_button("Add", type="primary", on_click=_add, args=(rt, user, sid))


def _actions(rt: Runtime, user: str, sid: str, rows: list[AccountRow]) -> None:
    accounts = [row for row in rows if row.has_account]
    if not accounts:
        st.caption("No accounts yet: add one above. People lamworks.toml declares get one when "
                   "they are added here (with the role declared there).")
        return
    st.subheader("Manage an account")
    names = [row.username for row in accounts]
    chosen = st.selectbox("Account", names, key="users_person")
    row = next(r for r in accounts if r.username == chosen)
    name = row.username
    left, right = st.columns(2)
    with left:
        st.button("Enable" if row.disabled else "Disable", key="users_toggle",
                  on_click=_toggle, args=(rt, user, sid, name, row.disabled))
        if row.source == "local":
            with st.form("users_password", clear_on_submit=True):
                st.text_input(f"New password (at least {MIN_PASSWORD_LENGTH} characters)",
                              type="password", key="users_new_password",
                              autocomplete="new-password")
                st.text_input("New password again", type="password",
                              key="users_new_password_again", autocomplete="new-password")
                st.form_submit_button("Set password", on_click=_password,
                                      args=(rt, user, sid, name))
        else:
            st.caption(f"{name} signs in through the identity provider: no password here.")
    with right:
        with st.form("users_token", clear_on_submit=True):
            st.text_input("What the token is for", key="users_token_label",
                          placeholder="e.g. EHR bridge")
            st.form_submit_button("Issue an API token", on_click=_issue,
                                  args=(rt, user, sid, name))
        tokens = api_tokens(rt, user, name)
        if tokens:
            st.dataframe([{"id": t.id, "label": t.label, "created": _when(t.created),
                           "last used": _when(t.last_used), "revoked": _when(t.revoked)}
                          for t in tokens], width="stretch", hide_index=True)
        active = [t.id for t in tokens if t.revoked is None]
        if active:
            st.selectbox("Token to revoke", active, key="users_revoke_id")
            st.button("Revoke token", key="users_revoke", on_click=_revoke,
                      args=(rt, user, sid, name))


def render() -> None:
    rt = runtime()
    user = current_user()
    st.title("Users")
    refusal = page_refusal(rt, user, "users")
    if refusal is not None:
        st.error(refusal)
        return
    if rt.config.auth.mode == "demo":
        st.info("Demo mode ignores passwords: nobody signs in, and anyone may act as anyone "
                "from the sidebar. Accounts added here are kept in the database, and their "
                "passwords count once [auth] mode is \"accounts\".", icon=":material/info:")
    sid = session_id()
    for kind, text in st.session_state.pop(_NOTICES, []):
        (st.success if kind == "success" else st.error)(markdown_text(text))
    issued = st.session_state.pop(_NEW_TOKEN, None)
    if issued is not None:
        owner, token = issued
        st.success(f"A new API token for {markdown_text(owner)}:")
        st.code(token, language=None)
        st.warning("Copy it now: it will not be shown again (only its hash is kept). Scripts "
                   "use it as LAMWORKS_TOKEN.", icon=":material/key:")

    rows = list_accounts(rt, user)
    st.dataframe([{"user": r.username, "role": r.role, "name": r.display_name,
                   "source": r.source, "status": _status(r),
                   "password": "yes" if r.has_password else "no", "tokens": r.active_tokens,
                   "created": _when(r.created)} for r in rows],
                 width="stretch", hide_index=True)
    _add_form(rt, user, sid)
    _actions(rt, user, sid, rows)


guarded(render)
