"""Admin: loaded and failed plugins with their errors, tools, policies, knowledge sources,
versions (``plugins.view``), and the effective configuration with secrets masked
(``config.view``); the decisions live in :mod:`lamworks.ui.services`."""

from __future__ import annotations

import streamlit as st

from lamworks.ui.responsive import responsive_table
from lamworks.ui.services import (
    effective_configuration,
    page_refusal,
    plugin_overview,
    plugin_status,
)
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
    # Status as words beside an icon (never an emoji alone); tables that fit a phone.
    for row in overview.plugins:
        icon, words = plugin_status(str(row["status"]))
        st.markdown(f"{icon} **{row['plugin']}** {row['version']} — {words}")
    responsive_table([{k: v for k, v in row.items() if k != "status"}
                      for row in overview.plugins], caption="Plugins")
    st.subheader("Tools")
    responsive_table(overview.tools, caption="Tools")
    st.subheader("Policies")
    responsive_table(overview.policies, caption="Policies")
    st.caption(f"Planner: {overview.planner}")
    if rt.permits(user, "config.view"):
        with st.expander("Effective configuration (secrets masked)"):
            st.json(effective_configuration(rt, user))


guarded(render)
