"""K-fold out-of-fold scores over every training row: what a language's choices are made on.

A language other than English chooses its thresholds, its whole-text-or-sentences decision and
its operating points on scores of rows the scoring model never saw. Instead of a 10% validation
split (a few hundred rows per class), every training row is scored by a model fitted on the
other folds, through the decision path (`Moderation(Classifier(...))`, whole texts and
sentences, as a site's comments are scored); the final model is then fitted on every
training row. The Platt sigmoid of each category is fitted once on the pooled out-of-fold
whole-text decision values (as scikit-learn's CalibratedClassifierCV with ensemble=False) and
is shared by every fold model and by the final model, so the scores the thresholds are chosen
on and the scores the final model gives are on one scale.

The official test split is never a fold: only rows whose split is TRAIN are assigned one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from training.datasets import Example

#: Folds for a language other than English (`python -m training train --folds`).
FOLDS = 5


def assign_folds(examples: Sequence[Example], k: int, seed: int) -> np.ndarray:
    """Fold number (0 to k-1) of each TRAINING row, -1 for every other row.

    Seeded and stratified by dataset and toxicity label (labelled 1, 0 or unlabelled), like
    the validation split. A counterfactual copy goes to its original's fold, so no copy of a
    held-out row is fitted on.
    """
    from sklearn.model_selection import StratifiedKFold

    from training.datasets import TRAIN

    if k < 2:
        raise ValueError("out-of-fold scoring needs at least 2 folds")
    rows = [i for i, e in enumerate(examples) if e.split == TRAIN]
    fold = np.full(len(examples), -1, dtype=int)
    if len(rows) < k:
        raise ValueError(f"{len(rows)} training rows cannot make {k} folds")
    keys = [
        f"{examples[i].source}|"
        + ("nan" if math.isnan(examples[i].labels[0]) else str(examples[i].labels[0]))
        for i in rows
    ]
    # Groups smaller than k are pooled, and the pool joins the largest group if it is small too.
    counts = Counter(keys)
    keys = [key if counts[key] >= k else "small" for key in keys]
    if 0 < keys.count("small") < k:
        largest = Counter(key for key in keys if key != "small").most_common(1)
        keys = [largest[0][0] if key == "small" and largest else key for key in keys]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for n, (_, held) in enumerate(splitter.split(np.zeros(len(rows)), keys)):
        fold[np.asarray(rows)[held]] = n
    for i, e in enumerate(examples):
        original = e.meta.get("counterfactual_of")
        if original is not None and fold[i] >= 0:
            fold[i] = fold[original]
    return fold


@dataclass
class OutOfFold:
    """Out-of-fold results for `rows` (in that order): per category, columns as `names`."""

    rows: list[int]
    #: Uncalibrated whole-text decision values (what the shared Platt sigmoid is fitted on).
    decision: np.ndarray
    #: Decision-path scores with sentences (the highest of whole text and each sentence).
    sentences: np.ndarray
    #: Decision-path scores of whole texts only.
    whole: np.ndarray
    #: Rows held out per fold.
    fold_rows: list[int]


def out_of_fold(
    examples: Sequence[Example],
    normalised: Sequence[str],
    labels: np.ndarray,
    weights: Sequence[float],
    fold: np.ndarray,
    names: Sequence[str],
    params: dict,
    language: str,
    seed: int,
    log: Callable[[str], None] = lambda message: None,
) -> OutOfFold:
    """Score every training row (fold >= 0) by a model fitted on the other folds.

    `labels` has one column per name in `names` (NaN = unlabelled), `params` the language's
    recipe for build_pipeline. Raises ValueError when a fold cannot be fitted.
    """
    import time

    from moderator.classifier import Classifier
    from moderator.service import Moderation
    from training.pipeline import build_pipeline
    from training.pipeline import slim

    rows = [i for i in range(len(examples)) if fold[i] >= 0]
    position = {r: n for n, r in enumerate(rows)}
    k = int(fold.max()) + 1
    decision = np.full((len(rows), len(names)), np.nan)
    fitted = []
    for f in range(k):
        started = time.perf_counter()
        fit = [i for i in rows if fold[i] != f]
        held = [i for i in rows if fold[i] == f]
        log(f"fold {f + 1}/{k}: fitting on {len(fit)} rows, scoring {len(held)} held-out rows")
        pipeline = build_pipeline(
            random_state=seed, calibration_folds=0, categories=tuple(names), **params
        )
        pipeline.fit(
            [normalised[i] for i in fit],
            labels[fit],
            categories__sample_weight=[weights[i] for i in fit],
        )
        slim(pipeline)
        model = pipeline.named_steps["categories"]
        at = [position[i] for i in held]
        features = pipeline[:-1].transform([normalised[i] for i in held])
        decision[at] = model.decision_function(features)
        fitted.append((pipeline, held, at))
        log(f"fold {f + 1}/{k}: done in {time.perf_counter() - started:.1f} s")
    sentences = np.full_like(decision, np.nan)
    whole = np.full_like(decision, np.nan)
    own = labels[rows]
    for f, (pipeline, held, at) in enumerate(fitted):
        # One sigmoid per category from every row's out-of-fold decision value, shared by
        # every fold model (and by the final model: see calibrate_decisions).
        pipeline.named_steps["categories"].calibrate_decisions(decision, own)
        texts = [examples[i].text for i in held]
        for target, whole_only in ((sentences, False), (whole, True)):
            meta = {"name": f"fold-{f + 1}", "language": language}
            if whole_only:
                meta["decision"] = {"sentences": False}
            scored = Moderation(Classifier(pipeline, meta)).scores(texts)
            target[at] = [[s[n] for n in names] for s in scored]
        log(f"fold {f + 1}/{k}: {len(held)} rows scored through the decision path")
    return OutOfFold(rows, decision, sentences, whole, [len(h) for _, h, _ in fitted])


def fit_with_folds(
    examples: Sequence[Example],
    normalised: Sequence[str],
    labels: np.ndarray,
    weights: Sequence[float],
    fold: np.ndarray,
    names: Sequence[str],
    params: dict,
    language: str,
    seed: int,
    log: Callable[[str], None] = lambda message: None,
):
    """Out-of-fold scores of every training row, then the final model fitted on all of them.

    Returns (pipeline, OutOfFold); the pipeline's Platt sigmoids are the ones the fold models
    scored with (fitted on the out-of-fold decision values). Raises ValueError.
    """
    from training.pipeline import build_pipeline

    oof = out_of_fold(
        examples, normalised, labels, weights, fold, names, params, language, seed, log
    )
    log(f"fitting the final model on all {len(oof.rows)} training rows")
    pipeline = build_pipeline(
        random_state=seed, calibration_folds=0, categories=tuple(names), **params
    )
    pipeline.fit(
        [normalised[i] for i in oof.rows],
        labels[oof.rows],
        categories__sample_weight=[weights[i] for i in oof.rows],
    )
    pipeline.named_steps["categories"].calibrate_decisions(oof.decision, labels[oof.rows])
    return pipeline, oof


def cross_validation(
    y: np.ndarray, p: np.ndarray, fold: np.ndarray, operating_points: dict
) -> dict:
    """Toxicity on the out-of-fold scores the choices were made on (labelled rows only).

    `toxicity_macro_f1` is at the toxicity_macro_f1 operating point, itself chosen on these
    scores (the best macro-F1 over thresholds, a little optimistic by the choice of one
    number); `toxicity_macro_f1_other_folds` averages, per fold, the macro-F1 of its rows at
    the threshold chosen on the other folds' rows (honest, and noisier).
    """
    from sklearn.metrics import f1_score
    from sklearn.metrics import roc_auc_score

    from training.evaluate import best_macro_f1_threshold

    known = ~np.isnan(y)
    y, p, fold = y[known].astype(int), p[known], fold[known]
    out: dict = {"folds": int(fold.max()) + 1 if len(fold) else 0, "toxicity_rows": len(y)}
    if len(set(y.tolist())) < 2:
        return out
    out["toxicity_auc"] = round(float(roc_auc_score(y, p)), 4)
    if "toxicity_macro_f1" in operating_points:
        at = operating_points["toxicity_macro_f1"]
        out["toxicity_macro_f1"] = round(float(f1_score(y, p >= at, average="macro")), 4)
        out["threshold"] = at
    honest = []
    for f in sorted(set(fold.tolist())):
        rest = fold != f
        if len(set(y[rest].tolist())) == 2:
            cut = best_macro_f1_threshold(y[rest], p[rest])
            honest.append(f1_score(y[~rest], p[~rest] >= cut, average="macro"))
    if honest:
        out["toxicity_macro_f1_other_folds"] = round(float(np.mean(honest)), 4)
    return out
