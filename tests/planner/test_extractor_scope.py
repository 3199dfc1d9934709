"""Slot extractors run only for the entity types the request's likely tools declare: a request to
one plugin never makes another plugin's extractor read its records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lamworks import Runtime


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory,
            open_demo_clinic: Callable[[Path], Runtime]) -> Iterator[tuple[Runtime, Counter[str]]]:
    """The example institution, each slot extractor counting the texts it is asked about."""
    rt = open_demo_clinic(tmp_path_factory.mktemp("extractors") / "data")
    calls: Counter[str] = Counter()

    def counting(name: str, extract: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
        def run(text: str, ctx: Any) -> Any:
            calls[name] += 1
            return extract(text, ctx)
        return run

    extractors = rt.plugins.slot_extractors
    for name, extractor in list(extractors.items()):
        extractors[name] = replace(extractor, extract=counting(name, extractor.extract))
    rt.handle("warm-up", "frontdesk", "hello")  # the router reads the tools' own texts once
    rt.handle("warm-up", "frontdesk", "book ana ruiz with dr lee on friday")
    yield rt, calls
    rt.services["fhir"].close()
    rt.close()


def test_an_education_request_never_asks_the_healthcare_extractors(
        counted: tuple[Runtime, Counter[str]]) -> None:
    rt, calls = counted
    calls.clear()
    turn = rt.handle("edu", "student", "quiz me on food webs")
    assert turn.plan is not None and turn.plan.why is not None
    assert [s.tool for s in turn.steps] == ["education.practice_quiz"], turn.answer
    assert calls["healthcare.patients"] == 0 and calls["healthcare.practitioners"] == 0
    assert calls["education.topics"] >= 1


def test_a_booking_asks_the_healthcare_extractors_and_finds_the_lower_case_names(
        counted: tuple[Runtime, Counter[str]]) -> None:
    rt, calls = counted
    calls.clear()
    turn = rt.handle("hc", "frontdesk",
                     "please book ana ruiz in for a friday morning slot with dr lee")
    step = turn.awaiting_confirmation or (turn.steps[0] if turn.steps else None)
    assert step is not None and step.tool == "healthcare.book_appointment", turn.answer
    assert step.arguments.get("patient_name") == "Ana Ruiz"
    assert calls["healthcare.patients"] >= 1
    assert calls["education.topics"] == 0 and calls["education.students"] == 0
