"""The HTTP API (FastAPI): the runtime for EHRs, LMSs and other services.

::

    POST /v1/sessions/{session_id}/turns                     {"text": "..."}  -> a turn
    POST /v1/sessions/{session_id}/steps/{step_id}/confirm   {"token": "..."} -> a turn
    POST /v1/sessions/{session_id}/steps/{step_id}/cancel                     -> a turn
    GET  /v1/tools     the tools the caller's role may use, as MCP tool descriptions
    GET  /v1/audit     the audit rows the caller may read (own, or all with audit.read.all)
    GET  /healthz      the process is up           GET /readyz   stores and plugins are fine
    GET  /docs         OpenAPI (Swagger UI); /openapi.json

Every request goes through the same :class:`~lamworks.Runtime` as the web app and the CLI: the
same planner, policies, confirmations (single-use tokens bound to the exact change), journal and
audit. Nothing about a conversation is kept in this process: sessions, tokens and the audit log
are in the runtime's stores, so any replica continues any conversation.

Who is calling: :mod:`lamworks.api_auth` (API tokens, OpenID Connect access tokens, demo mode's
header on loopback). A conversation belongs to the user who started it: another user's request
on its id is answered 404, as if it did not exist, and audited (``session.refused``). A turn, a
confirmation or a cancellation needs the ``page.chat`` permission, as the web app's Chat page
does; the audit rows need ``audit.read.own`` or ``audit.read.all``
(:func:`lamworks.access.visible_audit_rows`). Each refusal is audited.

Errors are JSON ``{"error": CODE, "detail": WORDS}``: 401 (with ``WWW-Authenticate``) for a
missing or refused token, 403 for a permission or role refusal, 404 for an unknown (or someone
else's) conversation, 409 for a confirmation that does not apply (used, cancelled, stale, not
this step's), 422 for a malformed body (``detail`` names each field), 500 with a reference for a
failure on our side, 503 when a store or the identity provider cannot be reached.

``lamworks serve`` runs it with uvicorn (:func:`app_from_environment`); tests and embedders call
:func:`create_app` with a runtime of their own.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .access import require_permission, role_of, visible_audit_rows
from .api_auth import DEMO_USER_HEADER, AccessTokenVerifier, ApiRefusal, Authenticator, Caller
from .errors import ConfirmationError, LamworksError, StoreError
from .permissions import PermissionDenied
from .plan import Citation, Explanation, FollowUp, Step, Turn
from .runtime import Runtime
from .scopes import missing_scopes

__all__ = [
    "ConfirmRequest",
    "PendingConfirmation",
    "TurnRequest",
    "TurnResponse",
    "app_from_environment",
    "create_app",
    "readiness",
    "turn_response",
    "warm_up",
]

log = logging.getLogger(__name__)

SESSION_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
"""A conversation id the caller chooses: letters, digits and ``. _ : -``, at most 128."""
HOST_ENV = "LAMWORKS_API_HOST"
"""Set by ``lamworks serve`` for its workers: the address the server listens on."""
CHAT_PERMISSION = "page.chat"


# -- what travels -------------------------------------------------------------------------------

class TurnRequest(BaseModel):
    """One message from the person, in their words."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, description="What the person asks, in plain language.")


class ConfirmRequest(BaseModel):
    """The approval of a step awaiting confirmation."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, description="The single-use token the turn gave with the "
                                                 "step (awaiting_confirmation.token).")
    change_digest: str | None = Field(
        None, description="The digest of the change the person was shown; when given it must "
                          "still be the step's, else the confirmation is refused.")


class PendingConfirmation(BaseModel):
    """A step paused until a person approves it: what it will do and how to answer."""

    step_id: str
    tool: str
    token: str = Field(description="Single-use; bound to the step's tool, arguments and change.")
    change_digest: str | None = None
    preview: str | None = Field(None, description="The exact change, in words.")
    reasons: list[str] = Field(default_factory=list,
                               description="Why the policies ask for a person's approval.")
    confirm_url: str
    cancel_url: str


class TurnResponse(BaseModel):
    """The runtime's answer to one message, confirmation or cancellation."""

    session_id: str
    turn_id: str
    user: str
    answer: str
    steps: list[Step] = Field(default_factory=list,
                              description="Each planned action with its status, the policies' "
                                          "decisions and its result.")
    awaiting_confirmation: PendingConfirmation | None = None
    follow_up: FollowUp | None = Field(None, description="A question the planner needs "
                                                         "answered; reply with another turn.")
    citations: list[Citation] = Field(default_factory=list)
    why: Explanation | None = None


class ErrorBody(BaseModel):
    """Every error: a short code and the reason in words (422: a list naming each field)."""

    error: str
    detail: Any


def turn_response(turn: Turn) -> TurnResponse:
    """The JSON shape of a :class:`~lamworks.Turn`: its steps flattened out of the plan, and
    the step awaiting confirmation with its token and where to send the answer."""
    pending = None
    step = turn.awaiting_confirmation
    if step is not None:
        base = f"/v1/sessions/{turn.session_id}/steps/{step.id}"
        pending = PendingConfirmation(
            step_id=step.id, tool=step.tool, token=step.confirmation_token or "",
            change_digest=step.change_digest,
            preview=step.change.preview() if step.change is not None else None,
            reasons=list(dict.fromkeys(d.reason for d in step.decisions
                                       if d.kind == "confirm" and d.reason)),
            confirm_url=f"{base}/confirm", cancel_url=f"{base}/cancel")
    return TurnResponse(session_id=turn.session_id, turn_id=turn.turn_id, user=turn.user,
                        answer=turn.answer, steps=turn.steps, awaiting_confirmation=pending,
                        follow_up=turn.follow_up, citations=turn.citations,
                        why=turn.plan.why if turn.plan else None)


# -- readiness ----------------------------------------------------------------------------------

def readiness(runtime: Runtime) -> list[str]:
    """Why this replica should not get traffic (empty: ready): a store it cannot read, a plugin
    that failed to load. Each store is asked through its own interface, one cheap read each."""
    problems: list[str] = []
    probe = "readyz-probe"
    checks: list[tuple[str, Callable[[], object]]] = [
        ("sessions", lambda: runtime.sessions.load(f"{probe}-{uuid.uuid4().hex}", probe)),
        ("journal", lambda: runtime.journal.get(probe)),
        ("audit", runtime.audit.head),
        ("accounts", lambda: runtime.accounts.known(f"{probe}-{uuid.uuid4().hex}")),
    ]
    for name, check in checks:
        try:
            check()
        except Exception as exc:  # any failure means: not ready, and say which store
            problems.append(f"store {name!r} cannot be read: {exc}")
    for record in runtime.plugins.records.values():
        if record.status == "failed":
            problems.append(f"plugin {record.name!r} failed to load: {record.error}")
    return problems


def warm_up(runtime: Runtime) -> None:
    """Load the planner's model now, so that the first request is not the slow one (a planner
    without a model has nothing to load)."""
    embedder_for = getattr(runtime.planner, "embedder_for", None)
    if callable(embedder_for):
        embedder_for(runtime.config).embed_query("warm up")


# -- the app ------------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="An API token (`lamworks users token NAME`) "
                     "or, with [auth.oidc], an access token from the identity provider.")
_demo_header = APIKeyHeader(name=DEMO_USER_HEADER, auto_error=False,
                            description="Demo mode on loopback only: the user to act as.")


def _caller(request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
            demo_user: Annotated[str | None, Depends(_demo_header)]) -> Caller:
    """Who the request acts for (the app's :class:`Authenticator` decides)."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.caller(request.headers.get("authorization") or None, demo_user)


Who = Annotated[Caller, Depends(_caller)]
SessionId = Annotated[str, Path(pattern=SESSION_ID, description="The conversation's id, chosen "
                                "by the caller; it belongs to whoever starts it.")]
StepId = Annotated[str, Path(min_length=1, max_length=64)]


def create_app(runtime: Runtime, *, host: str | None = "127.0.0.1",
               verifier: AccessTokenVerifier | None = None,
               close_runtime: bool = False) -> FastAPI:
    """The API over ``runtime``. ``host`` is the address the server listens on (demo mode's
    header is honoured only on loopback); ``verifier`` checks OpenID Connect access tokens (by
    default one for ``[auth.oidc]`` when configured); ``close_runtime``: close the runtime when
    the app shuts down (``lamworks serve`` owns its runtime; a test closes its own)."""
    authenticator = Authenticator(runtime, host=host, verifier=verifier)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            authenticator.close()
            if close_runtime:
                runtime.close()  # with a signing key, the audit head is signed here

    app = FastAPI(
        title="lamworks", version="1",
        description="Plan, check, execute and audit actions: the same runtime, policies, "
                    "confirmations and audit log as the web app. Errors are "
                    "`{\"error\": CODE, \"detail\": WORDS}`.",
        lifespan=lifespan,
        responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody},
                   422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    )
    app.state.runtime = runtime
    app.state.authenticator = authenticator
    _install_error_handlers(app)

    @app.post("/v1/sessions/{session_id}/turns", response_model=TurnResponse,
              response_model_exclude_none=False, tags=["conversation"],
              responses={404: {"model": ErrorBody}, 500: {"model": ErrorBody}})
    def post_turn(session_id: SessionId, body: TurnRequest, who: Who) -> TurnResponse:
        """Send one message: the runtime plans, checks, runs what may run now, and answers. A
        step that needs a person's approval comes back in `awaiting_confirmation` with its
        token; a missing detail comes back as `follow_up`."""
        _may_chat(runtime, who, session_id, "api.turn")
        _own_session(runtime, who, session_id, must_exist=False)
        return _answered(runtime.handle(session_id, who.username, body.text))

    @app.post("/v1/sessions/{session_id}/steps/{step_id}/confirm", response_model=TurnResponse,
              tags=["conversation"],
              responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}})
    def confirm(session_id: SessionId, step_id: StepId, body: ConfirmRequest,
                who: Who) -> TurnResponse:
        """Approve the step awaiting confirmation with its single-use token: its policies are
        checked again, then exactly the change shown is applied (or, when the records moved,
        nothing, and a new proposal comes back awaiting confirmation)."""
        _may_chat(runtime, who, session_id, "api.confirm")
        _own_session(runtime, who, session_id, must_exist=True)
        try:
            turn = runtime.confirm(session_id, step_id, body.token,
                                   change_digest=body.change_digest)
        except ConfirmationError as exc:
            raise _confirmation_refused(runtime, who, session_id, step_id, "confirm",
                                        exc) from None
        return _answered(turn)

    @app.post("/v1/sessions/{session_id}/steps/{step_id}/cancel", response_model=TurnResponse,
              tags=["conversation"],
              responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}})
    def cancel(session_id: SessionId, step_id: StepId, who: Who) -> TurnResponse:
        """Drop the step awaiting confirmation and the rest of its plan; nothing is changed."""
        _may_chat(runtime, who, session_id, "api.cancel")
        _own_session(runtime, who, session_id, must_exist=True)
        try:
            turn = runtime.cancel(session_id, step_id)
        except ConfirmationError as exc:
            raise _confirmation_refused(runtime, who, session_id, step_id, "cancel",
                                        exc) from None
        return _answered(turn)

    @app.get("/v1/tools", tags=["tools"])
    def tools(who: Who) -> dict[str, list[dict[str, Any]]]:
        """The tools the caller's role may use (its scopes cover theirs), each as an MCP tool
        description (`name`, `description`, `inputSchema`), as `lamworks tools --json`
        prints them, in an MCP `tools/list` result."""
        role = runtime.config.roles.get(who.role)
        scopes = role.scopes if role is not None else []
        return {"tools": [t.to_mcp_tool() for t in runtime.tools.values()
                          if not missing_scopes(scopes, t.scopes)]}

    @app.get("/v1/audit", tags=["audit"])
    def audit(who: Who,
              since: Annotated[int, Query(ge=0, description="Rows after this seq.")] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """The audit rows the caller may read, oldest first, after `since`: every row with
        `audit.read.all`, their own with `audit.read.own`. Page with `next_since`."""
        rows = visible_audit_rows(runtime, who.username, since_seq=since)[:limit]
        return {"rows": [r.as_dict() for r in rows],
                "next_since": rows[-1].seq if rows else since}

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up and answering (no store is touched)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: {"model": ErrorBody}})
    def readyz() -> JSONResponse:
        """Ready for traffic: every store answers and every plugin loaded; 503 with the
        reasons otherwise."""
        problems = readiness(runtime)
        if problems:
            return JSONResponse({"error": "not_ready", "detail": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app


def _answered(turn: Turn) -> TurnResponse:
    """The turn as JSON; a failure on our side (the runtime gave it a reference) is a 500."""
    if turn.error_reference is not None:
        raise ApiRefusal(500, "internal_error", turn.answer)
    return turn_response(turn)


def _may_chat(runtime: Runtime, who: Caller, session_id: str, what: str) -> None:
    """The caller's role holds ``page.chat`` (as for the web app's Chat page); audited if not."""
    require_permission(runtime, who.username, CHAT_PERMISSION, what, session_id=session_id,
                       detail={"via": "api"})


def _own_session(runtime: Runtime, who: Caller, session_id: str, *, must_exist: bool) -> None:
    """The conversation is the caller's (or, unless ``must_exist``, new); someone else's is a
    404, audited, as if it did not exist."""
    try:
        _, version = runtime.sessions.load(session_id, who.username)
    except StoreError as exc:
        raise ApiRefusal(503, "store_unavailable", str(exc)) from None
    except LamworksError:  # the session store refuses another user's conversation
        runtime.audit.append(actor=who.username, role=who.role, session_id=session_id,
                             event="session.refused", outcome="denied",
                             detail={"via": "api", "reason": "another user's conversation"})
        raise _no_session(session_id) from None
    if must_exist and version == 0:
        raise _no_session(session_id)


def _no_session(session_id: str) -> ApiRefusal:
    return ApiRefusal(404, "session_not_found",
                      f"No conversation {session_id!r} of yours: start one with POST "
                      f"/v1/sessions/{session_id}/turns.")


def _confirmation_refused(runtime: Runtime, who: Caller, session_id: str, step_id: str,
                          what: str, exc: ConfirmationError) -> ApiRefusal:
    """A 409 for a confirmation or cancellation that does not apply, audited."""
    runtime.audit.append(actor=who.username, role=role_of(runtime, who.username),
                         session_id=session_id, event="confirmation.refused", step_id=step_id,
                         outcome="refused", detail={"via": "api", "action": what,
                                                    "reason": str(exc)})
    return ApiRefusal(409, "confirmation_refused", str(exc))


def _install_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error": CODE, "detail": ...}``."""

    @app.exception_handler(ApiRefusal)
    async def refused(_: Request, exc: ApiRefusal) -> JSONResponse:
        return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status,
                            headers=exc.headers)

    @app.exception_handler(PermissionDenied)
    async def forbidden(_: Request, exc: PermissionDenied) -> JSONResponse:
        return JSONResponse({"error": "forbidden", "detail": exc.reason}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [{"field": ".".join(str(p) for p in e.get("loc", ())),
                   "message": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        return JSONResponse({"error": "invalid_request", "detail": fields}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = re.sub(r"[^a-z]+", "_", str(_reason(exc.status_code)).lower()).strip("_")
        return JSONResponse({"error": code, "detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(StoreError)
    async def store(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"error": "store_unavailable", "detail": str(exc)}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:8]
        log.error("API request failed (ref %s)", reference, exc_info=exc)
        return JSONResponse({"error": "internal_error",
                             "detail": f"Something went wrong on our side (reference "
                                       f"{reference}). Nothing further was done."},
                            status_code=500)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def app_from_environment() -> FastAPI:
    """The app ``lamworks serve`` runs in each uvicorn worker: a runtime on
    ``$LAMWORKS_CONFIG``, listening on ``$LAMWORKS_API_HOST``, its model loaded before the
    first request; the runtime is closed when the worker stops."""
    runtime = Runtime.from_config(os.environ.get("LAMWORKS_CONFIG", "lamworks.toml"))
    for line in runtime.startup_report.failed_plugins:
        log.warning("plugin disabled: %s", line)
    warm_up(runtime)
    return create_app(runtime, host=os.environ.get(HOST_ENV, "127.0.0.1"), close_runtime=True)
