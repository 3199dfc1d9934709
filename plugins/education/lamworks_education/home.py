"""The education plugin's parts of the roles' home pages (``register_home_sections``).

- Staff who are not a student (a teacher, authorised staff): **Class roster and essays** — the
  students enrolled in the courses they teach (the roster's ``enrolments`` and
  ``course_teachers``), each with the number of essays submitted for feedback and the latest
  trait scores, and a small chart per trait over the submitted essays.
- A student (a user linked to a student record, ``links.student``): **Your essays and
  feedback** — their own submissions, newest first (date, course and title, overall, traits),
  their traits over time, and requests for their own tools.

Both read through ``list_essay_feedback`` run by the runtime for the person (scopes, the FERPA
policy, the audit log): a home shows nothing the same request typed in the chat could not, and
a teacher sees only the essays of the courses they teach. Which section a person sees rests on
their role's scopes (the class view needs ``user/Essay.rs``, which a student's ``patient/``
scopes do not cover) and on what their user is linked to — never on a role's name.

The trait charts are HTML (one small bar chart per trait, each bar an essay, oldest first, the
latest score beside the trait's name), each an image to a screen reader with every score in its
label, so they read and fit at 390 px.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lamworks import ActionContext, HomeSection, HomeView

__all__ = ["SECTIONS", "class_roster", "trait_trends_html", "your_essays"]

LIST = "list_essay_feedback"
_BASE = ("submitted", "student_id", "course", "title", "rubric", "overall", "name")
MAX_BARS = 12
"""A trait chart shows at most this many essays (the newest)."""


def _student(ctx: ActionContext) -> bool:
    return bool(ctx.user_config and ctx.user_config.links.get("student"))


def _not_a_student(ctx: ActionContext) -> bool:
    return not _student(ctx)


def _when(stamp: str) -> str:
    """``2026-12-01T16:37:25-06:00`` → ``Tue 1 Dec 16:37`` (already in the institution's zone)."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return f"{moment:%a} {moment.day} {moment:%b %H:%M}"


def _traits(row: Mapping[str, Any]) -> list[tuple[str, float]]:
    """A flat essay (or roster) row's trait columns, in order."""
    skip = set(_BASE) | {"courses", "essays", "latest"}
    return [(k, float(v)) for k, v in row.items()
            if k not in skip and isinstance(v, int | float) and not isinstance(v, bool)]


def _trait_text(row: Mapping[str, Any]) -> str:
    return " · ".join(f"{name} {score:g}" for name, score in _traits(row)) or "—"


def _score(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else "—"


def trait_trends_html(essays: Sequence[Mapping[str, Any]], *, by_student: bool,
                      scale_max: float = 5.0) -> str:
    """One small bar chart per trait over ``essays`` (newest first, as listed; drawn oldest
    first, at most :data:`MAX_BARS`): each chart is an image whose label says every score."""
    shown = list(reversed(list(essays)[:MAX_BARS]))
    names: list[str] = []
    for essay in shown:
        names += [n for n, _ in _traits(essay) if n not in names]
    charts = []
    for name in names:
        points = [(e, dict(_traits(e))[name]) for e in shown if name in dict(_traits(e))]
        said = "; ".join(
            (f"{e.get('name') or e.get('student_id')}, " if by_student else "")
            + f"{_when(str(e.get('submitted', '')))}: {score:g}" for e, score in points)
        bars = "".join(
            f"<div style='flex:1;max-width:18px;background:#1a5fb4;border-radius:2px 2px 0 0;"
            f"height:{max(4, round(score / scale_max * 100))}%'></div>" for _, score in points)
        label = (f"{name}, {len(points)} essay(s) oldest first, out of {scale_max:g}: {said}")
        charts.append(
            f"<figure role='img' aria-label='{html.escape(label, quote=True)}' "
            "style='margin:0;width:150px'>"
            f"<div style='font-size:0.85em;margin-bottom:2px'>{html.escape(name)} "
            f"<strong>{points[-1][1]:g}</strong></div>"
            "<div style='display:flex;align-items:flex-end;gap:3px;height:48px;"
            f"border-bottom:1px solid #777'>{bars}</div></figure>")
    if not charts:
        return ""
    return ("<div style='display:flex;flex-wrap:wrap;gap:12px 18px'>" + "".join(charts)
            + "</div>")


def _table(rows: list[dict[str, str]], caption: str) -> None:
    """An HTML table that becomes one card per row on a narrow screen (nothing cut off)."""
    from lamworks.ui.responsive import responsive_table

    responsive_table(rows, caption)


def class_roster(view: HomeView) -> None:
    """The teacher's students (the roster), each with their essays' count and latest trait
    scores, then the trait charts over the essays submitted (``list_essay_feedback``)."""
    import streamlit as st

    result = view.run(LIST, {})
    if result is None:
        return
    data = result.data if isinstance(result.data, Mapping) else {}
    students: list[Mapping[str, Any]] = list(data.get("students") or [])
    essays: list[Mapping[str, Any]] = list(data.get("essays") or [])
    if not students:
        st.markdown("No students on the class roster for you yet.")
        return
    st.markdown(f"{len(students)} student(s); {len(essays)} essay(s) submitted for feedback.")
    _table([{"student": _student_label(s),
             "course": str(s.get("courses") or ""), "essays": str(s.get("essays", 0)),
             "latest": _when(str(s.get("latest") or "")) or "—",
             "overall": _score(s.get("overall")), "latest traits": _trait_text(s)}
            for s in students], "Your students")
    if essays:
        st.markdown("**Trait scores over the submitted essays**")
        st.markdown(trait_trends_html(essays, by_student=True), unsafe_allow_html=True)
    st.caption(f"Times in {view.context.config.institution.timezone}.")


def your_essays(view: HomeView) -> None:
    """The student's own essays and feedback, newest first, and their traits over time."""
    import streamlit as st

    result = view.run(LIST, {})
    if result is None:
        return
    data = result.data if isinstance(result.data, Mapping) else {}
    essays: list[Mapping[str, Any]] = list(data.get("essays") or [])
    if not essays:
        st.markdown("No essays yet: ask for feedback on a draft in the chat or on the Essay "
                    "feedback page, and it will be listed here.")
        return
    st.markdown(f"{len(essays)} essay(s) with feedback, the newest first:")
    _table([{"date": _when(str(e.get("submitted", ""))),
             "essay": " · ".join(x for x in (str(e.get("course") or ""),
                                             str(e.get("title") or "")) if x),
             "overall": _score(e.get("overall")), "traits": _trait_text(e)} for e in essays],
           "Your essays, the newest first")
    if len(essays) > 1:
        st.markdown("**Your traits over time**")
        st.markdown(trait_trends_html(essays, by_student=False), unsafe_allow_html=True)
    st.caption(f"Times in {view.context.config.institution.timezone}.")


SECTIONS: tuple[HomeSection, ...] = (
    HomeSection(
        title="Class roster and essays", draw=class_roster, tools=(LIST, "grade_lookup"),
        scopes=("user/Essay.rs",), applies=_not_a_student, order=30,
        description="Your students, their essays submitted for feedback and their trait "
                    "scores.",
        suggestions=("which essays have my students turned in",
                     "look up grades for student stu-0002")),
    HomeSection(
        title="Your essays and feedback", draw=your_essays, applies=_student, order=30,
        tools=(LIST, "essay_feedback", "practice_quiz", "grade_lookup"),
        suggestions=("give me feedback on my essay", "quiz me on food webs",
                     "what are my grades")),
)
"""The sections, in the order registered (``order`` sorts them with other plugins')."""


def _student_label(row: dict[str, Any]) -> str:
    """"Sam Student (stu-0001)"; a student the roster names by id alone is just the id."""
    name, sid = row.get("name") or "", str(row["student_id"])
    return f"{name} ({sid})" if name and name != sid else sid
