"""The institution configuration: one ``lamworks.toml``, validated by pydantic.

What lives here: the models of the file, loading with environment overrides, and error messages
that name the file and the key path. What does not: each plugin's own settings model — plugins
declare it through the ``plugin_settings`` hook and :mod:`lamworks.plugins` validates
``[plugins.<name>]`` against it.

Environment variables override the file: ``LAMWORKS_DATA_DIR``, ``LAMWORKS_KNOWLEDGE__CHROMA_URL``
(``__`` separates nesting levels); a bad value names its variable. Secrets (keys ending in
``secret``, ``password``, ``token`` or ``api_key``) come only from the environment; a secret in
the file is refused, and :meth:`InstitutionConfig.masked` hides them when the configuration is
shown.

Example::

    config = load_config("examples/lamworks.toml")
    config.roles["frontdesk"].scopes      # -> [Scope('user', 'Patient', ...), ...]

Every problem with the file, an override or the stores named in it (a folder where a file should
be, a file that is not SQLite, a data folder that cannot be written, nesting deeper than
:data:`MAX_NESTING`) is a :class:`ConfigError` naming the path and the key, never a traceback:
:func:`load_config` checks the file and the overrides, :func:`check_stores` the stores.
"""

from __future__ import annotations

import os
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from .errors import ConfigError
from .scopes import Scope

__all__ = [
    "AuditConfig",
    "AuthConfig",
    "InstitutionConfig",
    "InstitutionInfo",
    "KnowledgeConfig",
    "KnowledgePath",
    "LimitsConfig",
    "MAX_NESTING",
    "MCPConfig",
    "MCPServerConfig",
    "OIDCConfig",
    "PluginsConfig",
    "RoleConfig",
    "StoresConfig",
    "UserConfig",
    "check_stores",
    "format_validation_error",
    "load_config",
]

Risk = Literal["read", "write", "irreversible"]
_CONFIRM_BY_DEFAULT: tuple[Risk, ...] = ("write", "irreversible")
_SECRET_KEYS = ("secret", "password", "api_key", "token")
_ENV_PREFIX = "LAMWORKS_"
_SQLITE_HEADER = b"SQLite format 3\x00"
_MIB = 1024 * 1024

MAX_NESTING = 32
"""Tables and arrays nested deeper than this are refused (a real configuration needs about six);
deeper input would exhaust the parser's recursion instead of getting a message."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstitutionInfo(_Section):
    """Who runs this deployment."""

    name: str = Field(min_length=1, description="Shown in the UI and in audit exports.")
    timezone: str = Field("UTC", description="IANA zone used for 'tomorrow', 'next Tuesday'.")
    locale: str = Field("en-US", description="Language and region of the deployment.")
    k12: bool = Field(False, description="A school deployment: age-appropriate content rules.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as 'Europe/Paris'") from None
        return value


class RoleConfig(_Section):
    """What a role may do: scopes, which risks need a person's confirmation, a rate limit."""

    description: str = ""
    scopes: list[Scope] = Field(default_factory=list)
    confirm: list[Risk] = Field(
        default_factory=lambda: list(_CONFIRM_BY_DEFAULT),
        description="Risk levels whose steps wait for the user's Confirm.",
    )
    rate_limit_per_minute: PositiveInt = 30
    access: list[str] = Field(
        default_factory=lambda: ["public"],
        description="Knowledge access labels this role may read (public, staff, teacher, ...).",
    )
    permissions: list[str] | None = Field(
        None,
        description="Permissions granted beyond tools (pages, uploads, audit reading, "
                    "configuration, user management; see `lamworks permissions`). Absent: the "
                    "permissions declared as granted by default. '*' grants every permission.",
    )


class UserConfig(_Section):
    """A (demo) user: their role and links to domain records (``patient = "Patient/pat-0001"``)."""

    role: str
    display_name: str = ""
    links: dict[str, str] = Field(default_factory=dict)


class KnowledgePath(_Section):
    """An institution's own folder of documents."""

    path: Path
    source: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    access: str = "public"


class KnowledgeConfig(_Section):
    """Where vectors live and which documents the institution adds."""

    chroma_url: str | None = Field(None, description="A Chroma server; embedded when absent.")
    embedding_model: str | None = Field(None, description="Model name or path; default MiniLM.")
    paths: list[KnowledgePath] = Field(default_factory=list)


class StoresConfig(_Section):
    """Databases: SQLite files in the data folder (relative paths are resolved against it), or
    one PostgreSQL database for all of them when ``database_url`` is set."""

    database: Path = Field(Path("lamworks.db"), description=(
        "SQLite file of the journal, sessions, confirmations, rate counters and accounts "
        "(unused with database_url)."))
    audit: Path = Field(Path("audit.db"), description=(
        "SQLite file of the hash-chained audit log (unused with database_url)."))
    database_url: str | None = Field(None, description=(
        "postgresql://USER@HOST:PORT/DATABASE: keep the journal, sessions, confirmations, rate "
        "counters, accounts and the audit log in this PostgreSQL database instead of the "
        "SQLite files (what replicas share). A password comes from the environment "
        "(LAMWORKS_STORES__DATABASE_URL, PGPASSWORD or ~/.pgpass), never from the file."))

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL (postgresql://USER@HOST:PORT/DATABASE)")
        return value


class LimitsConfig(_Section):
    """Resource limits. Each one, when met, refuses with a message that names its key here, and
    the runtime records the refusal in the audit log; raise a limit when legitimate work meets it.
    ``conversation_days`` limits time instead: how long conversations' transcripts are kept.
    """

    max_utterance_chars: PositiveInt = Field(
        50_000, description="Longest message a person may send (an essay of ~6,000 words fits).")
    max_steps_per_turn: PositiveInt = Field(
        8, description="Most actions one request may plan; a longer plan is refused whole.")
    tool_timeout_seconds: PositiveFloat = Field(
        120.0, description="A tool call still running after this is abandoned and its plugin "
                           "switched off until restart (a first call may load a model: tens of "
                           "seconds on a busy CPU).")
    ingest_max_file_bytes: PositiveInt = Field(
        20 * _MIB, description="Largest document file ingested.")
    ingest_max_run_bytes: PositiveInt = Field(
        512 * _MIB, description="Most bytes of new or changed documents read in one ingestion.")
    ingest_max_expanded_bytes: PositiveInt = Field(
        64 * _MIB, description="Most bytes a zip-based document (DOCX) may unpack to, checked in "
                               "its central directory before anything is unpacked.")
    ingest_max_compression_ratio: PositiveFloat = Field(
        100.0, description="Highest unpacked/packed ratio of a zip-based document's parts "
                           "(ordinary DOCX: under 20; zip bombs: thousands).")
    ingest_max_archive_members: PositiveInt = Field(
        10_000, description="Most files inside one zip-based document.")
    ingest_max_seconds: PositiveFloat = Field(
        1800.0, description="Longest one ingestion run may take; files not reached by then are "
                            "reported and can be ingested by running it again.")
    conversation_days: PositiveFloat = Field(
        30.0, description="How long each turn of a conversation's transcript (what the Chat page "
                          "draws again and lists under earlier chats) is kept; older turns are "
                          "deleted. The audit log is not affected.")


class AuditConfig(_Section):
    """Signed checkpoints of the audit chain: where the Ed25519 private key comes from, how often.

    The key must live outside the data folder (someone who can rewrite the log must not be able to
    read it): a file (``signing_key_file``, relative to lamworks.toml) or an environment variable
    named by ``signing_key_env``. With neither, the chain is not signed.
    """

    signing_key_file: Path | None = Field(
        None, description="Ed25519 private key (PKCS#8 PEM or base64 raw), not in the data folder.")
    signing_key_env: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of an environment variable holding the private key.")
    checkpoint_every: PositiveInt = Field(
        100, description="Sign the chain's head every this many rows (and at shutdown).")

    @model_validator(mode="after")
    def _one_key_source(self) -> AuditConfig:
        if self.signing_key_file is not None and self.signing_key_env is not None:
            raise ValueError("give signing_key_file or signing_key_env, not both")
        return self


class OIDCConfig(_Section):
    """Sign-in through an OpenID Connect provider (Streamlit's ``st.login``, which uses Authlib).

    The client secret and the cookie secret are secrets: they come only from the environment
    (``LAMWORKS_AUTH__OIDC__CLIENT_SECRET``, ``LAMWORKS_AUTH__OIDC__COOKIE_SECRET``).
    """

    server_metadata_url: str = Field(
        description="The provider's discovery document (.../.well-known/openid-configuration).")
    provider_name: str = Field("your organisation", min_length=1,
                               description="Shown on the button: 'Sign in with <provider_name>'.")
    prompt: Literal["login", "select_account", "consent"] = Field(
        "login", description="Sent to the provider with every sign-in: 'login' asks the person "
                             "to authenticate again (after sign-out or expiry); "
                             "'select_account' suits Google, which does not take 'login'.")
    client_id: str = Field(min_length=1)
    client_secret: str | None = Field(None, description="From the environment only.")
    cookie_secret: str | None = Field(
        None, description="Signs Streamlit's identity cookie; from the environment only.")
    redirect_uri: str = Field("http://127.0.0.1:8501/oauth2callback",
                              description="Must end in /oauth2callback (Streamlit's route).")
    scope: str = "openid profile email"
    username_claim: str = Field("preferred_username",
                                description="Claim that names the lamworks user ('sub' if absent).")
    display_name_claim: str = "name"
    roles_claim: str = Field("roles", description="Claim holding the person's role(s).")
    role_map: dict[str, str] = Field(
        default_factory=dict,
        description="Claim value -> lamworks role. A value not listed that is itself a role "
                    "name maps to that role; a person with no mapped role is refused.")
    links_claims: dict[str, str] = Field(
        default_factory=dict,
        description="Link name -> claim, e.g. { patient = \"fhir_patient\" }.")
    api_audience: str | None = Field(
        None, min_length=1,
        description="The HTTP API (`lamworks serve`) accepts the provider's access tokens (JWTs) "
                    "only when their 'aud' holds this value (the API's resource identifier at "
                    "the provider). Absent: the audience is not checked, so any access token "
                    "the provider signs for any of its clients is accepted; set it.")


class AuthConfig(_Section):
    """Who the person is: demo (anyone acts as anyone: loopback only), local accounts, or OIDC."""

    mode: Literal["demo", "accounts", "oidc"] = Field(
        "accounts", description="'demo' is refused unless the server listens on loopback only.")
    session_minutes: PositiveFloat = Field(
        480, description="A signed-in session expires after (minutes; a fraction is allowed).")
    max_failed_logins: PositiveInt = Field(5, description="Failures in a row before lock-out.")
    lockout_minutes: PositiveInt = Field(15, description="How long a locked account waits.")
    oidc: OIDCConfig | None = None

    @model_validator(mode="after")
    def _oidc_needs_provider(self) -> AuthConfig:
        if self.mode == "oidc" and self.oidc is None:
            raise ValueError("mode = 'oidc' needs an [auth.oidc] table (server_metadata_url, "
                             "client_id)")
        return self


class PluginsConfig(BaseModel):
    """Which plugins load, and each plugin's settings under its own name.

    ``allow`` (when given) is the only plugins that load; ``block`` never loads; any other key is
    a table of settings for the plugin of that name, validated by the plugin's settings model.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    allow: list[str] | None = None
    block: list[str] = Field(default_factory=list)

    def settings_for(self, plugin: str) -> dict[str, Any]:
        """The raw settings table of one plugin (empty when absent)."""
        extra = self.model_extra or {}
        value = extra.get(plugin, {})
        return dict(value) if isinstance(value, dict) else {}

    @field_validator("allow", "block")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"{name!r} is not a plugin name")
        return value


class MCPServerConfig(_Section):
    """One MCP server whose tools are mounted as lamworks tools named ``mcp.<name>.<tool>``
    (docs/deploy.md, "MCP"): started as a subprocess over stdio (``command``, ``args``,
    ``env``) or reached over streamable HTTP (``url``). Its tools go through the planner and
    every policy like any other; secrets for it come from the environment (``env_passthrough``),
    never from this file."""

    command: str | None = Field(None, description="Program to start (stdio transport).")
    args: list[str] = Field(default_factory=list, description="Its command-line arguments.")
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables for the subprocess.")
    env_passthrough: list[str] = Field(
        default_factory=list,
        description="Names of variables of lamworks' own environment handed to the subprocess "
                    "(secrets: the SDK gives a subprocess only a minimal environment).")
    cwd: Path | None = Field(None, description="Working folder, relative to lamworks.toml.")
    url: str | None = Field(None, description="Streamable HTTP endpoint, e.g. http://host/mcp.")
    risk: Risk = Field("write", description="Risk of every tool of the server ('write': each "
                                            "call waits for a person's confirmation).")
    tool_risk: dict[str, Risk] = Field(
        default_factory=dict, description="Risk of named tools (declare the read-only ones).")
    scopes: list[Scope] | None = Field(
        None, description="Scopes a role needs to use the server's tools. Absent: "
                          "user/mcp_<name>.r for a read tool, user/mcp_<name>.c for others.")
    tools: list[str] | None = Field(
        None, description="Only these tools are mounted; absent: every tool it lists.")
    examples: dict[str, list[str]] = Field(
        default_factory=dict, description="Example requests per tool, for the planner.")
    timeout_seconds: PositiveFloat = Field(
        30.0, description="Longest wait for one call; a server that takes longer is switched "
                          "off until restart.")
    startup_timeout_seconds: PositiveFloat = Field(
        30.0, description="Longest wait to start the server and list its tools; a server that "
                          "takes longer is reported as a failed plugin.")

    @model_validator(mode="after")
    def _one_transport(self) -> MCPServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give command (stdio) or url (streamable HTTP), exactly one")
        return self


class MCPConfig(_Section):
    """``[mcp]``: remote MCP servers mounted as tools (``[mcp.servers.<name>]``)."""

    servers: dict[str, MCPServerConfig] = Field(default_factory=dict)

    @field_validator("servers")
    @classmethod
    def _server_names(cls, value: dict[str, MCPServerConfig]) -> dict[str, MCPServerConfig]:
        for name in value:
            if not name.isidentifier() or not name.isascii() or name != name.lower():
                raise ValueError(f"{name!r}: a server name is lower-case letters, digits and _ "
                                 "(it becomes part of tool names and scopes)")
        return value


class InstitutionConfig(BaseSettings):
    """The whole ``lamworks.toml``. Build it with :func:`load_config`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix="LAMWORKS_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    institution: InstitutionInfo
    data_dir: Path = Field(Path("data"), description="Relative to the config file.")
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    users: dict[str, UserConfig] = Field(default_factory=dict)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    stores: StoresConfig = Field(default_factory=StoresConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    planner: str | None = Field(None, description="Planner name; default: the best registered.")
    mcp: MCPConfig = Field(default_factory=MCPConfig)

    _source: Path | None = PrivateAttr(None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file.
        return (env_settings, init_settings)

    @property
    def source(self) -> Path | None:
        """The file this configuration was read from."""
        return self._source

    def resolve(self, path: Path) -> Path:
        """A store path made absolute against the data folder."""
        return path if path.is_absolute() else self.data_dir / path

    @property
    def database_path(self) -> Path:
        return self.resolve(self.stores.database)

    @property
    def audit_path(self) -> Path:
        return self.resolve(self.stores.audit)

    @property
    def database_location(self) -> Path | str:
        """Where the journal, sessions and accounts live: ``stores.database_url`` when set,
        else the SQLite file :attr:`database_path`."""
        return self.stores.database_url or self.database_path

    @property
    def audit_location(self) -> Path | str:
        """Where the audit log lives: ``stores.database_url`` when set, else the SQLite file
        :attr:`audit_path`."""
        return self.stores.database_url or self.audit_path

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain data, with every secret masked."""
        masked: dict[str, Any] = _mask(self.model_dump(mode="json"))
        url = self.stores.database_url
        if url and "stores" in masked:
            from .database import safe_url

            masked["stores"]["database_url"] = safe_url(url)
        return masked


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def format_validation_error(error: ValidationError, *, path: str | None = None) -> list[str]:
    """One line per problem: ``file: key.path: message``."""
    lines = []
    for item in error.errors(include_url=False):
        key = _key_path(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (misspelt, or in the wrong table?)"
        elif item["type"] == "missing":
            message = "required key is missing"
        override = _overriding_variable(item["loc"])
        if override:
            message += f" (the value comes from the environment variable {override})"
        lines.append(": ".join(p for p in (path, key, message) if p))
    return lines


def _overriding_variable(loc: tuple[int | str, ...]) -> str | None:
    """The ``LAMWORKS_...`` variable that set the value at ``loc``, if one did."""
    present = {name.upper(): name for name in os.environ if name.upper().startswith(_ENV_PREFIX)}
    parts: list[str] = []
    found = None
    for part in loc:
        if not isinstance(part, str):
            break
        parts.append(part.upper())
        name = _ENV_PREFIX + "__".join(parts)
        if name in present:
            found = present[name]
    return found


def _mask(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: "********" if _is_secret_name(str(k)) and v else _mask(v)
                for k, v in data.items()}
    if isinstance(data, list):
        return [_mask(v) for v in data]
    return data


def _is_secret_name(key: str) -> bool:
    lowered = key.lower()
    return lowered.endswith(_SECRET_KEYS)


def _find_secrets(data: Any, prefix: str = "") -> list[str]:
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{prefix}.{key}" if prefix else str(key)
            if _is_secret_name(str(key)) and isinstance(value, str):
                found.append(here)
            found.extend(_find_secrets(value, here))
    return found


def load_config(path: str | os.PathLike[str]) -> InstitutionConfig:
    """Read, validate and cross-check ``lamworks.toml``; raise :class:`ConfigError` naming the key.

    Relative ``data_dir`` and knowledge paths are resolved against the file's folder.
    ``LAMWORKS_DATA_DIR`` and other ``LAMWORKS_...`` variables override the file; a bad override
    names its variable.
    """
    file = Path(path)
    shown = str(file)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", path=shown) from None
    except IsADirectoryError:
        raise ConfigError("is a folder; give the path of the lamworks.toml file in it",
                          path=shown) from None
    except UnicodeDecodeError:
        raise ConfigError("not a UTF-8 text file", path=shown) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=shown) from None
    except RecursionError:
        raise ConfigError(f"not valid TOML: tables or arrays nested deeper than {MAX_NESTING} "
                          "levels", path=shown) from None
    except (OSError, ValueError) as exc:  # permission denied, a NUL in the path, ...
        raise ConfigError(f"cannot read: {getattr(exc, 'strerror', None) or exc}",
                          path=shown) from None

    deep = _too_deep(raw)
    if deep is not None:
        raise ConfigError(f"nested deeper than {MAX_NESTING} levels", path=shown, key=deep)
    secrets = _find_secrets(raw)
    stores = raw.get("stores")
    url = stores.get("database_url") if isinstance(stores, dict) else None
    if isinstance(url, str) and _has_password(url):
        raise ConfigError(
            "a password may not be written in the file; give the URL without it and set "
            "PGPASSWORD (or ~/.pgpass), or set the whole URL in LAMWORKS_STORES__DATABASE_URL",
            path=shown, key="stores.database_url")
    if secrets:
        raise ConfigError(
            "secrets may not be written in the file; set LAMWORKS_SECRET_KEY (or the plugin's "
            "documented environment variable) instead",
            path=shown,
            key=secrets[0],
        )
    try:
        config = InstitutionConfig(**raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(format_validation_error(exc, path=shown))) from None
    except SettingsError as exc:
        raise ConfigError(_settings_error_message(exc), path=shown) from None
    except RecursionError:
        raise ConfigError(f"a value (or a LAMWORKS_... environment override) is nested deeper "
                          f"than {MAX_NESTING} levels", path=shown) from None

    base = file.resolve().parent
    updates: dict[str, Any] = {}
    if not config.data_dir.is_absolute():
        updates["data_dir"] = base / config.data_dir
    if config.knowledge.paths:
        paths = [
            p if p.path.is_absolute() else p.model_copy(update={"path": base / p.path})
            for p in config.knowledge.paths
        ]
        updates["knowledge"] = config.knowledge.model_copy(update={"paths": paths})
    key_file = config.audit.signing_key_file
    if key_file is not None and not key_file.is_absolute():
        key_file = base / key_file
        updates["audit"] = config.audit.model_copy(update={"signing_key_file": key_file})
    if updates:
        config = config.model_copy(update=updates)
    try:
        key_in_data = key_file is not None and key_file.resolve().is_relative_to(
            config.data_dir.resolve())
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ConfigError(f"cannot resolve {key_file}: {exc}", path=shown,
                          key="audit.signing_key_file") from None
    if key_in_data:
        raise ConfigError(
            f"{key_file} is inside the data folder {config.data_dir}; keep the signing key where "
            "someone who can write the data folder cannot read it",
            path=shown,
            key="audit.signing_key_file",
        )

    for name, user in config.users.items():
        if user.role not in config.roles:
            known = ", ".join(sorted(config.roles)) or "none defined"
            raise ConfigError(
                f"role {user.role!r} is not defined in [roles] (known: {known})",
                path=shown,
                key=f"users.{name}.role",
            )
    oidc = config.auth.oidc
    for value, role_name in (oidc.role_map.items() if oidc else ()):
        if role_name not in config.roles:
            known = ", ".join(sorted(config.roles)) or "none defined"
            raise ConfigError(f"role {role_name!r} is not defined in [roles] (known: {known})",
                              path=shown, key=f"auth.oidc.role_map.{value}")
    config._source = file.resolve()
    return config


def _has_password(url: str) -> bool:
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url)
        return bool(parts.password) or "password" in parse_qs(parts.query)
    except ValueError:
        return False


def check_stores(config: InstitutionConfig, *, write: bool = True) -> None:
    """Raise :class:`ConfigError` naming the path and the key when the data folder or a store
    cannot serve: a file where the data folder should be, a folder where a database should
    be, a file that is not SQLite, (``write=True``) a folder that cannot be written, or, with
    ``stores.database_url``, a PostgreSQL server that cannot be reached or refuses the
    connection (the message names the host, never the password).

    Called before the stores are opened (the runtime, ``lamworks audit ...``), so these problems
    get a message instead of SQLite's "file is not a database" from deep inside a store.
    """
    source = str(config.source) if config.source else None
    data_dir = config.data_dir
    data_key = "data_dir (or LAMWORKS_DATA_DIR)"
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"{data_dir} is a file, not a folder", path=source, key=data_key)
    if write:
        _check_writable_folder(data_dir, source, data_key)
    if config.stores.database_url:
        from ._postgres import probe
        from .errors import StoreError

        try:
            probe(config.stores.database_url)
        except StoreError as exc:
            raise ConfigError(str(exc), path=source, key="stores.database_url") from None
        return
    for key, store in (("stores.database", config.database_path),
                       ("stores.audit", config.audit_path)):
        if store.is_dir():
            raise ConfigError(f"{store} is a folder, not a database file", path=source, key=key)
        if not store.parent.is_dir():
            if store.parent.exists():
                raise ConfigError(f"{store.parent} is a file, not a folder", path=source,
                                  key=key)
            if write:
                _check_writable_folder(store.parent, source, key)
            continue
        try:
            with store.open("rb") as handle:
                header = handle.read(len(_SQLITE_HEADER))
        except FileNotFoundError:
            if write and not os.access(store.parent, os.W_OK | os.X_OK):
                raise ConfigError(f"cannot create {store}: its folder is not writable",
                                  path=source, key=key) from None
            continue
        except OSError as exc:
            raise ConfigError(f"cannot read {store}: {exc.strerror or exc}", path=source,
                              key=key) from None
        if header and header != _SQLITE_HEADER:
            raise ConfigError(f"{store} is not an SQLite database (another file is in its "
                              "place?)", path=source, key=key)
        if write and not os.access(store, os.R_OK | os.W_OK):
            raise ConfigError(f"{store} is not writable", path=source, key=key)


def _check_writable_folder(folder: Path, source: str | None, key: str) -> None:
    """The folder exists (or can be created) and can be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{folder} is a file, not a folder", path=source, key=key) from None
    except OSError as exc:
        raise ConfigError(f"cannot create the folder {folder}: {exc.strerror or exc}",
                          path=source, key=key) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"the folder {folder} is not writable", path=source, key=key)


def _too_deep(data: Any, depth: int = 0, where: str = "") -> str | None:
    """The key path of the first value nested deeper than :data:`MAX_NESTING`, or None."""
    if depth > MAX_NESTING:
        return (where[:40] + "...") if len(where) > 40 else (where or "(top)")
    if isinstance(data, dict):
        for key, value in data.items():
            found = _too_deep(value, depth + 1, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found = _too_deep(value, depth + 1, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _env_names(key: str) -> list[str]:
    """The set ``LAMWORKS_`` variables that override the top-level key ``key``."""
    wanted = f"{_ENV_PREFIX}{key}".upper()
    return sorted(name for name in os.environ
                  if name.upper() == wanted or name.upper().startswith(wanted + "__"))


def _settings_error_message(exc: SettingsError) -> str:
    """pydantic-settings' "error parsing value for field ..." as a line naming the variable."""
    text = str(exc)
    field_name = text.split('field "', 1)[1].split('"', 1)[0] if 'field "' in text else ""
    names = ", ".join(_env_names(field_name)) if field_name else ""
    cause = exc.__cause__
    detail = f": {cause}" if cause is not None else ""
    where = names or f"a {_ENV_PREFIX}... environment variable"
    return (f"{where}: the environment override of {field_name or 'a key'!s} is not valid JSON"
            f"{detail}")
