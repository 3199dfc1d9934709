"""Socratic tutoring over the course material: a hint first, then a fuller explanation with
citations, then a check-for-understanding question; what the student got right is remembered
for the session.

The state machine per (session, topic) lives in the plugin's SQLite file
(:mod:`lamworks_education.store`):

- stage 0 → the student asks: they get a **hint** (a guiding question and where to look), never
  the answer outright;
- "explain"/"more" (or ``more_detail=True``) → a **fuller explanation** quoting the top sections,
  with citations, followed by a **check question**;
- an answer to the pending check → marked right or not; right answers are added to the session's
  mastered concepts, and the next question moves on to a concept not yet mastered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .coursework import CourseMaterial, Section, _tokens
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
    sources: list[Section] = field(default_factory=list)


def _topic_key(sections: list[Section]) -> str:
    return f"{sections[0].source}#{sections[0].heading}"


def _first_sentences(section: Section, n: int = 2) -> str:
    flat = re.sub(r"\s+", " ", section.plain)
    parts = re.split(r"(?<=[.!?])\s+", flat)
    return " ".join(parts[:n])


def _check_for(section: Section, mastered: list[str]) -> tuple[str, str, list[str]]:
    """A question on a term of ``section`` not yet mastered: (question, term, key words)."""
    terms = [t for t in section.terms if t.lower() not in mastered] or section.terms
    if not terms:
        return (f"In one sentence, what is the main idea of “{section.heading}”?",
                section.heading.lower(), _tokens(section.heading))
    term = terms[0]
    match = re.search(r"[^.]*\*\*" + re.escape(term) + r"\*\*[^.]*\.", section.text)
    definition = re.sub(r"\*\*([^*]+)\*\*", r"\1", match.group(0) if match else term)
    keys = [t for t in _tokens(definition) if t not in _tokens(term)][:8]
    return f"Check your understanding: what is {term.lower()}?", term.lower(), keys


def _judge(answer: str, term: str, keys: list[str]) -> bool:
    said = set(_tokens(answer))
    if not said:
        return False
    overlap = len(said & set(keys)) / max(min(len(keys), 4), 1)
    return overlap >= 0.5


def tutor_turn(material: CourseMaterial, data_dir: Path, session_id: str, question: str,
               *, more_detail: bool = False, answer: str = "",
               now: datetime | None = None) -> TutorReply:
    """One tutoring turn for ``question`` (or an ``answer`` to the pending check question)."""
    with connect(data_dir) as db:
        pending_row = db.execute(
            "SELECT topic, stage, pending, mastered FROM tutor_state WHERE session_id = ? "
            "AND pending IS NOT NULL ORDER BY updated DESC LIMIT 1", (session_id,)).fetchone()
        if pending_row and (answer or (question and not _MORE.search(question)
                                       and not question.rstrip().endswith("?"))):
            topic, _stage, pending, mastered_json = pending_row
            check = json.loads(pending)
            mastered = json.loads(mastered_json)
            correct = _judge(answer or question, check["term"], check["keys"])
            if correct and check["term"] not in mastered:
                mastered.append(check["term"])
            db.execute("UPDATE tutor_state SET pending = NULL, mastered = ?, updated = ? "
                       "WHERE session_id = ? AND topic = ?",
                       (dumps(mastered), _stamp(now), session_id, topic))
            message = ("Yes, that's right. " if correct else
                       "Not quite. ") + f"The key idea: {check['model']}"
            return TutorReply("feedback", message, correct=correct, mastered=mastered)

        hits = [s for s, _score in material.search(question, k=3)]
        if not hits:
            return TutorReply("not_found", "I couldn't find that topic in the course material. "
                              "Try naming a concept from the unit, such as food webs or the "
                              "nitrogen cycle.")
        topic = _topic_key(hits)
        row = db.execute("SELECT stage, mastered FROM tutor_state WHERE session_id = ? AND "
                         "topic = ?", (session_id, topic)).fetchone()
        stage, mastered = (row[0], json.loads(row[1])) if row else (0, [])
        wants_more = more_detail or bool(_MORE.search(question)) or stage >= 1
        top = hits[0]
        if not wants_more:
            term = next((t for t in top.terms if t.lower() not in mastered), top.heading)
            message = (f"Here's a hint rather than the answer: look at “{top.heading}” in "
                       f"{top.title}. Think about how {term.lower()} fits in — what does it do, "
                       "and what would change without it? Try answering, or ask me to explain.")
            db.execute("INSERT INTO tutor_state (session_id, topic, stage, mastered, updated) "
                       "VALUES (?, ?, 1, ?, ?) ON CONFLICT(session_id, topic) DO UPDATE SET "
                       "stage = 1, updated = excluded.updated",
                       (session_id, topic, dumps(mastered), _stamp(now)))
            return TutorReply("hint", message, mastered=mastered, sources=[top])
        explanation = " ".join(f"{_first_sentences(s)} [{i}]" for i, s in enumerate(hits[:2], 1))
        question_text, term, keys = _check_for(top, mastered)
        model_match = re.search(r"[^.]*\*\*" + re.escape(term) + r"\*\*[^.]*\.", top.text,
                                re.IGNORECASE)
        model = re.sub(r"\*\*([^*]+)\*\*", r"\1", model_match.group(0)).strip() if model_match \
            else _first_sentences(top, 1)
        pending = dumps({"term": term, "keys": keys, "model": model})
        db.execute("INSERT INTO tutor_state (session_id, topic, stage, pending, mastered, updated)"
                   " VALUES (?, ?, 2, ?, ?, ?) ON CONFLICT(session_id, topic) DO UPDATE SET "
                   "stage = 2, pending = excluded.pending, updated = excluded.updated",
                   (session_id, topic, pending, dumps(mastered), _stamp(now)))
        return TutorReply("explanation", f"{explanation}\n\n{question_text}",
                          check_question=question_text, mastered=mastered, sources=hits[:2])


def _stamp(now: datetime | None) -> str:
    return (now or datetime.now()).isoformat(timespec="seconds")
