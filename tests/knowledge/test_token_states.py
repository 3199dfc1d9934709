"""One encoder pass reused for a variant of the same text (lamworks.knowledge.token_states)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lamworks.knowledge import Embedder
from lamworks.knowledge.token_states import edited_vector, encode_tokens, pools_by_mean


def test_the_sentence_vector_is_the_mean_of_the_token_states(embedder: Embedder) -> None:
    states = encode_tokens(embedder.model, "move Lina Marsh to Monday afternoon")
    pooled = states.states.mean(axis=0)
    assert np.allclose(pooled / np.linalg.norm(pooled), states.vector, atol=1e-5)
    assert np.allclose(states.vector, embedder.encode(["move Lina Marsh to Monday afternoon"])[0],
                       atol=1e-5)


def test_the_same_text_reuses_the_pass_exactly(embedder: Embedder) -> None:
    basis = encode_tokens(embedder.model, "quiz me on food webs")
    assert edited_vector(embedder.model, basis, "quiz me on food webs", {}) is basis.vector


def test_a_variant_is_nearer_its_own_encoding_than_the_first_text_is(embedder: Embedder) -> None:
    pairs = [("move Lina Marsh to Monday", "move someone to Monday"),
             ("explain the water cycle slowly please", "explain a topic slowly please"),
             ("can I see Dr Okafor on Tuesday", "can I see the doctor on Tuesday")]
    for first, variant in pairs:
        basis = encode_tokens(embedder.model, first)
        built = edited_vector(embedder.model, basis, variant, {})
        assert built is not None
        fresh = embedder.encode([variant])[0]
        assert abs(float(np.linalg.norm(built)) - 1.0) < 1e-5
        assert float(built @ fresh) > float(basis.vector @ fresh), (first, variant)


def test_a_new_phrase_is_encoded_once(embedder: Embedder, monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    phrases: dict[tuple[int, ...], Any] = {}
    model = embedder.model
    first = encode_tokens(model, "book Ivo Brandt for Friday")
    edited_vector(model, first, "book someone for Friday", phrases)
    assert len(phrases) == 1
    passes: list[list[str]] = []
    real = type(model).encode

    def counting(self: Any, texts: Any, *args: Any, **kwargs: Any) -> Any:
        passes.append(list(texts))
        return real(self, texts, *args, **kwargs)

    monkeypatch.setattr(type(model), "encode", counting)
    second = encode_tokens(model, "cancel Mara Holt on Monday")
    assert passes == [["cancel Mara Holt on Monday"]]
    built = edited_vector(model, second, "cancel someone on Monday", phrases)
    assert built is not None and passes == [["cancel Mara Holt on Monday"]]


def test_only_mean_pooling_models_qualify(embedder: Embedder) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling

    model = embedder.model
    assert pools_by_mean(model)
    by_cls = SentenceTransformer(modules=[model[0], Pooling(384, pooling_mode="cls"), model[2]])
    assert not pools_by_mean(by_cls)
