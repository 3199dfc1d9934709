"""Conversations that persist (issue 15, item 5) and the live status (item 3), under AppTest: the
Chat page with the sample plugin on real SQLite stores. A new AppTest is a new browser tab (an
empty ``st.session_state``), so what it draws came from the session store, as after a reload.
The real browser's reload is in ``test_chat_browser.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lamworks import Runtime

REPO = Path(__file__).parents[2]
CHAT = REPO / "ui" / "views" / "chat.py"


@pytest.fixture
def rt(install_plugins: Callable[..., Path], write_config: Callable[..., Path],
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """The pages' runtime on the sample plugin (alice: staff, bob: reader)."""
    install_plugins(sample="lamworks_sample")
    monkeypatch.setenv("LAMWORKS_CONFIG", str(write_config()))
    from lamworks.ui import state

    state._runtime.clear()
    yield state.runtime()
    state._runtime.clear()


def _tab(user: str, conversation: str | None = None) -> AppTest:
    """A new browser tab on the Chat page as ``user``, its address carrying ``conversation``."""
    at = AppTest.from_file(str(CHAT), default_timeout=30)
    at.session_state["acting_user"] = user
    if conversation is not None:
        at.query_params["c"] = conversation
    return at.run()


def _said(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def _user_lines(at: AppTest) -> list[str]:
    return [m.markdown[0].value for m in at.chat_message if m.name == "user"]


def test_a_conversation_comes_back_in_a_new_tab_and_new_chat_lists_it(rt: Runtime) -> None:
    at = _tab("alice")
    at.chat_input[0].set_value("count my notes").run()
    at.chat_input[0].set_value("add a note text=keep the receipt").run()
    assert not at.exception
    cid = at.query_params["c"]
    assert cid and "Add it" in [b.label for b in at.button]

    again = _tab("alice", cid)  # a reload: the address, nothing in session state
    assert not again.exception
    assert _user_lines(again) == ["count my notes", "add a note text=keep the receipt"]
    assert "**Waiting for you**" in _said(again)
    next(b for b in again.button if b.label == "Add it").click().run()  # still confirmable
    assert "**Done**" in _said(again) and "Add it" not in [b.label for b in again.button]

    next(b for b in again.button if b.label == "New chat").click().run()
    fresh = again.query_params["c"]
    assert fresh != cid and _user_lines(again) == []
    earlier = [b for b in again.sidebar.button if b.key == f"chat-{cid}"]
    assert len(earlier) == 1 and earlier[0].label.startswith("count my notes")
    assert "CET" in earlier[0].label or "CEST" in earlier[0].label  # the institution's zone
    earlier[0].click().run()
    assert again.query_params["c"] == cid
    assert _user_lines(again)[:2] == ["count my notes", "add a note text=keep the receipt"]


def test_another_users_conversation_shows_nothing_and_is_audited(rt: Runtime) -> None:
    at = _tab("alice")
    at.chat_input[0].set_value("add a note text=only for alice").run()
    cid = at.query_params["c"]

    bob = _tab("bob", cid)
    assert not bob.exception
    assert "only for alice" not in _said(bob) and _user_lines(bob) == []
    assert "not available" in bob.info[0].value
    assert not [b for b in bob.sidebar.button if b.key == f"chat-{cid}"]
    bob.run()  # a rerun of the same tab is not a second attempt
    refused = [e for e in rt.audit.entries() if e.event == "session.refused"]
    assert [(e.actor, e.session_id, e.outcome) for e in refused] == [("bob", cid, "denied")]
    assert "only for alice" not in str(refused[0].detail)
    assert len(rt.sessions.transcript(cid, "alice")) == 1  # alice's own is untouched


def test_the_status_follows_the_runtimes_stages(rt: Runtime) -> None:
    def script() -> None:
        from lamworks.ui.progress import run_turn
        from lamworks.ui.state import runtime

        kept = []
        run_turn("add a note text=status lines",
                 lambda on_stage: runtime().handle("p1", "alice", "add a note text=status lines",
                                                   on_stage=on_stage), kept.append)
        assert len(kept) == 1

    at = AppTest.from_function(script, default_timeout=30).run()
    assert not at.exception
    status = at.status[0]
    assert status.label == "Waiting for you"
    lines = [m.value for m in status.markdown]
    assert lines[:3] == ["Planning…", "Checking policies…", "Waiting for you"]
    assert lines[3].startswith("Checked ")
