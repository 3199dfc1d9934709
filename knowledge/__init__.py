"""The knowledge layer (import ``lamworks.knowledge``): embedder, vector store, ingestion, retrieval.

Plugins declare folders of documents with :class:`lamworks.KnowledgeSource`; this package turns
them into cited, access-controlled search results.
"""
