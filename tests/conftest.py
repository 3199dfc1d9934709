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
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lamworks import InstitutionConfig, Runtime, load_config

TESTS = Path(__file__).parent
SAMPLE_PLUGINS = TESTS / "plugins"
REPO = TESTS.parent
COMMAND_GROUPS: dict[str, tuple[str, ...]] = {"lamworks_sample": ("notes",)}
"""The command groups each sample plugin's ``register_commands`` adds, declared in its entry
points (group ``lamworks.commands``) as a real plugin's pyproject would."""

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

[auth]
mode = "{auth}"
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
            groups = "".join(f"{group} = {module}\n" for group in COMMAND_GROUPS.get(module, ()))
            (dist / "entry_points.txt").write_text(
                f"[lamworks]\n{name} = {module}\n"
                + (f"\n[lamworks.commands]\n{groups}" if groups else ""))
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
              rate: int = 30, extra: str = "", auth: str = "demo") -> Path:
        # Demo mode by default: these tests pick users by name (the runtime, the CLI's --user,
        # the app's "Acting as"); sign-in itself is tested with auth="accounts".
        text = BASE_CONFIG.format(plugins=plugins, staff_confirm=staff_confirm, rate=rate,
                                  auth=auth)
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


# -- the demo institution: examples/lamworks.toml with the demo clinic --------------------------

DEMO_NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/Chicago"))
"""The demo clinic's clock in tests: a Tuesday morning; its schedule is generated around it."""


def _open_demo_clinic(data: Path) -> Runtime:
    from lamworks_healthcare import HealthcareSettings
    from lamworks_healthcare.clinic import load_demo_clinic
    from lamworks_healthcare.store import open_store

    config = load_config(REPO / "examples" / "lamworks.toml")
    config = config.model_copy(update={"data_dir": data})
    data.mkdir(parents=True, exist_ok=True)
    store = open_store(HealthcareSettings(**config.plugins.settings_for("healthcare")), data)
    load_demo_clinic(store, DEMO_NOW.date(), timezone=config.institution.timezone)
    store.close()
    return Runtime(config, clock=lambda: DEMO_NOW)


@pytest.fixture(scope="session")
def open_demo_clinic() -> Callable[[Path], Runtime]:
    """``open_demo_clinic(data_folder)``: a Runtime on the example institution (default planner,
    healthcare and education plugins) whose data folder holds the demo clinic, generated for
    :data:`DEMO_NOW`, at that clock. For module-scoped fixtures; close it yourself."""
    return _open_demo_clinic


@pytest.fixture
def demo_clinic(tmp_path: Path) -> Iterator[Runtime]:
    """A Runtime on the example institution with the demo clinic (see :func:`open_demo_clinic`)."""
    rt = _open_demo_clinic(tmp_path / "data")
    yield rt
    rt.close()
