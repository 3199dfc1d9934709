"""Results drawn as components in the chat, from what a tool's result carries.

A tool's :class:`~lamworks.ActionResult` says what it found in ``summary`` (one sentence, what
the CLI prints) and ``data``; the chat draws ``data`` by these conventions, so a plugin chooses
its component by the shape of its data and the core knows none of them. A plugin that wants its
own drawing for a tool registers a :class:`~lamworks.ResultComponent` for it
(``register_result_components``): that one draws the tool's results instead; if it raises, the
conventions below do.

- ``data["choices"] = {"title": str, "options": [{"label": str, "say": str}, ...]}``: a few
  options to click, the first one first ("Next opening: …"), then "More…". A click sends
  ``say`` as the person's next message (the planner understands it as if typed).
- ``data["questions"] = [{"question": str, "choices": [str], "answer": str, ...}]``: a quiz to
  answer. The answers are checked when the person submits; no answer is shown before.
- Any other ``data`` value that is a list of flat records: a table (``st.dataframe``).
- Otherwise the summary sentence.

Example (the tests run it)::

    from lamworks import ActionResult

    result = ActionResult(summary="2 free slots: ...", data={"choices": {
        "title": "2 free slots", "options": [
            {"label": "Next opening: Thu 3 Dec, 9:30–10:00", "say": "book the 9:30 one"},
            {"label": "Thu 3 Dec, 10:00–10:30", "say": "book the 10:00 one"}]}})
    assert [o.say for o in choices_of(result.data)] == ["book the 9:30 one",
                                                        "book the 10:00 one"]
    assert tables_of({"count": 1, "rows": [{"id": "a", "start": "9:30"}]}) == [
        ("Rows", [{"id": "a", "start": "9:30"}])]
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lamworks import ResultComponent, Step
    from lamworks.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = ["FIRST_CHOICES", "Choice", "check_answer", "choices_of", "quiz_of", "render_result",
           "tables_of"]

FIRST_CHOICES = 3
"""How many choices show before "More…" (each "More…" shows as many again, up to 5 more)."""


@dataclass(frozen=True)
class Choice:
    """One clickable option: what the button says, and what clicking it sends."""

    label: str
    say: str


def choices_of(data: Any) -> list[Choice]:
    """The options of ``data["choices"]`` (none when the result carries none)."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), dict):
        return []
    options = data["choices"].get("options") or []
    return [Choice(str(o["label"]), str(o["say"])) for o in options
            if isinstance(o, dict) and o.get("label") and o.get("say")]


def _flat(row: Any) -> bool:
    return isinstance(row, dict) and all(
        v is None or isinstance(v, str | int | float | bool) for v in row.values())


def tables_of(data: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each list of flat records in ``data`` (besides choices and questions), titled by its
    key ("appointments" → "Appointments")."""
    if not isinstance(data, dict):
        return []
    return [(key.replace("_", " ").capitalize(), value) for key, value in data.items()
            if key not in ("choices", "questions") and isinstance(value, list) and value
            and all(_flat(row) for row in value)]


def quiz_of(data: Any) -> list[dict[str, Any]]:
    """The questions of a quiz result (each with its ``question`` and ``answer``)."""
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return []
    return [q for q in data["questions"]
            if isinstance(q, dict) and q.get("question") and q.get("answer")]


def check_answer(question: dict[str, Any], given: str) -> bool:
    """Whether ``given`` answers ``question``: the same choice, or for a written answer the
    same words ignoring case, spaces and a final full stop."""

    def norm(text: str) -> str:
        return " ".join(str(text).lower().strip().rstrip(".").split())

    return bool(given) and norm(given) == norm(question["answer"])


def _headline(summary: str) -> str:
    """A summary's lead ("1 upcoming appointment(s) for Ana Ruiz: …" → before the colon),
    when a component shows the rest."""
    return summary.split(": ", 1)[0]


def render_result(rt: Runtime, step: Step, key: str, send: Callable[[str], None], *,
                  live: bool) -> None:
    """Draw an executed step's result as its component: the plugin's own for the tool, else
    by the module's conventions."""
    import pandas as pd  # type: ignore[import-untyped]
    import streamlit as st

    result = step.result
    if result is None:
        return
    component = rt.plugins.result_components.get(step.tool)
    if component is not None and _drawn_by(component, step, key):
        return
    data = result.data
    choices = choices_of(data)
    questions = quiz_of(data)
    tables = tables_of(data) if not choices else []
    if choices:
        st.markdown(f"**{data['choices'].get('title') or _headline(result.summary)}**")
        shown_key = f"choices-shown-{key}"
        shown = st.session_state.get(shown_key, FIRST_CHOICES)
        for i, choice in enumerate(choices[:shown]):
            st.button(choice.label, key=f"choice-{key}-{i}", width="stretch",
                      type="primary" if i == 0 else "secondary",
                      on_click=send, args=(choice.say,))
        if len(choices) > shown:
            st.button(f"More… ({len(choices) - shown} more)", key=f"more-{key}",
                      on_click=lambda: st.session_state.__setitem__(shown_key, shown + 5))
    elif questions:
        _quiz(questions, key, result.summary)
    elif tables:
        st.markdown(_headline(result.summary))
        for title, rows in tables:
            if len(tables) > 1:
                st.caption(title)
            st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)
    elif result.summary:
        st.markdown(result.summary)


def _drawn_by(component: ResultComponent, step: Step, key: str) -> bool:
    """Whether the plugin's component drew the step's result (a failure is logged)."""
    assert step.result is not None
    try:
        component.draw(step.result, dict(step.arguments), f"{component.plugin}-{key}")
    except Exception:  # a plugin's mistake falls back to the conventions, never breaks the page
        log.exception("result component of %s for %s failed", component.plugin, step.tool)
        return False
    return True


def _quiz(questions: list[dict[str, Any]], key: str, summary: str) -> None:
    """A quiz as a form: answers are checked on "Check my answers"; the answer key appears
    only for a question once it has been answered."""
    import streamlit as st

    st.markdown(f"**{summary}**")
    checked_key = f"quiz-checked-{key}"
    with st.form(f"quiz-{key}"):
        given: list[str] = []
        for i, question in enumerate(questions):
            label = f"{i + 1}. {question['question']}"
            options = [str(c) for c in question.get("choices") or []]
            if options:
                given.append(st.radio(label, options, index=None, key=f"quiz-{key}-{i}") or "")
            else:
                given.append(st.text_input(label, key=f"quiz-{key}-{i}"))
        if st.form_submit_button("Check my answers", type="primary"):
            st.session_state[checked_key] = list(given)
    answered = st.session_state.get(checked_key)
    if answered is None:
        return
    right = 0
    for i, (question, answer) in enumerate(zip(questions, answered, strict=False)):
        if not answer:
            st.markdown(f"{i + 1}. :material/help: Not answered yet.")
        elif check_answer(question, answer):
            right += 1
            st.markdown(f"{i + 1}. :material/check_circle: **Right**: {question['answer']}")
        else:
            st.markdown(f"{i + 1}. :material/cancel: **Not quite**: the answer is "
                        f"{question['answer']}")
    st.markdown(f"**{right} of {len(questions)} right.**")
