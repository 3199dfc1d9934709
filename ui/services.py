"""The pages' server code: every decision a page takes about who may see or do what.

The Streamlit scripts in ``ui/views`` only draw; what they show and what they let a person do
comes from these plain functions of the runtime and the acting user, so the same rules hold for
any way in and are tested without a browser (``tests/test_permissions_property.py``). Each one
checks the permission it needs (:mod:`lamworks.permissions`) and raises
:class:`~lamworks.permissions.PermissionDenied` without it; a refused upload, deletion, export,
verification or configuration view is an audit row (``permission.denied``).

- navigation: :func:`pages_for` (the pages a user sees), :func:`page_refusal` (a page opened by
  URL without permission);
- home (``page.home``): :func:`home_sections_for`, the plugins' sections a person's role may use
  (every tool a section names covered by the role's scopes), and :func:`admin_panels`, the
  core's own (plugins and health with ``plugins.view``, the audit chain with ``audit.read.all``);
- audit: :func:`visible_audit_rows` (one's own rows with ``audit.read.own``, every row only
  with ``audit.read.all``), :func:`export_audit` (``audit.export``), :func:`verify_chain`
  (``audit.verify``);
- administration: :func:`plugin_overview` (``plugins.view``), :func:`effective_configuration`
  (``config.view``);
- knowledge: :func:`upload_documents` (``knowledge.upload``) into an upload source owned by the
  uploader — never a plugin's, a configured or another person's source — with only the access
  labels the uploader's role may read, front matter included; :func:`delete_upload_source`
  (``knowledge.delete`` for one's own, ``knowledge.delete.any`` for anyone's upload sources).
  Every upload and deletion is audited with what it touched (files, chunks, source, access),
  never document text;
- people (``users.manage``): :func:`list_accounts`, :func:`add_account`,
  :func:`disable_account`, :func:`enable_account`, :func:`set_account_password`,
  :func:`issue_api_token`, :func:`api_tokens`, :func:`revoke_api_token`, through
  :class:`~lamworks.AccountStore` and its rules (password length, a role of ``[roles]``, the
  role ``[users]`` declares). Each change is its own audit row (``user.added``,
  ``user.disabled``, ``user.enabled``, ``user.password_set``, ``token.issued``,
  ``token.revoked``) naming the account and, for a token, its id; never a password or a token.

Nothing here imports Streamlit.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from lamworks.access import refuse_permission as _refuse
from lamworks.access import require_permission as _require
from lamworks.access import role_of as _role
from lamworks.access import visible_audit_rows
from lamworks.accounts import TokenInfo, hash_secret
from lamworks.audit import AuditEntry, VerifyResult
from lamworks.errors import KnowledgeError, LamworksError
from lamworks.permissions import PERMISSION_POLICY
from lamworks.redaction import scrub_identifiers
from lamworks.scopes import Scope, missing_scopes

if TYPE_CHECKING:
    from lamworks import HomeSection
    from lamworks.knowledge import IngestReport, ProgressCallback
    from lamworks.runtime import Runtime

__all__ = [
    "AccountRow",
    "CORE_PAGES",
    "HOME_RESULTS_KEY",
    "HOME_SESSION_PREFIX",
    "PageSpec",
    "UploadOutcome",
    "add_account",
    "api_tokens",
    "assignable_roles",
    "deletable_sources",
    "delete_upload_source",
    "disable_account",
    "effective_configuration",
    "enable_account",
    "admin_panels",
    "export_audit",
    "home_sections_for",
    "issue_api_token",
    "list_accounts",
    "may_open",
    "page_refusal",
    "pages_for",
    "plugin_overview",
    "plugin_status",
    "revoke_api_token",
    "set_account_password",
    "upload_labels",
    "upload_source_name",
    "upload_documents",
    "verify_chain",
    "visible_audit_rows",
    "visible_sources",
]

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
UPLOAD_PREFIX = "uploads-"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class PageSpec:
    """A page of the web app and the permission (and, for a plugin's page, the roles) needed
    to see it."""

    key: str
    title: str
    section: str
    path: Path
    permission: str
    icon: str | None = None
    roles: tuple[str, ...] = ()
    default: bool = False


# The page scripts live in ui/views/, not ui/pages/: Streamlit takes a "pages" folder beside the
# main script for an old-style multipage app, and a first visit to /chat (a reload after a
# restart, a new replica) would then run the page without app.py: no navigation, no sign-in.
CORE_PAGES: tuple[PageSpec, ...] = (
    PageSpec("home", "Home", "Assistant", HERE / "views" / "home.py", "page.home",
             ":material/home:", default=True),
    PageSpec("chat", "Chat", "Assistant", HERE / "views" / "chat.py", "page.chat",
             ":material/chat:", default=True),
    PageSpec("knowledge", "Documents", "Knowledge", HERE / "views" / "knowledge.py",
             "page.knowledge", ":material/menu_book:"),
    PageSpec("audit", "Audit log", "Audit", HERE / "views" / "audit.py", "audit.read.own",
             ":material/verified_user:"),
    PageSpec("admin", "Plugins", "Admin", HERE / "views" / "admin.py", "plugins.view",
             ":material/extension:"),
    PageSpec("users", "Users", "Admin", HERE / "views" / "users.py", "users.manage",
             ":material/group:"),
)
"""The core's pages; plugins' pages come from ``register_ui_pages``."""


def _permits(rt: Runtime, user: str, permission: str) -> bool:
    if not permission:
        return True
    if permission not in rt.permissions.declared:
        return False  # a page naming a permission nobody declared is shown to no one
    return rt.permits(user, permission)


# -- navigation -----------------------------------------------------------------------------


def all_pages(rt: Runtime) -> list[PageSpec]:
    """The core's pages and every loaded plugin's."""
    pages = list(CORE_PAGES)
    for page in rt.plugins.ui_pages:
        pages.append(PageSpec(f"{page.plugin}:{page.title}", page.title, page.section,
                              Path(page.path), page.permission, page.icon, tuple(page.roles)))
    return pages


def may_open(rt: Runtime, user: str, page: PageSpec) -> bool:
    """Whether ``user`` may see ``page``: its permission, and for a plugin page its roles."""
    if page.roles and _role(rt, user) not in page.roles:
        return False
    return _permits(rt, user, page.permission)


def pages_for(rt: Runtime, user: str) -> list[PageSpec]:
    """The pages ``user``'s navigation shows, in order."""
    return [page for page in all_pages(rt) if may_open(rt, user, page)]


def page_refusal(rt: Runtime, user: str, key: str) -> str | None:
    """``None`` when ``user`` may open the page ``key`` (a core page's key or a plugin page's
    path), else the refusal to show instead of its content."""
    page = next((p for p in all_pages(rt) if p.key == key or str(p.path) == key), None)
    if page is None:
        return "This page does not exist."
    if may_open(rt, user, page):
        return None
    return ("You don't have access to this page. Ask an administrator if you need it"
            + (f" (it needs the permission {page.permission!r})." if page.permission else "."))


# -- home -----------------------------------------------------------------------------------

HOME_SESSION_PREFIX = "home-"
"""The session ids under which a home page runs its sections' tools (audited as any request)."""
HOME_RESULTS_KEY = "home-results"
"""Where the home page keeps its sections' results during one visit (Streamlit session state;
the app drops them when another page is opened, so coming back runs the tools again)."""


def home_sections_for(rt: Runtime, user: str) -> list[HomeSection]:
    """The plugins' home sections ``user`` sees, in order: none without ``page.home``; else
    each section whose roles include the user's (or name none), whose permission the role
    holds, whose every tool is loaded and, with the section's own scopes, covered by the
    role's scopes, and that applies to the user (``applies``; one that raises does not)."""
    if not _permits(rt, user, "page.home"):
        return []
    ctx = rt.action_context("", user)
    shown = []
    for section in sorted(rt.plugins.home_sections, key=lambda s: s.order):
        if section.roles and ctx.role not in section.roles:
            continue
        if section.permission and not _permits(rt, user, section.permission):
            continue
        tools = [rt.tools.get(name) for name in section.needs()]
        if any(t is None or missing_scopes(ctx.scopes, t.scopes) for t in tools):
            continue
        if missing_scopes(ctx.scopes, [Scope.parse(s) for s in section.scopes]):
            continue
        if section.applies is not None and not _applies(section, ctx):
            continue
        shown.append(section)
    return shown


def _applies(section: HomeSection, ctx: Any) -> bool:
    try:
        return bool(section.applies(ctx)) if section.applies is not None else True
    except Exception:  # a plugin's mistake hides its section, never the page
        log.exception("home section %r of %s: applies() raised", section.title, section.plugin)
        return False


def admin_panels(rt: Runtime, user: str) -> list[str]:
    """The core's own home panels ``user`` sees: ``plugins`` and ``health`` with
    ``plugins.view``, ``audit`` (recent rows, chain check) with ``audit.read.all``."""
    if not _permits(rt, user, "page.home"):
        return []
    panels = []
    if _permits(rt, user, "plugins.view"):
        panels += ["plugins", "health"]
    if _permits(rt, user, "audit.read.all"):
        panels.append("audit")
    return panels


# -- audit ----------------------------------------------------------------------------------


def institution_time(rt: Runtime, ts: str) -> datetime:
    """An audit row's timestamp (ISO, UTC) in the institution's time zone, as people read it."""
    return datetime.fromisoformat(ts).astimezone(ZoneInfo(rt.config.institution.timezone))


def export_audit(rt: Runtime, user: str,
                 keep: Callable[[AuditEntry], bool] | None = None) -> str:
    """The rows ``user`` may read (those ``keep`` accepts) as JSON Lines; needs
    ``audit.export``."""
    _require(rt, user, "audit.export", "audit.export")
    rows = [e for e in visible_audit_rows(rt, user) if keep is None or keep(e)]
    return "".join(json.dumps(e.as_dict(), ensure_ascii=False) + "\n" for e in rows)


def verify_chain(rt: Runtime, user: str) -> VerifyResult:
    """Verify the hash chain; needs ``audit.verify``."""
    _require(rt, user, "audit.verify", "audit.verify")
    return rt.audit.verify()


# -- administration -------------------------------------------------------------------------


@dataclass(frozen=True)
class PluginOverview:
    """What the Plugins page shows."""

    plugins: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    policies: list[dict[str, Any]]
    failed: list[tuple[str, str]]
    planner: str


PLUGIN_STATUS: dict[str, tuple[str, str]] = {
    "loaded": (":material/check_circle:", "Loaded"),
    "failed": (":material/error:", "Failed"),
    "blocked": (":material/block:", "Blocked"),
}
"""A plugin's status as a Material icon and words: the words carry the meaning (a screen reader
reads them; a browser without the icon font still shows them), never an emoji alone."""


def plugin_status(status: str) -> tuple[str, str]:
    """The icon and the words for a plugin's ``status`` (an unknown one as it is)."""
    return PLUGIN_STATUS.get(status, (":material/help:", status.capitalize()))


def plugin_overview(rt: Runtime, user: str) -> PluginOverview:
    """Loaded and failed plugins, tools, policies; needs ``plugins.view``."""
    _require(rt, user, "plugins.view", "plugins.view")
    records = list(rt.plugins.records.values())
    return PluginOverview(
        plugins=[{"plugin": r.name, "version": r.version, "status": r.status,
                  "tools": ", ".join(r.tools), "policies": ", ".join(r.policies),
                  "permissions": ", ".join(r.permissions),
                  "knowledge": ", ".join(r.knowledge_sources), "error": r.error or ""}
                 for r in records],
        tools=[{"tool": t.name, "risk": t.risk, "scopes": " ".join(str(s) for s in t.scopes),
                "description": t.description} for t in rt.tools.values()],
        policies=[{"policy": p.name, "stage": p.stage, "applies to": p.applies_to.describe(),
                   "description": p.description} for p in rt.plugins.policies.values()],
        failed=[(r.name, r.error or "") for r in records if r.status == "failed"],
        planner=rt.planner.name,
    )


def effective_configuration(rt: Runtime, user: str) -> dict[str, Any]:
    """The configuration with secrets masked; needs ``config.view``."""
    _require(rt, user, "config.view", "config.view")
    return rt.config.masked()


# -- knowledge ------------------------------------------------------------------------------


def upload_labels(rt: Runtime, user: str) -> list[str]:
    """The access labels ``user`` may give an upload: those their role may read."""
    role = rt.config.roles.get(_role(rt, user))
    return list(role.access) if role is not None else []


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "user"


def upload_source_name(user: str, name: str) -> str:
    """The source an upload named ``name`` by ``user`` goes into: ``uploads-<user>-<name>``
    (the owner is recorded in the manifest too; the name alone proves nothing)."""
    return f"{UPLOAD_PREFIX}{_slug(user)}-{name}"


def _protected_sources(rt: Runtime) -> set[str]:
    """Sources no upload may touch: every plugin's and every configured path's."""
    return {*rt.plugins.knowledge_sources, *(p.source for p in rt.config.knowledge.paths)}


@dataclass
class UploadOutcome:
    """What one upload did: its source, label, the ingestion report and the files refused
    for the label their front matter sets."""

    source: str
    access: str
    report: IngestReport
    refused: list[tuple[str, str]] = field(default_factory=list)


def upload_documents(rt: Runtime, user: str, files: Iterable[tuple[str, bytes]], name: str,
                     access: str, *, session_id: str = "",
                     progress: ProgressCallback | None = None) -> UploadOutcome:
    """Ingest uploaded ``files`` (file name, bytes) into ``user``'s upload source ``name``,
    labelled ``access``. Needs ``knowledge.upload``; ``access`` and every front-matter label
    must be one the user's role may read (a file whose front matter sets another is refused,
    reported and audited). Refusals raise :class:`PermissionDenied` (audited); a bad name or
    a source that is not the user's raises :class:`~lamworks.KnowledgeError` (audited)."""
    from lamworks.knowledge import ingest_path

    files = list(files)
    what = {"upload": name, "access": access, "files": len(files)}
    _require(rt, user, "knowledge.upload", "knowledge.upload", session_id=session_id,
             detail=what)
    labels = upload_labels(rt, user)
    if access not in labels:
        raise _refuse(rt, user, "knowledge.upload", "knowledge.upload", session_id=session_id,
                      detail=what, reason=f"You may only label documents with an access label "
                                          f"your role may read ({', '.join(labels)}).")
    if not _NAME.match(name):
        _audit_failed(rt, user, "knowledge.upload", session_id, what,
                      "bad source name")
        raise KnowledgeError("A source name uses lower-case letters, digits, - and _ only.")
    source = upload_source_name(user, name)
    kb = rt.services["knowledge"].get()
    owner = kb.manifest.upload_owners().get(source)
    if source in _protected_sources(rt) or (owner is not None and owner != user) or (
            owner is None and source in kb.manifest.sources()):
        _audit_failed(rt, user, "knowledge.upload", session_id, {**what, "source": source},
                      "not the uploader's source")
        raise KnowledgeError(f"{source!r} is not one of your upload sources; choose another "
                             "name.")
    if kb.manifest.claim_upload(source, user, _now()) != user:
        raise KnowledgeError(f"{source!r} is not one of your upload sources.")
    folder = rt.config.data_dir / "uploads" / source
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for file_name, data in files:
        safe = Path(file_name).name
        if not safe or safe.startswith("."):
            continue
        (folder / safe).write_bytes(data)
        written.append(safe)
    report = ingest_path(kb, folder, source, access, progress, allowed_access=labels,
                         description=f"Uploaded by {user}")
    refused = [(p.path, p.message) for p in report.refused]
    for path, _label in refused:
        (folder / path).unlink(missing_ok=True)  # never indexed; not kept either
    rt.audit.append(
        actor=user, role=_role(rt, user), session_id=session_id, event="knowledge.uploaded",
        tool="knowledge.upload",
        arguments={"source": source, "access": access,
                   "files": [scrub_identifiers(n) for n in written]},
        decisions=[{"kind": "deny", "policy": PERMISSION_POLICY,
                    "reason": f"front matter sets access {label!r}, which the uploader may "
                              "not set"} for _path, label in refused],
        outcome="refused" if refused and not (report.added or report.changed) else (
            "partial" if refused or report.failed else "executed"),
        detail={"added": len(report.added), "changed": len(report.changed),
                "failed": len(report.failed), "chunks_written": report.chunks_written,
                "refused": [{"file": scrub_identifiers(p), "access": label}
                            for p, label in refused]})
    return UploadOutcome(source=source, access=access, report=report, refused=refused)


def _audit_failed(rt: Runtime, user: str, tool: str, session_id: str,
                  arguments: dict[str, Any], reason: str) -> None:
    rt.audit.append(actor=user, role=_role(rt, user), session_id=session_id,
                    event=f"{tool}.refused", tool=tool, arguments=arguments,
                    outcome="denied", detail={"reason": reason})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def deletable_sources(rt: Runtime, user: str) -> list[str]:
    """The upload sources ``user`` may delete: their own with ``knowledge.delete``, every
    upload source with ``knowledge.delete.any``; never a plugin's or a configured one."""
    if not rt.permits(user, "knowledge.delete"):
        return []
    owners = rt.services["knowledge"].get().manifest.upload_owners()
    protected = _protected_sources(rt)
    every = rt.permits(user, "knowledge.delete.any")
    return [s for s, owner in owners.items()
            if s not in protected and (every or owner == user)]


def delete_upload_source(rt: Runtime, user: str, source: str, *,
                         session_id: str = "") -> int:
    """Delete an upload source ``user`` may delete (see :func:`deletable_sources`); returns
    the chunks removed. Audited, and so is a refusal."""
    from lamworks.knowledge import drop_source

    _require(rt, user, "knowledge.delete", "knowledge.delete", session_id=session_id,
             detail={"source": source})
    if source not in deletable_sources(rt, user):
        raise _refuse(rt, user, "knowledge.delete", "knowledge.delete", session_id=session_id,
                      detail={"source": source}, reason=(
                          "You can only delete upload sources you may delete (your own, or "
                          "anyone's with knowledge.delete.any); never a plugin's or a "
                          "configured source."))
    kb = rt.services["knowledge"].get()
    files = len(kb.manifest.files(source))
    removed = drop_source(kb, source)
    shutil.rmtree(rt.config.data_dir / "uploads" / source, ignore_errors=True)
    rt.audit.append(actor=user, role=_role(rt, user), session_id=session_id,
                    event="knowledge.deleted", tool="knowledge.delete",
                    arguments={"source": source}, outcome="executed",
                    detail={"files": files, "chunks_removed": removed})
    return removed


def visible_sources(rt: Runtime, user: str) -> list[Any]:
    """The ingested sources listed to ``user``: those holding a label their role may read."""
    from lamworks.knowledge import list_sources

    labels = set(upload_labels(rt, user))
    return [s for s in list_sources(rt.services["knowledge"].get()) if set(s.access) & labels]


# -- people: accounts and API tokens ---------------------------------------------------------

USERS_MANAGE = "users.manage"


@dataclass(frozen=True)
class AccountRow:
    """One person on the Users page: an account, or someone ``[users]`` declares without one.
    Never a hash or a token. Role and display name are the effective ones (lamworks.toml wins
    over the account, as :meth:`~lamworks.AccountStore.identity` decides)."""

    username: str
    role: str
    display_name: str
    source: str
    """``local``, ``oidc``, or ``lamworks.toml`` for a person without an account."""
    has_account: bool
    disabled: bool
    locked_until: float | None
    """When a lock-out after failed sign-ins ends; ``None`` when the account is not locked."""
    has_password: bool
    active_tokens: int
    created: float | None


def list_accounts(rt: Runtime, user: str, *, now: float | None = None) -> list[AccountRow]:
    """Every account, then the people lamworks.toml declares without one (as ``lamworks users
    list`` shows them); needs ``users.manage``. The store keeps no time of last sign-in (the
    ``sign_in`` audit rows do), so none is listed."""
    _require(rt, user, USERS_MANAGE, "user.list")
    moment = rt.accounts.clock() if now is None else now
    declared = rt.config.users
    rows: list[AccountRow] = []
    for info in rt.accounts.list():
        person = declared.get(info.username)
        locked = info.locked_until is not None and info.locked_until > moment
        rows.append(AccountRow(
            username=info.username, role=person.role if person else info.role,
            display_name=(person.display_name if person else "") or info.display_name,
            source=info.source, has_account=True, disabled=info.disabled,
            locked_until=info.locked_until if locked else None,
            has_password=info.has_password, active_tokens=info.active_tokens,
            created=info.created))
    with_account = {row.username for row in rows}
    rows.extend(AccountRow(username=name, role=person.role, display_name=person.display_name,
                           source="lamworks.toml", has_account=False, disabled=False,
                           locked_until=None, has_password=False, active_tokens=0, created=None)
                for name, person in declared.items() if name not in with_account)
    return rows


def assignable_roles(rt: Runtime) -> list[str]:
    """The roles a new account may be given: those of ``[roles]``, in the file's order."""
    return list(rt.config.roles)


def _audit_change(rt: Runtime, user: str, event: str, tool: str, session_id: str,
                  arguments: dict[str, Any], detail: dict[str, Any] | None = None) -> None:
    """One audit row for one change to an account: who did it, to whom, never a secret."""
    rt.audit.append(actor=user, role=_role(rt, user), session_id=session_id, event=event,
                    tool=tool, arguments=arguments, outcome="executed", detail=detail or {})


def add_account(rt: Runtime, user: str, username: str, *, role: str | None = None,
                display_name: str = "", password: str | None = None,
                password_again: str | None = None, session_id: str = "") -> AccountRow:
    """Create a local account, as ``lamworks users add`` does; needs ``users.manage``.

    ``role`` must be one of ``[roles]``; ``None`` takes the role ``[users.NAME]`` declares (a
    declared name keeps its configured role: another one is refused). ``password`` must be typed
    twice (``password_again``) and be at least :data:`~lamworks.accounts.MIN_PASSWORD_LENGTH`
    characters; ``None`` makes an account for a script or service (API tokens only). A refusal
    raises :class:`~lamworks.LamworksError` with the reason. Audited as ``user.added``."""
    _require(rt, user, USERS_MANAGE, "user.add", session_id=session_id,
             detail={"username": username})
    if password is not None and password != password_again:
        raise LamworksError("The two passwords differ: type the same password twice.")
    who = rt.accounts.add(username, role=role, password=password, display_name=display_name)
    _audit_change(rt, user, "user.added", "user.add", session_id,
                  {"username": who.username, "role": who.role},
                  {"password": password is not None})
    return next(row for row in list_accounts(rt, user) if row.username == who.username)


def disable_account(rt: Runtime, user: str, username: str, *, session_id: str = "") -> None:
    """Refuse the account everywhere until it is enabled again (its web sessions end); needs
    ``users.manage``. Nobody may disable their own account. Audited as ``user.disabled``."""
    _require(rt, user, USERS_MANAGE, "user.disable", session_id=session_id,
             detail={"username": username})
    if username == user:
        _audit_failed(rt, user, "user.disable", session_id, {"username": username},
                      "one's own account")
        raise LamworksError("You cannot disable your own account: you would be signed out at "
                            "once and could leave nobody able to manage users. Ask another "
                            "administrator to do it.")
    rt.accounts.disable(username)
    _audit_change(rt, user, "user.disabled", "user.disable", session_id,
                  {"username": username})


def enable_account(rt: Runtime, user: str, username: str, *, session_id: str = "") -> None:
    """Accept a disabled account again and lift a lock-out; needs ``users.manage``. Audited as
    ``user.enabled``."""
    _require(rt, user, USERS_MANAGE, "user.enable", session_id=session_id,
             detail={"username": username})
    rt.accounts.enable(username)
    _audit_change(rt, user, "user.enabled", "user.enable", session_id, {"username": username})


def set_account_password(rt: Runtime, user: str, username: str, password: str,
                         password_again: str, *, session_id: str = "") -> None:
    """Give a local account a new password (typed twice, at least
    :data:`~lamworks.accounts.MIN_PASSWORD_LENGTH` characters); it lifts a lock-out and ends
    the account's web sessions. Needs ``users.manage``. Audited as ``user.password_set``."""
    _require(rt, user, USERS_MANAGE, "user.password", session_id=session_id,
             detail={"username": username})
    if password != password_again:
        raise LamworksError("The two passwords differ: type the same password twice.")
    rt.accounts.set_password(username, password)
    _audit_change(rt, user, "user.password_set", "user.password", session_id,
                  {"username": username})


def issue_api_token(rt: Runtime, user: str, username: str, label: str = "", *,
                    session_id: str = "") -> str:
    """A new API token for the account, returned once (only its SHA-256 is kept); needs
    ``users.manage``. Audited as ``token.issued`` with the token's id (the first 12 hex digits
    of its hash, as listings show it), never the token."""
    _require(rt, user, USERS_MANAGE, "token.issue", session_id=session_id,
             detail={"username": username})
    token = rt.accounts.issue_token(username, label)
    _audit_change(rt, user, "token.issued", "token.issue", session_id,
                  {"username": username, "token": hash_secret(token)[:12], "label": label})
    return token


def api_tokens(rt: Runtime, user: str, username: str | None = None) -> list[TokenInfo]:
    """The API tokens of one account (or of all), oldest first, by id; never the tokens.
    Needs ``users.manage``."""
    _require(rt, user, USERS_MANAGE, "token.list", detail={"username": username or "*"})
    return rt.accounts.tokens(username)


def revoke_api_token(rt: Runtime, user: str, username: str, token_id: str, *,
                     session_id: str = "") -> str:
    """Revoke the account's active token named by ``token_id`` (the id listings show); returns
    the id revoked. Needs ``users.manage``. Audited as ``token.revoked`` with the id, never the
    token (a token given instead of its id is recorded by its id)."""
    _require(rt, user, USERS_MANAGE, "token.revoke", session_id=session_id,
             detail={"username": username})

    def active() -> set[str]:
        return {t.id for t in rt.accounts.tokens(username) if t.revoked is None}

    before = active()
    rt.accounts.revoke_token(username, token_id)
    revoked = sorted(before - active())
    if not revoked:
        raise LamworksError(f"{username!r} has no active token with that id.")
    _audit_change(rt, user, "token.revoked", "token.revoke", session_id,
                  {"username": username, "token": revoked[0]})
    return revoked[0]
