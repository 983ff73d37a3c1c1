"""The committed models/default: it loads here, is small, and still scores as its card says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from moderator.classifier import Classifier
from moderator.policy import CATEGORIES
from moderator.policy import Category
from moderator.text import normalise

DEFAULT = Path(__file__).resolve().parents[2] / "models" / "default"


@pytest.fixture(scope="module")
def shipped() -> Classifier:
    return Classifier.load(DEFAULT)


def test_shipped_model_is_complete_and_small(shipped):
    assert (DEFAULT / "model.joblib").stat().st_size < 25_000_000
    for name in ("MODEL_CARD.md", "report/roc.png", "report/pr.png", "report/EVALUATION.md"):
        assert (DEFAULT / name).is_file()
    meta = json.loads((DEFAULT / "model.json").read_text())
    for key in ("name", "version", "created", "versions", "data", "label_mapping", "metrics"):
        assert key in meta
    assert shipped.label() == f"default@{meta['version']}"
    assert set(shipped.thresholds) == set(CATEGORIES)


def test_shipped_model_separates_plain_cases(shipped):
    abuse, threat, clean = shipped.score(
        [
            normalise("you are a f*cking idiot"),
            normalise("I will kill you and your family"),
            normalise("Thanks, the meeting notes were really helpful."),
        ]
    )
    assert abuse["toxicity"] > 0.9 and abuse["obscene"] > clean["obscene"]
    assert threat["threat"] > shipped.thresholds[Category.THREAT].hold > clean["threat"]
    assert all(clean[str(c)] < shipped.thresholds[c].hold for c in CATEGORIES)
    words, spans = shipped.explain("you are a f*cking idiot", Category.INSULT)
    assert "idiot" in words and (18, 23) in spans
    words, spans = shipped.explain("you are a f*cking idiot", Category.OBSCENE)
    assert words == ["f*cking"] and spans == [(10, 17)]


@pytest.mark.parametrize("text", ["a", "the best", "a masterpiece", "thank you", "ok", ""])
def test_shipped_model_leaves_short_harmless_comments_alone(shipped, text):
    scores = shipped.score_one(normalise(text))
    assert all(scores[str(c)] < shipped.thresholds[c].hold for c in CATEGORIES), scores


@pytest.mark.data
def test_shipped_model_still_scores_olid_as_recorded(shipped, real_data_dir):
    # Guards against drift: e.g. moderator.text changing under a model trained before it.
    from moderator.service import Moderation
    from training.datasets import TEST
    from training.datasets import load_olid

    test = [e for e in load_olid(real_data_dir) if e.split == TEST]
    # The recorded figure is the decision path's: whole text and sentences, the highest.
    scores = Moderation(shipped).scores([e.text for e in test])
    y = np.array([e.labels[0] for e in test])
    auc = roc_auc_score(y, [s["toxicity"] for s in scores])
    recorded = shipped.metadata["metrics"]["per_dataset"]["olid"]["toxicity"]["auc"]
    assert auc == pytest.approx(recorded, abs=0.01)
