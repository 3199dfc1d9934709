"""The tutor and the practice quiz on the shared knowledge layer: the same index, access labels
and citations as ``knowledge.answer_question``. Real embedding model, real Chroma, real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lamworks import ActionContext, Runtime, ToolError, load_config
from lamworks.knowledge import KnowledgeBase, search
from lamworks_education.coursework import CourseMaterial
from lamworks_education.tools import practice_quiz, tutor

from .conftest import index_course, make_config


def as_user(rt: Runtime, user: str, session: str) -> ActionContext:
    return replace(rt.action_context(session, user), settings=rt.plugins.settings["education"])


@pytest.fixture
def keyed(tmp_path: Path, vector_cache: Path) -> Iterator[Runtime]:
    """A runtime whose tutor also draws on a source holding the teacher-only answer key."""
    rt = Runtime(load_config(make_config(
        tmp_path, education='course_sources = ["course-material", "course-keys"]')))
    kb = index_course(rt, vector_cache, answer_key=True)
    yield rt
    kb.close()
    rt.close()


def test_without_the_index_the_tutor_says_how_to_build_it(runtime: Runtime) -> None:
    ctx = as_user(runtime, "student", "none")
    for tool, arguments in ((tutor, {"question": "help me understand food webs"}),
                            (practice_quiz, {"topic": "food webs"})):
        with pytest.raises(ToolError, match="not in the knowledge index yet.*lamworks kb sync"):
            tool.invoke(ctx, arguments)


def test_tutor_explanation_cites_the_knowledge_layer(runtime: Runtime,
                                                      course_index: KnowledgeBase) -> None:
    ctx = as_user(runtime, "student", "cite")
    question = "explain how energy flows through trophic levels"
    result = tutor.invoke(ctx, {"question": question, "more_detail": True})
    assert result.data["stage"] == "explanation"
    hits = search(course_index, question, user="student", k=3, sources=["course-material"])
    assert [(c.source, c.section) for c in result.citations] == [
        (h.source, h.section) for h in hits[:len(result.citations)]]
    for n, citation in enumerate(result.citations, 1):
        assert citation.source == "course-material" and " > " in citation.section
        assert citation.snippet and f"{citation.snippet} [{n}]" in result.summary
    assert result.data["check_question"] in result.summary


def test_tutor_hint_points_to_the_section_without_quoting_it(
        runtime: Runtime, course_index: KnowledgeBase) -> None:
    result = tutor.invoke(as_user(runtime, "student", "hint"),
                          {"question": "what is a keystone species?"})
    assert result.data["stage"] == "hint" and "keystone species" in result.summary
    [citation] = result.citations
    assert citation.source == "course-material" and citation.section and not citation.snippet


def test_tutor_off_topic_question_is_not_found(runtime: Runtime,
                                               course_index: KnowledgeBase) -> None:
    ctx = as_user(runtime, "student", "off")
    result = tutor.invoke(ctx, {"question": "how do I bake sourdough bread?"})
    assert result.data["stage"] == "not_found" and not result.citations
    quiz = practice_quiz.invoke(ctx, {"topic": "the french revolution"})
    assert quiz.data["questions"] == [] and not quiz.citations


def test_tutor_remembers_mastered_concepts_for_the_session(
        runtime: Runtime, course_index: KnowledgeBase) -> None:
    ctx = as_user(runtime, "student", "mastery")
    first = tutor.invoke(ctx, {"question": "explain food webs", "more_detail": True})
    assert first.data["check_question"] == "Check your understanding: what is food web?"
    right = tutor.invoke(ctx, {"question": "", "answer": "a network of many interconnected "
                                                         "food chains"})
    assert right.data["stage"] == "feedback" and right.data["correct"] is True
    assert right.data["mastered"] == ["food web"]
    again = tutor.invoke(ctx, {"question": "explain food webs", "more_detail": True})
    assert again.data["mastered"] == ["food web"]
    assert again.data["check_question"] != first.data["check_question"]  # moves on
    other = tutor.invoke(as_user(runtime, "student", "another-session"),
                         {"question": "explain food webs", "more_detail": True})
    assert other.data["mastered"] == [] and other.data["check_question"] == \
        first.data["check_question"]


def test_students_never_get_teacher_only_chunks(keyed: Runtime) -> None:
    kb = keyed.services["knowledge"].get()
    sources = ["course-material", "course-keys"]
    probe = "answer key unit 3 quiz part A multiple choice"
    # the key is indexed and within the tutor's sources: a teacher's search reaches it ...
    assert any(p.hit.access == "teacher"
               for p in CourseMaterial(kb, user="teacher", sources=sources).search(probe, k=5))
    teacher = tutor.invoke(as_user(keyed, "teacher", "t"),
                           {"question": "explain the unit 3 quiz answer key",
                            "more_detail": True})
    assert any(c.source == "course-keys" for c in teacher.citations)
    # ... and a student's never does, whatever they ask the tutor or the quiz
    student = CourseMaterial(kb, user="student", sources=sources)
    assert all(p.hit.access == "public" for p in student.search(probe, k=10, threshold=0.0))
    ctx = as_user(keyed, "student", "s")
    for question in ("what are the answers to the unit 3 quiz?",
                     "explain the unit 3 quiz answer key", "explain denitrification",
                     "how is question 12 about nitrification bacteria marked?"):
        result = tutor.invoke(ctx, {"question": question, "more_detail": True})
        assert result.citations, question
        assert all(c.source == "course-material" for c in result.citations), question
        assert "Answer key" not in result.summary and "**C**" not in result.summary
    for topic in ("unit 3 quiz answers", "nitrogen cycle", "food chains"):
        quiz = practice_quiz.invoke(ctx, {"topic": topic, "count": 6})
        assert all("answer-key" not in q["source"] for q in quiz.data["questions"]), topic
        assert all(c.source == "course-material" for c in quiz.citations), topic


def test_a_reply_to_the_tutor_goes_back_to_it_until_a_new_request(
        runtime: Runtime, course_index: KnowledgeBase) -> None:
    # The hint and the check question ask the student back (ActionResult.asks): a statement in
    # reply is the student's answer on the same topic, even where the words alone would route
    # elsewhere; a request naming another tool is a new request.
    hint = runtime.handle("t", "student", "help me get my head around energy pyramids")
    [first] = hint.steps
    assert first.tool == "education.tutor" and first.result is not None
    assert first.result.data["stage"] == "hint"
    attempt = runtime.handle("t", "student", "the bottom level has the most energy in it")
    [second] = attempt.steps
    assert second.tool == "education.tutor", attempt.answer
    assert second.arguments["question"] == first.arguments["question"]  # the same topic
    assert second.arguments["answer"] == "the bottom level has the most energy in it"
    assert second.result is not None and second.result.data["stage"] == "explanation"
    answered = runtime.handle("t", "student", "about ten percent moves up to the next level")
    [third] = answered.steps
    assert third.tool == "education.tutor" and third.result is not None
    assert third.result.data["stage"] == "feedback"
    quiz = runtime.handle("t", "student", "now make me a practice quiz on food webs")
    assert [s.tool for s in quiz.steps] == ["education.practice_quiz"], quiz.answer
