"""`moderator score`: decide a file of comments offline, one JSON line (or CSV row) each."""

from __future__ import annotations

import contextlib
import json
import sys
import time

import click

from moderator.cli import cli


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

    Writes one JSON line per input row, in input order: {"decision", "scores", "reasons",
    "language"}.
    A row that can't be scored gets {"line", "error"} in its place and a note on stderr;
    the run continues. Uses the same decision path as the HTTP API, with the model's
    default thresholds and better-profanity's word list.
    """
    from pathlib import Path

    from moderator import batch
    from moderator import language
    from moderator.classifier import Classifier
    from moderator.classifier import ModelLoadError
    from moderator.routing import LanguageModels
    from moderator.service import Moderation

    if model_path is None:
        from moderator.config import Config

        model_path = Config.from_env().model_path
    with contextlib.ExitStack() as stack:
        try:
            stream = stack.enter_context(batch.open_input(input_path))
            rows = batch.read_rows(stream, batch.detect_format(input_path, fmt), text_column)
        except batch.InputError as error:
            raise InputProblem(str(error)) from None
        try:
            moderation = Moderation(
                Classifier.load(model_path),
                identifier=language.shared_identifier(),
                others=LanguageModels.from_folder(Path(model_path).parent, Path(model_path)),
            )
        except ModelLoadError as error:
            raise click.ClickException(str(error)) from None
        if output_path == "-":
            out = sys.stdout
            stack.callback(out.flush)
        else:
            try:
                out = stack.enter_context(open(output_path, "w", encoding="utf-8"))
            except OSError as error:
                raise InputProblem(
                    f"cannot write {output_path}: {error.strerror or error}"
                ) from None

        started = time.perf_counter()
        counts = {"rows": 0, "errors": 0}
        pending: list = []

        def flush() -> None:
            texts = [row.text for row in pending if isinstance(row, batch.Row)]
            decisions = iter(moderation.decide_with_language(texts)) if texts else iter(())
            for row in pending:
                if isinstance(row, batch.RowError):
                    counts["errors"] += 1
                    click.echo(f"line {row.line}: {row.message}", err=True)
                    record = row.to_dict()
                else:
                    decision, found = next(decisions)
                    record = {**decision.to_dict(), "language": found.language}
                    if decision.model:
                        record["model"] = decision.model
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            counts["rows"] += len(pending)
            pending.clear()
            if counts["rows"] % (batch_size * 50) < batch_size:
                click.echo(f"scored {counts['rows']:,} rows", err=True)

        for row in rows:
            pending.append(row)
            if len(pending) >= batch_size:
                flush()
        flush()
    elapsed = time.perf_counter() - started
    rate = counts["rows"] / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"done: {counts['rows']:,} rows, {counts['errors']:,} errors, "
        f"{elapsed:.2f}s ({rate:,.0f} rows/s)",
        err=True,
    )
