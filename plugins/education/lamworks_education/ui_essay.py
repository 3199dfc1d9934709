"""Streamlit page: Essay feedback — paste or upload, pick a rubric, see the trait chart,
highlighted evidence and suggestions (drawn by :func:`lamworks_education.ui_feedback.
render_feedback`, the same component the chat uses). Registered through ``register_ui_pages``.

In the app the feedback comes from the ``essay_feedback`` tool run through the runtime for the
person (policies, the audit log, and a student's essay filed in their feedback history, as from
the chat); a page run on its own (AppTest, a bare ``streamlit run``) scores with the service."""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from lamworks_education.documents import read_essay_file
from lamworks_education.scorer import EssayInputError
from lamworks_education.service import EssayService
from lamworks_education.ui_feedback import render_feedback


def _service() -> EssayService:
    try:
        from lamworks.ui.state import runtime

        rt = runtime()
        service = rt.services.get("education.essays")
        if isinstance(service, EssayService):
            return service
        return EssayService(rt.config.data_dir)
    except Exception:  # the page also runs without the app (AppTest, a bare streamlit run)
        return _fallback_service()


def _through_runtime(essay: str, prompt: str, rubric: str) -> dict[str, Any] | str | None:
    """The tool's result data for the person, or why there is none (a sentence); ``None``
    when the page runs without the app."""
    try:
        from lamworks.ui.state import current_user, runtime

        rt, user = runtime(), current_user()
    except Exception:
        return None
    session = st.session_state.setdefault(f"essay-page-session-{user}",
                                          f"essay-page-{uuid.uuid4().hex[:12]}")
    turn = rt.propose(session, user, "education.essay_feedback",
                      {"essay": essay, "prompt": prompt, "rubric": rubric},
                      text="[Essay feedback page]")
    step = next(iter(turn.steps), None)
    if step is None or step.status != "executed" or step.result is None:
        return turn.answer or "No feedback could be given."
    return dict(step.result.data)


@st.cache_resource
def _fallback_service() -> EssayService:
    import tempfile
    from pathlib import Path

    return EssayService(Path(tempfile.gettempdir()) / "lamworks-essay-page")


st.title("Essay feedback")
service = _service()
rubrics = service.rubrics
names = list(rubrics)
default = service.settings.default_rubric
rubric_name = st.selectbox("Rubric", names, index=names.index(default) if default in names else 0,
                           format_func=lambda n: rubrics[n].title)
prompt = st.text_input("Assignment prompt")
upload = st.file_uploader("Upload an essay", type=["txt", "docx", "pdf"])
essay = st.text_area("…or paste it here", height=250)
if upload is not None:
    try:
        essay = read_essay_file(upload.name, upload.getvalue())
    except ValueError as exc:
        st.error(str(exc))

if st.button("Get feedback", type="primary"):
    outcome = _through_runtime(essay, prompt, rubric_name) if essay.strip() else None
    if isinstance(outcome, str):
        st.warning(outcome)
    elif outcome is not None:
        st.session_state["essay_report"] = (essay, outcome)
    else:
        try:
            report = service.feedback(essay, prompt, rubric_name)
        except EssayInputError as exc:
            st.warning(str(exc))
        else:
            st.session_state["essay_report"] = (essay, {
                **report.to_dict(), "scale_max": service.rubric(report.rubric).scale_max})

if "essay_report" in st.session_state:
    text, report = st.session_state["essay_report"]
    render_feedback(report, text, key="page")
