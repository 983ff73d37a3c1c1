"""build_pipeline / CategoryModels: per-category C, calibration on held-out rows, the char block."""

from __future__ import annotations

import math

import numpy as np
import pytest

from moderator.text import normalise
from training.pipeline import CATEGORY_NAMES
from training.pipeline import CategoryModels
from training.pipeline import build_pipeline

NAN = math.nan
NEUTRAL = [
    "the weather is lovely today",
    "i made soup for dinner",
    "our team won the match on sunday",
    "thanks for sharing the article",
    "the library opens at nine",
    "we watched a film last night",
]
INSULT = ["you are a stupid idiot", "shut up you moron", "what an idiot you are"]
IDENTITY = ["those immigrants are vermin", "all muslims are terrorists", "jews are parasites"]
THREAT = ["i will kill you", "someone should shoot them all", "i will stab you"]


def _rows(suffixes=("", " today", " again", " for real")):
    rows = []
    for suffix in suffixes:
        rows += [(t + suffix, (0, 0, 0, 0, 0)) for t in NEUTRAL]
        rows += [(t + suffix, (1, NAN, 1, 0, NAN)) for t in INSULT]
        rows += [(t + suffix, (1, NAN, NAN, 1, 0)) for t in IDENTITY]
        rows += [(t + suffix, (1, NAN, NAN, NAN, 1)) for t in THREAT]
    texts = [normalise(t) for t, _ in rows]
    return texts, np.array([y for _, y in rows], dtype=float)


def _obscene_known(labels: np.ndarray) -> np.ndarray:
    # obscene needs both classes somewhere: call the insults obscene too.
    labels = labels.copy()
    labels[labels[:, 2] == 1, 1] = 1
    return labels


def test_calibrate_fits_the_sigmoid_on_held_out_rows():
    texts, labels = _rows()
    labels = _obscene_known(labels)
    pipeline = build_pipeline(min_df=1, char_min_df=1, calibration_folds=0)
    pipeline.fit(texts, labels)
    model = pipeline.named_steps["categories"]
    assert model.calibration_.tolist() == [[1.0, 0.0]] * len(CATEGORY_NAMES)
    held_texts, held_labels = _rows(suffixes=(" now", " please"))
    model.calibrate(pipeline[:-1].transform(held_texts), _obscene_known(held_labels))
    assert (model.calibration_[:, 0] > 0).all()
    z = model.decision_function(pipeline[:-1].transform(held_texts))
    expected = 1 / (1 + np.exp(-(z * model.calibration_[:, 0] + model.calibration_[:, 1])))
    np.testing.assert_allclose(pipeline.predict_proba(held_texts), expected)


def test_calibrate_refuses_a_category_without_both_classes():
    texts, labels = _rows()
    pipeline = build_pipeline(min_df=1, char_min_df=1, calibration_folds=0)
    pipeline.fit(texts, _obscene_known(labels))
    with pytest.raises(ValueError, match="calibrating obscene"):
        pipeline.named_steps["categories"].calibrate(pipeline[:-1].transform(texts), labels)


def test_per_category_c_must_name_every_category():
    texts, labels = _rows()
    with pytest.raises(ValueError, match="one value per category"):
        build_pipeline(min_df=1, C={"toxicity": 1.0}).fit(texts, _obscene_known(labels))


def test_per_category_c_is_used():
    texts, labels = _rows()
    labels = _obscene_known(labels)
    X = build_pipeline(min_df=1)[:-1].fit_transform(texts)
    loose = {name: 10.0 for name in CATEGORY_NAMES}
    tight = {**loose, "threat": 0.01}
    a = CategoryModels(C=loose, calibration_folds=0).fit(X, labels)
    b = CategoryModels(C=tight, calibration_folds=0).fit(X, labels)
    j = CATEGORY_NAMES.index("threat")
    assert np.abs(b.coef_[j]).sum() < np.abs(a.coef_[j]).sum() / 10
    np.testing.assert_allclose(a.coef_[:j], b.coef_[:j])


def test_character_block_scores_unseen_spellings():
    texts, labels = _rows()
    pipeline = build_pipeline(min_df=1, char_min_df=1).fit(texts, _obscene_known(labels))
    names = list(pipeline.classes_)
    # Neither "idiots" nor "stupidest" is a training word: only their characters are known.
    insult, neutral = pipeline.predict_proba([normalise("idiots stupidest"), "the opera was long"])
    assert insult[names.index("insult")] > neutral[names.index("insult")] + 0.2
    assert pipeline.named_steps["features"].transformer_list[1][0] == "chars"
