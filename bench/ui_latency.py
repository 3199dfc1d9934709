"""Request → action card latency in a real browser (issue 15, item 3).

``lamworks ui`` on the demo configuration (a fresh data folder), Debian's Chromium through
Playwright at 1280×800 as the front desk. One warm-up request (it loads the planner's model;
reported apart), then ``--requests`` requests alternating reads ("free slots …", a finished
card) and bookings (a card waiting for "Book it"), each timed from pressing Enter to its card's
status in bold appearing ("Done" / "Waiting for you"), watched in the page on every animation
frame: what a person waits for. Nothing is asserted; the figures and the machine's load go to
``bench/results/ui_latency.json`` and a small table is printed.

    .venv/bin/python bench/ui_latency.py [--requests 10] [--out bench/results/ui_latency.json]

The serving process pins BLAS to one thread (``OPENBLAS_NUM_THREADS=1``, see ENVIRONMENT.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
READS = ["free slots with Dr. Lee on {day}", "what times does Dr. Okafor have on {day}"]
WRITES = ["please get {who} in to see Dr. Lee on {day} morning"]
DAYS = ["Wednesday", "Thursday", "Friday", "Monday"]  # never today: its morning is gone
PEOPLE = ["Ana Ruiz", "Omar Haddad"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "LAMWORKS_DATA_DIR": str(data), "OPENBLAS_NUM_THREADS": "1"}
    log = (data / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "lamworks.cli", "ui", "--config",
                               str(REPO / "examples" / "lamworks.toml"), "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("lamworks ui did not start")


_COUNT = """([status]) => Array.from(document.querySelectorAll("strong"))
    .filter(e => e.textContent.trim() === status).length"""


def _timed(page: Any, text: str, status: str) -> float:
    """Seconds from Enter to one more card whose bold status is ``status``, watched inside the
    page on every animation frame (a poll from Python would add its own round trips)."""
    box = page.get_by_placeholder("Ask lamworks to do something")
    box.fill(text)
    before = page.evaluate(_COUNT, [status])
    refusals = page.evaluate(_COUNT, ["Not done"])
    start = time.perf_counter()
    box.press("Enter")
    try:
        page.wait_for_function(
            f"([s, n, r, m]) => ({_COUNT})([s]) > n || ({_COUNT})([r]) > m",
            arg=[status, before, "Not done", refusals], polling="raf", timeout=120_000)
    except Exception as exc:  # a timeout: say what the reply was
        said = page.locator('[data-testid="stChatMessage"]').last.inner_text()
        raise SystemExit(f"no {status!r} card after {text!r}; the reply: {said[:300]!r}") from exc
    seconds = time.perf_counter() - start
    if page.evaluate(_COUNT, ["Not done"]) > refusals:
        said = page.locator('[data-testid="stChatMessage"]').last.inner_text()
        raise SystemExit(f"refused: {text!r}; the reply: {said[:300]!r}")
    return seconds


def measure(requests: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = _serve(Path(tmp))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.set_default_timeout(120_000)
                page.goto(f"{url}/chat?user=frontdesk", wait_until="networkidle")
                page.get_by_placeholder("Ask lamworks to do something").wait_for()
                warm = _timed(page, "free slots with Dr. Lee on Friday", "Done")
                samples: list[dict[str, Any]] = []
                for i in range(requests):
                    day = DAYS[i % len(DAYS)]
                    if i % 2:
                        text = WRITES[0].format(who=PEOPLE[i % 2], day=day)
                        kind, status = "booking card", "Waiting for you"
                    else:
                        text, kind, status = READS[i // 2 % 2].format(day=day), "read", "Done"
                    seconds = _timed(page, text, status)
                    samples.append({"request": text, "kind": kind,
                                    "ms": round(seconds * 1000, 1)})
                    if kind == "booking card":  # leave no card waiting: the next is fresh
                        page.get_by_role("button", name="Don't book").last.click()
                        page.locator("strong").get_by_text(
                            "Not done: you said no", exact=True).last.wait_for()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    ms = [s["ms"] for s in samples]
    by_kind = {kind: round(statistics.median([s["ms"] for s in samples if s["kind"] == kind]), 1)
               for kind in {s["kind"] for s in samples}}
    return {
        "what": "Enter → card status shown, Chromium 1280×800, lamworks ui (demo config)",
        "requests": len(samples), "p50_ms": round(statistics.median(ms), 1),
        "min_ms": min(ms), "max_ms": max(ms), "p50_ms_by_kind": by_kind,
        "warm_up_ms": round(warm * 1000, 1), "samples": samples,
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                    "python": platform.python_version(), "blas_threads": 1},
        "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ui_latency.json")
    args = parser.parse_args()
    result = measure(args.requests)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"| requests | p50 ms | min ms | max ms | warm-up ms | load (1 min) before/after |\n"
          f"|---|---|---|---|---|---|\n"
          f"| {result['requests']} | {result['p50_ms']} | {result['min_ms']} | "
          f"{result['max_ms']} | {result['warm_up_ms']} | "
          f"{result['machine']['loadavg_before'][0]} / {result['machine']['loadavg_after'][0]} |")
    for kind, p50 in sorted(result["p50_ms_by_kind"].items()):
        print(f"p50 {kind}: {p50} ms")


if __name__ == "__main__":
    main()
