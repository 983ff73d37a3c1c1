"""Metrics on held-out rows -> plain dicts (JSON-ready), plus the validation-chosen settings.

Everything that picks a number (thresholds, the OLID operating point, the Davidson 3-class
head, the explanation cut-off) looks only at the validation rows carved from TRAINING data
(for a language other than English: the out-of-fold scores of every training row, see
training/folds.py); the test splits are only ever scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.metrics import brier_score_loss
from sklearn.metrics import f1_score
from sklearn.metrics import recall_score
from sklearn.metrics import roc_auc_score

from moderator.policy import CATEGORIES
from training.datasets import SPANS
from training.datasets import TEST
from training.datasets import Example
from training.thresholds import FALLBACK_THRESHOLD  # noqa: F401
from training.thresholds import HOLD_PRECISION  # noqa: F401
from training.thresholds import MIN_HELD  # noqa: F401
from training.thresholds import MIN_LABELLED  # noqa: F401
from training.thresholds import NAMES
from training.thresholds import POLICY_HOLD_PRECISION  # noqa: F401
from training.thresholds import REFERENCE_PREVALENCE  # noqa: F401
from training.thresholds import REJECT_PRECISION  # noqa: F401
from training.thresholds import balanced_macro_f1_threshold  # noqa: F401
from training.thresholds import best_macro_f1_threshold  # noqa: F401
from training.thresholds import choose_threshold  # noqa: F401
from training.thresholds import choose_thresholds  # noqa: F401
from training.thresholds import policy_hold_floor  # noqa: F401
from training.thresholds import trainable_categories  # noqa: F401


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_davidson_head(probs: np.ndarray, classes: Sequence[int]) -> dict:
    """A 3-class multinomial LR over the five category logits (hate / offensive / neither).

    Davidson's classes don't map one-to-one onto our categories (its "offensive" is a
    register, not a policy category), so the class is derived from the scores by this tiny
    head, fitted on Davidson's VALIDATION rows only. Stored in model.json; only evaluation
    and the benchmark use it.
    """
    head = LogisticRegression(C=1.0, max_iter=1000)
    head.fit(_logit(probs), np.asarray(classes))
    return {
        "classes": [int(c) for c in head.classes_],
        "coef": head.coef_.round(6).tolist(),
        "intercept": head.intercept_.round(6).tolist(),
    }


def apply_davidson_head(head: dict, probs: np.ndarray) -> np.ndarray:
    """Davidson class (0 hate, 1 offensive, 2 neither) per row."""
    z = _logit(probs) @ np.asarray(head["coef"]).T + np.asarray(head["intercept"])
    return np.asarray(head["classes"])[np.argmax(z, axis=1)]


def category_metrics(y: np.ndarray, p: np.ndarray, threshold: float | None = None) -> dict:
    """AUC, average precision, Brier score and, at `threshold`, precision/recall/F1."""
    out = {"n": int(len(y)), "positives": int(y.sum())}
    if 0 < y.sum() < len(y):
        out["auc"] = round(float(roc_auc_score(y, p)), 4)
        out["average_precision"] = round(float(average_precision_score(y, p)), 4)
    out["brier"] = round(float(brier_score_loss(y, p)), 4)
    if threshold is not None:
        pred = p >= threshold
        tp = float((pred & (y == 1)).sum())
        out["precision"] = round(tp / pred.sum(), 4) if pred.sum() else 0.0
        out["recall"] = round(tp / y.sum(), 4) if y.sum() else 0.0
        out["f1"] = round(float(f1_score(y, pred, zero_division=0)), 4)
    return out


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean predicted vs observed positive rate per probability bin."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        m = which == b
        if m.any():
            out.append(
                {
                    "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                    "n": int(m.sum()),
                    "predicted": round(float(p[m].mean()), 4),
                    "observed": round(float(y[m].mean()), 4),
                }
            )
    return out


def span_f1(predicted: set[int], gold: set[int]) -> float:
    """SemEval-2021 Task 5 per-post F1 over character offsets (both empty = 1)."""
    if not gold:
        return 1.0 if not predicted else 0.0
    if not predicted:
        return 0.0
    tp = len(predicted & gold)
    if not tp:
        return 0.0
    precision, recall = tp / len(predicted), tp / len(gold)
    return 2 * precision * recall / (precision + recall)


def explanation_span_f1(classifier, examples: Sequence[Example]) -> float:
    """Mean character F1 of toxicity explanations against the annotated toxic spans."""
    scores = []
    for e in examples:
        _, spans = classifier.explain(e.text, CATEGORIES[0], top=10)
        predicted = {i for s, t in spans for i in range(s, t)}
        scores.append(span_f1(predicted, set(e.meta.get("spans", ()))))
    return round(float(np.mean(scores)), 4) if scores else math.nan


def evaluate(
    classifier,
    examples: Sequence[Example],
    normalised: Sequence[str],
    neutral: Sequence[str] = (),
) -> dict:
    """Every metric the model card quotes, on the test splits, trial spans and neutral set.

    Scores are the decision path's: each text whole and sentence by sentence, the highest
    per category (moderator.service.Moderation.scores), as a site's comments are scored.
    """
    from moderator.service import Moderation

    scorer = Moderation(classifier)
    names = list(classifier.categories)
    thresholds = {str(c): t for c, t in classifier.thresholds.items()}
    tuned = classifier.metadata.get("operating_points", {})
    test = [i for i, e in enumerate(examples) if e.split == TEST]
    probs = _matrix(scorer.scores([examples[i].text for i in test]), names)
    columns = [NAMES.index(n) for n in names]
    labels = np.array([examples[i].labels for i in test], dtype=float).reshape(-1, 5)[:, columns]
    sources = np.array([examples[i].source for i in test])

    report: dict = {"per_dataset": {}, "pooled": {}, "reliability": {}}
    for source in sorted(set(sources)):
        rows = sources == source
        report["per_dataset"][source] = {}
        for j, name in enumerate(names):
            mask = rows & ~np.isnan(labels[:, j])
            if mask.sum() == 0:
                continue
            y = labels[mask, j].astype(int)
            report["per_dataset"][source][name] = category_metrics(
                y, probs[mask, j], thresholds[name].hold
            )
    for j, name in enumerate(names):
        mask = ~np.isnan(labels[:, j])
        y = labels[mask, j].astype(int)
        report["pooled"][name] = category_metrics(y, probs[mask, j], thresholds[name].hold)
        report["reliability"][name] = reliability(y, probs[mask, j])

    official = OFFICIAL_TESTS.get(classifier.language)
    if official is not None:
        dataset, title = official
        # The dataset's own binary label (Example.meta["official"]), every test row of it.
        official_y = np.array([examples[i].meta.get("official", -1) for i in test])
        known = (sources == dataset) & (official_y >= 0)
        if known.any() and len(set(official_y[known])) == 2:
            y = official_y[known].astype(int)
            p = probs[known, 0]
            at = tuned.get("toxicity_macro_f1", thresholds["toxicity"].hold)
            report["official_test"] = {
                "dataset": title,
                "n": int(known.sum()),
                "macro_f1": round(float(f1_score(y, p >= at, average="macro")), 4),
                "threshold": at,
                "auc": round(float(roc_auc_score(y, p)), 4),
                "macro_f1_at_hold": round(
                    float(f1_score(y, p >= thresholds["toxicity"].hold, average="macro")), 4
                ),
            }
    olid = sources == "olid"
    if olid.any():
        y = labels[olid, 0].astype(int)
        p = probs[olid, 0]
        at = tuned.get("olid_toxicity", thresholds["toxicity"].hold)
        report["olid_subtask_a"] = {
            "n": int(olid.sum()),
            "macro_f1": round(float(f1_score(y, p >= at, average="macro")), 4),
            "threshold": at,
            "threshold_source": "OLID's own validation rows (carved from its training file)",
            "macro_f1_at_hold": round(
                float(f1_score(y, p >= thresholds["toxicity"].hold, average="macro")), 4
            ),
        }
        if "balanced_toxicity" in tuned:
            at = tuned["balanced_toxicity"]
            report["olid_subtask_a"]["macro_f1_at_balanced"] = round(
                float(f1_score(y, p >= at, average="macro")), 4
            )
            report["olid_subtask_a"]["balanced_threshold"] = at
    davidson = sources == "davidson"
    head = tuned.get("davidson_head")
    if davidson.any() and head:
        truth = np.array([examples[i].meta["class"] for i in np.array(test)[davidson]])
        pred = apply_davidson_head(head, probs[davidson])
        report["davidson_3class"] = {
            "n": int(davidson.sum()),
            "weighted_f1": round(float(f1_score(truth, pred, average="weighted")), 4),
            "macro_f1": round(float(f1_score(truth, pred, average="macro")), 4),
            "hate_recall": round(float(recall_score(truth == 0, pred == 0)), 4),
        }
    trial = [e for e in examples if e.split == SPANS]
    if trial:
        report["toxic_spans_trial"] = {
            "n": len(trial),
            "char_f1": explanation_span_f1(classifier, trial),
        }
    if neutral:
        scores = scorer.scores(list(neutral))
        flagged = [
            t
            for t, s in zip(neutral, scores, strict=True)
            if any(s[c] >= thresholds[c].hold for c in names)
        ]
        report["neutral_identity"] = {
            "n": len(neutral),
            "false_flags": len(flagged),
            "false_flag_rate": round(len(flagged) / len(neutral), 4),
            "flagged": flagged[:20],
        }
    report["curves"] = _curves(labels, probs, names)
    return report


#: language -> (the dataset whose official test gives its headline macro-F1, its title).
OFFICIAL_TESTS = {
    "de": ("germeval2018", "GermEval 2018 coarse (OFFENSE/OTHER) official test"),
    "pt": ("toldbr", "ToLD-Br binary test (the paper's 2annotator split and labels)"),
    "tr": ("offenseval_tr", "OffensEval 2020 Turkish official test"),
}


def _matrix(scores: list[dict[str, float]], names: Sequence[str] = NAMES) -> np.ndarray:
    return np.array([[s[n] for n in names] for s in scores], dtype=float).reshape(-1, len(names))


def _curves(labels: np.ndarray, probs: np.ndarray, names: Sequence[str] = NAMES) -> dict:
    """Pooled test labels and scores per category, for the ROC and PR plots (not in JSON)."""
    out = {}
    for j, name in enumerate(names):
        mask = ~np.isnan(labels[:, j])
        out[name] = (labels[mask, j].astype(int), probs[mask, j])
    return out


def summary_lines(report: dict) -> list[str]:
    """The metrics as text lines: what `evaluate` prints and the model card quotes."""
    lines = ["pooled test splits (AUC / average precision / Brier / F1 at hold):"]
    for name, m in report["pooled"].items():
        lines.append(
            f"  {name:16} n={m['n']:6} pos={m['positives']:5} auc={m.get('auc', 'n/a')} "
            f"ap={m.get('average_precision', 'n/a')} brier={m['brier']} f1={m.get('f1')}"
        )
    lines.append("per dataset test split (AUC):")
    for source, cats in report["per_dataset"].items():
        parts = [f"{c}={m['auc']}" for c, m in cats.items() if "auc" in m]
        lines.append(f"  {source:12} " + " ".join(parts))
    if "official_test" in report:
        o = report["official_test"]
        lines.append(
            f"{o['dataset']}: macro-F1 {o['macro_f1']} at {o['threshold']}, AUC {o['auc']} "
            f"(at the toxicity hold threshold: {o['macro_f1_at_hold']})"
        )
    if "olid_subtask_a" in report:
        o = report["olid_subtask_a"]
        lines.append(
            f"OLID subtask A official test: macro-F1 {o['macro_f1']} at {o['threshold']} "
            f"(at the toxicity hold threshold: {o['macro_f1_at_hold']})"
        )
    if "davidson_3class" in report:
        d = report["davidson_3class"]
        lines.append(
            f"Davidson held-out 3-class: weighted F1 {d['weighted_f1']}, macro F1 "
            f"{d['macro_f1']}, hate recall {d['hate_recall']}"
        )
    if "toxic_spans_trial" in report:
        lines.append(
            f"toxic_spans trial explanation char-F1: {report['toxic_spans_trial']['char_f1']}"
        )
    if "neutral_identity" in report:
        n = report["neutral_identity"]
        lines.append(
            f"neutral identity sentences flagged: {n['false_flags']}/{n['n']} "
            f"({n['false_flag_rate']:.1%})"
        )
    return lines
