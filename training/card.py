"""MODEL_CARD.md: what a model was trained on, how its labels map, its measured quality
against the issue's targets, its limits, and how to reproduce it; and the sections the bench
scripts own inside it."""

from __future__ import annotations

from pathlib import Path

from training.card_text import LANGUAGES
from training.card_text import limits
from training.evaluate import summary_lines

#: The model card's benchmark section sits between these; bench/bench_quality.py fills it.
BENCH_START = "<!-- BENCH:start -->"
BENCH_END = "<!-- BENCH:end -->"


def _feature_counts(t: dict) -> str:
    features = t.get("features")
    if isinstance(features, dict):
        return ", ".join(f"{n:,} {name}" for name, n in features.items())
    return f"{features} features"


def write_card(out: Path, meta: dict, report: dict, command: str) -> None:
    """MODEL_CARD.md: data, mapping, metrics, bias, limits, how to reproduce."""
    t = meta["training"]
    lines = [
        f"# Model card: {meta['name']}@{meta['version']}",
        "",
        f"Created {meta['created']} with scikit-learn {meta['versions']['scikit-learn']}, "
        f"Python {meta['versions']['python']}. Training took {t['seconds']:.0f} s.",
        "",
        "## What it does",
        "",
        f"Scores a comment (after `moderator.text.normalise`) on {len(meta['thresholds'])} "
        f"policy categor{'y' if len(meta['thresholds']) == 1 else 'ies'} with calibrated "
        "probabilities: "
        + ", ".join(meta["thresholds"])
        + " (toxicity: breaks the policy). "
        + _recipe_text(t)
        + " -> "
        + _model_text(t)
        + ", each fitted only "
        "on rows labelled for it, with Platt scaling fitted on "
        + (
            f"{t['calibration_folds']}-fold out-of-fold decision values."
            if t.get("calibration_folds")
            else "the validation rows' decision values."
        )
        + (
            " The decision path (moderator/service.py) scores every comment whole and sentence "
            "by sentence (long run-ons in 12-word windows) and takes the highest score per "
            "category; the thresholds and every figure below are on those scores."
            if meta.get("decision", {}).get("sentences", True)
            else " The decision path scores every comment whole: on this language's "
            + ("out-of-fold scores" if t.get("folds") else "validation rows")
            + f" whole texts ranked toxicity better (AUC {meta['decision'].get('auc_whole')}) "
            f"than whole-or-sentence maxima ({meta['decision'].get('auc_sentences')})."
        ),
        "",
        *_language_section(meta, report),
        "## Data",
        "",
    ]
    if t.get("folds"):
        k = t["folds"]["k"]
        lines += [
            f"Every training row is fitted on by this model and was scored out of fold by one "
            f"of {k} models, each fitted on the other folds ({t['validation']}; rows held out "
            f"per fold: {', '.join(str(n) for n in t['folds']['held_out_rows'])}).",
            "",
            "| dataset | training rows (fitted on, scored out of fold) | test rows |",
            "|---|---|---|",
        ]
        for source, counts in t["rows"].items():
            lines.append(f"| {source} | {counts.get('train', 0)} | {counts.get('test', 0)} |")
    else:
        lines += [
            "| dataset | training rows | validation rows | test rows |",
            "|---|---|---|---|",
        ]
        for source, counts in t["rows"].items():
            lines.append(
                f"| {source} | {counts.get('train', 0)} | {counts.get('validation', 0)} | "
                f"{counts.get('test', 0)} |"
            )
    lines += ["", "Files (sha256):", ""]
    lines += [f"- `{f}` {h}" for f, h in meta["data"].items()]
    lines += ["", "## Label mapping", ""]
    for dataset, rules in meta["label_mapping"].items():
        lines.append(f"- **{dataset}**: " + "; ".join(f"{k} -> {v}" for k, v in rules.items()))
    lines += [
        "",
        "Anything not named is unlabelled (left out of that category's fit), never negative.",
        "",
        "Labelled rows per category (positives): "
        + ", ".join(f"{c} {n} ({p})" for c, (n, p) in t["labelled"].items())
        + ".",
        "",
        "## Thresholds",
        "",
        meta["threshold_rule"] + ".",
        "",
        "| category | hold | reject |",
        "|---|---|---|",
    ]
    lines += [f"| {c} | {v['hold']} | {v['reject']} |" for c, v in meta["thresholds"].items()]
    lines += ["", "## Metrics (held-out test splits)", "", "```", *summary_lines(report), "```"]
    lines += ["", "Per dataset and category (AUC / F1 at hold / Brier):", ""]
    lines += [
        "| dataset | category | n | positives | AUC | F1 | Brier |",
        "|---|---|---|---|---|---|---|",
    ]
    for source, cats in report["per_dataset"].items():
        for c, m in cats.items():
            if "auc" not in m:
                continue
            lines.append(
                f"| {source} | {c} | {m['n']} | {m['positives']} | {m.get('auc', 'n/a')} | "
                f"{m.get('f1', 'n/a')} | {m['brier']} |"
            )
    lines += [
        "",
        "Rows of a dataset that are labelled for a category but hold only negatives are left "
        "out of this table (their Brier scores are in model.json). Plots and reliability "
        "tables: `report/EVALUATION.md`.",
        "",
    ]
    lines += targets(report) if meta.get("language", "en") == "en" else []
    neutral = report.get("neutral_identity")
    lines += ["## Bias: neutral identity sentences", ""]
    if neutral:
        lines.append(
            f"{neutral['false_flags']} of {neutral['n']} neutral sentences that mention an "
            f"identity (training/eval/, our own templates x identity terms, never trained on) "
            f"cross a hold threshold "
            f"({neutral['false_flag_rate']:.1%})."
        )
        if neutral["flagged"]:
            lines += ["", "Flagged:", ""] + [f"- {s}" for s in neutral["flagged"]]
    else:
        lines.append("Not measured (no neutral identity file given).")
    lines += [
        "",
        "## Benchmark",
        "",
        BENCH_START,
        "Run `python bench/bench_quality.py` to compare with alt-profanity-check here.",
        BENCH_END,
        "",
        "## Known limits",
        "",
        *limits(meta.get("language", "en")),
        "",
        "## How to reproduce",
        "",
        "```",
        command,
        "```",
        "",
        "Training is deterministic for a given seed, data and library versions "
        "(`model.json` records all three).",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")


def _recipe_text(training: dict) -> str:
    """The features in words: n-gram ranges and, where used, the naive Bayes scaling."""
    recipe = training.get("recipe", {})
    words = recipe.get("word_ngrams", [1, 2])
    chars = recipe.get("char_ngrams", [3, 5])
    text = (
        f"Word {words[0]}-{words[1]}-gram and in-word character {chars[0]}-{chars[1]}-gram "
        f"TF-IDF ({_feature_counts(training)})"
    )
    nb = recipe.get("nb_scale") or {}
    powers = nb if isinstance(nb, dict) else {"every category": nb}
    powers = {name: power for name, power in powers.items() if power}
    if powers:
        text += (
            ", features scaled by their naive Bayes log-count ratio for "
            + ", ".join(f"{name} (to the power {power})" for name, power in powers.items())
            + (" (NB-SVM" if recipe.get("loss") == "squared_hinge" else " (NB-LR")
            + ": the scale is folded into the weights, so the model stays one linear "
            "model over the TF-IDF features)"
        )
    return text


def _model_text(training: dict) -> str:
    """The linear fit in words: logistic regression or linear SVM, class weighting."""
    loss = training.get("recipe", {}).get("loss", "log")
    losses = loss if isinstance(loss, dict) else {}
    svm = [name for name, value in losses.items() if value == "squared_hinge"]
    if loss == "squared_hinge":
        text = "one linear SVM (squared hinge loss) per category"
    elif svm:
        text = (
            "one logistic regression per category (a linear SVM, squared hinge loss, for "
            + ", ".join(svm)
            + ")"
        )
    else:
        text = "one logistic regression per category"
    weight = training.get("params", {}).get("class_weight", "balanced")
    return text + (" with unweighted classes" if weight is None else "")


def _language_section(meta: dict, report: dict) -> list[str]:
    """A language's model card says what it scores, what it does not, and its official test."""
    language = meta.get("language", "en")
    if language == "en":
        return []
    from moderator.policy import CATEGORIES

    info = LANGUAGES.get(language, {"name": language})
    scored = list(meta["thresholds"])
    missing = [str(c) for c in CATEGORIES if str(c) not in scored]
    lines = [
        "## Language",
        "",
        f"{info['name']} (`{language}`): comments detected (or declared) as {language} are "
        f"scored by this model; its input is `normalise(text, {language!r})`, which keeps "
        "the language's letters.",
        "",
        f"Scored: {', '.join(scored)}.",
        "",
    ]
    if info.get("credits"):
        lines += [f"Trained on {info['credits']}; thanks to their authors.", ""]
    if missing:
        lines += [
            f"Not scored: {', '.join(missing)}. The {info['name']} data does not label "
            "them (or labels too few), so no score is given for them: a decision names only "
            "the categories above.",
            "",
        ]
    official = report.get("official_test")
    training = meta.get("training", {})
    folds = training.get("folds")
    lines += [
        "The feature ranges, C and naive Bayes scaling were chosen by 5-fold cross-validation "
        "inside the training rows (`python bench/lang_recipe_cv.py --language "
        f"{language} --all`, `bench/results/lang-recipe-cv-{language}.md`); the official "
        "test below was read once, for this card.",
        "",
    ]
    cv = training.get("cross_validation", {})
    if folds and "toxicity_auc" in cv:
        lines += [
            f"Out of fold ({training['validation']}; toxicity labelled on "
            f"{cv['toxicity_rows']} of them): toxicity AUC {cv['toxicity_auc']}"
            + (
                f", macro-F1 {cv['toxicity_macro_f1']} at {cv['threshold']} (the threshold "
                "chosen on these scores)"
                if "toxicity_macro_f1" in cv
                else ""
            )
            + (
                f", {cv['toxicity_macro_f1_other_folds']} with each fold's threshold chosen "
                "on the other folds"
                if "toxicity_macro_f1_other_folds" in cv
                else ""
            )
            + ".",
            "",
        ]
    if official:
        source = "out-of-fold scores" if folds else "validation"
        lines += [
            "| official test | n | macro-F1 | AUC | published |",
            "|---|---|---|---|---|",
            f"| {official['dataset']} | {official['n']} | {official['macro_f1']} "
            f"(threshold {official['threshold']}, from {source}) | {official['auc']} | "
            f"{info.get('published', 'n/a')} |",
            "",
        ]
        target = info.get("target")
        if target is not None:
            met = official["macro_f1"] >= target
            lines += [
                f"The issue's target, official test macro-F1 >= {target}: "
                + ("met" if met else "not met")
                + f" ({official['macro_f1']}).",
                "",
            ]
    return lines


#: The issue's quality targets, restated next to the measured value in every model card.
TARGETS = {
    "OLID subtask A official test macro-F1": (("olid_subtask_a", "macro_f1"), 0.76, ">="),
    "Davidson held-out 3-class weighted F1": (("davidson_3class", "weighted_f1"), 0.91, ">="),
    "neutral identity false-flag rate": (("neutral_identity", "false_flag_rate"), 0.02, "<="),
}


def targets(report: dict) -> list[str]:
    """The "Against the targets" section: target, measured value, reached or not."""
    lines = ["## Against the targets", "", "| target | measured | reached |", "|---|---|---|"]
    for name, ((section, key), goal, op) in TARGETS.items():
        value = report.get(section, {}).get(key)
        if value is None:
            lines.append(f"| {name} {op} {goal} | not measured | n/a |")
            continue
        reached = value >= goal if op == ">=" else value <= goal
        lines.append(f"| {name} {op} {goal} | {value} | {'yes' if reached else 'no'} |")
    lines += [
        "",
        "AUC against alt-profanity-check on every split: see Benchmark below.",
        "",
    ]
    return lines


def replace_bench_section(card: Path, text: str, name: str = "quality") -> None:
    """Put `text` in the MODEL_CARD.md section a bench script owns.

    `quality` (bench_quality.py) sits between the BENCH markers under "## Benchmark"; any
    other name (dilution, spans, decisions) between `<!-- bench:NAME -->` markers, appended
    at the end of the card the first time.
    """
    content = card.read_text(encoding="utf-8")
    if name == "quality":
        start_marker, end_marker = BENCH_START, BENCH_END
    else:
        start_marker, end_marker = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        if start_marker not in content:
            content = content.rstrip("\n") + f"\n\n{start_marker}\n{end_marker}\n"
    start, end = content.index(start_marker), content.index(end_marker)
    content = content[: start + len(start_marker)] + "\n" + text.strip() + "\n" + content[end:]
    card.write_text(content, encoding="utf-8")
