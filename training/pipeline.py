"""build_pipeline(): the only place the model's features and classifier are defined.

The pipeline takes text that moderator.text.normalise() has already produced and returns,
per category, a calibrated probability. Features are two TF-IDF blocks side by side, each
L2-normalised on its own: word 1-2-grams, and character 3-5-grams inside words
(`char_wb`), which catch misspellings, inflections and obfuscations the word block has
never seen ("idiotic", "fuckwit", "sh1tty") and raised validation AUC in every category.
The classifier is `CategoryModels`, one binary logistic regression per category, each
fitted only on the rows labelled for its category, with Platt scaling fitted either on
out-of-fold decision values or, by `calibrate()`, on held-out validation rows (or, by
`calibrate_decisions()`, on out-of-fold decision values of models fitted on other folds).

A language's model may scale each feature by its naive Bayes log-count ratio before the
logistic regression (NB-LR, Wang and Manning 2012, "Baselines and Bigrams"): the scale is
folded into the learned weights, so the fitted model is still one linear model over the
same TF-IDF features and compiles and serves like any other. So is a linear SVM in its place
(`loss` "squared_hinge"; NB-SVM in that paper), whose margins the Platt sigmoid maps to
probabilities. LANGUAGE_PARAMS holds each language's settings, chosen by cross-validation on
its training rows (never its test).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.base import ClassifierMixin
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import FeatureUnion
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from moderator.policy import CATEGORIES

CATEGORY_NAMES: tuple[str, ...] = tuple(str(c) for c in CATEGORIES)

#: Words: runs of letters/digits, single letters included ("f u", "u r").
TOKEN_PATTERN = r"(?u)\b\w+\b"

DEFAULT_PARAMS = {
    "ngram_range": (1, 2),
    "min_df": 2,
    "max_df": 0.2,
    "max_features": 200_000,
    "char_ngram_range": (3, 5),
    "char_min_df": 3,
    "char_max_features": 100_000,
    # Per category, chosen on validation AUC (C in 0.2-3): the rarer categories want
    # stronger regularisation.
    "C": {"toxicity": 0.75, "obscene": 0.75, "insult": 0.75, "identity_attack": 0.4, "threat": 0.2},
    "class_weight": "balanced",
    "nb_scale": 0.0,
    # "log": logistic regression; "squared_hinge": a linear SVM (L2-regularised squared
    # hinge loss). Both are one linear model over the features, Platt-calibrated alike.
    "loss": "log",
}

LOSSES = ("log", "squared_hinge")

#: Per language, what differs from DEFAULT_PARAMS (English uses the defaults unchanged).
#: Chosen on 5-fold cross-validation inside each language's official training rows
#: (toxicity AUC and macro-F1; bench/lang_recipe_cv.py), never on a test split.
LANGUAGE_PARAMS: dict[str, dict] = {
    # GermEval toxicity: CV AUC 0.8445 -> 0.8528, macro-F1 0.756 -> 0.764; GAHD+GermEval
    # identity_attack AUC 0.812 -> 0.828. Insult ranked worse with the scaling (0.851 ->
    # 0.834), so it keeps the plain regression and its C.
    "de": {
        "C": {
            "toxicity": 4.0,
            "obscene": 0.75,
            "insult": 0.75,
            "identity_attack": 4.0,
            "threat": 0.2,
        },
        "nb_scale": {"toxicity": 0.5, "identity_attack": 0.5},
    },
    # ToLD-Br toxicity: NB scaling raised CV macro-F1 0.795 -> 0.803 (AUC 0.888 -> 0.889);
    # obscene, insult and identity_attack ranked worse with it and keep the plain regression.
    "pt": {
        "C": {
            "toxicity": 4.0,
            "obscene": 0.75,
            "insult": 0.75,
            "identity_attack": 0.4,
            "threat": 0.2,
        },
        "nb_scale": {"toxicity": 0.5},
    },
    # OffensEval 2020 Turkish: NB scaling raised CV macro-F1 0.760 -> 0.776 (AUC 0.865 ->
    # 0.874, with in-word character 2-5-grams for Turkish suffixes); a linear SVM (squared
    # hinge) on the NB-scaled features, unweighted classes, raised it to 0.780 (AUC 0.879)
    # over the NB-scaled balanced logistic regression (C 2.0).
    "tr": {
        "char_ngram_range": (2, 5),
        "loss": "squared_hinge",
        "class_weight": None,
        "C": {
            "toxicity": 0.2,
            "obscene": 0.75,
            "insult": 0.75,
            "identity_attack": 0.4,
            "threat": 0.2,
        },
        "nb_scale": 1.0,
    },
}


class CategoryModels(ClassifierMixin, BaseEstimator):
    """One calibrated binary logistic regression per category, fitted on its labelled rows.

    `y` is an (n_samples, n_categories) array of 1, 0 or NaN. NaN means the row's dataset
    says nothing about that category, so the row is left out of that category's fit (it
    is neither a positive nor a negative). `predict_proba` returns an (n_samples,
    n_categories) array of calibrated P(category) in the order of `classes_`, like
    OneVsRestClassifier does for multilabel targets.

    With `calibration_folds` >= 2 the Platt sigmoid is fitted on out-of-fold decision
    values, which costs that many extra fits per category. With 0, `fit` leaves the
    sigmoid at slope 1, offset 0 and the caller fits it with `calibrate()` on rows the
    model never saw (training uses its validation rows: one fit per category, so the
    character block stays inside the training-time budget).

    `nb_scale` > 0 (one value, or one per category; a category not named gets 0) fits each
    category on its features scaled by nb_ratio() to that power and stores the weights
    times the scale, so `coef_` applies to the unscaled features.

    `loss` (one value, or one per category; a category not named gets "log") picks the
    linear fit: "log" a logistic regression, "squared_hinge" a linear SVM. The SVM's
    decision values are not probabilities; the Platt sigmoid maps them like the others.

    Learned attributes: `classes_`, `coef_` (n_categories, n_features), `intercept_`,
    `calibration_` (n_categories, 2: slope and offset of the Platt sigmoid over the
    decision value), `n_labelled_` and `n_positive_` per category.
    """

    def __init__(
        self,
        categories: tuple[str, ...] = CATEGORY_NAMES,
        C: float | dict[str, float] = 4.0,
        class_weight: str | None = "balanced",
        calibration_folds: int = 3,
        max_iter: int = 1000,
        random_state: int = 0,
        nb_scale: float | dict[str, float] = 0.0,
        loss: str | dict[str, str] = "log",
    ):
        self.categories = categories
        self.C = C
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.max_iter = max_iter
        self.random_state = random_state
        self.nb_scale = nb_scale
        self.loss = loss

    def fit(self, X, y, sample_weight=None):
        """Fit every category on the rows where its label is not NaN."""
        y = np.asarray(y, dtype=float)
        if y.ndim != 2 or y.shape[1] != len(self.categories):
            raise ValueError(f"y must have one column per category {list(self.categories)}")
        if y.shape[0] != X.shape[0]:
            raise ValueError("X and y have different numbers of rows")
        weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
        if isinstance(self.C, dict) and set(self.C) != set(self.categories):
            raise ValueError(f"C must give one value per category {list(self.categories)}")
        coefs, intercepts, calibration, labelled, positive = [], [], [], [], []
        for j, name in enumerate(self.categories):
            base = linear_model(
                self.loss.get(name, "log") if isinstance(self.loss, dict) else self.loss,
                C=self.C[name] if isinstance(self.C, dict) else self.C,
                class_weight=self.class_weight,
                max_iter=self.max_iter,
                random_state=self.random_state,
            )
            mask = ~np.isnan(y[:, j])
            target = y[mask, j].astype(int)
            if not set(np.unique(target)) <= {0, 1}:
                raise ValueError(f"labels for {name} must be 0, 1 or NaN")
            counts = np.bincount(target, minlength=2)
            if counts.min() < 2:
                raise ValueError(f"{name} needs at least 2 positive and 2 negative rows")
            Xj, wj = X[mask], weights[mask]
            scale = None
            power = (
                self.nb_scale.get(name, 0.0) if isinstance(self.nb_scale, dict) else self.nb_scale
            )
            if power:
                scale = nb_ratio(Xj, target, wj) ** power
                Xj = _scaled(Xj, scale)
            if self.calibration_folds:
                folds = StratifiedKFold(
                    n_splits=int(min(self.calibration_folds, counts.min())),
                    shuffle=True,
                    random_state=self.random_state,
                )
                decision = cross_val_predict(
                    clone(base),
                    Xj,
                    target,
                    cv=folds,
                    method="decision_function",
                    params={"sample_weight": wj},
                )
                calibration.append(_platt(decision, target))
            else:
                calibration.append((1.0, 0.0))
            model = clone(base).fit(Xj, target, sample_weight=wj)
            # Orient everything on the positive class, whatever order classes_ has.
            sign = 1.0 if model.classes_[1] == 1 else -1.0
            # Scaled features times weights == raw features times (weights * scale).
            coefs.append(sign * model.coef_[0] * (1.0 if scale is None else scale))
            intercepts.append(sign * model.intercept_[0])
            labelled.append(int(mask.sum()))
            positive.append(int(counts[1]))
        self.classes_ = np.array(self.categories)
        self.coef_ = np.vstack(coefs)
        self.intercept_ = np.array(intercepts)
        self.calibration_ = np.array(calibration)
        self.n_labelled_ = np.array(labelled)
        self.n_positive_ = np.array(positive)
        self.n_features_in_ = X.shape[1]
        return self

    def calibrate(self, X, y):
        """Refit each category's Platt sigmoid on held-out rows (labels 1, 0 or NaN)."""
        check_is_fitted(self)
        return self.calibrate_decisions(self.decision_function(X), y)

    def calibrate_decisions(self, decision, y):
        """Refit each category's Platt sigmoid on given decision values of rows this model
        never saw (labels 1, 0 or NaN): out-of-fold values of models fitted on other folds."""
        check_is_fitted(self)
        y = np.asarray(y, dtype=float)
        decision = np.asarray(decision, dtype=float)
        calibration = []
        for j, name in enumerate(self.categories):
            mask = ~np.isnan(y[:, j])
            target = y[mask, j].astype(int)
            if len(set(target)) < 2:
                raise ValueError(f"calibrating {name} needs positive and negative rows")
            calibration.append(_platt(decision[mask, j], target))
        self.calibration_ = np.array(calibration)
        return self

    def decision_function(self, X):
        """Uncalibrated linear scores, (n_samples, n_categories)."""
        check_is_fitted(self)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X):
        """Calibrated probabilities, (n_samples, n_categories), columns as `classes_`."""
        z = self.decision_function(X) * self.calibration_[:, 0] + self.calibration_[:, 1]
        return 1.0 / (1.0 + np.exp(-z))

    def predict(self, X):
        """1 where the probability is at least 0.5, per category."""
        return (self.predict_proba(X) >= 0.5).astype(int)


def linear_model(
    loss: str, C: float, class_weight=None, max_iter: int = 1000, random_state: int = 0
):
    """The unfitted binary linear classifier of one category: see LOSSES."""
    if loss == "log":
        return LogisticRegression(
            C=C,
            class_weight=class_weight,
            solver="liblinear",
            max_iter=max_iter,
            random_state=random_state,
        )
    if loss == "squared_hinge":
        return LinearSVC(
            C=C,
            class_weight=class_weight,
            loss="squared_hinge",
            dual=True,
            max_iter=max_iter,
            random_state=random_state,
        )
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, not {loss!r}")


def nb_ratio(X, target: np.ndarray, weights: np.ndarray | None = None, alpha: float = 1.0):
    """|log-count ratio| per feature: how much more often it occurs in one class than the other.

    With p and q the (weighted, alpha-smoothed) feature sums over positive and negative rows,
    r = |log((p / |p|) / (q / |q|))|. Its sign is left to the regression (a weight can be
    negative), so only the magnitude scales a feature: the regression starts from features
    that separate the classes and spends its regularisation budget less on the rest.
    """
    target = np.asarray(target)
    weights = np.ones(len(target)) if weights is None else np.asarray(weights, dtype=float)
    p = alpha + np.asarray(X.T @ (weights * (target == 1))).ravel()
    q = alpha + np.asarray(X.T @ (weights * (target == 0))).ravel()
    return np.abs(np.log((p / p.sum()) / (q / q.sum())))


def _scaled(X, scale: np.ndarray):
    """X with column j multiplied by scale[j] (sparse stays sparse)."""
    if hasattr(X, "multiply"):
        return X.multiply(scale).tocsr()
    return np.asarray(X) * scale


def _platt(decision: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Slope and offset of the sigmoid mapping decision values to P(positive)."""
    platt = LogisticRegression(C=1e4, solver="lbfgs")
    platt.fit(np.asarray(decision).reshape(-1, 1), target)
    sign = 1.0 if platt.classes_[1] == 1 else -1.0
    return (float(sign * platt.coef_[0, 0]), float(sign * platt.intercept_[0]))


def build_pipeline(**params) -> Pipeline:
    """The model: word and character n-gram TF-IDF over normalised text -> CategoryModels."""
    p = {**DEFAULT_PARAMS, **params}
    unknown = set(p) - set(DEFAULT_PARAMS) - {"random_state", "calibration_folds", "categories"}
    if unknown:
        raise TypeError(f"unknown pipeline parameters {sorted(unknown)}")
    words = TfidfVectorizer(
        lowercase=False,
        token_pattern=TOKEN_PATTERN,
        ngram_range=tuple(p["ngram_range"]),
        min_df=p["min_df"],
        max_df=p["max_df"],
        max_features=p["max_features"],
        sublinear_tf=True,
        dtype=np.float64,
    )
    chars = TfidfVectorizer(
        lowercase=False,
        analyzer="char_wb",
        ngram_range=tuple(p["char_ngram_range"]),
        min_df=p["char_min_df"],
        max_features=p["char_max_features"],
        sublinear_tf=True,
        dtype=np.float64,
    )
    losses = p["loss"].values() if isinstance(p["loss"], dict) else [p["loss"]]
    if not set(losses) <= set(LOSSES):
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, not {p['loss']!r}")
    categories = tuple(p.get("categories") or CATEGORY_NAMES)
    C = p["C"]
    if isinstance(C, dict):
        missing = [name for name in categories if name not in C]
        if missing:
            raise ValueError(f"C needs one value per category; missing {', '.join(missing)}")
        C = {name: C[name] for name in categories}
    classifier = CategoryModels(
        categories=categories,
        C=C,
        class_weight=p["class_weight"],
        calibration_folds=p.get("calibration_folds", 3),
        random_state=p.get("random_state", 0),
        nb_scale=p["nb_scale"],
        loss=p["loss"],
    )
    features = FeatureUnion([("words", words), ("chars", chars)])
    return Pipeline([("features", features), ("categories", classifier)])


def slim(pipeline: Pipeline) -> Pipeline:
    """Drop what transforming doesn't need and what differs between identical fits.

    stop_words_ lists every pruned term (large); _stop_words_id caches an object id, which
    would make two fits of the same data pickle to different bytes.
    """
    for _, vectoriser in pipeline.named_steps["features"].transformer_list:
        for name in ("stop_words_", "_stop_words_id"):
            if hasattr(vectoriser, name):
                delattr(vectoriser, name)
    return pipeline
