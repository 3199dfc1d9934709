"""OpenID Connect sign-in, the parts that need no web page: claims to a lamworks person, session
expiry, and the ``[auth]`` secrets Streamlit's ``st.login`` reads.

What lives here: :func:`map_claims` (the ID token's claims to a username, role, display name and
links, or a refusal that says why), :func:`session_expired` (``[auth] session_minutes`` counted
from the token's ``iat``) and :func:`write_streamlit_secrets` (the ``secrets.toml`` that
``lamworks ui`` hands to Streamlit). What does not: the sign-in page itself
(``lamworks.ui.auth_oidc``), the account rows (:meth:`lamworks.AccountStore.upsert_oidc`).

**Roles from claims.** ``[auth.oidc] roles_claim`` names a claim holding one string or a list of
strings. Each value maps to a role through ``role_map``; a value not in ``role_map`` that is itself
a role in ``[roles]`` maps to that role; anything else is ignored. No role: the person is refused.
Several roles: the one declared first in lamworks.toml's ``[roles]`` wins, so an institution
orders its roles from the one it would rather give to the one it gives last (the refusal or the
choice is shown to the person and recorded).

**Why ``iat``.** Streamlit keeps the identity cookie for 30 days; the ID token's ``iat`` (issued
at) is signed by the provider and kept in that cookie, which Streamlit signs with
``cookie_secret``, so it is the moment of this sign-in and cannot be moved by the browser. A
token without ``iat`` counts as expired.

Example::

    outcome = map_claims({"sub": "u1", "preferred_username": "dana", "roles": ["front-desk"]},
                         config.auth.oidc, roles=config.roles)
    outcome.role     # -> "frontdesk" with role_map = { "front-desk" = "frontdesk" }
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import InstitutionConfig, OIDCConfig, UserConfig
from .errors import ConfigError

__all__ = [
    "CLIENT_SECRET_ENV",
    "COOKIE_SECRET_ENV",
    "MIN_COOKIE_SECRET_LENGTH",
    "PROVIDER",
    "OIDCRefusal",
    "OIDCSignIn",
    "claim_values",
    "map_claims",
    "secrets_path",
    "session_expired",
    "streamlit_secrets",
    "write_streamlit_secrets",
]

PROVIDER = "lamworks"
"""The provider's name in Streamlit's ``[auth.<name>]`` table and ``st.login(<name>)`` (Streamlit
refuses underscores in it)."""

CLIENT_SECRET_ENV = "LAMWORKS_AUTH__OIDC__CLIENT_SECRET"
COOKIE_SECRET_ENV = "LAMWORKS_AUTH__OIDC__COOKIE_SECRET"
MIN_COOKIE_SECRET_LENGTH = 32
"""Characters; the cookie secret signs the identity cookie, so it must not be guessable."""


@dataclass(frozen=True)
class OIDCSignIn:
    """A person the provider vouched for, mapped to lamworks."""

    username: str
    """From ``username_claim`` (``sub`` when that claim is absent)."""
    role: str
    """A role in ``[roles]``."""
    display_name: str = ""
    links: Mapping[str, str] = field(default_factory=dict)
    """Link name -> the value of the claim ``links_claims`` names for it."""
    role_reason: str = ""
    """How the role was chosen, in words (shown to the person and audited)."""


@dataclass(frozen=True)
class OIDCRefusal:
    """The provider vouched for someone lamworks will not let in, and why."""

    reason: str
    """Shown to the person and audited."""
    username: str = ""
    values: tuple[str, ...] = ()
    """The roles claim's values, as the provider sent them."""


def claim_values(value: Any) -> tuple[str, ...]:
    """A claim holding a string or a list of strings, as strings (other items are dropped)."""
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list | tuple):
        return tuple(item for item in value if isinstance(item, str) and item)
    return ()


def map_claims(claims: Mapping[str, Any], oidc: OIDCConfig, roles: Collection[str],
               users: Mapping[str, UserConfig] | None = None) -> OIDCSignIn | OIDCRefusal:
    """The lamworks person for an ID token's claims, or why there is none.

    ``roles`` are the role names of ``[roles]`` in their declared order (a dict's keys do).
    ``users`` are the people of ``[users]``: one declared there with another role than the
    claims give is refused (lamworks.toml would otherwise decide the role, and a provider account
    that happens to carry the name of a declared administrator would become one)."""
    username = _first(claims.get(oidc.username_claim)) or _first(claims.get("sub"))
    values = claim_values(claims.get(oidc.roles_claim))
    if not username:
        return OIDCRefusal(f"The identity provider sent neither {oidc.username_claim!r} nor "
                           "'sub'; lamworks cannot tell who you are.", values=values)
    order = list(roles)
    found: dict[str, str] = {}  # role -> the claim value that gave it
    for value in values:
        role = oidc.role_map.get(value, value if value in order else None)
        if role in order and role not in found:
            found[role] = value
    if not found:
        if not values:
            held = f"the provider sent no {oidc.roles_claim!r} claim"
        elif len(values) == 1:
            held = f"the {oidc.roles_claim!r} claim holds {values[0]!r}, which is not mapped"
        else:
            held = (f"the {oidc.roles_claim!r} claim holds "
                    f"{', '.join(repr(v) for v in values)}, none of them mapped")
        return OIDCRefusal(
            f"Your account has no role in lamworks: {held} to a role here. Ask an "
            "administrator to give you one at the identity provider.",
            username=username, values=values)
    chosen = min(found, key=order.index)
    if len(found) == 1:
        reason = f"{oidc.roles_claim!r} = {found[chosen]!r} gives the role {chosen!r}"
    else:
        others = ", ".join(repr(r) for r in sorted(found, key=order.index) if r != chosen)
        reason = (f"your claims give several roles; {chosen!r} (from {found[chosen]!r}) is used, "
                  f"being declared before {others} in lamworks.toml")
    declared = (users or {}).get(username)
    if declared is not None and declared.role != chosen:
        return OIDCRefusal(
            f"lamworks.toml declares {username!r} with the role {declared.role!r}, but the "
            f"identity provider gives {chosen!r}. An administrator must make them agree (or "
            "remove the [users] entry).", username=username, values=values)
    links = {name: link for name, claim in oidc.links_claims.items()
             if (link := _first(claims.get(claim)))}
    display_name = _first(claims.get(oidc.display_name_claim))
    return OIDCSignIn(username=username, role=chosen, display_name=display_name, links=links,
                      role_reason=reason)


def _first(value: Any) -> str:
    values = claim_values(value)
    return values[0] if values else ""


def session_expired(claims: Mapping[str, Any], session_minutes: float, *,
                    now: float | None = None) -> bool:
    """Whether ``session_minutes`` have passed since the ID token was issued (``iat``)."""
    issued = claims.get("iat")
    if isinstance(issued, bool) or not isinstance(issued, int | float):
        return True
    current = time.time() if now is None else now
    return current >= float(issued) + session_minutes * 60


# -- Streamlit's secrets -----------------------------------------------------------------------

def streamlit_secrets(config: InstitutionConfig,
                      environ: Mapping[str, str] | None = None) -> str:
    """The ``secrets.toml`` text that configures ``st.login`` for ``[auth.oidc]``.

    The client secret and the cookie secret come from the environment (or from the
    configuration, where the environment put them); a missing or short one is a
    :class:`ConfigError` naming its variable."""
    oidc = config.auth.oidc
    if oidc is None:
        raise ConfigError("[auth] mode = 'oidc' needs an [auth.oidc] table", key="auth.oidc")
    env = os.environ if environ is None else environ
    client_secret = oidc.client_secret or env.get(CLIENT_SECRET_ENV, "")
    cookie_secret = oidc.cookie_secret or env.get(COOKIE_SECRET_ENV, "")
    if not client_secret:
        raise ConfigError(f"the OpenID Connect client secret is missing: set {CLIENT_SECRET_ENV}",
                          key="auth.oidc.client_secret")
    if len(cookie_secret) < MIN_COOKIE_SECRET_LENGTH:
        raise ConfigError(
            f"{COOKIE_SECRET_ENV} must hold at least {MIN_COOKIE_SECRET_LENGTH} random "
            "characters (it signs the identity cookie); make one with `python -c \"import "
            "secrets; print(secrets.token_urlsafe(32))\"`", key="auth.oidc.cookie_secret")
    if not oidc.redirect_uri.endswith("/oauth2callback"):
        raise ConfigError(f"{oidc.redirect_uri!r} must end in /oauth2callback (Streamlit's "
                          "route)", key="auth.oidc.redirect_uri")
    client_kwargs = {"scope": oidc.scope, "prompt": oidc.prompt,
                     "code_challenge_method": "S256"}
    lines = [
        "# Written by `lamworks ui` from lamworks.toml [auth.oidc] and the environment at each",
        "# start. Holds secrets: not to be copied, committed or edited.",
        "[auth]",
        f"redirect_uri = {_toml(oidc.redirect_uri)}",
        f"cookie_secret = {_toml(cookie_secret)}",
        "",
        f"[auth.{PROVIDER}]",
        f"client_id = {_toml(oidc.client_id)}",
        f"client_secret = {_toml(client_secret)}",
        f"server_metadata_url = {_toml(oidc.server_metadata_url)}",
        "client_kwargs = { " + ", ".join(f"{k} = {_toml(v)}" for k, v in client_kwargs.items())
        + " }",
        "",
    ]
    return "\n".join(lines)


def secrets_path(config: InstitutionConfig) -> Path:
    """Where :func:`write_streamlit_secrets` puts the file: in the data folder."""
    return config.data_dir / "streamlit-secrets.toml"


def write_streamlit_secrets(config: InstitutionConfig,
                            environ: Mapping[str, str] | None = None) -> Path:
    """Write :func:`streamlit_secrets` to :func:`secrets_path`, readable by this user only (mode
    0600 from its creation: the secret is never in a file others can read), and return it."""
    text = streamlit_secrets(config, environ)
    path = secrets_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".streamlit-secrets.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp creates it 0600
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped in TOML only)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
