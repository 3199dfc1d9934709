"""Practice quizzes generated from course material, without a language model.

Multiple-choice questions blank out a **bold term** in a sentence of the most relevant sections;
the distractors are other bold terms taken from related passages (sections that rank next for the
same topic), so they are plausible rather than random. Short-answer questions ask for the
definition of a term and keep the source sentence as the answer key. Every question cites its
document and section.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass
from typing import Literal

from .coursework import CourseMaterial, Section

__all__ = ["QuizQuestion", "make_quiz"]

QuestionKind = Literal["multiple_choice", "short_answer", "mixed"]


@dataclass(frozen=True)
class QuizQuestion:
    """One question with its answer key and source."""

    kind: str
    question: str
    answer: str
    choices: tuple[str, ...]
    source: str
    section: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _sentences(section: Section) -> list[str]:
    flat = re.sub(r"\s+", " ", section.text)
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", flat) if len(s.split()) >= 8]


def _bold_sentences(section: Section) -> list[tuple[str, str]]:
    """(sentence, term) pairs where a bold term appears in the sentence."""
    out = []
    for sentence in _sentences(section):
        for term in re.findall(r"\*\*([^*]{2,40})\*\*", sentence):
            out.append((sentence, term.strip()))
    return out


def _clean(text: str) -> str:
    return re.sub(r"\*\*([^*]+)\*\*", r"\1", text)


def make_quiz(material: CourseMaterial, topic: str, count: int = 5,
              kind: QuestionKind = "mixed", seed: int = 0) -> list[QuizQuestion]:
    """Up to ``count`` questions on ``topic`` (deterministic for a given seed)."""
    rng = random.Random(f"{topic}|{seed}")
    ranked = [s for s, _score in material.search(topic, k=8)]
    if not ranked:
        return []
    core, related = ranked[:3], ranked
    pool_terms = list(dict.fromkeys(t for s in related for t in s.terms))
    if len(pool_terms) < 4:
        pool_terms += [t for s in material.sections for t in s.terms if t not in pool_terms][:20]
    questions: list[QuizQuestion] = []
    used: set[str] = set()
    candidates = [(s, sent, term) for s in core for sent, term in _bold_sentences(s)]
    rng.shuffle(candidates)
    for index, (section, sentence, term) in enumerate(candidates):
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
                                          tuple(choices), section.source, section.heading))
        else:
            questions.append(QuizQuestion("short_answer", f"In your own words, what is "
                                          f"{term.lower() if not term.isupper() else term}?",
                                          _clean(sentence), (), section.source, section.heading))
        used.add(term.lower())
    return questions
