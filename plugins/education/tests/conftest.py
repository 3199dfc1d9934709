"""Fixtures for the education plugin's tests: one real embedding model for the whole session,
an institution config in a tmp folder with this plugin installed, and a runtime on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamworks import Runtime, load_config
from lamworks_education.embedding import SentenceEmbedder, default_embedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CONFIG = """
data_dir = "data"

[institution]
name = "Test Academy"
timezone = "America/Chicago"
k12 = {k12}

[plugins]
allow = ["core", "education"]

[plugins.education]
default_rubric = "argumentative"
demo_grades = true
use_embeddings = false

[roles.teacher]
scopes = ["user/Essay.crs", "user/Grade.rs", "user/Course.rs", "user/StudyPlan.rs"]

[roles.student]
scopes = ["patient/Essay.crs", "patient/Grade.rs", "user/Course.rs", "patient/StudyPlan.cruds"]
confirm = ["write", "irreversible"]

[users.teacher]
role = "teacher"

[users.student]
role = "student"
links = {{ student = "Student/stu-0001" }}
"""


@pytest.fixture(scope="session")
def embedder() -> SentenceEmbedder:
    """The real all-MiniLM-L6-v2, loaded once for the session."""
    return default_embedder()


def make_config(tmp_path: Path, *, k12: bool = False) -> Path:
    path = tmp_path / "lamworks.toml"
    path.write_text(CONFIG.format(k12=str(k12).lower()))
    return path


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(load_config(make_config(tmp_path)))
    yield rt
    rt.close()


@pytest.fixture
def config_factory():  # noqa: ANN201 - returns make_config
    """``config_factory(folder, k12=False)`` writes a config and returns its path."""
    return make_config
