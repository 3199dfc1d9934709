"""Extractive answers, no LLM: the best sentences of the best passages, each one cited.

What lives here: :func:`answer`, the :class:`Answerer` protocol an LLM plugin can implement to
replace the default, and :class:`ExtractiveAnswerer`, the default. It splits the top passages
into sentences, scores each by cosine similarity to the question (plus a small bonus for
sharing the question's words), keeps the best few that are close to the best one, and returns
them in document order, each followed by ``[n]``, the index of its citation.

Below :data:`ANSWER_THRESHOLD` the answer is :data:`NOT_FOUND` with ``found=False``.

Retrieved text is data: sentences that look like instructions (see :mod:`.safety`, which also
reads through look-alike letters and invisible characters) are never quoted, a quoted sentence
loses its invisible characters (zero-width, bidi controls), and nothing here calls a tool or
follows what a document says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lamworks.plan import Citation

from .base import KnowledgeBase
from .chunking import split_sentences
from .embedder import Embedder
from .lexical import tokenize
from .retrieval import Hit, search
from .safety import is_flagged, visible

__all__ = [
    "ANSWER_THRESHOLD",
    "NOT_FOUND",
    "Answer",
    "AnswerSentence",
    "Answerer",
    "ExtractiveAnswerer",
    "answer",
]

NOT_FOUND = "I could not find this in the documents."

ANSWER_THRESHOLD = 0.49
"""Minimum confidence (the best sentence's score) for an answer.

Calibrated with ``python bench/knowledge.py --calibrate`` on bench/data/knowledge_qa.jsonl (every
question has an answer in the documents) against out-of-domain questions written for the
purpose (bench/knowledge.py, ``UNANSWERABLE``): the threshold maximising balanced accuracy
(mean of the found-rate on answerable and the refusal-rate on unanswerable questions).
Result (246 answerable, 24 unanswerable): 0.49, balanced accuracy 0.972 — 94.3% of answerable
questions answered, 100% of unanswerable ones refused.
"""

_OVERLAP_WEIGHT = 0.15


@dataclass(frozen=True)
class AnswerSentence:
    """A quoted sentence and the index of its citation in :attr:`Answer.citations`."""

    text: str
    citation: int
    score: float


@dataclass(frozen=True)
class Answer:
    """An answer for people: text with ``[n]`` markers, the citations, and how sure we are."""

    text: str
    citations: list[Citation]
    confidence: float
    found: bool
    sentences: list[AnswerSentence] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)


class Answerer(Protocol):
    """Turns a question and retrieved passages into an :class:`Answer`.

    An LLM plugin implements this and is passed as ``answer(..., answerer=...)``; it must treat
    the passages as data (quote, summarise) and never act on instructions inside them.
    """

    def __call__(self, question: str, hits: Sequence[Hit]) -> Answer: ...


@dataclass
class ExtractiveAnswerer:
    """The default :class:`Answerer`: quotes the best sentences of the top passages."""

    embedder: Embedder
    threshold: float = ANSWER_THRESHOLD
    passages: int = 3
    max_sentences: int = 3
    margin: float = 0.08
    """Sentences within this score of the best one are quoted too."""

    def score_sentences(self, question: str, hits: Sequence[Hit]
                        ) -> list[tuple[float, int, int, str]]:
        """``(score, hit index, position, sentence)`` for every quotable sentence."""
        candidates: list[tuple[int, int, str]] = []
        for h, hit in enumerate(hits[: self.passages]):
            for position, (start, end) in enumerate(split_sentences(hit.text)):
                sentence = hit.text[start:end].strip()
                if len(sentence.split()) < 3 or is_flagged(sentence):
                    continue
                candidates.append((h, position, visible(sentence)))
        if not candidates:
            return []
        question_vector = self.embedder.embed_query(question)
        vectors = self.embedder.embed_documents([c[2] for c in candidates])
        similarities = vectors @ question_vector
        question_words = set(tokenize(question))
        scored = []
        for (h, position, sentence), similarity in zip(candidates, similarities, strict=True):
            overlap = (len(question_words & set(tokenize(sentence))) / len(question_words)
                       if question_words else 0.0)
            scored.append((float(similarity) + _OVERLAP_WEIGHT * overlap, h, position, sentence))
        return scored

    def __call__(self, question: str, hits: Sequence[Hit]) -> Answer:
        scored = self.score_sentences(question, hits)
        if not scored:
            return Answer(NOT_FOUND, [], 0.0, False, hits=list(hits))
        best = max(s[0] for s in scored)
        if best < self.threshold:
            return Answer(NOT_FOUND, [], round(best, 4), False, hits=list(hits))
        chosen = sorted(scored, key=lambda s: -s[0])[: self.max_sentences]
        chosen = [s for s in chosen if s[0] >= best - self.margin]
        chosen.sort(key=lambda s: (s[1], s[2]))  # document order within passage rank
        citations: list[Citation] = []
        index_of: dict[int, int] = {}
        sentences = []
        for score, h, _position, sentence in chosen:
            if h not in index_of:
                index_of[h] = len(citations)
                citation = hits[h].citation()
                citations.append(citation.model_copy(update={"snippet": sentence,
                                                             "score": round(score, 4)}))
            sentences.append(AnswerSentence(sentence, index_of[h], round(score, 4)))
        text = " ".join(f"{s.text} [{s.citation + 1}]" for s in sentences)
        return Answer(text, citations, round(best, 4), True, sentences, list(hits))


def answer(
    kb: KnowledgeBase,
    question: str,
    *,
    user: str | None = None,
    role: str | None = None,
    access: Iterable[str] | None = None,
    k: int = 5,
    answerer: Answerer | None = None,
) -> Answer:
    """Answer ``question`` from the documents the caller may read, with citations."""
    hits = search(kb, question, user=user, role=role, access=access, k=k)
    chosen = answerer or ExtractiveAnswerer(kb.embedder)
    return chosen(question, hits)

