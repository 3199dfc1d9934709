"""Who is calling the HTTP API: bearer tokens (lamworks API tokens, OpenID Connect access
tokens) and, in demo mode on loopback only, a name in a header.

What lives here: :class:`Authenticator` (request headers -> a :class:`Caller`, or an
:class:`ApiRefusal` carrying the HTTP status, the reason in words and the ``WWW-Authenticate``
header), and :class:`AccessTokenVerifier` (a JWT checked against the provider's published keys).
What does not: the routes (:mod:`lamworks.api`), the accounts and their hashed tokens
(:class:`~lamworks.AccountStore`), claims to roles (:func:`lamworks.oidc.map_claims`, shared with
the web app's sign-in).

**Which token is which.** A lamworks API token starts ``lw_`` (``lamworks users token NAME``)
and is looked up by its SHA-256. A JWT (three dot-separated parts) is an OpenID Connect access
token, accepted only when ``[auth.oidc]`` is configured: its signature is checked against the
keys at the provider's ``jwks_uri`` (from the discovery document at ``server_metadata_url``),
``iss`` must be the provider's issuer, ``exp`` in the future (``nbf``, when present, in the past),
and ``aud`` must hold ``[auth.oidc] api_audience`` when that is set. Only asymmetric algorithms
are accepted (an HMAC "signed" with a public key is the classic confusion attack). Discovery and
the key set are cached for :attr:`AccessTokenVerifier.ttl` seconds; a token naming a key id the
cache lacks refetches the key set (the provider rotated its keys), at most once every
:attr:`AccessTokenVerifier.refetch_after` seconds, so garbage tokens cannot make us hammer the
provider. The claims map to a person exactly as at the web app's sign-in, and the account row
is brought up to date when the provider's word changed (``sign_in`` audited then).

**Refusals are audited** (``sign_in.refused``, ``detail.via`` = ``api_token``, ``oidc`` or
``demo``), as the web app audits a refused sign-in; a request without any credentials is not (it
names nobody and says nothing).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from .accounts import Identity, is_loopback
from .config import OIDCConfig
from .errors import LamworksError, SignInError
from .oidc import OIDCRefusal, map_claims

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "DEMO_USER_HEADER",
    "AccessTokenVerifier",
    "ApiRefusal",
    "Authenticator",
    "Caller",
]

DEMO_USER_HEADER = "X-Lamworks-User"
"""Demo mode only, on loopback only: the user to act as, without proof (as the web app's
"Acting as")."""

ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
                         "ES384", "ES512", "EdDSA")
"""The JWS algorithms an access token may be signed with: public-key ones only."""

_REALM = 'Bearer realm="lamworks"'
Via = Literal["api_token", "oidc", "demo"]


@dataclass(frozen=True)
class Caller:
    """The person a request acts for, and how they proved it."""

    username: str
    role: str
    via: Via


class ApiRefusal(Exception):
    """A request the API answers with an error: the HTTP status, a short code, the reason in
    words, and headers (``WWW-Authenticate`` on a 401)."""

    def __init__(self, status: int, error: str, detail: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})


def _unauthorized(detail: str, *, error: str = "invalid_token") -> ApiRefusal:
    """A 401 with RFC 6750's challenge: no error code for a request that brought no
    credentials (``missing_token``), else ``invalid_request`` or ``invalid_token``."""
    challenge = _REALM
    if error != "missing_token":
        challenge += f', error="{error}"'
    return ApiRefusal(401, error, detail, {"WWW-Authenticate": challenge})


class AccessTokenVerifier:
    """Checks OpenID Connect access tokens (JWTs) against the provider's published keys.

    ``http`` fetches the discovery document and the key set (a new :class:`httpx.Client` by
    default); ``clock`` gives seconds since the epoch (tests move it). Thread-safe: one
    instance serves every request of a process."""

    ttl: float = 300.0
    """Seconds the discovery document and the key set are kept before they are fetched again."""
    refetch_after: float = 30.0
    """Fewest seconds between two fetches caused by a key id the cached set lacks."""

    def __init__(self, oidc: OIDCConfig, *, http: httpx.Client | None = None,
                 clock: Callable[[], float] = time.time, leeway: int = 30) -> None:
        self.oidc = oidc
        self.http = http or httpx.Client(timeout=5.0, follow_redirects=False)
        self.clock = clock
        self.leeway = leeway
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims when it is genuine, current and meant for us; otherwise
        :class:`~lamworks.SignInError` saying why (never echoing the token)."""
        issuer = self._provider()["issuer"]
        try:
            decoded = jwt.decode(token, self._key_for(token), algorithms=ASYMMETRIC_ALGORITHMS)
        except JoseError as exc:
            raise SignInError(f"The access token is not valid: {exc.description or exc.error}."
                              ) from None
        options: dict[str, Any] = {"iss": {"essential": True, "value": issuer},
                                   "exp": {"essential": True}}
        if self.oidc.api_audience:
            options["aud"] = {"essential": True, "value": self.oidc.api_audience}
        registry = JWTClaimsRegistry(now=int(self.clock()), leeway=self.leeway, **options)
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise SignInError(f"The access token was refused: {exc.description or exc.error}."
                              ) from None
        return dict(decoded.claims)

    def _key_for(self, token: str) -> KeySet:
        """The provider's key set, fetched again when the token names a key it lacks."""
        keys = self._key_set(refresh=False)
        kid = _header_kid(token)
        if kid is not None and not any(k.kid == kid for k in keys.keys):
            keys = self._key_set(refresh=True)
        return keys

    def _provider(self) -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            if self._metadata is None or now - self._metadata_at >= self.ttl:
                data = self._fetch(self.oidc.server_metadata_url, "discovery document")
                if not isinstance(data.get("issuer"), str) or not isinstance(
                        data.get("jwks_uri"), str):
                    raise SignInError("The identity provider's discovery document names no "
                                      "issuer or jwks_uri; access tokens cannot be checked.")
                self._metadata, self._metadata_at = data, now
            return self._metadata

    def _key_set(self, *, refresh: bool) -> KeySet:
        jwks_uri = str(self._provider()["jwks_uri"])
        with self._lock:
            now = self.clock()
            stale = self._keys is None or now - self._keys_at >= self.ttl
            if stale or (refresh and now - self._keys_at >= self.refetch_after):
                data = self._fetch(jwks_uri, "key set")
                try:
                    self._keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError) as exc:
                    raise SignInError(f"The identity provider's key set cannot be read: {exc}."
                                      ) from None
                self._keys_at = now
            assert self._keys is not None
            return self._keys

    def _fetch(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self.http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _ProviderUnreachable(f"The identity provider's {what} could not be fetched "
                                       f"({url}): {exc}") from None
        if not isinstance(data, dict):
            raise _ProviderUnreachable(f"The identity provider's {what} is not a JSON object.")
        return data

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()


class _ProviderUnreachable(LamworksError):
    """The provider could not be asked: the token is neither accepted nor refused (503)."""


def _header_kid(token: str) -> str | None:
    """The ``kid`` of a compact JWS's header, or None (a malformed token fails in decode)."""
    import base64
    import json

    try:
        part = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, TypeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


class Authenticator:
    """Request headers -> the :class:`Caller`, or an :class:`ApiRefusal` (audited).

    ``host`` is the address the server listens on: demo mode's header is honoured only when it
    is a loopback address (as the web app serves demo mode only on loopback). ``verifier``
    checks OpenID Connect access tokens; by default one is made when ``[auth.oidc]`` is
    configured, none otherwise (a JWT is then refused)."""

    def __init__(self, runtime: Runtime, *, host: str | None,
                 verifier: AccessTokenVerifier | None = None) -> None:
        self.runtime = runtime
        self.host = host
        oidc = runtime.config.auth.oidc
        self.verifier = verifier if verifier is not None else (
            AccessTokenVerifier(oidc) if oidc is not None else None)

    def caller(self, authorization: str | None, demo_user: str | None) -> Caller:
        """Who the request acts for, from its ``Authorization`` and ``X-Lamworks-User``
        headers; raises :class:`ApiRefusal` (401, or 403 for a person lamworks will not let
        in, or 503 when the identity provider cannot be reached)."""
        if authorization:
            scheme, _, token = authorization.strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise _unauthorized("Send 'Authorization: Bearer <token>'.",
                                    error="invalid_request")
            if token.startswith("lw_"):
                return self._api_token(token)
            if token.count(".") == 2:
                return self._access_token(token)
            self._audit_refusal("(unknown user)", "api_token",
                                "neither a lamworks API token nor a JWT")
            raise _unauthorized("This is neither a lamworks API token (lw_...) nor an OpenID "
                                "Connect access token.")
        if demo_user:
            return self._demo(demo_user.strip())
        raise _unauthorized("Authentication required: send 'Authorization: Bearer <token>' (an "
                            "API token from `lamworks users token NAME`"
                            + (", or an access token from the identity provider"
                               if self.verifier is not None else "") + ").",
                            error="missing_token")

    def _api_token(self, token: str) -> Caller:
        try:
            identity = self.runtime.accounts.identity_for_token(token)
        except LamworksError as exc:  # unknown, revoked, disabled, or a role gone from [roles]
            self._audit_refusal("(unknown user)", "api_token", str(exc))
            raise _unauthorized(str(exc)) from None
        return Caller(identity.username, identity.role, "api_token")

    def _access_token(self, token: str) -> Caller:
        oidc = self.runtime.config.auth.oidc
        if self.verifier is None or oidc is None:
            self._audit_refusal("(unknown user)", "oidc", "no [auth.oidc] configured")
            raise _unauthorized("This server accepts lamworks API tokens only ([auth.oidc] is "
                                "not configured).")
        try:
            claims = self.verifier.claims(token)
        except _ProviderUnreachable as exc:
            raise ApiRefusal(503, "identity_provider_unavailable", str(exc)) from None
        except SignInError as exc:
            self._audit_refusal("(unknown user)", "oidc", str(exc))
            raise _unauthorized(str(exc)) from None
        config = self.runtime.config
        outcome = map_claims(claims, oidc, roles=list(config.roles), users=config.users)
        if isinstance(outcome, OIDCRefusal):
            self._audit_refusal(outcome.username or "(unknown user)", "oidc", outcome.reason,
                                roles_claim=list(outcome.values))
            raise ApiRefusal(403, "no_role", outcome.reason)
        try:
            identity = self._oidc_account(outcome.username, outcome.role, outcome.display_name,
                                          dict(outcome.links), outcome.role_reason)
        except LamworksError as exc:  # a local account has the name, or it is disabled
            self._audit_refusal(outcome.username, "oidc", str(exc))
            raise ApiRefusal(403, "refused", str(exc)) from None
        return Caller(identity.username, identity.role, "oidc")

    def _oidc_account(self, username: str, role: str, display_name: str,
                      links: dict[str, str], role_reason: str) -> Identity:
        """The account of a person the provider vouched for; written (and ``sign_in``
        audited) only when the provider's word differs from the stored row, so a steady
        stream of API calls costs a read each."""
        accounts = self.runtime.accounts
        try:
            current: Identity | None = accounts.identity(username)
        except SignInError:
            raise
        except LamworksError:  # not known yet
            current = None
        if current is not None and current.source == "oidc" and (
                current.role, current.display_name, dict(current.links)) == (
                role, display_name, links):
            return current
        identity = accounts.upsert_oidc(username, role, display_name=display_name, links=links)
        self.runtime.audit.append(actor=username, role=role, session_id="", event="sign_in",
                                  outcome="ok", detail={"via": "oidc", "api": True,
                                                        "role_from": role_reason})
        return identity

    def _demo(self, name: str) -> Caller:
        config = self.runtime.config
        if config.auth.mode != "demo":
            raise _unauthorized(f"{DEMO_USER_HEADER} works only in demo mode ([auth] mode = "
                                f"\"demo\"; this server is in {config.auth.mode!r} mode): send "
                                "'Authorization: Bearer <token>'.", error="invalid_request")
        if not is_loopback(self.host):
            where = f"on {self.host!r}" if self.host else "on every network interface"
            self._audit_refusal(name if self.runtime.accounts.known(name) else "(unknown user)",
                                "demo", f"demo header while listening {where}")
            raise _unauthorized(
                f"{DEMO_USER_HEADER} is refused: in demo mode anyone may act as anyone, so the "
                f"header is honoured only on a loopback address, and this server listens {where}. "
                "Send 'Authorization: Bearer <token>'.", error="invalid_request")
        try:
            identity = self.runtime.accounts.identity(name)
        except LamworksError as exc:
            raise _unauthorized(str(exc), error="invalid_request") from None
        return Caller(identity.username, identity.role, "demo")

    def _audit_refusal(self, actor: str, via: Via, reason: str, **detail: Any) -> None:
        self.runtime.audit.append(actor=actor, role="", session_id="", event="sign_in.refused",
                                  outcome="refused",
                                  detail={"via": via, "api": True, "reason": reason, **detail})

    def close(self) -> None:
        """Close the verifier's HTTP client, if any."""
        if self.verifier is not None:
            self.verifier.close()
