"""Knowledge: upload documents (with a progress bar), see sources and their chunk counts, and
search — always as the chosen user, so a role only ever sees what it may read."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from lamworks.knowledge import IngestProgress, ingest_path, list_sources, search
from lamworks.ui.state import current_user, guarded, runtime

_STAGES = {"read": "Reading", "embed": "Embedding", "write": "Storing", "done": "Done"}


def _upload_section() -> None:
    rt = runtime()
    kb = rt.services["knowledge"].get()
    role = rt.config.users[current_user()].role
    labels = list(rt.config.roles[role].access)
    with st.expander("Add documents", expanded=False):
        with st.form("upload", clear_on_submit=True):
            files = st.file_uploader("Documents (.md, .txt, .html, .pdf, .docx)",
                                     accept_multiple_files=True,
                                     type=["md", "txt", "html", "htm", "pdf", "docx"])
            source = st.text_input("Source name", value="uploads",
                                   help="Lower-case letters, digits, - and _.")
            access = st.selectbox("Who may read them", labels,
                                  help="Only access labels your own role can read.")
            submitted = st.form_submit_button("Ingest", type="primary")
        if not submitted or not files:
            return
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", source):
            st.error("A source name uses lower-case letters, digits, - and _ only.")
            return
        folder = rt.config.data_dir / "uploads" / source
        folder.mkdir(parents=True, exist_ok=True)
        for upload in files:
            (folder / Path(upload.name).name).write_bytes(upload.getvalue())
        bar = st.progress(0.0, text="Starting…")

        def progress(event: IngestProgress) -> None:
            fraction = event.done / event.total if event.total else 1.0
            bar.progress(min(fraction, 1.0),
                         text=f"{_STAGES[event.stage]} {event.done}/{event.total} "
                              f"{event.message}".strip())

        report = ingest_path(kb, folder, source, access, progress)
        bar.progress(1.0, text="Done")
        st.success(report.summary())
        for problem in [*report.failed, *report.skipped]:
            st.warning(f"{problem.path}: {problem.message}")


def render() -> None:
    rt = runtime()
    user = current_user()
    st.title("Knowledge")
    kb = rt.services["knowledge"].get()
    _upload_section()

    sources = list_sources(kb)
    if sources:
        st.table([{"source": s.source, "files": s.files, "chunks": s.chunks,
                   "access": ", ".join(s.access), "description": s.description}
                  for s in sources])
    else:
        st.info("No documents yet: run `lamworks kb sync`, or add some above.")

    query = st.text_input("Search the documents",
                          placeholder="e.g. what is the cancellation policy?")
    if query:
        hits = search(kb, query, user=user, k=5)
        readable = ", ".join(kb.access_for(user=user))
        st.caption(f"Searching as {user}: documents labelled {readable}.")
        if not hits:
            st.write("Nothing found.")
        for hit in hits:
            where = " › ".join(p for p in (hit.title or hit.source, hit.section) if p)
            flag = " · ⚠️ instruction-like text (shown as data, never followed)" \
                if hit.flagged else ""
            with st.container(border=True):
                st.markdown(f"**{where}** · `{hit.source}` · {hit.access} · "
                            f"score {hit.score:.3f}{flag}")
                st.write(hit.text)


guarded(render)
