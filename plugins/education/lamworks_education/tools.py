"""The education tools: essay feedback (and its history), tutoring, practice quizzes, study
plans, grade lookup.

Each is a plain typed function turned into a :class:`lamworks.Tool`; arguments are simple and
described so the offline slot filler can fill them from an utterance. The one write tool,
``study_plan``, plans, then applies (:class:`lamworks.Change`): its function decides the
sessions and writes nothing; :func:`write_study_sessions` writes exactly those. Registered as
``education.<name>``. Who may run what is the policies' business (:mod:`.policies`), though
``grade_lookup`` and ``list_essay_feedback`` check FERPA again themselves (defence in depth)
and show a teacher only the courses they teach the student (:mod:`.roster`). ``essay_feedback``
records each scored essay in the student's history (:mod:`.history`), once per step.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import Field

from lamworks import ActionContext, ActionResult, Change, Ref, ToolError, Write, entity, tool
from lamworks.crashpoints import crash_point

from .coursework import CourseMaterial, CourseMaterialUnavailable
from .history import (
    Submission,
    course_for,
    insert_submission,
    student_names,
    submissions,
    teacher_class,
)
from .quiz import make_quiz
from .roster import NOT_AUTHORISED, RosterError, record_access, student_of, sync_roster, teacher_of
from .scorer import EssayInputError, EssayReport
from .service import EssayService
from .settings import EducationSettings
from .store import connect
from .tutor import tutor_turn

__all__ = ["ALL_TOOLS", "essay_feedback", "grade_lookup", "list_essay_feedback", "practice_quiz",
           "study_plan", "tutor"]

log = logging.getLogger(__name__)

SERVICE_KEY = "education.essays"


def _settings(ctx: ActionContext) -> EducationSettings:
    return ctx.settings if isinstance(ctx.settings, EducationSettings) else EducationSettings()


def essay_service(ctx: ActionContext) -> EssayService:
    """The shared service from ``startup``, or a fresh one (tests, other runtimes)."""
    service = ctx.services.get(SERVICE_KEY)
    if isinstance(service, EssayService):
        return service
    return EssayService(ctx.data_dir, _settings(ctx))


def _record(ctx: ActionContext, student: str, essay: str, prompt: str,
            report: EssayReport) -> Submission:
    """File the scored essay in ``student``'s history, once per step (its idempotency key)."""
    settings = _settings(ctx)
    with connect(ctx.data_dir, demo_grades=settings.demo_grades) as db:
        try:
            sync_roster(db, settings, ctx.config)
        except RosterError as exc:  # the essay is still filed, with no course
            log.error("education.essay_feedback: %s", exc)
        teacher = teacher_of(ctx) if ctx.role in settings.teacher_roles else ""
        return insert_submission(db, student_id=student, submitted_by=ctx.user,
                                 course=course_for(db, student, prompt, teacher), essay=essay,
                                 prompt=prompt, report=report, submitted=ctx.now().isoformat(),
                                 idempotency_key=ctx.idempotency_key)


@tool(scopes=["patient/Essay.r"], examples=[
    "give me feedback on my essay",
    "score this essay with the argumentative rubric",
    "how good is my essay? here it is: ...",
    "check my draft against the ELL rubric",
    "what should I improve in this essay",
    "grade my essay draft and tell me the next steps",
    "rubric feedback on this paper for the prompt about school uniforms",
])
def essay_feedback(
    ctx: ActionContext,
    essay: Annotated[str, Field(description="The full text of the essay to give feedback on.")],
    prompt: Annotated[str, Field(description="The assignment prompt the essay answers.")] = "",
    rubric: Annotated[str, Field(description="Rubric name: 'argumentative' or 'ell' (or one "
                                              "the institution configured).")] = "",
) -> ActionResult:
    """Rubric-based feedback on an essay: per-trait scores, evidence quoted from the essay,
    suggestions and the three most valuable next steps. It never rewrites the essay. A
    student's scored essay is filed in their feedback history."""
    service = essay_service(ctx)
    # Whose essay: the acting student's. No argument names a student: a name or an id inside
    # the pasted essay must never file it (or refuse it) as someone else's.
    owner = student_of(ctx)
    try:
        report = service.feedback(essay, prompt, rubric)
    except EssayInputError as exc:
        raise ToolError("education.essay_feedback", str(exc), field="essay") from None
    except KeyError as exc:
        raise ToolError("education.essay_feedback", str(exc.args[0]), field="rubric") from None
    if report.status in ("too_short", "not_english"):
        return ActionResult(summary=report.notes[0], data=report.to_dict())
    scale = service.rubric(rubric)
    data = {**report.to_dict(), "scale_max": scale.scale_max}
    if owner:
        filed = _record(ctx, owner, essay, prompt, report)
        data["submission"] = {"id": filed.id, "student_id": filed.student_id,
                              "course": filed.course, "title": filed.title,
                              "submitted": filed.submitted}
    summary = (f"Overall {report.overall:g} of {scale.scale_max:g} on the {scale.title} rubric"
               f"{' (calibrated)' if report.calibrated else ''}. Next steps: "
               + " ".join(f"{i}. {s}" for i, s in enumerate(report.next_steps, 1)))
    return ActionResult(summary=summary, data=data)


def _visible(ctx: ActionContext, student_id: str) -> tuple[dict[str, tuple[str, ...] | None], str]:
    """Whose essays the acting user asked for and may see (student id → the courses whose
    essays show, ``None``: all), and what to call them in the answer. Raises a ToolError with
    the FERPA reason when they may not."""
    settings = _settings(ctx)
    wanted = student_id.split("/")[-1].strip() or student_of(ctx)
    try:
        if wanted:
            access = record_access(ctx, settings, wanted)
            if not access.allowed:
                raise ToolError("education.list_essay_feedback", access.reason,
                                field="student_id")
            return {wanted: access.courses}, wanted
        with connect(ctx.data_dir, demo_grades=settings.demo_grades) as db:
            sync_roster(db, settings, ctx.config)
            if ctx.role in settings.staff_roles:
                ids = [s for (s,) in db.execute("SELECT student_id FROM enrolments UNION "
                                                "SELECT student_id FROM essay_submissions")]
                return dict.fromkeys(sorted(ids)), "every student"
            if ctx.role in settings.teacher_roles:
                return dict(teacher_class(db, teacher_of(ctx))), "the students you teach"
    except RosterError as exc:
        log.error("education.list_essay_feedback: %s", exc)
        raise ToolError("education.list_essay_feedback", "The class roster cannot be read, so "
                        "no essays can be shown.", field="student_id") from None
    raise ToolError("education.list_essay_feedback", NOT_AUTHORISED, field="student_id")


@tool(scopes=["patient/Essay.r"], examples=[
    "show my essay feedback history",
    "list my past essays and their rubric scores",
    "which essays have I submitted for feedback",
    "rubric scores of my class's essays",
    "how did my students' essays score on each trait",
])
def list_essay_feedback(
    ctx: ActionContext,
    student_id: Annotated[str, entity("Student", "The student whose essays to list, e.g. "
                                                 "'stu-0001'; empty for yourself (a teacher: "
                                                 "every student you teach).")] = "",
    course: Annotated[str, entity("Course", "Only this course, e.g. 'English 10'.")] = "",
) -> ActionResult:
    """The essays submitted for feedback, newest first, with their overall and trait scores
    (FERPA: a student's own, a teacher's students' in the courses they teach them)."""
    settings = _settings(ctx)
    visible, whom = _visible(ctx, student_id)
    with connect(ctx.data_dir, demo_grades=settings.demo_grades) as db:
        found = submissions(db, visible, course=course)
    names = student_names(ctx.config, visible)
    essays = [{**s.row(), "name": names.get(s.student_id, "")} for s in found]
    data: dict[str, object] = {"essays": essays}
    if len(visible) > 1 or not student_id and not student_of(ctx):
        data["students"] = [_roster_row(sid, names.get(sid, ""), courses, found)
                            for sid, courses in visible.items()]
    latest = (f"; the newest: “{found[0].title}” ({found[0].submitted[:10]}, overall "
              f"{found[0].overall:g})" if found and found[0].overall is not None else "")
    summary = f"{len(found)} essay(s) with feedback for {whom}{latest}."
    return ActionResult(summary=summary, data=data,
                        audit_summary=f"{len(found)} essay record(s) read for {whom}")


def _roster_row(student: str, name: str, courses: tuple[str, ...] | None,
                found: list[Submission]) -> dict[str, object]:
    """One line of a class roster: the student, their essays' count, the latest scores."""
    own = [s for s in found if s.student_id == student]
    row: dict[str, object] = {"student_id": student, "name": name,
                              "courses": ", ".join(courses or ()), "essays": len(own),
                              "latest": own[0].submitted if own else "",
                              "overall": own[0].overall if own else None}
    if own:
        row.update({trait: score for trait, score in own[0].traits})
    return row


def _course(ctx: ActionContext) -> CourseMaterial:
    """The course material the acting user may read, from the shared knowledge layer."""
    return CourseMaterial.for_action(ctx, _settings(ctx).course_sources)


@tool(scopes=["patient/Course.r"], examples=[
    "help me understand food webs",
    "I'm stuck on the nitrogen cycle",
    "can you tutor me on energy pyramids",
    "explain trophic levels in more detail",
    "give me a hint about succession",
    "what is mutualism? don't just tell me, help me figure it out",
])
def tutor(
    ctx: ActionContext,
    question: Annotated[str, Field(description="The student's question, topic or answer.")],
    more_detail: Annotated[bool, Field(description="True to get the fuller explanation "
                                                   "instead of a hint.", json_schema_extra={
        "x-synonyms": ["thoroughly", "in depth", "in-depth", "fuller", "full explanation",
                       "tell me more", "explain more", "step by step"]})] = False,
    answer: Annotated[str, Field(description="The student's answer to the last check "
                                             "question, if any.")] = "",
) -> ActionResult:
    """Socratic tutoring from the course material: a hint first, then an explanation with
    citations on request, then a check-for-understanding question."""
    try:
        reply = tutor_turn(_course(ctx), ctx.data_dir, ctx.session_id, question,
                           more_detail=more_detail, answer=answer, now=ctx.now())
    except CourseMaterialUnavailable as exc:
        raise ToolError("education.tutor", str(exc)) from None
    return ActionResult(summary=reply.message,
                        data={"stage": reply.stage, "check_question": reply.check_question,
                              "correct": reply.correct, "mastered": reply.mastered},
                        citations=reply.citations,
                        # A check question waits for the student's answer, and so does a
                        # hint ("Try answering, or ask me to explain"): the tutor then
                        # explains the same topic.
                        asks="answer" if reply.check_question or reply.stage == "hint"
                        else "")


@tool(scopes=["patient/Course.r"], examples=[
    "make me a practice quiz on food chains",
    "quiz me on ecosystems",
    "5 multiple choice questions about the carbon cycle",
    "practice questions on population growth",
    "test my knowledge of symbiosis with short answer questions",
    "generate a review quiz for unit 3",
])
def practice_quiz(
    ctx: ActionContext,
    topic: Annotated[str, Field(description="What the quiz is about, e.g. 'food webs'.")],
    count: Annotated[int, Field(ge=1, le=15, description="How many questions.")] = 5,
    kind: Annotated[Literal["multiple_choice", "short_answer", "mixed"],
                    Field(description="Question type.", json_schema_extra={"x-synonyms": {
                        "multiple_choice": ["mcq"],
                        "short_answer": ["written answers"]}})] = "mixed",
) -> ActionResult:
    """A practice quiz generated from the course material, with an answer key and the source
    of every question."""
    try:
        quiz = make_quiz(_course(ctx), topic, count, kind)
    except CourseMaterialUnavailable as exc:
        raise ToolError("education.practice_quiz", str(exc)) from None
    if not quiz.questions:
        return ActionResult(summary=f"I found no course material on “{topic}” to quiz you on.",
                            data={"questions": []})
    return ActionResult(summary=f"{len(quiz.questions)} practice questions on {topic}.",
                        data={"questions": [q.to_dict() for q in quiz.questions]},
                        citations=quiz.citations)


def write_study_sessions(ctx: ActionContext, change: Change) -> ActionResult:
    """Write the planned study sessions, all in one transaction, once per step (a retried step
    finds its rows by the idempotency key and writes nothing again). Each row carries the key:
    :func:`find_study_sessions` looks it up after a crash."""
    with connect(ctx.data_dir) as db:
        db.execute("BEGIN IMMEDIATE")  # the check and the writes, one unit
        existing = db.execute("SELECT id FROM study_sessions WHERE idempotency_key = ?",
                              (ctx.idempotency_key,)).fetchall() if ctx.idempotency_key else []
        if not existing:
            for write in change.writes:
                row = write.resource or {}
                db.execute("INSERT INTO study_sessions (user, topic, start, minutes, deadline, "
                           "idempotency_key, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (row["user"], row["topic"], row["start"], row["minutes"],
                            row["deadline"], ctx.idempotency_key or None, row["created"]))
                if write is change.writes[0]:
                    crash_point("mid_transaction")  # a test hook (lamworks.crashpoints)
    crash_point("after_commit")
    return change.result()


def find_study_sessions(ctx: ActionContext, key: str) -> ActionResult | None:
    """After a crash: the sessions a step wrote, found by its key (``None``: none were)."""
    with connect(ctx.data_dir) as db:
        rows = db.execute("SELECT id FROM study_sessions WHERE idempotency_key = ? ORDER BY id",
                          (key,)).fetchall()
    if not rows:
        return None
    return ActionResult(summary="The study sessions were scheduled (recovered after a restart).",
                        data={"sessions": len(rows)})


def remove_study_sessions(ctx: ActionContext, change: Change | None, key: str) -> ActionResult:
    """Undo a study plan (a later step of its request could not run): its rows go."""
    with connect(ctx.data_dir) as db:
        removed = db.execute("DELETE FROM study_sessions WHERE idempotency_key = ?",
                             (key,)).rowcount
    return ActionResult(summary=f"Removed {removed} study sessions.", data={"removed": removed})


@tool(risk="write", scopes=["patient/StudyPlan.c"], produces="StudyPlan",
      apply=write_study_sessions, reconcile=find_study_sessions,
      compensate=remove_study_sessions, examples=[
    "make a study plan for my biology test on Friday",
    "schedule study sessions before my essay is due next Monday",
    "plan 4 study sessions for the ecology exam on December 10",
    "help me plan my revision before the quiz deadline",
    "put study time on my calendar before the test",
])
def study_plan(
    ctx: ActionContext,
    topic: Annotated[str, Field(description="What to study for, e.g. 'Unit 3 test'.")],
    deadline: Annotated[date, Field(description="The date of the test or due date.")],
    sessions: Annotated[int, Field(ge=1, le=14, description="How many study sessions.")] = 4,
    minutes: Annotated[int, Field(ge=15, le=180, description="Length of each session in "
                                                             "minutes.")] = 45,
) -> Change:
    """Schedule study sessions before a deadline and write them to the student's calendar."""
    now = ctx.now()
    today = now.date()
    if deadline <= today:
        raise ToolError("education.study_plan", "The deadline must be after today.",
                        field="deadline")
    days = (deadline - today).days
    first = today + timedelta(days=1) if now.hour >= _settings(ctx).study_hour else today
    span = max((deadline - first).days, 1)
    count = min(sessions, max(days, 1))
    starts = []
    for i in range(count):
        day = first + timedelta(days=(i * span) // count)
        starts.append(datetime.combine(day, time(_settings(ctx).study_hour), now.tzinfo))
    plan_id = f"{ctx.user}-{deadline.isoformat()}"
    listed = ", ".join(s.strftime("%a %d %b %H:%M") for s in starts)
    rows = [{"user": ctx.user, "topic": topic, "start": start.isoformat(), "minutes": minutes,
             "deadline": deadline.isoformat(), "created": now.isoformat()} for start in starts]
    return Change(action=f"Add {count} study sessions for {topic} to your calendar: {listed}.",
                  writes=[Write(method="POST", url="StudySession", resource=row) for row in rows],
                  summary=f"Scheduled {count} × {minutes}-minute sessions for {topic}: "
                          f"{listed}.",
                  data={"topic": topic, "deadline": deadline.isoformat(),
                        "sessions": [s.isoformat() for s in starts], "minutes": minutes},
                  refs=[Ref(type="StudyPlan", id=plan_id, display=topic)])


@tool(scopes=["patient/Grade.r"], examples=[
    "what are my grades",
    "show my grade on the unit 3 quiz",
    "how did I do in biology",
    "look up grades for student stu-0002",
    "how is stu-0002 getting on this term",
    "what did I get on the essay draft",
])
def grade_lookup(
    ctx: ActionContext,
    student_id: Annotated[str, entity("Student", "The student whose grades to show, e.g. "
                                                 "'stu-0001'; empty for yourself.")] = "",
    course: Annotated[str, entity("Course", "Only this course, e.g. 'Biology 10'.")] = "",
) -> ActionResult:
    """Look up a student's grades (FERPA: only the student and their teachers)."""
    settings = _settings(ctx)
    wanted = (student_id or student_of(ctx)).split("/")[-1].strip()
    if not wanted:
        raise ToolError("education.grade_lookup", "Which student? Give a student id.",
                        field="student_id")
    try:
        access = record_access(ctx, settings, wanted, course)  # again: defence in depth
    except RosterError as exc:
        log.error("education.grade_lookup: %s", exc)
        raise ToolError("education.grade_lookup", "The class roster cannot be read, so no grades "
                        "can be shown; an administrator needs to fix it (the roster_csv "
                        "setting).", field="student_id") from None
    if not access.allowed:
        raise ToolError("education.grade_lookup", access.reason, field="student_id")
    with connect(ctx.data_dir, demo_grades=settings.demo_grades) as db:
        query = ("SELECT course, assignment, score, max_score, recorded FROM grades WHERE "
                 "student_id = ?")
        params: list[str] = [wanted]
        if course:
            query += " AND lower(course) LIKE ?"
            params.append(f"%{course.lower()}%")
        if access.courses is not None:
            query += f" AND lower(course) IN ({', '.join('?' * len(access.courses))})"
            params.extend(c.lower() for c in access.courses)
        rows = db.execute(query + " ORDER BY recorded", params).fetchall()
    grades = [{"course": c, "assignment": a, "score": s, "max_score": m, "recorded": r}
              for c, a, s, m, r in rows]
    scope = (f" in the course(s) you teach them ({', '.join(access.courses)})"
             if access.courses is not None else "")
    summary = (f"{len(grades)} grade(s) for {wanted}{scope}: " + "; ".join(
        f"{g['assignment']} {g['score']:g}/{g['max_score']:g}" for g in grades)
        if grades else f"No grades recorded for {wanted}{scope}.")
    data: dict[str, object] = {"student_id": wanted, "grades": grades}
    if access.courses is not None:
        data["courses"] = list(access.courses)
    # The audit log records whose grades were read, never the grades (minimum necessary).
    return ActionResult(summary=summary, data=data, refs=[Ref(type="Student", id=wanted)],
                        audit_summary=f"{len(grades)} grade(s) read for {wanted}{scope}")


ALL_TOOLS = (essay_feedback, tutor, practice_quiz, study_plan, grade_lookup, list_essay_feedback)
