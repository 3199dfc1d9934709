"""The lamworks web app: ``streamlit run ui/app.py`` or ``lamworks ui``. Only routing is here."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lamworks.ui.services import HOME_RESULTS_KEY, pages_for
from lamworks.ui.signin import demo_banner, markdown_text, sign_out_button, signed_in
from lamworks.ui.state import current_user, runtime

HERE = Path(__file__).parent

st.set_page_config(page_title="lamworks", page_icon=":material/bolt:", layout="wide")

rt = runtime()
# Nobody signed in: the sign-in page, and nothing below runs (demo mode: loopback only).
who = signed_in()
demo_banner()
with st.sidebar:
    st.markdown(f"**{rt.config.institution.name}**")
    if rt.config.auth.mode == "demo":
        users = list(rt.config.users)
        labels = [rt.config.users[name].display_name or name for name in users]
        asked = st.query_params.get("user")
        if asked in users and st.session_state.get("acting_user_from_url") != asked:
            # A link such as /?user=student opens the app as that demo user.
            st.session_state["acting_user_from_url"] = asked
            st.session_state["acting_user"] = asked

        def _chosen() -> None:
            st.session_state["acting_user"] = users[labels.index(
                st.session_state["acting_user_label"])]

        # The choice lives under our own key, which every page reads. Streamlit drops a
        # widget's own state when the page changes (the person fell back to the first user on
        # the next page), so the widget is set from our key on every run.
        acting = st.session_state.get("acting_user")
        st.session_state["acting_user_label"] = labels[users.index(acting) if acting in users
                                                       else 0]
        shown = st.selectbox("Acting as", labels, key="acting_user_label", on_change=_chosen)
        st.session_state["acting_user"] = users[labels.index(shown)]
        who = rt.accounts.identity(current_user())
    else:
        st.markdown(f"Signed in as **{markdown_text(who.label)}**")
    role = who.role
    st.caption(f"Role: **{role}**")
    sign_out_button(who)

# Only the pages this user's role is permitted (lamworks.ui.services): a page left out cannot
# be opened by its URL either — Streamlit answers it with the default page, the role's Home
# when it holds page.home (else the Chat).
allowed = pages_for(rt, current_user())
default_key = next((p.key for p in allowed if p.default), allowed[0].key if allowed else "")
sections: dict[str, list[st.Page]] = {}
for spec in allowed:
    sections.setdefault(spec.section, []).append(
        st.Page(str(spec.path), title=spec.title, icon=spec.icon,
                default=spec.key == default_key))
if not sections:
    def _no_pages() -> None:
        st.error("Your role has no pages in this app. Ask an administrator for access.")

    sections = {"": [st.Page(_no_pages, title="No access", default=True)]}

page = st.navigation(sections)
if st.session_state.get("lamworks_page") != page.url_path:
    # Another page was opened: the home page's results are of an earlier visit (a booking made
    # in the chat since), so its sections run their tools again when it is next shown.
    st.session_state["lamworks_page"] = page.url_path
    st.session_state.pop(HOME_RESULTS_KEY, None)
page.run()

# Streamlit registers the sidebar's widgets under the page's identity only from the second run
# of a session, so the first choice made in "Acting as" would be lost. One immediate rerun at
# the start of each session makes the first interaction count.
if not st.session_state.get("lamworks_booted"):
    st.session_state["lamworks_booted"] = True
    st.rerun()
