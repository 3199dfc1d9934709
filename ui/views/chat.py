"""Chat: each planned step is a card in plain language — what it will do or did, for whom and
when, what changes, why it waits — with buttons named by what they do; the exact change folds
away under "Technical details" for roles that may see it (:mod:`lamworks.ui.cards`). Results
are components (:mod:`lamworks.ui.components`): choices to click, tables, a quiz to answer.

A message is echoed at once and a status follows the runtime's stages live while it works
(:mod:`lamworks.ui.progress`). A card's buttons go away once used — by a button or by a typed
"yes"/"no": an earlier card shows what became of its step.

Conversations persist (:mod:`lamworks.ui.conversations`): every turn is recorded in the session
store, the address carries the conversation (``?c=<id>``), so a reload, another tab or another
replica draws it again; the sidebar has "New chat" and the person's earlier chats. Another
person's conversation id shows nothing, and the refusal is audited."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lamworks import LamworksError, Step, Turn
from lamworks.ui.cards import (
    STATUS,
    card_text,
    example_requests,
    latest_steps,
    may_see_technical_details,
)
from lamworks.ui.components import quiz_of, render_result
from lamworks.ui.conversations import (
    earlier_conversations,
    new_conversation_id,
    open_conversation,
    record_turn,
)
from lamworks.ui.progress import run_turn
from lamworks.ui.state import current_user, guarded, runtime, session_id, use_session

# Session-state key of a message a component sends as the next turn (a clicked choice). A
# comment, not a docstring: Streamlit's "magic" would draw a bare string on the page.
PROMPT_KEY = "chat-next-prompt"


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


def send(text: str) -> None:
    """Send ``text`` as the person's next message (a component's click)."""
    st.session_state[PROMPT_KEY] = text


def step_card(step: Step, utterance: str, key: str, live: bool,
              settle: Callable[[Callable[[], Turn]], None], *, outcome: bool = True) -> None:
    """One step as a card; its buttons only while ``live`` and waiting for the person. With
    ``outcome`` False the card shows only its status: what became of it is said by the later
    reply that settled it (a button, a typed "yes"), so the words appear once."""
    rt = runtime()
    card = card_text(rt, current_user(), step)
    with st.container(border=True):
        st.markdown(f"{card.icon} **{card.status}**")
        if card.headline:
            st.markdown(card.headline)
        for effect in card.effects:
            st.markdown(f"- {_escape(effect)}")
        for name, ref in step.referents.items():
            # Who "her" or "him" is: the record the argument refers to, by name.
            st.markdown(f"“{_escape(name.replace('_', ' '))}” refers to "
                        f"**{_escape(ref.display or str(ref))}** (from the conversation)")
        for reason in card.reasons:  # a refusal's reason is the answer; a wait's, a note
            (st.markdown if step.status == "denied" else st.caption)(_escape(reason))
        if live and step.status == "awaiting_confirmation":
            left, right = st.columns(2)
            if left.button(card.confirm_label, key=f"ok-{key}", type="primary",
                           width="stretch"):
                settle(lambda: rt.confirm(session_id(), step.id, arguments=step.arguments,
                                          change_digest=step.change_digest))
            if right.button(card.decline_label, key=f"no-{key}", width="stretch"):
                settle(lambda: rt.cancel(session_id(), step.id))
        if not outcome:
            pass
        elif step.status == "executed" and step.result is not None:
            render_result(rt, step, key, send, live=live)
        elif card.outcome:
            (st.error if step.status in ("failed", "conflict") else st.markdown)(
                _escape(card.outcome))
        if card.technical is not None:
            with st.expander("Technical details"):
                if step.spans and not utterance.startswith("["):
                    st.markdown(highlighted(utterance, step))
                st.code(card.technical, language="text", wrap_lines=True)


# Session-state key: the (user, conversation id) this tab last put in the address. An address
# still showing it after "Acting as" changed is the previous user's, not an attempt to open it.
ADDRESS_KEY = "chat-address"


def conversation() -> str | None:
    """This tab's conversation for the current user, kept in the address as ``?c=<id>``.

    An address naming another conversation (a reload, a bookmark, a link) makes it this tab's
    when it is the user's own (or new); someone else's is refused (audited once per tab) and
    ``None`` is returned: the page shows nothing of it."""
    rt, user = runtime(), current_user()
    asked = st.query_params.get("c")
    mine = session_id()
    put = st.session_state.get(ADDRESS_KEY)
    if asked and asked != mine and not (put and put[1] == asked and put[0] != user):
        if st.session_state.get(f"refused-{user}") == asked:
            return None
        shown = open_conversation(rt, user, asked)
        if shown is None:
            st.session_state[f"refused-{user}"] = asked
            return None
        use_session(asked)
        st.session_state[f"turns-{asked}"] = shown
        mine = str(asked)
    if asked != mine:
        st.query_params["c"] = mine
    st.session_state[ADDRESS_KEY] = (user, mine)
    return mine


def switch_to(conversation_id: str) -> None:
    """Make ``conversation_id`` this tab's conversation (its turns read again from the store)."""
    st.session_state.pop(f"turns-{conversation_id}", None)
    st.session_state.pop(f"refused-{current_user()}", None)
    use_session(conversation_id)
    st.query_params["c"] = conversation_id


def sidebar(current: str | None) -> None:
    """"New chat" and the person's earlier chats (title and last activity), newest first."""
    rt, user = runtime(), current_user()
    with st.sidebar:
        if st.button("New chat", key="new-chat", icon=":material/add_comment:",
                     width="stretch"):
            switch_to(new_conversation_id())
            st.rerun()
        chats = earlier_conversations(rt, user)
        if chats:
            st.caption("Earlier chats")
        for chat in chats:
            if st.button(f"{_escape(chat.title)}  \n:gray[{chat.when}]", key=f"chat-{chat.id}",
                         type="secondary" if chat.id == current else "tertiary",
                         disabled=chat.id == current, width="stretch",
                         help="This chat" if chat.id == current else None):
                switch_to(chat.id)
                st.rerun()


def render() -> None:
    rt = runtime()
    user = current_user()
    chosen = conversation()
    sidebar(chosen)
    st.title("Assistant")
    if chosen is None:
        st.info("This conversation is not available. Start a new chat, or pick one of yours "
                "in the sidebar.")
        return
    sid = chosen
    turns: list[Turn] = st.session_state.get(f"turns-{sid}")  # type: ignore[assignment]
    if turns is None:  # a tab's own new conversation, or one recorded by another tab
        turns = st.session_state[f"turns-{sid}"] = open_conversation(rt, user, sid) or []
    technical = may_see_technical_details(rt, user)

    def keep(turn: Turn) -> None:
        turns.append(turn)
        record_turn(rt, user, turn)

    def settle(action: Callable[[], Turn]) -> None:
        try:
            keep(action())
        except LamworksError as exc:  # a stale confirmation, a database that stayed busy
            st.session_state["flash"] = str(exc)
        st.rerun()

    if "flash" in st.session_state:
        st.warning(st.session_state.pop("flash"))

    latest = latest_steps(turns)
    drawn: set[str] = set()
    for index, turn in enumerate(turns):
        if not turn.utterance.startswith("["):
            with st.chat_message("user"):
                st.write(turn.utterance)
        with st.chat_message("assistant"):
            cards, said = 0, 0
            for step in turn.steps:
                if step.id in drawn:
                    # Its card is above, showing its new status; what became of it is said
                    # here, in the reply that settled it (once).
                    outcome = card_text(rt, user, step).outcome if latest[step.id][0] == index \
                        else ""
                    if outcome:
                        st.markdown(_escape(outcome))
                        said += 1
                    continue
                drawn.add(step.id)
                last, current = latest[step.id]
                step_card(current, turn.utterance, f"{index}-{step.id}",
                          live=last == len(turns) - 1, settle=settle, outcome=last == index)
                cards += 1
            if turn.follow_up is not None:
                st.markdown(_escape(turn.follow_up.question))
            elif not cards and not said:
                st.markdown(_escape(turn.answer))  # a plain reply (with its offer, if any)
            elif turn.offer:
                st.markdown(_escape(turn.offer))  # under the results: "Would you like me to …?"
            why = turn.plan.why if turn.plan else None
            if technical and why and (why.candidates or why.notes):
                with st.expander("Why this tool?"):
                    for candidate in why.candidates:
                        st.write(f"`{candidate.tool}` — score {candidate.score:.3f}")
                    for note in why.notes:
                        st.caption(note)
            if any(quiz_of(s.result.data) for s in turn.steps if s.result is not None) \
                    and not any(k.startswith(f"quiz-checked-{index}-") for k in st.session_state):
                continue  # a quiz's sources quote its answers: shown once it is checked
            for citation in turn.citations:
                label = " › ".join(p for p in (citation.title or citation.source,
                                               citation.section) if p)
                with st.expander(f"Source: {label}"):
                    st.write(citation.snippet)

    example: str | None = None
    if not turns:
        examples = example_requests(rt, user)
        if examples:
            st.caption("Try one of these:")
            columns = st.columns(2)
            for i, text in enumerate(examples):
                if columns[i % 2].button(text, key=f"example-{i}", width="stretch"):
                    example = text

    typed = st.chat_input("Ask lamworks to do something")
    prompt = typed or example or st.session_state.pop(PROMPT_KEY, None)
    if prompt:
        run_turn(prompt, lambda on_stage: rt.handle(sid, user, prompt, on_stage=on_stage), keep)
        st.rerun()


# The status labels the cards use, for tests and for other pages that draw a step.
__all__ = ["STATUS", "conversation", "highlighted", "render", "run_turn", "send", "sidebar",
           "step_card", "switch_to"]

guarded(render)
