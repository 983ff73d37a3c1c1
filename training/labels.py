"""Moderators' decisions as labelled rows for `python -m training train --extra FILE.csv`.

One row per human-decided comment, with the columns `load_extra` reads: text, the five
category columns (1, 0 or empty = unlabelled), source, decided_by, decided_at. A decision
says different things about different categories, so the mapping is deliberately partial:

  approve                                   every category 0 (a person found nothing wrong)
  reject, reason toxicity                   toxicity 1; the other four unlabelled
  reject, reason obscene / insult /         that category 1 and toxicity 1 (each is a kind of
         identity_attack / threat           toxicity); the other three unlabelled
  reject, no reason code                    toxicity 1; the other four unlabelled
  reject, reason spam / off-topic / other   not exported: the rejection says nothing about the
                                            policy categories (spam can be polite; off-topic
                                            can be rude), so neither 1 nor 0 would be true
  a comment identified as another language  not exported: the model is trained on English

The text is exported as stored (training normalises it as it does every dataset).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

import click

from moderator.language import MODEL_LANGUAGES
from moderator.policy import CATEGORIES
from moderator.policy import Category

COLUMNS = (
    "text",
    *(str(c) for c in CATEGORIES),
    "source",
    "decided_by",
    "decided_at",
    "comment_id",
)
NOT_POLICY = frozenset({"spam", "off-topic", "other"})
SOURCE = "dashboard"


def label_values(human_decision: str, reason_code: str | None) -> dict[str, int | None] | None:
    """The category columns for one decision (None = unlabelled), or None to skip the row."""
    if human_decision == "approve":
        return {str(c): 0 for c in CATEGORIES}
    if human_decision != "reject":
        raise ValueError(f"unknown human decision {human_decision!r}")
    if reason_code in NOT_POLICY:
        return None
    values: dict[str, int | None] = {str(c): None for c in CATEGORIES}
    values[str(Category.TOXICITY)] = 1
    if reason_code:
        try:
            values[str(Category(reason_code))] = 1
        except ValueError:
            # A reason code this version doesn't know: keep the one thing a rejection says.
            pass
    return values


def export_labels(
    engine,
    out,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    test_share: float | None = None,
) -> Counter:
    """Write the CSV (header + one row per exported decision) to `out`; counts by outcome.

    `test_share` leaves out the newest share of the decisions, the very ones `evaluate` and
    `compare --decisions` test on (training/decisions.py), so a candidate is never tested
    on decisions it learnt from.
    """
    from moderator import storage
    from moderator.storage import review

    held_out: set[str] = set()
    if test_share is not None:
        from training.decisions import from_engine
        from training.decisions import time_split

        held_out = {d.comment_id for d in time_split(from_engine(engine), test_share)[1]}
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    counts: Counter = Counter()
    with storage.reading(engine) as conn:
        for label in review.human_labels(conn, since, until):
            if label.comment_id in held_out:
                counts["held_out"] += 1
                continue
            if label.language is not None and label.language not in MODEL_LANGUAGES:
                # A label on French text would teach the English model nothing true.
                counts["other_language"] += 1
                continue
            values = label_values(label.human_decision, label.reason_code)
            if values is None:
                counts["skipped"] += 1
                continue
            row = {k: "" if v is None else str(v) for k, v in values.items()}
            for name, value in values.items():
                if value is not None:
                    counts[f"{name}={value}"] += 1
            row.update(
                text=label.text,
                source=f"{SOURCE}:{label.site_name}",
                decided_by=label.decided_by or "",
                decided_at=storage.isoformat(label.decided_at) or "",
                comment_id=label.comment_id,
            )
            writer.writerow(row)
            counts[label.human_decision] += 1
    return counts


def _moment(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            "must be a date (2026-01-31) or an ISO 8601 time", param_hint=option
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


@click.command("export-labels")
@click.option(
    "--since",
    metavar="DATE",
    default=None,
    help="Only decisions made at or after DATE (2026-01-31 or ISO 8601; UTC unless given).",
)
@click.option(
    "--until", metavar="DATE", default=None, help="Only decisions made before DATE (same format)."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="CSV file to write (- for stdout); written whole or not at all.",
)
@click.option(
    "--database-url",
    envvar="DATABASE_URL",
    default=None,
    help="Database to read (also DATABASE_URL; default: the instance folder's SQLite).",
)
@click.option(
    "--min-age",
    metavar="AGE",
    default=None,
    help="Only decisions at least AGE old (e.g. 48h, 7d): time for a slip to be undone or "
    "appealed before it becomes a label.",
)
@click.option(
    "--test-share",
    type=click.FloatRange(0.01, 0.9),
    default=None,
    help="Leave out the newest share of the decisions: the test set of `evaluate` and "
    "`compare --decisions` with the same --test-share (0.2 there by default).",
)
def export_labels_command(
    since, until, out: Path, database_url: str | None, min_age, test_share: float | None
) -> None:
    """Write moderators' decisions as a labelled CSV for `train --extra`.

    approve -> all five categories 0; reject with a category reason -> that category and
    toxicity 1, the rest empty (unlabelled); reject without a reason -> toxicity 1;
    reject as spam, off-topic or other -> not exported.
    """
    from sqlalchemy import exc

    from moderator import storage
    from moderator.config import Config
    from moderator.config import ConfigError
    from moderator.config import fix_database_url

    start, end = _moment(since, "--since"), _moment(until, "--until")
    if min_age is not None:
        newest = dt.datetime.now(dt.UTC) - _age(min_age)
        end = min(end, newest) if end else newest
    if start and end and start >= end:
        raise click.BadParameter("must be after --since", param_hint="--until")
    try:
        url = fix_database_url(database_url) if database_url else Config.from_env().database_url
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    engine = storage.make_engine(url)
    try:
        if str(out) == "-":
            counts = export_labels(engine, sys.stdout, start, end, test_share)
        else:
            counts = _export_to_file(engine, out, start, end, test_share)
    except (storage.StorageUnavailable, exc.SQLAlchemyError) as error:
        first = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise click.ClickException(
            f"cannot read decisions: {first} (is the database initialised? moderator init-db)"
        ) from None
    finally:
        engine.dispose()
    click.echo(
        f"exported {counts['approve'] + counts['reject']} decisions "
        f"({counts['approve']} approve, {counts['reject']} reject); "
        f"skipped {counts['skipped']} rejected as spam, off-topic or other"
        f" and {counts['other_language']} in a language the model wasn't trained for"
        + (
            f"; left out the newest {counts['held_out']} (the test set)"
            if test_share is not None
            else ""
        ),
        err=True,
    )
    click.echo(
        "labels per category (1 / 0): "
        + ", ".join(f"{c} {counts[f'{c}=1']} / {counts[f'{c}=0']}" for c in COLUMNS[1:6]),
        err=True,
    )


def _age(value: str) -> dt.timedelta:
    """48h, 7d or 30m as a timedelta; BadParameter otherwise."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    text = value.strip().lower()
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isascii() or not number.isdigit() or len(number) > 6:
        raise click.BadParameter(
            "must be a number of minutes, hours or days: 30m, 48h, 7d", param_hint="--min-age"
        )
    return dt.timedelta(**{units[unit]: int(number)})


def _export_to_file(engine, out: Path, start, end, test_share=None) -> Counter:
    directory = out.parent if str(out.parent) else Path(".")
    if not directory.is_dir():
        raise click.ClickException(f"cannot write {out}: folder {directory} does not exist")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise click.ClickException(f"cannot write {out}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            counts = export_labels(engine, handle, start, end, test_share)
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return counts
