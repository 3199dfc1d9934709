"""Hybrid retrieval: dense (Chroma) and BM25 (bm25s) candidates fused by reciprocal rank.

What lives here: :func:`search` and :class:`Hit`. A search

1. resolves the labels the caller may read (:meth:`KnowledgeBase.access_for`: a user's role,
   a role, explicit labels, or only ``public``);
2. picks the collections with those labels — one per (source, label), see :mod:`.store` — so a
   forbidden chunk is never a candidate and no slow ``where`` filter is needed;
3. embeds the query once and asks each permitted collection for its nearest chunks;
4. asks the BM25 index for the best lexical matches, masked to the same collections;
5. fuses both ranked lists with reciprocal rank fusion, ``score = Σ 1 / (RRF_K + rank)``,
   which needs no score calibration between cosine similarities and BM25 scores.

Every :class:`Hit` carries its citation fields, the three scores and ``flagged`` (the chunk
contains instruction-like text; it is data and is shown as such, see :mod:`.safety`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from lamworks.plan import Citation

from .base import KnowledgeBase
from .store import ChunkRecord, CollectionKey

__all__ = ["LEXICAL_WEIGHT", "RRF_K", "Hit", "SearchMode", "permitted_collections", "search"]

RRF_K = 10
"""The reciprocal-rank-fusion constant (Cormack et al. use 60; large k flattens the ranks).

Swept with :data:`LEXICAL_WEIGHT` on the 246-question QA set (bench/data/knowledge_qa.jsonl,
dense alone: recall@5 0.976, MRR 0.860): k in 10–20 with weights 0.15–0.25 is a plateau at
recall@5 0.976–0.980 and MRR 0.878–0.887; k = 60 lost recall (0.963 at every weight). The
centre of the plateau is used. Tuned on the same questions it is reported on: expect a little
less on new ones."""

LEXICAL_WEIGHT = 0.2
"""Weight of BM25 ranks in the fusion (dense ranks weigh 1); see :data:`RRF_K`."""

SearchMode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk: the text, where it came from, and how it scored."""

    id: str
    text: str
    source: str
    title: str
    section: str
    page: int | None
    path: str
    start: int
    end: int
    access: str
    flagged: bool
    """The chunk contains instruction-like text; show it as data, never act on it."""
    score: float
    """The fused (RRF) score; higher is better."""
    dense_score: float | None = None
    """Cosine similarity to the query, when the dense search found this chunk."""
    bm25_score: float | None = None
    """BM25 score, when the lexical search found this chunk."""

    def citation(self, snippet_chars: int = 280) -> Citation:
        """The :class:`lamworks.Citation` of this hit (snippet shortened at a word)."""
        snippet = self.text if len(self.text) <= snippet_chars else (
            self.text[:snippet_chars].rsplit(" ", 1)[0] + " …")
        return Citation(source=self.source, title=self.title, section=self.section,
                        page=self.page, snippet=snippet, score=round(self.score, 6))


def _hit(record: ChunkRecord, score: float, dense: float | None, bm25: float | None) -> Hit:
    meta = record.metadata
    page = meta.get("page")
    return Hit(
        id=record.id, text=record.text, source=str(meta.get("source", "")),
        title=str(meta.get("title", "")), section=str(meta.get("section", "")),
        page=int(page) if page is not None else None, path=str(meta.get("path", "")),
        start=int(meta.get("start", 0)), end=int(meta.get("end", 0)),
        access=str(meta.get("access", "")), flagged=bool(meta.get("flagged", False)),
        score=score, dense_score=dense, bm25_score=bm25,
    )


def permitted_collections(kb: KnowledgeBase, labels: Collection[str],
                          sources: Iterable[str] | None = None) -> list[CollectionKey]:
    """The collections a reader of ``labels`` may search (optionally only some sources)."""
    wanted = None if sources is None else set(sources)
    return [key for key in kb.store.keys()
            if key.access in labels and (wanted is None or key.source in wanted)]


def search(
    kb: KnowledgeBase,
    query: str,
    *,
    user: str | None = None,
    role: str | None = None,
    access: Iterable[str] | None = None,
    k: int = 5,
    sources: Iterable[str] | None = None,
    mode: SearchMode = "hybrid",
    candidates: int | None = None,
) -> list[Hit]:
    """The ``k`` best chunks for ``query`` that the caller may read (see the module docstring).

    ``user`` (a configured user), ``role`` or ``access`` (labels) decide what may be read;
    with none of them only ``public`` chunks are searched. ``mode`` is for evaluation.
    """
    labels = kb.access_for(user=user, role=role, access=access)
    if not query.strip() or k <= 0:
        return []
    lexical = kb.lexical_index()  # also notices collections changed by other processes
    keys = permitted_collections(kb, labels, sources)
    if not keys:
        return []
    n = candidates or max(4 * k, 20)
    dense = kb.store.query(keys, kb.embedder.embed_query(query), n) if mode != "bm25" else []
    lexical_hits = lexical.search(query, keys, n) if mode != "dense" else []

    fused: dict[str, float] = {}
    records: dict[str, ChunkRecord] = {}
    dense_scores: dict[str, float] = {}
    bm25_scores: dict[str, float] = {}
    for rank, scored in enumerate(dense, start=1):
        fused[scored.record.id] = fused.get(scored.record.id, 0.0) + 1.0 / (RRF_K + rank)
        records[scored.record.id] = scored.record
        dense_scores[scored.record.id] = scored.similarity
    for rank, match in enumerate(lexical_hits, start=1):
        fused[match.record.id] = (fused.get(match.record.id, 0.0)
                                  + LEXICAL_WEIGHT / (RRF_K + rank))
        records.setdefault(match.record.id, match.record)
        bm25_scores[match.record.id] = match.score
    ranked = sorted(fused, key=lambda i: (-fused[i], -dense_scores.get(i, -1.0)))[:k]
    return [_hit(records[i], fused[i], dense_scores.get(i), bm25_scores.get(i)) for i in ranked]
