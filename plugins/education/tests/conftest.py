"""Fixtures for the education plugin's tests: one real embedding model for the whole session,
an institution config in a tmp folder with this plugin installed, a runtime on it, and that
runtime's knowledge index with the course material ingested (real Chroma, real vectors)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamworks import Runtime, load_config
from lamworks.knowledge import KnowledgeBase, ingest_path, ingest_sources
from lamworks_education import HERE
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
{education}

[roles.teacher]
scopes = ["user/Essay.crs", "user/Grade.rs", "user/Course.rs", "user/StudyPlan.rs"]
access = ["public", "teacher"]

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


COURSE = HERE / "knowledge" / "course"
ANSWER_KEY = HERE / "knowledge" / "policies" / "answer-key-unit3-quiz.md"
"""A teacher-only document (front matter ``access: teacher``) of the plugin's own."""


def make_config(tmp_path: Path, *, k12: bool = False, education: str = "") -> Path:
    """A config in ``tmp_path``; ``education`` adds lines to ``[plugins.education]``."""
    path = tmp_path / "lamworks.toml"
    path.write_text(CONFIG.format(k12=str(k12).lower(), education=education))
    return path


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(load_config(make_config(tmp_path)))
    yield rt
    rt.close()


@pytest.fixture
def config_factory():  # noqa: ANN201 - returns make_config
    """``config_factory(folder, k12=False, education="")`` writes a config, returns its path."""
    return make_config


@pytest.fixture(scope="session")
def vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedding cache with the vectors of the course material and of the answer key,
    embedded once per session by the real model: ingesting them for a test embeds nothing."""
    folder = tmp_path_factory.mktemp("vectors")
    kb = KnowledgeBase.open(folder)
    try:
        ingest_path(kb, COURSE, "course-material")
        ingest_path(kb, ANSWER_KEY, "course-keys")
    finally:
        kb.close()
    return folder / "embedding-cache.sqlite"


def index_course(rt: Runtime, vector_cache: Path, *, answer_key: bool = False) -> KnowledgeBase:
    """What ``lamworks kb sync`` does for this plugin's course material, on ``rt``'s data
    folder (plus the answer key as the source ``course-keys`` when asked)."""
    rt.config.data_dir.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(vector_cache)
    target = sqlite3.connect(rt.config.data_dir / "embedding-cache.sqlite")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    kb: KnowledgeBase = rt.services["knowledge"].get()
    ingest_sources(kb, [rt.plugins.knowledge_sources["course-material"]])
    if answer_key:
        ingest_path(kb, ANSWER_KEY, "course-keys")
    return kb


@pytest.fixture
def course_index(runtime: Runtime, vector_cache: Path) -> Iterator[KnowledgeBase]:
    """The runtime's knowledge base with the plugin's course material ingested."""
    kb = index_course(runtime, vector_cache)
    yield kb
    kb.close()
