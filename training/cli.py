"""`python -m training`: train and evaluate the policy classifier (click group)."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import click
import numpy as np

from training.folds import FOLDS
from training.judge import compare_command
from training.judge import evaluate_command
from training.labels import export_labels_command
from training.options import data_dir_option
from training.options import load
from training.options import neutral_option
from training.options import progress
from training.options import read_neutral
from training.record import VALIDATION_SHARE
from training.record import operating_points
from training.record import rows_per_source
from training.record import sentence_choice
from training.record import training_record
from training.sitelearn import site_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Train and evaluate Moderator's policy classifier."""


def _check_plotting() -> None:
    """Fail in a second, not after the fit, when the report's plots can't be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "training draws its report with matplotlib, which is not installed: "
            "pip install -e '.[training]' (or pip install 'matplotlib>=3.8')"
        ) from None


@cli.command()
@data_dir_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Model directory to write, e.g. models/NAME (its last part is the model name).",
)
@click.option(
    "--extra",
    "extras",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Extra labelled CSV (text + category columns of 1/0/empty); repeatable.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Random seed (validation split, folds, solver).",
)
@neutral_option
@click.option(
    "--language",
    type=click.Choice(["en", "de", "pt", "tr"]),
    default="en",
    show_default=True,
    help="The language to train for: en (the shipped default), or de, pt, tr from "
    "shared/data/multilingual (each scores only the categories its data labels).",
)
@click.option(
    "--folds",
    type=click.IntRange(min=0, max=20),
    default=None,
    help="Languages other than English: choose thresholds, operating points and "
    f"sentence scoring on K-fold out-of-fold scores over every training row, then fit on "
    f"all of them (default {FOLDS}); 0 = on a seeded {VALIDATION_SHARE:.0%} validation split, "
    "fitting on the rest (English always uses that split).",
)
def train(
    data_dir: Path,
    out: Path,
    extras: tuple[Path, ...],
    seed: int,
    neutral,
    language: str,
    folds: int | None,
) -> None:
    """Train on every shared dataset of a language (+ extras) and write models/NAME."""
    from moderator.classifier import Classifier
    from moderator.service import Moderation
    from moderator.text import normalise
    from training import artifacts
    from training.datasets import TRAIN
    from training.datasets import file_hashes
    from training.datasets import sample_weights
    from training.datasets import validation_split
    from training.evaluate import NAMES
    from training.evaluate import choose_thresholds
    from training.evaluate import evaluate
    from training.evaluate import trainable_categories
    from training.folds import assign_folds
    from training.folds import cross_validation
    from training.folds import fit_with_folds
    from training.pipeline import DEFAULT_PARAMS
    from training.pipeline import LANGUAGE_PARAMS
    from training.pipeline import build_pipeline
    from training.pipeline import slim

    started = time.perf_counter()
    if folds is None:
        folds = 0 if language == "en" else FOLDS
    if folds == 1:
        raise click.UsageError("--folds must be 0 (a validation split) or at least 2")
    if folds and language == "en":
        raise click.UsageError(
            "--folds is for languages other than English; English uses its validation split"
        )
    for path in extras:
        if not path.is_file():
            raise click.ClickException(f"extra file {path} does not exist")
    try:
        artifacts.check_writable(out)
    except OSError as exc:
        raise click.ClickException(f"cannot write to {out}: {exc.strerror or exc}") from None
    _check_plotting()
    # The neutral identity sentences are English; another language is measured on its data.
    sentences = read_neutral(neutral) if language == "en" or neutral else []
    examples = load(data_dir, extras, seed, language)
    progress(f"normalising {len(examples)} texts")
    normalised = [normalise(e.text, language) for e in examples]
    if folds:
        # Every training row is fitted on by the final model and scored out of fold.
        validation: set[int] = set()
        try:
            fold = assign_folds(examples, folds, seed)
        except ValueError as exc:
            raise click.ClickException(f"cannot train: {exc}") from None
        train_rows = [i for i in range(len(examples)) if fold[i] >= 0]
        val_rows = train_rows
    else:
        validation = validation_split(examples, VALIDATION_SHARE, seed)
        # A counterfactual copy of a validation row would leak it into training.
        train_rows = [
            i
            for i, e in enumerate(examples)
            if e.split == TRAIN
            and i not in validation
            and e.meta.get("counterfactual_of", -1) not in validation
        ]
        val_rows = sorted(validation)
    labels = np.array([e.labels for e in examples], dtype=float)
    # A category is trained when the language's data labels enough of it both ways.
    names = trainable_categories(labels[train_rows], language)
    if "toxicity" not in names:
        raise click.ClickException(f"not enough toxicity labels to train {language}")
    dropped = [n for n in NAMES if n not in names]
    if dropped:
        progress(f"not trained (too few labels in {language}): {', '.join(dropped)}")
    labels = labels[:, [NAMES.index(n) for n in names]]
    weights = sample_weights(examples, normalised)

    # A language's own feature and regression settings (English: the defaults).
    recipe = {**DEFAULT_PARAMS, **LANGUAGE_PARAMS.get(language, {})}
    if folds:
        progress(
            f"{folds}-fold out-of-fold scores over all {len(train_rows)} training rows, "
            "then the final model on all of them"
        )
        try:
            pipeline, oof = fit_with_folds(
                examples,
                normalised,
                labels,
                weights,
                fold,
                names,
                LANGUAGE_PARAMS.get(language, {}),
                language,
                seed,
                log=progress,
            )
        except ValueError as exc:
            raise click.ClickException(f"cannot train: {exc}") from None
    else:
        progress(f"fitting on {len(train_rows)} rows ({len(val_rows)} held for validation)")
        # Platt scaling on the validation rows rather than cross-validated: one fit per
        # category instead of four keeps training inside its time budget. Small data sets
        # whose validation rows lack a class for some category fall back to 3-fold CV.
        val_classes = [
            set(labels[val_rows, j][~np.isnan(labels[val_rows, j])]) for j in range(labels.shape[1])
        ]
        on_validation = all(c == {0.0, 1.0} for c in val_classes)
        pipeline = build_pipeline(
            random_state=seed,
            calibration_folds=0 if on_validation else 3,
            categories=names,
            **LANGUAGE_PARAMS.get(language, {}),
        )
        try:
            pipeline.fit(
                [normalised[i] for i in train_rows],
                labels[train_rows],
                categories__sample_weight=[weights[i] for i in train_rows],
            )
            if on_validation:
                pipeline.named_steps["categories"].calibrate(
                    pipeline[:-1].transform([normalised[i] for i in val_rows]), labels[val_rows]
                )
        except ValueError as exc:
            raise click.ClickException(f"cannot train: {exc}") from None
    slim(pipeline)
    progress(f"fitted in {time.perf_counter() - started:.1f} s; choosing thresholds")

    # Thresholds are chosen on the scores the decision path will give (whole text and each
    # sentence, the highest per category), not on the whole text alone.
    # With folds, every training row's out-of-fold scores stand for the validation rows'.
    if folds:
        val_probs = oof.sentences
    else:
        scratch = Moderation(Classifier(pipeline, {"name": out.name, "language": language}))
        val_texts = [examples[i].text for i in val_rows]
        val_probs = np.array([[s[n] for n in names] for s in scratch.scores(val_texts)])
    val_labels = labels[val_rows]
    decision = {"sentences": True}
    if language != "en":
        # Sentence scoring was chosen for long English news comments; another language's
        # data (tweets) may rank worse with it: keep it only where validation says so.
        if folds:
            whole_probs = oof.whole
        else:
            whole = Moderation(
                Classifier(
                    pipeline,
                    {"name": out.name, "language": language, "decision": {"sentences": False}},
                )
            )
            whole_probs = np.array([[s[n] for n in names] for s in whole.scores(val_texts)])
        decision = sentence_choice(val_labels[:, 0], val_probs[:, 0], whole_probs[:, 0])
        progress(
            ("out-of-fold" if folds else "validation")
            + f" toxicity AUC: whole text {decision['auc_whole']}, "
            f"with sentences {decision['auc_sentences']}: "
            + ("scoring sentences" if decision["sentences"] else "scoring whole texts")
        )
        if not decision["sentences"]:
            val_probs = whole_probs
    thresholds = choose_thresholds(val_labels, val_probs, names)
    points = operating_points(examples, val_rows, val_labels, val_probs, language)
    rows = rows_per_source(examples, validation)
    try:
        hashes = file_hashes(data_dir, extras, language)
    except OSError as exc:
        raise click.ClickException(f"cannot hash data files: {exc}") from None
    try:
        with artifacts.staging(out) as work:
            model_sha = artifacts.write_model(work, pipeline)
            artifacts.write_serving(work, pipeline, model_sha)
            command = "python -m training train --data-dir PATH " + shlex.join(
                [
                    *(["--language", language] if language != "en" else []),
                    "--out",
                    str(out),
                    *[a for p in extras for a in ("--extra", str(p))],
                    "--seed",
                    str(seed),
                    *(["--folds", str(folds)] if language != "en" and folds != FOLDS else []),
                ]
            )
            training = training_record(
                pipeline,
                seed=seed,
                folds=folds,
                train_rows=train_rows,
                oof=oof if folds else None,
                recipe=recipe,
                rows=rows,
                names=names,
                val_labels=val_labels,
                val_probs=val_probs,
                extras=extras,
                command=command,
            )
            if folds:
                training["cross_validation"] = cross_validation(
                    val_labels[:, 0], val_probs[:, 0], fold[val_rows], points
                )
            meta = artifacts.metadata(
                out.name,
                model_sha,
                hashes,
                thresholds,
                points,
                training,
                language=language,
                chosen_on=(
                    f"chosen on {folds}-fold out-of-fold scores over all {len(train_rows)} "
                    f"training rows (each scored by a model fitted on the other {folds - 1} "
                    "folds, through the decision path; the final model is fitted on every "
                    "training row)"
                    if folds
                    else None
                ),
            )
            meta["decision"] = decision
            classifier = Classifier(pipeline, meta)
            progress("evaluating on the held-out test splits")
            report = evaluate(classifier, examples, normalised, sentences)
            meta["training"]["seconds"] = round(time.perf_counter() - started, 1)
            meta["metrics"] = {k: v for k, v in report.items() if k != "curves"}
            artifacts.write_json(work, meta)
            artifacts.write_report(work, report)
            artifacts.write_card(work, meta, report, command)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    size = (out / "model.joblib").stat().st_size
    progress(f"done in {meta['training']['seconds']} s; model.joblib {size / 1e6:.1f} MB")
    from training.evaluate import summary_lines

    for line in summary_lines(report):
        click.echo(line)
    click.echo(f"wrote {out} ({meta['name']}@{meta['version']})")


@cli.command("compile")
@click.argument("model_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
def compile_command(model_dirs: tuple[Path, ...]) -> None:
    """Write MODEL_DIR/serving.npz (the fast-loading compiled model) from its model.joblib.

    Training writes it; this rebuilds it for a model trained before it existed or after a
    Moderator upgrade changed its format. model.joblib and model.json are not modified.
    """
    from moderator.classifier import ModelLoadError
    from training import artifacts

    for model_dir in model_dirs:
        try:
            path = artifacts.compile_serving(model_dir)
        except ModelLoadError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"wrote {path}")


cli.add_command(export_labels_command)
cli.add_command(evaluate_command)
cli.add_command(compare_command)
cli.add_command(site_command)


def main() -> None:
    """Entry point for python -m training."""
    cli()
