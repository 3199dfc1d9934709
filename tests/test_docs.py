"""The plugin documentation is a tested contract: every hook, with its exact signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from lamworks import hookspecs

DOC = (Path(__file__).parents[1] / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")
HOOKS = [
    (name, fn) for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(fn, "lamworks_spec")
]


def test_there_are_hooks() -> None:
    names = {name for name, _ in HOOKS}
    assert {"register_tools", "register_policies", "register_knowledge_sources",
            "register_slot_extractors", "register_planners", "register_ui_pages", "startup",
            "before_action", "after_action", "plugin_settings"} <= names


@pytest.mark.parametrize(("name", "fn"), HOOKS, ids=[n for n, _ in HOOKS])
def test_hook_documented_with_exact_signature(name: str, fn: object) -> None:
    params = ", ".join(inspect.signature(fn).parameters)  # type: ignore[arg-type]
    assert f"### {name}({params})" in DOC


@pytest.mark.parametrize(("name", "fn"), HOOKS, ids=[n for n, _ in HOOKS])
def test_hook_has_a_docstring_with_an_example(name: str, fn: object) -> None:
    doc = inspect.getdoc(fn) or ""
    assert "Example::" in doc and len(doc) > 100


def test_documented_hooks_all_exist() -> None:
    documented = set(re.findall(r"^### (\w+)\(", DOC, flags=re.M))
    assert documented == {name for name, _ in HOOKS}
