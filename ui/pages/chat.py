"""Chat: each planned step is a card — tool, arguments (with the words they came from),
policy decisions, status — and risky steps wait for Confirm or Cancel."""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from lamworks import LamworksError, Step, Turn
from lamworks.ui.state import current_user, guarded, runtime, session_id

_STATUS = {"executed": "✅ done", "denied": "⛔ denied", "failed": "⚠️ failed",
           "awaiting_confirmation": "⏳ awaiting your confirmation", "cancelled": "✖ cancelled",
           "skipped": "⏭ skipped", "planned": "planned",
           "conflict": "↻ not done: the records changed"}


def highlighted(utterance: str, step: Step) -> str:
    """The request with the words each argument came from marked (Streamlit markdown)."""
    spans = sorted(((s.start, s.end, name) for name, s in step.spans.items()
                    if 0 <= s.start < s.end <= len(utterance)), key=lambda x: x[0])
    out, cursor = [], 0
    for start, end, name in spans:
        if start < cursor:
            continue
        out.append(_escape(utterance[cursor:start]))
        out.append(f":blue-background[{_escape(utterance[start:end])}]:gray[*{name}*]")
        cursor = end
    out.append(_escape(utterance[cursor:]))
    return "".join(out)


def _escape(text: str) -> str:
    for ch in "\\*_[]`$:#<>|~":
        text = text.replace(ch, "\\" + ch)
    return text


def step_card(step: Step, utterance: str, key: str, live: bool,
              settle: Callable[[Callable[[], Turn]], None]) -> None:
    rt = runtime()
    tool = rt.tools.get(step.tool)
    with st.container(border=True):
        title = tool.description if tool else step.tool
        st.markdown(f"**{title}** · `{step.tool}` — {_STATUS.get(step.status, step.status)}")
        if step.spans and not utterance.startswith("["):
            st.markdown(highlighted(utterance, step))
        for name, ref in step.referents.items():
            # Who "her" or "him" is: the record the argument refers to, by name.
            st.markdown(f"**{_escape(name)}** refers to **{_escape(ref.display or str(ref))}** "
                        f":gray[({_escape(str(ref))}, from the conversation)]")
        if step.arguments:
            st.code(json.dumps(step.arguments, indent=2, ensure_ascii=False, default=str),
                    language="json")
        if step.change is not None:
            # Rendered from the stored change: what is shown here is what Confirm applies.
            st.markdown(f"**What will be written:** {_escape(step.change.action)}")
            with st.expander("The exact change"):
                st.code(step.change.preview(), language="text")
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
            if left.button("Confirm", key=f"ok-{key}", type="primary", width="stretch"):
                settle(lambda: rt.confirm(session_id(), step.id, arguments=step.arguments,
                                          change_digest=step.change_digest))
            if right.button("Cancel", key=f"no-{key}", width="stretch"):
                settle(lambda: rt.cancel(session_id(), step.id))


def render() -> None:
    rt = runtime()
    user = current_user()
    sid = session_id()
    turns: list[Turn] = st.session_state.setdefault(f"turns-{sid}", [])

    def settle(action: Callable[[], Turn]) -> None:
        try:
            turns.append(action())
        except LamworksError as exc:  # a stale confirmation, a database that stayed busy
            st.session_state["flash"] = str(exc)
        st.rerun()

    st.title("Assistant")
    if "flash" in st.session_state:
        st.warning(st.session_state.pop("flash"))

    for index, turn in enumerate(turns):
        if not turn.utterance.startswith("["):
            with st.chat_message("user"):
                st.write(turn.utterance)
        with st.chat_message("assistant"):
            for step in turn.steps:
                step_card(step, turn.utterance, f"{index}-{step.id}",
                          live=index == len(turns) - 1, settle=settle)
            st.write(turn.answer)
            why = turn.plan.why if turn.plan else None
            if why and (why.candidates or why.notes):
                with st.expander("Why this tool?"):
                    for candidate in why.candidates:
                        st.write(f"`{candidate.tool}` — score {candidate.score:.3f}")
                    for note in why.notes:
                        st.caption(note)
            for citation in turn.citations:
                label = " › ".join(p for p in (citation.title or citation.source,
                                               citation.section) if p)
                with st.expander(f"Source: {label}"):
                    st.write(citation.snippet)

    if not turns:
        examples = [t.examples[0] for t in rt.tools.values() if t.examples][:6]
        if examples:
            st.caption("Try one of these:")
            columns = st.columns(2)
            for i, example in enumerate(examples):
                if columns[i % 2].button(example, key=f"example-{i}", width="stretch"):
                    turns.append(rt.handle(sid, user, example))
                    st.rerun()

    if prompt := st.chat_input("Ask lamworks to do something"):
        turns.append(rt.handle(sid, user, prompt))
        st.rerun()


guarded(render)
