"""The Essay feedback page, driven by Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

import lamworks_education

PAGE = Path(lamworks_education.__file__).parent / "ui_essay.py"
ESSAY = ("Schools should start later because teenagers need more sleep. In my opinion, a later "
         "start would help students learn. For example, tired students forget what they read. "
         "However, some parents worry about their work schedules. In conclusion, a later start "
         "is worth it because rested students learn more and feel better every single day.")


def test_paste_and_get_feedback(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.run()
    assert not app.exception
    app.text_area[0].input(ESSAY)
    app.button[0].click().run()
    assert not app.exception
    assert app.metric[0].label == "Overall"
    assert any("Next steps" in h.value for h in app.subheader)
    assert len(app.expander) == 5


def test_empty_essay_shows_a_warning() -> None:
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.run()
    app.button[0].click().run()
    assert app.warning and "empty" in app.warning[0].value
