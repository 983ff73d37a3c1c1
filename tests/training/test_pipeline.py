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


def test_calibrate_decisions_fits_the_same_sigmoid_from_given_decision_values():
    # Out-of-fold training hands over decision values of other models; on this model's own
    # values it must fit exactly what calibrate() fits.
    texts, labels = _rows()
    labels = _obscene_known(labels)
    pipeline = build_pipeline(min_df=1, char_min_df=1, calibration_folds=0)
    pipeline.fit(texts, labels)
    model = pipeline.named_steps["categories"]
    held_texts, held_labels = _rows(suffixes=(" now", " please"))
    held = pipeline[:-1].transform(held_texts)
    model.calibrate(held, _obscene_known(held_labels))
    expected = model.calibration_.copy()
    model.calibrate_decisions(model.decision_function(held), _obscene_known(held_labels))
    np.testing.assert_array_equal(model.calibration_, expected)
    # Other models' decision values (here: shifted) give another sigmoid.
    model.calibrate_decisions(model.decision_function(held) + 1.0, _obscene_known(held_labels))
    assert not np.allclose(model.calibration_, expected)


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


def test_nb_ratio_is_large_for_a_one_sided_feature_and_small_for_an_even_one():
    from scipy.sparse import csr_matrix

    from training.pipeline import nb_ratio

    # Column 0 occurs only in positives, column 1 equally in both classes.
    X = csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))
    r = nb_ratio(X, np.array([1, 1, 0, 0]))
    assert r[0] > 0.5
    assert r[1] < r[0] / 1.5
    assert (r >= 0).all()
    # A row's weight counts like that many copies of it.
    weighted = nb_ratio(X, np.array([1, 1, 0, 0]), np.array([1.0, 1.0, 3.0, 1.0]))
    copies = csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0], *[[0.0, 1.0]] * 3, [0.0, 1.0]]))
    np.testing.assert_allclose(weighted, nb_ratio(copies, np.array([1, 1, 0, 0, 0, 0])))


def test_nb_scaling_is_folded_into_the_weights_of_one_linear_model():
    from sklearn.linear_model import LogisticRegression

    from training.pipeline import nb_ratio

    texts, labels = _rows()
    labels = _obscene_known(labels)
    X = build_pipeline(min_df=1)[:-1].fit_transform(texts)
    model = CategoryModels(C=2.0, calibration_folds=0, nb_scale=0.5).fit(X, labels)
    plain = CategoryModels(C=2.0, calibration_folds=0).fit(X, labels)
    assert not np.allclose(model.coef_, plain.coef_)
    j = CATEGORY_NAMES.index("insult")
    mask = ~np.isnan(labels[:, j])
    y = labels[mask, j].astype(int)
    scale = nb_ratio(X[mask], y) ** 0.5
    reference = LogisticRegression(C=2.0, class_weight="balanced", solver="liblinear")
    reference.fit(X[mask].multiply(scale).tocsr(), y)
    # Scoring raw features with the stored weights == scoring scaled features with the fit.
    np.testing.assert_allclose(
        model.decision_function(X)[:, j],
        reference.decision_function(X.multiply(scale).tocsr()),
        atol=1e-10,
    )


def test_an_nb_scaled_pipeline_compiles_and_serves_its_own_scores(tmp_path):
    from moderator.classifier.artifact import compile_pipeline

    texts, labels = _rows()
    pipeline = build_pipeline(
        min_df=1, char_min_df=1, char_ngram_range=(2, 5), nb_scale=1.0, calibration_folds=0
    ).fit(texts, _obscene_known(labels))
    compiled = compile_pipeline(pipeline)
    assert compiled["settings"]["char_ngrams"] == [2, 5]
    from moderator.classifier import Classifier

    names = [str(c) for c in pipeline.classes_]
    meta = {"name": "nb", "thresholds": {n: {"hold": 0.5, "reject": 0.9} for n in names}}
    served = Classifier(pipeline, meta)
    probe = [normalise(t) for t in ("you stupid idiot", "the library opens at nine", "", "x")]
    expected = pipeline.predict_proba(probe)
    got = np.array([[s[n] for n in names] for s in served.score(probe)])
    np.testing.assert_allclose(got, expected, atol=1e-9, rtol=0)


def test_nb_scale_is_a_known_pipeline_parameter_and_defaults_off():
    from training.pipeline import DEFAULT_PARAMS
    from training.pipeline import LANGUAGE_PARAMS

    assert DEFAULT_PARAMS["nb_scale"] == 0.0
    assert "en" not in LANGUAGE_PARAMS  # English keeps the defaults
    assert build_pipeline().named_steps["categories"].nb_scale == 0.0
    with pytest.raises(TypeError, match="unknown pipeline parameters"):
        build_pipeline(nb_scaling=1.0)


@pytest.mark.parametrize("language", ["de", "pt", "tr"])
def test_each_languages_params_build_a_pipeline_that_fits_and_compiles(language):
    from moderator.classifier.artifact import compile_pipeline
    from training.pipeline import LANGUAGE_PARAMS

    texts, labels = _rows()
    params = LANGUAGE_PARAMS.get(language, {})
    pipeline = build_pipeline(min_df=1, char_min_df=1, calibration_folds=0, **params)
    pipeline.fit(texts, _obscene_known(labels))
    assert compile_pipeline(pipeline)["settings"]["names"]
    assert np.isfinite(pipeline.predict_proba(texts)).all()


def test_a_squared_hinge_category_is_an_nb_scaled_linear_svm_folded_into_the_weights():
    from sklearn.svm import LinearSVC

    from training.pipeline import nb_ratio

    texts, labels = _rows()
    labels = _obscene_known(labels)
    X = build_pipeline(min_df=1)[:-1].fit_transform(texts)
    model = CategoryModels(
        C={name: 0.2 for name in CATEGORY_NAMES},
        class_weight=None,
        calibration_folds=0,
        nb_scale=1.0,
        loss={"insult": "squared_hinge"},
    ).fit(X, labels)
    logistic = CategoryModels(C=0.2, class_weight=None, calibration_folds=0, nb_scale=1.0).fit(
        X, labels
    )
    j = CATEGORY_NAMES.index("insult")
    mask = ~np.isnan(labels[:, j])
    y = labels[mask, j].astype(int)
    scale = nb_ratio(X[mask], y)
    reference = LinearSVC(C=0.2, loss="squared_hinge", dual=True, random_state=0)
    reference.fit(X[mask].multiply(scale).tocsr(), y)
    np.testing.assert_allclose(
        model.decision_function(X)[:, j],
        reference.decision_function(X.multiply(scale).tocsr()),
        atol=1e-10,
    )
    # A category the loss does not name keeps the logistic regression.
    k = CATEGORY_NAMES.index("toxicity")
    np.testing.assert_allclose(model.coef_[k], logistic.coef_[k])
    assert not np.allclose(model.coef_[j], logistic.coef_[j])


def test_a_squared_hinge_pipeline_calibrates_compiles_and_serves_its_own_scores():
    from moderator.classifier import Classifier
    from moderator.classifier.artifact import compile_pipeline

    texts, labels = _rows()
    pipeline = build_pipeline(
        min_df=1, char_min_df=1, loss="squared_hinge", class_weight=None, C=0.2, nb_scale=1.0
    ).fit(texts, _obscene_known(labels))
    compile_pipeline(pipeline)
    names = [str(c) for c in pipeline.classes_]
    # Platt scaling turns the SVM's margins into probabilities that rank insults first.
    calibration = pipeline.named_steps["categories"].calibration_
    assert np.isfinite(calibration).all() and (calibration[:, 0] > 0).all()
    meta = {"name": "svm", "thresholds": {n: {"hold": 0.5, "reject": 0.9} for n in names}}
    served = Classifier(pipeline, meta)
    probe = [normalise(t) for t in ("you stupid idiot", "the library opens at nine", "", "x")]
    expected = pipeline.predict_proba(probe)
    assert ((expected > 0) & (expected < 1)).all()
    got = np.array([[s[n] for n in names] for s in served.score(probe)])
    np.testing.assert_allclose(got, expected, atol=1e-9, rtol=0)
    insult = names.index("insult")
    assert expected[0, insult] > expected[1, insult]


@pytest.mark.parametrize("loss", ["hinge", "", None, 1, {"toxicity": "log_loss"}])
def test_an_unknown_loss_is_refused(loss):
    with pytest.raises(ValueError, match="loss must be one of"):
        build_pipeline(loss=loss)
    texts, labels = _rows()
    X = build_pipeline(min_df=1)[:-1].fit_transform(texts)
    with pytest.raises(ValueError, match="loss must be one of"):
        CategoryModels(calibration_folds=0, loss=loss).fit(X, _obscene_known(labels))


def test_turkish_uses_the_unweighted_nb_scaled_linear_svm_its_cv_chose():
    from training.pipeline import DEFAULT_PARAMS
    from training.pipeline import LANGUAGE_PARAMS

    assert DEFAULT_PARAMS["loss"] == "log"  # English and the others keep the regression
    assert all("loss" not in LANGUAGE_PARAMS[lang] for lang in ("de", "pt"))
    pipeline = build_pipeline(**LANGUAGE_PARAMS["tr"])
    model = pipeline.named_steps["categories"]
    assert (model.loss, model.class_weight, model.nb_scale) == ("squared_hinge", None, 1.0)
    assert model.C["toxicity"] == 0.2
