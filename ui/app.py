"""The lamworks web app: ``streamlit run ui/app.py`` or ``lamworks ui``. Only routing is here."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lamworks.ui.state import current_user, runtime

HERE = Path(__file__).parent

st.set_page_config(page_title="lamworks", page_icon=":material/bolt:", layout="wide")

rt = runtime()
with st.sidebar:
    st.markdown(f"**{rt.config.institution.name}**")
    users = list(rt.config.users)
    st.selectbox(
        "Acting as",
        users,
        key="acting_user",
        format_func=lambda name: rt.config.users[name].display_name or name,
    )
    role = rt.config.users[current_user()].role
    st.caption(f"Role: **{role}**")

sections: dict[str, list[st.Page]] = {
    "Assistant": [st.Page(str(HERE / "pages" / "chat.py"), title="Chat",
                          icon=":material/chat:", default=True)],
    "Audit": [st.Page(str(HERE / "pages" / "audit.py"), title="Audit log",
                      icon=":material/verified_user:")],
    "Admin": [st.Page(str(HERE / "pages" / "admin.py"), title="Plugins",
                      icon=":material/extension:")],
}
for page in rt.plugins.ui_pages:
    if page.roles and role not in page.roles:
        continue
    sections.setdefault(page.section, []).append(
        st.Page(str(page.path), title=page.title, icon=page.icon)
    )

st.navigation(sections).run()
