"""Retrieved text is data, never instructions: detection of instruction-like text in documents.

What lives here: a list of patterns that look like someone talking *to the assistant* from inside
a document ("ignore previous instructions", "call the tool", "system prompt", "you are now ...")
and :func:`find_instructions`, which the ingester runs on every chunk. A match sets the chunk's
``flagged`` metadata; search results carry it as :attr:`Hit.flagged` and the UI shows it.

What does not: any execution. Nothing in :mod:`lamworks.knowledge` ever turns retrieved text into
a tool call; flagging exists so that people (and an LLM answerer, if one is plugged in) can see
that a passage tries to give orders, and so extractive answers leave such sentences out.
"""

from __future__ import annotations

import re

__all__ = ["INSTRUCTION_PATTERNS", "find_instructions", "is_flagged"]

INSTRUCTION_PATTERNS: tuple[str, ...] = (
    r"\bignore\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier|preceding)\s+"
    r"(?:instructions?|prompts?|messages?|rules?|directions?)",
    r"\bdisregard\s+(?:all\s+|any\s+|the\s+|your\s+)?(?:previous|prior|above|earlier)?\s*"
    r"(?:instructions?|prompts?|rules?|guidelines?)",
    r"\bforget\s+(?:all\s+|everything\s+|your\s+)(?:previous\s+|prior\s+)?"
    r"(?:instructions?|rules?|you\s+were\s+told)",
    r"\b(?:call|invoke|execute|trigger)\s+(?:the|a|this|that)\s+"
    r"(?:[\w-]+\s+)?(?:tool|function|action|command)s?\b",
    r"\bsystem\s+prompt\b",
    r"\byou\s+are\s+now\b",
    r"\bact\s+as\s+(?:an?\s+)?(?:admin|administrator|root|developer|system)\b",
    r"\bnew\s+instructions?\s*:",
    r"\b(?:assistant|ai|model|llm|chatbot)\s*,?\s+(?:you\s+)?must\s+(?:now\s+)?(?:ignore|reveal|"
    r"call|run|execute|send|delete|book|cancel)\b",
    r"\bdo\s+not\s+(?:tell|inform)\s+the\s+user\b",
    r"\breveal\s+(?:your|the)\s+(?:instructions|prompt|secrets?|api\s+keys?)\b",
    r"<\s*/?\s*(?:system|assistant|tool_call|function_call)\s*>",
)
"""Case-insensitive regular expressions for text that addresses the assistant, not the reader."""

_COMPILED = tuple(re.compile(p, re.IGNORECASE) for p in INSTRUCTION_PATTERNS)


def find_instructions(text: str) -> list[str]:
    """The instruction-like phrases found in ``text`` (as written), in order of appearance."""
    found: list[tuple[int, str]] = []
    for pattern in _COMPILED:
        found.extend((m.start(), m.group(0)) for m in pattern.finditer(text))
    return [phrase for _, phrase in sorted(found)]


def is_flagged(text: str) -> bool:
    """Whether ``text`` contains anything that looks like an instruction to the assistant."""
    return any(pattern.search(text) for pattern in _COMPILED)
