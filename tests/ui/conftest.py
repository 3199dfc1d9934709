"""The web app's tests run as `lamworks ui` serves it: Streamlit listening on loopback (demo
mode refuses any other address, and AppTest leaves ``server.address`` unset)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from streamlit import config as streamlit_config


@pytest.fixture(autouse=True)
def served_on_loopback() -> Iterator[None]:
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "127.0.0.1")
    yield
    streamlit_config.set_option("server.address", before)


# -- real servers and a real browser, for the browser tests -----------------------------------

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(config: Path, log_path: Path, *, env: Mapping[str, str] | None = None,
             port: int | None = None) -> Iterator[str]:
    """``lamworks ui`` on ``config`` at a loopback port, until it answers its health check;
    the URL; the server stopped afterwards (its output in ``log_path``)."""
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "lamworks.cli", "ui", "--config", str(config), "--port",
             str(port)], env=dict(os.environ if env is None else env), stdout=log,
            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"lamworks ui did not start:\n{log_path.read_text()}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


@pytest.fixture(scope="session")
def serve_ui() -> Callable[..., AbstractContextManager[str]]:
    """``with serve_ui(config, log_path, env=..., port=...) as url:`` a real ``lamworks ui``."""
    return _serving


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (nothing downloaded; `make test` installs it)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()
