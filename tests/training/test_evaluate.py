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


def _abuse_heavy_validation(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(800), np.zeros(200)].astype(int)
    p = np.r_[rng.beta(5, 2, 800), rng.beta(2, 5, 200)]
    return y, p


def test_reject_is_precise_at_a_civil_comment_sections_prevalence():
    from training.evaluate import REJECT_PRECISION
    from training.evaluate import choose_threshold

    y, p = _abuse_heavy_validation()
    naive = choose_threshold(y, p, prevalence=1.0)
    civil = choose_threshold(y, p, prevalence=0.1)
    assert civil["hold"] == naive["hold"]  # hold sends to a person: validation prevalence
    assert civil["reject"] > naive["reject"]
    flagged = p >= civil["reject"]
    tpr = flagged[y == 1].mean()
    fpr = flagged[y == 0].mean()
    assert 0.1 * tpr / (0.1 * tpr + 0.9 * fpr) >= REJECT_PRECISION


def test_rare_categories_keep_their_own_prevalence():
    from training.evaluate import choose_threshold

    rng = np.random.default_rng(1)
    y = np.r_[np.ones(30), np.zeros(970)].astype(int)
    p = np.r_[rng.beta(5, 2, 30), rng.beta(2, 5, 970)]
    assert choose_threshold(y, p, prevalence=0.1) == choose_threshold(y, p, prevalence=0.5)


def test_policy_floor_is_where_three_quarters_of_the_held_break_the_policy():
    from training.evaluate import MIN_HELD
    from training.evaluate import policy_hold_floor

    rng = np.random.default_rng(0)
    p = np.linspace(1.0, 0.0, 1000)
    # Above 0.6 nine in ten rows break the policy, below it one in ten.
    toxic = np.where(p > 0.6, rng.random(1000) < 0.9, rng.random(1000) < 0.1).astype(int)
    floor = policy_hold_floor(toxic, p)
    held = p >= floor
    assert toxic[held].mean() >= 0.75
    assert 0.45 < floor < 0.6
    assert len(p) > MIN_HELD
    assert policy_hold_floor(np.ones(10, dtype=int), p[:10]) is None  # one class: no floor


def test_specific_categories_hold_where_the_policy_precision_holds():
    from training.evaluate import choose_thresholds

    rng = np.random.default_rng(1)
    n = 4000
    toxic = (rng.random(n) < 0.4).astype(float)
    # An insult score that ranks toxic rows high, and narrow insult labels: a third of the
    # toxic rows are insults, so precision on the insult label is never above ~0.5.
    score = np.clip(0.6 * toxic + rng.normal(0.2, 0.15, n), 0, 1)
    insult = np.where(toxic == 1, (rng.random(n) < 0.33).astype(float), 0.0)
    labels = np.full((n, 5), np.nan)
    labels[:, 0], labels[:, 2] = toxic, insult
    probs = np.zeros((n, 5))
    probs[:, 0], probs[:, 2] = score, score
    chosen = choose_thresholds(labels, probs)
    held = score >= chosen["insult"]["hold"]
    assert toxic[held].mean() >= 0.75
    assert chosen["insult"]["hold"] < 0.6
