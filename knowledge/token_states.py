"""Token states: one encoder pass, reused for a text that differs from it by a few words.

The planner routes a request twice when the plugins recognise its particulars: first as it is,
then with what the extractors found made generic ("im confused about the carbon cycle" →
"im confused about a topic"). Encoding the second text again doubles the cost of a plan. With a
mean-pooling model the sentence vector is the mean of the token states of one pass, so the
second text's vector can be built from the first pass instead:

- tokens both texts share keep their states from the first pass (their context still saw the
  old words: the vector is close to, not equal to, a fresh encoding);
- tokens only the first text has are left out;
- tokens only the second text has take their states from an encoding of that phrase alone
  ("a topic", "the doctor"), kept in memory: generic words are few and recur.

Example::

    basis = encode_tokens(model, "im confused about the carbon cycle")
    vector = edited_vector(model, basis, "im confused about a topic", phrases={})

Only models whose sentence vector is the mean of the token states, normalised (the default
all-MiniLM-L6-v2 is), qualify: :func:`pools_by_mean` says which.
"""

from __future__ import annotations

import difflib
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["TokenStates", "edited_vector", "encode_tokens", "pools_by_mean"]

Vectors = npt.NDArray[np.float32]
MAX_PHRASES = 2048
"""Phrase encodings kept per embedder; past this the memory starts afresh."""


@dataclass(frozen=True)
class TokenStates:
    """One text's encoder pass: its token ids, their final states (special tokens included)
    and the sentence vector they pool to."""

    ids: tuple[int, ...]
    states: Vectors
    vector: Vectors


def pools_by_mean(model: SentenceTransformer) -> bool:
    """Whether ``model`` is encoder → mean pooling → normalisation, and nothing else."""
    modules: list[Any] = list(model)
    if len(modules) != 3 or type(modules[2]).__name__ != "Normalize":
        return False
    config: dict[str, Any] = modules[1].get_config_dict()
    mode = config.get("pooling_mode")
    if mode is None:  # sentence-transformers before 5 spelt each mode as its own flag
        modes = [k for k, v in config.items() if k.startswith("pooling_mode_") and v is True]
        mode = "mean" if modes == ["pooling_mode_mean_tokens"] else None
    return bool(mode == "mean")


def encode_tokens(model: SentenceTransformer, text: str) -> TokenStates:
    """One pass over ``text``: token ids, token states and the unit sentence vector."""
    encoded: Any = model.encode([text], output_value=None, show_progress_bar=False)
    out: dict[str, Any] = encoded[0]
    states = out["token_embeddings"].detach().float().cpu().numpy()
    vector = out["sentence_embedding"].detach().float().cpu().numpy()
    ids = tuple(int(i) for i in out["input_ids"].tolist())
    return TokenStates(ids=ids, states=np.ascontiguousarray(states, dtype=np.float32),
                       vector=np.ascontiguousarray(vector, dtype=np.float32))


def edited_vector(model: SentenceTransformer, basis: TokenStates, text: str,
                  phrases: MutableMapping[tuple[int, ...], Vectors | None]) -> Vectors | None:
    """``text``'s sentence vector built from ``basis`` (see the module's docstring), or None
    when a new phrase's tokens change when encoded alone (then encode ``text`` itself).

    ``phrases``: token ids → their states encoded alone; filled as new phrases are met."""
    ids = tuple(int(i) for i in model.tokenizer(text, truncation=True,
                                                max_length=model.max_seq_length)["input_ids"])
    if ids == basis.ids:
        return basis.vector
    rows: list[Vectors] = []
    matcher = difflib.SequenceMatcher(None, basis.ids, ids, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            rows.append(basis.states[a0:a1])
            continue
        if b1 == b0:  # only the first text had these tokens
            continue
        new = ids[b0:b1]
        if new not in phrases:
            if len(phrases) >= MAX_PHRASES:
                phrases.clear()
            alone = encode_tokens(model, model.tokenizer.decode(list(new)))
            # [CLS] phrase [SEP]: usable only when the phrase tokenises the same alone
            phrases[new] = alone.states[1:-1] if alone.ids[1:-1] == new else None
        states = phrases[new]
        if states is None:
            return None
        rows.append(states)
    pooled = np.concatenate(rows).mean(axis=0)
    norm = float(np.linalg.norm(pooled))
    if norm == 0.0:
        return None
    vector: Vectors = (pooled / norm).astype(np.float32)
    return vector
