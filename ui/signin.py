"""Who is using the web app: the choice between ``[auth]`` modes, the local-account sign-in
form, and demo mode's guard and banner.

- ``accounts``: a sign-in form (username, password) checked by
  :meth:`lamworks.AccountStore.authenticate`; a successful sign-in starts a server-side session
  (``web_sessions``) and only its secret is kept in ``st.session_state``. Every run looks the
  session up again, so an expired session, a disabled account or a sign-out elsewhere ends it at
  the next click, back at the form with the reason.
- ``oidc``: :func:`lamworks.ui.auth_oidc.sign_in_page` (imported only in that mode).
- ``demo``: nobody signs in; whoever opens the page picks a user under "Acting as". Served only
  when Streamlit listens on a loopback address, with a banner on every page.

Sign-ins, refusals and sign-outs are audited (events ``sign_in``, ``sign_in.refused``,
``sign_out``; detail ``via = "password"``). A refused name is recorded only when it names a
known user: a mistyped password in the username box must not land in the log.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import streamlit as st

from lamworks import Identity, Runtime, SignInError
from lamworks.accounts import is_loopback
from lamworks.ui.state import runtime

__all__ = ["DEMO_BANNER", "SESSION_KEY", "demo_banner", "markdown_text", "sign_out",
           "sign_out_button", "signed_in"]

SESSION_KEY = "lamworks_web_session"
"""Where ``st.session_state`` keeps the web session's secret (nothing else about the person)."""

DEMO_BANNER = "Demo mode: anyone who can open this page may act as anyone."

_NOTICE = "lamworks_signin_notice"


def signed_in() -> Identity:
    """The person using this browser session. When nobody is signed in, draws the sign-in page
    (or, in demo mode off loopback, the refusal) and stops the script: nothing after this call
    runs for an anonymous visitor. Called on every run, before any page."""
    rt = runtime()
    mode = rt.config.auth.mode
    if mode == "demo":
        _demo_guard()
        return rt.accounts.identity(_demo_user(rt))
    if mode == "oidc":
        try:
            from lamworks.ui import auth_oidc
        except ImportError as exc:  # a deployment without the OIDC extra
            _stop_with(f"OpenID Connect sign-in is not available in this installation ({exc}).")
        identity: Identity = auth_oidc.sign_in_page()
        return identity
    return _local_sign_in(rt)


def _demo_user(rt: Runtime) -> str:
    users = list(rt.config.users)
    if not users:
        _stop_with("Demo mode needs at least one person in [users] of lamworks.toml.")
    chosen = st.session_state.get("acting_user")
    return str(chosen) if chosen in users else users[0]


def _demo_guard() -> None:
    """Refuse to serve demo mode unless Streamlit listens on loopback only."""
    address = st.get_option("server.address")
    if is_loopback(address):
        return
    where = f"on {address!r}" if address else "on every network interface"
    _stop_with(
        f"This app is in demo mode ([auth] mode = \"demo\" in lamworks.toml), where anyone may "
        f"act as anyone, and it is listening {where}. Demo mode is served on loopback only: "
        "start it with `lamworks ui` (which listens on 127.0.0.1), or set [auth] mode = "
        "\"accounts\" and add accounts with `lamworks users add`.")


def demo_banner() -> None:
    """The banner every page carries in demo mode (nothing otherwise)."""
    if runtime().config.auth.mode == "demo":
        st.warning(DEMO_BANNER, icon=":material/warning:")


def markdown_text(text: str) -> str:
    """``text`` (a name from an account or a provider) shown literally inside Markdown."""
    for ch in "\\*_[]`$:#<>|~":
        text = text.replace(ch, "\\" + ch)
    return text


def no_pages() -> None:
    """Before sign-in no page is open to anyone: the navigation is hidden, and every page's
    address leads to the sign-in page, so a reload of /audit signs in again rather than meeting
    Streamlit's "page not found" dialog (which makes the form inert)."""
    from lamworks.ui.services import all_pages  # it imports lamworks.ui.state too

    addresses = dict.fromkeys(Path(page.path).stem for page in all_pages(runtime()))
    st.navigation([st.Page(_signed_out, title="Sign in", default=True),
                   *(st.Page(_signed_out, title="Sign in", url_path=address)
                     for address in addresses)], position="hidden")


def _signed_out() -> None:
    """The one page of :func:`no_pages`; never run (the sign-in page is drawn instead)."""


def _stop_with(message: str) -> NoReturn:
    no_pages()
    st.error(message, icon=":material/block:")
    st.stop()


# -- local accounts ------------------------------------------------------------------------------

def _local_sign_in(rt: Runtime) -> Identity:
    secret = st.session_state.get(SESSION_KEY)
    if secret:
        try:
            return rt.accounts.session_identity(str(secret))
        except SignInError as exc:  # expired, signed out elsewhere, account disabled
            st.session_state.pop(SESSION_KEY, None)
            st.session_state[_NOTICE] = str(exc)
    _sign_in_form(rt)


def _sign_in_form(rt: Runtime) -> NoReturn:
    """Draw the sign-in form; on a good password start a session and rerun; then stop."""
    no_pages()
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title(rt.config.institution.name)
        st.subheader("Sign in")
        notice = st.session_state.pop(_NOTICE, None)
        if notice:
            st.info(str(notice), icon=":material/schedule:")
        with st.form("sign-in"):
            username = st.text_input("Username", autocomplete="username")
            password = st.text_input("Password", type="password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            if not username or not password:
                st.error("Enter your username and password.")
            else:
                try:
                    identity = rt.accounts.authenticate(username.strip(), password)
                    secret = rt.accounts.start_session(identity.username)
                except SignInError as exc:
                    _audit(rt, username.strip(), "sign_in.refused", "refused", str(exc))
                    st.error(str(exc), icon=":material/lock:")
                else:
                    st.session_state[SESSION_KEY] = secret
                    _audit(rt, identity.username, "sign_in", "ok", role=identity.role)
                    st.rerun()
    st.stop()


def sign_out(identity: Identity) -> None:
    """End this browser session's sign-in (every mode but demo) and rerun to the sign-in page."""
    rt = runtime()
    if rt.config.auth.mode == "oidc":
        from lamworks.ui import auth_oidc

        auth_oidc.sign_out(identity)
        return
    secret = st.session_state.pop(SESSION_KEY, None)
    if secret:
        rt.accounts.end_session(str(secret))
        _audit(rt, identity.username, "sign_out", "ok", role=identity.role)
    st.rerun()


def sign_out_button(identity: Identity) -> None:
    """The sidebar's "Sign out" button (none in demo mode, where nobody signs in)."""
    if runtime().config.auth.mode == "demo":
        return
    if st.button("Sign out", icon=":material/logout:", key="lamworks_sign_out"):
        sign_out(identity)


def _audit(rt: Runtime, username: str, event: str, outcome: str, reason: str = "", *,
           role: str = "") -> None:
    actor = username if rt.accounts.known(username) else "(unknown user)"
    detail = {"via": "password", **({"reason": reason} if reason else {})}
    rt.audit.append(actor=actor, role=role, session_id="", event=event, outcome=outcome,
                    detail=detail)
