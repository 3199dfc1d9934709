"""The web app's tests run as `lamworks ui` serves it: Streamlit listening on loopback (demo
mode refuses any other address, and AppTest leaves ``server.address`` unset)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit import config as streamlit_config


@pytest.fixture(autouse=True)
def served_on_loopback() -> Iterator[None]:
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "127.0.0.1")
    yield
    streamlit_config.set_option("server.address", before)
