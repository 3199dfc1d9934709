"""Ingestion limits: how much one file, one archive and one run may cost.

What lives here: :class:`IngestLimits` (the ``ingest_*`` keys of ``[limits]`` in
``lamworks.toml``) and :func:`check_archive`, which vets a zip-based document (DOCX; XLSX and
plain zips are not ingested at all) before any of it is unpacked. What does not: applying the
per-file, per-run and time limits to a folder (:mod:`.ingest`), and reading documents
(:mod:`.loaders`).

A zip bomb is small on disk and huge unpacked (a 196 KB DOCX that unpacks to gigabytes of
XML), so the file's own size says nothing. :func:`check_archive` reads only the central
directory — the sizes every member declares — and refuses the document when there are too many
members, when they would unpack to more than ``max_expanded_bytes`` in all, when one is
compressed more than ``max_compression_ratio`` to one, or when one uses a method other than
stored or deflated (bzip2 and LZMA unpack without an output bound in Python's zipfile). It then
reads every member through a counting stream that stops at the limit, so what is actually read
is capped too, whatever the directory claims (:mod:`zipfile` also stops each member at its
declared size and refuses one whose CRC does not match).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .loaders import DocumentError

if TYPE_CHECKING:
    from lamworks.config import LimitsConfig

__all__ = ["IngestLimits", "check_archive"]

_MIB = 1024 * 1024
_SMALL_MEMBER = 1 * _MIB
"""Members smaller than this are not held to the compression ratio: a few KiB of repetitive XML
legitimately compress a hundredfold, and cannot hurt anyone."""
_BLOCK = 64 * 1024
_KINDS = {".docx": "Word document", ".xlsx": "Excel workbook", ".pptx": "PowerPoint file",
          ".odt": "OpenDocument text", ".zip": "zip archive"}


@dataclass(frozen=True)
class IngestLimits:
    """What one ingestion may read. Built from ``[limits]`` by :meth:`from_config`; the
    defaults are :class:`~lamworks.config.LimitsConfig`'s."""

    max_file_bytes: int = 20 * _MIB
    max_run_bytes: int = 512 * _MIB
    max_expanded_bytes: int = 64 * _MIB
    max_compression_ratio: float = 100.0
    max_archive_members: int = 10_000
    max_seconds: float = 1800.0

    @classmethod
    def from_config(cls, limits: LimitsConfig) -> IngestLimits:
        return cls(max_file_bytes=limits.ingest_max_file_bytes,
                   max_run_bytes=limits.ingest_max_run_bytes,
                   max_expanded_bytes=limits.ingest_max_expanded_bytes,
                   max_compression_ratio=limits.ingest_max_compression_ratio,
                   max_archive_members=limits.ingest_max_archive_members,
                   max_seconds=limits.ingest_max_seconds)


def _mb(size: float) -> str:
    return f"{size / _MIB:.1f} MB"


def check_archive(path: Path, limits: IngestLimits) -> None:
    """Raise :class:`~lamworks.knowledge.DocumentError` when the zip-based document at ``path``
    would unpack to more than the limits allow; return quietly when it is safe to open."""
    suffix = path.suffix.lower()
    kind = _KINDS.get(suffix, "zip archive")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_directory(members, limits, kind)
            _read_capped(archive, members, limits, kind)
    except DocumentError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: a compression method zipfile
        # cannot read; the others: a damaged or truncated archive.
        detail = str(exc) or type(exc).__name__
        raise DocumentError(f"could not read {kind} (damaged, encrypted or not "
                            f"{suffix or '.zip'}): {detail}") from None


def _check_directory(members: list[zipfile.ZipInfo], limits: IngestLimits, kind: str) -> None:
    if len(members) > limits.max_archive_members:
        raise DocumentError(f"the {kind} holds {len(members):,} parts; the limit is "
                            f"{limits.max_archive_members:,} (limits.ingest_max_archive_members)")
    declared = sum(m.file_size for m in members)
    if declared > limits.max_expanded_bytes:
        raise DocumentError(f"the {kind} would unpack to {_mb(declared)}; the limit is "
                            f"{_mb(limits.max_expanded_bytes)} (limits.ingest_max_expanded_bytes)"
                            ". Is it a zip bomb? If not, split it or raise the limit")
    for member in members:
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise DocumentError(f"the {kind}'s part {member.filename!r} uses an unusual "
                                f"compression method ({member.compress_type}); save it again "
                                "with Word or LibreOffice")
        if member.file_size < _SMALL_MEMBER:
            continue
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            raise DocumentError(f"the {kind}'s part {member.filename!r} is compressed "
                                f"{ratio:,.0f} to 1; the limit is "
                                f"{limits.max_compression_ratio:g} to 1 "
                                "(limits.ingest_max_compression_ratio). Is it a zip bomb?")


def _read_capped(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo],
                 limits: IngestLimits, kind: str) -> None:
    """Unpack every member into nothing, counting: stop as soon as the limit is passed."""
    total = 0
    for member in members:
        if member.is_dir():
            continue
        with archive.open(member) as stream:
            while block := stream.read(_BLOCK):
                total += len(block)
                if total > limits.max_expanded_bytes:
                    raise DocumentError(
                        f"the {kind} unpacks to more than "
                        f"{_mb(limits.max_expanded_bytes)} (limits.ingest_max_expanded_bytes), "
                        "more than its directory declares: it is damaged or a zip bomb")
