"""An optional planner backed by any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp).

It is an ordinary plugin (entry point ``llm`` in group ``lamworks``) that registers a planner
named ``llm`` when ``[plugins.llm] base_url`` is set; an institution then chooses it with
``planner = "llm"``. It sends the tools as OpenAI function definitions and turns the model's
``tool_calls`` into the same :class:`~lamworks.Plan` the default planner returns: arguments are
validated by the tool's model, and a missing or invalid required argument becomes a follow-up
question, exactly as with the default planner. Policies, confirmation and audit are unchanged:
the model only proposes.

The API key, if the server needs one, is read from the environment variable named by
``api_key_env`` — never from the configuration file.

Example (``lamworks.toml``)::

    planner = "llm"

    [plugins.llm]
    base_url = "http://127.0.0.1:11434/v1"   # Ollama
    model = "qwen2.5:7b-instruct"
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..hookspecs import hookimpl
from ..plan import Explanation, FollowUp, Plan, Step
from ..planning import Planner, PlanningContext, field_question, new_step_id
from ..tools import Tool

__all__ = ["LLMPlanner", "LLMSettings"]

SYSTEM_PROMPT = (
    "You are the planner of an assistant that acts on real systems. Call the one tool (or the "
    "few tools, in order) that carry out the user's request, with only the arguments the user "
    "gave. If no tool applies, answer briefly in plain text without calling a tool. Never "
    "invent values the user did not give."
)


class LLMSettings(BaseModel):
    """``[plugins.llm]``: where the OpenAI-compatible endpoint is."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:11434/v1")
    model: str = Field("default", description="Model name the server expects.")
    api_key_env: str | None = Field(None, description="Environment variable with the key.")
    timeout_s: float = Field(30.0, gt=0)
    temperature: float = Field(0.0, ge=0, le=2)


def _wire_name(name: str) -> str:
    # OpenAI function names allow [a-zA-Z0-9_-]: "healthcare.book" travels as "healthcare__book".
    return name.replace(".", "__")


class LLMPlanner:
    """Plans with function calling on an OpenAI-compatible ``/chat/completions`` endpoint."""

    name = "llm"
    fallback = False

    def __init__(self, settings: LLMSettings, *, client: httpx.Client | None = None) -> None:
        if not settings.base_url:
            raise ValueError("LLMPlanner needs [plugins.llm] base_url")
        self.settings = settings
        headers = {}
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
        self.client = client or httpx.Client(base_url=settings.base_url.rstrip("/"),
                                             timeout=settings.timeout_s, headers=headers)

    def plan(self, utterance: str, ctx: PlanningContext) -> Plan:
        tools = dict(ctx.tools)
        by_wire = {_wire_name(n): t for n, t in tools.items()}
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
        for item in ctx.dialog.history[-10:]:
            role = "user" if item.get("speaker") == "user" else "assistant"
            messages.append({"role": role, "content": item.get("text", "")})
        if not messages[-1:] or messages[-1].get("content") != utterance:
            messages.append({"role": "user", "content": utterance})
        payload = {
            "model": self.settings.model,
            "temperature": self.settings.temperature,
            "messages": messages,
            "tools": [{**t.to_openai_function(),
                       "function": {**t.to_openai_function()["function"],
                                    "name": _wire_name(t.name)}} for t in tools.values()],
            "tool_choice": "auto",
        }
        why = Explanation(planner=self.name, notes=[f"model {self.settings.model}"])
        try:
            response = self.client.post("/chat/completions", json=payload)
            response.raise_for_status()
            message = response.json()["choices"][0]["message"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
            why.notes.append(f"endpoint error: {exc!r}")
            return Plan(reply="The planning service is unavailable right now; please try again.",
                        why=why)
        calls = message.get("tool_calls") or []
        if not calls:
            return Plan(reply=(message.get("content") or "").strip()
                        or "Sorry, that's not something I can do here.", why=why)
        steps: list[Step] = []
        for call in calls:
            function = call.get("function", {})
            tool = by_wire.get(function.get("name", ""))
            if tool is None:
                why.notes.append(f"model called unknown tool {function.get('name')!r}")
                continue
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except json.JSONDecodeError:
                arguments = {}
            follow_up = self._check(tool, arguments, why)
            if follow_up is not None:
                return Plan(follow_up=follow_up, why=why)
            steps.append(Step(id=new_step_id(), tool=tool.name, arguments=arguments))
        if not steps:
            return Plan(reply="Sorry, that's not something I can do here.", why=why)
        return Plan(steps=steps, why=why)

    @staticmethod
    def _check(tool: Tool, arguments: dict[str, Any], why: Explanation) -> FollowUp | None:
        """A question for the first missing or invalid argument, or None when all is well."""
        try:
            tool.args_model.model_validate(arguments)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = str(first["loc"][0]) if first["loc"] else ""
            if field in tool.args_model.model_fields:
                arguments.pop(field, None)
                why.notes.append(f"{field}: {first['msg']}")
                return FollowUp(tool=tool.name, field=field,
                                question=field_question(tool, field), arguments=arguments)
        return None


@hookimpl
def plugin_settings() -> type[BaseModel]:
    return LLMSettings


@hookimpl
def register_planners(register: Callable[[Planner], None], settings: BaseModel | None) -> None:
    if isinstance(settings, LLMSettings) and settings.base_url:
        register(LLMPlanner(settings))
