"""The knowledge base against a real Chroma server (``chroma run``) over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamworks.knowledge import Embedder, KnowledgeBase, answer, ingest_path, search

from .conftest import ROLES, doc, write

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.fail("the chroma CLI is missing beside this Python: `make test` installs chromadb")
    port = free_port()
    log = open(tmp_path / "chroma.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("chroma run did not start:\n"
                                + (tmp_path / "chroma.log").read_text(errors="replace"))
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_ingest_and_query_over_http(
    chroma_server: str, tmp_path: Path, embedder: Embedder
) -> None:
    kb = KnowledgeBase.open(tmp_path / "data", chroma_url=chroma_server, embedder=embedder,
                            roles=ROLES)
    try:
        folder = tmp_path / "docs"
        write(folder, "hours.md", doc("Opening hours", "public",
              "# Opening hours\n\nThe clinic opens at 8:00 a.m. on weekdays."))
        write(folder, "roster.md", doc("On-call roster", "clinician",
              "# On-call roster\n\nDr. Patel covers nights during the first week of March."))
        report = ingest_path(kb, folder, "clinic")
        assert report.added == ["hours.md", "roster.md"]
        assert kb.store.location == chroma_server
        hits = search(kb, "when does the clinic open", role="frontdesk")
        assert hits[0].title == "Opening hours" and all(h.access != "clinician" for h in hits)
        assert "Patel" in search(kb, "who covers nights", role="clinician")[0].text
        assert answer(kb, "What time does the clinic open?").found
        assert ingest_path(kb, folder, "clinic").chunks_embedded == 0
    finally:
        kb.close()
