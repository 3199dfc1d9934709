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
    labels = [rt.config.users[name].display_name or name for name in users]
    asked = st.query_params.get("user")
    if asked in users and st.session_state.get("acting_user_from_url") != asked:
        # A link such as /?user=student opens the app as that demo user.
        st.session_state["acting_user_from_url"] = asked
        st.session_state["acting_user_label"] = labels[users.index(asked)]
    shown = st.selectbox("Acting as", labels, key="acting_user_label")
    # Stored under our own key (not the widget's) so every page reads the same value.
    st.session_state["acting_user"] = users[labels.index(shown)]
    role = rt.config.users[current_user()].role
    st.caption(f"Role: **{role}**")

sections: dict[str, list[st.Page]] = {
    "Assistant": [st.Page(str(HERE / "pages" / "chat.py"), title="Chat",
                          icon=":material/chat:", default=True)],
    "Knowledge": [st.Page(str(HERE / "pages" / "knowledge.py"), title="Documents",
                          icon=":material/menu_book:")],
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

# Streamlit registers the sidebar's widgets under the page's identity only from the second run
# of a session, so the first choice made in "Acting as" would be lost. One immediate rerun at
# the start of each session makes the first interaction count.
if not st.session_state.get("lamworks_booted"):
    st.session_state["lamworks_booted"] = True
    st.rerun()
