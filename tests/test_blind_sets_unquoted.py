"""The blind evaluation sets stay blind: no code, comment, docstring or test quotes them.

Any run of six consecutive lower-cased word tokens from a blind utterance (bench/data/blind and
bench/data/conversations) found in a .py file under core/, knowledge/, ui/, a plugin package
(its evals/ folder excluded) or tests/ (this file excluded) fails the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BLIND = [REPO / "bench/data/blind", REPO / "bench/data/conversations"]
N = 6
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _ngrams(text: str) -> set[tuple[str, ...]]:
    tokens = _TOKEN.findall(text.lower())
    return {tuple(tokens[i:i + N]) for i in range(len(tokens) - N + 1)}


def _utterances() -> Iterator[str]:
    for folder in BLIND:
        for path in sorted(folder.rglob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                record = json.loads(line)
                if isinstance(record.get("utterance"), str):
                    yield record["utterance"]
                for turn in record.get("turns", []):
                    if isinstance(turn.get("say"), str):
                        yield turn["say"]


def _sources() -> Iterator[Path]:
    roots = [REPO / "core", REPO / "knowledge", REPO / "ui", REPO / "tests",
             *sorted((REPO / "plugins").glob("*/lamworks_*"))]
    me = Path(__file__).resolve()
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "evals" in path.relative_to(root).parts or path.resolve() == me:
                continue
            yield path


def test_blind_sets_exist() -> None:
    assert sum(1 for _ in _utterances()) > 400


def test_no_source_file_quotes_a_blind_utterance() -> None:
    blind: set[tuple[str, ...]] = set()
    for utterance in _utterances():
        blind |= _ngrams(utterance)
    quoted = []
    for path in _sources():
        hits = _ngrams(path.read_text(encoding="utf-8", errors="replace")) & blind
        if hits:
            quoted.append(f"{path.relative_to(REPO)}: {' '.join(sorted(hits)[0])!r}")
    assert not quoted, "blind evaluation text quoted in:\n" + "\n".join(quoted)
