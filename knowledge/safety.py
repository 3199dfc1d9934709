"""Retrieved text is data, never instructions: detection of instruction-like text in documents.

What lives here: a list of patterns that look like someone talking *to the assistant* from inside
a document ("ignore previous instructions", "call the tool", "system prompt", "you are now ...");
:func:`find_instructions` and :func:`is_flagged`, which the ingester runs on every chunk (a match
sets the chunk's ``flagged`` metadata; search results carry it as :attr:`Hit.flagged`, the UI
shows it, extractive answers leave such sentences out); :func:`screen`, which also says what
was removed to find them; :func:`visible`, the text without invisible characters (what a quote
shows); and :func:`neutralise`, text made safe to quote to a language model (invisible
characters gone, instruction-like sentences replaced by a marker).

The patterns are ASCII; the text is not. Matching runs on a *folded* copy (:func:`fold`):

1. invisible format characters are removed — zero-width spaces and joiners, bidi embeddings,
   overrides and isolates, the soft hyphen, the word joiner, the BOM, Unicode tag characters
   (Unicode category ``Cf``) and variation selectors; a match is also tried with each of them
   read as a space, since "ignore\\u200bprevious" reads as two words to a model;
2. each character is NFKC-normalised (full-width letters, ligatures, mathematical
   alphanumerics, non-breaking spaces) and its combining marks are dropped ("ïgnore");
3. look-alike letters are mapped to the Latin letter they imitate (:data:`CONFUSABLES`: the
   Cyrillic, Greek and Armenian letters that pass for Latin ones, case by case: Greek capital
   eta is an H, small eta an n).

A match is reported as written in the original text. What does not live here: any execution.
Nothing in :mod:`lamworks.knowledge` ever turns retrieved text into a tool call; flagging exists
so that people (and a language model, if one is plugged in) can see that a passage tries to
give orders.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "CONFUSABLES",
    "INSTRUCTION_PATTERNS",
    "REMOVED_MARKER",
    "Folded",
    "Screening",
    "find_instructions",
    "fold",
    "is_flagged",
    "neutralise",
    "screen",
    "visible",
]

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
    r"\[\s*/?\s*(?:system|assistant|inst|tool_call|function_call)\s*\]",
)
"""Case-insensitive regular expressions for text that addresses the assistant, not the reader.
They are matched against the folded text (see the module docstring)."""

_COMPILED = tuple(re.compile(p, re.IGNORECASE) for p in INSTRUCTION_PATTERNS)

CONFUSABLES: Mapping[str, str] = {
    # Cyrillic capitals and small letters that pass for Latin ones.
    "А": "A", "В": "B", "Е": "E", "Ѕ": "S", "І": "I", "Ј": "J", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Һ": "H",
    "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I", "Ү": "Y",
    "а": "a", "в": "b", "г": "r", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ү": "y", "ь": "b",
    # Greek.
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Armenian, and Latin letters that are not the ASCII ones.
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "ց": "g", "ı": "i", "ɑ": "a", "ɡ": "g",
    "ɩ": "i", "ʟ": "L", "ɪ": "I",
}
"""Look-alike letters and the Latin letter each imitates (a small, hand-kept subset of
Unicode's confusables: the letters an attacker needs to spell English instructions)."""

_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # blank letters that render as nothing


def _invisible(char: str) -> bool:
    return (unicodedata.category(char) == "Cf" or char in _FILLERS
            or bool(_VARIATION_SELECTORS.match(char)))


@dataclass(frozen=True)
class Folded:
    """The folded text, where each of its characters came from, and what folding changed."""

    text: str
    origin: tuple[int, ...]
    """For each character of :attr:`text`, its index in the original text."""
    invisible: tuple[str, ...] = ()
    """The invisible characters removed, in order."""
    lookalikes: tuple[str, ...] = ()
    """The look-alike letters mapped to Latin ones, in order (as written)."""


def fold(text: str, *, invisible_as: str = "") -> Folded:
    """``text`` folded for matching: invisible characters removed (or replaced by
    ``invisible_as``), NFKC, combining marks dropped, look-alike letters mapped to Latin."""
    if text.isascii():
        return Folded(text, tuple(range(len(text))))
    out: list[str] = []
    origin: list[int] = []
    removed: list[str] = []
    lookalikes: list[str] = []
    for index, char in enumerate(text):
        if _invisible(char):
            removed.append(char)
            out.extend(invisible_as)
            origin.extend([index] * len(invisible_as))
            continue
        for part in unicodedata.normalize("NFD", unicodedata.normalize("NFKC", char)):
            if unicodedata.combining(part):
                continue
            latin = CONFUSABLES.get(part)
            if latin is not None:
                lookalikes.append(part)
                part = latin
            out.append(part)
            origin.append(index)
    return Folded("".join(out), tuple(origin), tuple(removed), tuple(lookalikes))


def _matches(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` in ``text`` (as written) of the instruction-like phrases."""
    spans: set[tuple[int, int]] = set()
    variants = [fold(text)]
    if variants[0].invisible:
        variants.append(fold(text, invisible_as=" "))
    for folded in variants:
        for pattern in _COMPILED:
            for m in pattern.finditer(folded.text):
                if m.end() > m.start():
                    spans.add((folded.origin[m.start()], folded.origin[m.end() - 1] + 1))
    return sorted(spans)


def find_instructions(text: str) -> list[str]:
    """The instruction-like phrases found in ``text`` (as written), in order of appearance."""
    return [text[start:end] for start, end in _matches(text)]


def is_flagged(text: str) -> bool:
    """Whether ``text`` contains anything that looks like an instruction to the assistant."""
    return bool(_matches(text))


def visible(text: str) -> str:
    """``text`` without invisible characters (zero-width, bidi controls, tag characters):
    what a quote of it shows, with nothing hidden in it and no reordering."""
    if text.isascii():
        return text
    return "".join(char for char in text if not _invisible(char))


@dataclass(frozen=True)
class Screening:
    """What :func:`screen` found in a text and what it removed to find it."""

    phrases: list[str] = field(default_factory=list)
    """The instruction-like phrases, as written."""
    invisible: dict[str, int] = field(default_factory=dict)
    """Invisible characters removed, by Unicode name (``"ZERO WIDTH SPACE": 3``)."""
    lookalikes: dict[str, int] = field(default_factory=dict)
    """Look-alike letters read as Latin ones (``"CYRILLIC SMALL LETTER I -> i": 2``)."""

    @property
    def flagged(self) -> bool:
        return bool(self.phrases)

    def describe(self) -> str:
        """One line for people: the phrases found and what was removed or folded; empty when
        there was nothing to say."""
        parts = []
        if self.phrases:
            parts.append("instruction-like text: " + "; ".join(repr(p) for p in self.phrases))
        if self.invisible:
            count = sum(self.invisible.values())
            names = ", ".join(f"{name} x{n}" for name, n in self.invisible.items())
            parts.append(f"removed {count} invisible character(s) ({names})")
        if self.lookalikes:
            count = sum(self.lookalikes.values())
            names = ", ".join(f"{name} x{n}" for name, n in self.lookalikes.items())
            parts.append(f"read {count} look-alike letter(s) as Latin ({names})")
        return "; ".join(parts)


def _name(char: str) -> str:
    return unicodedata.name(char, f"U+{ord(char):04X}")


def screen(text: str) -> Screening:
    """The instruction-like phrases in ``text`` and what folding removed or changed to find
    them (invisible characters, look-alike letters)."""
    folded = fold(text)
    return Screening(
        phrases=find_instructions(text),
        invisible=dict(Counter(_name(c) for c in folded.invisible)),
        lookalikes=dict(Counter(f"{_name(c)} -> {CONFUSABLES[c]}" for c in folded.lookalikes)),
    )


_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)")
REMOVED_MARKER = "[instruction-like text removed]"
"""What :func:`neutralise` puts where a sentence with instruction-like text was."""


def neutralise(text: str, *, marker: str = REMOVED_MARKER) -> str:
    """``text`` made safe to quote to a language model: invisible characters removed and
    every sentence (or line) that contains instruction-like text replaced by ``marker``
    (``[instruction-like text removed]``; the ingester embeds chunks with ``marker=""``, so
    such sentences never steer retrieval either)."""
    if not is_flagged(text):
        return visible(text)
    pieces = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0)
        if sentence and is_flagged(sentence):
            lead = sentence[:len(sentence) - len(sentence.lstrip())]
            pieces.append(lead + marker + ("\n" if sentence.endswith("\n") else ""))
        else:
            pieces.append(visible(sentence))
    result = "".join(pieces)
    # A phrase split across sentences ("ignore. previous") is not a reason to let it through.
    return marker if is_flagged(result) else result
