"""Turns per second and latency through the HTTP API, by store backend and number of replicas.

For each backend (SQLite files in one shared data folder, or a PostgreSQL server) and each
number of ``lamworks serve`` replicas (1 or 2), a deployment is started on loopback
(:mod:`tests.deployment`: the example institution, the demo clinic in the healthcare plugin's
local store, accounts mode with an API token). Then a bounded asyncio client (httpx) keeps C
conversations busy for a fixed time, C in 1, 8 and 32: each conversation is one front-desk
session sending, one after the other, ordinary read requests (free slots, a patient's
appointments, a practitioner's day), spread over the replicas round-robin as a load balancer
would. A turn is ``POST /v1/sessions/{id}/turns``: planning, policies, the tool's read, the
session's state and the audit rows written to the backend.

Reported per cell: completed turns per second, p50/p95 latency (ms) of the turns that ended in
the window, errors (non-200 answers or transport errors), and each replica's resident memory
after the run. Every replica answers one warm-up turn of each kind first, so model loading and
first-call costs are outside the window. There are 1,400 distinct requests (7 kinds x 10 days
x 20 people), more than a cell sends, and the workers start evenly spread over them, so a text
is not sent twice within a cell and every turn pays for a fresh encoder pass (the embedder keeps
the last 256 queries in memory), as a stream of real, different requests would.

    .venv/bin/python bench/load.py [--seconds 15] [--concurrency 1 8 32]
                                   [--backends sqlite postgresql] [--replicas 1 2]

Writes ``bench/results/load.json`` and ``bench/results/load.md``. Loopback only; bounded in
count (C workers) and time (``--seconds`` per cell).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import httpx  # noqa: E402

from tests.deployment import Deployment  # noqa: E402

RESULTS = ROOT / "bench" / "results"

# Ordinary front-desk reads, written for this benchmark (not taken from any evaluation set),
# varied by day and person so that nearly every turn is a text the replica has not embedded yet.
TEMPLATES = (
    "which times are open with dr lee on {day} for {person}",
    "does {person} have an appointment {day}",
    "is there anything free {day} afternoon with dr lee for {person}",
    "list the visits {person} has booked, is one {day}?",
    "check dr lee's openings {day} morning, it's for {person}",
    "can {person} see dr lee {day}? what's free",
    "show me {person}'s appointments around {day}",
)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "next monday", "next tuesday",
        "next wednesday", "next thursday", "next friday")
PEOPLE = ("Ana Ruiz", "Omar Haddad", "Liam Chen", "Noor Khan", "Ivy Park", "Kofi Mensah",
          "Sara Novak", "Tomas Silva", "Maria Lopez", "Chen Wei", "Grace Obi", "Pavel Novak",
          "Lena Fischer", "Ahmed Saleh", "Rosa Diaz", "Yuki Tanaka", "Ben Carter", "Mia Rossi",
          "Ola Nowak", "Ravi Shah")
REQUESTS = tuple(t.format(day=d, person=p) for d in DAYS for p in PEOPLE for t in TEMPLATES)


async def _worker(client: httpx.AsyncClient, urls: list[str], token: str, index: int,
                  concurrency: int, stop_at: float, latencies: list[float],
                  errors: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    turn = 0
    offset = index * (len(REQUESTS) // concurrency)
    while time.perf_counter() < stop_at:
        url = urls[(index + turn) % len(urls)]
        text = REQUESTS[(offset + turn) % len(REQUESTS)]
        began = time.perf_counter()
        try:
            response = await client.post(f"{url}/v1/sessions/load-{index}/turns",
                                         json={"text": text}, headers=headers, timeout=60)
            ok = response.status_code == 200
            if not ok:
                errors.append(f"{response.status_code}: {response.text[:200]}")
        except httpx.HTTPError as exc:
            ok = False
            errors.append(f"{type(exc).__name__}: {exc}")
        ended = time.perf_counter()
        if ok and ended <= stop_at:
            latencies.append((ended - began) * 1000)
        turn += 1


async def _cell(urls: list[str], token: str, concurrency: int, seconds: float
                ) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        began = time.perf_counter()
        stop_at = began + seconds
        await asyncio.gather(*(_worker(client, urls, token, i, concurrency, stop_at,
                                       latencies, errors) for i in range(concurrency)))
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0

    return {"concurrency": concurrency, "seconds": seconds, "turns": len(latencies),
            "turns_per_second": round(len(latencies) / seconds, 1),
            "p50_ms": round(statistics.median(ordered), 1) if ordered else 0.0,
            "p95_ms": pct(0.95), "errors": len(errors), "error_samples": errors[:3]}


def _warm(urls: list[str], token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for url in urls:
        for text in REQUESTS[:len(TEMPLATES)]:  # one of each kind: first calls, lazy loads
            response = httpx.post(f"{url}/v1/sessions/warm/turns", json={"text": text},
                                  headers=headers, timeout=120)
            response.raise_for_status()


def run_setting(backend: str, replicas: int, concurrency: list[int], seconds: float
                ) -> list[dict[str, Any]]:
    deployment = Deployment.start(database=backend)
    try:
        started = [deployment.start_replica(f"r{i + 1}", wait=False) for i in range(replicas)]
        for replica in started:
            deployment.wait_ready(replica)
        urls = [r.url for r in started]
        token = deployment.token("frontdesk")
        _warm(urls, token)
        rows = []
        for c in concurrency:
            row = asyncio.run(_cell(urls, token, c, seconds))
            row.update(backend=backend, replicas=replicas,
                       rss_mib=[round(r.rss_mib(), 1) for r in started],
                       load_average=[round(x, 2) for x in os.getloadavg()])
            print(f"{backend:10} x{replicas}  C={c:<3} {row['turns_per_second']:7.1f} turns/s  "
                  f"p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
                  f"errors {row['errors']}  rss {row['rss_mib']}", flush=True)
            rows.append(row)
        return rows
    finally:
        deployment.close()


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| backend | replicas | concurrent sessions | turns/s | p50 ms | p95 ms | errors | "
             "RSS per replica (MiB) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['replicas']} | {r['concurrency']} | "
                     f"{r['turns_per_second']} | {r['p50_ms']} | {r['p95_ms']} | {r['errors']} | "
                     f"{', '.join(str(m) for m in r['rss_mib'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if any(c < 1 or c > 64 for c in args.concurrency) or not 1 <= args.seconds <= 120:
        parser.error("concurrency 1..64 and 1..120 seconds per cell (the run is bounded)")

    rows: list[dict[str, Any]] = []
    for backend in args.backends:
        for replicas in args.replicas:
            rows += run_setting(backend, replicas, args.concurrency, args.seconds)
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(),
               "platform": platform.platform(), "note": "all servers and the client share the "
               "machine's cores; loopback HTTP"}
    result = {"machine": machine, "requests": list(REQUESTS), "seconds_per_cell": args.seconds,
              "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "load.md").write_text(
        "# Load through the HTTP API (bench/load.py)\n\n"
        f"Machine: {machine['cpus']} cores, Python {machine['python']}; servers and client on "
        f"the same machine; {args.seconds:g} s per cell after warm-up.\n\n" + _table(rows) + "\n")
    print(_table(rows))


if __name__ == "__main__":
    main()
