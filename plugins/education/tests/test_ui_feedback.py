"""The essay-feedback component: highlights and quotes cut only on word boundaries, the trait
chart is a table, and the chat draws an essay_feedback result with it (the plugin's
ResultComponent through the core's render_result)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from lamworks_education.ui_feedback import clip_words, highlight_html, trait_chart_html, word_span

TEXT = "Recycling programs save money. However, critics disagree strongly."


def test_a_span_inside_words_is_widened_to_whole_words() -> None:
    start = TEXT.index("cling")  # mid-word start
    end = TEXT.index("save") + 2  # mid-word end: "sa"
    assert TEXT[slice(*word_span(TEXT, start, end))] == "Recycling programs save"
    assert word_span(TEXT, 0, 9) == (0, 9)  # already whole: unchanged
    assert word_span(TEXT, -5, 10_000) == (0, len(TEXT))  # clipped to the text


def test_highlights_never_cut_a_word() -> None:
    cut = TEXT.index("critics") + 3
    html = highlight_html(TEXT, [(cut, len(TEXT) - 4, "a counter-argument"),
                                 (TEXT.index("money") - 2, TEXT.index("money") + 1, "cost")])
    assert '<mark title="cost">save money</mark>' in html
    assert '<mark title="a counter-argument">critics disagree strongly</mark>.' in html


def test_highlights_escape_the_essay() -> None:
    html = highlight_html("Use <b>bold</b> words & more.", [(0, 3, 'a "verb"')])
    assert '<mark title="a &quot;verb&quot;">Use</mark> &lt;b&gt;bold' in html


def test_long_quotes_are_clipped_after_a_whole_word() -> None:
    quote = "word " * 100
    clipped = clip_words(quote.strip(), 42)
    assert clipped == "word word word word word word word word…"
    assert clip_words("short one", 42) == "short one"
    assert clip_words("abcdefghij klm", 12) == "abcdefghij…"


def test_the_trait_chart_is_a_table_with_the_scores_as_text() -> None:
    html = trait_chart_html([{"name": "Ideas", "score": 4.0}, {"name": "Conventions",
                                                               "score": 2.5}], 5.0)
    assert "<caption style='text-align:left'>Trait scores (out of 5)</caption>" in html
    assert "<th scope='row' style='text-align:left;font-weight:normal'>Ideas</th>" in html
    assert "<td style='white-space:nowrap'>2.5</td>" in html and "width:80%" in html
    assert html.count("aria-hidden='true'") == 2


CHAT_SCRIPT = """
import streamlit as st
from types import SimpleNamespace
from lamworks import ActionResult, Step
from lamworks.ui.components import render_result
from lamworks_education.ui_feedback import draw_essay_feedback
from lamworks import ResultComponent

essay = "Gardens teach patience. Every class should keep one, because plants grow slowly."
data = {"rubric": "argumentative", "overall": 3.5, "scale_max": 5.0, "notes": [],
        "next_steps": ["Add a counter-argument."], "calibrated": False,
        "submission": {"title": "Gardens", "course": "Biology 10"},
        "traits": [{"key": "ideas", "name": "Ideas", "score": 4.0, "descriptor": "Clear",
                    "suggestions": ["Say why."], "evidence": [
                        {"text": "teach patience", "start": 10, "end": 20, "note": "a claim"}]}]}
component = ResultComponent(tool="essay_feedback", draw=draw_essay_feedback).namespaced(
    "education")
rt = SimpleNamespace(plugins=SimpleNamespace(result_components={component.tool: component}))
step = Step(id="s1", tool="education.essay_feedback", arguments={"essay": essay},
            status="executed", result=ActionResult(summary="Overall 3.5 of 5.", data=data))
render_result(rt, step, "k1", lambda text: None, live=True)
other = Step(id="s2", tool="education.tutor", arguments={}, status="executed",
             result=ActionResult(summary="A hint about food webs."))
render_result(rt, other, "k2", lambda text: None, live=True)
"""


@pytest.fixture
def loopback() -> Iterator[None]:
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "127.0.0.1")
    yield
    streamlit_config.set_option("server.address", before)


def test_the_chat_draws_essay_feedback_with_the_pages_component(loopback: None) -> None:
    at = AppTest.from_string(CHAT_SCRIPT, default_timeout=30).run()
    assert not at.exception
    assert at.metric[0].label == "Overall" and at.metric[0].value == "3.5"
    text = " ".join(m.value for m in at.markdown)
    assert "Trait scores (out of 5)" in text  # the chart
    # the evidence was given as 10..20, "ach patien" (cut inside both words): widened
    assert '<mark title="a claim">teach patience</mark>' in text
    assert [e.label for e in at.expander] == ["Ideas: 4 — Clear"]
    assert any("Saved in the feedback history: “Gardens” (Biology 10)" in c.value
               for c in at.caption)
    assert "A hint about food webs." in text  # another tool: the core's conventions


def test_the_essay_page_draws_the_same_component(loopback: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    page = Path(__file__).parents[1] / "lamworks_education" / "ui_essay.py"
    at = AppTest.from_file(str(page), default_timeout=60).run()
    at.text_area[0].input(ESSAY)
    at.button[0].click().run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Trait scores (out of 5)" in text and "<mark title=" in text


ESSAY = ("Towns should plant more trees along busy streets. In my view, shade cools the "
         "pavement and calms the traffic. For example, the avenue near our school felt "
         "several degrees cooler after the new maples grew. However, some owners fear the "
         "roots will crack sidewalks. In conclusion, careful planting gives every block "
         "cleaner air and a kinder walk home.")
