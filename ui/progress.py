"""A message's progress in the Chat page: the message echoed at once, then an ``st.status`` whose
label follows the runtime's stages live (:data:`lamworks.runtime.Stage`, reported through
``Runtime.handle(..., on_stage=...)``) while the runtime works, and what became of it at the end.

Kept out of the page script so that it can be drawn on its own under AppTest.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from lamworks import Turn
from lamworks.runtime import Stage, StageCallback

__all__ = ["STAGE_LABELS", "final_label", "run_turn"]

STAGE_LABELS: dict[Stage, str] = {
    "planning": "Planning…",
    "checking": "Checking policies…",
    "running": "Running…",
    "waiting": "Waiting for you",
    "done": "Done",
}
"""What the status says at each stage (``done`` is replaced by :func:`final_label`)."""


def final_label(turn: Turn) -> str:
    """The status once the runtime is done: waiting for a confirmation, for an answer, or done."""
    if any(s.status == "awaiting_confirmation" for s in turn.steps):
        return "Waiting for you"
    return "Waiting for your answer" if turn.follow_up is not None else "Done"


def run_turn(prompt: str, act: Callable[[StageCallback], Turn],
             keep: Callable[[Turn], None]) -> Turn:
    """Echo ``prompt``, run ``act`` (given the callback to pass to the runtime as
    ``on_stage``) under a status that shows each stage as it begins, and hand the turn to
    ``keep`` before anything else is drawn.

    A rerun or stop that Streamlit asks for while the runtime works (a click elsewhere) arrives
    as an exception from a drawing call inside the callback; it is held until the turn is kept
    and raised then, so that what the runtime did is never lost from the conversation."""
    with st.chat_message("user"):
        st.write(prompt)
    held: list[ScriptControlException] = []
    with st.chat_message("assistant"), st.status(STAGE_LABELS["planning"],
                                                 expanded=True) as status:

        def on_stage(stage: Stage) -> None:
            if held or stage == "done":
                return
            try:
                status.update(label=STAGE_LABELS[stage])
                st.write(STAGE_LABELS[stage])
            except ScriptControlException as exc:
                held.append(exc)

        turn = act(on_stage)
        keep(turn)
        if not held:
            if turn.steps:
                decisions = sum(len(s.decisions) for s in turn.steps)
                st.write(f"Checked {decisions} policy decision(s) for {len(turn.steps)} "
                         "step(s).")
            status.update(label=final_label(turn), state="complete", expanded=False)
    if held:
        raise held[0]
    return turn
