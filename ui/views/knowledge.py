"""Knowledge: upload documents (with a progress bar) into one's own upload sources, see the
sources one may read and their chunk counts, delete upload sources, and search — always as the
acting user, so a role only ever sees what it may read. Who may upload, with which labels,
and delete what is decided by :mod:`lamworks.ui.services`."""

from __future__ import annotations

import streamlit as st

from lamworks.errors import KnowledgeError
from lamworks.knowledge import IngestProgress, search
from lamworks.permissions import PermissionDenied
from lamworks.ui.services import (
    deletable_sources,
    delete_upload_source,
    page_refusal,
    upload_documents,
    upload_labels,
    upload_source_name,
    visible_sources,
)
from lamworks.ui.state import current_user, guarded, runtime, session_id

_STAGES = {"read": "Reading", "embed": "Embedding", "write": "Storing", "done": "Done"}


def _upload_section() -> None:
    rt = runtime()
    user = current_user()
    if not rt.permits(user, "knowledge.upload"):
        return
    labels = upload_labels(rt, user)
    with st.expander("Add documents", expanded=False):
        with st.form("upload", clear_on_submit=True):
            files = st.file_uploader("Documents (.md, .txt, .html, .pdf, .docx)",
                                     accept_multiple_files=True,
                                     type=["md", "txt", "html", "htm", "pdf", "docx"])
            name = st.text_input("Source name", value="documents",
                                 help="Lower-case letters, digits, - and _. Your documents go "
                                      f"into your own source, {upload_source_name(user, '…')}.")
            access = st.selectbox("Who may read them", labels,
                                  help="Only access labels your own role can read; a document "
                                       "whose front matter sets another label is refused.")
            submitted = st.form_submit_button("Ingest", type="primary")
        if not submitted or not files:
            return
        bar = st.progress(0.0, text="Starting…")

        def progress(event: IngestProgress) -> None:
            fraction = event.done / event.total if event.total else 1.0
            bar.progress(min(fraction, 1.0),
                         text=f"{_STAGES[event.stage]} {event.done}/{event.total} "
                              f"{event.message}".strip())

        try:
            outcome = upload_documents(rt, user, [(f.name, f.getvalue()) for f in files],
                                       name, str(access), session_id=session_id(),
                                       progress=progress)
        except (PermissionDenied, KnowledgeError) as exc:
            bar.empty()
            st.error(str(exc.reason if isinstance(exc, PermissionDenied) else exc))
            return
        bar.progress(1.0, text="Done")
        st.success(outcome.report.summary())
        for path, label in outcome.refused:
            st.error(f"{path}: refused — its front matter sets access {label!r}, a label "
                     "you may not set.")
        refused = {path for path, _ in outcome.refused}
        for problem in [*outcome.report.failed, *outcome.report.skipped]:
            if problem.path not in refused:
                st.warning(f"{problem.path}: {problem.message}")


def _delete_section() -> None:
    rt = runtime()
    user = current_user()
    mine = deletable_sources(rt, user)
    if not mine:
        return
    with st.expander("Delete an upload source", expanded=False):
        chosen = st.selectbox("Source", mine, key="delete_source")
        if st.button("Delete source", key="delete_button"):
            try:
                removed = delete_upload_source(rt, user, str(chosen), session_id=session_id())
            except PermissionDenied as exc:
                st.error(exc.reason)
            else:
                st.success(f"Deleted {chosen}: {removed} chunks.")


def render() -> None:
    rt = runtime()
    user = current_user()
    st.title("Knowledge")
    refusal = page_refusal(rt, user, "knowledge")
    if refusal is not None:
        st.error(refusal)
        return
    kb = rt.services["knowledge"].get()
    _upload_section()
    _delete_section()

    sources = visible_sources(rt, user)
    if sources:
        st.table([{"source": s.source, "files": s.files, "chunks": s.chunks,
                   "access": ", ".join(s.access), "description": s.description}
                  for s in sources])
    else:
        st.info("No documents yet: run `lamworks kb sync`, or add some above.")

    query = st.text_input("Search the documents",
                          placeholder="e.g. what is the cancellation policy?")
    if query:
        # By role: the runtime resolves it from [users] or an account.
        role = rt.action_context(session_id(), user).role
        hits = search(kb, query, role=role, k=5)
        readable = ", ".join(kb.access_for(role=role))
        st.caption(f"Searching as {user}: documents labelled {readable}.")
        if not hits:
            st.write("Nothing found.")
        for hit in hits:
            where = " › ".join(p for p in (hit.title or hit.source, hit.section) if p)
            flag = " · :material/warning: instruction-like text (shown as data, never followed)" \
                if hit.flagged else ""
            with st.container(border=True):
                st.markdown(f"**{where}** · `{hit.source}` · {hit.access} · "
                            f"score {hit.score:.3f}{flag}")
                st.write(hit.text)


guarded(render)
