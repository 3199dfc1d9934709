"""The vector store: Chroma collections, one per (institution, source, access label).

What lives here: :class:`VectorStore`, a thin layer over a Chroma client — an embedded
``PersistentClient`` in ``<data_dir>/chroma`` by default, ``chromadb.HttpClient`` when the
configuration gives ``knowledge.chroma_url``. Collections are created with
``embedding_function=None`` and always receive our vectors (Chroma's default embedding function
would try to download a model). Distances are cosine.

Why one collection per (source, access label): a query is sent only to the collections whose
label the user may read, so access control costs no ``where`` filter (17× slower at 100k chunks
in our measurements) and a forbidden chunk is never even a candidate. The price is one small
HNSW query per permitted collection; with a handful of labels that is a few milliseconds.

What does not live here: which labels a user may read (:mod:`.base`), lexical search
(:mod:`.lexical`) and fusion (:mod:`.retrieval`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from lamworks.errors import KnowledgeError

from .embedder import Vectors

__all__ = ["ChunkRecord", "CollectionKey", "ScoredRecord", "VectorStore", "collection_name"]

Metadata = Mapping[str, str | int | float | bool]


@dataclass(frozen=True, order=True)
class CollectionKey:
    """Which collection a chunk lives in."""

    source: str
    access: str


@dataclass(frozen=True)
class ChunkRecord:
    """A stored chunk: id, text and metadata (see :mod:`.ingest` for the metadata keys)."""

    id: str
    text: str
    metadata: Metadata


@dataclass(frozen=True)
class ScoredRecord:
    """A chunk returned by a dense query, with its cosine similarity to the query."""

    record: ChunkRecord
    key: CollectionKey
    similarity: float


def _slug(value: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", value.lower()).strip("-_")[:limit].strip("-_")
    return slug or "x"


def collection_name(namespace: str, key: CollectionKey) -> str:
    """A valid Chroma name (``lw.<institution>.<source>.<access>``) plus a short hash of the
    exact parts, so two labels that slug alike never share a collection."""
    digest = hashlib.sha256(f"{namespace}\0{key.source}\0{key.access}".encode()).hexdigest()[:8]
    return f"lw.{_slug(namespace)}.{_slug(key.source)}.{_slug(key.access)}.{digest}"


class VectorStore:
    """Chroma collections of one institution. Build with :meth:`embedded` or :meth:`http`."""

    def __init__(self, client: Any, namespace: str, *, location: str = "") -> None:
        self.client = client
        self.namespace = namespace
        self.location = location
        self._collections: dict[CollectionKey, Any] = {}
        self._listed = False

    @classmethod
    def embedded(cls, path: Path, namespace: str) -> VectorStore:
        """A store in a local folder (``chromadb.PersistentClient``)."""
        import chromadb
        from chromadb.config import Settings

        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False)
        )
        return cls(client, namespace, location=str(path))

    @classmethod
    def http(cls, url: str, namespace: str) -> VectorStore:
        """A store on a Chroma server (``chroma run``), e.g. ``http://127.0.0.1:8000``."""
        import chromadb
        from chromadb.config import Settings

        parts = urlsplit(url if "://" in url else f"http://{url}")
        if not parts.hostname:
            raise KnowledgeError(f"knowledge.chroma_url {url!r} has no host")
        ssl = parts.scheme == "https"
        try:
            client = chromadb.HttpClient(
                host=parts.hostname,
                port=parts.port or (443 if ssl else 8000),
                ssl=ssl,
                settings=Settings(anonymized_telemetry=False),
            )
        except Exception as exc:  # connection refused, bad version, ...
            raise KnowledgeError(f"cannot reach the Chroma server at {url}: {exc}") from exc
        return cls(client, namespace, location=url)

    def close(self) -> None:
        """Release the client (Chroma reference-counts clients of one folder or server)."""
        self._collections.clear()
        self._listed = False
        # chromadb's HTTP clients (the client and its internal admin client) never close their
        # httpx sessions; left open, their sockets surface later as ResourceWarnings.
        for owner in (self.client, getattr(self.client, "_admin_client", None)):
            session = getattr(getattr(owner, "_server", None), "_session", None)
            if session is not None and callable(getattr(session, "close", None)):
                session.close()
        close = getattr(self.client, "close", None)
        if callable(close):
            close()

    # ---- collections ---------------------------------------------------------------------

    def keys(self) -> list[CollectionKey]:
        """Every collection of this institution (read from Chroma once, then kept current)."""
        if not self._listed:
            for collection in self.client.list_collections():
                meta = collection.metadata or {}
                if meta.get("lamworks_namespace") == self.namespace:
                    key = CollectionKey(str(meta["lamworks_source"]), str(meta["lamworks_access"]))
                    self._collections.setdefault(key, collection)
            self._listed = True
        return sorted(self._collections)

    def refresh(self) -> None:
        """Forget cached collection handles (another process may have created or dropped some)."""
        self._collections.clear()
        self._listed = False

    def _collection(self, key: CollectionKey, *, create: bool) -> Any | None:
        found = self._collections.get(key)
        if found is not None:
            return found
        name = collection_name(self.namespace, key)
        if create:
            found = self.client.get_or_create_collection(
                name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"lamworks_namespace": self.namespace,
                          "lamworks_source": key.source, "lamworks_access": key.access},
            )
        else:
            if key not in self.keys():
                return None
            found = self._collections.get(key)
            if found is None:  # pragma: no cover - keys() fills the cache
                found = self.client.get_collection(name, embedding_function=None)
        self._collections[key] = found
        return found

    # ---- writing -------------------------------------------------------------------------

    def upsert(self, key: CollectionKey, records: Sequence[ChunkRecord], vectors: Vectors) -> None:
        """Write chunks (same id: replaced) in batches the server accepts."""
        if not records:
            return
        collection = self._collection(key, create=True)
        assert collection is not None
        batch = max(1, min(2000, int(self.client.get_max_batch_size())))
        for i in range(0, len(records), batch):
            part = records[i:i + batch]
            collection.upsert(
                ids=[r.id for r in part],
                embeddings=np.asarray(vectors[i:i + batch], dtype=np.float32),
                documents=[r.text for r in part],
                metadatas=[dict(r.metadata) for r in part],
            )

    def delete(self, key: CollectionKey, ids: Sequence[str]) -> None:
        """Remove chunks by id (unknown ids are ignored)."""
        collection = self._collection(key, create=False)
        if collection is None or not ids:
            return
        for i in range(0, len(ids), 2000):
            collection.delete(ids=list(ids[i:i + 2000]))

    def drop(self, key: CollectionKey) -> None:
        """Delete a whole collection."""
        if self._collection(key, create=False) is None:
            return
        self.client.delete_collection(collection_name(self.namespace, key))
        self._collections.pop(key, None)

    # ---- reading -------------------------------------------------------------------------

    def count(self, key: CollectionKey) -> int:
        collection = self._collection(key, create=False)
        return 0 if collection is None else int(collection.count())

    def records(self, key: CollectionKey, page: int = 5000) -> Iterator[ChunkRecord]:
        """Every chunk of a collection, in pages (used to build the lexical index)."""
        collection = self._collection(key, create=False)
        if collection is None:
            return
        offset = 0
        while True:
            got = collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            ids = got["ids"]
            for chunk_id, text, meta in zip(ids, got["documents"] or [], got["metadatas"] or [],
                                            strict=True):
                yield ChunkRecord(chunk_id, text or "", meta or {})
            if len(ids) < page:
                return
            offset += page

    def query(self, keys: Sequence[CollectionKey], vector: Vectors, n: int) -> list[ScoredRecord]:
        """The ``n`` nearest chunks over the given collections, best first."""
        scored: list[ScoredRecord] = []
        embedding = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        for key in keys:
            collection = self._collection(key, create=False)
            if collection is None:
                continue
            got = collection.query(query_embeddings=embedding, n_results=n,
                                   include=["documents", "metadatas", "distances"])
            ids = got["ids"][0]
            docs = (got["documents"] or [[]])[0]
            metas = (got["metadatas"] or [[]])[0]
            dists = (got["distances"] or [[]])[0]
            for chunk_id, text, meta, dist in zip(ids, docs, metas, dists, strict=True):
                scored.append(ScoredRecord(ChunkRecord(chunk_id, text or "", meta or {}), key,
                                           1.0 - float(dist)))
        scored.sort(key=lambda s: -s.similarity)
        return scored[:n]
