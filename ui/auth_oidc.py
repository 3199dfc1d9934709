"""Sign-in through the institution's OpenID Connect provider (``[auth] mode = "oidc"``).

Streamlit does the protocol: ``st.login`` sends the browser to the provider (authorization code
with PKCE), its ``/oauth2callback`` route checks the ID token and keeps the token's claims in a
signed cookie, and ``st.user`` reads them back. This page decides what the claims mean for
lamworks (:func:`lamworks.oidc.map_claims`), records the person
(:meth:`lamworks.AccountStore.upsert_oidc`), ends a session ``[auth] session_minutes`` after the
token was issued (the cookie itself lasts 30 days), and audits sign-ins, refusals and sign-outs.

What does not live here: the local-account form and the choice between modes
(``lamworks.ui.signin``), the secrets file Streamlit reads (written by ``lamworks ui``, see
:func:`lamworks.oidc.write_streamlit_secrets`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import streamlit as st

from lamworks import LamworksError
from lamworks.accounts import Identity
from lamworks.oidc import PROVIDER, OIDCRefusal, map_claims, session_expired
from lamworks.ui.signin import no_pages
from lamworks.ui.state import runtime

__all__ = ["sign_in_page", "sign_out"]

# session_state keys: the events already audited, and the sign-in (sub:iat) already recorded
_AUDITED = "lamworks_oidc_audited"
_RECORDED = "lamworks_oidc_recorded"


def sign_in_page() -> Identity:
    """The person signed in through the provider; otherwise draw the sign-in page (or why they
    cannot come in) and stop the script. Called on every run, before any page."""
    rt = runtime()
    oidc = rt.config.auth.oidc
    if oidc is None:  # the configuration refuses mode = "oidc" without [auth.oidc]
        raise LamworksError("[auth] mode = 'oidc' needs an [auth.oidc] table")
    claims = _claims()
    if claims is None:
        _sign_in_form(oidc.provider_name)
    if session_expired(claims, rt.config.auth.session_minutes):
        _sign_in_form(oidc.provider_name, expired=True)
    if not _meant_for_us(claims, oidc.client_id):
        _sign_in_form(oidc.provider_name)
    outcome = map_claims(claims, oidc, roles=list(rt.config.roles), users=rt.config.users)
    if isinstance(outcome, OIDCRefusal):
        _audit_once(claims, event="sign_in.refused", actor=outcome.username,
                    role="", outcome="refused",
                    detail={"reason": outcome.reason, "roles_claim": list(outcome.values)})
        _refused(outcome.reason)
    signed_in = f"{claims.get('sub')}:{claims.get('iat')}"
    try:
        if st.session_state.get(_RECORDED) != signed_in:
            # Once per sign-in and browser session: the provider's word brings the account up
            # to date (role, name, links); later runs only read it (a disabled account stops).
            rt.accounts.upsert_oidc(outcome.username, outcome.role,
                                    display_name=outcome.display_name, links=outcome.links)
            st.session_state[_RECORDED] = signed_in
            _audit_once(claims, event="sign_in", actor=outcome.username, role=outcome.role,
                        outcome="ok", detail={"role_from": outcome.role_reason})
        identity = rt.accounts.identity(outcome.username)
    except LamworksError as exc:  # SignInError: a local account has the name, or is disabled
        st.session_state.pop(_RECORDED, None)
        _audit_once(claims, event="sign_in.refused", actor=outcome.username, role=outcome.role,
                    outcome="refused", detail={"reason": str(exc)})
        _refused(str(exc))
    return identity


def sign_out(identity: Identity | None = None) -> None:
    """Audit the sign-out, forget the identity cookie and sign out at the provider too (when it
    offers RP-initiated logout, Streamlit sends the browser to its end-session page)."""
    if identity is not None:
        runtime().audit.append(actor=identity.username, role=identity.role, session_id="",
                               event="sign_out", outcome="ok", detail={"via": "oidc"})
    st.session_state.pop(_AUDITED, None)
    st.session_state.pop(_RECORDED, None)
    st.logout()


# -- pieces ------------------------------------------------------------------------------------

def _claims() -> dict[str, Any] | None:
    """The ID token's claims Streamlit keeps, when someone is signed in through our provider."""
    user = st.user.to_dict()
    if not user.get("is_logged_in") or user.get("provider") != PROVIDER:
        return None
    return dict(user)


def _meant_for_us(claims: Mapping[str, Any], client_id: str) -> bool:
    """The token names this client as its audience (a cookie left from another configuration
    signed with the same secret does not)."""
    audience = claims.get("aud")
    return audience == client_id or (isinstance(audience, list) and client_id in audience)


def _sign_in_form(provider_name: str, *, expired: bool = False) -> NoReturn:
    """Draw the sign-in page and stop."""
    rt = runtime()
    no_pages()
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title(rt.config.institution.name)
        st.subheader("Sign in")
        if expired:
            minutes = rt.config.auth.session_minutes
            last = f"{minutes:g} minute{'s' if minutes != 1 else ''}"
            st.info(f"Your session has expired (sessions last {last}). Please sign in again.",
                    icon=":material/schedule:")
        st.write(f"lamworks uses your {provider_name} account: you sign in there, and come back "
                 "here.")
        if st.button(f"Sign in with {provider_name}", type="primary",
                     icon=":material/login:"):
            st.login(PROVIDER)
    st.stop()


def _refused(reason: str) -> NoReturn:
    """Draw why this person cannot come in, with a way to sign out, and stop."""
    rt = runtime()
    no_pages()
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title(rt.config.institution.name)
        st.error(f"**You cannot use lamworks with this account.** {reason}",
                 icon=":material/block:")
        st.write("Sign out here to sign in with another account.")
        if st.button("Sign out", icon=":material/logout:"):
            sign_out()
    st.stop()


def _audit_once(claims: Mapping[str, Any], *, event: str, actor: str, role: str, outcome: str,
                detail: dict[str, Any]) -> None:
    """One audit row per sign-in (the token's ``sub`` and ``iat``) and event, not one per rerun
    of the page (a browser session remembers what it wrote)."""
    key = f"{event}:{claims.get('sub')}:{claims.get('iat')}"
    done: set[str] = st.session_state.setdefault(_AUDITED, set())
    if key in done:
        return
    runtime().audit.append(actor=actor or str(claims.get("sub", "")), role=role, session_id="",
                           event=event, outcome=outcome,
                           detail={"via": "oidc", "issuer": str(claims.get("iss", "")),
                                   "subject": str(claims.get("sub", "")),
                                   "issued_at": claims.get("iat"), **detail})
    done.add(key)
