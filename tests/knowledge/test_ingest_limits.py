"""Ingestion limits: zip bombs refused from their central directory, bytes per run, time per run.

Measured before these limits: a 196 KB DOCX zip bomb took 99 s and 1.3 GB to ingest, a 1 MB one
was still running after 600 s. Now such a file is refused in milliseconds, before anything is
unpacked, and the rest of the folder is ingested.
"""

from __future__ import annotations

import tempfile
import time
import types
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest

from lamworks import load_config
from lamworks.knowledge import KnowledgeBase, ingest_path, search
from lamworks.knowledge import ingest as ingest_module
from lamworks.knowledge.limits import IngestLimits, check_archive
from lamworks.knowledge.loaders import DocumentError, load_document

from .conftest import write

PARAGRAPH = b"<w:p><w:r><w:t>all work and no play makes jack a dull boy</w:t></w:r></w:p>"


def small_docx(path: Path, text: str = "Visitors park in lot A near the gate.") -> Path:
    document = docx.Document()
    document.add_heading("Parking", level=1)
    document.add_paragraph(text)
    document.save(str(path))
    return path


def bomb(path: Path, megabytes: int, *, method: int = zipfile.ZIP_DEFLATED,
         lie_about_size: bool = False) -> Path:
    """A DOCX whose document.xml repeats one paragraph ``megabytes`` MB worth."""
    with tempfile.TemporaryDirectory() as scratch:
        _write_bomb(path, small_docx(Path(scratch) / "source.docx"), megabytes, method)
    if lie_about_size:
        _declare_size(path, "word/document.xml", 1000)
    return path


def _write_bomb(path: Path, source: Path, megabytes: int, method: int) -> None:
    with zipfile.ZipFile(source) as original, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for member in original.infolist():
            data = original.read(member)
            if member.filename == "word/document.xml":
                head, _, tail = data.partition(b"<w:body>")
                body = PARAGRAPH * (megabytes * 1024 * 1024 // len(PARAGRAPH))
                data = head + b"<w:body>" + body + b"</w:body>" + tail.partition(b"</w:body>")[2]
                out.writestr(member.filename, data, compress_type=method)
            else:
                out.writestr(member, data)


def _declare_size(path: Path, name: str, size: int) -> None:
    """Rewrite the member's uncompressed size in its local header and the central directory."""
    raw = bytearray(path.read_bytes())
    encoded = name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            if raw[start + name_at:start + name_at + len(encoded)] == encoded:
                raw[start + size_at:start + size_at + 4] = size.to_bytes(4, "little")
            start += 4
    path.write_bytes(bytes(raw))


# ---- the archive check on its own -------------------------------------------------------------


def test_an_ordinary_docx_passes_and_loads(tmp_path: Path) -> None:
    path = small_docx(tmp_path / "ok.docx")
    check_archive(path, IngestLimits())
    assert "lot A" in load_document(path).text


def test_a_zip_bomb_is_refused_by_its_compression_ratio_before_unpacking(tmp_path: Path) -> None:
    path = bomb(tmp_path / "bomb.docx", 40)
    assert path.stat().st_size < 400_000  # a few hundred KB on disk, 40 MB unpacked
    started = time.perf_counter()
    with pytest.raises(DocumentError, match=r"compressed [\d,]+ to 1; the limit is 100 to 1 "
                                            r"\(limits.ingest_max_compression_ratio\)"):
        load_document(path)
    assert time.perf_counter() - started < 0.5


def test_a_large_unpacked_size_is_refused_from_the_central_directory(tmp_path: Path) -> None:
    path = bomb(tmp_path / "big.docx", 3)
    limits = IngestLimits(max_expanded_bytes=1024 * 1024, max_compression_ratio=10_000)
    with pytest.raises(DocumentError, match=r"would unpack to 3\.\d MB; the limit is 1\.0 MB "
                                            r"\(limits.ingest_max_expanded_bytes\)"):
        load_document(path, limits=limits)


def test_a_directory_that_lies_about_sizes_cannot_make_us_read_more(tmp_path: Path) -> None:
    path = bomb(tmp_path / "liar.docx", 5, lie_about_size=True)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("word/document.xml").file_size == 1000  # passes the directory
    with pytest.raises(DocumentError, match="could not read Word document"):
        load_document(path)  # reading stops at the declared 1000 bytes: a CRC error


def test_unusual_compression_methods_are_refused(tmp_path: Path) -> None:
    path = bomb(tmp_path / "bzip.docx", 1, method=zipfile.ZIP_BZIP2)
    with pytest.raises(DocumentError, match="unusual compression method"):
        load_document(path)


def test_too_many_parts_are_refused(tmp_path: Path) -> None:
    path = small_docx(tmp_path / "parts.docx")
    with pytest.raises(DocumentError, match=r"limits.ingest_max_archive_members"):
        load_document(path, limits=IngestLimits(max_archive_members=3))


def test_the_defaults_are_the_configuration_defaults() -> None:
    from lamworks.config import LimitsConfig

    assert IngestLimits() == IngestLimits.from_config(LimitsConfig())


# ---- through ingestion ------------------------------------------------------------------------


def test_a_zip_bomb_in_a_folder_fails_alone_and_fast(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    bomb(folder / "bomb.docx", 40)
    small_docx(folder / "parking.docx")
    started = time.perf_counter()
    report = ingest_path(make_kb(), folder, "docs")
    assert time.perf_counter() - started < 30
    assert report.added == ["parking.docx"]
    problems = {p.path: p.message for p in report.failed}
    assert "compressed" in problems["bomb.docx"] and "zip bomb" in problems["bomb.docx"]


def test_bytes_per_run(make_kb: Callable[..., KnowledgeBase], tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    write(folder, "a.md", "# A\n\nThe library opens at eight in the morning.\n")
    write(folder, "b.md", "# B\n\nThe canteen closes at two in the afternoon.\n")
    size = (folder / "a.md").stat().st_size
    kb = make_kb(limits=IngestLimits(max_run_bytes=size + 10))
    first = ingest_path(kb, folder, "docs")
    assert first.added == ["a.md"]
    [problem] = first.failed
    assert problem.path == "b.md" and "limits.ingest_max_run_bytes" in problem.message
    second = ingest_path(kb, folder, "docs")  # a.md is unchanged: it does not count again
    assert second.added == ["b.md"] and second.unchanged == ["a.md"] and not second.failed


def test_time_per_run_keeps_what_was_there(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    write(folder, "a.md", "# A\n\nThe library opens at eight in the morning.\n")
    ingest_path(make_kb(), folder, "docs")
    write(folder, "a.md", "# A\n\nThe library opens at nine in the morning.\n")
    kb = make_kb(limits=IngestLimits(max_seconds=1e-9))
    report = ingest_path(kb, folder, "docs")
    [problem] = report.failed
    assert "time limit of 1e-09 s (limits.ingest_max_seconds)" in problem.message
    assert "previous version" not in problem.message
    assert not report.removed
    assert "eight" in search(kb, "when does the library open")[0].text  # the old chunks stay


def test_time_runs_out_while_embedding(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "docs"
    write(folder, "a.md", "# A\n\nThe library opens at eight in the morning.\n")
    write(folder, "b.md", "# B\n\nThe canteen closes at two in the afternoon.\n")
    kb = make_kb(limits=IngestLimits(max_seconds=100))
    clock = [0.0]
    monkeypatch.setattr(ingest_module, "time", types.SimpleNamespace(
        perf_counter=lambda: clock[0]))
    monkeypatch.setattr(ingest_module, "_EMBED_GROUP", 1)  # one chunk per batch
    embed = kb.embedder.embed_documents

    def slow_embed(texts: list[str]) -> object:
        clock[0] += 1000  # each batch "takes" 1000 s
        return embed(texts)

    monkeypatch.setattr(kb.embedder, "embed_documents", slow_embed)
    report = ingest_path(kb, folder, "docs")
    assert report.added == ["a.md"]
    assert [p.path for p in report.failed] == ["b.md"]
    assert "limits.ingest_max_seconds" in report.failed[0].message


def test_the_configuration_sets_the_knowledge_base_limits(
    write_config: Callable[..., Path], embedder: object
) -> None:
    path = write_config(extra="[limits]\ningest_max_run_bytes = 1234\n"
                              "ingest_max_compression_ratio = 50\n")
    kb = KnowledgeBase.from_config(load_config(path), embedder=embedder)  # type: ignore[arg-type]
    try:
        assert kb.limits.max_run_bytes == 1234
        assert kb.limits.max_compression_ratio == 50
    finally:
        kb.close()
