"""`moderator models promote|list`: which model serves, changed by a person with a reason."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from moderator.cli import cli
from moderator.cli.common import _config
from moderator.cli.common import _migrated_engine


@cli.group()
def models() -> None:
    """Promote a model for every worker, and list what served when."""


def _actor(by: str | None) -> str:
    if by is not None:
        by = by.strip()
        if not by or len(by) > 150 or not by.isprintable():
            raise click.BadParameter(
                "must be a name of 1-150 printable characters", param_hint="--by"
            )
        return f"cli:{by}"
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@models.command("promote")
@click.argument("name")
@click.option("--reason", required=True, help="Why: recorded in the audit log with who and what.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The JSON of `python -m training compare --out FILE`: its verdict must be promote, "
    "its candidate this model, its current model the one serving now.",
)
@click.option(
    "--skip-gate",
    is_flag=True,
    help="Promote without a compare report (e.g. rolling back); the audit log records it.",
)
@click.option("--by", default=None, help="Who promotes (default: the login name).")
def promote(name: str, reason: str, report_path: Path | None, skip_gate: bool, by) -> None:
    """Make NAME (models/NAME or a path) the model every worker serves.

    Each worker loads it within about a second of its next request, while the previous
    model keeps serving; a worker that can't load it keeps the previous one and /readyz
    reports why.
    """
    from moderator import promotion
    from moderator import storage

    if report_path is not None and skip_gate:
        raise click.UsageError("--report and --skip-gate exclude each other")
    config = _config()
    actor = _actor(by)
    try:
        path = promotion.resolve(name, config.model_path.parent)
        report = promotion.read_report(report_path) if report_path is not None else None
    except promotion.PromotionError as error:
        raise click.ClickException(str(error)) from None
    engine = _migrated_engine(config)
    try:
        promoted = promotion.promote(
            engine,
            path,
            actor=actor,
            reason=reason,
            report=report,
            skip_gate=skip_gate,
            default_model=config.model_path,
        )
    except promotion.PromotionError as error:
        raise click.ClickException(str(error)) from None
    except storage.StorageUnavailable as error:
        raise click.ClickException(f"database unavailable: {error}") from None
    finally:
        engine.dispose()
    gate = "the gate passed" if promoted.gate else "without the gate"
    click.echo(f"promoted {promoted.label} ({promoted.path}) {gate}; workers load it within ~1 s")


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per promotion.")
@click.option(
    "--limit", type=click.IntRange(1, 10000), default=20, show_default=True, help="Newest N."
)
def list_models(as_json: bool, limit: int) -> None:
    """The promotions, newest first (the first line is the model serving now)."""
    from moderator import storage
    from moderator.storage import models as store

    config = _config()
    engine = _migrated_engine(config)
    try:
        with storage.reading(engine) as conn:
            rows = store.history(conn, limit)
    except storage.StorageUnavailable as error:
        raise click.ClickException(f"database unavailable: {error}") from None
    finally:
        engine.dispose()
    if not rows and not as_json:
        click.echo(f"no promotion yet: {config.model_path} serves (MODERATOR_MODEL_PATH)")
        return
    for row in rows:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": row.id,
                        "at": storage.isoformat(row.at),
                        "by": row.actor,
                        "model": row.label,
                        "path": row.path,
                        "sha256": row.sha256,
                        "site": row.site_name,
                        "reason": row.reason,
                        "gate": row.gate,
                    }
                )
            )
            continue
        scope = f"site {row.site_name}" if row.site_name else "all sites"
        gate = (row.gate or {}).get("verdict", "no gate")
        click.echo(
            f"{storage.isoformat(row.at)}  {row.label:40} {scope:16} by {row.actor} "
            f"({gate}): {row.reason.splitlines()[0][:80]}"
        )
