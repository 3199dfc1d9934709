"""Institution calibration: a small per-trait model fitted on the institution's own scored essays.

:func:`fit_calibration` fits, for every trait with human scores, two ridge regressions and blends
them: one over the explainable features of :mod:`lamworks_education.features` (standardised), one
over hashed character n-grams (TF-IDF; they capture spelling, punctuation and phrasing that the
named features miss). The blend weight and, for the holistic score, a spread correction (ridge
shrinks predictions toward the mean, which costs agreement after rounding) are chosen by internal
cross-validation grouped by prompt, so they are estimated on prompts the fold did not see.

The model is plain arrays in one ``.npz`` file (no pickle) under
``<data_dir>/education/calibration/<rubric>.npz``. Nothing fitted ships in the package: without a
file, the scorer uses its documented default thresholds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .features import FEATURE_NAMES, EssayFeatures

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

__all__ = [
    "CalibrationModel",
    "calibration_path",
    "fit_calibration",
    "load_calibration",
    "quadratic_weighted_kappa",
]

NGRAM_FEATURES = 2**16
FEATURE_ALPHA = 3.0
NGRAM_ALPHA = 0.3
BLEND_GRID = (0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
STRETCH_GRID = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)


def calibration_path(data_dir: Path, rubric: str) -> Path:
    """Where the institution's model for ``rubric`` lives."""
    return Path(data_dir) / "education" / "calibration" / f"{rubric}.npz"


def _hashed(texts: Sequence[str]) -> csr_matrix:
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4),
                                   n_features=NGRAM_FEATURES, alternate_sign=False, norm=None,
                                   lowercase=False)
    matrix = vectorizer.transform(list(texts)).tocsr()
    matrix.data = 1.0 + np.log(matrix.data)
    return matrix


def _tfidf(counts: csr_matrix, idf: np.ndarray) -> csr_matrix:
    from sklearn.preprocessing import normalize

    return normalize(counts.multiply(idf).tocsr())


def _idf(counts: csr_matrix) -> np.ndarray:
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    n = counts.shape[0]
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float64)


def quadratic_weighted_kappa(a: Sequence[float], b: Sequence[float], step: float = 0.5) -> float:
    """QWK between two score lists on a scale of ``step`` (values are rounded to it)."""
    from sklearn.metrics import cohen_kappa_score

    x = np.rint(np.asarray(a, dtype=float) / step).astype(int)
    y = np.rint(np.asarray(b, dtype=float) / step).astype(int)
    if len(set(x) | set(y)) < 2:
        return 0.0
    return float(cohen_kappa_score(x, y, weights="quadratic"))


@dataclass
class CalibrationModel:
    """Per-trait blended ridge models; see the module docstring."""

    rubric: str
    traits: list[str]
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    feature_coef: np.ndarray
    feature_intercept: np.ndarray
    idf: np.ndarray
    ngram_coef: np.ndarray
    ngram_intercept: np.ndarray
    blend: float
    stretch: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per trait (centre, factor) applied after the blend (holistic scores only)."""
    scale: tuple[float, float, float] = (1.0, 5.0, 0.5)
    meta: dict[str, Any] = field(default_factory=dict)

    # -- prediction ----------------------------------------------------------------------------

    def predict(self, features: Sequence[EssayFeatures], texts: Sequence[str]) -> np.ndarray:
        """Scores, one row per essay and one column per trait (clipped, not rounded)."""
        matrix = np.vstack([f.vector() for f in features])
        standard = (matrix - self.feature_mean) / self.feature_scale
        by_features = standard @ self.feature_coef.T + self.feature_intercept
        if self.blend < 1.0:
            grams = _tfidf(_hashed(texts), self.idf)
            by_ngrams = np.asarray(grams @ self.ngram_coef.T) + self.ngram_intercept
            out = self.blend * by_features + (1.0 - self.blend) * by_ngrams
        else:
            out = by_features
        for j, trait in enumerate(self.traits):
            if trait in self.stretch:
                centre, factor = self.stretch[trait]
                out[:, j] = centre + (out[:, j] - centre) * factor
        low, high, _step = self.scale
        return np.clip(out, low, high)

    def predict_one(self, features: EssayFeatures, text: str) -> dict[str, float]:
        row = self.predict([features], [text])[0]
        return {trait: float(v) for trait, v in zip(self.traits, row, strict=True)}

    # -- storage -------------------------------------------------------------------------------

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"rubric": self.rubric, "traits": self.traits, "blend": self.blend,
                  "stretch": self.stretch, "scale": list(self.scale), "meta": self.meta,
                  "feature_names": list(FEATURE_NAMES), "ngram_features": NGRAM_FEATURES}
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, header=np.array(json.dumps(header)),
                            feature_mean=self.feature_mean, feature_scale=self.feature_scale,
                            feature_coef=self.feature_coef,
                            feature_intercept=self.feature_intercept,
                            idf=self.idf.astype(np.float32),
                            ngram_coef=self.ngram_coef.astype(np.float32),
                            ngram_intercept=self.ngram_intercept)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> CalibrationModel:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            if header["feature_names"] != list(FEATURE_NAMES):
                raise ValueError(f"{path} was fitted on other features; run "
                                 "`lamworks edu calibrate` again")
            return cls(rubric=header["rubric"], traits=header["traits"],
                       feature_mean=data["feature_mean"], feature_scale=data["feature_scale"],
                       feature_coef=data["feature_coef"],
                       feature_intercept=data["feature_intercept"],
                       idf=data["idf"].astype(np.float64),
                       ngram_coef=data["ngram_coef"].astype(np.float64),
                       ngram_intercept=data["ngram_intercept"], blend=float(header["blend"]),
                       stretch={k: (float(v[0]), float(v[1]))
                                for k, v in header["stretch"].items()},
                       scale=tuple(header["scale"]),  # type: ignore[arg-type]
                       meta=header["meta"])


def load_calibration(data_dir: Path, rubric: str) -> CalibrationModel | None:
    """The institution's model for ``rubric``, or None when it has not calibrated one."""
    path = calibration_path(data_dir, rubric)
    return CalibrationModel.load(path) if path.exists() else None


def _fit_arrays(matrix: np.ndarray, grams: csr_matrix, targets: np.ndarray
                ) -> tuple[np.ndarray, ...]:
    from sklearn.linear_model import Ridge

    mean = matrix.mean(axis=0)
    scale = matrix.std(axis=0)
    scale[scale < 1e-9] = 1.0
    standard = (matrix - mean) / scale
    f_model = Ridge(alpha=FEATURE_ALPHA).fit(standard, targets)
    idf = _idf(grams)
    g_model = Ridge(alpha=NGRAM_ALPHA).fit(_tfidf(grams, idf), targets)
    return (mean, scale, np.atleast_2d(f_model.coef_), np.atleast_1d(f_model.intercept_), idf,
            np.atleast_2d(g_model.coef_), np.atleast_1d(g_model.intercept_))


def _folds(groups: Sequence[str], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold, KFold

    distinct = len(set(groups))
    if distinct >= 3:
        return list(GroupKFold(n_splits=min(5, distinct)).split(np.zeros(n), groups=groups))
    return list(KFold(n_splits=min(5, n), shuffle=True, random_state=0).split(np.zeros(n)))


def fit_calibration(features: Sequence[EssayFeatures], texts: Sequence[str],
                    prompts: Sequence[str], targets: Mapping[str, Sequence[float]], *,
                    rubric: str, scale: tuple[float, float, float] = (1.0, 5.0, 0.5),
                    holistic: Sequence[str] = ("overall",)) -> CalibrationModel:
    """Fit on essays with human ``targets`` (trait key → scores, one per essay).

    ``prompts`` group the essays for the internal cross-validation (essays of one prompt never
    sit on both sides of a fold). At least ten essays are needed.
    """
    n = len(features)
    if n < 10:
        raise ValueError(f"calibration needs at least 10 scored essays, got {n}")
    traits = list(targets)
    y = np.column_stack([np.asarray(targets[t], dtype=float) for t in traits])
    matrix = np.vstack([f.vector() for f in features])
    grams = _hashed(texts)
    oof_f = np.zeros_like(y)
    oof_g = np.zeros_like(y)
    for train, test in _folds(prompts, n):
        mean, sd, fc, fi, idf, gc, gi = _fit_arrays(matrix[train], grams[train], y[train])
        oof_f[test] = ((matrix[test] - mean) / sd) @ fc.T + fi
        oof_g[test] = np.asarray(_tfidf(grams[test], idf) @ gc.T) + gi
    low, high, step = scale

    def rmse(pred: np.ndarray) -> float:
        return float(np.sqrt(((np.clip(pred, low, high) - y) ** 2).mean(axis=0)).mean())

    blend = min(BLEND_GRID, key=lambda w: rmse(w * oof_f + (1 - w) * oof_g))
    oof = blend * oof_f + (1 - blend) * oof_g
    stretch: dict[str, tuple[float, float]] = {}
    for j, trait in enumerate(traits):
        if trait not in holistic:
            continue
        centre = float(y[:, j].mean())
        best = max(STRETCH_GRID, key=lambda k, j=j, c=centre: quadratic_weighted_kappa(
            y[:, j], np.clip(c + (oof[:, j] - c) * k, low, high), step))
        stretch[trait] = (centre, float(best))
    mean, sd, fc, fi, idf, gc, gi = _fit_arrays(matrix, grams, y)
    meta = {"essays": n, "prompts": len(set(prompts)),
            "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "cv_rmse": {t: round(float(math.sqrt(((np.clip(oof[:, j], low, high)
                                                   - y[:, j]) ** 2).mean())), 4)
                        for j, t in enumerate(traits)}}
    return CalibrationModel(rubric=rubric, traits=traits, feature_mean=mean, feature_scale=sd,
                            feature_coef=fc, feature_intercept=fi, idf=idf, ngram_coef=gc,
                            ngram_intercept=gi, blend=blend, stretch=stretch, scale=scale,
                            meta=meta)
