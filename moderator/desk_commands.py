"""`moderator sites rotate-key` and `moderator sites desk`: the desk's settings from the
command line (registered on cli.py's `sites` group)."""

from __future__ import annotations

import datetime as dt

import click

from moderator.cli.sites import _site_command
from moderator.cli.sites import sites


@sites.command("rotate-key")
@click.argument("name")
@click.option(
    "--grace-hours",
    type=click.FloatRange(min=0, max=30 * 24),
    default=24,
    show_default=True,
    help="Hours the current key keeps working beside the new one (0: it stops now).",
)
def sites_rotate_key(name: str, grace_hours: float) -> None:
    """Give site NAME a new API key and print it (shown only this once).

    The current key keeps working for the grace period so the site can switch without
    downtime; a key an earlier rotation replaced stops at once. Audited.
    """
    from moderator import auth
    from moderator.storage import sites as site_store

    key = auth.generate_key()
    site = _site_command(
        lambda conn: site_store.rotate_key(
            conn,
            name,
            auth.hash_key(key),
            auth.display_prefix(key),
            dt.timedelta(hours=grace_hours),
        )
    )
    if site.previous_key_expires_at is not None:
        until = site.previous_key_expires_at.isoformat().replace("+00:00", "Z")
        note = f"the old key ({site.previous_key_prefix}...) works until {until}"
    else:
        note = "the old key stopped working now"
    click.echo(f"new API key for site {site.name!r}, shown only now; {note}:", err=True)
    click.echo(key)


@sites.command("desk")
@click.argument("name")
@click.option(
    "--report-threshold",
    type=click.IntRange(1, 1000),
    help="Open reader reports that put an allowed comment into the Reported queue.",
)
@click.option(
    "--appeal-days",
    type=click.IntRange(0, 3650),
    help="Days in which an author may appeal a rejection (0: no appeals).",
)
@click.option(
    "--new-author-premoderation",
    type=click.IntRange(0, 1000),
    help="Hold a new author's comments until this many were approved (0: off).",
)
def sites_desk(name, report_threshold, appeal_days, new_author_premoderation) -> None:
    """Show or set site NAME's report threshold, appeal window and new-author rule."""
    from moderator.storage import sites as site_store

    wanted = {
        "report_threshold": report_threshold,
        "appeal_days": appeal_days,
        "new_author_premoderation": new_author_premoderation,
    }

    def change(conn):
        site = site_store.require_site(conn, name)
        for setting, value in wanted.items():
            if value is not None and getattr(site, setting) != value:
                site = site_store.set_desk_setting(conn, name, setting, value)
        return site

    site = _site_command(change)
    for setting in wanted:
        click.echo(f"{setting}\t{getattr(site, setting)}")
