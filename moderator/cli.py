"""The `moderator` command (also `python -m moderator`): one click group, one place."""

from __future__ import annotations

import json
import sys
import time

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="moderator")
def cli() -> None:
    """Moderator: self-hosted comment moderation."""


class InputProblem(click.ClickException):
    """Unreadable input or a missing column: one line on stderr, exit code 2."""

    exit_code = 2


@cli.command()
@click.argument("input_path", metavar="INPUT")
@click.option(
    "--text-column",
    default="text",
    show_default=True,
    help="Column (CSV) or key (JSONL) holding the comment text.",
)
@click.option(
    "--output",
    "output_path",
    default="-",
    show_default=True,
    help="Where to write one JSON object per row; - for stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="Input format. Default: jsonl for .jsonl/.ndjson names, else csv (and csv for -).",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(file_okay=False),
    default=None,
    help="Model directory. Default: MODERATOR_MODEL_PATH or the shipped models/default.",
)
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Comments scored per classifier call.",
)
def score(input_path, text_column, output_path, fmt, model_path, batch_size) -> None:
    """Decide every comment in INPUT (CSV or JSONL; - for stdin).

    Writes one JSON line per input row, in input order: {"decision", "scores", "reasons"}.
    A row that can't be scored gets {"line", "error"} in its place and a note on stderr;
    the run continues. Uses the same decision path as the HTTP API, with the model's
    default thresholds and better-profanity's word list.
    """
    from moderator import batch
    from moderator.classifier import Classifier
    from moderator.classifier import ModelLoadError
    from moderator.service import Moderation

    if model_path is None:
        from moderator.config import Config

        model_path = Config.from_env().model_path
    try:
        stream = batch.open_input(input_path)
        rows = batch.read_rows(stream, batch.detect_format(input_path, fmt), text_column)
    except batch.InputError as error:
        raise InputProblem(str(error)) from None
    try:
        moderation = Moderation(Classifier.load(model_path))
    except ModelLoadError as error:
        raise click.ClickException(str(error)) from None
    try:
        out = sys.stdout if output_path == "-" else open(output_path, "w", encoding="utf-8")
    except OSError as error:
        raise InputProblem(f"cannot write {output_path}: {error.strerror or error}") from None

    started = time.perf_counter()
    counts = {"rows": 0, "errors": 0}
    pending: list = []

    def flush() -> None:
        texts = [row.text for row in pending if isinstance(row, batch.Row)]
        decisions = iter(moderation.decide_batch(texts)) if texts else iter(())
        for row in pending:
            if isinstance(row, batch.RowError):
                counts["errors"] += 1
                click.echo(f"line {row.line}: {row.message}", err=True)
                record = row.to_dict()
            else:
                record = next(decisions).to_dict()
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        counts["rows"] += len(pending)
        pending.clear()
        if counts["rows"] % (batch_size * 50) < batch_size:
            click.echo(f"scored {counts['rows']:,} rows", err=True)

    try:
        for row in rows:
            pending.append(row)
            if len(pending) >= batch_size:
                flush()
        flush()
    except batch.InputError as error:
        raise InputProblem(str(error)) from None
    finally:
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()
    elapsed = time.perf_counter() - started
    rate = counts["rows"] / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"done: {counts['rows']:,} rows, {counts['errors']:,} errors, "
        f"{elapsed:.2f}s ({rate:,.0f} rows/s)",
        err=True,
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="moderator")
