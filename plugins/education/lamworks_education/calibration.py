"""Institution calibration: a small per-trait model fitted on the institution's own scored essays.

The model
---------
:func:`fit_calibration` fits, for every trait with human scores, one ridge regression on each of
up to three *views* of an essay and stacks them:

``features``
    The explainable features of :mod:`lamworks_education.features` (standardised).
``ngrams``
    Hashed character n-grams (1–4 characters, sub-linear TF-IDF, unit norm): spelling,
    punctuation and phrasing that the named features miss.
``states``
    The essay's mean token state at an intermediate layer of the sentence-embedding model
    (standardised; see :mod:`lamworks_education.embedding`): word choice, word order and errors
    as the language model reads them. Used only when every calibration essay has states, that is
    when the features were measured with the real embedding model.

A trait's score is ``offset + Σ weight[view] × ridge[view](essay)`` with non-negative weights,
then clipped to the scale. For the holistic score a spread correction follows: ridge shrinks
predictions toward the mean, which costs agreement once scores are rounded to the scale, so
predictions are stretched about the calibration mean by a factor of 1–1.5.

Everything is chosen by cross-validation grouped by prompt inside the calibration essays (essays
of one prompt never sit on both sides of a fold), so it is estimated on prompts the fold did not
see: each view's ridge penalty per trait (from the fixed grids in :data:`ALPHA_GRID`, by
out-of-fold RMSE), the stacking weights and offset (non-negative least squares on the
out-of-fold predictions) and the stretch factor (out-of-fold quadratic weighted kappa).

The essay's final-layer sentence embedding (``EssayFeatures.embedding``) is not a view: it
encodes what the essay says rather than how it is written, and as a fourth view it did not lower
the cross-validated error on ELLIPSE (``bench/essays.py``).

The model is plain arrays in one ``.npz`` file (no pickle) under
``<data_dir>/education/calibration/<rubric>.npz``, with a JSON header; a file written by an
older format, or fitted on other features, is refused with a message to calibrate again. Nothing
fitted ships in the package: without a file, the scorer uses its documented default thresholds.
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

from .embedding import STATE_LAYER
from .features import FEATURE_NAMES, EssayFeatures

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

__all__ = [
    "ALPHA_GRID",
    "VIEWS",
    "CalibrationModel",
    "RidgeView",
    "calibration_path",
    "fit_calibration",
    "load_calibration",
    "quadratic_weighted_kappa",
]

FORMAT = 2
"""Version of the ``.npz`` layout; 1 was the two-view blend without a format field."""
VIEWS = ("features", "ngrams", "states")
NGRAM_FEATURES = 2**16
ALPHA_GRID: dict[str, tuple[float, ...]] = {
    "features": (1.0, 3.0, 10.0, 30.0),
    "ngrams": (0.1, 0.3, 1.0, 3.0),
    "states": (100.0, 300.0, 1000.0, 3000.0),
}
"""Ridge penalties tried per view (fixed a priori; the inputs of each view differ in scale)."""
STRETCH_GRID = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)


def calibration_path(data_dir: Path, rubric: str) -> Path:
    """Where the institution's model for ``rubric`` lives."""
    return Path(data_dir) / "education" / "calibration" / f"{rubric}.npz"


def _hashed(texts: Sequence[str]) -> csr_matrix:
    """Character n-gram counts (log-scaled), hashed to :data:`NGRAM_FEATURES` columns."""
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


def _raw_inputs(view: str, features: Sequence[EssayFeatures], texts: Sequence[str],
                fill: np.ndarray | None = None) -> Any:
    """A view's inputs before standardisation or TF-IDF: one row per essay.

    For ``states``, an essay without states gets ``fill`` (at prediction: the calibration mean,
    so that view contributes its average); with no ``fill`` the result is None if any is missing.
    """
    if view == "features":
        return np.vstack([f.vector() for f in features])
    if view == "ngrams":
        return _hashed(texts)
    if view == "states":
        rows: list[np.ndarray] = []
        for f in features:
            if f.states is not None:
                rows.append(np.asarray(f.states, dtype=np.float64))
            elif fill is not None:
                rows.append(fill)
            else:
                return None
        return np.vstack(rows)
    raise ValueError(f"unknown view {view!r}")


@dataclass
class RidgeView:
    """One view's ridge regressions: ``coef`` has one row per trait.

    Dense views are standardised with ``mean`` and ``scale`` first; the n-gram view is weighted
    by ``idf`` and scaled to unit norm. ``alpha`` records each trait's penalty.
    """

    coef: np.ndarray
    intercept: np.ndarray
    alpha: np.ndarray
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    idf: np.ndarray | None = None

    def transform(self, raw: Any) -> Any:
        if self.idf is not None:
            return _tfidf(raw, self.idf)
        assert self.mean is not None and self.scale is not None
        return (raw - self.mean) / self.scale

    def predict(self, raw: Any) -> np.ndarray:
        """Per-trait predictions, one row per essay, from this view's raw inputs."""
        out: np.ndarray = np.asarray(self.transform(raw) @ self.coef.T) + self.intercept
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"coef": self.coef.astype(np.float32), "intercept": self.intercept,
               "alpha": self.alpha}
        for name in ("mean", "scale", "idf"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.astype(np.float32) if name == "idf" else value
        return out

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray], prefix: str) -> RidgeView:
        def get(name: str) -> np.ndarray | None:
            key = f"{prefix}.{name}"
            return data[key].astype(np.float64) if key in data else None

        coef, intercept, alpha = get("coef"), get("intercept"), get("alpha")
        assert coef is not None and intercept is not None and alpha is not None
        return cls(coef=coef, intercept=intercept, alpha=alpha, mean=get("mean"),
                   scale=get("scale"), idf=get("idf"))


def _fit_view(view: str, raw: Any, targets: np.ndarray, alphas: np.ndarray) -> RidgeView:
    """Fit one view on raw inputs; trait ``j`` gets penalty ``alphas[j]``."""
    from sklearn.linear_model import Ridge

    if view == "ngrams":
        model = RidgeView(coef=np.empty(0), intercept=np.empty(0), alpha=alphas, idf=_idf(raw))
    else:
        scale = raw.std(axis=0)
        scale[scale < 1e-9] = 1.0
        model = RidgeView(coef=np.empty(0), intercept=np.empty(0), alpha=alphas,
                          mean=raw.mean(axis=0), scale=scale)
    inputs = model.transform(raw)
    coef = np.zeros((targets.shape[1], inputs.shape[1]))
    intercept = np.zeros(targets.shape[1])
    for alpha in np.unique(alphas):
        columns = alphas == alpha
        ridge = Ridge(alpha=float(alpha)).fit(inputs, targets[:, columns])
        coef[columns] = np.atleast_2d(ridge.coef_)
        intercept[columns] = np.atleast_1d(ridge.intercept_)
    model.coef, model.intercept = coef, intercept
    return model


@dataclass
class CalibrationModel:
    """Per-trait ridge regressions on several views of an essay, stacked; see the module
    docstring. ``weights`` has one row per trait and one column per view in ``views``."""

    rubric: str
    traits: list[str]
    views: dict[str, RidgeView]
    weights: np.ndarray
    offset: np.ndarray
    stretch: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per trait (centre, factor) applied after stacking (holistic scores only)."""
    scale: tuple[float, float, float] = (1.0, 5.0, 0.5)
    meta: dict[str, Any] = field(default_factory=dict)

    # -- prediction ----------------------------------------------------------------------------

    def predict(self, features: Sequence[EssayFeatures], texts: Sequence[str]) -> np.ndarray:
        """Scores, one row per essay and one column per trait (clipped, not rounded)."""
        out = np.tile(self.offset, (len(features), 1)).astype(np.float64)
        for k, (name, view) in enumerate(self.views.items()):
            raw = _raw_inputs(name, features, texts, fill=view.mean)
            out += view.predict(raw) * self.weights[:, k]
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
        header = {"format": FORMAT, "rubric": self.rubric, "traits": self.traits,
                  "views": list(self.views), "stretch": self.stretch, "scale": list(self.scale),
                  "meta": self.meta, "feature_names": list(FEATURE_NAMES),
                  "ngram_features": NGRAM_FEATURES, "state_layer": STATE_LAYER}
        arrays: dict[str, Any] = {"header": np.array(json.dumps(header)),
                                  "weights": self.weights, "offset": self.offset}
        arrays.update({f"{name}.{key}": value for name, view in self.views.items()
                       for key, value in view.arrays().items()})
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> CalibrationModel:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            again = "run `lamworks edu calibrate` again"
            found = header.get("format", 1)
            if found != FORMAT:
                raise ValueError(f"{path} was written in calibration format {found}, this "
                                 f"version reads format {FORMAT}; {again}")
            if header["feature_names"] != list(FEATURE_NAMES):
                raise ValueError(f"{path} was fitted on other features; {again}")
            if "states" in header["views"] and header["state_layer"] != STATE_LAYER:
                raise ValueError(f"{path} was fitted on other embedding-model states; {again}")
            arrays = {key: data[key] for key in data.files}
        return cls(rubric=header["rubric"], traits=header["traits"],
                   views={name: RidgeView.from_arrays(arrays, name) for name in header["views"]},
                   weights=arrays["weights"], offset=arrays["offset"],
                   stretch={k: (float(v[0]), float(v[1])) for k, v in header["stretch"].items()},
                   scale=tuple(header["scale"]),
                   meta=header["meta"])


def load_calibration(data_dir: Path, rubric: str) -> CalibrationModel | None:
    """The institution's model for ``rubric``, or None when it has not calibrated one."""
    path = calibration_path(data_dir, rubric)
    return CalibrationModel.load(path) if path.exists() else None


def _folds(groups: Sequence[str], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold, KFold

    distinct = len(set(groups))
    if distinct >= 3:
        return list(GroupKFold(n_splits=min(5, distinct)).split(np.zeros(n), groups=groups))
    return list(KFold(n_splits=min(5, n), shuffle=True, random_state=0).split(np.zeros(n)))


def _out_of_fold(view: str, raw: Any, y: np.ndarray,
                 folds: list[tuple[np.ndarray, np.ndarray]], scale: tuple[float, float, float]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each trait's best penalty from the view's grid and its out-of-fold predictions."""
    low, high, _step = scale
    best_error = np.full(y.shape[1], np.inf)
    best_alpha = np.zeros(y.shape[1])
    best_oof = np.zeros_like(y)
    for alpha in ALPHA_GRID[view]:
        oof = np.zeros_like(y)
        alphas = np.full(y.shape[1], alpha)
        for train, test in folds:
            oof[test] = _fit_view(view, raw[train], y[train], alphas).predict(raw[test])
        error = np.sqrt(((np.clip(oof, low, high) - y) ** 2).mean(axis=0))
        better = error < best_error
        best_error[better], best_alpha[better] = error[better], alpha
        best_oof[:, better] = oof[:, better]
    return best_alpha, best_oof


def _stack(oof: list[np.ndarray], y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per trait, non-negative view weights and an offset by least squares on ``oof``."""
    from scipy.optimize import nnls

    weights = np.zeros((y.shape[1], len(oof)))
    offset = np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        predictions = np.column_stack([o[:, j] for o in oof])
        centre = predictions.mean(axis=0)
        weights[j], _residual = nnls(predictions - centre, y[:, j] - y[:, j].mean())
        offset[j] = y[:, j].mean() - centre @ weights[j]
    return weights, offset


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
    folds = _folds(prompts, n)
    low, high, step = scale
    raws: dict[str, Any] = {}
    alphas: dict[str, np.ndarray] = {}
    oofs: list[np.ndarray] = []
    for view in VIEWS:
        raw = _raw_inputs(view, features, texts)
        if raw is None:
            continue
        raws[view] = raw
        alphas[view], oof = _out_of_fold(view, raw, y, folds, scale)
        oofs.append(oof)
    weights, offset = _stack(oofs, y)
    stacked = offset + sum(o * weights[:, k] for k, o in enumerate(oofs))
    stretch: dict[str, tuple[float, float]] = {}
    for j, trait in enumerate(traits):
        if trait not in holistic:
            continue
        centre = float(y[:, j].mean())
        best = max(STRETCH_GRID, key=lambda k, j=j, c=centre: quadratic_weighted_kappa(
            y[:, j], np.clip(c + (stacked[:, j] - c) * k, low, high), step))
        stretch[trait] = (centre, float(best))
    views = {view: _fit_view(view, raw, y, alphas[view]) for view, raw in raws.items()}
    meta = {"essays": n, "prompts": len(set(prompts)),
            "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "cv_rmse": {t: round(float(math.sqrt(((np.clip(stacked[:, j], low, high)
                                                   - y[:, j]) ** 2).mean())), 4)
                        for j, t in enumerate(traits)},
            "alpha": {view: dict(zip(traits, map(float, a), strict=True))
                      for view, a in alphas.items()},
            "weights": {t: {view: round(float(weights[j, k]), 4)
                            for k, view in enumerate(views)} for j, t in enumerate(traits)}}
    return CalibrationModel(rubric=rubric, traits=traits, views=views, weights=weights,
                            offset=offset, stretch=stretch, scale=scale, meta=meta)
