"""The Clinic schedule page, driven by Streamlit's AppTest on the demo clinic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import lamworks_healthcare

PAGE = Path(lamworks_healthcare.__file__).parent / "ui_schedule.py"


@pytest.fixture
def page_config(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = runtime.config.source
    runtime.services["fhir"].close()
    runtime.close()
    monkeypatch.setenv("LAMWORKS_CONFIG", str(path))
    yield Path(str(path))
    from lamworks.ui import state

    state._runtime.clear()


def test_schedule_page_shows_a_week_grid(page_config: Path) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Clinic schedule"
    assert at.selectbox[0].value.startswith("Dr. ")
    grid = at.dataframe[0].value
    assert "time" in grid.columns and len(grid.columns) == 6
    cells = set(grid.drop(columns=["time"]).to_numpy().ravel()) - {""}
    assert cells <= {"free", "busy"} and cells
    at.selectbox[0].select(next(o for o in at.selectbox[0].options if "Okafor" in o)).run()
    assert not at.exception and "free of" in at.caption[0].value
