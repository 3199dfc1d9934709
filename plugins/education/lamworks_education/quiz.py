"""Practice quizzes generated from course material, without a language model.

Multiple-choice questions blank out a **bold term** in a sentence of the most relevant passages;
the distractors are other bold terms taken from related passages (those that rank next for the
same topic), so they are plausible rather than random. Short-answer questions ask for the
definition of a term and keep the source sentence as the answer key. Every question names its
document and section, and the quiz cites the passages it used.

Passages come from the shared knowledge layer (:class:`~.coursework.CourseMaterial`): only what
the asking user's role may read, so a student's quiz is never built from a teacher-only answer
key.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from lamworks import Citation

from .coursework import CourseMaterial, Passage, quotable_sentences

__all__ = ["Quiz", "QuizQuestion", "make_quiz"]

QuestionKind = Literal["multiple_choice", "short_answer", "mixed"]


@dataclass(frozen=True)
class QuizQuestion:
    """One question with its answer key and source."""

    kind: str
    question: str
    answer: str
    choices: tuple[str, ...]
    source: str
    """The document the question comes from (``food-chains-and-webs.md``)."""
    section: str
    """Its heading path in that document."""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Quiz:
    """The questions, and citations of the passages they were written from."""

    questions: list[QuizQuestion] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)


def _bold_sentences(passage: Passage) -> list[tuple[str, str]]:
    """(sentence, term) pairs where a bold term appears in a sentence of 8 words or more."""
    out = []
    for sentence in quotable_sentences(passage.text):
        if len(sentence.split()) < 8:
            continue
        for term in re.findall(r"\*\*([^*]{2,40})\*\*", sentence):
            out.append((sentence, term.strip()))
    return out


def _clean(text: str) -> str:
    return re.sub(r"\*\*([^*]+)\*\*", r"\1", text)


def make_quiz(material: CourseMaterial, topic: str, count: int = 5,
              kind: QuestionKind = "mixed", seed: int = 0) -> Quiz:
    """Up to ``count`` questions on ``topic`` (deterministic for a given seed and index)."""
    rng = random.Random(f"{topic}|{seed}")
    ranked = material.search(topic, k=8)
    if not ranked:
        return Quiz()
    core, related = ranked[:3], ranked
    pool_terms = list(dict.fromkeys(t for p in related for t in p.terms))
    if len(pool_terms) < 4:  # widen to the nearest material of any relevance
        nearby = material.search(topic, k=30, threshold=0.0)
        pool_terms += [t for p in nearby for t in p.terms if t not in pool_terms][:20]
    questions: list[QuizQuestion] = []
    used: set[str] = set()
    cited: dict[str, Citation] = {}
    candidates = [(p, sent, term) for p in core for sent, term in _bold_sentences(p)]
    rng.shuffle(candidates)
    for index, (passage, sentence, term) in enumerate(candidates):
        if len(questions) >= count:
            break
        if term.lower() in used:
            continue
        want_mcq = kind == "multiple_choice" or (kind == "mixed" and index % 2 == 0)
        if want_mcq:
            distractors = [t for t in pool_terms if t.lower() != term.lower()
                           and t.lower() not in sentence.lower()]
            if len(distractors) < 3:
                continue
            choices = [term, *rng.sample(distractors, 3)]
            rng.shuffle(choices)
            stem = _clean(sentence.replace(f"**{term}**", "_____", 1))
            questions.append(QuizQuestion("multiple_choice", f"Fill in the blank: {stem}", term,
                                          tuple(choices), passage.document, passage.section))
        else:
            questions.append(QuizQuestion("short_answer", f"In your own words, what is "
                                          f"{term.lower() if not term.isupper() else term}?",
                                          _clean(sentence), (), passage.document,
                                          passage.section))
        used.add(term.lower())
        cited.setdefault(passage.hit.id, passage.citation())
    return Quiz(questions, list(cited.values()))
