"""register_result_components: a plugin's own drawing of its tools' results, collected per tool
(prefixed with the plugin), one per tool, gone with a failed plugin; the web app's
render_result uses it, and falls back to its conventions when it raises."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from lamworks import InstitutionConfig, ResultComponent, hookimpl, load_config, make_plugin_manager


def _draw(result: Any, arguments: Any, key: str) -> None:
    """A component (never drawn here)."""


def _plugin(*components: ResultComponent, fail: bool = False) -> types.SimpleNamespace:
    @hookimpl
    def register_result_components(register: Callable[[ResultComponent], None]) -> None:
        for component in components:
            register(component)
        if fail:
            raise RuntimeError("broken")

    return types.SimpleNamespace(register_result_components=register_result_components)


@pytest.fixture
def config(write_config: Callable[..., Path]) -> InstitutionConfig:
    return load_config(write_config(plugins="block = []"))


def test_components_are_collected_per_tool_with_the_plugins_prefix(
        config: InstitutionConfig) -> None:
    pm = make_plugin_manager(config, load_entry_points=False, extra_plugins={
        "words": _plugin(ResultComponent(tool="count_words", draw=_draw)),
        "other": _plugin(ResultComponent(tool="words.count_words", draw=_draw)),
        "broken": _plugin(ResultComponent(tool="tally", draw=_draw), fail=True)})
    component = pm.result_components["words.count_words"]
    assert component.plugin == "words" and component.draw is _draw
    assert pm.records["words"].result_components == ["words.count_words"]
    # a second component for the same tool is refused, naming both plugins
    assert pm.records["other"].status == "failed"
    assert "words" in (pm.records["other"].error or "")
    # a plugin that fails keeps nothing
    assert "broken.tally" not in pm.result_components


SCRIPT = """
import streamlit as st
from types import SimpleNamespace
from lamworks import ActionResult, ResultComponent, Step
from lamworks.ui.components import render_result

def fine(result, arguments, key):
    st.markdown(f"drawn by the plugin: {arguments['text']} ({key})")

def broken(result, arguments, key):
    raise ValueError("oops")

rt = SimpleNamespace(plugins=SimpleNamespace(result_components={
    "p.fine": ResultComponent(tool="p.fine", draw=fine, plugin="p"),
    "p.broken": ResultComponent(tool="p.broken", draw=broken, plugin="p")}))
for name in ("p.fine", "p.broken"):
    step = Step(id=name, tool=name, arguments={"text": "hello"}, status="executed",
                result=ActionResult(summary=f"summary of {name}"))
    render_result(rt, step, name, lambda text: None, live=True)
"""


@pytest.fixture
def loopback() -> Iterator[None]:
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "127.0.0.1")
    yield
    streamlit_config.set_option("server.address", before)


def test_render_result_uses_the_component_and_falls_back_when_it_raises(loopback: None) -> None:
    at = AppTest.from_string(SCRIPT, default_timeout=30).run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert shown == ["drawn by the plugin: hello (p-p.fine)", "summary of p.broken"]
