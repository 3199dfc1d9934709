"""Choosing a tool — or none — for an utterance, with the reasons.

The utterance is first delexicalised (:mod:`.delex`: "book Ana Ruiz on Friday" becomes "book
someone on a date"), so routing rests on the words of intent rather than on names and dates.
One embedding of it is compared (cosine, a single matrix product) with precomputed
embeddings of every tool's description and examples; a tool scores the mean of its two
best-matching texts, less part of how alike its own texts are (its *typicality*), so tools with
near-identical examples and tools with varied ones meet one threshold on equal terms.
Lexical evidence — BM25 over the same texts, normalised per query to [0, 1] — is added with a
small weight, which helps on names and rare words that a small embedding model blurs. When the
best fused score is under the threshold, the router says *no tool*.

The weight and threshold are calibrated by ``bench/planner.py --calibrate`` on the plugins'
evaluation sets (a calibration split of in-scope and out-of-scope utterances; the threshold
that maximises no-tool F1 subject to tool recall) and stored in :data:`DEFAULT_CALIBRATION`;
an institution can recalibrate on its own tools (``Calibration.save`` into its data folder).
Nothing here is set per utterance.

The tool texts' embeddings go through the embedder's disk cache, keyed by the text's hash and
the model, so a restart — or a new plugin version whose examples did not change — embeds
nothing again.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..plan import Candidate
from ..tools import Tool
from .delex import delexicalize

__all__ = ["Calibration", "DEFAULT_CALIBRATION", "Route", "Router", "TextEmbedder"]

Vector = npt.NDArray[np.float32]


class TextEmbedder(Protocol):
    """What the router needs from an embedder (``lamworks.knowledge.Embedder`` fits)."""

    def embed_documents(self, texts: Sequence[str]) -> Vector: ...  # pragma: no cover

    def embed_query(self, text: str) -> Vector: ...  # pragma: no cover


@dataclass(frozen=True)
class Calibration:
    """The router's two numbers (plus per-tool thresholds where data allowed calibrating)."""

    threshold: float = 0.42
    lexical_weight: float = 0.15
    per_tool: dict[str, float] = field(default_factory=dict)
    source: str = "default"

    def threshold_for(self, tool: str) -> float:
        return self.per_tool.get(tool, self.threshold)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**data)


DEFAULT_CALIBRATION = Calibration()
"""Overwritten below by the values ``bench/planner.py --calibrate`` measured, when present."""

_CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
if _CALIBRATION_FILE.exists():
    DEFAULT_CALIBRATION = Calibration.load(_CALIBRATION_FILE)

TYPICALITY_WEIGHT = 0.5
"""How much of a tool's typicality (see :meth:`Router._typicality`) is subtracted; chosen on
the calibration halves of the evaluation sets with the threshold (``bench/planner.py``)."""

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset("a an the to of for and or me my i we our you your please can could would "
                  "will with on in at is are be it this that by from some any do does i'd "
                  "i'm want need like".split())


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


@dataclass(frozen=True)
class Route:
    """The router's decision and its evidence."""

    tool: str | None
    score: float
    candidates: list[Candidate]
    dense: dict[str, float]
    lexical: dict[str, float]
    threshold: float

    def explain(self) -> list[str]:
        notes = [f"threshold {self.threshold:.3f}"]
        for c in self.candidates:
            notes.append(f"{c.tool}: fused {c.score:.3f} = dense {self.dense[c.tool]:.3f} + "
                         f"lexical {self.lexical[c.tool]:.3f}")
        if self.tool is None:
            notes.append("no tool scores above the threshold")
        return notes


class _BM25:
    """BM25 over a few hundred short texts; small enough that plain Python is fastest."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avg = (sum(self.lengths) / len(self.lengths)) if docs else 1.0
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, d in enumerate(self.docs):
            for t in d:
                self.postings.setdefault(t, []).append(i)

    def scores(self, query: Sequence[str]) -> npt.NDArray[np.float64]:
        out = np.zeros(len(self.docs))
        for t in set(query):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i in self.postings[t]:
                tf = self.docs[i][t]
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                out[i] += idf * tf * (self.k1 + 1) / norm
        return out


class Speller:
    """Single-typo correction against the tools' own vocabulary ("resevation" → "reservation").

    Symmetric delete-one lookup (the SymSpell idea at distance 1): a word and a typo of it
    share a string with one letter deleted. Only words of five letters or more that are not
    in the vocabulary are touched, and only the routing text is corrected.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.vocabulary = {w for t in texts for w in _TOKEN.findall(t.lower())}
        self.deletes: dict[str, str] = {}
        for word in sorted(self.vocabulary, key=len):
            if len(word) < 4:
                continue
            for variant in self._variants(word):
                self.deletes.setdefault(variant, word)

    @staticmethod
    def _variants(word: str) -> set[str]:
        return {word[:i] + word[i + 1:] for i in range(len(word))} | {word}

    def correct(self, text: str) -> str:
        def fix(m: re.Match[str]) -> str:
            word = m.group(0)
            lowered = word.lower()
            if len(lowered) < 5 or lowered in self.vocabulary or not lowered.isalpha():
                return word
            for variant in self._variants(lowered):
                if variant in self.deletes:
                    return self.deletes[variant]
            return word

        return re.sub(r"[A-Za-z]+", fix, text)


class Router:
    """Routes utterances among a fixed set of tools (rebuild when the tools change)."""

    def __init__(self, embedder: TextEmbedder, tools: Mapping[str, Tool],
                 calibration: Calibration = DEFAULT_CALIBRATION, *,
                 generalize: Callable[[str], str] | None = None) -> None:
        """``generalize`` is applied to the tools' texts as the planner applies it to the
        utterance before :meth:`route`: entities the plugins recognise become generic words
        ("quiz me on food webs" → "quiz me on a topic") on both sides."""
        self.embedder = embedder
        self.calibration = calibration
        self.tools = dict(tools)
        self.tool_names: list[str] = []
        owners: list[int] = []
        texts: list[str] = []
        for name, tool in tools.items():
            index = len(self.tool_names)
            self.tool_names.append(name)
            for text in (tool.description, *tool.examples):
                if text.strip():
                    texts.append(delexicalize(generalize(text) if generalize else text))
                    owners.append(index)
        self.speller = Speller([*texts, *(t.short_name.replace("_", " ")
                                           for t in tools.values())])
        self.owners = np.array(owners, dtype=np.int64)
        self.matrix: Vector = (embedder.embed_documents(texts) if texts
                               else np.zeros((0, 384), dtype=np.float32))
        self.bm25 = _BM25([tokens(t) + tokens(self._name_words(tools, o))
                           for t, o in zip(texts, owners, strict=True)])
        self.groups = [np.flatnonzero(self.owners == i) for i in range(len(self.tool_names))]
        self.offset = TYPICALITY_WEIGHT * self._typicality()

    def _name_words(self, tools: Mapping[str, Tool], owner: int) -> str:
        return tools[self.tool_names[owner]].short_name.replace("_", " ")

    def _per_tool(self, values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Each tool's best value over its texts."""
        best = np.full(len(self.tool_names), -1.0)
        np.maximum.at(best, self.owners, values)
        return best

    def _per_tool_top2(self, values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Each tool's mean of its two best values: one lucky example is not enough."""
        out = np.full(len(self.tool_names), -1.0)
        for i, idx in enumerate(self.groups):
            if len(idx) == 0:
                continue
            top = np.partition(values[idx], -2)[-2:] if len(idx) > 1 else values[idx]
            out[i] = float(top.mean())
        return out

    def _typicality(self) -> npt.NDArray[np.float64]:
        """How alike each tool's own texts are (mean over its texts of the best cosine to
        another of its texts), minus the mean over tools.

        A tool whose examples are near-paraphrases scores high on anything close to them; one
        with varied examples scores lower even on its own requests. Subtracting part of this
        puts tools on one scale before the single threshold applies."""
        typical = np.zeros(len(self.tool_names))
        if len(self.matrix) == 0:
            return typical
        sims = self.matrix @ self.matrix.T
        np.fill_diagonal(sims, -1.0)
        known = []
        for i, idx in enumerate(self.groups):
            if len(idx) >= 2:
                typical[i] = float(sims[np.ix_(idx, idx)].max(axis=1).mean())
                known.append(i)
        mean = float(typical[known].mean()) if known else 0.0
        for i in range(len(typical)):
            if i not in known:
                typical[i] = mean
        return typical - mean

    def evidence(self, utterance: str, vector: Vector | None = None
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per tool (in ``tool_names`` order): dense cosine and normalised lexical score.

        The utterance is delexicalised first (names, dates, numbers made generic)."""
        utterance = self.speller.correct(delexicalize(utterance))
        q = vector if vector is not None else self.embedder.embed_query(utterance)
        dense = self._per_tool_top2(self.matrix @ q) - self.offset
        lexical = self._per_tool(self.bm25.scores(tokens(utterance)))
        peak = lexical.max() if len(lexical) else 0.0
        return dense, (lexical / peak if peak > 0 else np.zeros_like(lexical))

    def route(self, utterance: str, vector: Vector | None = None, *, top: int = 3,
              allowed: Sequence[str] | None = None) -> Route:
        """Score every tool (or only ``allowed``) and decide; ``vector`` reuses an embedding."""
        if not self.tool_names:
            return Route(None, 0.0, [], {}, {}, self.calibration.threshold)
        dense, lexical = self.evidence(utterance, vector)
        fused = dense + self.calibration.lexical_weight * lexical
        if allowed is not None:
            mask = np.array([n in allowed for n in self.tool_names])
            fused = np.where(mask, fused, -np.inf)
        order = np.argsort(-fused)[:top]
        candidates = [Candidate(tool=self.tool_names[i], score=round(float(fused[i]), 4))
                      for i in order if np.isfinite(fused[i])]
        best = candidates[0] if candidates else None
        threshold = self.calibration.threshold_for(best.tool) if best else 1.0
        chosen = best.tool if best and best.score >= threshold else None
        return Route(
            tool=chosen, score=best.score if best else 0.0, candidates=candidates,
            dense={c.tool: round(float(dense[self.tool_names.index(c.tool)]), 4)
                   for c in candidates},
            lexical={c.tool: round(float(lexical[self.tool_names.index(c.tool)]), 4)
                     for c in candidates},
            threshold=threshold,
        )
