"""bench_dilution's pure parts: neutral rows, padding, figures and the target check."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from moderator.policy import Threshold

N = math.nan


@pytest.fixture(scope="module")
def dilution(load_bench):
    return load_bench("bench_dilution")


@pytest.mark.parametrize(
    "labels, labelled, neutral",
    [
        ((0, 0, 0, 0, 0), True, True),
        ((N, N, N, 0, N), True, True),
        ((0, N, 1, 0, N), True, False),
        ((N, N, N, N, N), False, False),
    ],
)
def test_a_neutral_row_is_zero_wherever_it_is_labelled(dilution, labels, labelled, neutral):
    assert dilution.is_labelled(labels) is labelled
    assert dilution.is_neutral(labels) is neutral


def test_pad_puts_the_row_after_then_before_the_same_neutral_rows(dilution):
    after, before = dilution.pad(" You idiot. ", ["Nice day.", "Rain later.\n"], [" ", "\n"])
    assert after == "Nice day. Rain later.\nYou idiot."
    assert before == "You idiot. Nice day.\nRain later."


@pytest.mark.parametrize("neutrals, separators", [([], []), (["a"], []), (["a"], [" ", " "])])
def test_pad_needs_one_separator_per_neutral_row(dilution, neutrals, separators):
    with pytest.raises(ValueError):
        dilution.pad("x", neutrals, separators)


def test_padded_rows_are_seeded_never_self_padded_and_use_one_to_three_rows(dilution):
    texts = [f"row{i}" for i in range(8)]
    pool = [0, 1, 2, 3, 4]
    rows = [0, 1, 5, 6, 7] * 20
    after, before = dilution.padded_rows(texts, rows, pool, random.Random("s"))
    again = dilution.padded_rows(texts, rows, pool, random.Random("s"))
    assert (after, before) == again
    sizes = set()
    for i, a, b in zip(rows, after, before, strict=True):
        pieces = a.split()
        assert pieces[-1] == f"row{i}" and b.split()[0] == f"row{i}"
        assert sorted(pieces) == sorted(b.split())
        assert pieces.count(f"row{i}") == 1, "a row never pads itself"
        assert len(set(pieces)) == len(pieces)
        assert all(int(p[3:]) in pool for p in pieces[:-1])
        sizes.add(len(pieces) - 1)
    assert sizes == {1, 2, 3}
    other = dilution.padded_rows(texts, rows, pool, random.Random("t"))
    assert other != (after, before)


def test_padded_rows_refuse_a_pool_too_small_to_draw_from(dilution):
    with pytest.raises(ValueError, match="neutral rows"):
        dilution.padded_rows(["a", "b", "c"], [0], [0, 1, 2], random.Random(1))


def test_figures_use_the_hold_threshold_as_the_policy_does(dilution):
    y = np.array([1, 1, 0, 0])
    scores = np.array([0.9, 0.4, 0.5, 0.1])
    got = dilution.figures(y, scores, Threshold(hold=0.5, reject=0.9))
    assert got["recall"] == 0.5 and got["flag_rate_negatives"] == 0.5
    assert got["auc"] == 0.75
    never = dilution.figures(y, np.ones(4), Threshold(hold=1.0, reject=1.0))
    assert never["recall"] == 0.0, "a threshold of 1.0 never fires"
    only_pos = dilution.figures(np.array([1, 1]), np.array([0.2, 0.8]), Threshold(0.5, 0.9))
    assert only_pos["auc"] is None and only_pos["flag_rate_negatives"] is None


@pytest.mark.parametrize(
    "bare, padded, meets",
    [
        ((0.50, 0.90), (0.48, 0.89), True),  # exactly at both limits
        ((0.50, 0.90), (0.47, 0.90), False),  # recall 3 points down
        ((0.50, 0.90), (0.50, 0.885), False),  # AUC 0.015 down
        ((0.50, 0.90), (0.70, 0.95), True),  # better is fine
        ((0.50, None), (0.49, None), True),  # no AUC: recall alone decides
        ((None, None), (None, None), None),  # nothing to compare
    ],
)
def test_compare_checks_only_drops_against_the_targets(dilution, bare, padded, meets):
    def fig(recall, auc):
        return {"recall": recall, "auc": auc, "flag_rate_negatives": 0.1}

    got = dilution.compare(fig(*bare), fig(*padded))
    assert got["meets"] is meets
    if bare[0] is not None:
        assert got["recall_delta"] == pytest.approx(padded[0] - bare[0])
