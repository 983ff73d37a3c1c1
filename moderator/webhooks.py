"""The webhook worker: deliver the outbox, signed in the Standard Webhooks scheme.

Every decision that holds or rejects a comment, and every human decision, writes one row per
subscribed endpoint into `webhook_deliveries` in the decision's own transaction
(storage/outbox.py). This worker sends them: `webhook-id` (the same on every retry),
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256>` made by the
`standardwebhooks` package, so receivers verify with any Standard Webhooks library. A
delivery is done on a 2xx; anything else (a refused connection, a timeout, a 5xx, a 3xx: we
never follow redirects) is retried after BACKOFF[n] seconds, and fails only after the last.
Each attempt is logged (status or error, duration; never the payload) and kept in
`webhook_attempts`, which the dashboard's Webhooks page shows.

`moderator serve` starts `moderator webhooks run` beside the web workers; several workers may
run at once (a delivery is claimed with a conditional UPDATE before it is sent).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from moderator import storage
from moderator.storage import outbox
from moderator.storage import webhooks as store

log = logging.getLogger(__name__)

#: Seconds to wait for a receiver to answer.
TIMEOUT = 10.0
#: How long a claimed delivery stays ours; longer than TIMEOUT, so a live worker never loses it.
LEASE = dt.timedelta(seconds=60)
#: Most deliveries sent per round.
BATCH = 50
USER_AGENT = "Moderator-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the status code, or the error when there was no answer."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        """True for a 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_request(
    secret: str, message_id: str, payload: dict, at: dt.datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers for one attempt, signed at `at`."""
    from standardwebhooks import Webhook

    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    at = at.astimezone(dt.UTC).replace(microsecond=0)
    signature = Webhook(secret).sign(message_id, at, body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode("utf-8"), headers


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT) -> Outcome:
    """POST once; never raises for a receiver's failure, never follows a redirect."""
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
            response.read(4096)
    except urllib.error.HTTPError as failure:
        status = failure.code
        failure.close()
    except urllib.error.URLError as failure:
        error = _describe(failure.reason)
    except (OSError, http.client.HTTPException, ValueError) as failure:
        error = _describe(failure)
    duration_ms = int((time.perf_counter() - started) * 1000)
    if status is not None and not 200 <= status < 300:
        error = f"HTTP {status}"
    return Outcome(status, error, duration_ms)


def _describe(reason) -> str:
    text = str(reason) or type(reason).__name__
    return text.splitlines()[0][:300]


def deliver_due(
    engine: Engine,
    *,
    limit: int = BATCH,
    backoff: tuple[float, ...] = outbox.BACKOFF,
    timeout: float = TIMEOUT,
    clock: Callable[[], dt.datetime] = storage.now,
) -> int:
    """Send every due delivery once (up to `limit`); returns how many were attempted."""
    with storage.transaction(engine) as conn:
        due = outbox.due_deliveries(conn, clock(), limit)
    sent = 0
    for delivery_id in due:
        with storage.transaction(engine) as conn:
            if not outbox.claim(conn, delivery_id, clock(), LEASE):
                continue
            delivery = outbox.get_delivery(conn, delivery_id)
            endpoint = store.get_endpoint(conn, delivery.endpoint_id)
        if endpoint is None or not endpoint.active:
            outcome = Outcome(None, "endpoint removed", 0)
            backoff_now: tuple[float, ...] = ()
        else:
            body, headers = signed_request(endpoint.secret, delivery.id, delivery.payload, clock())
            outcome = post(endpoint.url, body, headers, timeout)
            backoff_now = backoff
        with storage.transaction(engine) as conn:
            updated = outbox.record_attempt(
                conn,
                delivery,
                at=clock(),
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                backoff=backoff_now,
            )
        sent += 1
        log.info(
            "webhook %s %s to endpoint %d: %s in %d ms (attempt %d, now %s)",
            delivery.id,
            delivery.event_type,
            delivery.endpoint_id,
            outcome.status_code if outcome.error is None else outcome.error,
            outcome.duration_ms,
            updated.attempts,
            updated.status,
        )
    return sent


def run(
    engine: Engine,
    *,
    poll_seconds: float = 1.0,
    stop: threading.Event | None = None,
    parent_pid: int | None = None,
    backoff: tuple[float, ...] = outbox.BACKOFF,
) -> None:
    """Deliver until `stop` is set (or the parent process is gone); database outages wait."""
    stop = stop or threading.Event()
    while not stop.is_set():
        if parent_pid is not None and os.getppid() != parent_pid:
            log.info("webhook worker: parent %d is gone, stopping", parent_pid)
            return
        try:
            busy = deliver_due(engine, backoff=backoff) > 0
        except storage.StorageUnavailable as error:
            log.warning("webhook worker: database unavailable (%s); retrying", error)
            busy = False
        if not busy:
            stop.wait(poll_seconds)
