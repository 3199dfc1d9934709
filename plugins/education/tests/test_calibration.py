"""Calibration round trip on a synthetic scored CSV generated here (never real student data)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lamworks_education.calibration import CalibrationModel, fit_calibration, load_calibration
from lamworks_education.cli import edu_cli
from lamworks_education.features import FEATURE_NAMES, EssayFeatures

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


# -- the model itself, on synthetic features (no embedding model needed) ------------------------

def _synthetic(n: int, seed: int, *, states: bool = True
               ) -> tuple[list[EssayFeatures], list[str], list[str], dict[str, list[float]]]:
    """Essays whose score shows in one feature, in the states and in the wording."""
    rng = np.random.default_rng(seed)
    features, texts, prompts, scores = [], [], [], []
    for i in range(n):
        quality = float(rng.random())
        values = {name: float(rng.normal()) for name in FEATURE_NAMES}
        values["mattr"] = quality + 0.1 * float(rng.normal())
        vector = rng.normal(size=384).astype(np.float32)
        vector[:8] += 3 * quality
        features.append(EssayFeatures(values=values, states=vector if states else None))
        texts.append(_essay(random.Random(i), quality))
        prompts.append(f"prompt {i % 5}")
        scores.append(1 + round(8 * quality) / 2)
    return features, texts, prompts, {"language": scores, "overall": scores}


def test_fit_stacks_three_views_and_the_file_round_trips(tmp_path: Path) -> None:
    features, texts, prompts, targets = _synthetic(60, seed=3)
    model = fit_calibration(features, texts, prompts, targets, rubric="argumentative")
    assert list(model.views) == ["features", "ngrams", "states"]
    assert model.weights.shape == (2, 3) and (model.weights >= 0).all()
    assert set(model.meta["alpha"]["states"]) == {"language", "overall"}
    predicted = model.predict(features, texts)
    assert np.corrcoef(predicted[:, 0], targets["language"])[0, 1] > 0.8
    loaded = CalibrationModel.load(model.save(tmp_path / "m.npz"))
    assert list(loaded.views) == list(model.views) and loaded.stretch == model.stretch
    assert np.allclose(loaded.predict(features, texts), predicted, atol=1e-4)


def test_essays_without_states_leave_that_view_out() -> None:
    features, texts, prompts, targets = _synthetic(40, seed=4, states=False)
    model = fit_calibration(features, texts, prompts, targets, rubric="argumentative")
    assert list(model.views) == ["features", "ngrams"]
    assert np.isfinite(model.predict(features, texts)).all()


def test_an_essay_without_states_still_gets_scores() -> None:
    features, texts, prompts, targets = _synthetic(40, seed=5)
    model = fit_calibration(features, texts, prompts, targets, rubric="argumentative")
    bare = EssayFeatures(values=dict(features[0].values))
    scores = model.predict_one(bare, texts[0])
    assert set(scores) == {"language", "overall"}
    assert all(1.0 <= v <= 5.0 for v in scores.values())


def test_a_file_in_the_old_format_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    header = {"rubric": "argumentative", "traits": ["language"], "blend": 0.6, "stretch": {},
              "scale": [1, 5, 0.5], "meta": {}, "feature_names": list(FEATURE_NAMES)}
    np.savez(path, header=np.array(json.dumps(header)), feature_mean=np.zeros(3))
    with pytest.raises(ValueError, match="calibrate` again"):
        CalibrationModel.load(path)


def test_states_come_from_the_same_pass_as_the_sentence_vectors(embedder) -> None:  # noqa: ANN001
    texts = [GOOD, BAD, "A short one."]
    encoded = embedder.encode_with_states(texts)
    assert np.allclose(encoded.vectors, embedder.encode(texts), atol=1e-5)
    assert encoded.states.shape == (3, 384) and (encoded.tokens > 2).all()
    assert not np.allclose(encoded.states, encoded.vectors)
