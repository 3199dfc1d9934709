"""Remote MCP servers' tools mounted as lamworks tools (``[mcp.servers.<name>]``).

What lives here: :class:`MountedServer`, one configured server as a plugin named ``mcp.<name>``.
At start-up (its ``register_tools``) it connects with the official ``mcp`` SDK's client, lists
the server's tools and registers each one, through :func:`~lamworks.tools.tool_from_schema`,
as ``mcp.<name>.<tool>``: the planner routes to it by its description (and the examples the
configuration or the server gives), and every policy applies — its risk is the configured one
(``write`` by default, so a call waits for a person's confirmation), its scopes
``user/mcp_<name>.r`` for a read tool and ``user/mcp_<name>.c`` for any other, unless the
configuration names others. Calling the lamworks tool calls the remote tool once, inside the
executor's journal entry; the step's idempotency key travels in the request's ``_meta``
(``io.lamworks/idempotency-key``) for a server that can use it. What does not live here: the
other direction (:mod:`lamworks.mcp_server`).

A server that cannot be started, or does not list its tools within ``startup_timeout_seconds``,
is recorded as a failed plugin (``lamworks plugins`` shows why) and the runtime serves without
it. A server that crashes or hangs during a call is switched off until restart, the same way
(:meth:`~lamworks.plugins.PluginManager.disable`); the step says so, and for a write whose
outcome is unknown the journal entry stays pending for an operator, as for any tool that timed
out.

Threading: the runtime is synchronous and a stdio server is a subprocess that is slow to start
(~1.5 s for a Python server, most of it importing the SDK), so each server gets one connection
for the life of the process, held by an asyncio event loop in a daemon thread of its own; a
tool call is a coroutine submitted to that loop (:func:`asyncio.run_coroutine_threadsafe`)
and waited for with the server's ``timeout_seconds``. Opening a session per call would cost
that start-up on every call. The SDK is imported only when a server is configured.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import weakref
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .config import InstitutionConfig, MCPServerConfig
from .errors import PluginError, ToolError
from .hookspecs import hookimpl
from .limits import ToolTimedOut
from .plan import ActionResult
from .tools import ActionContext, Tool, tool_from_schema

if TYPE_CHECKING:
    from .plugins import PluginManager

__all__ = ["IDEMPOTENCY_META_KEY", "MountedServer", "close_mounted", "default_scopes",
           "mounted_servers"]

log = logging.getLogger(__name__)

IDEMPOTENCY_META_KEY = "io.lamworks/idempotency-key"
"""The ``_meta`` key under which each call carries the step's idempotency key."""
EXAMPLES_META_KEY = "io.lamworks/examples"
"""A tool's ``_meta`` key a server may use to give example requests for the planner."""

T = TypeVar("T")
_open: weakref.WeakSet[MountedServer] = weakref.WeakSet()


def default_scopes(server: str, risk: str) -> list[str]:
    """The scopes a role needs for a mounted tool when the configuration names none: read
    tools ``user/mcp_<server>.r``, others ``user/mcp_<server>.c`` (SMART-style, so a role's
    ``user/*.cruds`` or ``system/*.cruds`` covers them)."""
    return [f"user/mcp_{server}.{'r' if risk == 'read' else 'c'}"]


class RemoteToolLost(ToolTimedOut):
    """Seen by end users: the remote server stopped answering during a call (it crashed, or
    took longer than its ``timeout_seconds``); whether a write took effect is unknown, so the
    executor leaves its journal entry pending and switches the server off."""

    def __init__(self, tool: str, seconds: float, message: str) -> None:
        super().__init__(tool, seconds)
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])


class MountedServer:
    """One ``[mcp.servers.<name>]`` as a plugin: its tools, called through one connection.

    ``plugins`` is the manager it is loaded into: a server that crashes or hangs during a call
    switches itself off there."""

    def __init__(self, name: str, settings: MCPServerConfig, config: InstitutionConfig,
                 plugins: PluginManager) -> None:
        self.name = name
        self.plugin_name = f"mcp.{name}"
        self.settings = settings
        self.config = config
        self.plugins = plugins
        self.server_version = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._closing: asyncio.Event | None = None
        self._held: threading.Event = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the plugin's hook ---------------------------------------------------------------------

    @hookimpl
    def register_tools(self, register: Callable[[Tool], None]) -> None:
        """Connect, list the remote tools and register the allowed ones (raising, so the
        plugin is recorded as failed, when the server cannot be reached in time)."""
        listed = self._connect()
        wanted = self.settings.tools
        names = {t.name for t in listed}
        missing = sorted(set(wanted or ()) - names)
        if missing:
            raise PluginError(self.plugin_name, f"the server lists no tool {missing[0]!r} "
                                                f"(it lists: {', '.join(sorted(names))})")
        for remote in listed:
            if wanted is not None and remote.name not in wanted:
                continue
            try:
                register(self._tool(remote))
            except ValueError as exc:  # a schema tool_from_schema cannot express
                self.plugins.warnings.append(f"{self.plugin_name}: tool {remote.name!r} not "
                                             f"mounted: {exc}")

    def _tool(self, remote: Any) -> Tool:
        risk = self.settings.tool_risk.get(remote.name, self.settings.risk)
        scopes = ([str(s) for s in self.settings.scopes] if self.settings.scopes is not None
                  else default_scopes(self.name, risk))
        meta = remote.meta or {}
        offered = meta.get(EXAMPLES_META_KEY)
        examples = [*self.settings.examples.get(remote.name, []),
                    *(e for e in (offered if isinstance(offered, list) else [])
                      if isinstance(e, str))]
        full_name = f"{self.plugin_name}.{remote.name}"
        remote_name = remote.name

        def call(ctx: ActionContext, **arguments: Any) -> ActionResult:
            given = {k: v for k, v in arguments.items() if v is not None}
            return self.call(full_name, remote_name, given, ctx.idempotency_key)

        return tool_from_schema(
            full_name, remote.description or remote.title or remote.name,
            dict(remote.input_schema), call, risk=risk, scopes=scopes, examples=examples,
            takes_context=True)

    # -- the connection ------------------------------------------------------------------------

    def _transport(self) -> Any:
        from mcp import StdioServerParameters

        if self.settings.url is not None:
            return self.settings.url
        import os

        cwd = self.settings.cwd
        if cwd is not None and not cwd.is_absolute() and self.config.source is not None:
            cwd = Path(self.config.source).parent / cwd
        env = {name: os.environ[name] for name in self.settings.env_passthrough
               if name in os.environ}
        assert self.settings.command is not None
        return StdioServerParameters(command=self.settings.command, args=self.settings.args,
                                      env={**env, **self.settings.env}, cwd=cwd)

    def _connect(self) -> list[Any]:
        """Start the loop thread, open the connection and list the tools, all within
        ``startup_timeout_seconds``; on failure everything started is stopped again."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=_run_loop, args=(loop,), daemon=True,
                                        name=f"lamworks-{self.plugin_name}")
        self._thread.start()
        _open.add(self)
        listed: list[Any] = []
        failure: list[BaseException] = []
        listed_event = threading.Event()

        async def hold() -> None:
            from mcp import Client

            self._closing = asyncio.Event()
            try:
                async with Client(self._transport(), mode="auto") as client:
                    self._client = client
                    self.server_version = getattr(client.server_info, "version", "") or ""
                    listed.extend(await _all_tools(client))
                    listed_event.set()
                    await self._closing.wait()
            except BaseException as exc:  # reported by _connect, or by the next call
                failure.append(exc)
                raise
            finally:
                self._client = None
                listed_event.set()
                self._held.set()

        held = asyncio.run_coroutine_threadsafe(hold(), loop)
        waited = self.settings.startup_timeout_seconds
        if not listed_event.wait(waited):
            held.cancel()
            self.close()
            raise PluginError(self.plugin_name, f"the server did not list its tools within "
                                                f"{waited:g} s (startup_timeout_seconds)")
        if failure or not listed and self._client is None:
            self.close()
            raise PluginError(self.plugin_name,
                              f"the server could not be started: {_describe(failure)}")
        return listed

    def call(self, full_name: str, remote_name: str, arguments: dict[str, Any],
             key: str) -> ActionResult:
        """Call the remote tool once; its result as an :class:`ActionResult`. A remote error
        is a :class:`ToolError`; a crash or a hang switches the server off
        (:class:`RemoteToolLost`)."""
        seconds = self.settings.timeout_seconds
        client = self._client
        if client is None:
            raise ToolError(full_name, f"the MCP server {self.name!r} is not connected")
        meta = {IDEMPOTENCY_META_KEY: key} if key else None
        try:
            result = self._run(client.call_tool(remote_name, arguments, meta=meta), seconds)
        except FutureTimeout:
            raise self._lost(full_name, f"{full_name} did not answer within {seconds:g} s "
                                        "(timeout_seconds)") from None
        except Exception as exc:
            if self._client is None or not self._held_open():
                raise self._lost(full_name, f"the MCP server {self.name!r} stopped during "
                                            f"the call ({_describe([exc])})") from None
            raise ToolError(full_name, f"the MCP server refused the call: {exc}") from None
        text = "\n".join(getattr(block, "text", "") for block in result.content).strip()
        if result.is_error:
            raise ToolError(full_name, text or "the MCP server reported an error")
        data = result.structured_content if result.structured_content is not None else text
        return ActionResult(summary=text or f"Done: {remote_name}.", data=data)

    def _lost(self, full_name: str, message: str) -> RemoteToolLost:
        """Switch the server off (until restart) and say why."""
        reason = f"{message}; the server is switched off until restart"
        self.plugins.disable(self.plugin_name, reason)
        self.close()
        return RemoteToolLost(full_name, self.settings.timeout_seconds,
                              f"{reason}. Whether it took effect is unknown.")

    def _held_open(self) -> bool:
        return not self._held.is_set()

    def _run(self, coroutine: Coroutine[Any, Any, T], seconds: float) -> T:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(seconds)
        except FutureTimeout:
            future.cancel()
            raise

    def close(self) -> None:
        """Close the connection (a stdio server's process ends) and stop the loop thread."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        closing = self._closing
        if closing is not None and loop.is_running():
            loop.call_soon_threadsafe(closing.set)
            self._held.wait(5.0)
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)  # _run_loop closes the loop once it has stopped
        _open.discard(self)


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The body of a mounted server's thread: its event loop, closed when stopped."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _all_tools(client: Any) -> list[Any]:
    """Every tool the server lists, following pagination."""
    tools: list[Any] = []
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor) if cursor else await client.list_tools()
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


def _describe(failures: list[BaseException]) -> str:
    if not failures:
        return "it closed the connection"
    exc = failures[0]
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def mounted_servers(config: InstitutionConfig,
                    plugins: PluginManager) -> list[MountedServer]:
    """One :class:`MountedServer` per ``[mcp.servers.<name>]``, not yet connected."""
    return [MountedServer(name, settings, config, plugins)
            for name, settings in config.mcp.servers.items()]


def close_mounted(plugins: PluginManager) -> None:
    """Close the connections of the mounted servers loaded into ``plugins``."""
    for plugin in plugins.get_plugins():
        if isinstance(plugin, MountedServer):
            plugin.close()


@atexit.register
def _close_all() -> None:
    for server in list(_open):
        server.close()
