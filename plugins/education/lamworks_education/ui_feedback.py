"""Essay feedback drawn with Streamlit — one component for the Essay feedback page and the chat.

:func:`render_feedback` draws a report (:meth:`~lamworks_education.scorer.EssayReport.to_dict`
form): the overall score, the trait chart, the next steps, each trait's suggestions and evidence,
and the essay with its evidence highlighted. The page calls it; in the chat the plugin registers
:func:`draw_essay_feedback` as ``essay_feedback``'s :class:`~lamworks.ResultComponent`.

The trait chart is an HTML table (trait, score, a bar the screen reader skips), so it reads as a
table, prints, and fits a 390 px screen. Highlights and quotes cut only on word boundaries: a
span that starts or ends inside a word is widened to the whole word (:func:`word_span`), a long
quote is shortened after a whole word (:func:`clip_words`). The pure functions here import no
Streamlit; the drawing functions import it when called.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["clip_words", "draw_essay_feedback", "highlight_html", "render_feedback",
           "trait_chart_html", "word_span"]

_WORD = re.compile(r"[\w'’-]")
QUOTE_CHARS = 300
"""A quoted piece of evidence longer than this is shortened (after a whole word)."""


def _in_word(text: str, i: int) -> bool:
    return 0 <= i < len(text) and bool(_WORD.match(text[i]))


def word_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` clipped to ``text`` and widened so that it cuts no word in two."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    while start > 0 and _in_word(text, start - 1) and _in_word(text, start):
        start -= 1
    while end < len(text) and end > 0 and _in_word(text, end - 1) and _in_word(text, end):
        end += 1
    return start, end


def clip_words(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` when short enough, else its longest beginning of whole words within ``limit``
    characters, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[:limit + 1]
    if _in_word(text, limit) and _in_word(text, limit - 1):
        cut = cut[:cut.rfind(" ")] if " " in cut else cut[:limit]
    return cut[:limit].rstrip(" ,;:") + "…"


def highlight_html(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """``text`` as HTML with each ``(start, end, note)`` marked (``<mark>``, the note as its
    title), widened to whole words; overlapping spans keep the first."""
    widened = sorted({(*word_span(text, s, e), note) for s, e, note in spans})
    out, position = [], 0
    for start, end, note in widened:
        if start < position or start >= end:
            continue
        out.append(html.escape(text[position:start]))
        out.append(f'<mark title="{html.escape(note)}">{html.escape(text[start:end])}</mark>')
        position = end
    out.append(html.escape(text[position:]))
    return "<div style='white-space: pre-wrap'>" + "".join(out) + "</div>"


def trait_chart_html(traits: Iterable[Mapping[str, Any]], scale_max: float,
                     caption: str = "Trait scores") -> str:
    """The trait scores as a table with a bar per trait (the bars are hidden from screen
    readers: the numbers say it)."""
    rows = []
    for trait in traits:
        score = float(trait["score"])
        width = max(0.0, min(score / scale_max, 1.0)) * 100 if scale_max else 0.0
        rows.append(
            f"<tr><th scope='row' style='text-align:left;font-weight:normal'>"
            f"{html.escape(str(trait['name']))}</th>"
            f"<td style='white-space:nowrap'>{score:g}</td>"
            f"<td style='width:45%'><div aria-hidden='true' style='background:#1a5fb4;"
            f"height:0.8em;border-radius:2px;width:{width:.0f}%'></div></td></tr>")
    return (f"<table style='width:100%'><caption style='text-align:left'>"
            f"{html.escape(caption)} (out of {scale_max:g})</caption>"
            "<thead><tr><th scope='col' style='text-align:left'>Trait</th>"
            "<th scope='col' style='text-align:left'>Score</th>"
            "<th scope='col' style='text-align:left'>Chart</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _scale_max(report: Mapping[str, Any]) -> float:
    if report.get("scale_max"):
        return float(report["scale_max"])
    from .rubrics import available_rubrics

    rubric = available_rubrics().get(str(report.get("rubric") or ""))
    return float(rubric.scale_max) if rubric is not None else 5.0


def render_feedback(report: Mapping[str, Any], essay: str | None, *, key: str = "essay",
                    calibrated_help: bool = True) -> None:
    """Draw one report: notes, where it was filed (``submission``), overall, trait chart, next
    steps, each trait's suggestions and quoted evidence, and — when ``essay`` is given — the
    essay with its evidence highlighted."""
    import streamlit as st

    for note in report.get("notes") or []:
        st.info(str(note))
    traits = list(report.get("traits") or [])
    if not traits:
        return
    filed = report.get("submission")
    if isinstance(filed, Mapping):
        st.caption(f"Saved in the feedback history: “{filed.get('title', '')}”"
                   + (f" ({filed['course']})" if filed.get("course") else ""))
    scale_max = _scale_max(report)
    overall = report.get("overall")
    st.metric("Overall", f"{overall:g}" if isinstance(overall, int | float) else "—",
              help=("Calibrated on your institution's essays" if report.get("calibrated")
                    else "Default thresholds (not calibrated)") if calibrated_help else None)
    st.markdown(trait_chart_html(traits, scale_max), unsafe_allow_html=True)
    st.subheader("Next steps")
    for step in report.get("next_steps") or []:
        st.markdown(f"- {step}")
    for trait in traits:
        with st.expander(f"{trait['name']}: {float(trait['score']):g} — "
                         f"{trait.get('descriptor', '')}"):
            for suggestion in trait.get("suggestions") or []:
                st.markdown(f"- {suggestion}")
            for item in trait.get("evidence") or []:
                st.caption(f"{item.get('note', '')}: “{clip_words(str(item.get('text', '')))}”")
    spans = [(int(e["start"]), int(e["end"]), str(e.get("note", "")))
             for t in traits for e in t.get("evidence") or []]
    if essay:
        st.subheader("Your essay, with evidence highlighted")
        st.markdown(highlight_html(essay, spans), unsafe_allow_html=True)


def draw_essay_feedback(result: Any, arguments: Mapping[str, Any], key: str) -> None:
    """``essay_feedback``'s component in the chat: :func:`render_feedback` on the essay the
    step was given (the summary alone for an essay that was not scored)."""
    import streamlit as st

    data = result.data if isinstance(result.data, Mapping) else {}
    if not data.get("traits"):
        st.markdown(result.summary)
        return
    essay = arguments.get("essay")
    render_feedback(data, essay if isinstance(essay, str) else None, key=key)
