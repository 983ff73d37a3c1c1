"""Outbound webhooks: a site's endpoints, each with its own Standard Webhooks secret.

Removed endpoints are only disabled, so the history of what was sent to them stays; the
outbox of deliveries and their attempts is storage/outbox.py.
"""

from __future__ import annotations

import datetime as dt
import secrets as random_secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import select

from moderator.storage import audit
from moderator.storage import generations
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.tables import webhook_deliveries
from moderator.storage.tables import webhook_endpoints

#: The events a site can subscribe an endpoint to.
EVENTS = ("comment.held", "comment.rejected", "comment.decided")
#: Most endpoints per site.
MAX_ENDPOINTS = 10


class WebhookError(ValueError):
    """An endpoint that can't be added or changed (bad URL, unknown event, unknown id)."""


@dataclass(frozen=True)
class Endpoint:
    """Where a site wants events, and the secret they are signed with (`whsec_...`)."""

    id: int
    site_id: int
    url: str
    secret: str
    events: tuple[str, ...]
    include_note: bool
    created_at: dt.datetime
    disabled_at: dt.datetime | None

    @property
    def active(self) -> bool:
        """False once disabled (removed endpoints are only disabled, to keep their history)."""
        return self.disabled_at is None


def _endpoint(row) -> Endpoint:
    return Endpoint(
        id=row.id,
        site_id=row.site_id,
        url=row.url,
        secret=row.secret,
        events=tuple(row.events or ()),
        include_note=bool(row.include_note),
        created_at=utc(row.created_at),
        disabled_at=utc(row.disabled_at),
    )


# -- endpoints ------------------------------------------------------------------------------


def generate_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    import base64

    return "whsec_" + base64.b64encode(random_secrets.token_bytes(32)).decode("ascii")


def check_url(url: str) -> str:
    """The URL stripped, or WebhookError: http(s), a host, at most 2,000 characters."""
    from urllib.parse import urlsplit

    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        raise WebhookError("the URL can't be parsed") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError("the URL must be http:// or https:// with a host")
    if len(url) > 2000 or not url.isprintable() or " " in url:
        raise WebhookError("the URL must be at most 2,000 printable characters without spaces")
    return url


def check_events(events: Iterable[str]) -> tuple[str, ...]:
    """The events in EVENTS order, or WebhookError for an unknown one; empty means all."""
    chosen = {e.strip() for e in events if e.strip()}
    unknown = chosen - set(EVENTS)
    if unknown:
        raise WebhookError(f"unknown event {sorted(unknown)[0]!r}: choose from {', '.join(EVENTS)}")
    return tuple(e for e in EVENTS if e in chosen) or EVENTS


def add_endpoint(
    conn: Connection,
    site_id: int,
    url: str,
    events: Iterable[str] = (),
    *,
    include_note: bool = False,
    actor: str = audit.CLI_ACTOR,
) -> Endpoint:
    """Add an endpoint with a new secret (returned once, in `.secret`); audit it."""
    url = check_url(url)
    chosen = check_events(events)
    if len([e for e in list_endpoints(conn, site_id) if e.active]) >= MAX_ENDPOINTS:
        raise WebhookError(f"a site has at most {MAX_ENDPOINTS} webhook endpoints")
    endpoint_id = conn.execute(
        webhook_endpoints.insert().values(
            site_id=site_id,
            url=url,
            secret=generate_secret(),
            events=list(chosen),
            include_note=include_note,
            created_at=now(),
        )
    ).inserted_primary_key[0]
    generations.bump(conn, generations.SITES)  # workers' cached subscriptions (sitecache)
    audit.record(
        conn,
        actor,
        "webhook.add",
        site_id=site_id,
        after={"endpoint": endpoint_id, "url": url, "events": list(chosen)},
    )
    return get_endpoint(conn, endpoint_id)


def get_endpoint(conn: Connection, endpoint_id: int) -> Endpoint | None:
    """The endpoint with this id, active or not."""
    row = conn.execute(
        webhook_endpoints.select().where(webhook_endpoints.c.id == endpoint_id)
    ).first()
    return _endpoint(row) if row else None


def list_endpoints(conn: Connection, site_id: int | None = None) -> list[Endpoint]:
    """Endpoints (of one site), oldest first, disabled ones included."""
    query = webhook_endpoints.select().order_by(webhook_endpoints.c.id)
    if site_id is not None:
        query = query.where(webhook_endpoints.c.site_id == site_id)
    return [_endpoint(r) for r in conn.execute(query)]


def subscribed_events(conn: Connection, site_id: int) -> frozenset[str]:
    """The events some active endpoint of the site is subscribed to."""
    rows = conn.execute(
        select(webhook_endpoints.c.events).where(
            webhook_endpoints.c.site_id == site_id, webhook_endpoints.c.disabled_at.is_(None)
        )
    )
    return frozenset(event for row in rows for event in (row.events or ()))


def disable_endpoint(
    conn: Connection, endpoint_id: int, site_id: int | None = None, actor: str = audit.CLI_ACTOR
) -> Endpoint:
    """Stop sending to an endpoint; its pending deliveries fail. Audit it."""
    endpoint = get_endpoint(conn, endpoint_id)
    if endpoint is None or (site_id is not None and endpoint.site_id != site_id):
        raise WebhookError(f"no webhook endpoint {endpoint_id}")
    if not endpoint.active:
        raise WebhookError(f"webhook endpoint {endpoint_id} is already removed")
    at = now()
    conn.execute(
        webhook_endpoints.update()
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(disabled_at=at)
    )
    generations.bump(conn, generations.SITES)
    conn.execute(
        webhook_deliveries.update()
        .where(
            webhook_deliveries.c.endpoint_id == endpoint_id,
            webhook_deliveries.c.status == "pending",
        )
        .values(status="failed", last_error="endpoint removed", locked_until=None)
    )
    audit.record(
        conn,
        actor,
        "webhook.remove",
        site_id=endpoint.site_id,
        before={"endpoint": endpoint_id, "url": endpoint.url},
    )
    return get_endpoint(conn, endpoint_id)
