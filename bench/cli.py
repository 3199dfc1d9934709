"""How long the ``lamworks`` command takes, start to exit, as a person at a terminal sees it.

Each command runs as a fresh process (``subprocess``), ``--runs`` times (default 5) after one
unmeasured run (so the files are in the page cache), in interleaved rounds (each round runs every
command once, so that all see the same load on a shared machine); the table gives the median and
the fastest run, and, as the floor for the same machine at the same time, a bare ``python -c
pass`` and a minimal typer application with Markdown help (what any typer CLI costs before it
does anything: note that it builds its two commands eagerly, as typer does).

    .venv/bin/python bench/cli.py [--runs 5] [--no-ask]

Commands: ``lamworks --help`` without a configuration (nothing to load but the CLI), ``lamworks
--help`` with the example configuration (it lists the plugins' declared command groups without
importing them), ``lamworks plugins`` (loads the plugins, no model), and ``lamworks ask`` with a
demo user on a fresh copy of the example institution's data folder per run (loads the plugins and
the planner's model, plans and answers one request). Writes ``bench/results/cli.json`` and
``cli.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LAMWORKS = str(Path(sys.executable).with_name("lamworks"))
EXAMPLE = str(ROOT / "examples" / "lamworks.toml")
TYPER_FLOOR = """
import typer
app = typer.Typer(help="floor", add_completion=False, rich_markup_mode="markdown")
@app.command()
def one(x: int = 1) -> None:
    "A command."
@app.command()
def two(x: int = 1) -> None:
    "Another command."
app(prog_name="floor")
"""


def _once(argv: list[str], env: dict[str, str], fresh_data: bool) -> tuple[float, int]:
    """Seconds from start to exit of one run, and its exit code."""
    run_env = dict(env)
    folder = None
    if fresh_data:
        folder = tempfile.mkdtemp(prefix="lamworks-cli-bench-")
        run_env["LAMWORKS_DATA_DIR"] = folder
    began = time.perf_counter()
    done = subprocess.run(argv, env=run_env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(), check=False)
    elapsed = time.perf_counter() - began
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
    return elapsed, done.returncode


def _summary(seconds: list[float], codes: set[int]) -> dict[str, Any]:
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3),
            "runs": len(seconds), "exit_codes": sorted(codes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-ask", action="store_true", help="skip the slow ask timing")
    args = parser.parse_args()

    # Bytecode as an installed package has it: the warm run writes what
    # PYTHONDONTWRITEBYTECODE would otherwise leave stale (an edited module recompiled each run).
    base = {k: v for k, v in os.environ.items()
            if k not in ("LAMWORKS_CONFIG", "PYTHONDONTWRITEBYTECODE")}
    base.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    with_config = {**base, "LAMWORKS_CONFIG": EXAMPLE}
    cases: list[tuple[str, list[str], dict[str, str], bool]] = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"], base, False),
        ("typer app --help (floor)", [sys.executable, "-c", TYPER_FLOOR, "--help"], base, False),
        ("lamworks --help (no configuration)", [LAMWORKS, "--help"], base, False),
        ("lamworks --help (example configuration)", [LAMWORKS, "--help"], with_config, False),
        ("lamworks plugins", [LAMWORKS, "plugins"], with_config, False),
    ]
    if not args.no_ask:
        cases.append(("lamworks ask (model load + one request)",
                      [LAMWORKS, "ask", "what are the clinic's opening times?", "--user",
                       "frontdesk"], with_config, True))
    load_before = list(os.getloadavg())
    seconds: dict[str, list[float]] = {name: [] for name, *_ in cases}
    codes: dict[str, set[int]] = {name: set() for name, *_ in cases}
    # Interleaved: each round runs every command once, so the floors and the commands see the
    # same load (the machine is shared); round 0 only warms the page cache and the bytecode.
    for round_index in range(args.runs + 1):
        for name, argv, env, fresh in cases:
            elapsed, code = _once(argv, env, fresh)
            codes[name].add(code)
            if round_index:
                seconds[name].append(elapsed)
    rows = []
    for name, *_ in cases:
        row = {"command": name, **_summary(seconds[name], codes[name])}
        print(f"{name:45} median {row['median_s']:6.2f} s  min {row['min_s']:6.2f} s  "
              f"exit {row['exit_codes']}", flush=True)
        rows.append(row)
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(),
               "platform": platform.platform(), "load_average_before": load_before,
               "load_average": list(os.getloadavg())}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cli.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2)
                                      + "\n")
    table = ["| command | median s | fastest s | exit codes |", "|---|---|---|---|"]
    table += [f"| {r['command']} | {r['median_s']} | {r['min_s']} | {r['exit_codes']} |"
              for r in rows]
    (RESULTS / "cli.md").write_text(
        "# CLI wall time (bench/cli.py)\n\n"
        f"Machine: {machine['cpus']} cores, load average (1 min) {load_before[0]:.2f} at the "
        f"start and {machine['load_average'][0]:.2f} at the end; {args.runs} runs each after "
        "one warm run. Compare a command with the floors of the same run.\n\n"
        + "\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
