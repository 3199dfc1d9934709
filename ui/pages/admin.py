"""Admin: loaded and failed plugins with their errors, tools, policies, knowledge sources,
versions, and the effective configuration with secrets masked."""

from __future__ import annotations

import streamlit as st

from lamworks.ui.state import guarded, runtime


def render() -> None:
    rt = runtime()
    st.title("Plugins")
    failed = [r for r in rt.plugins.records.values() if r.status == "failed"]
    for record in failed:
        st.error(f"Plugin **{record.name}** is disabled: {record.error}")
    st.dataframe(
        [{"plugin": r.name, "version": r.version, "status": r.status,
          "tools": ", ".join(r.tools), "policies": ", ".join(r.policies),
          "knowledge": ", ".join(r.knowledge_sources), "error": r.error or ""}
         for r in rt.plugins.records.values()],
        width="stretch", hide_index=True,
    )
    st.subheader("Tools")
    st.dataframe(
        [{"tool": t.name, "risk": t.risk, "scopes": " ".join(str(s) for s in t.scopes),
          "description": t.description} for t in rt.tools.values()],
        width="stretch", hide_index=True,
    )
    st.subheader("Policies")
    st.dataframe(
        [{"policy": p.name, "stage": p.stage, "description": p.description}
         for p in rt.plugins.policies.values()],
        width="stretch", hide_index=True,
    )
    st.caption(f"Planner: {rt.planner.name}")
    with st.expander("Effective configuration (secrets masked)"):
        st.json(rt.config.masked())


guarded(render)
