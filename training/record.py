"""What `python -m training train` decides after the fit and writes down: whether sentences
are scored, the operating points, and the `training` record of model.json."""

from __future__ import annotations

from collections import Counter

import numpy as np

from training.evaluate import balanced_macro_f1_threshold
from training.evaluate import best_macro_f1_threshold
from training.evaluate import fit_davidson_head

#: The share of training rows held for validation when no folds are used (English).
VALIDATION_SHARE = 0.1


def sentence_choice(y: np.ndarray, with_sentences: np.ndarray, whole: np.ndarray) -> dict:
    """Score sentences too unless whole texts rank validation toxicity better (by > 0.005)."""
    from sklearn.metrics import roc_auc_score

    known = ~np.isnan(y)
    if len(set(y[known])) < 2:
        return {"sentences": True}
    a_sent = round(float(roc_auc_score(y[known], with_sentences[known])), 4)
    a_whole = round(float(roc_auc_score(y[known], whole[known])), 4)
    return {
        "sentences": not a_whole > a_sent + 0.005,
        "auc_whole": a_whole,
        "auc_sentences": a_sent,
    }


def operating_points(
    examples, val_rows: list[int], val_labels: np.ndarray, val_probs: np.ndarray, language: str
) -> dict:
    """The named operating points, each chosen on the validation (or out-of-fold) rows."""
    points = {}
    val_sources = np.array([examples[i].source for i in val_rows])
    toxic = ~np.isnan(val_labels[:, 0])
    both = toxic.sum() and len(set(val_labels[toxic, 0])) == 2
    if both:
        # For text from a source never seen: see balanced_macro_f1_threshold.
        points["balanced_toxicity"] = balanced_macro_f1_threshold(
            val_labels[toxic, 0].astype(int), val_probs[toxic, 0], val_sources[toxic]
        )
    if language != "en" and both:
        # The language's official test is scored at its own validation rows' optimum.
        points["toxicity_macro_f1"] = best_macro_f1_threshold(
            val_labels[toxic, 0].astype(int), val_probs[toxic, 0]
        )
    olid = toxic & (val_sources == "olid")
    if olid.sum() and len(set(val_labels[olid, 0])) == 2:
        # OLID subtask A is OLID's own measure: its operating point comes from OLID's own
        # validation rows (carved from OLID's training file; the official test is never used).
        points["olid_toxicity"] = best_macro_f1_threshold(
            val_labels[olid, 0].astype(int), val_probs[olid, 0]
        )
    davidson = val_sources == "davidson"
    if davidson.sum():
        classes = [examples[i].meta["class"] for i in np.array(val_rows)[davidson]]
        if len(set(classes)) == 3:
            points["davidson_head"] = fit_davidson_head(val_probs[davidson], classes)
    return points


def rows_per_source(examples, validation: set[int]) -> dict[str, dict[str, int]]:
    """{source: {split: rows}}, validation rows counted apart from training."""
    rows: dict[str, Counter] = {}
    for i, e in enumerate(examples):
        kind = "validation" if i in validation else e.split
        rows.setdefault(e.source, Counter())[kind] += 1
    return {s: dict(c) for s, c in rows.items()}


def brier(val_labels: np.ndarray, val_probs: np.ndarray, names: list[str]) -> dict[str, float]:
    """Mean squared error of each category's probability on its labelled validation rows."""
    out = {}
    for j, n in enumerate(names):
        known = ~np.isnan(val_labels[:, j])
        out[n] = round(float(np.mean((val_probs[known, j] - val_labels[known, j]) ** 2)), 4)
    return out


def training_record(
    pipeline,
    *,
    seed: int,
    folds: int,
    train_rows: list[int],
    oof,
    recipe: dict,
    rows: dict,
    names: list[str],
    val_labels: np.ndarray,
    val_probs: np.ndarray,
    extras,
    command: str,
) -> dict:
    """model.json's `training` section: how the model was fitted and validated."""
    fitted = pipeline.named_steps["categories"]
    return {
        "seed": seed,
        **(
            {
                "validation": f"{folds}-fold out-of-fold scores over all "
                f"{len(train_rows)} training rows",
                "folds": {
                    "k": folds,
                    "stratified_by": "dataset and toxicity label",
                    "held_out_rows": oof.fold_rows,
                },
            }
            if folds
            else {"validation_share": VALIDATION_SHARE}
        ),
        # With folds: Platt on the out-of-fold decision values of the fold models.
        "calibration_folds": folds or fitted.calibration_folds,
        "params": {k: str(v) for k, v in pipeline.get_params(deep=False).items() if k != "steps"}
        | {"C": fitted.C, "class_weight": fitted.class_weight},
        "recipe": {
            "word_ngrams": list(recipe["ngram_range"]),
            "char_ngrams": list(recipe["char_ngram_range"]),
            "nb_scale": fitted.nb_scale,
            "loss": fitted.loss,
        },
        "features": {
            name: len(vectoriser.vocabulary_)
            for name, vectoriser in pipeline.named_steps["features"].transformer_list
        },
        "rows": rows,
        "labelled": {
            n: (int(a), int(b))
            for n, a, b in zip(names, fitted.n_labelled_, fitted.n_positive_, strict=True)
        },
        ("out_of_fold_brier" if folds else "validation_brier"): brier(val_labels, val_probs, names),
        "extras": [str(p) for p in extras],
        "command": command,
    }
