"""Ingestion: folders of documents into chunks, vectors and collections, incrementally.

What lives here: the functions the CLI and the UI call — :func:`ingest_path`,
:func:`ingest_sources`, :func:`list_sources`, :func:`drop_source` — their reports, the progress
callback type and :func:`rich_progress`, a ready-made progress bar for the terminal.

Incremental by content: each file's fingerprint is the SHA-256 of its bytes plus everything else
that shapes its chunks (default access label, chunking options, model, pipeline version). An
unchanged file is not read again; a changed file's old chunks are replaced; a file that
disappeared loses its chunks. Vectors go through the embedding cache, so even a changed file only
embeds the chunks whose text is new. Re-running on an unchanged folder embeds nothing and the
report says so.

One bad file never stops a folder: an empty file, a binary file named ``.md``, a damaged PDF, a
file over ``limits.ingest_max_file_bytes`` or a DOCX that would unpack to too much (see
:mod:`.limits`) is listed in :attr:`IngestReport.failed` with a readable message, and every other
file is ingested. A run stops reading new files once it has read ``limits.ingest_max_run_bytes``
or spent ``limits.ingest_max_seconds`` (checked between files and between embedding batches):
the files it did not reach are listed as failed, keep their previous chunks, and are ingested by
running it again.

Links never lead out of the ingested folder: a symbolic link is read only when it resolves to
a file inside the folder (checked when the folder is listed and again just before the file is
read), links to folders are not entered, and every link left out is listed in
:attr:`IngestReport.skipped`. Text that a document's HTML hides from its readers is left out
by the loaders and the files it was left out of are listed in :attr:`IngestReport.hidden_text`.

Chunk metadata (Chroma only accepts scalars, so ``page`` is absent when there is none)::

    source, title, section ("A > B"), page, path, start, end (characters in the file),
    chunk (index in the file), content_hash (SHA-256 of the embedded text), file_hash,
    ingested_at (ISO 8601, UTC), access, flagged (instruction-like text, see .safety)
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from lamworks.errors import KnowledgeError

from .base import KnowledgeBase
from .chunking import Chunk, chunk_document
from .embedder import text_hash
from .loaders import SUPPORTED_SUFFIXES, DocumentError, LoadedDocument, load_document
from .manifest import FileRecord
from .safety import is_flagged, neutralise
from .store import ChunkRecord, CollectionKey

__all__ = [
    "FileProblem",
    "IngestProgress",
    "IngestReport",
    "ProgressCallback",
    "SourceInfo",
    "SourceLike",
    "drop_source",
    "ingest_path",
    "ingest_sources",
    "list_sources",
    "rich_progress",
]

PIPELINE_VERSION = "2"
"""Bump when loaders or chunking change in a way that should re-ingest every file."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_EMBED_GROUP = 256  # texts per encode call: big enough for length-sorted batching, small for UI


@dataclass(frozen=True)
class IngestProgress:
    """Where an ingestion is: ``stage`` ``read`` → ``embed`` → ``write`` → ``done``."""

    stage: Literal["read", "embed", "write", "done"]
    done: int
    total: int
    message: str = ""


ProgressCallback = Callable[[IngestProgress], None]


@dataclass(frozen=True)
class FileProblem:
    """A file that was not ingested, and why (written for whoever uploaded it)."""

    path: str
    message: str


@dataclass
class IngestReport:
    """What one ingestion did. ``str(report)`` is a one-line summary for people."""

    source: str
    root: Path
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[FileProblem] = field(default_factory=list)
    skipped: list[FileProblem] = field(default_factory=list)
    """Files not read: unsupported types, and links out of the folder (never followed)."""
    refused: list[FileProblem] = field(default_factory=list)
    """Files refused for the access label their front matter sets (``message``: the label),
    when the ingestion may set only some labels."""
    hidden_text: list[FileProblem] = field(default_factory=list)
    """Files ingested without the text their HTML hides from readers (``display:none``, the
    ``hidden`` attribute, ...): that text is never indexed, so it can never be quoted."""
    chunks_written: int = 0
    chunks_embedded: int = 0
    """Chunks the model embedded in this run (the rest came from the embedding cache)."""
    chunks_cached: int = 0
    chunks_removed: int = 0
    flagged_chunks: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> str:
        links = sum(p.message == _LINK_OUT for p in self.skipped)
        not_followed = f"; {links} link(s) out of the folder not followed" if links else ""
        if not self.changed_anything and not self.failed:
            return (f"{self.source}: nothing changed ({len(self.unchanged)} files up to date); "
                    f"0 chunks embedded{not_followed}")
        text = (f"{self.source}: {len(self.added)} added, {len(self.changed)} changed, "
                f"{len(self.removed)} removed, {len(self.unchanged)} unchanged, "
                f"{len(self.failed)} failed; {self.chunks_written} chunks written "
                f"({self.chunks_embedded} embedded, {self.chunks_cached} from cache), "
                f"{self.chunks_removed} removed")
        if self.flagged_chunks:
            text += f"; {self.flagged_chunks} flagged as instruction-like"
        if self.hidden_text:
            text += f"; hidden HTML text left out of {len(self.hidden_text)} file(s)"
        return text + not_followed + f" in {self.seconds:.1f} s"

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class SourceInfo:
    """One ingested source, for ``lamworks knowledge list``."""

    source: str
    root: str
    description: str
    files: int
    chunks: int
    access: tuple[str, ...]


class SourceLike(Protocol):
    """A :class:`lamworks.KnowledgeSource` (``name``) or a config ``KnowledgePath`` (``source``)."""

    @property
    def path(self) -> Path: ...

    @property
    def access(self) -> str: ...


@dataclass
class _Pending:
    rel: str
    sha: str
    fingerprint: str
    size: int
    access: str
    document: LoadedDocument
    chunks: list[Chunk]
    previous: FileRecord | None


def _embedded(chunk: Chunk) -> str:
    """What is embedded for a chunk: its text in context, less the sentences that give the
    assistant orders (flagged, never quoted) — they must not steer retrieval either."""
    return neutralise(chunk.context_text, marker="")


def _fingerprint(kb: KnowledgeBase, sha: str, access: str) -> str:
    opts = kb.chunking
    parts = (sha, access, str(opts.max_words), str(opts.overlap_words), kb.embedder.model_id,
             PIPELINE_VERSION)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


_LINK_OUT = ("a link to a file outside the ingested folder: links out of the folder are never "
             "followed")


def _inside(file: Path, base: Path) -> bool:
    """Whether ``file``, links resolved, is a file inside ``base`` (itself resolved)."""
    try:
        return file.resolve(strict=True).is_relative_to(base) and file.is_file()
    except (OSError, RuntimeError):  # a dangling link, a link loop
        return False


def _scan(path: Path, root: Path) -> tuple[list[Path], list[FileProblem]]:
    """The files to read under ``path`` (hidden names left out), and the links skipped: a
    symbolic link is read only when it resolves to a file inside ``root``; links to folders
    are never entered (a folder inside ``root`` is read through its real path)."""
    base = root.resolve()
    if path.is_file() or path.is_symlink() and not path.is_dir():
        if _inside(path, base):
            return [path], []
        return [], [FileProblem(path.name, _LINK_OUT)]
    files: list[Path] = []
    skipped: list[FileProblem] = []
    for folder, dirs, names in os.walk(path):  # followlinks=False: linked folders stay shut
        here = Path(folder)
        for name in sorted(dirs):
            if (here / name).is_symlink() and not name.startswith("."):
                skipped.append(FileProblem((here / name).relative_to(root).as_posix(),
                                           "a link to a folder: links to folders are not "
                                           "followed"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not (here / d).is_symlink())
        for name in sorted(names):
            file = here / name
            if name.startswith("."):
                continue
            if file.is_symlink() and not _inside(file, base):
                broken = not file.exists()
                skipped.append(FileProblem(file.relative_to(root).as_posix(),
                                           "a broken link" if broken else _LINK_OUT))
            elif file.is_file():
                files.append(file)
    return sorted(files), skipped


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _over_time(seconds: float) -> str:
    return (f"not ingested in this run: it reached its time limit of {seconds:g} s "
            "(limits.ingest_max_seconds); run it again for the rest")


def ingest_path(
    kb: KnowledgeBase,
    path: Path,
    source: str,
    access: str = "public",
    progress: ProgressCallback | None = None,
    *,
    description: str = "",
    allowed_access: Collection[str] | None = None,
) -> IngestReport:
    """Ingest a folder (or one file) as ``source``; chunks inherit ``access`` unless a
    document's front matter says otherwise. Returns what was added, changed, removed, failed.

    ``allowed_access``: the only labels this ingestion may set (a person's upload: the labels
    their role may read). ``access`` outside it is a :class:`~lamworks.KnowledgeError`; a file
    whose front matter sets another label is refused (listed in
    :attr:`IngestReport.refused` and :attr:`IngestReport.failed`) and nothing of it is indexed."""
    started = time.perf_counter()
    if not _NAME.match(source):
        raise KnowledgeError(f"source name {source!r}: use lower-case letters, digits, - and _")
    if not _LABEL.match(access):
        raise KnowledgeError(f"access label {access!r}: use letters, digits, - and _")
    if allowed_access is not None and access not in allowed_access:
        raise KnowledgeError(f"access label {access!r} is not one you may set "
                             f"(yours: {', '.join(sorted(allowed_access)) or 'none'})")
    path = Path(path).expanduser()
    if not path.exists():
        raise KnowledgeError(f"{path}: no such file or folder")
    whole_folder = path.is_dir()
    root = path if whole_folder else path.parent
    report = IngestReport(source=source, root=path)
    notify = progress or (lambda _p: None)
    previous = kb.manifest.files(source)
    files, links = _scan(path, root)
    report.skipped.extend(links)
    base = root.resolve()
    pending: list[_Pending] = []
    seen: set[str] = set()
    limits = kb.limits
    deadline = started + limits.max_seconds
    run_bytes = 0

    for i, file in enumerate(files):
        rel = file.relative_to(root).as_posix()
        notify(IngestProgress("read", i, len(files), rel))
        if file.suffix.lower() not in SUPPORTED_SUFFIXES:
            report.skipped.append(FileProblem(rel, f"unsupported file type "
                                              f"{file.suffix or '(none)'!r}; supported: "
                                              f"{', '.join(sorted(SUPPORTED_SUFFIXES))}"))
            continue
        seen.add(rel)
        old = previous.get(rel)
        if time.perf_counter() > deadline:
            report.failed.append(FileProblem(rel, _over_time(limits.max_seconds)))
            continue
        try:
            if not _inside(file, base):  # replaced by a link since the folder was listed
                report.skipped.append(FileProblem(rel, _LINK_OUT))
                seen.discard(rel)
                continue
            size = file.stat().st_size
            if size > limits.max_file_bytes:
                raise DocumentError(f"file is {_megabytes(size)}, over the "
                                    f"{_megabytes(limits.max_file_bytes)} limit for one document;"
                                    " split it or raise the limit (limits.ingest_max_file_bytes)")
            sha = hashlib.sha256(file.read_bytes()).hexdigest()
            if old is not None and old.fingerprint == _fingerprint(kb, sha, access):
                report.unchanged.append(rel)
                continue
            if run_bytes + size > limits.max_run_bytes:
                report.failed.append(FileProblem(rel, (
                    f"not ingested in this run: it has read {_megabytes(run_bytes)} and may read "
                    f"{_megabytes(limits.max_run_bytes)} (limits.ingest_max_run_bytes); run it "
                    "again for the rest")))
                continue
            run_bytes += size
            document = load_document(file, limits=limits)
            if document.hidden:
                report.hidden_text.append(FileProblem(rel, (
                    f"{document.hidden} hidden HTML element(s) left out (display:none, hidden, "
                    "aria-hidden, font-size:0, script/style/template): never indexed")))
            doc_access = document.access or access
            if not _LABEL.match(doc_access):
                raise DocumentError(f"front matter access label {doc_access!r} is not valid")
            if allowed_access is not None and doc_access not in allowed_access:
                report.refused.append(FileProblem(rel, doc_access))
                raise DocumentError(f"its front matter sets access {doc_access!r}, a label you "
                                    "may not set: refused, nothing of it was indexed")
            chunks = chunk_document(document, kb.chunking)
            pending.append(_Pending(rel, sha, _fingerprint(kb, sha, access), size, doc_access,
                                    document, chunks, old))
        except (DocumentError, OSError) as exc:
            message = str(exc) if isinstance(exc, DocumentError) else f"cannot read: {exc}"
            if old is not None:
                message += " (the previous version's chunks were removed)"
                _remove(kb, old, report)
            report.failed.append(FileProblem(rel, message))

    # Embed every new chunk of every file together: large length-sorted batches, one cache pass.
    texts = [_embedded(chunk) for item in pending for chunk in item.chunks]
    vectors = np.zeros((0, 0), dtype=np.float32)
    if texts:
        embed_started = time.perf_counter()
        before = (kb.embedder.stats.embedded, kb.embedder.stats.cached)
        parts = []
        for start in range(0, len(texts), _EMBED_GROUP):
            if time.perf_counter() > deadline:
                break  # the files whose chunks are not all embedded are reported below
            notify(IngestProgress("embed", start, len(texts), f"{len(texts)} chunks"))
            parts.append(kb.embedder.embed_documents(texts[start:start + _EMBED_GROUP]))
        if parts:
            vectors = np.concatenate(parts)
        report.chunks_embedded = kb.embedder.stats.embedded - before[0]
        report.chunks_cached = kb.embedder.stats.cached - before[1]
        report.embed_seconds = time.perf_counter() - embed_started

    now = datetime.now(UTC).isoformat(timespec="seconds")
    offset = 0
    for n, item in enumerate(pending):
        notify(IngestProgress("write", n, len(pending), item.rel))
        item_vectors = vectors[offset:offset + len(item.chunks)]
        offset += len(item.chunks)
        if offset > len(vectors):
            report.failed.append(FileProblem(item.rel, _over_time(limits.max_seconds)))
            continue
        _write(kb, source, item, item_vectors, now, report)

    if whole_folder:
        for rel, old in previous.items():
            if rel not in seen:
                _remove(kb, old, report)
                report.removed.append(rel)
    kb.manifest.put_source(source, str(path), access, description)
    if report.changed_anything or report.chunks_removed:
        kb.invalidate()
    report.seconds = time.perf_counter() - started
    notify(IngestProgress("done", len(files), len(files), report.summary()))
    return report


def _write(kb: KnowledgeBase, source: str, item: _Pending, vectors: np.ndarray,
           now: str, report: IngestReport) -> None:
    key = CollectionKey(source, item.access)
    records = []
    for chunk in item.chunks:
        flagged = is_flagged(chunk.text)
        report.flagged_chunks += flagged
        metadata: dict[str, str | int | float | bool] = {
            "source": source, "title": chunk.title, "section": chunk.section,
            "path": item.rel, "start": chunk.start, "end": chunk.end, "chunk": chunk.index,
            "content_hash": text_hash(_embedded(chunk)), "file_hash": item.sha,
            "ingested_at": now, "access": item.access, "flagged": flagged,
        }
        if chunk.page is not None:
            metadata["page"] = chunk.page
        records.append(ChunkRecord(f"{source}:{item.rel}#{chunk.index}", chunk.text, metadata))
    if item.previous is not None:
        # ids are stable per (file, index): upsert replaces; stale ids beyond the new count go
        stale = set(item.previous.chunk_ids) - {r.id for r in records}
        old_key = CollectionKey(source, item.previous.access)
        if old_key != key:
            stale = set(item.previous.chunk_ids)
        kb.store.delete(old_key, sorted(stale))
        report.chunks_removed += len(stale)
    kb.store.upsert(key, records, vectors)
    kb.manifest.put_file(FileRecord(source, item.rel, item.sha, item.fingerprint, item.access,
                                    item.document.title, tuple(r.id for r in records), now,
                                    item.size))
    report.chunks_written += len(records)
    (report.changed if item.previous is not None else report.added).append(item.rel)


def _remove(kb: KnowledgeBase, old: FileRecord, report: IngestReport) -> None:
    kb.store.delete(CollectionKey(old.source, old.access), list(old.chunk_ids))
    kb.manifest.remove_file(old.source, old.path)
    report.chunks_removed += len(old.chunk_ids)


def ingest_sources(
    kb: KnowledgeBase,
    sources: Iterable[SourceLike],
    progress: ProgressCallback | None = None,
) -> list[IngestReport]:
    """Ingest plugin sources (:class:`lamworks.KnowledgeSource`) and configured folders
    (``config.knowledge.paths``), e.g.
    ``ingest_sources(kb, [*pm.knowledge_sources.values(), *config.knowledge.paths])``."""
    reports = []
    for item in sources:
        name = getattr(item, "name", None) or getattr(item, "source", None)
        if not isinstance(name, str):
            raise KnowledgeError(f"{item!r} has neither a name nor a source")
        reports.append(ingest_path(kb, item.path, name, item.access, progress,
                                   description=str(getattr(item, "description", ""))))
    return reports


def list_sources(kb: KnowledgeBase) -> list[SourceInfo]:
    """Every ingested source with its file and chunk counts and the access labels in it."""
    infos = []
    for source, (root, _access, description) in kb.manifest.sources().items():
        files = kb.manifest.files(source)
        infos.append(SourceInfo(
            source=source, root=root, description=description, files=len(files),
            chunks=sum(len(f.chunk_ids) for f in files.values()),
            access=tuple(sorted({f.access for f in files.values()})),
        ))
    return infos


def drop_source(kb: KnowledgeBase, source: str) -> int:
    """Delete a source's collections and manifest rows; returns how many chunks went."""
    known = kb.manifest.sources()
    kb.store.refresh()
    keys = [key for key in kb.store.keys() if key.source == source]
    if source not in known and not keys:
        names = ", ".join(sorted(known)) or "none"
        raise KnowledgeError(f"no knowledge source named {source!r} (ingested: {names})")
    removed = 0
    for key in keys:
        removed += kb.store.count(key)
        kb.store.drop(key)
    kb.manifest.remove_source(source)
    kb.invalidate()
    return removed


@contextmanager
def rich_progress(description: str = "Ingesting") -> Iterator[ProgressCallback]:
    """A terminal progress bar (rich) as a progress callback::

        with rich_progress() as progress:
            report = ingest_path(kb, folder, "policies", progress=progress)
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    # File names are text, not Rich markup ("[draft].md" must not be read as a style).
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                  MofNCompleteColumn(), TextColumn("{task.fields[detail]}", markup=False),
                  transient=True) as bar:
        task = bar.add_task(description, total=None, detail="")

        def update(event: IngestProgress) -> None:
            bar.update(task, description=f"{description}: {event.stage}", completed=event.done,
                       total=event.total or None, detail=event.message[:60])

        yield update
