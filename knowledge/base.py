"""The knowledge base object: embedder + vector store + manifest + lexical index, and access.

What lives here: :class:`KnowledgeBase`, the one object the CLI, the UI and the runtime hold
(build it with :meth:`KnowledgeBase.from_config`; in Streamlit keep it in ``st.cache_resource``),
and the mapping from a user or role to the access labels they may read. The functions that use
it live in :mod:`.ingest`, :mod:`.retrieval` and :mod:`.answers`.

Files in the data folder: ``chroma/`` (embedded Chroma, unless ``knowledge.chroma_url`` is set),
``knowledge.sqlite`` (the manifest) and ``embedding-cache.sqlite`` (vectors by text hash).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lamworks.errors import KnowledgeError

from .chunking import ChunkingOptions, with_context
from .embedder import Embedder, EmbeddingCache
from .lexical import LexicalIndex
from .limits import IngestLimits
from .manifest import Manifest
from .store import VectorStore

if TYPE_CHECKING:
    from lamworks.config import InstitutionConfig

__all__ = ["DEFAULT_MAX_FILE_BYTES", "PUBLIC", "KnowledgeBase"]

DEFAULT_MAX_FILE_BYTES = IngestLimits().max_file_bytes
"""Documents larger than this (20 MiB) are refused with a message; the rest of a folder goes on
(``limits.ingest_max_file_bytes``)."""

PUBLIC = "public"
"""The access label everyone may read, and the only one an anonymous search sees."""


class KnowledgeBase:
    """Everything needed to ingest, search and answer for one institution.

    Example::

        kb = KnowledgeBase.from_config(load_config("lamworks.toml"))
        ingest_path(kb, Path("policies"), source="policies", access="staff")
        hits = search(kb, "late submission penalty", user="teacher")
    """

    def __init__(
        self,
        *,
        store: VectorStore,
        embedder: Embedder,
        manifest: Manifest,
        roles: Mapping[str, Sequence[str]] | None = None,
        users: Mapping[str, str] | None = None,
        max_file_bytes: int | None = None,
        chunking: ChunkingOptions | None = None,
        limits: IngestLimits | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.manifest = manifest
        self.roles = {name: tuple(labels) for name, labels in (roles or {}).items()}
        # Kept, not copied: a live table (lamworks.accounts.UserRoles) sees accounts added later.
        self.users: Mapping[str, str] = users if users is not None else {}
        self.limits = limits or IngestLimits()
        """What one ingestion may read: sizes, unpacked archives, time (``[limits]``)."""
        if max_file_bytes is not None:
            self.limits = replace(self.limits, max_file_bytes=max_file_bytes)
        self.chunking = chunking or ChunkingOptions()
        self._lexical: LexicalIndex | None = None
        self._lexical_generation = -1
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        institution: str = "default",
        chroma_url: str | None = None,
        embedding_model: str | None = None,
        embedder: Embedder | None = None,
        roles: Mapping[str, Sequence[str]] | None = None,
        users: Mapping[str, str] | None = None,
        max_file_bytes: int | None = None,
        chunking: ChunkingOptions | None = None,
        limits: IngestLimits | None = None,
    ) -> KnowledgeBase:
        """A knowledge base in ``data_dir`` without a configuration file (tests, benchmarks).

        ``embedder`` (optional) lends its model and settings; the vector cache is always this
        data folder's ``embedding-cache.sqlite``.
        """
        cache = EmbeddingCache(data_dir / "embedding-cache.sqlite")
        embedder = embedder.with_cache(cache) if embedder else Embedder(embedding_model,
                                                                        cache=cache)
        store = (VectorStore.http(chroma_url, institution) if chroma_url
                 else VectorStore.embedded(data_dir / "chroma", institution))
        return cls(store=store, embedder=embedder, manifest=Manifest(data_dir / "knowledge.sqlite"),
                   roles=roles, users=users, max_file_bytes=max_file_bytes, chunking=chunking,
                   limits=limits)

    @classmethod
    def from_config(
        cls, config: InstitutionConfig, *, embedder: Embedder | None = None,
        users: Mapping[str, str] | None = None,
    ) -> KnowledgeBase:
        """The institution's knowledge base: data folder, Chroma URL, model, roles and users
        (``users``: username -> role; default: ``[users]`` of the configuration; the runtime
        passes :class:`lamworks.accounts.UserRoles`, which knows accounts too)."""
        return cls.open(
            config.data_dir,
            institution=config.institution.name,
            chroma_url=config.knowledge.chroma_url,
            embedding_model=config.knowledge.embedding_model,
            embedder=embedder,
            roles={name: role.access for name, role in config.roles.items()},
            users=users if users is not None else {
                name: user.role for name, user in config.users.items()},
            limits=IngestLimits.from_config(config.limits),
        )

    @property
    def max_file_bytes(self) -> int:
        """The largest document file ingested (``limits.max_file_bytes``)."""
        return self.limits.max_file_bytes

    # ---- access --------------------------------------------------------------------------

    def access_for(
        self,
        *,
        user: str | None = None,
        role: str | None = None,
        access: Iterable[str] | None = None,
    ) -> tuple[str, ...]:
        """The labels a search may read: ``access`` if given, else the role's (the user's role
        when a user is named), else only ``public``. Unknown users and roles are errors."""
        if access is not None:
            return tuple(dict.fromkeys(access))
        if user is not None:
            if user not in self.users:
                raise KnowledgeError(f"unknown user {user!r}: not in [users] of the configuration"
                                     " nor an enabled account")
            role = self.users[user]
        if role is not None:
            if role not in self.roles:
                raise KnowledgeError(f"unknown role {role!r}: not in [roles] of the configuration")
            return self.roles[role]
        return (PUBLIC,)

    # ---- lexical index -------------------------------------------------------------------

    def lexical_index(self) -> LexicalIndex:
        """The BM25 index, rebuilt when any process has changed the collections since."""
        generation = self.manifest.generation()
        with self._lock:
            if self._lexical is None or generation != self._lexical_generation:
                self.store.refresh()
                entries = []
                for key in self.store.keys():
                    for record in self.store.records(key):
                        meta = record.metadata
                        text = with_context(str(meta.get("title", "")),
                                            str(meta.get("section", "")), record.text)
                        entries.append((key, record, text))
                self._lexical = LexicalIndex(entries)
                self._lexical_generation = generation
            return self._lexical

    def invalidate(self) -> None:
        """Note a change to the collections (every process sees it through the manifest)."""
        self.manifest.bump()

    def close(self) -> None:
        """Close the SQLite files and release the Chroma client."""
        self.manifest.close()
        self.store.close()
        if self.embedder.cache is not None:
            self.embedder.cache.close()
