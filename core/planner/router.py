"""Choosing a tool — or none — for an utterance, with the reasons: a learned scorer.

The router never learns *which* tools exist; it learns what a right tool looks like from the
outside. For an utterance and each tool it measures a handful of tool-relative features —
cosine to the tool's nearest example, to its two nearest, to its description and to the centre
of its examples; BM25 over the tool's texts; how far the tool is ahead of the best other tool;
whether the tool's fields can take the particulars the request mentions (a date, a place, a
phone number); how alike the tool's own examples are. Two small logistic models read them:

- the **chooser** ranks the tools: the probability that this tool, rather than another loaded
  one, is the one. It is trained on leave-one-out rows (each example, scored against every
  tool with itself left out of its tool's texts, is a positive for its own tool and a negative
  for the rest) and leave-one-tool-out rows (each example with its whole tool left out is a
  negative for every remaining tool), each utterance weighing the same. Its features include
  the nearest-example cosine and its margin over every other tool, so it can do what
  nearest-example kNN does, and more;
- the **gate** decides whether the chooser's best tool is the one or the request is for *no
  tool*. It reads the best tool's absolute evidence (cosines, BM25, coverage, typicality) and
  the chooser's logit, never margins, which a left-out tool changes; its weights are kept
  non-negative (:func:`_monotone_fit`). In-scope rows: each example's own tool (leave-one-out).
  No-tool rows, each the tool the chooser would pick: (1) each example with its whole tool left
  out, when the pick belongs to another plugin (service) — a request for a tool that is not
  loaded; a pick of the left-out tool's own plugin is not used, since a sibling (search and
  reserve, one-way and round trip) would often serve it, and such rows taught the gate to turn
  away plain requests for loaded tools (SGD dev: the router's best tool was right on 95% of
  intent turns, yet it abstained on 7%); (2) the general conversation of the lexicon
  (``not_requests``: thanks, goodbyes, greetings, acknowledgements, as data), together weighing
  half as much as the in-scope rows: what a message for no tool looks like when one plugin's
  tools are all there is.

Both are trained when the router is built (index time), from the tools' own examples and the
lexicon alone. Keeping the choice and the abstention apart matters: one model trained on both
learnt that a close, clearly leading tool was often a left-out tool's near miss, and abstained
on requests that nearest-example kNN routed right. The router chooses the chooser's best tool
when the chooser's probability or the gate's reaches :data:`DECISION_THRESHOLD` (more likely
right than wrong): the gate rescues requests the chooser alone turns away, never the reverse.
(A chooser of leave-one-out rows alone ranked better on SGD dev, but then only the gate could
accept, and short requests named by their own words, far from every example, were lost.)
Nothing is fitted to an evaluation set, and nothing here is set per tool or per utterance. An
institution may fix another threshold in a :class:`Calibration` file.

One embedding per utterance (the caller may pass it in). Tool texts' embeddings go through the
embedder's disk cache, so a restart embeds nothing again. Every step is deterministic: no
dependence on set order or hash seeds.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..plan import Candidate
from ..tools import Tool
from .delex import delexicalize, mentioned
from .fields import field_specs
from .lexicon import lexicon
from .slots import pasted_text, takes_long_text

__all__ = ["Calibration", "DEFAULT_CALIBRATION", "FEATURES", "Route", "Router", "TextEmbedder"]

Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float64]


class TextEmbedder(Protocol):
    """What the router needs from an embedder (``lamworks.knowledge.Embedder`` fits)."""

    def embed_documents(self, texts: Sequence[str]) -> Vector: ...  # pragma: no cover

    def embed_query(self, text: str) -> Vector: ...  # pragma: no cover


@dataclass(frozen=True)
class Calibration:
    """An institution's override of the router's abstention.

    By default (``threshold=None``) a tool is chosen when its probability reaches
    :data:`DECISION_THRESHOLD`; a fixed probability in [0, 1] replaces that; ``source`` says
    where it came from.
    """

    threshold: float | None = None
    source: str = "index time"

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(threshold=data.get("threshold"), source=data.get("source", str(path)))


DEFAULT_CALIBRATION = Calibration()

FEATURES = ("top1", "top2", "description", "centroid", "lexical", "lexical_raw", "margin1",
            "margin2", "lexical_margin", "leader", "coverage", "name_words", "above_typical",
            "known_words")
"""The tool-relative features, in the model's order (see :meth:`Router._features`)."""

_LEX = lexicon("en")
_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset("a an the to of for and or me my i we our you your please can could would "
                  "will with on in at is are be it this that by from some any do does i'd "
                  "i'm want need like".split())
CHOOSER_L2 = 10.0
"""How strongly the chooser's weights are held towards zero: a Gaussian prior on the
standardised weights worth about ten utterances of evidence (it was 1). A few tools with ten
examples each overfit without it: their examples share words by chance, and the BM25 share
then outweighs the cosines. Chosen on development data only: on SGD train dialogues in no
evaluation set (the error-analysis pool), the chooser then ranks the right tool first more
often than nearest-example kNN (0.927 against 0.919; it was 0.907); the own development suites'
tool accuracy went from 0.895 to 0.923; a prior of 30 ranked as well but lost a conversation of
``bench/conversations.py`` (a clinical question no longer routed where it is refused). Many
tools with many examples (CLINC150's 1,500) barely feel it."""
DECISION_THRESHOLD = 0.5
"""A tool is chosen when the chooser or the gate finds it more likely right than wrong; no
threshold is searched for."""


def tokens(text: str, compounds: frozenset[str] = frozenset()) -> list[str]:
    """Content words; and two neighbours joined when the joined word is one of ``compounds``
    (the tools' own words), so that a compound matches however it is written: "one way" reads
    as "oneway" where a tool writes "oneway"."""
    words = _TOKEN.findall(text.lower())
    joined = [a + b for a, b in zip(words, words[1:], strict=False) if a + b in compounds]
    return [t for t in words if t not in _STOP] + joined


@dataclass(frozen=True)
class Route:
    """The router's decision and its evidence. ``score`` is the gate's probability that the
    best tool is the one (not no tool); each candidate's score is the chooser's probability;
    ``dense`` its two-nearest cosine and ``lexical`` its BM25 share, per candidate."""

    tool: str | None
    score: float
    candidates: list[Candidate]
    dense: dict[str, float]
    lexical: dict[str, float]
    threshold: float

    @property
    def margin(self) -> float:
        """How far the best candidate is ahead of the second (probabilities)."""
        if len(self.candidates) < 2:
            return self.candidates[0].score if self.candidates else 0.0
        return self.candidates[0].score - self.candidates[1].score

    def explain(self) -> list[str]:
        notes = [f"threshold {self.threshold:.3f} (probability); in scope {self.score:.3f}"]
        for c in self.candidates:
            notes.append(f"{c.tool}: p {c.score:.3f} (dense {self.dense[c.tool]:.3f}, "
                         f"lexical {self.lexical[c.tool]:.3f})")
        if self.tool is None:
            notes.append("no tool is probable enough")
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
        for t in sorted(set(query)):
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
    in the vocabulary are touched, and only the routing text is corrected. Ties are broken by
    length, then alphabetically, so the correction never depends on hash order.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.vocabulary = {w for t in texts for w in _TOKEN.findall(t.lower())}
        self.deletes: dict[str, str] = {}
        for word in sorted(self.vocabulary, key=lambda w: (len(w), w)):
            if len(word) < 4:
                continue
            for variant in self._variants(word):
                self.deletes.setdefault(variant, word)

    @staticmethod
    def _variants(word: str) -> list[str]:
        return [word, *sorted({word[:i] + word[i + 1:] for i in range(len(word))})]

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


LONG_TEXT = "a long text"
_PASTED_WORDS = 20
"""A message longer than this may carry a pasted text (see :func:`_routing_view`)."""


def _routing_view(text: str, pastes: bool = True) -> tuple[str, frozenset[str]]:
    """What routing reads of a message: a pasted text after the request ("feedback please:
    <four paragraphs>") becomes the words "a long text", so the request decides, not the
    text's topic; and the kinds of particulars the message mentions. ``pastes``: whether
    any tool takes a pasted text at all (if none does, a long message is all request)."""
    span = pasted_text(text) if pastes and len(text.split()) > _PASTED_WORDS else None
    if span is None:
        return text, frozenset(mentioned(text))
    text = f"{text[:span[0]].rstrip()} {LONG_TEXT}"
    return text, frozenset(mentioned(text)) | {LONG_TEXT}


def _kinds_offered(tool: Tool) -> frozenset[str]:
    """Which particulars (in :func:`.delex.mentioned`'s words) the tool's fields can take."""
    words = {"date": "a date", "datetime": "a date", "time": "a time", "phone": "a phone number",
             "email": "an email address", "identifier": "a record number",
             "location": "a place", "person": "someone", "entity": "someone", "ref": "someone",
             "title": "someone", "integer": "a number", "number": "a number"}
    offered = {words[f.kind] for f in field_specs(tool) if f.kind in words}
    if any(takes_long_text(f) for f in field_specs(tool)):
        offered.add(LONG_TEXT)
    if "a date" in offered or "a time" in offered:
        offered |= {"a date", "a time"}  # a datetime field takes either
    return frozenset(offered)


class _Logistic:
    """L2-regularised logistic regression by Newton's method (a dozen features: exact, fast,
    deterministic, no dependency)."""

    def __init__(self, weights: npt.NDArray[np.float64], mean: npt.NDArray[np.float64],
                 scale: npt.NDArray[np.float64]) -> None:
        self.weights, self.mean, self.scale = weights, mean, scale

    @classmethod
    def fit(cls, x: Matrix, y: npt.NDArray[np.float64], sample_weight: npt.NDArray[np.float64],
            l2: float = 1.0, iterations: int = 25) -> _Logistic:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-6] = 1.0
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        w = np.zeros(z.shape[1])
        penalty = np.full(z.shape[1], l2)
        penalty[-1] = 0.0
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
            gradient = z.T @ (sample_weight * (p - y)) + penalty * w
            hessian = (z * (sample_weight * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
            hessian += 1e-9 * np.eye(len(w))
            delta = np.linalg.solve(hessian, gradient)
            w -= delta
            if float(np.abs(delta).max()) < 1e-7:
                break
        return cls(w, mean, scale)

    def logit(self, x: Matrix) -> npt.NDArray[np.float64]:
        z = (x - self.mean) / self.scale
        return np.asarray(z @ self.weights[:-1] + self.weights[-1], dtype=np.float64)

    def probability(self, x: Matrix) -> npt.NDArray[np.float64]:
        logits = self.logit(x)
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30))), dtype=np.float64)


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
        self.tools = dict(sorted(tools.items()))
        self.tool_names: list[str] = list(self.tools)
        prepare = (lambda text: delexicalize(generalize(text))) if generalize else delexicalize
        owners: list[int] = []
        texts: list[str] = []
        example_kinds: list[frozenset[str]] = []
        descriptions: list[str] = []
        self.pastes = any(takes_long_text(f) for t in self.tools.values()
                          for f in field_specs(t))
        for index, tool in enumerate(self.tools.values()):
            descriptions.append(prepare(tool.description or tool.short_name.replace("_", " ")))
            for example in dict.fromkeys(e for e in tool.examples if e.strip()):
                view, kinds = _routing_view(example, self.pastes)
                texts.append(prepare(view))
                example_kinds.append(kinds)
                owners.append(index)
        self.speller = Speller([*texts, *descriptions,
                                *(t.short_name.replace("_", " ") for t in self.tools.values())])
        self.owners = np.array(owners, dtype=np.int64)
        self.groups = [np.flatnonzero(self.owners == i) for i in range(len(self.tool_names))]
        width = max((len(g) for g in self.groups), default=0) or 1
        self.slots = np.full((len(self.tool_names), width), -1, dtype=np.int64)
        """Each tool's example indices, padded with -1 (one gather gives all tools' cosines)."""
        for i, idx in enumerate(self.groups):
            self.slots[i, :len(idx)] = idx
        dim = 384
        self.examples: Vector = (embedder.embed_documents(texts) if texts
                                 else np.zeros((0, dim), dtype=np.float32))
        self.descriptions: Vector = (embedder.embed_documents(descriptions) if descriptions
                                     else np.zeros((0, dim), dtype=np.float32))
        self.compounds = frozenset(
            w for t in [*texts, *descriptions, *(self._name_words(i) for i in
                                                 range(len(self.tool_names)))]
            for w in tokens(t))
        """The tools' own words: a compound written in two words matches one of them."""
        self.bm25 = _BM25([self.tokens(t) + self.tokens(self._name_words(o))
                           for t, o in zip(texts, owners, strict=True)]
                          + [self.tokens(d) + self.tokens(self._name_words(i))
                             for i, d in enumerate(descriptions)])
        self.text_owner = np.concatenate([self.owners, np.arange(len(self.tool_names))])
        self.name_tokens = [frozenset(tokens(self._name_words(i)))
                            for i in range(len(self.tool_names))]
        self.example_tokens = [frozenset(self.tokens(t)) for t in texts]
        self.vocabulary: list[Counter[str]] = [Counter() for _ in self.tool_names]
        """Per tool: in how many of its texts (examples, description, name) each word is."""
        for words, owner in zip(self.example_tokens, owners, strict=True):
            self.vocabulary[owner].update(words)
        for i, d in enumerate(descriptions):
            self.vocabulary[i].update(set(self.tokens(d)) | self.name_tokens[i])
        self.offered = [_kinds_offered(t) for t in self.tools.values()]
        self.typicality = self._typicality()
        self.model, self.threshold = self._train(example_kinds, texts)
        if calibration.threshold is not None:
            self.threshold = float(calibration.threshold)

    # -- features ------------------------------------------------------------------------------

    def tokens(self, text: str) -> list[str]:
        """:func:`tokens`, with this router's tools' words as the compounds."""
        return tokens(text, self.compounds)

    def _name_words(self, owner: int) -> str:
        return self.tools[self.tool_names[owner]].short_name.replace("_", " ")

    def _typicality(self) -> npt.NDArray[np.float64]:
        """How alike each tool's own examples are: the mean over its examples of the best
        cosine to another of its examples (the mean of all tools for a tool with fewer than
        two). A tool of near-paraphrases scores high on anything close to them; the model
        learns how much to discount that."""
        typical = np.zeros(len(self.tool_names))
        if len(self.examples) == 0:
            return typical
        sims = self.examples @ self.examples.T
        np.fill_diagonal(sims, -1.0)
        known = []
        for i, idx in enumerate(self.groups):
            if len(idx) >= 2:
                typical[i] = float(sims[np.ix_(idx, idx)].max(axis=1).mean())
                known.append(i)
        fill = float(typical[known].mean()) if known else 0.0
        for i in range(len(typical)):
            if i not in known:
                typical[i] = fill
        return typical

    def _features(self, example_sims: npt.NDArray[Any], description_sims: npt.NDArray[Any],
                  lexical_scores: npt.NDArray[Any], kinds: frozenset[str], query: set[str],
                  present: npt.NDArray[np.bool_], left_out: int | None = None) -> Matrix:
        """One row per tool (in ``tool_names`` order) for one utterance.

        ``example_sims``: cosine to every example (an example left out is ``-inf``);
        ``present``: which tools compete (a left-out tool's row is computed but its margin
        is not used by the others); ``left_out``: the example whose words do not count as
        its tool's (training rows)."""
        n = len(self.tool_names)
        padded = np.where(self.slots >= 0, example_sims[np.maximum(self.slots, 0)], -np.inf)
        ordered = -np.sort(-padded, axis=1)  # each tool's example cosines, best first
        counts = np.isfinite(ordered).sum(axis=1)
        empty = counts == 0
        top1 = np.where(empty, description_sims, ordered[:, 0])
        second = np.where(counts >= 2, ordered[:, min(1, ordered.shape[1] - 1)], top1)
        top2 = (top1 + second) / 2
        finite = np.where(np.isfinite(padded), padded, 0.0)
        centroid = np.where(empty, description_sims, finite.sum(axis=1) / np.maximum(counts, 1))
        lexical = np.zeros(n)
        np.maximum.at(lexical, self.text_owner, lexical_scores)
        peak = lexical[present].max() if present.any() else 0.0
        lexical_share = lexical / peak if peak > 0 else np.zeros(n)
        margin1 = top1 - _best_other(np.where(present, top1, -np.inf))
        margin2 = top2 - _best_other(np.where(present, top2, -np.inf))
        lexical_margin = lexical_share - _best_other(np.where(present, lexical_share, -np.inf))
        covered = np.array([(len(kinds & offered) / len(kinds)) if kinds else 0.5
                            for offered in self.offered])
        named = np.array([len(query & words) / max(len(words), 1)
                          for words in self.name_tokens])
        return np.column_stack([top1, top2, description_sims, centroid, lexical_share,
                                lexical / (lexical + 3.0), margin1, margin2, lexical_margin,
                                (margin2 >= 0).astype(np.float64), covered, named,
                                top1 - self.typicality, self._known_words(query, left_out)])

    def _known_words(self, query: set[str], left_out: int | None) -> npt.NDArray[np.float64]:
        """Per tool, the share of the request's content words that some text of the tool
        uses: "set an alarm for a time" shares "time" with a booking tool and nothing else;
        a request for the tool shares most of its words. ``left_out``: an example whose own
        words are not counted (the example is the request)."""
        if not query:
            return np.full(len(self.tool_names), 0.5)
        own = self.example_tokens[left_out] if left_out is not None else frozenset()
        owner = int(self.owners[left_out]) if left_out is not None else -1
        return np.array([sum(1 for w in query if counts[w] > (i == owner and w in own))
                         / len(query) for i, counts in enumerate(self.vocabulary)])

    def _train(self, kinds: list[frozenset[str]], texts: list[str]
               ) -> tuple[_Logistic | None, float]:
        """Fit the chooser on leave-one-out and leave-one-tool-out rows, then the gate on
        in-scope vs left-out-tool rows (each utterance weighs the same in every set)."""
        self.gate: _Logistic | None = None
        n_tools = len(self.tool_names)
        if n_tools == 0 or len(self.examples) == 0:
            return None, 0.5
        example_sims = (self.examples @ self.examples.T).astype(np.float64)
        description_sims = (self.examples @ self.descriptions.T).astype(np.float64)
        np.fill_diagonal(example_sims, -np.inf)
        xs: list[Matrix] = []
        ys: list[npt.NDArray[np.float64]] = []
        weights: list[npt.NDArray[np.float64]] = []
        inside: list[Matrix] = []
        outside: list[tuple[Matrix, npt.NDArray[np.bool_], int]] = []
        everyone = np.ones(n_tools, dtype=bool)
        for j, text in enumerate(texts):
            owner = int(self.owners[j])
            query = set(self.tokens(text))
            lexical_scores = self.bm25.scores(sorted(query))
            lexical_scores[j] = 0.0  # the example itself is left out of the lexical index too
            rows = self._features(example_sims[j], description_sims[j], lexical_scores,
                                  kinds[j], query, everyone, left_out=j)
            label = np.zeros(n_tools)
            label[owner] = 1.0
            xs.append(rows)
            ys.append(label)
            # Each utterance weighs the same, its one positive as much as its negatives.
            weights.append(np.where(label == 1.0, 1.0, 1.0 / max(n_tools - 1, 1)))
            inside.append(rows[owner])
            if n_tools > 1:
                present = everyone.copy()
                present[owner] = False
                masked = example_sims[j].copy()
                masked[self.groups[owner]] = -np.inf
                rows = self._features(masked, description_sims[j], lexical_scores, kinds[j],
                                      query, present, left_out=j)
                outside.append((rows, present, owner))
                # The chooser also learns that a near miss of a left-out tool is no tool's:
                # it ranks better for it (a tool named by the request's own words comes first),
                # and its probability becomes a judgement of its own (see :meth:`route`).
                xs.append(rows[present])
                ys.append(np.zeros(int(present.sum())))
                weights.append(np.full(int(present.sum()), 1.0 / int(present.sum())))
        x = np.vstack(xs)
        y = np.concatenate(ys)
        if y.min() == y.max():
            return None, 0.5
        chooser = _Logistic.fit(x, y, np.concatenate(weights), l2=CHOOSER_L2)
        self.gate = self._train_gate(chooser, np.vstack(inside), outside)
        return chooser, DECISION_THRESHOLD

    def _train_gate(self, chooser: _Logistic, inside: Matrix,
                    outside: list[tuple[Matrix, npt.NDArray[np.bool_], int]]
                    ) -> _Logistic | None:
        """The gate: is the chooser's best tool the one, or is the request for no tool?

        In-scope rows: each example's own tool (left out of its texts), weight 1. No-tool rows,
        each the tool the chooser would pick:

        - each example with its whole tool left out, when that pick belongs to another plugin
          (service), weight 1: a request for a tool that is not loaded. A pick of the left-out
          tool's own plugin is not used: a sibling (a second tool for nearly the same request:
          search and reserve, one-way and round trip) would often serve it, and such rows
          taught the gate to turn away plain requests for a loaded tool;
        - the general conversation of the lexicon (``not_requests``: thanks, goodbyes,
          greetings, acknowledgements), together weighing half as much as the in-scope rows:
          what a message for no tool looks like when one plugin's tools are all there is."""
        inside_logit = chooser.logit(inside)
        rows_out, logits_out, weights_out = [], [], []
        for rows, present, owner in outside:
            logits = np.where(present, chooser.logit(rows), -np.inf)
            best = int(np.argmax(logits))
            if _namespace(self.tool_names[best]) == _namespace(self.tool_names[owner]):
                continue
            rows_out.append(rows[best])
            logits_out.append(logits[best])
            weights_out.append(1.0)
        far = self._conversation_rows()
        for rows in far:
            logits = chooser.logit(rows)
            best = int(np.argmax(logits))
            rows_out.append(rows[best])
            logits_out.append(logits[best])
            weights_out.append(0.5 * len(inside) / len(far))
        if not rows_out:
            return None
        x = np.vstack([_gate_columns(inside, inside_logit),
                       _gate_columns(np.vstack(rows_out), np.array(logits_out))])
        y = np.concatenate([np.ones(len(inside)), np.zeros(len(rows_out))])
        w = np.concatenate([np.ones(len(inside)), np.array(weights_out)])
        return _monotone_fit(x, y, w)

    def _conversation_rows(self) -> list[Matrix]:
        """Feature rows (one per tool) of each general-conversation text of the lexicon."""
        texts = [delexicalize(t) for t in sorted(_LEX.not_requests["texts"])]
        if not texts:
            return []
        vectors = self.embedder.embed_documents(texts)
        everyone = np.ones(len(self.tool_names), dtype=bool)
        out = []
        for text, v in zip(texts, vectors, strict=True):
            query = set(self.tokens(text))
            out.append(self._features((self.examples @ v).astype(np.float64),
                                      (self.descriptions @ v).astype(np.float64),
                                      self.bm25.scores(sorted(query)),
                                      frozenset(mentioned(text)), query, everyone))
        return out

    # -- routing -------------------------------------------------------------------------------

    def probabilities(self, utterance: str, vector: Vector | None = None
                      ) -> tuple[npt.NDArray[np.float64], Matrix]:
        """Per tool (in ``tool_names`` order): the chooser's probability that it is the one,
        and the feature rows it came from. ``vector`` reuses the utterance's embedding."""
        view, kinds = _routing_view(utterance, self.pastes)
        text = self.speller.correct(delexicalize(view))
        q = vector if vector is not None else self.embedder.embed_query(text)
        query = set(self.tokens(text))
        rows = self._features((self.examples @ q).astype(np.float64),
                              (self.descriptions @ q).astype(np.float64),
                              self.bm25.scores(sorted(query)), kinds, query,
                              np.ones(len(self.tool_names), dtype=bool))
        if self.model is None:
            return rows[:, FEATURES.index("top2")], rows
        return self.model.probability(rows), rows

    def in_scope(self, row: Matrix) -> float:
        """The gate's probability that a tool (its feature row) is the one asked for, rather
        than no tool at all."""
        if self.model is None:
            return float(row[FEATURES.index("top2")])
        if self.gate is None:
            return float(self.model.probability(row[None, :])[0])
        logit = self.model.logit(row[None, :])
        return float(self.gate.probability(_gate_columns(row[None, :], logit))[0])

    def route(self, utterance: str, vector: Vector | None = None, *, top: int = 3,
              allowed: Sequence[str] | None = None,
              prior: Mapping[str, float] | None = None) -> Route:
        """Score every tool (or only ``allowed``) and decide.

        The chooser ranks the tools; the gate decides whether the best of them is the one or
        the request is for no tool. ``prior`` multiplies a tool's odds in both (the
        conversation's focus: after a search, the same service's booking is likelier than
        another's); probabilities move only through the odds, never above 1."""
        if not self.tool_names:
            return Route(None, 0.0, [], {}, {}, self.threshold)
        p, rows = self.probabilities(utterance, vector)
        factors = np.array([prior.get(n, 1.0) for n in self.tool_names]) if prior \
            else np.ones(len(self.tool_names))
        if prior:
            p = _with_odds(p, factors)
        if allowed is not None:
            mask = np.array([n in allowed for n in self.tool_names])
            p = np.where(mask, p, -np.inf)
        order = sorted(range(len(p)), key=lambda i: (-p[i], self.tool_names[i]))[:top]
        candidates = [Candidate(tool=self.tool_names[i], score=round(float(p[i]), 4))
                      for i in order if np.isfinite(p[i])]
        best = order[0] if candidates else None
        score = 0.0
        if best is not None:
            score = float(_with_odds(np.array([self.in_scope(rows[best])]),
                                     factors[best:best + 1])[0])
        if best is not None and candidates[0].score >= self.threshold:
            # The chooser alone already finds the tool more likely right than wrong (its
            # left-out-tool rows make it a classifier too): the gate rescues requests it would
            # have turned away, never the reverse.
            score = max(score, candidates[0].score)
        chosen = self.tool_names[best] if best is not None and score >= self.threshold \
            else None
        dense_col, lexical_col = FEATURES.index("top2"), FEATURES.index("lexical")
        return Route(
            tool=chosen, score=round(score, 4), candidates=candidates,
            dense={c.tool: round(float(rows[self.tool_names.index(c.tool), dense_col]), 4)
                   for c in candidates},
            lexical={c.tool: round(float(rows[self.tool_names.index(c.tool), lexical_col]), 4)
                     for c in candidates},
            threshold=self.threshold,
        )


def _namespace(name: str) -> str:
    """The plugin or service a tool belongs to (its name before the last dot)."""
    return name.rsplit(".", 1)[0] if "." in name else ""


def _monotone_fit(x: Matrix, y: npt.NDArray[np.float64], w: npt.NDArray[np.float64]
                  ) -> _Logistic:
    """A logistic model whose weights are all non-negative: more evidence for a tool never
    makes it less likely to be the one. A few dozen examples can fit a negative weight to a
    similarity by chance (then a request unlike anything reads as in scope); a feature whose
    weight comes out negative is dropped, the most negative first, and the rest refitted."""
    active = list(range(x.shape[1]))
    while True:
        model = _Logistic.fit(x[:, active], y, w)
        weights = model.weights[:-1]
        if not active or weights.min() >= 0:
            break
        active.pop(int(np.argmin(weights)))
    full = np.zeros(x.shape[1] + 1)
    mean, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
    full[active], full[-1] = model.weights[:-1], model.weights[-1]
    mean[active], scale[active] = model.mean, model.scale
    return _Logistic(full, mean, scale)


def _with_odds(p: npt.NDArray[np.float64], factors: npt.NDArray[np.float64]
               ) -> npt.NDArray[np.float64]:
    odds = p / np.maximum(1.0 - p, 1e-9) * factors
    return np.asarray(odds / (1.0 + odds), dtype=np.float64)


GATE_FEATURES = ("top1", "top2", "description", "centroid", "lexical_raw", "coverage",
                 "name_words", "above_typical", "known_words")
"""What the gate reads of the best tool's row: how close the request is to the tool in
absolute terms (margins and shares are relative to the other tools loaded, which a left-out
tool changes), plus the chooser's logit."""
_GATE_COLUMNS = [FEATURES.index(f) for f in GATE_FEATURES]


def _gate_columns(rows: Matrix, logits: npt.NDArray[np.float64]) -> Matrix:
    return np.column_stack([rows[:, _GATE_COLUMNS], logits])


def _best_other(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """For each position, the best value at any other position (0 when there is none)."""
    if len(values) < 2:
        return np.zeros(len(values))
    order = np.argsort(-values, kind="stable")
    first, second = values[order[0]], values[order[1]]
    out = np.full(len(values), first)
    out[order[0]] = second
    return np.where(np.isfinite(out), out, 0.0)
