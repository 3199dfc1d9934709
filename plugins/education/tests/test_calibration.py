"""Calibration round trip on a synthetic scored CSV generated here (never real student data)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamworks_education.calibration import load_calibration
from lamworks_education.cli import edu_cli

GOOD = ("Furthermore, researchers have demonstrated that consistent practice significantly "
        "improves comprehension. Consequently, students benefit from structured routines.")
BAD = "i think it good becuase alot of peoples dont like it and they was happy"


def _essay(rng: random.Random, quality: float) -> str:
    sentences = [GOOD if rng.random() < quality else BAD for _ in range(12)]
    return "\n\n".join(" ".join(sentences[i:i + 3]) for i in range(0, 12, 3))


def _write_csv(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "prompt", "ideas", "organization", "evidence",
                         "language", "conventions"])
        for i in range(n):
            quality = rng.random()
            score = 1 + round(4 * quality)
            writer.writerow([f"e{i}", _essay(rng, quality), f"prompt {i % 4}",
                             score, score, score, score, score])


@pytest.fixture
def config_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_factory) -> Path:  # noqa: ANN001
    path = config_factory(tmp_path)
    monkeypatch.setenv("LAMWORKS_CONFIG", str(path))
    return tmp_path / "data"


def test_calibrate_then_score_uses_the_institution_model(config_env: Path,
                                                         tmp_path: Path) -> None:
    scored, klass, out = tmp_path / "scored.csv", tmp_path / "class.csv", tmp_path / "out.csv"
    _write_csv(scored, 60, seed=1)
    _write_csv(klass, 8, seed=2)
    runner = CliRunner()
    result = runner.invoke(edu_cli, ["calibrate", "--essays", str(scored),
                                     "--rubric", "argumentative"])
    assert result.exit_code == 0, result.output
    model = load_calibration(config_env, "argumentative")
    assert model is not None and model.traits == ["ideas", "organization", "evidence",
                                                  "language", "conventions"]
    assert model.meta["essays"] == 60
    result = runner.invoke(edu_cli, ["score", "--essays", str(klass), "--rubric",
                                     "argumentative", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "(calibrated)" in result.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 8
    assert set(rows[0]) >= {"id", "overall", "ideas", "organization", "evidence", "language",
                            "conventions"}
    # The calibrated model learned that the good sentences mean high scores.
    truth = {r["id"]: r for r in csv.DictReader(klass.read_text().splitlines())}
    pairs = sorted((float(truth[r["id"]]["ideas"]), float(r["ideas"])) for r in rows)
    assert pairs[-1][1] > pairs[0][1]


def test_calibrate_without_score_columns_fails_clearly(config_env: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,text\n1,hello there\n")
    result = CliRunner().invoke(edu_cli, ["calibrate", "--essays", str(path)])
    assert result.exit_code != 0
    assert "no score columns" in result.output
