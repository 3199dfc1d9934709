"""Chat: each planned step is a card with its arguments, policy decisions and status."""

from __future__ import annotations

import json

import streamlit as st

from lamworks import ConfirmationError, Step, Turn
from lamworks.ui.state import current_user, runtime, session_id

rt = runtime()
user = current_user()
sid = session_id()
history_key = f"turns-{sid}"
turns: list[Turn] = st.session_state.setdefault(history_key, [])

st.title("Assistant")

_STATUS = {"executed": "✅ done", "denied": "⛔ denied", "failed": "⚠️ failed",
           "awaiting_confirmation": "⏳ awaiting your confirmation", "cancelled": "✖ cancelled",
           "skipped": "skipped", "planned": "planned"}


def _step_card(step: Step, turn_index: int, live: bool) -> None:
    with st.container(border=True):
        st.markdown(f"**{step.tool}** — {_STATUS.get(step.status, step.status)}")
        if step.arguments:
            st.code(json.dumps(step.arguments, indent=2, ensure_ascii=False, default=str),
                    language="json")
        for decision in step.decisions:
            if decision.kind != "allow" or decision.reason:
                st.caption(f"policy `{decision.policy}` → **{decision.kind}** {decision.reason}")
        if step.result is not None and step.result.data is not None:
            with st.expander("Result"):
                st.json(step.result.data)
        if step.error:
            st.error(step.error)
        if live and step.status == "awaiting_confirmation":
            left, right = st.columns(2)
            if left.button("Confirm", key=f"ok-{turn_index}-{step.id}", type="primary"):
                _settle(lambda: rt.confirm(sid, step.id))
            if right.button("Cancel", key=f"no-{turn_index}-{step.id}"):
                _settle(lambda: rt.cancel(sid, step.id))


def _settle(action: object) -> None:
    try:
        turns.append(action())  # type: ignore[operator]
    except ConfirmationError as exc:
        st.session_state["flash"] = str(exc)
    st.rerun()


if "flash" in st.session_state:
    st.warning(st.session_state.pop("flash"))

for index, turn in enumerate(turns):
    if not turn.utterance.startswith("["):
        with st.chat_message("user"):
            st.write(turn.utterance)
    with st.chat_message("assistant"):
        for step in turn.steps:
            _step_card(step, index, live=index == len(turns) - 1)
        st.write(turn.answer)
        if turn.plan and turn.plan.why and turn.plan.why.candidates:
            with st.expander("Why this tool?"):
                for candidate in turn.plan.why.candidates:
                    st.write(f"{candidate.tool}: {candidate.score:.3f}")
        for citation in turn.citations:
            with st.expander(f"Source: {citation.title or citation.source} {citation.section}"):
                st.write(citation.snippet)

if not turns:
    examples = [e for t in rt.tools.values() for e in t.examples[:1]][:4]
    if examples:
        st.caption("Try: " + " · ".join(f"“{e}”" for e in examples))

if prompt := st.chat_input("Ask lamworks to do something"):
    turns.append(rt.handle(sid, user, prompt))
    st.rerun()
