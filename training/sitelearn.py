"""`python -m training site NAME`: learn a site's thresholds and layer from its own decisions.

Reads the site's human decisions from the database, splits them by time (the newest share
is the test set), and with the model serving now:
  1. suggests a hold threshold per category (moderator/sitelayer.py: the one that agreed
     most with the moderators on the older decisions) and reports the agreement it and the
     current threshold give on the newest ones: a person applies it or not;
  2. fits the site's layer (a logistic regression over the shared model's scores) on the
     older decisions and puts it through the gate against the shared model: the site's newest
     decisions, the neutral identity sentences and the innocent-word sentences, all decided
     with the site's settings (training/compare.py);
  3. with --promote, records the layer for every worker when the gate says promote.
A site with too few decisions (sitelayer.MIN_DECISIONS, MIN_EACH) keeps the shared model.
"""

from __future__ import annotations

import json

import click
import numpy as np

from training.decisions import TEST_SHARE
from training.options import progress
from training.options import read_neutral


@click.command("site")
@click.argument("name")
@click.option(
    "--database-url",
    envvar="DATABASE_URL",
    default=None,
    help="The database with the site's decisions (also DATABASE_URL; default: the instance "
    "folder's SQLite).",
)
@click.option(
    "--test-share",
    type=click.FloatRange(0.01, 0.9),
    default=TEST_SHARE,
    show_default=True,
    help="The newest share of the site's decisions that tests the layer and the thresholds.",
)
@click.option("--promote", is_flag=True, help="Promote the layer if the gate says promote.")
@click.option("--reason", default=None, help="Why (required with --promote; audited).")
@click.option("--by", default="cli", show_default=True, help="Who promotes (audited).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def site_command(
    name: str,
    database_url: str | None,
    test_share: float,
    promote: bool,
    reason: str | None,
    by: str,
    as_json: bool,
) -> None:
    """Suggest a site's thresholds and learn its layer over the shared model, gated.

    Exit status 0 when the layer passed the gate (and was promoted with --promote), 3 when
    it was refused or the site has too few decisions (1 for bad input).
    """
    from moderator import promotion
    from moderator import storage
    from moderator.classifier import Classifier
    from moderator.classifier import ModelLoadError
    from moderator.config import Config
    from moderator.config import ConfigError
    from moderator.config import fix_database_url
    from moderator.service import Moderation
    from moderator.service import rules_for
    from moderator.sitelayer import enough
    from moderator.storage import sites
    from training import compare
    from training import decisions
    from training.judge import _innocent

    if promote and not (reason or "").strip():
        raise click.UsageError("--promote needs --reason")
    try:
        config = Config.from_env()
        url = fix_database_url(database_url) if database_url else config.database_url
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    engine = storage.make_engine(url)
    try:
        try:
            with storage.reading(engine) as conn:
                site = sites.get_site_by_name(conn, name)
            serving = promotion.serving_model(engine, config.model_path)
            found = [d for d in decisions.from_engine(engine) if d.site == name]
        except storage.StorageUnavailable as error:
            raise click.ClickException(f"database unavailable: {error}") from None
        except Exception as error:
            from sqlalchemy import exc

            if not isinstance(error, exc.SQLAlchemyError):
                raise
            raise click.ClickException(
                "cannot read the site's decisions (is the database initialised? moderator init-db)"
            ) from None
        if site is None:
            raise click.ClickException(f"no site {name}")
        if serving is None:
            raise click.ClickException("no model serves (MODERATOR_MODEL_PATH)")
        try:
            classifier = Classifier.load(serving["path"])
        except ModelLoadError as error:
            raise click.ClickException(str(error)) from None
        report: dict = {"site": name, "model": classifier.label(), "decisions": len(found)}
        rejections = sum(d.rejected for d in found)
        why_not = enough(len(found) - rejections, rejections)
        if why_not:
            report.update(verdict="refuse", reasons=[f"keeps the shared model: {why_not}"])
            _print(report, as_json)
            raise SystemExit(3)
        older, newest = decisions.time_split(found, test_share)
        moderation = Moderation(classifier)
        shared_rules = rules_for(moderation, site)
        progress(f"{name}: {len(older)} older decisions to learn from, {len(newest)} to test")
        report["thresholds"] = _suggest(moderation, shared_rules, older, newest)
        layer = _fit_layer(moderation, shared_rules, older, site.id, serving["sha256"])
        layered = moderation.site_rules(**_settings(site), layer=layer)
        rules_a, rules_b = {name: shared_rules}, {name: layered}
        checks, flipped = compare.site_checks(classifier, classifier, newest, rules_a, rules_b)
        progress("deciding the neutral identity and innocent-word sentences with and without it")
        checks.append(
            compare.neutral_check(classifier, classifier, read_neutral(None), shared_rules, layered)
        )
        checks += compare.innocent_checks(
            classifier, classifier, _innocent(), shared_rules, layered
        )
        report.update(compare.verdict(checks))
        report["layer"] = layer.to_dict()
        report["flipped"] = flipped
        if promote and report["verdict"] == compare.PASS:
            try:
                promoted = promotion.promote_layer(
                    engine,
                    name,
                    layer.to_dict(),
                    actor=f"cli:{by}",
                    reason=reason,
                    gate={k: report[k] for k in ("verdict", "reasons")},
                    default_model=config.model_path,
                )
            except promotion.PromotionError as error:
                raise click.ClickException(str(error)) from None
            report["promoted"] = promoted.label
    finally:
        engine.dispose()
    _print(report, as_json)
    if report["verdict"] != compare.PASS:
        raise SystemExit(3)


def _settings(site) -> dict:
    from moderator.service import site_settings

    return site_settings(site)


def _suggest(moderation, rules, older, newest) -> list[dict]:
    """Per category: the current and the suggested hold threshold, each one's agreement."""
    from dataclasses import asdict

    from moderator.sitelayer import Suggestion
    from moderator.sitelayer import agreement
    from moderator.sitelayer import best_threshold

    old = moderation.decide_batch([d.text for d in older], rules)
    new = moderation.decide_batch([d.text for d in newest], rules)
    out = []
    for category, threshold in rules.thresholds.items():
        name = str(category)
        train = [(o.scores.get(name, 0.0), d.labels[name]) for d, o in zip(older, old, strict=True)]
        train = [(s, y) for s, y in train if y is not None]
        test = [(o.scores.get(name, 0.0), d.labels[name]) for d, o in zip(newest, new, strict=True)]
        test = [(s, y) for s, y in test if y is not None]
        if not train or len({y for _, y in train}) < 2:
            continue
        # A model's own thresholds may sit near 0 or 1 (a confident model): search all of it.
        suggested = round(
            best_threshold([s for s, _ in train], [y for _, y in train], 1e-4, 1 - 1e-4), 6
        )
        scores, labels = [s for s, _ in test], [y for _, y in test]
        out.append(
            asdict(
                Suggestion(
                    name,
                    threshold.hold,
                    suggested,
                    agreement(scores, labels, threshold.hold),
                    agreement(scores, labels, suggested),
                    len(test),
                )
            )
        )
    return out


def _fit_layer(moderation, rules, older, site_id: int, base: str):
    """A logistic regression from the shared model's scores (logits) to the moderators'
    reject, and the hold threshold that agreed most with them, on the older decisions."""
    from sklearn.linear_model import LogisticRegression

    from moderator.sitelayer import SiteLayer
    from moderator.sitelayer import best_threshold
    from moderator.sitelayer import logit

    categories = tuple(str(c) for c in moderation.classifier.categories)
    decided = moderation.decide_batch([d.text for d in older], rules)
    x = np.array([[logit(o.scores.get(c, 0.0)) for c in categories] for o in decided])
    y = np.array([int(d.rejected) for d in older])
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    layer = SiteLayer(
        site_id,
        categories,
        tuple(round(float(w), 6) for w in model.coef_[0]),
        round(float(model.intercept_[0]), 6),
        0.5,
        base,
        "candidate",
    )
    p = [layer.probability(o.scores) for o in decided]
    hold = min(max(best_threshold(p, list(y)), 0.05), 0.95)
    return SiteLayer(site_id, categories, layer.coef, layer.intercept, hold, base, "candidate")


def _print(report: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    click.echo(f"site {report['site']}: {report['decisions']} decisions, model {report['model']}")
    for t in report.get("thresholds", []):
        click.echo(
            f"  {t['category']:16} hold {t['current']} -> suggested {t['suggested']}: "
            f"agreement on the newest {t['n']} {_pct(t['agreement_current'])} -> "
            f"{_pct(t['agreement_suggested'])}"
        )
    if "layer" in report:
        click.echo("site layer (the shared model's scores -> this site's reject), gated:")
        for c in report["checks"]:
            click.echo(f"  {'ok  ' if c['passed'] else 'FAIL'} {c['detail']}")
    click.echo(f"verdict: {report['verdict'].upper()}")
    for reason in report["reasons"]:
        click.echo(f"  - {reason}")
    if report.get("promoted"):
        click.echo(f"promoted {report['promoted']}; workers apply it within ~1 s")


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"
