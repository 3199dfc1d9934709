"""Shared fixtures: institution configs in tmp folders and sample plugins installed for real.

Sample plugins get a genuine entry point: a ``*.dist-info`` folder with ``entry_points.txt`` on
``sys.path`` (and on ``PYTHONPATH`` for subprocesses), so discovery runs through
``importlib.metadata`` exactly as for a pip-installed distribution.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lamworks import InstitutionConfig, Runtime, load_config

TESTS = Path(__file__).parent
SAMPLE_PLUGINS = TESTS / "plugins"
REPO = TESTS.parent

BASE_CONFIG = """
data_dir = "data"
planner = "keyword"   # core tests: deterministic and model-free; the planner has its own tests

[institution]
name = "Test Institute"
timezone = "Europe/Paris"

[plugins]
{plugins}

[roles.staff]
scopes = ["user/*.cruds"]
confirm = {staff_confirm}
rate_limit_per_minute = {rate}

[roles.reader]
scopes = ["user/Note.rs", "user/Counter.r"]

[users.alice]
role = "staff"

[users.bob]
role = "reader"
"""


@pytest.fixture
def install_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Install sample plugins from tests/plugins as entry points: ``install_plugins(sample=...)``.

    Returns the folder to put on ``PYTHONPATH`` for subprocesses.
    """
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    monkeypatch.syspath_prepend(str(SAMPLE_PLUGINS))
    monkeypatch.syspath_prepend(str(site))

    def install(**plugins: str) -> Path:
        for name, module in plugins.items():
            dist = site / f"lamworks_test_{name}-1.0.dist-info"
            dist.mkdir(exist_ok=True)
            (dist / "METADATA").write_text(
                f"Metadata-Version: 2.1\nName: lamworks-test-{name}\nVersion: 1.0\n"
            )
            (dist / "entry_points.txt").write_text(f"[lamworks]\n{name} = {module}\n")
        monkeypatch.setenv(
            "PYTHONPATH", os.pathsep.join([str(site), str(SAMPLE_PLUGINS),
                                           os.environ.get("PYTHONPATH", "")])
        )
        return site

    yield install
    for module in [m for m in sys.modules if m.startswith("lamworks_") and "test" not in m]:
        if module.split(".")[0] in {"lamworks_sample", "lamworks_counter", "lamworks_broken_hook",
                                    "lamworks_broken_import"}:
            del sys.modules[module]


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a lamworks.toml into tmp_path; keyword arguments fill the template."""

    def write(*, plugins: str = 'allow = ["sample"]', staff_confirm: str = '["write"]',
              rate: int = 30, extra: str = "") -> Path:
        text = BASE_CONFIG.format(plugins=plugins, staff_confirm=staff_confirm, rate=rate)
        path = tmp_path / "lamworks.toml"
        path.write_text(textwrap.dedent(text) + textwrap.dedent(extra), encoding="utf-8")
        return path

    return write


@pytest.fixture
def sample_config(install_plugins: Callable[..., Path],
                  write_config: Callable[..., Path]) -> InstitutionConfig:
    install_plugins(sample="lamworks_sample", counter="lamworks_counter")
    return load_config(write_config(plugins='allow = ["sample", "counter"]'))


@pytest.fixture
def runtime(sample_config: InstitutionConfig) -> Iterator[Runtime]:
    rt = Runtime(sample_config)
    yield rt
    rt.close()
