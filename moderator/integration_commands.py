"""`moderator sites coral-secret|set` and `moderator webhooks ...`: Coral, Perspective and
webhook settings from the command line (registered on cli.py's groups).

Imports stay inside the commands: `moderator serve` must not load prometheus-client before
it has set up metrics for its workers (config.share_metrics_across_workers).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import click

from moderator.cli import cli
from moderator.cli.common import _config
from moderator.cli.common import _migrated_engine
from moderator.cli.sites import sites

#: What a Coral site configures, by secret kind: the route Coral is pointed at.
CORAL_ROUTES = {"phase": "coral_phase", "webhook": "coral_webhook"}


def _run(change):
    """Run `change(conn)` in one transaction on the migrated database; errors as one line."""
    from moderator import storage
    from moderator.storage.secrets import SecretError
    from moderator.storage.sites import SiteError
    from moderator.storage.webhooks import WebhookError

    engine = _migrated_engine(_config())
    try:
        with storage.transaction(engine) as conn:
            return change(conn)
    except (SiteError, SecretError, WebhookError) as error:
        raise click.ClickException(str(error)) from None
    except storage.StorageUnavailable as error:
        raise click.ClickException(f"database unavailable: {error}") from None
    finally:
        engine.dispose()


@sites.command("coral-secret")
@click.argument("name")
@click.argument("kind", type=click.Choice(sorted(CORAL_ROUTES)))
@click.option(
    "--add",
    "secret",
    metavar="SECRET",
    help="Store Coral's signing secret (- reads it from stdin, keeping it out of shell history).",
)
@click.option(
    "--expires-in",
    type=click.FloatRange(min=0, min_open=True),
    metavar="HOURS",
    help="With --add: the secret stops being accepted after HOURS (for a rotation).",
)
@click.option("--remove", "label", metavar="LABEL", help="Forget the secret with this label.")
def sites_coral_secret(name, kind, secret, expires_in, label) -> None:
    """Show, add or remove the secrets Coral signs site NAME's KIND requests with.

    KIND is `phase` (Coral's external moderation phase) or `webhook` (Coral's webhooks).
    Copy the secret from Coral's admin (Configure > Moderation > Phases, or > Webhooks). While
    Coral rotates a secret, store the new one too: either signature is accepted.
    """
    from moderator.storage import secrets as store
    from moderator.storage import sites as site_store

    if secret is not None and label is not None:
        raise click.UsageError("give --add or --remove, not both")
    if expires_in is not None and secret is None:
        raise click.UsageError("--expires-in goes with --add")
    if secret == "-":
        secret = sys.stdin.readline().strip()
    kind_name = CORAL_ROUTES[kind]

    def change(conn):
        site = site_store.require_site(conn, name)
        if secret is not None:
            expires = None
            if expires_in is not None:
                expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=expires_in)
            added = store.add_secret(conn, site.id, kind_name, secret, expires_at=expires)
            click.echo(f"stored {kind} secret {added.label} for {site.name}", err=True)
        if label is not None:
            removed = store.remove_secret(conn, site.id, label)
            click.echo(f"removed {kind} secret {removed.label} from {site.name}", err=True)
        return site, store.list_secrets(conn, site.id, kind_name)

    site, found = _run(change)
    for item in found:
        d = item.describe()
        click.echo(
            f"{d['label']}\t{d['starts_with']}...\tcreated {d['created_at']}"
            f"\texpires {d['expires_at'] or 'never'}"
        )
    click.echo(f"Coral {kind} URL: https://<this server>/coral/v1/sites/{site.id}/{kind}", err=True)


@sites.command("set")
@click.argument("name")
@click.option(
    "--unsupported-language",
    type=click.Choice(["hold", "allow"]),
    help="A comment in a language the model wasn't trained for: hold it (default) or allow it.",
)
@click.option(
    "--perspective-reflects-decision",
    type=click.Choice(["on", "off"]),
    help="Perspective door: make TOXICITY follow our decision (for Coral's one threshold).",
)
@click.option(
    "--languages",
    metavar="CODES|all",
    help="Languages the site accepts, comma-separated ISO 639-1 codes (e.g. en,de; the first "
    "is assumed for comments whose language can't be told); others get --unsupported-language. "
    "`all` (the default) accepts every language the service has a model for.",
)
def sites_set(name, unsupported_language, perspective_reflects_decision, languages) -> None:
    """Show or change site NAME's languages, language policy and Perspective setting."""
    from moderator.storage import sites as site_store

    values: dict = {}
    if languages is not None:
        codes = [c.strip().lower() for c in languages.split(",") if c.strip()]
        values["languages"] = None if codes == ["all"] else codes
    if unsupported_language is not None:
        values["unsupported_language"] = unsupported_language
    if perspective_reflects_decision is not None:
        values["perspective_reflects_decision"] = perspective_reflects_decision == "on"
    site = _run(lambda conn: site_store.set_options(conn, name, **values))
    click.echo(f"{site.name}: languages {','.join(site.languages) if site.languages else 'all'}")
    click.echo(f"{site.name}: unsupported_language {site.unsupported_language}")
    on = "on" if site.perspective_reflects_decision else "off"
    click.echo(f"{site.name}: perspective_reflects_decision {on}")
    if site.perspective_reflects_decision:
        from moderator.perspective.scores import coral_threshold

        hold = _toxicity_hold(site)
        if hold is not None:
            click.echo(
                f"set Coral's toxicity threshold to {coral_threshold(hold)}% "
                f"(just under this site's toxicity hold threshold, {hold})"
            )


def _toxicity_hold(site) -> float | None:
    override = (site.thresholds or {}).get("toxicity")
    if override:
        return float(override["hold"])
    try:
        model = json.loads((_config().model_path / "model.json").read_text(encoding="utf-8"))
        return float(model["thresholds"]["toxicity"]["hold"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@cli.group()
def webhooks() -> None:
    """Signed webhooks to a site's own endpoints (Standard Webhooks), and their worker."""


@webhooks.command("add")
@click.argument("site")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(["comment.held", "comment.rejected", "comment.decided"]),
    help="An event to send (repeatable). Default: all three.",
)
@click.option(
    "--include-note", is_flag=True, help="Send the moderator's note with comment.decided."
)
def webhooks_add(site, url, events, include_note) -> None:
    """Send SITE's events to URL; prints the signing secret (whsec_...) once."""
    from moderator.storage import sites as site_store
    from moderator.storage import webhooks as store

    def change(conn):
        found = site_store.require_site(conn, site)
        return store.add_endpoint(conn, found.id, url, events, include_note=include_note)

    endpoint = _run(change)
    click.echo(
        f"endpoint {endpoint.id} for {site}: {', '.join(endpoint.events)}; its secret, shown "
        "only now:",
        err=True,
    )
    click.echo(endpoint.secret)


@webhooks.command("list")
@click.argument("site", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per endpoint.")
def webhooks_list(site, as_json) -> None:
    """List webhook endpoints (of SITE): id, site, URL, events, status."""
    from moderator.storage import sites as site_store
    from moderator.storage import webhooks as store

    def read(conn):
        site_id = site_store.require_site(conn, site).id if site else None
        names = {s.id: s.name for s in site_store.list_sites(conn)}
        return [(e, names.get(e.site_id, "?")) for e in store.list_endpoints(conn, site_id)]

    for endpoint, site_name in _run(read):
        record = {
            "id": endpoint.id,
            "site": site_name,
            "url": endpoint.url,
            "events": list(endpoint.events),
            "include_note": endpoint.include_note,
            "active": endpoint.active,
            "secret_starts_with": endpoint.secret[:10],
        }
        if as_json:
            click.echo(json.dumps(record))
        else:
            status = "active" if endpoint.active else "removed"
            click.echo(
                f"{endpoint.id}\t{site_name}\t{endpoint.url}\t{','.join(endpoint.events)}\t{status}"
            )


@webhooks.command("remove")
@click.argument("endpoint_id", type=int)
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
def webhooks_remove(endpoint_id, yes) -> None:
    """Stop sending to endpoint ENDPOINT_ID (its undelivered events fail; history is kept)."""
    from moderator.storage import webhooks as store

    if not yes:
        click.confirm(f"Remove webhook endpoint {endpoint_id}?", abort=True)
    _run(lambda conn: store.disable_endpoint(conn, endpoint_id))
    click.echo(f"removed webhook endpoint {endpoint_id}")


@webhooks.command("deliveries")
@click.option("--site", help="Only this site's deliveries.")
@click.option(
    "--status",
    type=click.Choice(["pending", "delivered", "failed"]),
    help="Only deliveries in this state.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="Newest deliveries shown.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per delivery.")
def webhooks_deliveries(site, status, limit, as_json) -> None:
    """The newest deliveries with their attempts: status code or error, duration."""
    from moderator.storage import isoformat
    from moderator.storage import outbox
    from moderator.storage import sites as site_store

    def read(conn):
        site_id = site_store.require_site(conn, site).id if site else None
        found = outbox.list_deliveries(conn, site_id=site_id, status=status, limit=limit)
        return found, outbox.attempts_of(conn, [d.id for d in found])

    found, attempts = _run(read)
    for delivery in found:
        tries = [
            {
                "at": isoformat(a.at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts[delivery.id]
        ]
        if as_json:
            record = {
                "id": delivery.id,
                "endpoint": delivery.endpoint_id,
                "event": delivery.event_type,
                "comment_id": delivery.comment_id,
                "status": delivery.status,
                "created_at": isoformat(delivery.created_at),
                "next_attempt_at": isoformat(delivery.next_attempt_at),
                "attempts": tries,
            }
            click.echo(json.dumps(record))
            continue
        last = delivery.last_error or (delivery.last_status and f"HTTP {delivery.last_status}")
        click.echo(
            f"{delivery.id}\t{delivery.event_type}\tendpoint {delivery.endpoint_id}"
            f"\t{delivery.status}\t{delivery.attempts} attempts\t{last or '-'}"
        )


@webhooks.command("retry")
@click.argument("delivery_id")
def webhooks_retry(delivery_id) -> None:
    """Send a failed delivery again now, with a fresh round of retries."""
    from moderator.storage import outbox

    delivery = _run(lambda conn: outbox.retry_delivery(conn, delivery_id))
    click.echo(f"delivery {delivery.id} queued again")


@webhooks.command("run")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option(
    "--poll",
    type=click.FloatRange(0.05, 3600),
    default=1.0,
    show_default=True,
    help="Seconds between looks at the outbox when it is empty.",
)
@click.option("--parent-pid", type=int, hidden=True, help="Exit when this process is gone.")
def webhooks_run(once, poll, parent_pid) -> None:
    """Deliver webhooks from the outbox, retrying with backoff (moderator serve starts this)."""
    import logging
    import signal
    import threading

    from moderator import storage
    from moderator import webhooks as worker

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    config = _config()
    _migrated_engine(config).dispose()
    # The request timeouts, not a command's 10 minutes: a frozen database then costs the
    # worker a few seconds per look (it logs and retries) instead of hanging it.
    engine = storage.make_engine(config.database_url, config.database_timeout)
    try:
        if once:
            sent = worker.deliver_due(engine)
            click.echo(f"attempted {sent} deliveries", err=True)
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"webhook worker {os.getpid()} running", err=True)
        worker.run(engine, poll_seconds=poll, stop=stop, parent_pid=parent_pid)
    finally:
        engine.dispose()
