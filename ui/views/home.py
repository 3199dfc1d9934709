"""Home: the page each role opens on (``page.home``), made of what its role may use.

The plugins' sections (``register_home_sections``; :func:`lamworks.ui.services.home_sections_for`
decides which a person sees) show what their read tools find for this person — run through the
runtime like a chat request, so policies, redaction, rate limits and the audit log apply — and
suggestions that open the chat with that request. The core adds its own panels for those who
administer (:func:`lamworks.ui.services.admin_panels`): plugins, health, the audit chain.

A section's tool runs once when the page is entered, not on every rerun of the page (a click
elsewhere on it); coming back from another page runs it again (see ``ui/app.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import streamlit as st

from lamworks import ActionContext, ActionResult, HomeSection, LamworksError, Step
from lamworks.ui.components import render_result
from lamworks.ui.services import (
    HOME_RESULTS_KEY,
    HOME_SESSION_PREFIX,
    admin_panels,
    home_sections_for,
    institution_time,
    plugin_overview,
    plugin_status,
    visible_audit_rows,
)
from lamworks.ui.state import current_user, guarded, runtime

# The chat page's session-state key of a message to send as the next turn
# (lamworks.ui.views.chat.PROMPT_KEY; that module runs its page when imported, so the key is
# repeated here, and the browser test proves a suggestion reaches the chat).
CHAT_PROMPT_KEY = "chat-next-prompt"
GO_TO_CHAT = "home-go-to-chat"
RESULTS = HOME_RESULTS_KEY


def start_chat(text: str) -> None:
    """A suggestion's click: the chat opens and sends ``text`` (a callback: the switch itself
    happens at the top of the next run, where Streamlit allows it)."""
    st.session_state[CHAT_PROMPT_KEY] = text
    st.session_state[GO_TO_CHAT] = True


class StreamlitHomeView:
    """The :class:`~lamworks.HomeView` a section draws through, for one section."""

    def __init__(self, section: HomeSection, context: ActionContext, session: str) -> None:
        self.section = section
        self.context = context
        self._session = session

    def _qualified(self, tool: str) -> str:
        return tool if "." in tool else f"{self.section.plugin}.{tool}"

    def run(self, tool: str, arguments: Mapping[str, Any] | None = None) -> ActionResult | None:
        name = self._qualified(tool)
        results: dict[str, Step | str] = st.session_state.setdefault(RESULTS, {})
        key = f"{self.context.user}|{name}|{sorted((arguments or {}).items())!r}"
        if key not in results:
            results[key] = _run(self.context.user, self._session, name, dict(arguments or {}))
        outcome = results[key]
        if isinstance(outcome, str):
            st.info(outcome)
            return None
        return outcome.result

    def show(self, result: ActionResult, key: str) -> None:
        step = Step(id=key, tool=self.section.show or "home", status="executed", result=result)
        render_result(runtime(), step, f"home-{self.section.plugin}-{key}", start_chat,
                      live=True)

    def ask(self, text: str, *, key: str, label: str | None = None) -> None:
        st.button(label or text, key=f"ask-{self.section.plugin}-{key}", on_click=start_chat,
                  args=(text,), icon=":material/chat:")


def _run(user: str, session: str, tool: str, arguments: dict[str, Any]) -> Step | str:
    """One read for the home page through :meth:`~lamworks.Runtime.propose`: the executed step,
    or the sentence saying why there is nothing to show."""
    rt = runtime()
    tool_def = rt.tools.get(tool)
    if tool_def is None or tool_def.risk != "read":
        return "This section is not available."  # a home page never changes anything
    try:
        turn = rt.propose(session, user, tool, arguments, text=f"[home {tool}]")
    except LamworksError as exc:
        return str(exc)
    step = next(iter(turn.steps), None)
    if step is None or step.status != "executed" or step.result is None:
        return turn.answer or "Nothing to show here."
    return step


def _arguments(section: HomeSection, context: ActionContext) -> dict[str, Any]:
    given = section.arguments(context) if callable(section.arguments) else section.arguments
    return dict(given)


def _section(section: HomeSection, context: ActionContext, session: str, index: int) -> None:
    view = StreamlitHomeView(section, context, session)
    with st.container(border=True):
        st.subheader(section.title)
        if section.description:
            st.caption(section.description)
        if section.show:
            result = view.run(section.show, _arguments(section, context))
            if result is not None:
                view.show(result, f"{index}")
        if section.draw is not None:
            section.draw(view)
        if section.suggestions:
            st.caption("Ask about it:")
            for n, text in enumerate(section.suggestions):
                view.ask(text, key=f"{index}-{n}")


def _admin(panels: list[str], user: str) -> None:
    rt = runtime()
    if "plugins" in panels:
        overview = plugin_overview(rt, user)
        with st.container(border=True):
            st.subheader("Plugins")
            for row in overview.plugins:
                icon, words = plugin_status(str(row["status"]))
                st.markdown(f"{icon} **{row['plugin']}** {row['version']} — {words}")
            st.page_link("views/admin.py", label="All plugins, tools and policies",
                         icon=":material/extension:")
    if "health" in panels:
        report = rt.startup_report
        with st.container(border=True):
            st.subheader("Health")
            problems = [*report.failed_plugins, *report.unresolved]
            if problems:
                for problem in problems:
                    st.markdown(f":material/error: **Needs attention**: {problem}")
            else:
                st.markdown(":material/check_circle: **Healthy**: every plugin loaded and "
                            "nothing was left unfinished at start-up.")
            st.caption(f"At start-up: {len(report.reconciled)} action(s) reconciled, "
                       f"{len(report.repaired)} audit row(s) repaired; planner "
                       f"{rt.planner.name}.")
    if "audit" in panels:
        with st.container(border=True):
            st.subheader("Audit")
            rows = list(reversed(visible_audit_rows(rt, user)))[:5]
            zone = rt.config.institution.timezone
            for entry in rows:
                st.markdown(f"- {institution_time(rt, entry.ts):%a %d %b %H:%M} · "
                            f"{entry.actor} · {entry.event} · {entry.outcome or '—'}")
            if not rows:
                st.markdown("No audit rows yet.")
            st.caption(f"The latest rows; times in {zone}.")
            st.page_link("views/audit.py", label="Browse and verify the audit log",
                         icon=":material/verified_user:")


def render() -> None:
    if st.session_state.pop(GO_TO_CHAT, False):
        st.switch_page("views/chat.py")
    rt = runtime()
    user = current_user()
    context = rt.action_context("", user)
    identity = rt.accounts.identity(user)
    session_key = f"home-session-{user}"
    session = st.session_state.setdefault(session_key,
                                          f"{HOME_SESSION_PREFIX}{uuid.uuid4().hex[:12]}")
    st.title(f"Welcome, {identity.label}")
    role = rt.config.roles.get(context.role)
    st.caption(f"{context.now():%A %d %B %Y}"
               + (f" · {role.description}" if role and role.description else ""))
    sections = home_sections_for(rt, user)
    panels = admin_panels(rt, user)
    if panels:  # who administers sees the institution's state first
        _admin(panels, user)
    for index, section in enumerate(sections):
        _section(section, context, session, index)
    if not sections and not panels:
        st.markdown("Nothing here for your role yet: ask the assistant on the Chat page.")


guarded(render)
