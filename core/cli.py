"""The ``lamworks`` command line (typer).

The configuration comes from ``--config PATH``, else ``LAMWORKS_CONFIG``, else ``./lamworks.toml``.
Commands that only read (``plugins``, ``tools``, ``config check``, ``audit``) never load a model.
Exit codes: 0 ok, 1 a failed check (``audit verify``, ``audit checkpoint`` on a broken chain),
2 bad input or configuration — including a store that cannot be opened (a folder or a file that
is not SQLite where a database should be, a data folder that cannot be written).

``ask`` and ``chat`` say on standard error that they are starting (loading the plugins, once per
command, and the planner's model) before the slow part; standard output carries only results,
and on a pipe or a file its lines are never folded or cut (JSON is exactly ``json.dumps``'s).

Text that comes from people, documents, plugins or the stores is printed as it is: never read as
Rich markup (``[/b]`` in a question is just text), so every such value is escaped.

The ``lamworks`` script runs ``root``: ``app``'s commands, each built only when it runs
(:mod:`lamworks.cli_lazy`), and the command groups that the plugins declare in their entry
points, listed by ``--help`` without importing any plugin and built by the plugin's
``register_commands`` hook when used (:mod:`lamworks.cli_plugins`). ``app`` is the registry of
the core's commands, and what in-process tests invoke.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from .cli_lazy import LazyEntry, LazyGroup, group_builder, registry_entries
from .errors import ConfigError, LamworksError

# Everything else is imported where it is used (sqlite3, uuid and rich's tables too):
# `lamworks --help` must not pay for pydantic settings, the stores or the plugins (issue 15:
# under half a second). The commands themselves are built only when used (`root`, below).
if TYPE_CHECKING:
    from rich.table import Table

    from .audit import AuditLog
    from .audit_signing import AuditCheckpoint
    from .cli_plugins import DeclaredGroup
    from .config import InstitutionConfig
    from .extensions import CommandGroup
    from .plan import Step, Turn
    from .plugins import PluginManager

__all__ = ["app", "current_config", "main"]

# Help is Markdown: `code` renders as code, and [users] or <...> are text, not Rich markup.
_HELP: dict[str, Any] = {"no_args_is_help": True, "rich_markup_mode": "markdown"}
app = typer.Typer(help="lamworks: plan, check, execute and audit actions.",
                  add_completion=False, **_HELP)
audit_app = typer.Typer(help="Verify, sign and export the audit log.", **_HELP)
config_app = typer.Typer(help="Check an institution configuration.", **_HELP)
kb_app = typer.Typer(help="Ingest, list, search and drop knowledge sources.", **_HELP)
users_app = typer.Typer(help="Local accounts and API tokens (see docs/auth.md).", **_HELP)
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(config_app, name="config")
app.add_typer(kb_app, name="kb")
mcp_app = typer.Typer(help="Offer one user's tools to agents over MCP (see docs/deploy.md).",
                      **_HELP)
app.add_typer(mcp_app, name="mcp")


def _console(*, stderr: bool = False) -> Console:
    """A console that never breaks a line it was given (``soft_wrap``); on a pipe or a file,
    where Rich would assume 80 columns, tables get all the width they need, so nothing is cut
    or folded (``$COLUMNS`` still wins)."""
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = _PIPE_WIDTH
    return console


_PIPE_WIDTH = 100_000
out = _console()
err = _console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c",
                 help="lamworks.toml (default: $LAMWORKS_CONFIG, then ./lamworks.toml)"),
]


def _config_path(path: Path | None) -> Path:
    if path is not None:
        return path
    env = os.environ.get("LAMWORKS_CONFIG")
    return Path(env) if env else Path("lamworks.toml")


T = TypeVar("T")


def _config_error(exc: ConfigError) -> NoReturn:
    err.print("[red]configuration error[/red]")
    err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _load(path: Path | None, *, given_as: str = "--config") -> InstitutionConfig:
    from .config import load_config

    where = _config_path(path)
    if not where.exists():
        _no_config(where, path, given_as)
    try:
        return load_config(where)
    except ConfigError as exc:
        _config_error(exc)


_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lamworks.toml"


def _no_config(where: Path, path: Path | None, given_as: str) -> NoReturn:
    """Exit 2 saying which file was looked for, why that one, and how to point at another."""
    if path is not None:
        why = f"given as {given_as}"
    elif os.environ.get("LAMWORKS_CONFIG"):
        why = "from $LAMWORKS_CONFIG"
    else:
        why = f"the default, ./lamworks.toml in {Path.cwd()}"
    example = _EXAMPLE if _EXAMPLE.is_file() else Path("examples/lamworks.toml")
    err.print("[red]configuration error[/red]")
    _plain(f"no configuration file: {where} does not exist ({why}).\n"
           "Point lamworks at one with --config PATH, or LAMWORKS_CONFIG=PATH in the "
           "environment.\n"
           f"To start from the example institution: {example} (in the lamworks repository: "
           "`lamworks config check examples/lamworks.toml`, then "
           "`--config examples/lamworks.toml`).", console=err)
    raise typer.Exit(2)


def _open_store(cfg: InstitutionConfig, what: str, opener: Callable[[], T], *,
                write: bool = True) -> T:
    """``opener()``, after checking the data folder and the store files; any problem with them
    (a folder or a non-SQLite file in a database's place, an unwritable folder) exits 2."""
    import sqlite3

    from .config import check_stores

    try:
        check_stores(cfg, write=write)
        return opener()
    except ConfigError as exc:
        _config_error(exc)
    except (sqlite3.Error, OSError, LamworksError) as exc:
        # StoreError and AuditError come from the stores; other errors are the runtime's own.
        from_store = (isinstance(exc, sqlite3.Error | OSError)
                      or type(exc).__name__ in ("StoreError", "AuditError"))
        err.print("[red]store error[/red]" if from_store else "[red]error[/red]")
        err.print(f"{cfg.source or 'lamworks.toml'}: {what}: {exc}" if from_store else str(exc),
                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@app.command()
def plugins(config: ConfigOption = None,
            json_out: Annotated[bool, typer.Option("--json", help="as JSON")] = False) -> None:
    """List loaded, failed and blocked plugins with their versions, tools, policies and sources."""
    cfg = _load(config)
    try:
        pm = _plugins(cfg)
    except ConfigError as exc:
        _config_error(exc)
    if json_out:
        _print_json([vars(r) for r in pm.records.values()])
        return
    for record in pm.records.values():
        colour = {"loaded": "green", "failed": "red", "blocked": "yellow"}[record.status]
        builtin = " (built-in)" if record.builtin else ""
        out.print(f"[bold]{escape(record.name)}[/bold] {escape(record.version)} "
                  f"[{colour}]{record.status}[/{colour}]{builtin}", highlight=False)
        policies = [f"{name} ({pm.policies[name].stage}; {pm.policies[name].applies_to.describe()})"
                    if name in pm.policies else name for name in record.policies]
        for label, items in (("tools", record.tools), ("policies", policies),
                             ("permissions", record.permissions),
                             ("knowledge", record.knowledge_sources),
                             ("slot extractors", record.slot_extractors),
                             ("planners", record.planners), ("pages", record.ui_pages)):
            if items:
                out.print(f"  {label}: {', '.join(items)}", markup=False, highlight=False,
                          soft_wrap=True)
        if record.error:
            out.print(f"  [red]error:[/red] {escape(record.error)}", highlight=False,
                      soft_wrap=True)
    for warning in [*pm.warnings, *_undeclared_groups(pm)]:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def _undeclared_groups(pm: PluginManager) -> list[str]:
    """A warning for each command group a plugin registers but does not declare."""
    if not pm.commands:
        return []
    from .cli_plugins import COMMANDS_GROUP, declared_groups

    declared = declared_groups()
    return [f"plugin {group.plugin!r} registers command group {name!r} without declaring it "
            f"(entry point {name} in group {COMMANDS_GROUP} of its distribution): it runs, but "
            "`lamworks --help` does not list it"
            for name, group in pm.commands.items()
            if name not in declared or declared[name].plugin != group.plugin]


@app.command()
def tools(config: ConfigOption = None,
          json_out: Annotated[bool, typer.Option("--json", help="JSON schemas")] = False) -> None:
    """List every available tool (``--json``: their MCP tool descriptions)."""
    try:
        pm = _plugins(_load(config))
    except ConfigError as exc:
        _config_error(exc)
    if json_out:
        _print_json([t.to_mcp_tool() for t in pm.tools.values()])
        return
    table = _table("tool", "risk", "scopes", "description")
    for t in pm.tools.values():
        table.add_row(Text(t.name), t.risk, Text(" ".join(str(s) for s in t.scopes)),
                      Text(t.description))
    out.print(table)


@app.command("permissions")
def permissions_command(
    config: ConfigOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
) -> None:
    """List every permission (the core's and the plugins') and the roles that hold it."""
    from .permissions import Permissions

    cfg = _load(config)
    try:
        pm = _plugins(cfg)
        perms = Permissions(cfg, pm.permissions, unavailable_plugins=[
            r.name for r in pm.records.values() if r.status != "loaded"])
    except ConfigError as exc:
        _config_error(exc)
    holders = {p.name: [r for r in cfg.roles if p.name in perms.granted(r)]
               for p in perms.declared.values()}
    if json_out:
        _print_json([
            {"permission": p.name, "plugin": p.plugin or "core", "default": p.default,
             "roles": holders[p.name], "description": p.description}
            for p in perms.declared.values()])
        return
    table = _table("permission", "default", "roles", "description")
    for p in perms.declared.values():
        table.add_row(Text(p.name), "yes" if p.default else "", Text(", ".join(holders[p.name])),
                      Text(p.description))
    out.print(table)
    for warning in perms.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def _print_json(data: Any) -> None:
    """JSON on standard output: coloured on a terminal; on a pipe or a file, exactly what
    ``json.dumps`` wrote, so that the reader gets valid JSON whatever the lengths."""
    if out.is_terminal:
        out.print_json(data=data)
    else:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


_mounted_plugins: list[PluginManager] = []
"""The plugins main() loaded to find a command group no plugin declared (at most one manager):
a command that then asks for the plugins reuses them rather than importing and registering every
plugin a second time. Only main() fills it, so an in-process test runner's invocations never
share plugins."""


def _plugins(cfg: InstitutionConfig) -> PluginManager:
    """The plugins of ``cfg``: those main() loaded, when it loaded them for an equal
    configuration, else loaded now (invalid plugin settings raise :class:`ConfigError`).
    Each command asks once."""
    for pm in _mounted_plugins:
        if pm.config == cfg:
            return pm
    from .plugins import make_plugin_manager

    return make_plugin_manager(cfg)


_STARTING = "Starting lamworks (loading plugins and the planner's model)…"


@contextmanager
def _starting(message: str = _STARTING) -> Iterator[None]:
    """Say on standard error what the slow start is doing (a spinner on a terminal, a plain
    line otherwise), so standard output carries only the answer."""
    if err.is_terminal:
        with err.status(message):
            yield
    else:
        _plain(message, style="dim", console=err)
        yield


def _runtime(cfg: InstitutionConfig, *, operator: str | None = None) -> Any:
    from .runtime import Runtime

    runtime = _open_store(cfg, "cannot open the runtime's stores",
                          lambda: Runtime(cfg, plugins=_plugins(cfg), operator=operator))
    report = runtime.startup_report
    for line in report.failed_plugins:
        err.print(f"[yellow]plugin disabled:[/yellow] {escape(line)}", highlight=False)
    for line in report.unresolved:
        err.print(f"[yellow]journal entry needs an operator:[/yellow] {escape(line)}",
                  highlight=False)
    return runtime


def _print_step(step: Step) -> None:
    colour = {"executed": "green", "denied": "red", "failed": "red",
              "awaiting_confirmation": "yellow"}.get(step.status, "white")
    out.print(f"  [bold]{escape(step.tool)}[/bold] [{colour}]{escape(step.status)}[/{colour}]",
              highlight=False)
    _plain(f"    arguments: {json.dumps(step.arguments, default=str, ensure_ascii=False)}")
    for name, span in step.spans.items():
        _plain(f"      {name} ← “{span.text}” [{span.start}:{span.end}]")
    for d in step.decisions:
        reason = f": {d.reason}" if d.reason else ""
        fields = f" {list(d.fields)}" if d.fields else ""
        _plain(f"    policy {d.policy} → {d.kind}{fields}{reason}")
    if step.result is not None and step.result.data is not None:
        _plain(f"    result: {json.dumps(step.result.data, default=str, ensure_ascii=False)}")
    if step.error:
        _plain(f"    error: {step.error}")


def _plain(text: str, *, style: str | None = None, console: Console = out) -> None:
    """Print text that came from people, documents or plugins: never read as markup."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def _table(*headers: str) -> Table:
    from rich.table import Table

    return Table(*headers)


def _short_id() -> str:
    import uuid

    return uuid.uuid4().hex[:8]


def _print_turn(turn: Turn, explain: bool) -> None:
    if explain and turn.plan and turn.plan.why:
        why = turn.plan.why
        _plain(f"planner {why.planner}; candidates: "
               + ", ".join(f"{c.tool} {c.score:.3f}" for c in why.candidates), style="dim")
        for note in why.notes:
            _plain(f"  {note}", style="dim")
    if turn.steps:
        out.print("[bold]plan[/bold]")
        for step in turn.steps:
            _print_step(step)
    if turn.follow_up and explain:
        follow = turn.follow_up
        filled = {k: v for k, v in follow.arguments.items() if not k.startswith("__")}
        _plain(f"missing: {follow.field} of {follow.tool}; filled so far: "
               f"{json.dumps(filled, default=str, ensure_ascii=False)}", style="dim")
        for name, span in follow.spans.items():
            _plain(f"  {name} ← “{span.text}” [{span.start}:{span.end}]", style="dim")
    for c in turn.citations:
        where = " › ".join(p for p in (c.title or c.source, c.section) if p)
        _plain(f"  source: {where}", style="dim")
    out.print(f"[bold cyan]assistant:[/bold cyan] {escape(turn.answer)}", highlight=False,
              soft_wrap=True)


def _settle_confirmations(runtime: Any, turn: Turn, yes: bool, explain: bool) -> Turn:
    while turn.awaiting_confirmation is not None:
        step = turn.awaiting_confirmation
        if yes:
            approve = True
        elif sys.stdin.isatty():
            approve = typer.confirm(f"Run {step.tool} with these arguments?", default=False)
        else:
            _plain(f"(awaiting confirmation: lamworks confirm --session {turn.session_id} "
                   f"{step.id}, or pass --yes)")
            return turn
        turn = (runtime.confirm(turn.session_id, step.id) if approve
                else runtime.cancel(turn.session_id, step.id))
        _print_turn(turn, explain)
    return turn


# -- who is asking: a token, the operator, or (demo mode only) a name -----------------------------

TokenOption = Annotated[str | None, typer.Option(
    "--token", metavar="TOKEN", show_default=False,
    help="Act as the user this API token belongs to (default: $LAMWORKS_TOKEN); "
         "`lamworks users token NAME` issues one.")]
OperatorOption = Annotated[bool, typer.Option(
    "--operator", help="Act as the local operator, with the role of the user named by --as; "
                       "the audit log names your machine account (operator:ACCOUNT as NAME).")]
AsOption = Annotated[str | None, typer.Option(
    "--as", metavar="NAME", show_default=False,
    help="With --operator: the user (in [users], or an account) whose role you act with.")]
UserOption = Annotated[str | None, typer.Option(
    "--user", "-u", show_default=False,
    help="Demo mode only ([auth] mode = \"demo\"): act as this user without proof.")]


def _who(cfg: InstitutionConfig, *, user: str | None, token: str | None, operator: bool,
         as_user: str | None) -> tuple[str, str | None]:
    """The user a command acts for and, with ``--operator``, the operator's machine account;
    anything else exits 2 saying what to pass."""
    import getpass

    from .accounts import AccountStore
    from .errors import SignInError

    if operator or user:
        token = token or None  # an explicit choice wins over $LAMWORKS_TOKEN
    else:
        token = token or os.environ.get("LAMWORKS_TOKEN") or None
    chosen = [name for name, given in (("--token", token), ("--operator", operator),
                                       ("--user", user)) if given]
    how = ("--token TOKEN (or $LAMWORKS_TOKEN; `lamworks users token NAME` issues one), or "
           "--operator --as NAME")
    if len(chosen) > 1:
        _fail(f"give one of {' and '.join(chosen)}: {how}")
    if as_user and not operator:
        _fail("--as NAME goes with --operator (the operator acting with NAME's role)")
    if not chosen:
        demo = ", or --user NAME (demo mode)" if cfg.auth.mode == "demo" else ""
        _fail(f"say who is asking: {how}{demo}")
    if user and cfg.auth.mode != "demo":
        _fail(f"--user works only in demo mode ([auth] mode = \"demo\"; this configuration "
              f"says {cfg.auth.mode!r}): anyone could claim any name. Use {how}.")
    if operator and not as_user:
        _fail("--operator acts with a user's role: add --as NAME (a user in [users] or an "
              "account)")
    name = (as_user if operator else user) or ""
    accounts = _open_store(cfg, "cannot open the account database", lambda: AccountStore(cfg))
    try:
        if token:
            return accounts.identity_for_token(token).username, None
        accounts.identity(name)
    except SignInError as exc:
        _fail(str(exc))
    except LamworksError as exc:  # an unknown user
        known = ", ".join(sorted(cfg.users)) or "none declared"
        _fail(f"{exc} Users in [users]: {known}; accounts: `lamworks users list`.")
    finally:
        accounts.close()
    if not operator:
        return name, None
    try:
        account = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container without /etc/passwd entry)
        account = f"uid{os.getuid()}"
    return name, account


def _fail(message: str) -> NoReturn:
    _plain(message, style="red", console=err)
    raise typer.Exit(2)


@app.command()
def ask(
    utterance: Annotated[str, typer.Argument(help="What you want done, in plain language.")],
    token: TokenOption = None,
    operator: OperatorOption = False,
    as_user: AsOption = None,
    user: UserOption = None,
    config: ConfigOption = None,
    session: Annotated[str | None, typer.Option(help="Continue this session id.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm risky steps.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Show why: candidates, spans.")]
    = False,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print the turn (and, with --yes, the confirmed ones) as one JSON object "
                       "on standard output; never asks: a step awaiting confirmation stays "
                       "pending without --yes.")] = False,
) -> None:
    """One turn: print the plan, the policy decisions and the result.

    Who is asking: --token TOKEN (or $LAMWORKS_TOKEN), or --operator --as NAME; --user NAME only
    in demo mode."""
    cfg = _load(config)
    user, operator_account = _who(cfg, user=user, token=token, operator=operator,
                                  as_user=as_user)
    session_id = session or f"cli-{_short_id()}"
    with _starting():  # the first turn loads the planner's model
        runtime = _runtime(cfg, operator=operator_account)
        try:
            turn = runtime.handle(session_id, user, utterance)
        except BaseException:
            runtime.close()
            raise
    try:
        if json_out:
            turns = [turn]
            while yes and turn.awaiting_confirmation is not None:
                turn = runtime.confirm(turn.session_id, turn.awaiting_confirmation.id)
                turns.append(turn)
            _print_json({"session_id": session_id, "turns": [_turn_json(t) for t in turns]})
            return
        _print_turn(turn, explain)
        _settle_confirmations(runtime, turn, yes, explain)
    finally:
        runtime.close()  # with a signing key, the audit head is signed here
    _plain(f"session {session_id}", style="dim")


def _turn_json(turn: Turn) -> Any:
    """A turn as JSON, without confirmation tokens (standard output may end up in a log; a
    pending step is confirmed with `lamworks confirm`, which reads the token from the store)."""
    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items() if k != "confirmation_token"}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return scrub(turn.model_dump(mode="json"))


@app.command("confirm")
def confirm_step(
    step_id: Annotated[str, typer.Argument(help="The step awaiting confirmation.")],
    session: Annotated[str, typer.Option(help="The session id.")],
    token: TokenOption = None,
    operator: OperatorOption = False,
    as_user: AsOption = None,
    user: UserOption = None,
    config: ConfigOption = None,
) -> None:
    """Confirm a step left awaiting confirmation by ``ask``, as the user who asked (the same
    --token, --operator --as NAME or, in demo mode, --user)."""
    cfg = _load(config)
    user, operator_account = _who(cfg, user=user, token=token, operator=operator,
                                  as_user=as_user)
    runtime = _runtime(cfg, operator=operator_account)
    try:
        runtime.sessions.load(session, user)  # another user's conversation is refused
        _print_turn(runtime.confirm(session, step_id), False)
    except LamworksError as exc:
        _plain(str(exc), style="red", console=err)
        raise typer.Exit(2) from None
    finally:
        runtime.close()


@app.command()
def chat(
    token: TokenOption = None,
    operator: OperatorOption = False,
    as_user: AsOption = None,
    user: UserOption = None,
    config: ConfigOption = None,
    explain: Annotated[bool, typer.Option("--explain")] = False,
) -> None:
    """An interactive conversation; risky steps ask for confirmation. Ctrl-D to leave.

    Who is asking: --token TOKEN (or $LAMWORKS_TOKEN), or --operator --as NAME; --user NAME only
    in demo mode."""
    cfg = _load(config)
    user, operator_account = _who(cfg, user=user, token=token, operator=operator,
                                  as_user=as_user)
    with _starting("Starting lamworks (loading plugins)…"):
        runtime = _runtime(cfg, operator=operator_account)
    try:
        _chat(runtime, user, explain)
    finally:
        runtime.close()


def _chat(runtime: Any, user: str, explain: bool) -> None:
    session_id = f"chat-{_short_id()}"
    _plain(f"lamworks chat as {user} (session {session_id}); Ctrl-D to leave", style="dim")
    first = True
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if not line:
            continue
        if first:
            first = False
            with _starting("Loading the planner's model (first request only)…"):
                turn = runtime.handle(session_id, user, line)
        else:
            turn = runtime.handle(session_id, user, line)
        _print_turn(turn, explain)
        while turn.awaiting_confirmation is not None:
            step = turn.awaiting_confirmation
            try:
                answer = input("confirm? [y/N]> ").strip().lower()
            except (EOFError, KeyboardInterrupt):
                answer = "n"
            turn = (runtime.confirm(session_id, step.id) if answer in ("y", "yes")
                    else runtime.cancel(session_id, step.id))
            _print_turn(turn, explain)


def _public_keys(cfg: InstitutionConfig, paths: list[Path]) -> tuple[list[Any], str]:
    """The keys to check checkpoints with (``--key``, else the configured signing key's public
    half), or none and a line saying why checkpoints are not checked."""
    from .audit_signing import CheckpointSigner, load_public_key, read_checkpoints

    if paths:
        keys = []
        for path in paths:
            try:
                keys.append(load_public_key(path.read_bytes()))
            except (OSError, ValueError) as exc:
                err.print(f"--key {path}: {getattr(exc, 'strerror', None) or exc}", style="red",
                          markup=False, highlight=False, soft_wrap=True)
                raise typer.Exit(2) from None
        return keys, ""
    try:
        signer = CheckpointSigner.from_config(cfg)
    except ConfigError as exc:
        return [], f"checkpoints: not checked ({exc}); pass --key PUBLIC"
    if signer is not None:
        return [signer.public_key], ("checkpoints checked with the configured signing key's "
                                     "public half; for an independent check pass --key PUBLIC")
    stored = len(read_checkpoints(cfg.audit_location))
    if stored:
        return [], f"checkpoints: {stored} signed, not checked (pass --key PUBLIC)"
    return [], ("checkpoints: not signed (no [audit] signing_key_file or signing_key_env is "
                "configured)")


def _read_anchor(path: Path) -> AuditCheckpoint:
    from .audit_signing import AuditCheckpoint

    try:
        return AuditCheckpoint.from_json(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        problem = exc.strerror or str(exc)
    except ValueError as exc:  # includes JSONDecodeError
        problem = str(exc)
    err.print(f"--anchor {path}: {problem}", style="red", markup=False, highlight=False,
              soft_wrap=True)
    raise typer.Exit(2)


@audit_app.command("verify")
def audit_verify(
    config: ConfigOption = None,
    key: Annotated[list[Path] | None, typer.Option(
        "--key", metavar="PUBLIC",
        help="Ed25519 public key (PEM, or the raw 32 bytes in base64): check the "
        "signed checkpoints (repeat it for the keys before a rotation)")] = None,
    anchor: Annotated[list[Path] | None, typer.Option(
        "--anchor", metavar="FILE",
        help="A checkpoint saved from `audit checkpoint`: the chain must still "
        "contain it (repeatable)")] = None,
) -> None:
    """Check the hash chain and its signed checkpoints (--key); exit 1 naming the first bad row."""
    from .audit_signing import verify_checkpoints

    cfg = _load(config)
    log = _audit_log(cfg, write=False)
    public_keys, note = _open_store(cfg, "cannot read the audit log",
                                    lambda: _public_keys(cfg, key or []), write=False)
    anchors = [_read_anchor(path) for path in anchor or []]
    if not public_keys:
        if anchors:
            err.print("[red]an anchored checkpoint is checked with the public key: pass --key "
                      "PUBLIC[/red]")
            raise typer.Exit(2)
        result = _open_store(cfg, "cannot read the audit log", log.verify, write=False)
        if not result.ok:
            err.print(str(result), style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1)
        out.print(str(result), style="green", markup=False, highlight=False, soft_wrap=True)
        out.print(note, markup=False, highlight=False, soft_wrap=True)
        return
    report = _open_store(cfg, "cannot read the audit log", lambda: verify_checkpoints(
        log, public_keys, every=cfg.audit.checkpoint_every, anchors=anchors), write=False)
    if not report.ok:
        err.print(str(report), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    out.print(str(report), style="green", markup=False, highlight=False, soft_wrap=True)
    if note:
        out.print(note, markup=False, highlight=False, soft_wrap=True)


@audit_app.command("checkpoint")
def audit_checkpoint(config: ConfigOption = None) -> None:
    """Sign the chain's head now and print it as JSON, to keep outside this machine.

    Refuses (exit 1) when the chain or its checkpoints do not verify. ``audit verify --anchor
    FILE --key PUBLIC`` later checks that the chain still contains it.
    """
    from .audit_signing import CheckpointSigner, read_checkpoints, sign_head, verify_checkpoints

    cfg = _load(config)
    try:
        signer = CheckpointSigner.from_config(cfg)
    except ConfigError as exc:
        _config_error(exc)
    if signer is None:
        err.print("no signing key: set [audit] signing_key_file or signing_key_env (lamworks "
                  "audit keygen writes a key pair)", style="red", markup=False, highlight=False,
                  soft_wrap=True)
        raise typer.Exit(2)
    log = _audit_log(cfg)
    report = _open_store(cfg, "cannot read the audit log",
                         lambda: verify_checkpoints(log, signer.public_key, every=signer.every))
    first = report.chain.ok and not read_checkpoints(cfg.audit_location)
    if not report.ok and not first:
        err.print(f"refusing to sign: {report}", style="red", markup=False, highlight=False,
                  soft_wrap=True)
        raise typer.Exit(1)
    checkpoint = sign_head(cfg.audit_location, signer)
    if checkpoint is None:
        err.print("[red]the audit log is empty: nothing to sign[/red]")
        raise typer.Exit(2)
    if first:
        err.print("[yellow]note: the log had no signed checkpoint; this is its first[/yellow]")
    sys.stdout.write(json.dumps(checkpoint.to_json(), indent=2) + "\n")


@audit_app.command("keygen")
def audit_keygen(
    out_path: Annotated[Path, typer.Option(
        "--out", metavar="PATH",
        help="Private key file to write (mode 0600); the public key goes to PATH.pub")],
) -> None:
    """Write a new Ed25519 key pair for signing the audit chain's checkpoints."""
    import base64

    from .audit_signing import key_id, write_key_pair

    try:
        public_path, public_key = write_key_pair(out_path)
    except FileExistsError as exc:
        err.print(f"will not overwrite a key: {exc}", style="red", markup=False, highlight=False,
                  soft_wrap=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        err.print(f"cannot write {out_path}: {exc.strerror or exc}", style="red", markup=False,
                  highlight=False)
        raise typer.Exit(2) from None
    raw = base64.b64encode(public_key.public_bytes_raw()).decode("ascii")
    out.print(f"private key: {out_path} (mode 0600; keep it outside the data folder)\n"
              f"public key:  {public_path} (key id {key_id(public_key)}; raw base64 {raw})\n"
              f"in lamworks.toml:\n  [audit]\n  signing_key_file = \"{out_path.resolve()}\"",
              highlight=False, markup=False, soft_wrap=True)


@audit_app.command("export")
def audit_export(
    config: ConfigOption = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl, or a plugin's (fhir)")] = "jsonl",
) -> None:
    """Write every audit row to standard output."""
    cfg = _load(config)
    log = _audit_log(cfg, write=False)
    if fmt == "jsonl":
        for entry in log.entries():
            sys.stdout.write(json.dumps(entry.as_dict(), ensure_ascii=False) + "\n")
        return
    formats = _plugins(cfg).audit_formats
    if fmt not in formats:
        known = ", ".join(["jsonl", *sorted(formats)])
        _plain(f"unknown format {fmt!r}; supported: {known}", style="red", console=err)
        raise typer.Exit(2)
    formats[fmt].write(log.entries(), sys.stdout)


@audit_app.command("head")
def audit_head(config: ConfigOption = None) -> None:
    """Print the chain's head (sequence and hash), to anchor it outside this machine."""
    cfg = _load(config)
    seq, digest = _open_store(cfg, "cannot read the audit log", _audit_log(cfg, write=False).head,
                              write=False)
    out.print(f"{seq} {digest}")


def _audit_log(cfg: InstitutionConfig, *, write: bool = True) -> AuditLog:
    from .audit import AuditLog

    return _open_store(cfg, "cannot open the audit log", lambda: AuditLog(cfg.audit_location),
                       write=write)


def _kb(config: Path | None) -> Any:
    from .errors import KnowledgeError
    from .knowledge import KnowledgeBase

    cfg = _load(config)
    try:
        return cfg, _open_store(cfg, "cannot open the knowledge base",
                                lambda: KnowledgeBase.from_config(cfg))
    except KnowledgeError as exc:
        _plain(str(exc), style="red", console=err)
        raise typer.Exit(2) from None


def _source_owner(cfg: InstitutionConfig, kb: Any, source: str) -> str:
    """Whose ``source`` is, when it is not the operator's own: a plugin's, a configured path's
    or a person's upload source ("" otherwise)."""
    pm = _plugins(cfg)
    if source in pm.knowledge_sources:
        return f"the {pm.knowledge_sources[source].plugin!r} plugin's source"
    if any(p.source == source for p in cfg.knowledge.paths):
        return "a source configured in [knowledge.paths]"
    owner = kb.manifest.upload_owners().get(source)
    return f"{owner!r}'s upload source" if owner else ""


@kb_app.command("ingest")
def kb_ingest(
    path: Annotated[Path, typer.Argument(help="A folder (or file) of documents")],
    source: Annotated[str, typer.Option(help="Source name, e.g. handbook")],
    access: Annotated[str, typer.Option(help="Access label of every chunk")] = "public",
    config: ConfigOption = None,
) -> None:
    """Ingest a folder incrementally (unchanged files are not embedded again). A plugin's or a
    configured source is ingested by ``kb sync``, a person's upload source by its owner: never
    replaced from here."""
    from .errors import KnowledgeError
    from .knowledge import ingest_path, rich_progress

    cfg, kb = _kb(config)
    try:
        owned = _source_owner(cfg, kb, source)
        if owned:
            raise KnowledgeError(f"{source!r} is {owned}; it is not replaced from here (a "
                                 "plugin's or configured source: `lamworks kb sync`)")
        with rich_progress(f"Ingesting {source}") as progress:
            report = ingest_path(kb, path, source, access, progress)
    except KnowledgeError as exc:
        _plain(str(exc), style="red", console=err)
        raise typer.Exit(2) from None
    finally:
        kb.close()
    _plain(report.summary())
    for problem in [*report.failed, *report.skipped]:
        err.print(f"[yellow]skipped[/yellow] {escape(problem.path)}: {escape(problem.message)}",
                  highlight=False, soft_wrap=True)


@kb_app.command("sync")
def kb_sync(config: ConfigOption = None) -> None:
    """Ingest every plugin's knowledge sources and the institution's own paths."""
    from .knowledge import ingest_sources, rich_progress

    cfg, kb = _kb(config)
    pm = _plugins(cfg)
    try:
        with rich_progress("Ingesting") as progress:
            reports = ingest_sources(kb, [*pm.knowledge_sources.values(),
                                          *cfg.knowledge.paths], progress)
    finally:
        kb.close()
    for report in reports:
        _plain(report.summary())
        for problem in [*report.failed, *report.skipped]:
            err.print(f"[yellow]skipped[/yellow] {escape(problem.path)}: "
                      f"{escape(problem.message)}", highlight=False, soft_wrap=True)


@kb_app.command("list")
def kb_list(config: ConfigOption = None) -> None:
    """Sources with their files, chunks and access labels."""
    from .knowledge import list_sources

    _, kb = _kb(config)
    try:
        sources = list_sources(kb)
    finally:
        kb.close()
    table = _table("source", "files", "chunks", "access", "description")
    for info in sources:
        table.add_row(Text(info.source), str(info.files), str(info.chunks),
                      Text(", ".join(info.access)), Text(info.description))
    out.print(table)


@kb_app.command("search")
def kb_search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    user: Annotated[str | None, typer.Option(help="Search as this user (their role's access)")]
    = None,
    k: Annotated[int, typer.Option(help="How many passages")] = 5,
    config: ConfigOption = None,
) -> None:
    """Hybrid search, limited to what the user's role may read (public only without --user)."""
    from .errors import KnowledgeError
    from .knowledge import search

    _, kb = _kb(config)
    try:
        hits = search(kb, query, user=user, k=k)
    except KnowledgeError as exc:
        _plain(str(exc), style="red", console=err)
        raise typer.Exit(2) from None
    finally:
        kb.close()
    for rank, hit in enumerate(hits, 1):
        where = " › ".join(p for p in (hit.title or hit.source, hit.section) if p)
        flag = " [red](flagged: instruction-like text)[/red]" if hit.flagged else ""
        out.print(f"[bold]{rank}. {escape(where)}[/bold] [dim]{escape(hit.source)} · "
                  f"{escape(hit.access)} · score {hit.score:.3f}[/dim]{flag}", highlight=False)
        _plain(f"   {hit.text[:300]}")


@kb_app.command("drop")
def kb_drop(source: Annotated[str, typer.Argument(help="Source to remove")],
            config: ConfigOption = None,
            force: Annotated[bool, typer.Option(
                "--force", help="Also a plugin's, a configured or a person's upload source")]
            = False) -> None:
    """Remove a source and all its chunks (a plugin's, a configured or an upload source only
    with --force)."""
    from .errors import KnowledgeError
    from .knowledge import drop_source

    cfg, kb = _kb(config)
    try:
        owned = _source_owner(cfg, kb, source)
        if owned and not force:
            raise KnowledgeError(f"{source!r} is {owned}; add --force to drop it anyway")
        removed = drop_source(kb, source)
    except KnowledgeError as exc:
        _plain(str(exc), style="red", console=err)
        raise typer.Exit(2) from None
    finally:
        kb.close()
    _plain(f"dropped {source}: {removed} chunks")


@config_app.command("check")
def config_check(path: Annotated[Path, typer.Argument(help="lamworks.toml to check")]) -> None:
    """Validate a configuration file, including every plugin's settings."""
    from .config import check_stores

    cfg = _load(path, given_as="the path to check")
    try:
        pm = _plugins(cfg)
        check_stores(cfg, write=False)
    except ConfigError as exc:
        _config_error(exc)
    loaded = [r.name for r in pm.records.values() if r.status == "loaded"]
    out.print(f"[green]OK[/green] {escape(str(path))}: {escape(cfg.institution.name)}; "
              f"{len(cfg.roles)} roles, {len(cfg.users)} users; plugins: "
              f"{escape(', '.join(loaded))}", highlight=False, soft_wrap=True)
    for warning in pm.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


@app.command()
def ui(
    config: ConfigOption = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8501,
    address: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
) -> None:
    """Start the Streamlit web app on this configuration (demo mode: on loopback only)."""
    cfg_path = _config_path(config).resolve()
    from .accounts import is_loopback

    if _load(cfg_path).auth.mode == "demo" and not is_loopback(address):
        _fail(f"refusing to serve demo mode on {address!r}: in demo mode anyone who can open "
              "the page may act as anyone, so it listens on loopback only (127.0.0.1, ::1, "
              "localhost). Set [auth] mode = \"accounts\" (and `lamworks users add`) to serve "
              "others.")
    cfg = _load(cfg_path)
    from . import ui as ui_package

    app_file = Path(ui_package.__file__ or "").parent / "app.py"
    env = {**os.environ, "LAMWORKS_CONFIG": str(cfg_path)}
    # exec, not a child process: stopping `lamworks ui` stops the server (no orphans).
    command = [sys.executable, "-m", "streamlit", "run", str(app_file),
               "--server.address", address, "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "minimal",
               # Streamlit runs a full garbage collection after every script run; with the
               # embedding model's objects in the heap that is ~0.5 s, twice per request (the
               # run that plans and the rerun that draws the card): most of what a person
               # waited for (bench/ui_latency.py). Python's own generational GC still runs.
               "--runner.postScriptGC", "false",
               # Streamlit's captions are the text colour at 60 % opacity: from its default
               # grey they fall below WCAG's 4.5:1 contrast (axe: color-contrast); from black
               # they reach 5.7:1 on white and 5.1:1 on the sidebar's grey.
               "--theme.textColor", "#000000"]
    if cfg.auth.mode == "oidc":
        # st.login reads [auth] from a secrets file: written from [auth.oidc] and the
        # environment (mode 0600, in the data folder), and the only secrets file Streamlit reads.
        from .oidc import write_streamlit_secrets

        try:
            command += ["--secrets.files", str(write_streamlit_secrets(cfg))]
        except ConfigError as exc:
            _config_error(exc)
    sys.stdout.flush()
    os.execve(sys.executable, command, env)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the "
                                                     "model: ~0.5 GB)")] = 1,
) -> None:
    """Start the HTTP API (FastAPI under uvicorn; OpenAPI at /docs). Callers send
    `Authorization: Bearer TOKEN` (`lamworks users token NAME`, or an OpenID Connect access
    token with [auth.oidc]); demo mode serves on loopback only. See docs/deploy.md."""
    from .accounts import is_loopback
    from .config import check_stores

    cfg_path = _config_path(config).resolve()
    cfg = _load(cfg_path)
    if cfg.auth.mode == "demo" and not is_loopback(host):
        _fail(f"refusing to serve demo mode on {host!r}: in demo mode anyone who can reach the "
              "API may act as anyone (X-Lamworks-User), so it listens on loopback only "
              "(127.0.0.1, ::1, localhost). Set [auth] mode = \"accounts\" and issue API "
              "tokens (`lamworks users token NAME`) to serve others.")
    _open_store(cfg, "cannot open the runtime's stores", lambda: check_stores(cfg))
    import uvicorn  # late: `lamworks --help` must not pay for the web stack

    from .api import HOST_ENV

    os.environ["LAMWORKS_CONFIG"] = str(cfg_path)
    os.environ[HOST_ENV] = host  # each worker builds its app from these
    _plain(f"{_STARTING} then serving http://{host}:{port} (docs at /docs)", style="dim",
           console=err)
    uvicorn.run("lamworks.api:app_from_environment", factory=True, host=host, port=port,
                workers=workers, log_level="info")


# -- users: local accounts and API tokens ------------------------------------------------------

PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (one line) instead of "
                             "asking twice on the terminal.")]


def _accounts(config: Path | None) -> Any:
    from .accounts import AccountStore

    cfg = _load(config)
    return _open_store(cfg, "cannot open the account database", lambda: AccountStore(cfg))


def _account_work(config: Path | None, work: Callable[[Any], T]) -> T:
    """``work(accounts)``; a refusal (an unknown account, a role not in [roles], a short
    password) exits 2 with its message."""
    accounts = _accounts(config)
    try:
        return work(accounts)
    except LamworksError as exc:
        _fail(str(exc))
    finally:
        accounts.close()


def _new_password(from_stdin: bool) -> str:
    from .accounts import MIN_PASSWORD_LENGTH

    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        _fail("no terminal to ask for the password on: pass --password-stdin")
    password: str = typer.prompt(f"Password (at least {MIN_PASSWORD_LENGTH} characters)",
                                 hide_input=True, confirmation_prompt=True, err=True)
    return password


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The username")],
    role: Annotated[str | None, typer.Option(
        help="A role in [roles] (default: the role [users.NAME] declares)")] = None,
    display_name: Annotated[str, typer.Option(help="How the app greets them")] = "",
    password_stdin: PasswordStdin = False,
    no_password: Annotated[bool, typer.Option(
        "--no-password", help="An account for a script or service: API tokens only")] = False,
    config: ConfigOption = None,
) -> None:
    """Create a local account (asks for its password twice, hidden)."""
    password = None if no_password else _new_password(password_stdin)
    who = _account_work(config, lambda a: a.add(name, role=role, password=password,
                                                  display_name=display_name))
    kind = "tokens only" if password is None else "password set"
    _plain(f"added {who.username} (role {who.role}; {kind})")


@users_app.command("passwd")
def users_passwd(name: Annotated[str, typer.Argument(help="The username")],
                 password_stdin: PasswordStdin = False, config: ConfigOption = None) -> None:
    """Set an account's password (lifts a lock-out; signs out its web sessions)."""
    password = _new_password(password_stdin)
    _account_work(config, lambda a: a.set_password(name, password))
    _plain(f"password of {name} changed; its web sessions are signed out")


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="The username")],
                  config: ConfigOption = None) -> None:
    """Refuse the account everywhere (sign-in, tokens, the runtime) until enabled again."""
    _account_work(config, lambda a: a.disable(name))
    _plain(f"{name} is disabled; its web sessions are signed out")


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="The username")],
                 config: ConfigOption = None) -> None:
    """Accept a disabled account again (and lift a lock-out)."""
    _account_work(config, lambda a: a.enable(name))
    _plain(f"{name} is enabled")


@users_app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """Accounts, and the people lamworks.toml declares without one (never a hash or a token)."""
    from datetime import datetime

    cfg = _load(config)
    accounts = _account_work(config, lambda a: a.list())
    now = datetime.now().timestamp()
    table = _table("user", "role", "name", "source", "status", "password", "tokens")
    for info in accounts:
        status = "disabled" if info.disabled else "active"
        if info.locked_until is not None and info.locked_until > now:
            until = datetime.fromtimestamp(info.locked_until).strftime("%H:%M")
            status += f", locked until {until}"
        declared = cfg.users.get(info.username)
        table.add_row(Text(info.username), Text(declared.role if declared else info.role),
                      Text((declared.display_name if declared else "") or info.display_name),
                      info.source, status, "yes" if info.has_password else "no",
                      str(info.active_tokens))
    with_account = {info.username for info in accounts}
    for name, declared in cfg.users.items():
        if name not in with_account:
            table.add_row(Text(name), Text(declared.role), Text(declared.display_name),
                          "lamworks.toml", "no account", "no", "0")
    out.print(table)


@users_app.command("token")
def users_token(name: Annotated[str, typer.Argument(help="The account")],
                label: Annotated[str, typer.Option(help="What it is for")] = "",
                config: ConfigOption = None) -> None:
    """Issue an API token for the account and print it once (only its hash is kept)."""
    token = _account_work(config, lambda a: a.issue_token(name, label))
    err.print("This token is shown once; store it as a secret (LAMWORKS_TOKEN). Revoke it "
              f"with: lamworks users revoke-token {escape(name)} ID", highlight=False)
    sys.stdout.write(token + "\n")


@users_app.command("tokens")
def users_tokens(name: Annotated[str | None, typer.Argument(help="One account (default: all)")]
                 = None, config: ConfigOption = None) -> None:
    """API tokens by id (a prefix of the token's hash), label and last use; never the token."""
    from datetime import datetime

    def when(ts: float | None) -> str:
        return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"

    tokens = _account_work(config, lambda a: a.tokens(name))
    table = _table("id", "user", "label", "created", "last used", "revoked")
    for info in tokens:
        table.add_row(info.id, Text(info.username), Text(info.label), when(info.created),
                      when(info.last_used), when(info.revoked))
    out.print(table)


@users_app.command("revoke-token")
def users_revoke_token(
    name: Annotated[str, typer.Argument(help="The account")],
    token_id: Annotated[str | None, typer.Argument(
        metavar="ID", help="The id `lamworks users tokens` shows, or the token itself")] = None,
    all_tokens: Annotated[bool, typer.Option("--all", help="Every token of the account")]
    = False,
    config: ConfigOption = None,
) -> None:
    """Revoke one API token of the account (or --all)."""
    if (token_id is None) == (not all_tokens):
        _fail("name one token by its ID, or pass --all")
    revoked = _account_work(config, lambda a: a.revoke_token(name, token_id))
    if token_id is not None and revoked == 0:
        _fail(f"{name} has no active token {token_id!r} (see `lamworks users tokens {name}`)")
    _plain(f"revoked {revoked} token(s) of {name}")


# -- mcp: agents reach one user's tools (the SDK is imported only here) -------------------------


@mcp_app.command("serve")
def mcp_serve(
    token: TokenOption = None,
    user: UserOption = None,
    config: ConfigOption = None,
    transport: Annotated[str, typer.Option(
        help="stdio (the agent starts this command) or http (streamable HTTP on loopback)")]
    = "stdio",
    port: Annotated[int, typer.Option(help="With --transport http: port on 127.0.0.1")] = 8765,
) -> None:
    """Serve the tools the user's role may use as MCP tools; every call goes through the
    runtime (policies, confirmations by elicitation, journal, audit) as that user.

    Who: --token TOKEN (or $LAMWORKS_TOKEN); --user NAME only in demo mode. Standard output
    carries the protocol (stdio): messages go to standard error."""
    if transport not in ("stdio", "http"):
        _fail(f"--transport is stdio or http, not {transport!r}")
    cfg = _load(config)
    user, _ = _who(cfg, user=user, token=token, operator=False, as_user=None)
    with _starting("Starting lamworks MCP server (loading plugins)…"):
        runtime = _runtime(cfg)
    try:
        import anyio

        from .mcp_server import serve_http, serve_stdio

        if transport == "stdio":
            anyio.run(serve_stdio, runtime, user)
        else:
            _plain(f"MCP (streamable HTTP) for {user} at http://127.0.0.1:{port}/mcp",
                   console=err)
            serve_http(runtime, user, port=port)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()


def current_config() -> InstitutionConfig:
    """For plugin commands: the configuration the CLI was started with (``--config`` or env)."""
    return _load(None)


# -- the command line as `lamworks` runs it: commands built on use, plugin groups listed lazily --


_PLUGIN_PANEL = "Plugin commands"
_given_config: list[Path] = []
"""``--config`` when main() took it off the command line (the top level and plugin groups have
no such option): plugin groups load that file, and current_config() finds it in the env."""


class _Root(LazyGroup):
    """``lamworks``: the core's commands (``app``) and the plugins' declared command groups,
    each built only when used; ``--help`` imports no plugin (see :mod:`lamworks.cli_plugins`)."""

    def lazy_entries(self) -> dict[str, LazyEntry]:
        return registry_entries(app)

    def extra_entries(self) -> dict[str, LazyEntry]:
        from .cli_plugins import declared_groups, plugin_filter

        entries: dict[str, LazyEntry] = {}
        path = _given_config[0] if _given_config else _config_path(None)
        loads = plugin_filter(path) if path.is_file() else None
        for name, declared in declared_groups().items():  # a core name wins (LazyGroup)
            entries[name] = LazyEntry(
                name=name, panel=_PLUGIN_PANEL, build=partial(_plugin_group, declared),
                hidden=loads is None or not loads(declared.plugin),  # listed when it would load
                help=f"Commands of the {declared.plugin} plugin ({declared.distribution}"
                     f"{' ' + declared.version if declared.version else ''}).")
        return entries

    def unlisted_command(self, name: str) -> Any:
        return _undeclared_plugin_group(name)


def _plugin_group(declared: DeclaredGroup) -> Any:
    """The click group of a declared plugin command group: its plugin alone is loaded."""
    from .cli_plugins import GroupUnavailable, load_declared_group

    cfg = _load(_given_config[0] if _given_config else None)
    try:
        group = load_declared_group(declared, cfg)
    except ConfigError as exc:
        _config_error(exc)
    except GroupUnavailable as exc:
        err.print("[red]plugin error[/red]")
        _plain(str(exc), console=err)
        raise typer.Exit(2) from None
    return _build_group(group)


def _undeclared_plugin_group(name: str) -> Any:
    """A group some plugin registers without declaring it: every plugin is loaded to find it
    (``None``, click's "No such command", when there is no configuration or no such group)."""
    path = _given_config[0] if _given_config else _config_path(None)
    if not path.is_file():
        return None
    from .plugins import make_plugin_manager

    try:
        pm = make_plugin_manager(_load(path))
    except ConfigError as exc:
        _config_error(exc)
    _mounted_plugins[:] = [pm]
    group = pm.commands.get(name)
    return _build_group(group) if group is not None else None


def _build_group(group: CommandGroup) -> Any:
    """The click group of a plugin's :class:`~lamworks.CommandGroup`, as ``app.add_typer``
    would have made it."""
    from typer.models import TyperInfo

    info = (TyperInfo(group.app, name=group.name, help=group.help) if group.help
            else TyperInfo(group.app, name=group.name))  # no help: the app's own
    return group_builder(info, pretty_exceptions_short=app.pretty_exceptions_short,
                         rich_markup_mode=app.rich_markup_mode,
                         suggest_commands=app.suggest_commands)()


root = typer.Typer(cls=_Root, help=app.info.help, add_completion=False, **_HELP)
"""What the ``lamworks`` script runs: ``app``'s commands and the plugins' groups, built on use.
``app`` stays the registry (and what in-process tests invoke)."""


@root.callback()
def _top_level() -> None:
    pass


def _split_config(argv: list[str]) -> tuple[str | None, list[str]]:
    """``--config``/``-c`` VALUE (the last one given) and the other arguments."""
    config_value: str | None = None
    rest: list[str] = []
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg in ("--config", "-c") and index + 1 < len(argv):
            config_value, skip = argv[index + 1], True
        elif arg.startswith("--config="):
            config_value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return config_value, rest


def _builtin_commands() -> set[str]:
    """The names of the core's commands and command groups (a plugin may not take them)."""
    names = {g.name for g in app.registered_groups if g.name}
    for command in app.registered_commands:
        callback = command.callback
        if command.name:
            names.add(command.name)
        elif callback is not None:
            names.add(callback.__name__.replace("_", "-"))
    return names


def main() -> None:
    argv = sys.argv[1:]
    config_value, rest = _split_config(argv)
    if not rest or rest[0] not in _builtin_commands():
        # The top level (its help) or a plugin's command group, which have no --config option:
        # the groups load the file given, and plugin commands find it with current_config().
        if config_value is not None:
            os.environ["LAMWORKS_CONFIG"] = config_value
            _given_config[:] = [Path(config_value)]
        argv = rest
    root(args=argv, prog_name="lamworks")


if __name__ == "__main__":
    main()
