"""Knowledge benchmark: ingestion throughput, query latency at scale, retrieval quality.

Run ``.venv/bin/python bench/knowledge.py`` (full: 10k and 100k chunks) or ``--quick``
(10k only, fewer queries); ``--sizes 10000,50000`` picks sizes; ``--calibrate`` also prints the
answer-threshold calibration. Prints tables and writes ``bench/results/knowledge.json``.

What is measured:

1. Ingestion: the plugin documents ingested into an empty data folder (chunks/s), next to raw
   ``model.encode`` throughput of exactly the same chunk texts in the same run.
2. Query latency, end to end (query embedding + Chroma + BM25 + fusion), p50/p95, for a user
   with access control (2 of 4 collections) and for one who may read everything (4 of 4),
   embedded and over HTTP (``chroma run`` on the same folder). The scale chunks are synthetic:
   varied generated sentences for BM25, but *random unit vectors* for the dense side, because
   embedding 100k texts takes ~20 min on a 2-core machine. Queries are real embeddings.
3. Retrieval quality on bench/data/knowledge_qa.jsonl: recall@5 and MRR for dense-only,
   BM25-only and hybrid. A hit counts when the retrieved chunk (same file) contains the answer
   text or its character span overlaps the answer's span in the file.

Threads: BLAS pinned to 1 thread (the embedder's default, ``LAMWORKS_BLAS_THREADS``); torch keeps
its default (one per core).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from lamworks.knowledge import (
    Embedder,
    ExtractiveAnswerer,
    KnowledgeBase,
    chunk_document,
    ingest_path,
    load_document,
    search,
)
from lamworks.knowledge.store import ChunkRecord, CollectionKey

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {
    "healthcare": ROOT / "plugins/healthcare/lamworks_healthcare/knowledge",
    "education": ROOT / "plugins/education/lamworks_education/knowledge",
}
QA_FILE = ROOT / "bench/data/knowledge_qa.jsonl"
RESULTS = ROOT / "bench/results/knowledge.json"
LABELS = ("public", "staff", "clinician", "teacher")
ALL = list(LABELS)

UNANSWERABLE = [
    "Who won the football world cup in 1998?", "What is the boiling point of mercury?",
    "How do I change a flat tyre on a bicycle?", "What is the capital of Australia?",
    "Give me a recipe for vegetable lasagna.", "How many moons does Jupiter have?",
    "What is the exchange rate between the euro and the yen?", "Who wrote War and Peace?",
    "How do I reset my home wifi router?", "What is the best programming language for games?",
    "When was the Eiffel Tower built?", "How tall is Mount Kilimanjaro?",
    "What are the rules of cricket?", "Which planet has the most rings?",
    "How do I file my income tax return?", "What's the weather forecast for tomorrow?",
    "Can you recommend a good science fiction movie?", "How do I train a puppy to sit?",
    "What is the population of Brazil?", "How does a jet engine work?",
    "What time does the train to Boston leave?", "How do I knit a scarf?",
    "Who painted the Mona Lisa?", "What is the price of bitcoin today?",
]

WORDS = {
    "subject": ["The clinic", "The school", "Each teacher", "The front desk", "A nurse",
                "The library", "Every student", "The billing office", "The pharmacy",
                "The principal", "A counselor", "The lab"],
    "verb": ["reviews", "schedules", "records", "approves", "updates", "publishes", "checks",
             "confirms", "archives", "prints", "audits", "cancels"],
    "object": ["referral forms", "lab results", "essay drafts", "attendance sheets",
               "insurance claims", "vaccination records", "reading lists", "exam papers",
               "appointment slots", "field trip permissions", "allergy notes", "grade reports"],
    "when": ["every Monday", "before noon", "at the end of each term", "within two days",
             "after each visit", "on the first of the month", "during lunch", "each evening",
             "before the holidays", "twice a week", "on request", "at check-in"],
}


def _synthetic_text(rng: random.Random, n: int) -> str:
    sentences = []
    for _ in range(rng.randint(3, 7)):
        sentences.append(f"{rng.choice(WORDS['subject'])} {rng.choice(WORDS['verb'])} "
                         f"{rng.choice(WORDS['object'])} {rng.choice(WORDS['when'])} "
                         f"(record {rng.randint(0, n * 10)}).")
    return " ".join(sentences)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2)}


def bench_ingestion(embedder: Embedder, work: Path) -> dict[str, Any]:
    texts = []
    for folder in SOURCES.values():
        for path in sorted(folder.rglob("*.md")):
            texts.extend(c.context_text for c in chunk_document(load_document(path)))
    embedder.encode(texts[:32])  # warm-up
    started = time.perf_counter()
    embedder.encode(texts)
    raw = len(texts) / (time.perf_counter() - started)
    kb = KnowledgeBase.open(work / "ingest", embedder=embedder)
    started = time.perf_counter()
    written = 0
    for name, folder in SOURCES.items():
        written += ingest_path(kb, folder, name).chunks_written
    ingest = written / (time.perf_counter() - started)
    again = sum(ingest_path(kb, f, n).chunks_embedded for n, f in SOURCES.items())
    kb.close()
    return {"chunks": written, "raw_embedding_chunks_per_s": round(raw, 1),
            "ingestion_chunks_per_s": round(ingest, 1),
            "ingestion_vs_raw": round(ingest / raw, 3), "reingest_embedded": again}


def _qa_span(item: dict[str, Any]) -> tuple[str, int, int]:
    path = ROOT / item["source"]
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    start = text.find(item["answer"])
    return path.name, start, start + len(item["answer"])


def bench_quality(kb: KnowledgeBase, qa: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("dense", "bm25", "hybrid"):
        recall, rr = 0, 0.0
        for item in qa:
            name, start, end = _qa_span(item)
            hits = search(kb, item["question"], access=ALL, k=5, mode=mode)  # type: ignore[arg-type]
            for rank, hit in enumerate(hits, start=1):
                same_file = Path(hit.path).name == name
                if same_file and (item["answer"] in hit.text or
                                  (start >= 0 and hit.start < end and start < hit.end)):
                    recall += 1
                    rr += 1 / rank
                    break
        out[mode] = {"recall@5": round(recall / len(qa), 3), "mrr": round(rr / len(qa), 3)}
    return out


def bench_calibration(kb: KnowledgeBase, qa: list[dict[str, Any]]) -> dict[str, Any]:
    answerer = ExtractiveAnswerer(kb.embedder)

    def confidence(question: str) -> float:
        scored = answerer.score_sentences(question, search(kb, question, access=ALL, k=5))
        return max((s[0] for s in scored), default=0.0)

    positive = [confidence(item["question"]) for item in qa]
    negative = [confidence(q) for q in UNANSWERABLE]
    best = (0.0, 0.0)
    for threshold in np.arange(0.20, 0.80, 0.01):
        balanced = (np.mean([p >= threshold for p in positive])
                    + np.mean([n < threshold for n in negative])) / 2
        if balanced > best[1]:
            best = (round(float(threshold), 2), float(balanced))
    t = best[0]
    return {"threshold": t, "balanced_accuracy": round(best[1], 3),
            "answerable_found": round(float(np.mean([p >= t for p in positive])), 3),
            "unanswerable_refused": round(float(np.mean([n < t for n in negative])), 3),
            "positives": len(positive), "negatives": len(negative)}


def _fill_synthetic(kb: KnowledgeBase, size: int, dim: int) -> None:
    rng = random.Random(size)
    gen = np.random.default_rng(size)
    per_label = size // len(LABELS)
    for label in LABELS:
        key = CollectionKey("synthetic", label)
        for offset in range(0, per_label, 5000):
            count = min(5000, per_label - offset)
            vectors = gen.standard_normal((count, dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            records = [ChunkRecord(f"syn-{label}-{offset + i}", _synthetic_text(rng, size), {
                "source": "synthetic", "title": "Synthetic", "section": f"Part {i % 50}",
                "path": f"synthetic/{label}.md", "start": 0, "end": 0, "chunk": offset + i,
                "access": label, "flagged": False}) for i in range(count)]
            kb.store.upsert(key, records, vectors)
    kb.invalidate()


def _latency(kb: KnowledgeBase, queries: list[str], access: list[str]) -> dict[str, float]:
    samples = []
    for query in queries:
        started = time.perf_counter()
        search(kb, query, access=access, k=5)
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_scale(embedder: Embedder, work: Path, size: int, n_queries: int) -> dict[str, Any]:
    folder = work / f"scale-{size}"
    kb = KnowledgeBase.open(folder, embedder=embedder)
    started = time.perf_counter()
    _fill_synthetic(kb, size, embedder.dimension)
    insert_s = time.perf_counter() - started
    started = time.perf_counter()
    kb.lexical_index()
    bm25_build_s = time.perf_counter() - started
    rng = random.Random(7)
    queries = [f"which {rng.choice(WORDS['subject']).lower()} {rng.choice(WORDS['verb'])} "
               f"{rng.choice(WORDS['object'])} {rng.choice(WORDS['when'])} #{i}"
               for i in range(n_queries * 4 + 20)]  # distinct: the query-vector cache never hits
    for q in queries[:20]:
        search(kb, q, access=ALL)
    acl = ["public", "staff"]
    result: dict[str, Any] = {
        "chunks": size, "insert_s": round(insert_s, 1), "bm25_build_s": round(bm25_build_s, 2),
        "embedded_acl": _latency(kb, queries[20:20 + n_queries], acl),
        "embedded_all": _latency(kb, queries[20 + n_queries:20 + 2 * n_queries], ALL),
    }
    kb.close()
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen([str(chroma), "run", "--path", str(folder / "chroma"), "--host",
                               "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("chroma run did not start") from None
                time.sleep(0.3)
        remote = KnowledgeBase.open(folder, chroma_url=url, embedder=embedder)
        for q in queries[:20]:
            search(remote, q, access=ALL)
        result["http_acl"] = _latency(remote, queries[20 + 2 * n_queries:20 + 3 * n_queries], acl)
        result["http_all"] = _latency(remote, queries[20 + 3 * n_queries:], ALL)
        remote.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return result


def _print_tables(results: dict[str, Any]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        print(json.dumps(results, indent=2))
        return
    console = Console()
    ing = results["ingestion"]
    table = Table(title="Ingestion (plugin documents)")
    for column in ("chunks", "raw embed chunks/s", "ingest chunks/s", "ingest/raw",
                   "re-ingest embedded"):
        table.add_column(column, justify="right")
    table.add_row(str(ing["chunks"]), str(ing["raw_embedding_chunks_per_s"]),
                  str(ing["ingestion_chunks_per_s"]), f"{ing['ingestion_vs_raw']:.0%}",
                  str(ing["reingest_embedded"]))
    console.print(table)
    table = Table(title="Query latency, end to end incl. query embedding (ms); synthetic chunks "
                  "with RANDOM unit vectors")
    for column in ("chunks", "where", "access", "p50", "p95", "insert s", "bm25 build s"):
        table.add_column(column, justify="right")
    for row in results["scale"]:
        for where in ("embedded", "http"):
            for acl, label in (("acl", "2 of 4 labels"), ("all", "all 4 labels")):
                got = row.get(f"{where}_{acl}")
                if got:
                    table.add_row(str(row["chunks"]), where, label, str(got["p50_ms"]),
                                  str(got["p95_ms"]), str(row["insert_s"]),
                                  str(row["bm25_build_s"]))
    console.print(table)
    table = Table(title=f"Retrieval quality, {results['qa_questions']} QA questions, k=5")
    for column in ("mode", "recall@5", "MRR"):
        table.add_column(column, justify="right")
    for mode, got in results["quality"].items():
        table.add_row(mode, str(got["recall@5"]), str(got["mrr"]))
    console.print(table)
    if "calibration" in results:
        console.print(f"Answer threshold calibration: {results['calibration']}")
    console.print(f"Settings: {results['settings']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated chunk counts")
    parser.add_argument("--quick", action="store_true", help="10k chunks, 50 queries per cell")
    parser.add_argument("--queries", type=int, default=200, help="queries per latency cell")
    parser.add_argument("--calibrate", action="store_true", help="calibrate the answer threshold")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    n_queries = 50 if args.quick else args.queries
    qa = [json.loads(line) for line in QA_FILE.read_text(encoding="utf-8").splitlines() if line]
    embedder = Embedder()
    work = Path(tempfile.mkdtemp(prefix="lamworks-bench-"))
    try:
        results: dict[str, Any] = {
            "settings": {"blas_threads": os.environ.get("LAMWORKS_BLAS_THREADS", "1"),
                         "torch_threads": __import__("torch").get_num_threads(),
                         "cpus": os.cpu_count(), "model": embedder.model_id,
                         "scale_vectors": "random unit vectors (dense), generated text (BM25)"},
            "ingestion": bench_ingestion(embedder, work),
        }
        kb = KnowledgeBase.open(work / "ingest", embedder=embedder)
        results["qa_questions"] = len(qa)
        results["quality"] = bench_quality(kb, qa)
        if args.calibrate:
            results["calibration"] = bench_calibration(kb, qa)
        kb.close()
        results["scale"] = [bench_scale(embedder, work, size, n_queries) for size in sizes]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    _print_tables(results)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
