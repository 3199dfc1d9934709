"""Streamlit page: Essay feedback — paste or upload, pick a rubric, see the trait chart,
highlighted evidence and suggestions. Registered through ``register_ui_pages``."""

from __future__ import annotations

import html

import streamlit as st

from lamworks_education.documents import read_essay_file
from lamworks_education.scorer import EssayInputError, EssayReport
from lamworks_education.service import EssayService


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


@st.cache_resource
def _fallback_service() -> EssayService:
    import tempfile
    from pathlib import Path

    return EssayService(Path(tempfile.gettempdir()) / "lamworks-essay-page")


def _highlight(text: str, report: EssayReport) -> str:
    spans = sorted({(e.start, e.end, e.note) for t in report.traits for e in t.evidence})
    out, position = [], 0
    for start, end, note in spans:
        if start < position:
            continue
        out.append(html.escape(text[position:start]))
        out.append(f'<mark title="{html.escape(note)}">{html.escape(text[start:end])}</mark>')
        position = end
    out.append(html.escape(text[position:]))
    return "<div style='white-space: pre-wrap'>" + "".join(out) + "</div>"


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
    try:
        report = service.feedback(essay, prompt, rubric_name)
    except EssayInputError as exc:
        st.warning(str(exc))
    else:
        st.session_state["essay_report"] = (essay, report)

if "essay_report" in st.session_state:
    text, report = st.session_state["essay_report"]
    for note in report.notes:
        st.info(note)
    if report.traits:
        st.metric("Overall", f"{report.overall:g}",
                  help="Calibrated on your institution's essays" if report.calibrated
                  else "Default thresholds (not calibrated)")
        st.bar_chart({t.name: t.score for t in report.traits}, horizontal=True)
        st.subheader("Next steps")
        for step in report.next_steps:
            st.markdown(f"- {step}")
        for trait in report.traits:
            with st.expander(f"{trait.name}: {trait.score:g} — {trait.descriptor}"):
                for suggestion in trait.suggestions:
                    st.markdown(f"- {suggestion}")
                for item in trait.evidence:
                    st.caption(f"{item.note}: “{item.text[:300]}”")
        st.subheader("Your essay, with evidence highlighted")
        st.markdown(_highlight(text, report), unsafe_allow_html=True)
