"""Socratic tutoring over the course material: a hint first, then a fuller explanation with
citations, then a check-for-understanding question; what the student got right is remembered
for the session.

The material comes from the shared knowledge layer (:class:`~.coursework.CourseMaterial`):
the same hybrid index, access labels and citations as every other answer of the runtime.

The state machine per (session, topic) lives in the plugin's SQLite file
(:mod:`lamworks_education.store`); a topic is the section of the best passage:

- stage 0 → the student asks: they get a **hint** (a guiding question and where to look), never
  the answer outright;
- "explain"/"more" (or ``more_detail=True``) → a **fuller explanation** quoting the top passages,
  with citations, followed by a **check question**;
- an answer to the pending check → marked right or not; right answers are added to the session's
  mastered concepts, and later check questions move on to concepts not yet mastered.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lamworks import Citation
from lamworks.knowledge.lexical import tokenize

from .coursework import CourseMaterial, Passage, quotable_sentences
from .store import connect, dumps

__all__ = ["TutorReply", "tutor_turn"]

_MORE = re.compile(r"\b(explain|more detail|tell me more|full(?:er)? explanation|i (?:still )?"
                   r"don'?t (?:get|understand)|show me|more)\b", re.IGNORECASE)


@dataclass
class TutorReply:
    """What the tutor says this turn."""

    stage: str
    """``hint``, ``explanation``, ``feedback`` or ``not_found``."""
    message: str
    check_question: str = ""
    correct: bool | None = None
    mastered: list[str] = field(default_factory=list)
    """Concepts the student has answered correctly in this session."""
    sources: list[Passage] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    """One per source, quoting what the message used of it."""


def _bold(text: str) -> str:
    return re.sub(r"\*\*([^*]+)\*\*", r"\1", text)


def _first_sentences(passage: Passage, n: int = 2) -> str:
    return " ".join(quotable_sentences(passage.plain)[:n])


def _focus_terms(passage: Passage, question: str, mastered: list[str]) -> list[str]:
    """The passage's bold terms not yet mastered, those sharing words with the question first
    (a glossary passage introduces many terms; the student asked about one)."""
    asked = set(tokenize(question))
    terms = [t for t in passage.terms if t.lower() not in mastered]
    return sorted(terms, key=lambda t: -len(asked & set(tokenize(t))))


def _defining_sentence(passage: Passage, term: str) -> str:
    """The sentence that introduces ``**term**`` (bold removed), or ''."""
    marker = f"**{term.lower()}**"
    return next((_bold(s) for s in quotable_sentences(passage.text) if marker in s.lower()), "")


def _check_for(passages: list[Passage], question: str,
               mastered: list[str]) -> tuple[str, str, list[str], str]:
    """A check question on a term not yet mastered, from the best passage that has one (the
    top passage's first term when all are mastered): (question, term, key words, model)."""
    chosen = next(((p, terms) for p in passages
                   if (terms := _focus_terms(p, question, mastered))),
                  (passages[0], passages[0].terms))
    passage, terms = chosen
    if not terms:
        model = _first_sentences(passage, 1)
        return (f"In one sentence, what is the main idea of “{passage.heading}”?",
                passage.heading.lower(), tokenize(model)[:8], model)
    term = terms[0]
    definition = _defining_sentence(passage, term) or _first_sentences(passage, 1)
    keys = [t for t in tokenize(definition) if t not in tokenize(term)][:8]
    return (f"Check your understanding: what is {term.lower()}?", term.lower(), keys,
            definition)


def _judge(answer: str, term: str, keys: list[str]) -> bool:
    said = set(tokenize(answer))
    if not said:
        return False
    overlap = len(said & set(keys)) / max(min(len(keys), 4), 1)
    return overlap >= 0.5


def tutor_turn(material: CourseMaterial, data_dir: Path, session_id: str, question: str,
               *, more_detail: bool = False, answer: str = "",
               now: datetime | None = None) -> TutorReply:
    """One tutoring turn for ``question`` (or an ``answer`` to the pending check question).

    Raises :class:`~.coursework.CourseMaterialUnavailable` when the material is not indexed."""
    with connect(data_dir) as db:
        mastered = _session_mastered(db, session_id)
        pending_row = db.execute(
            "SELECT topic, pending, mastered FROM tutor_state WHERE session_id = ? "
            "AND pending IS NOT NULL ORDER BY updated DESC LIMIT 1", (session_id,)).fetchone()
        if pending_row and (answer or (question and not _MORE.search(question)
                                       and not question.rstrip().endswith("?"))):
            topic, pending, topic_json = pending_row
            check = json.loads(pending)
            topic_mastered = json.loads(topic_json)
            correct = _judge(answer or question, check["term"], check["keys"])
            if correct and check["term"] not in topic_mastered:
                topic_mastered.append(check["term"])
            if correct and check["term"] not in mastered:
                mastered.append(check["term"])
            db.execute("UPDATE tutor_state SET pending = NULL, mastered = ?, updated = ? "
                       "WHERE session_id = ? AND topic = ?",
                       (dumps(topic_mastered), _stamp(now), session_id, topic))
            message = ("Yes, that's right. " if correct else
                       "Not quite. ") + f"The key idea: {check['model']}"
            return TutorReply("feedback", message, correct=correct, mastered=mastered)

        hits = material.search(question, k=3)
        if not hits:
            return TutorReply("not_found", "I couldn't find that topic in the course material. "
                              "Try naming a concept from the unit, such as food webs or the "
                              "nitrogen cycle.", mastered=mastered)
        top = hits[0]
        topic = top.topic
        row = db.execute("SELECT stage FROM tutor_state WHERE session_id = ? AND topic = ?",
                         (session_id, topic)).fetchone()
        stage = row[0] if row else 0
        wants_more = more_detail or bool(_MORE.search(question)) or stage >= 1
        if not wants_more:
            term = next(iter(_focus_terms(top, question, mastered)), top.heading)
            message = (f"Here's a hint rather than the answer: look at “{top.heading}” in "
                       f"{top.title}. Think about how {term.lower()} fits in — what does it do, "
                       "and what would change without it? Try answering, or ask me to explain.")
            db.execute("INSERT INTO tutor_state (session_id, topic, stage, updated) "
                       "VALUES (?, ?, 1, ?) ON CONFLICT(session_id, topic) DO UPDATE SET "
                       "stage = 1, updated = excluded.updated",
                       (session_id, topic, _stamp(now)))
            # where to look, not what it says: the hint's citation quotes nothing
            return TutorReply("hint", message, mastered=mastered, sources=[top],
                              citations=[top.citation(snippet="")])
        quoted = [(p, text) for p, text in zip(hits[:2], material.key_sentences(question, hits[:2]),
                                               strict=True) if text]
        explanation = " ".join(f"{text} [{i}]" for i, (_p, text) in enumerate(quoted, 1))
        question_text, term, keys, model = _check_for(hits, question, mastered)
        pending = dumps({"term": term, "keys": keys, "model": model})
        db.execute("INSERT INTO tutor_state (session_id, topic, stage, pending, updated)"
                   " VALUES (?, ?, 2, ?, ?) ON CONFLICT(session_id, topic) DO UPDATE SET "
                   "stage = 2, pending = excluded.pending, updated = excluded.updated",
                   (session_id, topic, pending, _stamp(now)))
        return TutorReply("explanation", f"{explanation}\n\n{question_text}",
                          check_question=question_text, mastered=mastered,
                          sources=[p for p, _text in quoted],
                          citations=[p.citation(text) for p, text in quoted])


def _session_mastered(db: sqlite3.Connection, session_id: str) -> list[str]:
    """Every concept answered correctly in this session (topic by topic, as they came up)."""
    rows = db.execute("SELECT mastered FROM tutor_state WHERE session_id = ? ORDER BY rowid",
                      (session_id,)).fetchall()
    return list(dict.fromkeys(term for (value,) in rows for term in json.loads(value)))


def _stamp(now: datetime | None) -> str:
    return (now or datetime.now()).isoformat(timespec="seconds")
