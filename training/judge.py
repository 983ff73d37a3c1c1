"""`evaluate` and `compare`: a model judged on the public test splits, our held-out sentence
sets and the site's own decisions; two models judged against each other (the promotion gate).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from training.decisions import DATABASE
from training.decisions import TEST_SHARE
from training.options import data_dir_option
from training.options import load
from training.options import neutral_option
from training.options import progress
from training.options import read_neutral


def _decisions_options(f):
    f = click.option(
        "--database-url",
        envvar="DATABASE_URL",
        default=None,
        help="The database `--decisions database` reads (also DATABASE_URL; default: the "
        "instance folder's SQLite).",
    )(f)
    f = click.option(
        "--test-share",
        type=click.FloatRange(0.01, 0.9),
        default=TEST_SHARE,
        show_default=True,
        help="The newest share of the site's decisions that is the test set.",
    )(f)
    f = click.option(
        "--decisions",
        "decisions_source",
        metavar="FILE|database",
        default=None,
        help="The site's human decisions: an export-labels CSV, or `database` to read them "
        "from DATABASE_URL. Without it only public and held-out sets are used.",
    )(f)
    f = click.option(
        "--public/--no-public",
        default=True,
        show_default=True,
        help="Also score the public datasets' test splits (needs --data-dir).",
    )(f)
    return f


def _model(path: Path):
    from moderator.classifier import Classifier
    from moderator.classifier import ModelLoadError

    try:
        return Classifier.load(path)
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from None


def _test_decisions(source: str | None, share: float, database_url: str | None):
    """(older, newest) decisions and each site's stored settings (database only)."""
    from training import decisions

    if source is None:
        return [], [], {}
    url = None
    if source == DATABASE:
        from moderator.config import Config
        from moderator.config import ConfigError
        from moderator.config import fix_database_url

        try:
            url = fix_database_url(database_url) if database_url else Config.from_env().database_url
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
    try:
        found = decisions.read(source, url)
        sites = decisions.sites_from_database(url) if url else {}
    except decisions.DecisionsError as error:
        raise click.ClickException(str(error)) from None
    older, newest = decisions.time_split(found, share)
    progress(f"site decisions: {len(found)} ({len(older)} older, {len(newest)} newest tested)")
    return older, newest, sites


def _rules(classifier, sites: dict) -> dict:
    from moderator.service import Moderation
    from moderator.service import rules_for

    moderation = Moderation(classifier)
    return {name: rules_for(moderation, site) for name, site in sites.items()}


def _innocent() -> list[str]:
    from training.evalsets import EvalSetError
    from training.evalsets import innocent_words

    try:
        return innocent_words()
    except EvalSetError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("evaluate")
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Model directory (models/NAME).",
)
@data_dir_option
@neutral_option
@_decisions_options
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate_command(
    model_dir: Path,
    data_dir: Path,
    neutral,
    public: bool,
    decisions_source: str | None,
    test_share: float,
    database_url: str | None,
    as_json: bool,
) -> None:
    """A model's metrics: public test splits, neutral and innocent sentences, site decisions."""
    from moderator.service import Moderation
    from moderator.text import normalise
    from training.evaluate import evaluate
    from training.evaluate import summary_lines
    from training.sitereport import decide
    from training.sitereport import site_lines
    from training.sitereport import site_report

    classifier = _model(model_dir)
    language = classifier.language
    _, newest, sites = _test_decisions(decisions_source, test_share, database_url)
    sentences = read_neutral(neutral) if language == "en" or neutral else []
    report: dict = {}
    if public:
        examples = load(data_dir, language=language)
        normalised = [normalise(e.text, language) for e in examples]
        report = evaluate(classifier, examples, normalised, sentences)
        report.pop("curves")
    if language == "en":
        from training.compare import innocent_checks

        check = innocent_checks(classifier, classifier, _innocent())
        report["innocent_words"] = {"rejected": check[0].current, "flagged": check[1].current}
        report["innocent_words"]["n"] = len(_innocent())
    if decisions_source is not None:
        holds = {str(c): t.hold for c, t in classifier.thresholds.items()}
        outcomes = decide(Moderation(classifier), newest, _rules(classifier, sites))
        report["site_decisions"] = site_report(newest, outcomes, holds)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    click.echo(f"model {classifier.label()}")
    if public:
        for line in summary_lines(report):
            click.echo(line)
    if "innocent_words" in report:
        i = report["innocent_words"]
        click.echo(
            f"innocent-word sentences: {i['rejected']}/{i['n']} rejected, "
            f"{i['flagged']}/{i['n']} held or rejected"
        )
    if "site_decisions" in report:
        for line in site_lines(report["site_decisions"], "site decisions (newest, tested)"):
            click.echo(line)


@click.command("compare")
@click.option(
    "--candidate",
    type=click.Path(path_type=Path),
    required=True,
    help="The new model's directory (models/B).",
)
@click.option(
    "--current",
    type=click.Path(path_type=Path),
    required=True,
    help="The live model's directory (models/A).",
)
@data_dir_option
@neutral_option
@_decisions_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the report as JSON (what `moderator models promote --report` reads).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--list",
    "listed",
    type=click.IntRange(0, 100000),
    default=50,
    show_default=True,
    help="Flipped comments printed (the JSON has them all).",
)
def compare_command(
    candidate: Path,
    current: Path,
    data_dir: Path,
    neutral,
    public: bool,
    decisions_source: str | None,
    test_share: float,
    database_url: str | None,
    out: Path | None,
    as_json: bool,
    listed: int,
) -> None:
    """Compare a candidate model with the current one: promote or refuse, with the reasons.

    Exit status 0 when the verdict is promote, 3 when it is refuse (1 for bad input).
    """
    from training import compare
    from training.datasets import TEST

    if candidate.resolve() == current.resolve():
        raise click.BadParameter("is the current model itself", param_hint="--candidate")
    new, old = _model(candidate), _model(current)
    if new.language != old.language:
        raise click.ClickException(
            f"the candidate is a {new.language} model and the current one {old.language}"
        )
    language = old.language
    older, newest, sites = _test_decisions(decisions_source, test_share, database_url)
    checks: list[compare.Check] = []
    notes = []
    missing = [c for c in old.categories if c not in new.categories]
    if public:
        examples = load(data_dir, language=language)
        test_rows = [i for i, e in enumerate(examples) if e.split == TEST]
        progress(f"scoring {len(test_rows)} public test rows with both models")
        checks += compare.public_checks(old, new, examples, test_rows)
    else:
        notes.append("public test splits not compared (--no-public)")
    if language == "en" or neutral:
        sentences = read_neutral(neutral)
        progress(f"scoring {len(sentences)} neutral identity sentences with both models")
        checks.append(compare.neutral_check(old, new, sentences))
    if language == "en":
        checks += compare.innocent_checks(old, new, _innocent())
    flipped: list[dict] = []
    if decisions_source is None:
        notes.append("no site decisions given (--decisions): the site's own decisions not checked")
    elif not newest:
        notes.append("too few site decisions to test (fewer than 2)")
    else:
        progress(f"deciding {len(newest)} site decisions with both models")
        site, flipped = compare.site_checks(
            old, new, newest, _rules(old, sites), _rules(new, sites)
        )
        checks += site
    report = {
        "current": _described(current, old),
        "candidate": _described(candidate, new),
        "split": {
            "train": len(older),
            "test": len(newest),
            "test_share": test_share,
            "test_from": newest[0].decided_at.isoformat()
            if newest and newest[0].decided_at
            else None,
        }
        if decisions_source is not None
        else None,
        **compare.verdict(checks, missing),
        "notes": notes,
        "flipped": flipped,
    }
    if out is not None:
        try:
            out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        for line in compare.report_lines(report, listed):
            click.echo(line)
    if report["verdict"] != compare.PASS:
        raise SystemExit(3)


def _described(path: Path, classifier) -> dict:
    from moderator.serving import model_digest

    return {
        "path": str(path.resolve()),
        "label": classifier.label(),
        # What `moderator models promote --report` checks: model.joblib and model.json.
        "model_sha256": model_digest(path),
    }
