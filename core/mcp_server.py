"""``lamworks mcp serve``: one user's lamworks tools offered to agents over MCP.

What lives here: the MCP server (the official ``mcp`` SDK's low-level :class:`mcp.server.Server`)
that lists the tools the user's role may use and runs each ``tools/call`` through the same
:class:`~lamworks.Runtime` path as the UI — :meth:`Runtime.propose` plans the one step the
client asked for, and the request policies, pre-policies, the :class:`~lamworks.Change`, the
confirmation, the journal and the audit log all apply. A tool function is never called
directly. What does not: mounting other servers' tools (:mod:`lamworks.mcp_client`).

Who is asking: the server runs as one user (``--token``, or ``--user`` in demo mode, exactly as
the CLI's ``ask``); every call is audited as that user, in a conversation of its own whose id
starts with ``mcp-``.

A step that needs a person's confirmation:

- a client that declared **elicitation** is asked, with the plain-language preview of the
  change: on 2026-07-28 connections through an ``InputRequiredResult`` (the client answers and
  calls again; the answer is matched to the step by a single-use key kept in this process), on
  older connections through an ``elicitation/create`` request. Accept confirms through the same
  single-use token, bound to the change's digest, as the UI's button; decline or cancel
  cancels the step;
- any other client gets a tool result with ``isError`` saying that a person must confirm it in
  lamworks. The step is **left pending** in its conversation (nothing was written): a person
  confirms it with ``lamworks confirm --session <id> <step>`` as the same user, or it is
  superseded.

Transports: stdio (an agent starts ``lamworks mcp serve`` itself) and streamable HTTP on
loopback (``--transport http``). Every call blocks on the runtime (SQLite, the planner's
stores), so it runs in a worker thread (``anyio.to_thread``), never on the event loop.

Example::

    runtime = Runtime.from_config("lamworks.toml")
    anyio.run(serve_stdio, runtime, "frontdesk")
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .plan import Step, Turn
from .runtime import Runtime
from .scopes import missing_scopes
from .tools import Tool

__all__ = ["LOOPBACK", "McpToolServer", "serve_http", "serve_stdio"]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
"""Where ``--transport http`` listens: the server acts as one user without asking the caller
who it is, so only this machine may reach it."""

_CONFIRM_KEY = "confirm"
_CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {_CONFIRM_KEY: {
        "type": "boolean", "title": "Go ahead",
        "description": "Yes: do exactly what is shown. No: cancel it; nothing is changed."}},
    "required": [_CONFIRM_KEY],
}


@dataclass(frozen=True)
class _Waiting:
    """A step shown to the client for confirmation on a 2026-07-28 connection."""

    tool: str
    session_id: str
    step_id: str
    change_digest: str | None


class McpToolServer:
    """The MCP server of one user: their role's tools, each call through the runtime.

    ``runtime`` is shared with nothing else in the process; ``user`` is who every call acts
    as (checked again on each call: a disabled account is refused)."""

    def __init__(self, runtime: Runtime, user: str) -> None:
        self.runtime = runtime
        self.user = user
        self._waiting: dict[str, _Waiting] = {}
        self._lock = threading.Lock()
        self.server: Server[Any] = Server(
            "lamworks", version=_version(),
            instructions=(f"The actions of {runtime.config.institution.name} that "
                          f"{user} may take. Changes may need a person's confirmation."),
            on_list_tools=self._list_tools, on_call_tool=self._call_tool)

    # -- what the user may use -----------------------------------------------------------------

    def tools(self) -> list[Tool]:
        """The enabled tools whose scopes the user's role holds (policies may still refuse a
        particular call: a patient's own records only, a rate limit)."""
        scopes = self.runtime.action_context("", self.user).scopes
        return [t for t in self.runtime.tools.values() if not missing_scopes(scopes, t.scopes)]

    async def _list_tools(self, ctx: ServerRequestContext[Any],
                          params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        listed = await anyio.to_thread.run_sync(self.tools)
        return types.ListToolsResult(tools=[_mcp_tool(t) for t in listed])

    # -- calls ---------------------------------------------------------------------------------

    async def _call_tool(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
                         ) -> types.CallToolResult | types.InputRequiredResult:
        if params.request_state is not None:  # a 2026-07-28 client answers our question
            return await self._answered(ctx, params)
        arguments = dict(params.arguments or {})
        tool = self.runtime.tools.get(params.name)
        if tool is not None and tool.name in {t.name for t in self.tools()}:
            problem = _argument_problem(tool, arguments)
            if problem is not None:
                return _error(problem)
        session_id = f"mcp-{uuid.uuid4().hex[:12]}"
        turn = await anyio.to_thread.run_sync(
            lambda: self.runtime.propose(session_id, self.user, params.name, arguments))
        return await self._respond(ctx, params.name, turn)

    async def _respond(self, ctx: ServerRequestContext[Any], tool: str,
                       turn: Turn) -> types.CallToolResult | types.InputRequiredResult:
        """The result for a turn; a step awaiting confirmation is put to the client (or
        refused, left pending, when the client cannot ask a person)."""
        while (step := turn.awaiting_confirmation) is not None:
            capabilities = ctx.session.client_capabilities
            if capabilities is None or capabilities.elicitation is None:
                return _needs_a_person(turn, step, self.user)
            if ctx.session.protocol_version in MODERN_PROTOCOL_VERSIONS:
                key = secrets.token_urlsafe(24)
                with self._lock:
                    self._waiting[key] = _Waiting(tool, turn.session_id, step.id,
                                                  step.change_digest)
                return types.InputRequiredResult(
                    input_requests={_CONFIRM_KEY: _elicit_request(turn)}, request_state=key)
            answer = await ctx.session.elicit_form(
                _question(turn), _CONFIRM_SCHEMA, related_request_id=ctx.request_id)
            turn = await self._settle(turn.session_id, step.id, step.change_digest, answer)
        return _result(turn)

    async def _answered(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
                        ) -> types.CallToolResult | types.InputRequiredResult:
        """A retried call carrying the person's answer: the key must be one this process
        issued for this tool (it is spent now); no answer at all cancels."""
        with self._lock:
            waiting = self._waiting.pop(params.request_state or "", None)
        if waiting is None or waiting.tool != params.name:
            return _error("That confirmation is unknown or was already answered; call the tool "
                          "again to get a new one.")
        answer = (params.input_responses or {}).get(_CONFIRM_KEY)
        elicited = answer if isinstance(answer, types.ElicitResult) else None
        turn = await self._settle(waiting.session_id, waiting.step_id, waiting.change_digest,
                                  elicited)
        return await self._respond(ctx, params.name, turn)

    async def _settle(self, session_id: str, step_id: str, change_digest: str | None,
                      answer: types.ElicitResult | None) -> Turn:
        """Confirm (accepted with ``confirm`` true) or cancel the step, through the runtime."""
        approved = (answer is not None and answer.action == "accept"
                    and (answer.content or {}).get(_CONFIRM_KEY) is True)

        def settle() -> Turn:
            if approved:
                return self.runtime.confirm(session_id, step_id, change_digest=change_digest)
            return self.runtime.cancel(session_id, step_id)

        return await anyio.to_thread.run_sync(settle)


# -- serving -----------------------------------------------------------------------------------


async def serve_stdio(runtime: Runtime, user: str) -> None:
    """Serve one client on standard input and output until it closes them."""
    mcp = McpToolServer(runtime, user)
    async with stdio_server() as (read, write):
        await mcp.server.run(read, write, mcp.server.create_initialization_options())


def serve_http(runtime: Runtime, user: str, *, port: int) -> None:
    """Serve streamable HTTP at ``http://127.0.0.1:<port>/mcp`` until interrupted."""
    import uvicorn

    mcp = McpToolServer(runtime, user)
    app = mcp.server.streamable_http_app(host=LOOPBACK)
    uvicorn.run(app, host=LOOPBACK, port=port, log_level="warning")


# -- shapes ------------------------------------------------------------------------------------


def _version() -> str:
    from . import __version__

    return str(__version__)


def _mcp_tool(tool: Tool) -> types.Tool:
    """The MCP description of a tool (``lamworks tools --json`` prints the same), with hints
    from its risk."""
    described = tool.to_mcp_tool()
    return types.Tool(
        name=described["name"], description=described["description"],
        input_schema=described["inputSchema"],
        annotations=types.ToolAnnotations(read_only_hint=tool.risk == "read",
                                          destructive_hint=tool.risk == "irreversible"))


def _argument_problem(tool: Tool, arguments: dict[str, Any]) -> str | None:
    """Why the arguments do not fit the tool's schema (said to the client before anything is
    proposed), or None."""
    try:
        tool.validate_arguments(arguments)
    except Exception as exc:
        return f"{tool.name}: {exc}"
    return None


def _question(turn: Turn) -> str:
    return f"lamworks asks {turn.user} to confirm: {turn.answer}"


def _elicit_request(turn: Turn) -> types.ElicitRequest:
    return types.ElicitRequest(params=types.ElicitRequestFormParams(
        message=_question(turn), requested_schema=_CONFIRM_SCHEMA))


def _text(value: str) -> list[types.ContentBlock]:
    return [types.TextContent(text=value)]


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=_text(message), is_error=True)


def _needs_a_person(turn: Turn, step: Step, user: str) -> types.CallToolResult:
    message = (
        "A person must confirm this in lamworks before it runs; this MCP client cannot ask "
        "one (it did not declare elicitation). Nothing was changed. The step is left pending: "
        f"confirm it with `lamworks confirm --session {turn.session_id} {step.id}` as "
        f"{user}, or ignore it.\n{turn.answer}")
    return types.CallToolResult(content=_text(message), is_error=True, structured_content={
        "status": "awaiting_confirmation", "session": turn.session_id, "step": step.id,
        "tool": step.tool, "answer": turn.answer})


def _result(turn: Turn) -> types.CallToolResult:
    """The turn as a tool result: its answer as text, its steps (status, summary, data) as
    structured content; ``isError`` unless every step ran."""
    steps = [{"tool": s.tool, "status": s.status,
              "summary": s.result.summary if s.result else "",
              "data": s.result.model_dump(mode="json")["data"] if s.result else None,
              "error": s.error} for s in turn.steps]
    ok = bool(turn.steps) and all(s.status == "executed" for s in turn.steps)
    text = turn.answer
    for citation in turn.citations:
        where = " › ".join(p for p in (citation.title or citation.source, citation.section)
                           if p)
        text += f"\nsource: {where}"
    return types.CallToolResult(content=_text(text), is_error=not ok, structured_content={
        "answer": turn.answer, "session": turn.session_id, "steps": steps})
