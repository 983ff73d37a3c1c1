"""`moderator sites ...`: the websites allowed to call the API, and their policy settings."""

from __future__ import annotations

import json

import click

from moderator.cli import cli
from moderator.cli.common import _config
from moderator.cli.common import _migrated_engine


@cli.group()
def sites() -> None:
    """Manage the websites allowed to call the API, and their policy settings."""


def _site_command(change):
    """Run `change(conn)` in one transaction on the migrated database; errors as one line."""
    from moderator import storage
    from moderator.storage.sites import SiteError

    engine = _migrated_engine(_config())
    try:
        with storage.transaction(engine) as conn:
            return change(conn)
    except SiteError as error:
        raise click.ClickException(str(error)) from None
    except storage.StorageUnavailable as error:
        raise click.ClickException(f"database unavailable: {error}") from None
    finally:
        engine.dispose()


@sites.command("create")
@click.argument("name")
def sites_create(name: str) -> None:
    """Create site NAME and print its API key (shown only this once)."""
    from moderator import auth
    from moderator.storage import sites as site_store

    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise click.UsageError("NAME must be 1-200 printable characters")
    key = auth.generate_key()
    site = _site_command(
        lambda conn: site_store.create_site(
            conn, name, auth.hash_key(key), auth.display_prefix(key)
        )
    )
    click.echo(f"created site {site.name!r} (id {site.id}); its API key, shown only now:", err=True)
    click.echo(key)


@sites.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per site.")
def sites_list(as_json: bool) -> None:
    """List sites: id, name, key prefix, created, status and settings (wordlist_action too)."""
    from moderator.storage import isoformat
    from moderator.storage import sites as site_store

    rows = _site_command(site_store.list_sites)
    for site in rows:
        record = {
            "id": site.id,
            "name": site.name,
            "key_prefix": site.key_prefix,
            "created_at": isoformat(site.created_at),
            "revoked_at": isoformat(site.revoked_at),
            **site.settings(),
        }
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        status = "revoked" if site.revoked_at else "active"
        lists = ", ".join(f"{k} {len(site.words(k))}" for k in site_store.WORD_LISTS)
        click.echo(
            f"{site.id}\t{site.name}\t{site.key_prefix}...\t{record['created_at']}\t{status}"
            f"\tthresholds {json.dumps(site.thresholds or {})}\twords: {lists}"
            f"\twordlist_action {site.wordlist_action}"
            f"\treport_threshold {site.report_threshold}\tappeal_days {site.appeal_days}"
            f"\tnew_author_premoderation {site.new_author_premoderation}"
        )
    if not rows and not as_json:
        click.echo("no sites yet: moderator sites create NAME", err=True)


@sites.command("revoke")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
def sites_revoke(name: str, yes: bool) -> None:
    """Revoke site NAME's API key for good (its comments are kept)."""
    from moderator.storage import sites as site_store

    if not yes:
        click.confirm(f"Revoke the API key of site {name!r}? This can't be undone", abort=True)
    _site_command(lambda conn: site_store.revoke_site(conn, name))
    click.echo(f"revoked site {name!r}")


@sites.command("set-threshold")
@click.argument("name")
@click.argument("category")
@click.argument("hold", type=float, required=False)
@click.argument("reject", type=float, required=False)
@click.option("--reset", is_flag=True, help="Drop the override: use the model's default.")
def sites_set_threshold(name, category, hold, reject, reset) -> None:
    """Set site NAME's HOLD and REJECT thresholds (0-1) for CATEGORY.

    Scores at or above HOLD are held for review, at or above REJECT rejected. Categories:
    toxicity, obscene, insult, identity_attack, threat.
    """
    from moderator import policy
    from moderator.storage import sites as site_store

    try:
        category = policy.Category(category)
    except ValueError:
        known = ", ".join(policy.CATEGORIES)
        raise click.UsageError(f"unknown category {category!r} (one of {known})") from None
    given = hold is not None and reject is not None
    if reset == given or (not reset and (hold is None) != (reject is None)):
        raise click.UsageError("give HOLD and REJECT, or --reset")
    if not reset:
        try:
            policy.Threshold(hold=hold, reject=reject)
        except ValueError as error:
            raise click.UsageError(str(error)) from None

    def change(conn):
        current = dict(site_store.require_site(conn, name).thresholds or {})
        if reset:
            current.pop(str(category), None)
        else:
            current[str(category)] = {"hold": hold, "reject": reject}
        return site_store.set_thresholds(conn, name, current)

    site = _site_command(change)
    click.echo(f"{site.name}: thresholds {json.dumps(site.thresholds or {})}")


@sites.command("wordlist")
@click.argument("name")
@click.argument("kind", type=click.Choice(["block", "suspect", "allow"]))
@click.option("--add", "added", multiple=True, help="Add a word (word or word:category).")
@click.option("--remove", "removed", multiple=True, help="Remove a word.")
@click.option(
    "--file",
    "from_file",
    type=click.File("r", encoding="utf-8"),
    help="Replace the list with the words in this file, one a line (- for stdin).",
)
@click.option("--clear", is_flag=True, help="Empty the list.")
def sites_wordlist(name, kind, added, removed, from_file, clear) -> None:
    """Show or change site NAME's KIND word list (block rejects, suspect holds, allow never hits).

    A site's block words are added to better-profanity's list; allow words never trigger a
    hit and are hidden from the classifier. With no option, prints the list.
    """
    from moderator.rules import WordList
    from moderator.storage import sites as site_store

    if not (added or removed or from_file or clear):
        site = _site_command(lambda conn: site_store.require_site(conn, name))
        for word in site.words(kind):
            click.echo(word)
        return

    def change(conn):
        site = site_store.require_site(conn, name)
        if from_file is not None:
            words = [line.strip() for line in from_file if line.strip()]
        else:
            words = [] if clear else list(site.words(kind))
        drop = {w.strip().casefold() for w in removed}
        words = [w for w in words if w.casefold() not in drop] + [a.strip() for a in added]
        lists = {k: [] for k in site_store.WORD_LISTS}
        lists[kind] = words
        try:
            WordList.compile(**lists)
        except ValueError as error:
            raise site_store.SiteError(str(error)) from None
        return site_store.set_words(conn, name, kind, words)

    site = _site_command(change)
    click.echo(f"{site.name}: {len(site.words(kind))} {kind} words")


@sites.command("wordlist-action")
@click.argument("name")
@click.argument("action", required=False, type=click.Choice(["reject", "hold"]))
def sites_wordlist_action(name: str, action: str | None) -> None:
    """Show or set what the default word list's reject-tier words do for site NAME.

    reject (the default): words abusive in every sense (fuck, cunt, slurs) reject the
    comment. hold: they hold it for a moderator instead. Words with innocent senses
    (dick, bitch, ...) hold at most either way; the site's own block list always rejects.
    """
    from moderator.storage import sites as site_store

    if action is None:
        site = _site_command(lambda conn: site_store.require_site(conn, name))
    else:
        site = _site_command(lambda conn: site_store.set_wordlist_action(conn, name, action))
    click.echo(f"{site.name}: wordlist_action {site.wordlist_action}")
