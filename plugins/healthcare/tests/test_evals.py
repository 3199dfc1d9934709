"""The planner eval set and the advice set are well-formed and consistent with the tools."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from lamworks_healthcare.tools import TOOLS

BY_NAME = {f"healthcare.{t.name}": t for t in TOOLS}


def _load(name: str) -> list[dict[str, Any]]:
    text = resources.files("lamworks_healthcare").joinpath(f"evals/{name}").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _check_arguments(tool_name: str, arguments: dict[str, Any]) -> None:
    tool = BY_NAME[tool_name]
    fields = tool.args_model.model_fields
    assert set(arguments) <= set(fields), (tool_name, set(arguments) - set(fields))
    for name, value in arguments.items():  # each value validates as its field's type
        tool.args_model.__pydantic_validator__.validate_assignment(
            tool.args_model.model_construct(), name, value)


def test_single_utterances() -> None:
    records = _load("single.jsonl")
    assert len(records) >= 150 and len({r["id"] for r in records}) == len(records)
    examples = {e.lower() for t in TOOLS for e in t.examples}
    assert not examples & {r["utterance"].lower() for r in records}
    for record in records:
        _check_arguments(record["tool"], record["arguments"])
    assert {r["tool"] for r in records} == set(BY_NAME)


def test_dialogs() -> None:
    dialogs = _load("dialogs.jsonl")
    assert len(dialogs) >= 30
    for dialog in dialogs:
        for turn in dialog["turns"]:
            expect = turn["expect"]
            if "tool" in expect:
                _check_arguments(expect["tool"], expect["arguments"])
            elif "asks_for" in expect:
                assert any(expect["asks_for"] in t.args_model.model_fields for t in TOOLS)


def test_out_of_scope() -> None:
    records = _load("out_of_scope.jsonl")
    assert len(records) >= 40 and all(r["tool"] is None for r in records)


def test_advice_set_meets_the_bar() -> None:
    from lamworks_healthcare.advice import is_clinical_advice

    records = _load("clinical_advice.jsonl")
    for label in ("advice", "benign"):
        subset = [r for r in records if r["label"] == label]
        correct = sum(is_clinical_advice(r["utterance"]) == (label == "advice") for r in subset)
        assert len(subset) >= 60 and correct / len(subset) >= 0.95, (label, correct)


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_tools_have_five_to_eight_examples(tool: Any) -> None:
    assert 5 <= len(tool.examples) <= 8
