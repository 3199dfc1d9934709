"""Admin: loaded and failed plugins with their errors, tools, policies, knowledge sources,
versions (``plugins.view``), and the effective configuration with secrets masked
(``config.view``); the decisions live in :mod:`lamworks.ui.services`."""

from __future__ import annotations

import streamlit as st

from lamworks.ui.services import effective_configuration, page_refusal, plugin_overview
from lamworks.ui.state import current_user, guarded, runtime


def render() -> None:
    rt = runtime()
    user = current_user()
    st.title("Plugins")
    refusal = page_refusal(rt, user, "admin")
    if refusal is not None:
        st.error(refusal)
        return
    overview = plugin_overview(rt, user)
    for name, error in overview.failed:
        st.error(f"Plugin **{name}** is disabled: {error}")
    st.dataframe(overview.plugins, width="stretch", hide_index=True)
    st.subheader("Tools")
    st.dataframe(overview.tools, width="stretch", hide_index=True)
    st.subheader("Policies")
    st.dataframe(overview.policies, width="stretch", hide_index=True)
    st.caption(f"Planner: {overview.planner}")
    if rt.permits(user, "config.view"):
        with st.expander("Effective configuration (secrets masked)"):
            st.json(effective_configuration(rt, user))


guarded(render)
