"""Tools: the actions a plugin offers, declared as plain typed Python functions.

A tool's name comes from the function, its description from the docstring's first paragraph,
its argument model from the signature (through pydantic), and each argument's description from
the docstring's ``Args:`` section or an ``Annotated[..., Field(description=...)]``. An optional
first parameter ``ctx: ActionContext`` receives who is acting, on which session, with which
settings and services.

Example (a plugin module)::

    from lamworks import ActionContext, ActionResult, hookimpl, tool

    @tool(risk="write", scopes=["user/Appointment.c"], examples=["book Ana with Dr. Lee"],
          consumes=["Patient"], produces="Appointment")
    def book_appointment(ctx: ActionContext, patient_id: str, start: datetime) -> ActionResult:
        \"\"\"Book an appointment for a patient.

        Args:
            patient_id: The patient to book for.
            start: When the appointment starts.
        \"\"\"
        ...

    @hookimpl
    def register_tools(register):
        register(book_appointment)      # becomes "<plugin>.book_appointment"

A write tool may plan, then apply: with ``apply=``, the function returns the exact
:class:`~lamworks.Change` it will make (resources, expected versions, minted ids) and
``apply(ctx, change)`` commits exactly that change or nothing. The runtime shows the change to
the person, binds the confirmation to its digest, and applies what was confirmed (see
:class:`~lamworks.Change` for a worked example). Tools without ``apply`` act when called.

Exactly once across crashes: a write tool stamps ``ctx.idempotency_key`` on what it writes (a
FHIR ``meta.tag``, a column of its own table) and its ``reconcile(ctx, key)`` looks the key up
after a crash — never the arguments, which the journal does not keep. ``compensate(ctx, change,
key)`` undoes an applied change when a later step of the same plan cannot run; a plan whose
earlier writes cannot be undone is confirmed as not all-or-nothing first.

What does not live here: deciding whether a tool may run (:mod:`lamworks.policies`) and running it
with a journal entry (:mod:`lamworks.executor`).
"""

from __future__ import annotations

import copy
import inspect
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from .config import InstitutionConfig, UserConfig
from .errors import ToolError
from .plan import ActionResult, Change
from .scopes import Scope

__all__ = [
    "ActionContext",
    "Applier",
    "Compensator",
    "ENTITY_KEY",
    "REF_KEY",
    "Reconciler",
    "Risk",
    "Tool",
    "entity",
    "ref",
    "tool",
    "tool_from_schema",
]

ENTITY_KEY = "x-lamworks-entity"
REF_KEY = "x-lamworks-ref"

Risk = Literal["read", "write", "irreversible"]
_RISKS: tuple[str, ...] = typing.get_args(Risk)


@dataclass(frozen=True)
class ActionContext:
    """What a tool (and a policy) knows about the action being taken. Built by the runtime."""

    user: str
    """The acting user's name (in ``[users]``, or an account: :class:`~lamworks.AccountStore`)."""
    user_config: UserConfig
    """Their role and links to domain records (``links["patient"] == "Patient/pat-0001"``)."""
    role: str
    """The acting user's role name."""
    scopes: tuple[Scope, ...]
    """The scopes the role grants."""
    config: InstitutionConfig
    """The whole institution configuration."""
    settings: BaseModel | None
    """The owning plugin's own validated settings (``[plugins.<name>]``), if it declares any."""
    session_id: str
    """The conversation this action belongs to."""
    step_id: str = ""
    """The step being executed (empty while planning)."""
    idempotency_key: str = ""
    """Unique per step and arguments; a tool talking to an external system should pass it on."""
    now: Callable[[], datetime] = field(default=datetime.now)
    """The clock (timezone-aware, in the institution's zone); tests replace it."""
    services: Mapping[str, Any] = field(default_factory=dict)
    """Shared objects published by plugins at startup (a FHIR store, the knowledge base)."""
    planned: tuple[Change, ...] = ()
    """While planning a later step of a plan: the changes the earlier steps will make, not yet
    applied. A tool reads records through them (the patient the step before registers) so the
    whole plan is planned before its first step runs; empty otherwise."""
    operator: str = ""
    """The machine account of an operator acting as this user from the command line
    (``lamworks ask --operator --as NAME``); empty when the person acts themselves."""

    @property
    def actor(self) -> str:
        """Who the audit log names: the user, or ``operator:<account> as <user>`` when an
        operator acted as them."""
        return f"operator:{self.operator} as {self.user}" if self.operator else self.user

    @property
    def data_dir(self) -> Path:
        """The institution's data folder."""
        return self.config.data_dir


class Reconciler(Protocol):
    """Decides after a crash whether a tool's side effect happened, by its idempotency key.

    Called at start-up for a journal entry that was written but never completed, with the
    entry's key (also ``ctx.idempotency_key``): the tool stamped it on what it writes, so it
    looks it up in its store. Return the result when the effect did happen (the entry is
    completed with it), or ``None`` when it did not (the entry is marked abandoned; the action
    is never retried automatically). The arguments are not available: the journal keeps only
    their digest.
    """

    def __call__(
        self, ctx: ActionContext, key: str
    ) -> ActionResult | None: ...  # pragma: no cover - protocol


class Compensator(Protocol):
    """Undoes what a tool did, when a later step of the same plan cannot run.

    ``change`` is the :class:`~lamworks.Change` it applied (``None`` for a tool that does not
    plan its writes: it finds them by the key alone); ``key`` is the idempotency key it ran
    under (what it wrote carries it); ``ctx.idempotency_key`` is the undoing's own key, to stamp
    on what it writes. All of it is undone or nothing: when what the step wrote has moved since
    (someone else edited it), it raises :class:`~lamworks.ChangeConflict` and the step stays
    done.
    """

    def __call__(
        self, ctx: ActionContext, change: Change | None, key: str
    ) -> ActionResult: ...  # pragma: no cover - protocol


class Applier(Protocol):
    """Commits the :class:`~lamworks.Change` a write tool planned: all of it, or nothing.

    It writes ``change.writes`` exactly as they are (never planning again), checking each
    ``if_match`` atomically with the write; when a version moved it writes nothing and raises
    :class:`~lamworks.ChangeConflict`. It returns the result, usually ``change.result()``.
    ``ctx.idempotency_key`` is the step's key, as for any tool.
    """

    def __call__(
        self, ctx: ActionContext, change: Change
    ) -> ActionResult: ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class Tool:
    """An action a plugin offers. Create with :func:`tool`; the core stamps ``plugin``."""

    name: str
    description: str
    args_model: type[BaseModel]
    function: Callable[..., Any]
    risk: Risk = "read"
    scopes: tuple[Scope, ...] = ()
    examples: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    produces: str | None = None
    takes_context: bool = False
    reconcile: Reconciler | None = None
    plugin: str = ""
    apply: Applier | None = None
    """Set for a write tool that plans: ``function`` returns a :class:`~lamworks.Change` and
    this commits it (see :meth:`plan`)."""
    compensate: Compensator | None = None
    """Set for a write tool whose effect can be undone (see :class:`Compensator`)."""
    input_schema: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    """The JSON schema the tool was declared with (tools from :func:`tool_from_schema`)."""
    offers: str | None = None
    """A tool to offer next after this one lists results: the runtime asks "Would you like me
    to …?" under them, and a reply that accepts ("yes", "yes, the 9:30 one") plans that tool
    with what the person saw (:attr:`lamworks.DialogState.suggested`). Its short name means
    the same plugin's tool."""
    redact: tuple[str, ...] = ()
    """Arguments never stored in the audit log (``"[redacted]"`` there), on top of the core
    rule that hides free text and identifiers of every tool (:mod:`lamworks.redaction`)."""

    @property
    def short_name(self) -> str:
        """The name without its plugin namespace."""
        return self.name.rsplit(".", 1)[-1]

    def namespaced(self, plugin: str) -> Tool:
        """A copy stamped with its plugin; the name gains the ``plugin.`` prefix if it has none."""
        name = self.name if "." in self.name else f"{plugin}.{self.name}"
        offers = self.offers if self.offers is None or "." in self.offers \
            else f"{plugin}.{self.offers}"
        return replace(self, plugin=plugin, name=name, offers=offers)

    def json_schema(self) -> dict[str, Any]:
        """The arguments' JSON schema: MCP's ``inputSchema``, OpenAI's ``parameters``."""
        if self.input_schema is not None:
            return copy.deepcopy(self.input_schema)
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        schema.setdefault("properties", {})
        return schema

    def to_openai_function(self) -> dict[str, Any]:
        """The OpenAI function-calling shape (also what Ollama, vLLM, llama.cpp accept)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.json_schema(),
            },
        }

    def to_mcp_tool(self) -> dict[str, Any]:
        """The Model Context Protocol tool shape."""
        return {"name": self.name, "description": self.description,
                "inputSchema": self.json_schema()}

    def validate_arguments(self, arguments: Mapping[str, Any]) -> BaseModel:
        """Validate arguments; a :class:`ToolError` names the first bad field."""
        try:
            return self.args_model.model_validate(dict(arguments))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "arguments"
            message = "unknown argument" if first["type"] == "extra_forbidden" else first["msg"]
            field_name = str(first["loc"][0]) if first["loc"] else None
            raise ToolError(self.name, f"{where}: {message}", field=field_name) from None

    @property
    def plans_changes(self) -> bool:
        """Whether the tool plans a :class:`~lamworks.Change` before applying it."""
        return self.apply is not None

    def plan(self, ctx: ActionContext, arguments: Mapping[str, Any]) -> Change:
        """The exact change a planning write tool would make with these arguments; nothing is
        written. Raises :class:`ToolError` when it cannot be planned (the slot is taken)."""
        if self.apply is None:
            raise TypeError(f"tool {self.name!r} does not plan changes (no apply=)")
        planned = self._call(ctx, arguments)
        if not isinstance(planned, Change):
            raise TypeError(f"tool {self.name!r} returned {type(planned).__name__}, "
                            "not the Change it plans")
        return planned

    def invoke(self, ctx: ActionContext, arguments: Mapping[str, Any]) -> ActionResult:
        """Validate the arguments, call the function, and wrap what it returns.

        A tool that plans changes plans and applies at once (no one confirms in between):
        what direct callers such as a plugin's own tests want. The runtime plans first,
        shows the change, and applies the confirmed one."""
        if self.apply is not None:
            return as_action_result(self.apply(ctx, self.plan(ctx, arguments)))
        return as_action_result(self._call(ctx, arguments))

    def _call(self, ctx: ActionContext, arguments: Mapping[str, Any]) -> Any:
        model = self.validate_arguments(arguments)
        values = {name: getattr(model, name) for name in type(model).model_fields}
        return self.function(ctx, **values) if self.takes_context else self.function(**values)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (handy in a plugin's own unit tests)."""
        return self.function(*args, **kwargs)


def entity(kind: str, description: str, **field_options: Any) -> Any:
    """Mark an argument as a domain entity a slot extractor can find (``"Practitioner"``).

    Example::

        def find_slots(practitioner: Annotated[str, entity("Practitioner", "Who the visit is
                       with")]) -> ...
    """
    return Field(description=description, json_schema_extra={ENTITY_KEY: kind}, **field_options)


def ref(kind: str, description: str, **field_options: Any) -> Any:
    """Mark an argument as a reference to a record another step produced (``"Patient"``).

    The planner fills it from the conversation ("her", "that appointment") or chains in a tool
    that ``produces`` this kind. The value is the record's id.

    Example::

        def book_appointment(patient_id: Annotated[str, ref("Patient", "The patient")]) -> ...
    """
    return Field(description=description, json_schema_extra={REF_KEY: kind}, **field_options)


def as_action_result(value: Any) -> ActionResult:
    """Wrap whatever a tool returned in an :class:`ActionResult`."""
    if isinstance(value, ActionResult):
        return value
    if isinstance(value, BaseModel):
        return ActionResult(data=value.model_dump(mode="json", exclude_none=True))
    if isinstance(value, str):
        return ActionResult(summary=value)
    return ActionResult(data=value)


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The first paragraph, and ``{argument: description}`` from a Google-style Args section."""
    doc = inspect.cleandoc(doc or "")
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    descriptions: dict[str, str] = {}
    in_args = False
    current = None
    for line in doc.splitlines():
        if _ARGS_HEADER.match(line):
            in_args, current = True, None
            continue
        if in_args:
            if line and not line.startswith(" "):
                in_args = False
                continue
            match = _ARG_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if match and indent <= 4:
                current = match.group(1)
                descriptions[current] = match.group(2).strip()
            elif current and line.strip():
                descriptions[current] += " " + line.strip()
    return summary, descriptions


def _is_context_param(param: inspect.Parameter, hints: Mapping[str, Any]) -> bool:
    return hints.get(param.name) is ActionContext or param.name == "ctx"


def _args_model(
    func: Callable[..., Any], name: str, descriptions: Mapping[str, str]
) -> tuple[type[BaseModel], bool]:
    signature = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)
    params = list(signature.parameters.values())
    takes_context = bool(params) and _is_context_param(params[0], hints)
    if takes_context:
        params = params[1:]
    fields: dict[str, Any] = {}
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {name!r}: *args and **kwargs cannot become a schema")
        if param.name not in hints:
            raise TypeError(f"tool {name!r}: parameter {param.name!r} needs a type annotation")
        default = ... if param.default is inspect.Parameter.empty else param.default
        described = descriptions.get(param.name)
        info = Field(default, description=described) if described else Field(default)
        fields[param.name] = (hints[param.name], info)
    title = "".join(part.title() for part in name.split("_")) + "Arguments"
    model = create_model(title, __config__=ConfigDict(extra="forbid"), **fields)
    return model, takes_context


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    risk: Risk = "read",
    scopes: Sequence[str] = (),
    examples: Sequence[str] = (),
    consumes: Sequence[str] = (),
    produces: str | None = None,
    reconcile: Reconciler | None = None,
    apply: Applier | None = None,
    compensate: Compensator | None = None,
    redact: Sequence[str] = (),
    offers: str | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    risk: Risk = "read",
    scopes: Sequence[str] = (),
    examples: Sequence[str] = (),
    consumes: Sequence[str] = (),
    produces: str | None = None,
    reconcile: Reconciler | None = None,
    apply: Applier | None = None,
    compensate: Compensator | None = None,
    redact: Sequence[str] = (),
    offers: str | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function into a :class:`Tool`. Use as ``@tool`` or ``@tool(risk="write")``.

    Args:
        name: Defaults to the function's name; the plugin's name is prefixed at registration.
        description: Defaults to the docstring's first paragraph.
        risk: ``read`` (no side effect), ``write`` or ``irreversible``; roles choose which
            risks need a person's confirmation.
        scopes: SMART v2 scopes the acting role must hold, e.g. ``"user/Appointment.c"``.
        examples: A few utterances that should select this tool (used by the router).
        consumes: Types of references the tool needs (``"Patient"``), for the chainer.
        produces: The type of reference it creates (``"Appointment"``).
        reconcile: Called after a crash with the step's idempotency key, to learn whether the
            side effect happened (see :class:`Reconciler`).
        apply: Makes a write tool that plans: the function returns the
            :class:`~lamworks.Change` it will make, writing nothing, and
            ``apply(ctx, change)`` commits exactly that change or raises
            :class:`~lamworks.ChangeConflict`. The runtime plans before asking for
            confirmation and applies the change the person confirmed.
        compensate: Undoes what the tool did when a later step of its plan cannot run (see
            :class:`Compensator`); without it, a plan with this step before another write is
            confirmed as not all-or-nothing.
        redact: Arguments never stored in the audit log, beyond the core rule (free text and
            identifiers of every tool are hidden already: :mod:`lamworks.redaction`).
        offers: The tool to offer next after this one lists results (a search offers the
            booking): "Would you like me to …?" is asked under them, and "yes" plans it.
    """
    if risk not in _RISKS:
        raise ValueError(f"risk must be one of {', '.join(_RISKS)}, not {risk!r}")
    parsed_scopes = tuple(Scope.parse(s) for s in scopes)

    def build(f: Callable[..., Any]) -> Tool:
        tool_name = name or f.__name__
        summary, arg_docs = _parse_docstring(f.__doc__ or "")
        text = description or summary
        if not text:
            raise TypeError(f"tool {tool_name!r} needs a docstring or description=")
        model, takes_context = _args_model(f, tool_name, arg_docs)
        return Tool(
            name=tool_name,
            description=text,
            args_model=model,
            function=f,
            risk=risk,
            scopes=parsed_scopes,
            examples=tuple(examples),
            consumes=tuple(consumes),
            produces=produces,
            takes_context=takes_context,
            reconcile=reconcile,
            apply=apply,
            compensate=compensate,
            redact=tuple(redact),
            offers=offers,
        )

    return build(func) if func is not None else build


_JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool,
                               "object": dict[str, Any], "null": type(None)}
_FORMATS: dict[str, Any] = {"date": date, "date-time": datetime, "time": time,
                            "duration": timedelta}


def _annotation(prop: dict[str, Any]) -> Any:
    if "enum" in prop:
        return Literal[tuple(prop["enum"])]
    if "anyOf" in prop or "oneOf" in prop:
        options = [_annotation(o) for o in prop.get("anyOf", prop.get("oneOf", []))]
        union: Any = options[0]
        for option in options[1:]:
            union = union | option
        return union
    kind = prop.get("type", "string")
    if isinstance(kind, list):
        union = _annotation({**prop, "type": kind[0]})
        for other in kind[1:]:
            union = union | _annotation({**prop, "type": other})
        return union
    if kind == "string" and prop.get("format") in _FORMATS:
        return _FORMATS[prop["format"]]
    if kind == "array":
        return list[_annotation(prop.get("items", {}))]  # type: ignore[misc]
    return _JSON_TYPES.get(kind, Any)


def tool_from_schema(
    name: str,
    description: str,
    input_schema: dict[str, Any],
    handler: Callable[..., Any] | None = None,
    *,
    risk: Risk = "read",
    scopes: Sequence[str] = (),
    examples: Sequence[str] = (),
    consumes: Sequence[str] = (),
    produces: str | None = None,
    takes_context: bool = False,
    redact: Sequence[str] = (),
    offers: str | None = None,
) -> Tool:
    """A tool declared from a JSON schema (an MCP ``inputSchema``, an OpenAI ``parameters``).

    The planner sees exactly what it sees for a Python tool: the schema's property types,
    formats, enums and descriptions, and the examples. ``handler`` receives the validated
    arguments as keyword arguments (after ``ctx`` when ``takes_context``); without one the tool
    echoes its arguments as its result, which is what an evaluation harness wants.
    ``redact`` names arguments never stored in the audit log (beyond the core rule,
    :mod:`lamworks.redaction`); ``offers`` the tool to offer after this one's results
    (:attr:`Tool.offers`).

    Example::

        restaurant = tool_from_schema(
            "reserve_restaurant", "Reserve a table at a restaurant.",
            {"type": "object", "required": ["restaurant_name", "date"],
             "properties": {"restaurant_name": {"type": "string", "description": "..."},
                            "date": {"type": "string", "format": "date"},
                            "party_size": {"type": "integer"}}},
            examples=["book a table for two at Nopa tonight"])
    """
    if input_schema.get("type", "object") != "object":
        raise ValueError(f"tool {name!r}: the input schema must describe an object")
    required = set(input_schema.get("required", []))
    fields: dict[str, Any] = {}
    for prop_name, prop in input_schema.get("properties", {}).items():
        annotation = _annotation(prop)
        extra = {k: v for k, v in prop.items() if k.startswith("x-")}
        info = Field(... if prop_name in required else prop.get("default"),
                     description=prop.get("description"), json_schema_extra=extra or None)
        fields[prop_name] = (annotation if prop_name in required else annotation | None, info)
    title = "".join(part.title() for part in re.split(r"[_\W]+", name) if part) + "Arguments"
    model = create_model(title, __config__=ConfigDict(extra="forbid"), **fields)

    def echo(**arguments: Any) -> ActionResult:
        return ActionResult(summary=f"{name}: {arguments}", data=arguments)

    return Tool(
        name=name, description=description, args_model=model,
        function=handler or echo, risk=risk, scopes=tuple(Scope.parse(s) for s in scopes),
        examples=tuple(examples), consumes=tuple(consumes), produces=produces,
        takes_context=takes_context and handler is not None,
        input_schema=copy.deepcopy({"type": "object", **input_schema}),
        redact=tuple(redact), offers=offers,
    )
