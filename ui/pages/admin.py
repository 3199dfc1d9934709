"""Admin: loaded and failed plugins, tools, policies, and the effective configuration."""

from __future__ import annotations

import streamlit as st

from lamworks.ui.state import runtime

rt = runtime()
st.title("Plugins")
st.dataframe(
    [{"plugin": r.name, "version": r.version, "status": r.status,
      "tools": ", ".join(r.tools), "policies": ", ".join(r.policies),
      "knowledge": ", ".join(r.knowledge_sources), "error": r.error or ""}
     for r in rt.plugins.records.values()],
    width="stretch", hide_index=True,
)
with st.expander("Effective configuration (secrets masked)"):
    st.json(rt.config.masked())
