"""The webhook outbox: one delivery per event and endpoint, and every attempt at it.

`enqueue` runs in the caller's transaction, the one that stores the decision, so an event
exists exactly when its decision does. The worker (moderator/webhooks.py) claims due
deliveries with a conditional UPDATE (two workers never send the same one at once, and a
crashed worker's claim lapses after its lease), sends them, and records every attempt here.
Endpoints are in storage/webhooks.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import update

from moderator.storage import audit
from moderator.storage import isoformat
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.tables import webhook_attempts
from moderator.storage.tables import webhook_deliveries
from moderator.storage.webhooks import EVENTS
from moderator.storage.webhooks import WebhookError
from moderator.storage.webhooks import get_endpoint
from moderator.storage.webhooks import list_endpoints

#: Seconds to wait after the 1st, 2nd, ... failed attempt; after the last, the delivery fails.
#: About two days in all, so a receiver that is down for a day loses nothing.
BACKOFF = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400)


@dataclass(frozen=True)
class Delivery:
    """One event for one endpoint, with its state."""

    id: str
    endpoint_id: int
    site_id: int
    event_type: str
    comment_id: str | None
    payload: dict
    status: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None
    last_status: int | None
    last_error: str | None


@dataclass(frozen=True)
class Attempt:
    """One try at delivering: the receiver's status code or the error."""

    id: int
    delivery_id: str
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int


def _delivery(row) -> Delivery:
    return Delivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        site_id=row.site_id,
        event_type=row.event_type,
        comment_id=row.comment_id,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        created_at=utc(row.created_at),
        next_attempt_at=utc(row.next_attempt_at),
        delivered_at=utc(row.delivered_at),
        last_status=row.last_status,
        last_error=row.last_error,
    )


def _attempt(row) -> Attempt:
    return Attempt(
        id=row.id,
        delivery_id=row.delivery_id,
        at=utc(row.at),
        status_code=row.status_code,
        error=row.error,
        duration_ms=row.duration_ms,
    )


def decision_data(comment) -> dict:
    """`data` of comment.held / comment.rejected, from a stored comment (no text)."""
    return {
        "id": comment.id,
        "external_id": comment.external_id,
        "decision": comment.decision,
        "status": comment.status,
        "reasons": list(comment.reasons),
        "scores": dict(comment.scores),
        "language": comment.language,
        "model": comment.model,
        "created_at": isoformat(comment.created_at),
    }


def human_decision_data(comment) -> dict:
    """`data` of comment.decided, from a comment a person just decided (note added per endpoint)."""
    return {
        "id": comment.id,
        "external_id": comment.external_id,
        "decision": comment.decision,
        "status": comment.status,
        "human_decision": comment.human_decision,
        "reason_code": comment.reason_code,
        "decided_by": comment.decided_by,
        "decided_at": isoformat(comment.decided_at),
    }


def new_message_id() -> str:
    """A Standard Webhooks message id (`webhook-id`), unique per event and endpoint."""
    return "msg_" + uuid.uuid4().hex


def enqueue(
    conn: Connection,
    site_id: int,
    event_type: str,
    comment_id: str | None,
    data: dict,
    *,
    note: str | None = None,
) -> list[str]:
    """Write one delivery per active endpoint of the site subscribed to `event_type`.

    Runs in the caller's transaction. `note` is added to `data` only for endpoints that
    chose to receive notes. Returns the message ids written.
    """
    if event_type not in EVENTS:
        raise ValueError(f"unknown event {event_type!r}")
    endpoints = [e for e in list_endpoints(conn, site_id) if e.active and event_type in e.events]
    if not endpoints:
        return []
    at = now()
    rows = []
    for endpoint in endpoints:
        body = dict(data)
        if event_type == "comment.decided":
            body["note"] = note if endpoint.include_note else None
        rows.append(
            {
                "id": new_message_id(),
                "endpoint_id": endpoint.id,
                "site_id": site_id,
                "event_type": event_type,
                "comment_id": comment_id,
                "payload": {
                    "type": event_type,
                    "timestamp": at.isoformat().replace("+00:00", "Z"),
                    "data": body,
                },
                "status": "pending",
                "attempts": 0,
                "created_at": at,
                "next_attempt_at": at,
            }
        )
    conn.execute(webhook_deliveries.insert(), rows)
    return [r["id"] for r in rows]


def due_deliveries(conn: Connection, at: dt.datetime, limit: int) -> list[str]:
    """Ids of pending deliveries whose time has come and that nobody holds, oldest first."""
    rows = conn.execute(
        select(webhook_deliveries.c.id)
        .where(
            webhook_deliveries.c.status == "pending",
            webhook_deliveries.c.next_attempt_at <= at,
            or_(
                webhook_deliveries.c.locked_until.is_(None),
                webhook_deliveries.c.locked_until < at,
            ),
        )
        .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
        .limit(limit)
    )
    return [r.id for r in rows]


def claim(conn: Connection, delivery_id: str, at: dt.datetime, lease: dt.timedelta) -> bool:
    """Take a due delivery for `lease`; False when another worker took it first."""
    result = conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id == delivery_id,
            webhook_deliveries.c.status == "pending",
            or_(
                webhook_deliveries.c.locked_until.is_(None),
                webhook_deliveries.c.locked_until < at,
            ),
        )
        .values(locked_until=at + lease)
    )
    return result.rowcount == 1


def get_delivery(conn: Connection, delivery_id: str) -> Delivery | None:
    """One delivery by its message id."""
    row = conn.execute(
        webhook_deliveries.select().where(webhook_deliveries.c.id == delivery_id)
    ).first()
    return _delivery(row) if row else None


def record_attempt(
    conn: Connection,
    delivery: Delivery,
    *,
    at: dt.datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    backoff: tuple[float, ...] = BACKOFF,
) -> Delivery:
    """Log one attempt and move the delivery on: delivered, retried later, or failed."""
    conn.execute(
        webhook_attempts.insert().values(
            delivery_id=delivery.id,
            at=at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    attempts = delivery.attempts + 1
    values: dict = {
        "attempts": attempts,
        "locked_until": None,
        "last_status": status_code,
        "last_error": error,
    }
    if status_code is not None and 200 <= status_code < 300:
        values.update(status="delivered", delivered_at=at)
    elif attempts > len(backoff):
        values.update(status="failed")
    else:
        values.update(next_attempt_at=at + dt.timedelta(seconds=backoff[attempts - 1]))
    conn.execute(
        webhook_deliveries.update().where(webhook_deliveries.c.id == delivery.id).values(values)
    )
    return get_delivery(conn, delivery.id)


def retry_delivery(conn: Connection, delivery_id: str, actor: str = audit.CLI_ACTOR) -> Delivery:
    """Send a failed (or pending) delivery again now, with a fresh round of retries."""
    delivery = get_delivery(conn, delivery_id)
    if delivery is None:
        raise WebhookError(f"no delivery {delivery_id!r}")
    if delivery.status == "delivered":
        raise WebhookError(f"delivery {delivery_id} was already delivered")
    endpoint = get_endpoint(conn, delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise WebhookError("its endpoint was removed")
    conn.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.id == delivery_id)
        .values(status="pending", attempts=0, next_attempt_at=now(), locked_until=None)
    )
    audit.record(
        conn,
        actor,
        "webhook.retry",
        site_id=delivery.site_id,
        comment_id=delivery.comment_id,
        after={"delivery": delivery_id},
    )
    return get_delivery(conn, delivery_id)


def list_deliveries(
    conn: Connection,
    *,
    site_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """The newest deliveries, optionally of one site or status."""
    conditions = []
    if site_id is not None:
        conditions.append(webhook_deliveries.c.site_id == site_id)
    if status is not None:
        conditions.append(webhook_deliveries.c.status == status)
    query = (
        webhook_deliveries.select()
        .where(and_(true(), *conditions))
        .order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id)
        .limit(limit)
    )
    return [_delivery(r) for r in conn.execute(query)]


def attempts_of(conn: Connection, delivery_ids: Iterable[str]) -> dict[str, list[Attempt]]:
    """Every attempt of these deliveries, oldest first, by delivery id."""
    wanted = sorted(set(delivery_ids))
    found: dict[str, list[Attempt]] = {d: [] for d in wanted}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            webhook_attempts.select()
            .where(webhook_attempts.c.delivery_id.in_(wanted[start : start + 500]))
            .order_by(webhook_attempts.c.id)
        )
        for row in rows:
            found[row.delivery_id].append(_attempt(row))
    return found


def counts(conn: Connection) -> dict[str, int]:
    """How many deliveries are pending, delivered and failed."""
    rows = conn.execute(
        select(webhook_deliveries.c.status, func.count()).group_by(webhook_deliveries.c.status)
    )
    found = {"pending": 0, "delivered": 0, "failed": 0}
    found.update({status: n for status, n in rows})
    return found
