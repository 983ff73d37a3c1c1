"""Validation-chosen operating points."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from training.evaluate import balanced_macro_f1_threshold
from training.evaluate import best_macro_f1_threshold


def test_balanced_threshold_maximises_the_mean_of_the_datasets_macro_f1():
    rng = np.random.default_rng(0)
    # A large dataset whose scores run high and a small one whose scores run low.
    y = np.r_[rng.random(2000) < 0.8, rng.random(200) < 0.3].astype(int)
    shift = np.r_[np.full(2000, 0.25), np.zeros(200)]
    p = np.clip(0.2 + 0.35 * y + shift + rng.normal(0, 0.15, len(y)), 0, 1).round(2)
    groups = np.array(["large"] * 2000 + ["small"] * 200)

    def mean_f1(t):
        return np.mean(
            [
                f1_score(y[groups == g], p[groups == g] >= t, average="macro")
                for g in ("large", "small")
            ]
        )

    grid = np.unique(p)
    best = max(mean_f1(t) for t in grid)
    balanced = balanced_macro_f1_threshold(y, p, groups)
    pooled = best_macro_f1_threshold(y, p)
    assert mean_f1(balanced) == best
    assert mean_f1(pooled) < best  # the pooled optimum serves the large dataset


def test_balanced_threshold_skips_one_class_datasets():
    p = np.array([0.2, 0.3, 0.7, 0.8, 0.9, 0.95])
    y = np.array([0, 0, 1, 1, 1, 1])
    groups = np.array(["a", "a", "a", "a", "only_positive", "only_positive"])
    assert balanced_macro_f1_threshold(y, p, groups) == best_macro_f1_threshold(y[:4], p[:4])
