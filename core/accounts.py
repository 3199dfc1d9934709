"""Who is asking: local accounts, API tokens and web sessions, in the runtime's SQLite file.

What lives here: :class:`AccountStore` (accounts with Argon2id password hashes, lock-out after
failed sign-ins, API tokens for scripts and services, the web app's server-side sessions, the
rows OpenID Connect sign-ins create) and :class:`Identity`, the resolved person every way in hands
to the runtime. What does not: what a role may do (``[roles]`` in lamworks.toml and
:mod:`lamworks.permissions`), the sign-in pages (``lamworks.ui.signin``, ``lamworks.ui.auth_oidc``).

People are declared in two places. ``[users.NAME]`` in lamworks.toml names a person, their role
and their links to domain records (never a password: the file is shared and versioned). An
account row here holds what must stay out of the file: the password hash, tokens, sessions, a
disabled flag. When both exist, the file wins for the role, the links and a non-empty display
name; an account without a ``[users]`` table carries its own (its role must still be one of
``[roles]``). A disabled account is refused everywhere, including for a name declared in the file.

**Passwords: Argon2id through argon2-cffi.** argon2-cffi is the reference binding of the Password
Hashing Competition winner (the C library), maintained by Hynek Schlawack; its
``PasswordHasher`` defaults to Argon2id with RFC 9106's "low memory" parameters (t=3, m=64 MiB,
p=4) and can tell when a stored hash needs upgrading. pwdlib is a convenience layer over the same
binding; we need none of its other algorithms. Hashes are upgraded at the next successful sign-in
when the parameters change. For an unknown username a dummy hash is verified, so the time a
refusal takes does not say whether the name exists.

**Tokens and sessions: SHA-256.** An API token (``lw_`` + ``secrets.token_urlsafe(32)``: 256
random bits) and a web session secret are shown once and stored only as their SHA-256. A slow
password hash protects low-entropy secrets against guessing; a 256-bit random value cannot be
guessed, so a fast hash loses nothing and lets a token be looked up by its hash. The first 12 hex
digits of the hash name a token in listings (its "id"), which reveals nothing usable.

Lock-out: ``[auth] max_failed_logins`` failures in a row lock an account for ``lockout_minutes``
(the counter is one ``BEGIN IMMEDIATE`` unit of work, so failures from many threads or processes
all count). A locked account is told it is locked; every other refusal is "wrong username or
password". Sessions expire ``session_minutes`` after sign-in; setting a password or disabling an
account ends its sessions.

Example::

    accounts = AccountStore(config)
    accounts.add("dana", role="frontdesk", password="correct horse battery")
    who = accounts.authenticate("dana", "correct horse battery")   # -> Identity(role="frontdesk")
    secret = accounts.start_session("dana")                       # kept by the browser session
    accounts.session_identity(secret).username                     # -> "dana"
"""

from __future__ import annotations

import builtins
import hashlib
import ipaddress
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .config import InstitutionConfig, UserConfig
from .database import ConstraintError, open_database
from .errors import LamworksError, SignInError
from .migrations import Migrations, Schema

__all__ = [
    "MIGRATIONS",
    "MIN_PASSWORD_LENGTH",
    "AccountInfo",
    "AccountStore",
    "Identity",
    "TokenInfo",
    "UserRoles",
    "hash_secret",
    "is_loopback",
]

MIN_PASSWORD_LENGTH = 12
"""Shortest password accepted (NIST SP 800-63B asks for at least 8; a passphrase is easier)."""

WRONG_CREDENTIALS = "Wrong username or password."
_TOKEN_PREFIX = "lw_"
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username      TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    links         TEXT NOT NULL DEFAULT '{}',
    password_hash TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    failed_count  INTEGER NOT NULL DEFAULT 0,
    locked_until  REAL,
    created       REAL NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('local', 'oidc'))
);
CREATE TABLE IF NOT EXISTS api_tokens (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES accounts (username),
    label      TEXT NOT NULL DEFAULT '',
    created    REAL NOT NULL,
    last_used  REAL,
    revoked    REAL
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (username);
CREATE TABLE IF NOT EXISTS web_sessions (
    session_hash TEXT PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES accounts (username),
    created      REAL NOT NULL,
    expires      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions (username);
"""

MIGRATIONS = Migrations("accounts")
"""The schema changes of accounts, API tokens and web sessions (:mod:`lamworks.migrations`)."""


@MIGRATIONS
def m001_accounts(schema: Schema) -> None:
    """Accounts, API tokens and web sessions as of the release before migrations."""
    schema.script(_SCHEMA)


@MIGRATIONS
def m002_web_sessions_by_expiry(schema: Schema) -> None:
    """An index on ``web_sessions (expires)``: every sign-in deletes the expired sessions of
    everyone, which the username index cannot find without reading every row."""
    schema.execute("CREATE INDEX IF NOT EXISTS web_sessions_expires ON web_sessions (expires)")

Source = Literal["config", "local", "oidc"]


def hash_secret(secret: str) -> str:
    """The SHA-256 (hex) under which a token or session secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def is_loopback(address: str | None) -> bool:
    """Whether a server address listens on this machine only (127.0.0.0/8, ::1, localhost).
    An empty address is not: Streamlit then listens on every interface."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Identity:
    """A person the runtime acts for, resolved from lamworks.toml and the account store."""

    username: str
    """The name actions, sessions and audit rows carry."""
    role: str
    """A role in ``[roles]``."""
    display_name: str = ""
    """How the app greets them (empty: the username)."""
    links: Mapping[str, str] = field(default_factory=dict)
    """Links to domain records (``{"patient": "Patient/pat-0001"}``)."""
    source: Source = "config"
    """Where the person is declared: only in ``[users]`` (``config``), a local account, or an
    account created by an OpenID Connect sign-in."""

    @property
    def label(self) -> str:
        """The display name, or the username when there is none."""
        return self.display_name or self.username

    def user_config(self) -> UserConfig:
        """The person as tools see them (:attr:`lamworks.ActionContext.user_config`)."""
        return UserConfig(role=self.role, display_name=self.display_name, links=dict(self.links))


@dataclass(frozen=True)
class AccountInfo:
    """One account as ``lamworks users list`` shows it: never its hash."""

    username: str
    role: str
    display_name: str
    source: Literal["local", "oidc"]
    disabled: bool
    locked_until: float | None
    has_password: bool
    created: float
    active_tokens: int


@dataclass(frozen=True)
class TokenInfo:
    """One API token as listings show it: its id (hash prefix), never the token."""

    id: str
    username: str
    label: str
    created: float
    last_used: float | None
    revoked: float | None


class AccountStore:
    """Accounts, API tokens and web sessions in ``config.database_location`` (a SQLite file, or
    PostgreSQL with ``[stores] database_url``; threads, processes and replicas share it safely:
    read-then-write units hold the store's write lock, see :mod:`lamworks.database`)."""

    def __init__(self, config: InstitutionConfig, *, clock: Callable[[], float] = time.time,
                 hasher: PasswordHasher | None = None) -> None:
        self.config = config
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._db = open_database(config.database_location, what="account database")
        try:
            MIGRATIONS.apply(self._db)
        except BaseException:
            self._db.close()
            raise
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    # -- who someone is ------------------------------------------------------------------------

    def identity(self, username: str) -> Identity:
        """The person named ``username``: declared in ``[users]``, an account here, or both.

        Raises :class:`~lamworks.LamworksError` for an unknown name and
        :class:`~lamworks.SignInError` for a disabled account."""
        row = self._row(username)
        if row is None:
            declared = self.config.users.get(username)
            if declared is None:
                raise LamworksError(f"Unknown user {username!r}.")
            return Identity(username=username, role=declared.role,
                            display_name=declared.display_name, links=dict(declared.links))
        if row["disabled"]:
            raise SignInError(f"The account {username!r} is disabled.")
        return self._identity(row)

    def known(self, username: str) -> bool:
        """Whether the name is declared in ``[users]`` or has an account (enabled or not)."""
        return username in self.config.users or self._row(username) is not None

    def _identity(self, row: Any) -> Identity:
        username = str(row["username"])
        declared = self.config.users.get(username)
        links: dict[str, str] = json.loads(row["links"] or "{}")
        role = str(row["role"])
        display_name = str(row["display_name"])
        if declared is not None:
            role = declared.role
            links = {**links, **declared.links}
            display_name = declared.display_name or display_name
        if role not in self.config.roles:
            raise LamworksError(f"The account {username!r} has role {role!r}, which is not in "
                                "[roles] any more; an administrator must give it another role.")
        return Identity(username=username, role=role, display_name=display_name, links=links,
                        source="oidc" if row["source"] == "oidc" else "local")

    def _row(self, username: str) -> Any:
        return self._db.fetchone("SELECT * FROM accounts WHERE username = ?", (username,))

    def _require(self, username: str) -> Any:
        row = self._row(username)
        if row is None:
            raise LamworksError(f"No account named {username!r}.")
        return row

    # -- managing accounts ---------------------------------------------------------------------

    def add(self, username: str, *, role: str | None = None, password: str | None = None,
            display_name: str = "", links: Mapping[str, str] | None = None) -> Identity:
        """Create a local account. ``role`` defaults to the one ``[users.NAME]`` declares (and
        must match it when both are given). Without a password the account signs in only with
        API tokens (a script or a service)."""
        if not _USERNAME.match(username):
            raise LamworksError(f"{username!r} is not a username: letters, digits and . _ @ + - "
                                "(starting with a letter or digit), at most 128 characters.")
        role = self._role_for(username, role)
        password_hash = self._hash_new(password) if password is not None else None
        try:
            self._db.execute(
                "INSERT INTO accounts (username, role, display_name, links, password_hash, "
                "created, source) VALUES (?, ?, ?, ?, ?, ?, 'local')",
                (username, role, display_name, json.dumps(dict(links or {})), password_hash,
                 self.clock()),
            )
        except ConstraintError:
            raise LamworksError(f"An account named {username!r} already exists.") from None
        return self.identity(username)

    def _role_for(self, username: str, role: str | None) -> str:
        declared = self.config.users.get(username)
        if declared is not None and role is not None and role != declared.role:
            raise LamworksError(f"{username!r} is declared in lamworks.toml with role "
                                f"{declared.role!r}; change the role there, not here.")
        chosen = role or (declared.role if declared is not None else None)
        if chosen is None:
            raise LamworksError(f"{username!r} is not in [users]: give a role.")
        if chosen not in self.config.roles:
            known = ", ".join(sorted(self.config.roles)) or "none"
            raise LamworksError(f"No role named {chosen!r} in [roles] (known: {known}).")
        return chosen

    def _hash_new(self, password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise LamworksError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters "
                                "(a few words make a good one).")
        return self.hasher.hash(password)

    def set_password(self, username: str, password: str) -> None:
        """Set a local account's password; it is unlocked and its web sessions end."""
        row = self._require(username)
        if row["source"] == "oidc":
            raise LamworksError(f"{username!r} signs in through the identity provider; it has "
                                "no password here.")
        password_hash = self._hash_new(password)
        with self._db.transaction() as conn:
            conn.execute("UPDATE accounts SET password_hash = ?, failed_count = 0, "
                         "locked_until = NULL WHERE username = ?", (password_hash, username))
            conn.execute("DELETE FROM web_sessions WHERE username = ?", (username,))

    def disable(self, username: str) -> None:
        """Refuse the account everywhere (sign-in, tokens, sessions, the runtime) until enabled;
        its web sessions end now."""
        self._require(username)
        with self._db.transaction() as conn:
            conn.execute("UPDATE accounts SET disabled = 1 WHERE username = ?", (username,))
            conn.execute("DELETE FROM web_sessions WHERE username = ?", (username,))

    def enable(self, username: str) -> None:
        """Accept the account again (and lift a lock-out)."""
        self._require(username)
        self._db.execute("UPDATE accounts SET disabled = 0, failed_count = 0, locked_until = NULL"
                         " WHERE username = ?", (username,))

    def list(self) -> builtins.list[AccountInfo]:
        """Every account, by username."""
        rows = self._db.fetchall(
            "SELECT a.*, (SELECT COUNT(*) FROM api_tokens t WHERE t.username = a.username "
            "AND t.revoked IS NULL) AS active_tokens FROM accounts a ORDER BY a.username")
        return [AccountInfo(
            username=r["username"], role=r["role"], display_name=r["display_name"],
            source=r["source"], disabled=bool(r["disabled"]), locked_until=r["locked_until"],
            has_password=r["password_hash"] is not None, created=r["created"],
            active_tokens=int(r["active_tokens"])) for r in rows]

    def upsert_oidc(self, username: str, role: str, display_name: str = "",
                    links: Mapping[str, str] | None = None) -> Identity:
        """The account of a person the identity provider vouched for, created or brought up to
        date with what the provider says now (``source = 'oidc'``, no password). Refused when a
        local account has that name (the provider must not take it over) or is disabled here."""
        if role not in self.config.roles:
            raise SignInError(f"The identity provider gave role {role!r}, which is not in "
                              "[roles].")
        if not _USERNAME.match(username):
            raise SignInError(f"The identity provider's username {username!r} cannot be used.")
        with self._db.transaction() as conn:
            row = conn.execute("SELECT source FROM accounts WHERE username = ?",
                               (username,)).fetchone()
            if row is not None and row["source"] != "oidc":
                raise SignInError(f"A local account named {username!r} exists; the identity "
                                  "provider cannot sign in as it.")
            conn.execute(
                "INSERT INTO accounts (username, role, display_name, links, created, source) "
                "VALUES (?, ?, ?, ?, ?, 'oidc') ON CONFLICT (username) DO UPDATE SET "
                "role = excluded.role, display_name = excluded.display_name, "
                "links = excluded.links",
                (username, role, display_name, json.dumps(dict(links or {})), self.clock()),
            )
        return self.identity(username)

    # -- passwords -----------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> Identity:
        """The person, when ``password`` is theirs; otherwise :class:`~lamworks.SignInError`
        ("wrong username or password", or that the account is locked or disabled)."""
        row = self._row(username)
        if row is None or row["password_hash"] is None:
            self._verify(self._dummy(), password)  # as long as a real check takes
            raise SignInError(WRONG_CREDENTIALS)
        if self._locked(row, self.clock()):
            raise SignInError(self._locked_message())
        if not self._verify(row["password_hash"], password):
            raise SignInError(self._failed(username))
        if row["disabled"]:
            # Only someone who knows the password learns that the account is disabled.
            raise SignInError("This account is disabled; ask an administrator.")
        with self._db.transaction() as conn:
            now_row = conn.execute("SELECT locked_until, password_hash FROM accounts "
                                   "WHERE username = ?", (username,)).fetchone()
            if now_row is None:
                raise SignInError(WRONG_CREDENTIALS)
            if self._locked(now_row, self.clock()):  # locked by failures meanwhile
                raise SignInError(self._locked_message())
            conn.execute("UPDATE accounts SET failed_count = 0, locked_until = NULL "
                         "WHERE username = ?", (username,))
            if (now_row["password_hash"] == row["password_hash"]
                    and self.hasher.check_needs_rehash(row["password_hash"])):
                conn.execute("UPDATE accounts SET password_hash = ? WHERE username = ?",
                             (self.hasher.hash(password), username))
        return self._identity(row)

    def _verify(self, encoded: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(encoded, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
            return self._dummy_hash

    @staticmethod
    def _locked(row: Any, now: float) -> bool:
        return row["locked_until"] is not None and float(row["locked_until"]) > now

    def _locked_message(self) -> str:
        minutes = self.config.auth.lockout_minutes
        return (f"This account is locked after too many failed sign-ins; try again in up to "
                f"{minutes} minutes, or ask an administrator.")

    def _failed(self, username: str) -> str:
        """Count one failure (a unit of work: concurrent failures all count) and say so."""
        auth = self.config.auth
        now = self.clock()
        with self._db.transaction() as conn:
            row = conn.execute("SELECT failed_count, locked_until FROM accounts "
                               "WHERE username = ?", (username,)).fetchone()
            if row is None:
                return WRONG_CREDENTIALS
            expired = row["locked_until"] is not None and float(row["locked_until"]) <= now
            count = 1 if expired else int(row["failed_count"]) + 1
            locked_until = row["locked_until"] if not expired else None
            if count >= auth.max_failed_logins and locked_until is None:
                locked_until = now + auth.lockout_minutes * 60
            conn.execute("UPDATE accounts SET failed_count = ?, locked_until = ? "
                         "WHERE username = ?", (count, locked_until, username))
        if locked_until is not None and float(locked_until) > now:
            return f"{WRONG_CREDENTIALS} {self._locked_message()}"
        return WRONG_CREDENTIALS

    def failed_count(self, username: str) -> int:
        """Failed sign-ins in a row (0 after a success or a new password)."""
        return int(self._require(username)["failed_count"])

    # -- API tokens ----------------------------------------------------------------------------

    def issue_token(self, username: str, label: str = "") -> str:
        """A new API token for the account: returned once, stored only as its SHA-256."""
        row = self._require(username)
        if row["disabled"]:
            raise LamworksError(f"The account {username!r} is disabled.")
        token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._db.execute("INSERT INTO api_tokens (token_hash, username, label, created) "
                         "VALUES (?, ?, ?, ?)", (hash_secret(token), username, label,
                                                 self.clock()))
        return token

    def identity_for_token(self, token: str) -> Identity:
        """The person the token belongs to; :class:`~lamworks.SignInError` when it is unknown,
        revoked, or its account disabled."""
        token_hash = hash_secret(token.strip())
        row = self._db.fetchone("SELECT username, revoked FROM api_tokens WHERE token_hash = ?",
                                (token_hash,))
        if row is None or row["revoked"] is not None:
            raise SignInError("This API token is not valid (unknown or revoked).")
        identity = self.identity(str(row["username"]))
        self._db.execute("UPDATE api_tokens SET last_used = ? WHERE token_hash = ?",
                         (self.clock(), token_hash))
        return identity

    def tokens(self, username: str | None = None) -> builtins.list[TokenInfo]:
        """API tokens (of one account, or all), oldest first; never the tokens themselves."""
        where, args = ("WHERE username = ?", (username,)) if username else ("", ())
        rows = self._db.fetchall(f"SELECT * FROM api_tokens {where} ORDER BY created", args)
        return [TokenInfo(id=r["token_hash"][:12], username=r["username"], label=r["label"],
                          created=r["created"], last_used=r["last_used"], revoked=r["revoked"])
                for r in rows]

    def revoke_token(self, username: str, token_id: str | None = None) -> int:
        """Revoke the account's token named by ``token_id`` (the id listings show, at least 8
        characters, or the token itself), or every token of the account when it is None.
        Returns how many were revoked."""
        self._require(username)
        now = self.clock()
        if token_id is None:
            cursor = self._db.execute("UPDATE api_tokens SET revoked = ? WHERE username = ? "
                                      "AND revoked IS NULL", (now, username))
            return int(cursor.rowcount)
        args: tuple[object, ...]
        if token_id.startswith(_TOKEN_PREFIX):
            condition, args = "token_hash = ?", (hash_secret(token_id),)
        elif len(token_id) >= 8 and re.fullmatch(r"[0-9a-f]+", token_id):
            condition, args = ("substr(token_hash, 1, CAST(? AS INTEGER)) = ?",
                               (len(token_id), token_id))
        else:
            raise LamworksError("Name a token by the id `lamworks users tokens` shows (at least "
                                "8 hex digits) or by the token itself.")
        with self._db.transaction() as conn:
            matches = conn.execute(f"SELECT token_hash FROM api_tokens WHERE username = ? AND "
                                   f"revoked IS NULL AND {condition}", (username, *args)
                                   ).fetchall()
            if len(matches) > 1:
                raise LamworksError(f"{token_id!r} names more than one token; give more digits.")
            for match in matches:
                conn.execute("UPDATE api_tokens SET revoked = ? WHERE token_hash = ?",
                             (now, match["token_hash"]))
        return len(matches)

    # -- web sessions --------------------------------------------------------------------------

    def start_session(self, username: str) -> str:
        """A new web session for the account; returns its secret (the browser session keeps
        it; only its SHA-256 is stored). It expires after ``[auth] session_minutes``."""
        self._require(username)
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM web_sessions WHERE expires <= ?", (now,))
            conn.execute("INSERT INTO web_sessions (session_hash, username, created, expires) "
                         "VALUES (?, ?, ?, ?)", (hash_secret(secret), username, now,
                                                 now + self.config.auth.session_minutes * 60))
        return secret

    def session_identity(self, secret: str) -> Identity:
        """The person signed in with this session; :class:`~lamworks.SignInError` when the
        session is unknown, has ended or expired ("your session expired"), or the account is
        disabled."""
        session_hash = hash_secret(secret)
        row = self._db.fetchone("SELECT username, expires FROM web_sessions "
                                "WHERE session_hash = ?", (session_hash,))
        if row is None:
            raise SignInError("You are not signed in (the session ended).")
        if float(row["expires"]) <= self.clock():
            self._db.execute("DELETE FROM web_sessions WHERE session_hash = ?", (session_hash,))
            raise SignInError("Your session expired; please sign in again.")
        return self.identity(str(row["username"]))

    def end_session(self, secret: str) -> None:
        """Sign out: the session is forgotten (unknown secrets are ignored)."""
        self._db.execute("DELETE FROM web_sessions WHERE session_hash = ?",
                         (hash_secret(secret),))


class UserRoles(Mapping[str, str]):
    """Username -> role of everyone who may act: ``[users]`` and enabled accounts, read from the
    store at each lookup (an account added or disabled later counts at once). For code that
    takes a table of users' roles, such as the knowledge base's access check."""

    def __init__(self, store: AccountStore) -> None:
        self.store = store

    def __getitem__(self, username: str) -> str:
        try:
            return self.store.identity(username).role
        except LamworksError:  # unknown, disabled, or a role no longer in [roles]
            raise KeyError(username) from None

    def __iter__(self) -> Iterator[str]:
        names = [*self.store.config.users, *(a.username for a in self.store.list())]
        return iter(name for name in dict.fromkeys(names) if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)
