"""Lexical (BM25) search over every chunk of an institution, with bm25s.

What lives here: :class:`LexicalIndex`, built in memory from the chunks stored in Chroma (title
and heading path included, as for the dense vectors), and the tokenizer it uses: lower-cased
words, English stop words removed, a light suffix stemmer (plurals, ``-ing``, ``-ed``) because
PyStemmer is not installed. Access control is a per-document weight mask (0 for chunks in
collections the user may not read), cached per set of permitted collections, so a forbidden chunk
never scores.

The index is a cache, not a store: :class:`~.base.KnowledgeBase` rebuilds it when the manifest's
generation number changes (after any ingest or drop, in any process).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .store import ChunkRecord, CollectionKey

__all__ = ["LexicalIndex", "LexicalMatch", "tokenize"]

_WORD = re.compile(r"\w\w+")
_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with what which who whom how do does i my me we our you "
    "your can".split()
)


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words removed, lightly stemmed."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


@dataclass(frozen=True)
class LexicalMatch:
    record: ChunkRecord
    key: CollectionKey
    score: float


class LexicalIndex:
    """BM25 over ``(collection, chunk, text to index)`` triples."""

    def __init__(self, entries: Sequence[tuple[CollectionKey, ChunkRecord, str]]) -> None:
        import bm25s  # imported here: bm25s pulls in scipy

        self._records = [record for _, record, _ in entries]
        self._keys = [key for key, _, _ in entries]
        self._key_ids = {key: i for i, key in enumerate(sorted(set(self._keys)))}
        self._doc_keys = np.array([self._key_ids[k] for k in self._keys], dtype=np.int32)
        self._masks: dict[frozenset[CollectionKey], npt.NDArray[np.float32]] = {}
        self._lock = threading.Lock()
        self._bm25 = bm25s.BM25()
        if entries:
            # an empty document would otherwise be dropped by some bm25s versions
            corpus = [tokenize(text) or ["\u2205"] for _, _, text in entries]
            self._bm25.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return len(self._records)

    def _mask(self, allowed: Collection[CollectionKey]) -> npt.NDArray[np.float32]:
        wanted = frozenset(allowed)
        with self._lock:
            mask = self._masks.get(wanted)
            if mask is None:
                ids = [self._key_ids[k] for k in wanted if k in self._key_ids]
                mask = np.isin(self._doc_keys, ids).astype(np.float32)
                self._masks[wanted] = mask
        return mask

    def search(self, query: str, allowed: Collection[CollectionKey], n: int) -> list[LexicalMatch]:
        """The ``n`` best BM25 matches among chunks of the ``allowed`` collections."""
        tokens = tokenize(query)
        if not tokens or not self._records:
            return []
        mask = self._mask(allowed)
        if not mask.any():
            return []
        k = min(n, len(self._records))
        docs, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, n_threads=0,
                                           weight_mask=mask)
        matches = []
        for doc, score in zip(docs[0], scores[0], strict=True):
            if score > 0:
                i = int(doc)
                matches.append(LexicalMatch(self._records[i], self._keys[i], float(score)))
        return matches
