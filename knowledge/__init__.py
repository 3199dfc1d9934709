"""The knowledge layer (``lamworks.knowledge``): embedder, vector store, ingestion, retrieval.

Plugins declare folders of documents with :class:`lamworks.KnowledgeSource`; this package turns
them into cited, access-controlled search results and extractive answers::

    from lamworks.knowledge import KnowledgeBase, answer, ingest_sources, search

    kb = KnowledgeBase.from_config(config)
    ingest_sources(kb, [*pm.knowledge_sources.values(), *config.knowledge.paths])
    hits = search(kb, "late submission penalty", user="teacher", k=5)
    reply = answer(kb, "How late can I hand in an essay?", user="student")

Modules: :mod:`.embedder` (model and vector cache), :mod:`.store` (Chroma, one collection per
source and access label), :mod:`.loaders` and :mod:`.chunking` (documents to chunks),
:mod:`.manifest` (what was ingested), :mod:`.ingest` (incremental ingestion), :mod:`.lexical`
(BM25), :mod:`.retrieval` (hybrid search, access control), :mod:`.answers` (extractive answers),
:mod:`.safety` (instruction-like text is flagged, never followed).

Importing this package is cheap: sentence-transformers, chromadb, bm25s, pypdf and python-docx
are imported on first use.
"""

from __future__ import annotations

from .answers import (
    ANSWER_THRESHOLD,
    NOT_FOUND,
    Answer,
    Answerer,
    AnswerSentence,
    ExtractiveAnswerer,
    answer,
)
from .base import DEFAULT_MAX_FILE_BYTES, PUBLIC, KnowledgeBase
from .chunking import Chunk, ChunkingOptions, chunk_document, split_sentences
from .embedder import DEFAULT_MODEL_ID, Embedder, EmbeddingCache, default_model_path, load_model
from .ingest import (
    FileProblem,
    IngestProgress,
    IngestReport,
    ProgressCallback,
    SourceInfo,
    drop_source,
    ingest_path,
    ingest_sources,
    list_sources,
    rich_progress,
)
from .loaders import SUPPORTED_SUFFIXES, DocumentError, LoadedDocument, load_document
from .retrieval import Hit, search
from .safety import Screening, find_instructions, is_flagged, neutralise, screen, visible
from .store import CollectionKey, VectorStore

__all__ = [
    "ANSWER_THRESHOLD",
    "Answer",
    "AnswerSentence",
    "Answerer",
    "Chunk",
    "ChunkingOptions",
    "CollectionKey",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MODEL_ID",
    "DocumentError",
    "Embedder",
    "EmbeddingCache",
    "ExtractiveAnswerer",
    "FileProblem",
    "Hit",
    "IngestProgress",
    "IngestReport",
    "KnowledgeBase",
    "LoadedDocument",
    "NOT_FOUND",
    "PUBLIC",
    "ProgressCallback",
    "SUPPORTED_SUFFIXES",
    "Screening",
    "SourceInfo",
    "VectorStore",
    "answer",
    "chunk_document",
    "default_model_path",
    "drop_source",
    "find_instructions",
    "ingest_path",
    "ingest_sources",
    "is_flagged",
    "list_sources",
    "load_document",
    "load_model",
    "neutralise",
    "rich_progress",
    "screen",
    "search",
    "split_sentences",
    "visible",
]
