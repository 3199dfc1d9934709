"""The education tools: essay feedback, tutoring, practice quizzes, study plans, grade lookup.

Each is a plain typed function turned into a :class:`lamworks.Tool`; arguments are simple and
described so the offline slot filler can fill them from an utterance. Registered as
``education.<name>``. Who may run what is the policies' business (:mod:`.policies`), though
``grade_lookup`` checks FERPA again itself (defence in depth).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import Field

from lamworks import ActionContext, ActionResult, Citation, Ref, ToolError, entity, tool

from .coursework import load_course
from .quiz import make_quiz
from .scorer import EssayInputError
from .service import EssayService
from .settings import EducationSettings
from .store import connect
from .tutor import tutor_turn

__all__ = ["ALL_TOOLS", "essay_feedback", "grade_lookup", "practice_quiz", "study_plan", "tutor"]

SERVICE_KEY = "education.essays"


def _settings(ctx: ActionContext) -> EducationSettings:
    return ctx.settings if isinstance(ctx.settings, EducationSettings) else EducationSettings()


def essay_service(ctx: ActionContext) -> EssayService:
    """The shared service from ``startup``, or a fresh one (tests, other runtimes)."""
    service = ctx.services.get(SERVICE_KEY)
    if isinstance(service, EssayService):
        return service
    return EssayService(ctx.data_dir, _settings(ctx))


def student_of(ctx: ActionContext) -> str:
    """The acting user's own student id (``links.student = "Student/stu-0001"``), or ''."""
    link = ctx.user_config.links.get("student", "")
    return link.split("/", 1)[-1] if link else ""


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
    suggestions and the three most valuable next steps. It never rewrites the essay."""
    service = essay_service(ctx)
    try:
        report = service.feedback(essay, prompt, rubric)
    except EssayInputError as exc:
        raise ToolError("education.essay_feedback", str(exc), field="essay") from None
    except KeyError as exc:
        raise ToolError("education.essay_feedback", str(exc.args[0]), field="rubric") from None
    if report.status in ("too_short", "not_english"):
        return ActionResult(summary=report.notes[0], data=report.to_dict())
    scale = service.rubric(rubric)
    summary = (f"Overall {report.overall:g} of {scale.scale_max:g} on the {scale.title} rubric"
               f"{' (calibrated)' if report.calibrated else ''}. Next steps: "
               + " ".join(f"{i}. {s}" for i, s in enumerate(report.next_steps, 1)))
    return ActionResult(summary=summary, data=report.to_dict())


def _citations(sections: list) -> list[Citation]:  # type: ignore[type-arg]
    return [Citation(source=s.source, title=s.title, section=s.heading,
                     snippet=s.plain[:200]) for s in sections]


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
                                                   "instead of a hint.")] = False,
    answer: Annotated[str, Field(description="The student's answer to the last check "
                                             "question, if any.")] = "",
) -> ActionResult:
    """Socratic tutoring from the course material: a hint first, then an explanation with
    citations on request, then a check-for-understanding question."""
    reply = tutor_turn(load_course(), ctx.data_dir, ctx.session_id, question,
                       more_detail=more_detail, answer=answer, now=ctx.now())
    return ActionResult(summary=reply.message,
                        data={"stage": reply.stage, "check_question": reply.check_question,
                              "correct": reply.correct, "mastered": reply.mastered},
                        citations=_citations(reply.sources))


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
                    Field(description="Question type.")] = "mixed",
) -> ActionResult:
    """A practice quiz generated from the course material, with an answer key and the source
    of every question."""
    questions = make_quiz(load_course(), topic, count, kind)
    if not questions:
        return ActionResult(summary=f"I found no course material on “{topic}” to quiz you on.",
                            data={"questions": []})
    course = load_course()
    sources = {(q.source, q.section) for q in questions}
    cited = [s for s in course.sections if (s.source, s.heading) in sources]
    return ActionResult(summary=f"{len(questions)} practice questions on {topic}.",
                        data={"questions": [q.to_dict() for q in questions]},
                        citations=_citations(cited))


@tool(risk="write", scopes=["patient/StudyPlan.c"], produces="StudyPlan", examples=[
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
) -> ActionResult:
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
    with connect(ctx.data_dir) as db:
        existing = db.execute("SELECT id, start FROM study_sessions WHERE idempotency_key = ?",
                              (ctx.idempotency_key,)).fetchall() if ctx.idempotency_key else []
        if not existing:
            for start in starts:
                db.execute("INSERT INTO study_sessions (user, topic, start, minutes, deadline, "
                           "idempotency_key, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (ctx.user, topic, start.isoformat(), minutes, deadline.isoformat(),
                            ctx.idempotency_key or None, now.isoformat()))
    plan_id = f"{ctx.user}-{deadline.isoformat()}"
    listed = ", ".join(s.strftime("%a %d %b %H:%M") for s in starts)
    return ActionResult(summary=f"Scheduled {count} × {minutes}-minute sessions for {topic}: "
                                f"{listed}.",
                        data={"topic": topic, "deadline": deadline.isoformat(),
                              "sessions": [s.isoformat() for s in starts], "minutes": minutes},
                        refs=[Ref(type="StudyPlan", id=plan_id, display=topic)])


@tool(scopes=["patient/Grade.r"], examples=[
    "what are my grades",
    "show my grade on the unit 3 quiz",
    "how did I do in biology",
    "look up grades for student stu-0002",
    "what did I get on the essay draft",
])
def grade_lookup(
    ctx: ActionContext,
    student_id: Annotated[str, entity("Student", "The student whose grades to show, e.g. "
                                                 "'stu-0001'; empty for yourself.")] = "",
    course: Annotated[str, Field(description="Only this course, e.g. 'Biology 10'.")] = "",
) -> ActionResult:
    """Look up a student's grades (FERPA: only the student and their teachers)."""
    settings = _settings(ctx)
    own = student_of(ctx)
    wanted = (student_id or own).split("/")[-1]
    if not wanted:
        raise ToolError("education.grade_lookup", "Which student? Give a student id.",
                        field="student_id")
    if wanted != own and ctx.role not in settings.staff_roles:
        raise ToolError("education.grade_lookup", "Education records are shown only to the "
                        "student and their teachers.", field="student_id")
    with connect(ctx.data_dir, demo_grades=settings.demo_grades) as db:
        query = ("SELECT course, assignment, score, max_score, recorded FROM grades WHERE "
                 "student_id = ?")
        params: list[str] = [wanted]
        if course:
            query += " AND lower(course) LIKE ?"
            params.append(f"%{course.lower()}%")
        rows = db.execute(query + " ORDER BY recorded", params).fetchall()
    grades = [{"course": c, "assignment": a, "score": s, "max_score": m, "recorded": r}
              for c, a, s, m, r in rows]
    summary = (f"{len(grades)} grade(s) for {wanted}: " + "; ".join(
        f"{g['assignment']} {g['score']:g}/{g['max_score']:g}" for g in grades)
        if grades else f"No grades recorded for {wanted}.")
    return ActionResult(summary=summary, data={"student_id": wanted, "grades": grades},
                        refs=[Ref(type="Student", id=wanted)])


ALL_TOOLS = (essay_feedback, tutor, practice_quiz, study_plan, grade_lookup)
