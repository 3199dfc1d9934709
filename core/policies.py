"""Policies: functions that look at a request, a planned step or a result, and decide.

Three stages:

- ``request``: the person's utterance, once the planner has routed it and before anything
  runs. The step given is a stand-in whose ``tool`` is ``"(request)"`` and whose ``arguments``
  are ``{"utterance": text}``; a deny refuses the request outright (clinical advice, "write my
  essay for me"): nothing planned runs. ``ctx.tool`` is a stand-in too. Retrieved documents
  never reach this stage: it sees only what the person typed.
- ``pre``: a planned step, before anything in the plan runs — and again, with what is true
  then, when the person confirms it (and for every later step of the plan, before it runs).
  At that second check a step of a tool that plans its writes carries ``step.change``, the
  exact :class:`~lamworks.Change` that was shown and will be applied; ``ctx.recheck`` is set.
- ``post``: a step's result (``step.result``), before the user or the audit log sees it.

**What a policy applies to** is declared, and the core filters (:class:`AppliesTo`): by default
a plugin's policy sees only its own plugin's tools, and the core's own policies every tool;
``plugins=`` and ``tools=`` name others (``"*"``: every plugin's tools), ``roles=`` limits it to
the acting roles named. A policy therefore never checks ``step.tool`` to stay out of another
plugin's business. A request-stage policy runs when its scope covers one of the tools the
request was routed to (the steps, or the question, the planner produced) and the acting role;
a request routed to no tool is screened only by the policies that apply to every plugin.

A policy returns a :class:`~lamworks.plan.Decision` built with :func:`allow`, :func:`deny`,
:func:`confirm` or :func:`redact` (or ``None``, which means allow). The runtime stamps the
policy's name on every decision, combines them (any deny wins, then any confirm; redactions add
up) and records all of them in the audit log. A policy that raises **fails closed**: the step is
denied and the error is recorded.

Example (a plugin module)::

    from lamworks import PolicyContext, Step, deny, hookimpl, policy

    @policy(stage="pre", tools=["book_appointment"])
    def no_weekend_bookings(step: Step, ctx: PolicyContext):
        \"\"\"Appointments are never booked on a weekend.\"\"\"
        if is_weekend(step.arguments["start"]):
            return deny("The clinic is closed at weekends.")
        return None

    @hookimpl
    def register_policies(register):
        register(no_weekend_bookings)   # becomes "<plugin>.no_weekend_bookings"

Pre-stage ``redact(fields)`` names argument fields hidden from the audit log and logs; post-stage
``redact(fields)`` names fields of the result's ``data`` hidden from the user and the audit log
(dotted paths; a path through a list applies to every element). A tool's summary sentence is
built from the same values, so the executor hides them there too (:func:`redact_text`): every
value a redaction removes from ``data`` is removed from ``summary`` and ``audit_summary``,
wherever and however often the tool wrote it — whichever tool wrote the sentence, with no
cooperation needed from it.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal, overload

from .plan import Decision, Step
from .tools import ActionContext, Tool

__all__ = [
    "ALL",
    "REQUEST_TOOL",
    "AppliesTo",
    "Policy",
    "PolicyContext",
    "Stage",
    "allow",
    "combine",
    "confirm",
    "deny",
    "evaluate",
    "planned_tools",
    "policy",
    "redact",
    "redact_data",
    "redact_text",
]

log = logging.getLogger(__name__)

Stage = Literal["request", "pre", "post"]
REQUEST_TOOL = "(request)"
ALL = "*"
"""In ``plugins=``: every plugin's tools (a policy that truly must see everything)."""
CORE_PLUGIN = "core"
"""The core's own plugin, whose policies apply to every tool unless they say otherwise."""
REDACTED = "[redacted]"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class PolicyContext:
    """What a policy sees besides the step: the acting user's context and the tool."""

    action: ActionContext
    """Who is acting, their role, scopes, the configuration and the clock."""
    tool: Tool
    """The tool the step would run."""
    rate_counter: Any = None
    """Counts recent actions per user (:class:`lamworks.sessions.RateCounter`)."""
    plugin_settings: Mapping[str, Any] = field(default_factory=dict)
    """Every plugin's settings; each policy sees its own plugin's as ``action.settings``."""
    recheck: bool = False
    """The step was checked when it was planned and is checked again now (at confirmation, or
    once an earlier step produced what it needs): count it once (rate limits), decide again."""

    @property
    def role_config(self) -> Any:
        return self.action.config.roles[self.action.role]


PolicyFunction = Callable[[Step, PolicyContext], Decision | None]


@dataclass(frozen=True)
class AppliesTo:
    """What a policy applies to; the core runs it only there.

    A step is covered when its tool's plugin is one of ``plugins`` (``"*"``: any plugin) or the
    tool is one of ``tools``, and the acting role is one of ``roles`` (empty: every role).
    Neither ``plugins`` nor ``tools`` given means the registering plugin's own tools (the core's
    own policies: every tool). A tool name without a dot is one of the registering plugin's
    (``"grade_lookup"`` is ``"education.grade_lookup"``).
    """

    plugins: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def resolved(self, plugin: str) -> AppliesTo:
        """Defaults and short tool names made explicit for the registering plugin."""
        tools = tuple(t if "." in t else f"{plugin}.{t}" for t in self.tools)
        plugins = self.plugins
        if not plugins and not tools:
            plugins = (ALL,) if plugin == CORE_PLUGIN else (plugin,)
        return AppliesTo(plugins=plugins, tools=tools, roles=self.roles)

    def describe(self) -> str:
        """In words, as ``lamworks plugins`` and the Plugins page show it: ``"healthcare tools,
        knowledge.answer_question; roles patient, frontdesk"`` or ``"every tool"``."""
        if ALL in self.plugins:
            text = "every tool"
        else:
            text = ", ".join([*(f"{p} tools" for p in self.plugins), *self.tools]) or "no tool"
        return f"{text}; roles {', '.join(self.roles)}" if self.roles else text

    def covers(self, tool: str, plugin: str, role: str) -> bool:
        """Whether a step of ``tool`` (of ``plugin``) by someone acting as ``role`` is in scope."""
        if self.roles and role not in self.roles:
            return False
        return ALL in self.plugins or plugin in self.plugins or tool in self.tools


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Policy:
    """A named check. Create with :func:`policy`; the core stamps ``plugin`` and the namespace
    and resolves :attr:`applies_to` for that plugin."""

    name: str
    description: str
    function: PolicyFunction
    stage: Stage = "pre"
    plugin: str = ""
    applies_to: AppliesTo = field(default_factory=AppliesTo)
    """Which tools and roles the policy sees; the core filters (see :class:`AppliesTo`)."""

    def namespaced(self, plugin: str) -> Policy:
        name = self.name if "." in self.name else f"{plugin}.{self.name}"
        return replace(self, plugin=plugin, name=name,
                       applies_to=self.applies_to.resolved(plugin))

    def scoped(self, *, plugins: str | Iterable[str] | None = None,
               tools: str | Iterable[str] | None = None,
               roles: str | Iterable[str] | None = None) -> Policy:
        """A copy applying to other plugins, tools or roles (each given replaces the old one):
        a plugin scopes a policy by its settings at registration (``roles=settings.roles``)."""
        scope = self.applies_to
        return replace(self, applies_to=AppliesTo(
            plugins=scope.plugins if plugins is None else _names(plugins),
            tools=scope.tools if tools is None else _names(tools),
            roles=scope.roles if roles is None else _names(roles)))

    @property
    def scope(self) -> AppliesTo:
        """:attr:`applies_to` resolved for the plugin (a policy not registered through a
        plugin, as in a unit test, counts as the core's)."""
        return self.applies_to.resolved(self.plugin or CORE_PLUGIN)

    def applies(self, tool: Tool, role: str) -> bool:
        """Whether this policy sees a step of ``tool`` by someone acting as ``role``."""
        return self.scope.covers(tool.name, tool.plugin, role)

    def applies_to_request(self, planned: Sequence[Tool], role: str) -> bool:
        """Whether this (request-stage) policy screens a request routed to ``planned`` by
        someone acting as ``role``: it covers one of them, or, when the request was routed to
        no tool, it applies to every plugin."""
        if planned:
            return any(self.applies(tool, role) for tool in planned)
        scope = self.scope
        return ALL in scope.plugins and (not scope.roles or role in scope.roles)


@overload
def policy(func: PolicyFunction, /) -> Policy: ...


@overload
def policy(
    *, name: str | None = None, stage: Stage = "pre", description: str | None = None,
    applies_to: AppliesTo | None = None, plugins: str | Iterable[str] | None = None,
    tools: str | Iterable[str] | None = None, roles: str | Iterable[str] | None = None,
) -> Callable[[PolicyFunction], Policy]: ...


def policy(
    func: PolicyFunction | None = None,
    *,
    name: str | None = None,
    stage: Stage = "pre",
    description: str | None = None,
    applies_to: AppliesTo | None = None,
    plugins: str | Iterable[str] | None = None,
    tools: str | Iterable[str] | None = None,
    roles: str | Iterable[str] | None = None,
) -> Policy | Callable[[PolicyFunction], Policy]:
    """Turn ``f(step, ctx) -> Decision | None`` into a :class:`Policy`.

    Use as ``@policy`` or ``@policy(stage="post")``. The description (default: the docstring's
    first line) is what ``lamworks plugins`` and the Admin page show. ``plugins``, ``tools``
    and ``roles`` (or ``applies_to=AppliesTo(...)``, not both) say what the policy applies to
    (default: the registering plugin's own tools; ``plugins="*"``: every plugin's tools).
    """
    if stage not in ("request", "pre", "post"):
        raise ValueError(f"stage must be 'request', 'pre' or 'post', not {stage!r}")
    if applies_to is not None and (plugins, tools, roles) != (None, None, None):
        raise ValueError("give applies_to or plugins/tools/roles, not both")
    scope = applies_to or AppliesTo(_names(plugins), _names(tools), _names(roles))

    def build(f: PolicyFunction) -> Policy:
        text = description or (f.__doc__ or "").strip().split("\n", 1)[0]
        return Policy(name=name or f.__name__, description=text, function=f, stage=stage,
                      applies_to=scope)

    return build(func) if func is not None else build


def allow(reason: str = "") -> Decision:
    """The step may go ahead."""
    return Decision(kind="allow", reason=reason)


def deny(reason: str, *, private: bool = False) -> Decision:
    """The step must not run; ``reason`` is shown to the user, so write it for them.

    ``private=True`` keeps the reason's text out of the audit log (it names a person)."""
    return Decision(kind="deny", reason=reason, private=private)


def confirm(reason: str, *, private: bool = False) -> Decision:
    """A person must approve the step (in the UI or the CLI) before it runs.

    ``private=True`` keeps the reason — typically a preview of the change, with personal
    details — out of the audit log; the log records that a confirmation was asked."""
    return Decision(kind="confirm", reason=reason, private=private)


def redact(*fields: str, reason: str = "") -> Decision:
    """Hide these fields (arguments before execution, result data after) from audit and view."""
    return Decision(kind="redact", fields=tuple(fields), reason=reason)


def evaluate(policies: Iterable[Policy], step: Step, ctx: PolicyContext, *,
             planned: Sequence[Tool] | None = None) -> list[Decision]:
    """Run each policy that applies on the step; stamp names; a policy that raises denies
    (fails closed).

    A policy applies when it covers the acting role and ``ctx.tool``, or, for a request
    (``planned`` given: the tools the request was routed to), one of ``planned``; a request
    routed to no tool is seen only by the policies that apply to every plugin."""
    decisions: list[Decision] = []
    role = ctx.action.role
    for pol in policies:
        if not (pol.applies(ctx.tool, role) if planned is None
                else pol.applies_to_request(planned, role)):
            continue
        own = ctx
        if ctx.plugin_settings:
            own = replace(ctx, action=replace(ctx.action,
                                              settings=ctx.plugin_settings.get(pol.plugin)))
        try:
            decision = pol.function(step, own)
            if decision is not None and not isinstance(decision, Decision):
                raise TypeError(f"returned {type(decision).__name__}, not a Decision or None")
        except Exception as exc:
            reference = uuid.uuid4().hex[:8]
            log.error("policy %s failed on %s (ref %s): %r", pol.name, step.tool, reference, exc)
            decisions.append(
                Decision(
                    kind="deny",
                    policy=pol.name,
                    reason=f"A safety check failed, so this was not done (reference {reference}).",
                )
            )
            continue
        if decision is None:
            decision = allow()
        decisions.append(decision.model_copy(update={"policy": pol.name}))
    return decisions


def planned_tools(plan: Any, tools: Mapping[str, Tool]) -> list[Tool]:
    """The tools a plan routes a request to: its steps', and those of the question it asks
    (the step asked about, the steps before it, the step waiting for it); known tools only."""
    names = [s.tool for s in plan.steps]
    follow_up = plan.follow_up
    if follow_up is not None:
        names += [follow_up.tool, *(s.tool for s in follow_up.before)]
        if follow_up.after is not None:
            names.append(follow_up.after.tool)
    return [tools[n] for n in dict.fromkeys(names) if n in tools]


def combine(decisions: Sequence[Decision]) -> Decision:
    """The overall verdict: the first deny, else the first confirm, else redact, else allow."""
    for kind in ("deny", "confirm"):
        for decision in decisions:
            if decision.kind == kind:
                return decision
    fields = tuple(f for d in decisions if d.kind == "redact" for f in d.fields)
    if fields:
        return Decision(kind="redact", policy="combined", fields=tuple(dict.fromkeys(fields)))
    return Decision(kind="allow", policy="combined")


def redact_data(data: Any, fields: Iterable[str]) -> Any:
    """A copy of ``data`` with each dotted path replaced by ``"[redacted]"``."""
    out = copy.deepcopy(data)
    for path in fields:
        _redact_path(out, path.split("."))
    return out


def _redact_path(node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _redact_path(item, parts)
        return
    if not isinstance(node, dict) or not parts:
        return
    head, rest = parts[0], parts[1:]
    if head not in node:
        return
    if rest:
        _redact_path(node[head], rest)
    else:
        node[head] = REDACTED


def redact_text(text: str, data: Any, fields: Iterable[str]) -> str:
    """``text`` with every value found at ``fields`` in ``data`` (the result's data before
    redaction) replaced by ``"[redacted]"``.

    A value is matched as a whole token (``MRN-000001``, not the ``1`` inside a longer number);
    an ISO date is also matched as tools commonly print it (``12 Mar 1984``, ``March 12,
    1984``, ``03/12/1984``). Values shorter than two characters and booleans are left alone:
    they cannot be told apart from ordinary words.
    """
    if not text:
        return text
    values: set[str] = set()
    for path in fields:
        _collect(data, path.split("."), values)
    forms = sorted({form for value in values for form in _renderings(value)}, key=len,
                   reverse=True)
    for form in forms:
        # An ISO date is also hidden as the start of a timestamp (1984-03-12T09:00).
        tail = r"(?:(?=T\d)|(?![\w-]))" if _ISO_DAY.fullmatch(form) else r"(?![\w-])"
        text = re.sub(rf"(?<![\w-]){re.escape(form)}{tail}", REDACTED, text,
                      flags=re.IGNORECASE)
    return text


def _collect(node: Any, parts: list[str], into: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, parts, into)
        return
    if not isinstance(node, dict) or not parts or parts[0] not in node:
        return
    value = node[parts[0]]
    if len(parts) > 1:
        _collect(value, parts[1:], into)
        return
    _leaves(value, into)


def _leaves(value: Any, into: set[str]) -> None:
    """Every scalar under a hidden field (a hidden address is a dict of parts)."""
    if isinstance(value, dict):
        for item in value.values():
            _leaves(item, into)
    elif isinstance(value, list):
        for item in value:
            _leaves(item, into)
    elif value is not None and not isinstance(value, bool):
        shown = str(value).strip()
        if len(shown) >= 2 and shown != REDACTED:
            into.add(shown)


def _renderings(value: str) -> list[str]:
    forms = [value]
    try:
        day = date.fromisoformat(value[:10]) if len(value) >= 10 else None
    except ValueError:
        day = None
    if day is not None:
        forms += [day.isoformat(), f"{day.day} {day:%b %Y}", f"{day:%d %b %Y}",
                  f"{day.day} {day:%B %Y}", f"{day:%d %B %Y}", f"{day:%b} {day.day}, {day.year}",
                  f"{day:%B} {day.day}, {day.year}", f"{day:%b} {day.day} {day.year}",
                  f"{day:%B} {day.day} {day.year}", f"{day:%m/%d/%Y}", f"{day:%d/%m/%Y}",
                  f"{day.month}/{day.day}/{day.year}", f"{day:%d.%m.%Y}"]
    return forms
