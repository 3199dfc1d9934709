"""The web app: AppTest drives the pages' logic; a real server answers its health check."""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).parents[2]
APP = REPO / "ui" / "app.py"
PAGES = REPO / "ui" / "views"
# AppTest re-runs only the first page script of an st.navigation app (streamlit#9446), so the
# shell is tested on its first run and each page as its own script.


@pytest.fixture
def app_config(install_plugins: Callable[..., Path], write_config: Callable[..., Path],
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    install_plugins(sample="lamworks_sample")
    path = write_config()
    # alice (staff) holds every permission; bob (reader) only the defaults.
    path.write_text(path.read_text().replace("[roles.staff]\n",
                                             '[roles.staff]\npermissions = ["*"]\n', 1))
    monkeypatch.setenv("LAMWORKS_CONFIG", str(path))
    yield path
    from lamworks.ui import state

    state._runtime.clear()


def test_shell_renders_sidebar_and_default_page(app_config: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert at.sidebar.selectbox[0].label == "Acting as"
    assert "Role: **staff**" in at.sidebar.caption[0].value
    # The default page is the role's Home (page.home is granted by default).
    assert at.title[0].value == "Welcome, alice"


def test_chat_shows_a_card_and_confirms(app_config: Path) -> None:
    at = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=30).run()
    assert not at.exception
    at.chat_input[0].set_value("add a note text=from the browser").run()
    assert not at.exception
    text = " ".join(md.value for md in at.markdown)
    assert "**Waiting for you**" in text
    assert "sample.add_note" in " ".join(c.value for c in at.code)  # technical details
    confirm = next(b for b in at.button if b.label == "Add it")  # the tool's verb
    confirm.click().run()
    assert not at.exception
    text = " ".join(md.value for md in at.markdown)
    assert "**Done**" in text
    assert "Add it" not in [b.label for b in at.button]


def test_the_chosen_user_role_applies(app_config: Path) -> None:
    at = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=30)
    at.session_state["acting_user"] = "bob"
    at.run()
    at.chat_input[0].set_value("add a note text=hi").run()
    text = " ".join(md.value for md in at.markdown)
    assert "**Not done**" in text
    assert "user/Note.c" in " ".join(m.value for m in at.chat_message[-1].markdown)


def test_audit_page_verifies_the_chain(app_config: Path) -> None:
    chat = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=30).run()
    chat.chat_input[0].set_value("count my notes").run()
    at = AppTest.from_file(str(PAGES / "audit.py"), default_timeout=30).run()
    assert len(_column(at, "seq")) == 1
    # Times are the institution's (Europe/Paris: CET, or CEST in summer), labelled as such.
    assert _column(at, "time")[0].endswith((" CET", " CEST"))
    assert any("times in Europe/Paris" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Verify chain").click().run()
    assert at.success[0].value.startswith("OK: 1 rows")


def _column(at: AppTest, name: str) -> list[str]:
    """The values of column ``name`` in the page's first responsive table (lamworks.ui.responsive:
    an HTML table whose cells carry their column's name)."""
    body = at.get("html")[0].proto.body
    return [html.unescape(v) for v in re.findall(rf'data-label="{name}">([^<]*)<', body)]


def test_admin_page_lists_plugins_and_masks_config(app_config: Path) -> None:
    at = AppTest.from_file(str(PAGES / "admin.py"), default_timeout=30).run()
    assert not at.exception
    assert set(_column(at, "plugin")) >= {"core", "sample"}
    # Each plugin's status in words beside an icon, never an emoji alone.
    assert any(":material/check_circle:" in m.value and "Loaded" in m.value
               for m in at.markdown)
    assert [e.label for e in at.expander] == ["Effective configuration (secrets masked)"]


def test_a_role_without_permissions_sees_its_own_rows_and_no_admin(app_config: Path) -> None:
    for user in ("alice", "bob"):
        chat = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=30)
        chat.session_state["acting_user"] = user
        chat.run().chat_input[0].set_value("count my notes").run()
    at = AppTest.from_file(str(PAGES / "audit.py"), default_timeout=30)
    at.session_state["acting_user"] = "bob"
    at.run()
    assert not at.exception
    assert set(_column(at, "user")) == {"bob"}
    assert not [b for b in at.button if b.label == "Verify chain"]
    assert not at.get("download_button")
    admin = AppTest.from_file(str(PAGES / "admin.py"), default_timeout=30)
    admin.session_state["acting_user"] = "bob"
    admin.run()
    assert not admin.exception and not admin.get("html") and not admin.expander
    assert "don't have access" in admin.error[0].value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_server_answers_health_check(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "LAMWORKS_DATA_DIR": str(tmp_path / "data")}
    server = subprocess.Popen(
        [sys.executable, "-m", "lamworks.cli", "ui", "--config",
         str(REPO / "examples" / "lamworks.toml"), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        body = b""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as response:
                    body = response.read()
                    break
            except OSError:
                assert server.poll() is None, "the server exited"
                time.sleep(0.5)
        assert body == b"ok"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_an_unexpected_error_shows_a_reference_not_a_traceback(
    app_config: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from lamworks import Runtime

    def broken(self: Runtime, *args: object) -> None:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(Runtime, "handle", broken)
    at = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=30).run()
    at.chat_input[0].set_value("count my notes").run()
    assert not at.exception
    [message] = [e.value for e in at.error]
    assert "reference" in message and "internal detail" not in message
    reference = message.split("reference ")[1][:8]
    assert reference in caplog.text


def test_request_words_are_highlighted_in_the_card(app_config: Path) -> None:
    at = AppTest.from_file(str(PAGES / "chat.py"), default_timeout=30).run()
    at.chat_input[0].set_value("add a note text=water the plants").run()
    marked = [m.value for m in at.markdown if ":blue-background[" in m.value]
    assert marked and "water the plants]" in marked[0] and "*text*" in marked[0]


@pytest.mark.slow
def test_knowledge_page_ingests_lists_and_searches_by_role(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lamworks.ui import state

    rt = state.runtime()
    kb = rt.services["knowledge"].get()
    from lamworks.knowledge import ingest_path

    docs = app_config.parent / "docs"
    docs.mkdir()
    (docs / "staff.md").write_text("---\ntitle: Key safe\naccess: staff\n---\n# Key safe\n\n"
                                   "The key safe code is changed every Monday.\n")
    (docs / "hours.md").write_text("# Hours\n\nThe office opens at nine every weekday.\n")
    ingest_path(kb, docs, "handbook", "public")
    at = AppTest.from_file(str(PAGES / "knowledge.py"), default_timeout=60)
    at.session_state["acting_user"] = "bob"  # role "reader": public only
    at.run()
    assert not at.exception
    assert "handbook" in str(at.table[0].value)
    def search_box() -> Any:  # the only text input: bob's role may not upload
        return next(t for t in at.text_input if t.label == "Search the documents")

    search_box().set_value("key safe code").run()
    shown = " ".join(m.value for m in at.markdown)
    assert "Key safe" not in shown  # staff-only text never reaches this role
    search_box().set_value("when does the office open").run()
    assert "opens at nine" in " ".join(m.value for m in at.markdown)


def test_knowledge_page_offers_uploads_only_with_the_permission(app_config: Path) -> None:
    for user, offered in (("alice", True), ("bob", False)):
        at = AppTest.from_file(str(PAGES / "knowledge.py"), default_timeout=60)
        at.session_state["acting_user"] = user
        at.run()
        assert not at.exception
        labels = [e.label for e in at.expander]
        assert ("Add documents" in labels) is offered, (user, labels)
