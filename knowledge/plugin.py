"""The knowledge layer's plugin: answering questions from documents, as a tool.

Registered by the core as a default plugin named ``knowledge``. It contributes one tool,
``knowledge.answer_question``, so the router sends questions ("when is the clinic open on
Saturday?", "what is the late-work policy?") to retrieval QA like any other action: the answer
is extractive, cited, and limited to the documents the asking user's role may read. It opens
the knowledge base lazily, on the first question, and publishes it as
``services["knowledge"]`` for other plugins' tools.

Retrieved text is data: the tool only returns it; nothing in a document can trigger a tool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lamworks.hookspecs import hookimpl
from lamworks.plan import ActionResult
from lamworks.tools import ActionContext, Tool, tool

if TYPE_CHECKING:
    from lamworks.config import InstitutionConfig

    from .base import KnowledgeBase

__all__ = ["LazyKnowledgeBase", "answer_question"]


class LazyKnowledgeBase:
    """Opens :class:`~lamworks.knowledge.KnowledgeBase` on first use (the model loads then)."""

    def __init__(self, config: InstitutionConfig, *,
                 users: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.users = users
        """Username -> role for access checks (default: ``[users]``; the runtime's accounts
        through :class:`lamworks.accounts.UserRoles` when it is running)."""
        self._kb: KnowledgeBase | None = None
        self._lock = threading.Lock()

    def get(self) -> KnowledgeBase:
        with self._lock:
            if self._kb is None:
                from .base import KnowledgeBase

                self._kb = KnowledgeBase.from_config(self.config, users=self.users)
            return self._kb


@tool(examples=[
    "what are the opening hours on Saturday?",
    "what is the policy on late submissions?",
    "how do I request a copy of my records?",
    "which insurance plans do you accept?",
    "explain how the nitrogen cycle works",
    "what does the academic integrity policy say about using AI?",
    "where can I park?",
    "what should I bring to my first visit?",
])
def answer_question(ctx: ActionContext, question: str) -> ActionResult:
    """Answer a question from the institution's documents, with sources.

    Args:
        question: The question, in the asker's words.
    """
    from .answers import answer

    kb = ctx.services["knowledge"].get()
    # By role: the runtime resolved it from [users] or an account; the knowledge base's own
    # table of users knows only [users].
    reply = answer(kb, question, role=ctx.role)
    return ActionResult(
        summary=reply.text,
        audit_summary="answered from documents" if reply.found else "no answer found",
        data={"found": reply.found, "confidence": round(reply.confidence, 3)},
        citations=reply.citations,
    )


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    register(answer_question)


@hookimpl
def startup(config: InstitutionConfig, services: dict[str, Any]) -> None:
    from lamworks.accounts import UserRoles

    runtime = services.get("runtime")
    accounts = getattr(runtime, "accounts", None)
    users = UserRoles(accounts) if accounts is not None else None
    services.setdefault("knowledge", LazyKnowledgeBase(config, users=users))
