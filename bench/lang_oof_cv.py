"""Which way of making a language's choices is better, measured inside its training rows only:
the seeded 10% validation split (fit on the other 90%) or 5-fold out-of-fold scores over every
row (fit on all of them), as `python -m training train --folds 0` and `--folds 5` do.

An outer 5-fold split of the language's official TRAINING rows: for each outer fold, both
procedures run on the other four fifths exactly as training runs them (same recipe, sample
weights, Platt scaling, whole-text-or-sentences choice and toxicity_macro_f1 operating point,
all through the decision path), and the resulting model is scored on the held-out fifth at
its own operating point. The official test split is not used (its rows are loaded and left
out). Cost: seven fits per outer fold.

    python bench/lang_oof_cv.py --language de [--language pt ...]

Writes bench/results/lang-oof-cv-<lang>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from harness import RESULTS
from harness import ROOT
from harness import default_data_dir
from harness import log
from sklearn.metrics import f1_score
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(ROOT))

from moderator.classifier import Classifier  # noqa: E402
from moderator.service import Moderation  # noqa: E402
from moderator.text import normalise  # noqa: E402
from training.datasets import TRAIN  # noqa: E402
from training.datasets import load_language  # noqa: E402
from training.datasets import sample_weights  # noqa: E402
from training.datasets import validation_split  # noqa: E402
from training.evaluate import NAMES  # noqa: E402
from training.evaluate import OFFICIAL_TESTS  # noqa: E402
from training.evaluate import best_macro_f1_threshold  # noqa: E402
from training.evaluate import trainable_categories  # noqa: E402
from training.folds import FOLDS  # noqa: E402
from training.folds import assign_folds  # noqa: E402
from training.folds import fit_with_folds  # noqa: E402
from training.pipeline import LANGUAGE_PARAMS  # noqa: E402
from training.pipeline import build_pipeline  # noqa: E402
from training.pipeline import slim  # noqa: E402
from training.record import VALIDATION_SHARE  # noqa: E402
from training.record import sentence_choice  # noqa: E402

#: The outer split's seed differs from the inner folds' (0), so the two never coincide.
OUTER_SEED = 1


def _scores(pipeline, names, language, texts, sentences: bool) -> np.ndarray:
    meta = {"name": "bench", "language": language, "decision": {"sentences": sentences}}
    scored = Moderation(Classifier(pipeline, meta)).scores(texts)
    return np.array([[s[n] for n in names] for s in scored])


def _choose(y, with_sentences, whole) -> tuple[bool, float]:
    """The sentence choice and toxicity_macro_f1 threshold, as training makes them."""
    sentences = sentence_choice(y, with_sentences, whole)["sentences"]
    p = with_sentences if sentences else whole
    known = ~np.isnan(y)
    return sentences, best_macro_f1_threshold(y[known].astype(int), p[known])


def split_procedure(examples, normalised, labels, weights, names, language, seed):
    """Training with --folds 0: fit on 90%, calibrate and choose on the seeded 10%."""
    validation = validation_split(examples, VALIDATION_SHARE, seed)
    fit = [i for i in range(len(examples)) if i not in validation]
    held = sorted(validation)
    pipeline = build_pipeline(
        random_state=seed, calibration_folds=0, categories=tuple(names),
        **LANGUAGE_PARAMS.get(language, {}),
    )  # fmt: skip
    pipeline.fit(
        [normalised[i] for i in fit],
        labels[fit],
        categories__sample_weight=[weights[i] for i in fit],
    )
    pipeline.named_steps["categories"].calibrate(
        pipeline[:-1].transform([normalised[i] for i in held]), labels[held]
    )
    slim(pipeline)
    texts = [examples[i].text for i in held]
    choice = _choose(
        labels[held, 0],
        _scores(pipeline, names, language, texts, True)[:, 0],
        _scores(pipeline, names, language, texts, False)[:, 0],
    )
    return pipeline, choice


def folds_procedure(examples, normalised, labels, weights, names, language, seed):
    """Training with --folds 5: choose on out-of-fold scores of every row, fit on all."""
    fold = assign_folds(examples, FOLDS, seed)
    pipeline, oof = fit_with_folds(
        examples, normalised, labels, weights, fold, names,
        LANGUAGE_PARAMS.get(language, {}), language, seed,
    )  # fmt: skip
    slim(pipeline)
    choice = _choose(labels[oof.rows, 0], oof.sentences[:, 0], oof.whole[:, 0])
    return pipeline, choice


def run(data_dir: Path, language: str, seed: int = 0) -> dict:
    everything = load_language(data_dir, language)
    examples = [e for e in everything if e.split == TRAIN]
    normalised = [normalise(e.text, language) for e in examples]
    all_labels = np.array([e.labels for e in examples], dtype=float)
    names = trainable_categories(all_labels, language)
    labels = all_labels[:, [NAMES.index(n) for n in names]]
    weights = sample_weights(examples, normalised)
    outer = assign_folds(examples, FOLDS, OUTER_SEED)
    results: dict = {"split": [], "folds": []}
    for f in range(FOLDS):
        inner = [i for i in range(len(examples)) if outer[i] != f]
        held = [i for i in range(len(examples)) if outer[i] == f and not np.isnan(labels[i, 0])]
        y = labels[held, 0].astype(int)
        texts = [examples[i].text for i in held]
        for name, procedure in (("split", split_procedure), ("folds", folds_procedure)):
            started = time.perf_counter()
            pipeline, (sentences, at) = procedure(
                [examples[i] for i in inner],
                [normalised[i] for i in inner],
                labels[inner],
                [weights[i] for i in inner],
                names,
                language,
                seed,
            )
            p = _scores(pipeline, names, language, texts, sentences)[:, 0]
            row = {
                "fold": f + 1,
                "n": len(held),
                "sentences": sentences,
                "threshold": at,
                "macro_f1": round(float(f1_score(y, p >= at, average="macro")), 4),
                "auc": round(float(roc_auc_score(y, p)), 4),
            }
            results[name].append(row)
            log(f"{language} outer fold {f + 1}/{FOLDS} {name}: {row} "
                f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    return {
        "language": language,
        "dataset_rows": len(examples),
        "names": names,
        **{
            name: {
                "macro_f1": round(float(np.mean([r["macro_f1"] for r in rows])), 4),
                "auc": round(float(np.mean([r["auc"] for r in rows])), 4),
                "per_fold": rows,
            }
            for name, rows in results.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", action="append", choices=sorted(OFFICIAL_TESTS))
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(default_data_dir())
    for language in args.language or sorted(OFFICIAL_TESTS):
        result = run(data_dir, language)
        stem = RESULTS / f"lang-oof-cv-{language}"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        lines = [
            f"# `{language}`: choices on a 10% validation split or on 5-fold out-of-fold scores",
            "",
            f"`python bench/lang_oof_cv.py --language {language}`: outer 5-fold split of the "
            f"{result['dataset_rows']} official training rows (seed {OUTER_SEED}); each "
            "procedure runs on four fifths as `python -m training train --folds 0` / "
            "`--folds 5` does and is scored on the fifth, toxicity, at its own "
            "toxicity_macro_f1 operating point. The official test split is not used.",
            "",
            "| procedure | mean macro-F1 | mean AUC | per fold macro-F1 | thresholds |",
            "|---|---|---|---|---|",
        ]
        titles = {
            "split": "10% validation split, fit on 90% (before)",
            "folds": "5-fold out-of-fold, fit on all (now)",
        }
        for name in ("split", "folds"):
            r = result[name]
            lines.append(
                f"| {titles[name]} | {r['macro_f1']} | {r['auc']} | "
                + ", ".join(str(x["macro_f1"]) for x in r["per_fold"])
                + " | "
                + ", ".join(str(x["threshold"]) for x in r["per_fold"])
                + " |"
            )
        stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
        log(f"wrote {stem}.md")


if __name__ == "__main__":
    main()
