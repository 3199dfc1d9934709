"""Fixtures for the MCP tests: the example institution in a temp folder, and the SDK's own
stdio client talking to real subprocesses (no mocks)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import StdioServerParameters

REPO = Path(__file__).parents[2]
LAMWORKS = [sys.executable, "-m", "lamworks.cli"]


def clinic_config(folder: Path, extra: str = "") -> Path:
    """examples/lamworks.toml with its data folder in ``folder`` (the healthcare plugin loads
    the demo clinic into the empty store at start-up) and ``extra`` appended."""
    text = (REPO / "examples" / "lamworks.toml").read_text(encoding="utf-8")
    text = text.replace('data_dir = "../.lamworks-demo"', f'data_dir = "{folder / "data"}"', 1)
    path = folder / "lamworks.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def lamworks_server(config: Path, *args: str) -> StdioServerParameters:
    """``lamworks mcp serve --config CONFIG ARGS`` as the SDK's stdio server parameters."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH", "LANG")}
    env.update({"HF_HUB_OFFLINE": "1", "OPENBLAS_NUM_THREADS": "1"})
    return StdioServerParameters(command=LAMWORKS[0],
                                 args=[*LAMWORKS[1:], "mcp", "serve", "--config", str(config),
                                       *args], env=env)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example institution's configuration, its data in a fresh temp folder."""
    return clinic_config(tmp_path_factory.mktemp("mcp-clinic"))
