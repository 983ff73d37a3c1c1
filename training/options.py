"""Options and loaders the `python -m training` commands share."""

from __future__ import annotations

from pathlib import Path

import click

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"


def progress(message: str) -> None:
    click.echo(message, err=True)


def data_dir_option(f):
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        envvar="MODERATOR_DATA_DIR",
        default=DEFAULT_DATA_DIR,
        show_default="../shared/data",
        help="Directory of the shared datasets (also MODERATOR_DATA_DIR).",
    )(f)


def neutral_option(f):
    return click.option(
        "--neutral",
        type=click.Path(path_type=Path),
        default=None,
        help="Neutral identity sentences, one per line, for the false-flag rate "
        "(default: the 7,008 sentences of training/eval/, see training/evalsets.py).",
    )(f)


def read_neutral(path: Path | None) -> list[str]:
    if path is None:
        from training.evalsets import EvalSetError
        from training.evalsets import neutral_identity

        try:
            return neutral_identity()
        except EvalSetError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read neutral sentences {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def load(data_dir: Path, extras=(), seed: int = 0, language: str = "en"):
    from training.datasets import DataError
    from training.datasets import load_language

    try:
        return load_language(data_dir, language, extras, log=progress, seed=seed)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
