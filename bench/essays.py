"""Validate the essay scorer against human scores, on prompts the calibration never saw.

Usage::

    .venv/bin/python bench/essays.py --data ../shared/data/ellipse-dev

Reads ``essays.csv`` from the scored set (ELLIPSE columns: prompt, full_text, Overall and six
analytic traits on 1.0–5.0). The prompts are split in two (seeded): the scorer is calibrated with
``lamworks_education.calibration`` on the essays of one part and reports on the rest — QWK and
Pearson r on Overall, MCRMSE over the six analytic traits, per-trait RMSE and seconds per essay,
next to a constant predictor (each trait's calibration mean) and the uncalibrated defaults. A
5-fold cross-validation grouped by prompt over all essays is reported too (each fold calibrates
on four fifths of the prompts). Every choice the model makes (penalties, view weights, stretch)
is made inside ``fit_calibration`` by its own cross-validation on the calibration essays: the
held-out prompts are only scored. Prints a table and writes ``bench/results/essays.json``
(``--out`` for other seeds). The data set is never copied: only its path is read.

Settings: BLAS pinned to one thread (``OPENBLAS_NUM_THREADS=1``), torch threads at default.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

TRAITS = ("Cohesion", "Syntax", "Vocabulary", "Phraseology", "Grammar", "Conventions")
ALL = (*TRAITS, "Overall")
RESULTS = Path(__file__).parent / "results" / "essays.json"


def _metrics(pred: np.ndarray, gold: np.ndarray) -> dict[str, object]:
    from lamworks_education.calibration import quadratic_weighted_kappa

    pred = np.clip(pred, 1.0, 5.0)
    rmse = np.sqrt(((pred - gold) ** 2).mean(axis=0))
    overall = ALL.index("Overall")
    snapped = np.rint(pred[:, overall] * 2) / 2
    r = (float(np.corrcoef(pred[:, overall], gold[:, overall])[0, 1])
         if np.std(pred[:, overall]) > 0 else 0.0)
    return {"qwk_overall": round(quadratic_weighted_kappa(gold[:, overall], snapped), 4),
            "pearson_overall": round(r, 4),
            "mcrmse": round(float(rmse[: len(TRAITS)].mean()), 4),
            "rmse": {t: round(float(v), 4) for t, v in zip(ALL, rmse, strict=True)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="folder with essays.csv (e.g. ../shared/data/ellipse-dev)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibration-share", type=float, default=0.6)
    parser.add_argument("--timing-sample", type=int, default=60)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    csv_path = args.data / "essays.csv"
    if not csv_path.exists():
        print(f"No scored essays at {csv_path}: the data set is not here, so nothing was "
              "measured. Pass --data with the folder that holds essays.csv.", file=sys.stderr)
        return 2

    import pandas as pd

    from lamworks_education.calibration import fit_calibration
    from lamworks_education.embedding import default_embedder
    from lamworks_education.features import extract_features
    from lamworks_education.rubrics import get_rubric
    from lamworks_education.scorer import score_essay, score_features

    frame = pd.read_csv(csv_path)
    texts = frame["full_text"].astype(str).tolist()
    prompts = frame["prompt"].astype(str).tolist()
    gold = frame[list(ALL)].to_numpy(dtype=float)
    rubric = get_rubric("ell")

    prompt_names = sorted(set(prompts))
    random.Random(args.seed).shuffle(prompt_names)
    calib_prompts: set[str] = set()
    target = args.calibration_share * len(texts)
    for name in prompt_names:
        if sum(p in calib_prompts for p in prompts) >= target:
            break
        calib_prompts.add(name)
    train = np.array([p in calib_prompts for p in prompts])
    test = ~train

    embedder = default_embedder()
    started = time.perf_counter()
    features = [extract_features(t, p, embedder) for t, p in zip(texts, prompts, strict=True)]
    feature_seconds = (time.perf_counter() - started) / len(texts)

    def fit(indices: np.ndarray):  # noqa: ANN202 - local helper
        keys = [k.lower() for k in ALL]
        return fit_calibration([features[i] for i in indices], [texts[i] for i in indices],
                               [prompts[i] for i in indices],
                               {k: gold[indices, j] for j, k in enumerate(keys)},
                               rubric="ell", scale=(1.0, 5.0, 0.5))

    def predict(model, indices: np.ndarray) -> np.ndarray:  # noqa: ANN001
        return model.predict([features[i] for i in indices], [texts[i] for i in indices])

    train_idx, test_idx = np.flatnonzero(train), np.flatnonzero(test)
    started = time.perf_counter()
    model = fit(train_idx)
    fit_seconds = time.perf_counter() - started
    held_out = _metrics(predict(model, test_idx), gold[test_idx])
    constant = _metrics(np.tile(gold[train_idx].mean(axis=0), (len(test_idx), 1)),
                        gold[test_idx])
    default_pred = np.array([[score_features(features[i], rubric).scores()[k.lower()]
                              for k in ALL] for i in test_idx])
    defaults = _metrics(default_pred, gold[test_idx])

    from sklearn.model_selection import GroupKFold

    oof = np.zeros_like(gold)
    for tr, te in GroupKFold(n_splits=5).split(texts, groups=prompts):
        oof[te] = predict(fit(tr), te)
    grouped_cv = _metrics(oof, gold)

    sample = test_idx[: args.timing_sample]
    timings = []
    for i in sample:
        t0 = time.perf_counter()
        score_essay(texts[i], rubric, prompts[i], embedder=embedder, model=model)
        timings.append(time.perf_counter() - t0)

    result = {
        "data": str(args.data), "essays": len(texts), "prompts": len(prompt_names),
        "split": {"seed": args.seed, "calibration_essays": int(train.sum()),
                  "calibration_prompts": len(calib_prompts), "held_out_essays": int(test.sum()),
                  "held_out_prompts": len(prompt_names) - len(calib_prompts)},
        "held_out": held_out, "constant_baseline": constant, "uncalibrated_defaults": defaults,
        "grouped_5fold_cv": grouped_cv, "views": list(model.views),
        "view_weights": model.meta["weights"], "ridge_alpha": model.meta["alpha"],
        "stretch": model.stretch,
        "seconds_per_essay": {"end_to_end_median": round(statistics.median(timings), 3),
                              "end_to_end_mean": round(statistics.fmean(timings), 3),
                              "end_to_end_max": round(max(timings), 3),
                              "feature_pass_mean": round(feature_seconds, 3),
                              "calibration_fit_total": round(fit_seconds, 2)},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")},
        "targets": {"mcrmse_max": 0.50, "qwk_overall_min": 0.60, "seconds_per_essay_max": 1.0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    rows = [("calibrated, held-out prompts", held_out),
            ("constant predictor (calibration means)", constant),
            ("uncalibrated default thresholds", defaults),
            ("calibrated, 5-fold CV grouped by prompt", grouped_cv)]
    print(f"ELLIPSE dev: {len(texts)} essays, {len(prompt_names)} prompts; calibration on "
          f"{int(train.sum())} essays / {len(calib_prompts)} prompts, held out "
          f"{int(test.sum())} essays / {len(prompt_names) - len(calib_prompts)} unseen prompts")
    header = f"{'':42s} {'QWK':>6s} {'r':>6s} {'MCRMSE':>7s} " + " ".join(
        f"{t[:5]:>6s}" for t in ALL)
    print(header)
    for name, m in rows:
        rmse = m["rmse"]
        assert isinstance(rmse, dict)
        print(f"{name:42s} {m['qwk_overall']:6.3f} {m['pearson_overall']:6.3f} "
              f"{m['mcrmse']:7.4f} " + " ".join(f"{rmse[t]:6.3f}" for t in ALL))
    s = result["seconds_per_essay"]
    print(f"seconds per essay (end to end, {len(sample)} held-out essays): median "
          f"{s['end_to_end_median']}, mean {s['end_to_end_mean']}, max {s['end_to_end_max']}; "
          f"calibration fit {s['calibration_fit_total']} s")
    print("views (weights on Overall): " + ", ".join(
        f"{view} {weight}" for view, weight in model.meta["weights"]["overall"].items()))
    print(f"targets: MCRMSE <= 0.50, QWK >= 0.60, < 1 s/essay -> wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
