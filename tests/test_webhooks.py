"""Outbound webhooks: an outbox written with the decision, delivered signed (Standard Webhooks)
to a real receiver on loopback, retried with backoff while it is down, every attempt logged.

Receivers verify with the `standardwebhooks` package, as a site's own code would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook
from standardwebhooks import WebhookVerificationError

from moderator import storage
from moderator import webhooks as worker
from moderator.storage import outbox
from moderator.storage import sites
from moderator.storage import webhooks as store
from moderator.storage.tables import webhook_deliveries

pytestmark = pytest.mark.all_databases

FAST = (0.2, 0.2, 0.2, 0.2, 0.2)


class Receiver:
    """A webhook receiver on 127.0.0.1 that records what it gets; it can be down or failing."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/moderator"
        self.received: list[tuple[dict, bytes]] = []
        self.status = 204
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                if receiver.status in (301, 302, 307):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self, secret: str) -> list[dict]:
        """Every payload received, verified as a Standard Webhooks receiver would."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.received]


@pytest.fixture
def receiver():
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def site_id(engine, site_key) -> int:
    with storage.transaction(engine) as conn:
        return sites.get_site_by_name(conn, "example").id


def add_endpoint(engine, site_id, url, events=(), include_note=False) -> store.Endpoint:
    with storage.transaction(engine) as conn:
        return store.add_endpoint(conn, site_id, url, events, include_note=include_note)


def deliveries(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(webhook_deliveries.select()))


def hold_words(engine, **lists):
    with storage.transaction(engine) as conn:
        for kind, words in lists.items():
            sites.set_words(conn, "example", kind, words)


# -- the outbox --------------------------------------------------------------------------------


def test_a_held_comment_is_delivered_signed(client, engine, headers, site_id, receiver):
    endpoint = add_endpoint(engine, site_id, receiver.url)
    hold_words(engine, suspect=["kitten"])
    sent = client.post(
        "/api/v1/moderate", json={"text": "a kitten", "id": "site-42"}, headers=headers
    ).json
    # Written with the decision, before any worker ran.
    [row] = deliveries(engine)
    assert (row.status, row.event_type, row.comment_id) == (
        "pending",
        f"comment.{_event(sent)}",
        sent["id"],
    )
    assert worker.deliver_due(engine) == 1
    [event] = receiver.events(endpoint.secret)
    assert event["type"] == f"comment.{_event(sent)}"
    assert event["data"]["id"] == sent["id"]
    assert event["data"]["external_id"] == "site-42"
    assert event["data"]["decision"] == sent["decision"]
    assert "text" not in event["data"]
    headers_seen, _ = receiver.received[0]
    assert headers_seen["webhook-id"] == row.id
    assert headers_seen["content-type"] == "application/json"
    [row] = deliveries(engine)
    assert (row.status, row.attempts, row.last_status) == ("delivered", 1, 204)


def _event(sent: dict) -> str:
    return {"hold": "held", "reject": "rejected"}[sent["decision"]]


def test_a_rejected_comment_is_comment_rejected(client, engine, headers, site_id, receiver):
    endpoint = add_endpoint(engine, site_id, receiver.url)
    hold_words(engine, block=["wombat"])
    client.post("/api/v1/moderate", json={"text": "you wombat"}, headers=headers)
    worker.deliver_due(engine)
    assert [e["type"] for e in receiver.events(endpoint.secret)] == ["comment.rejected"]


def test_a_rejection_carries_its_statement_of_reasons(client, engine, headers, site_id, receiver):
    endpoint = add_endpoint(engine, site_id, receiver.url)
    hold_words(engine, block=["wombat"])
    sent = client.post(
        "/api/v1/moderate", json={"text": "you wombat", "id": "w-1"}, headers=headers
    ).json
    worker.deliver_due(engine)
    [event] = receiver.events(endpoint.secret)
    statement = event["data"]["statement"]
    # The statement the site would read from the API, word for word.
    assert (
        statement == client.get(f"/api/v1/comments/{sent['id']}", headers=headers).json["statement"]
    )
    assert (statement["automated_decision"], statement["words"]) == (True, ["wombat"])
    assert statement["appeal"]["possible"] is True
    assert statement["appeal"]["how"] == f"POST /api/v1/comments/{sent['id']}/appeal"


def test_held_and_approved_comments_carry_no_statement(
    client, engine, headers, site_id, receiver, dashboard
):
    endpoint = add_endpoint(engine, site_id, receiver.url)
    hold_words(engine, suspect=["kitten"])
    sent = client.post("/api/v1/moderate", json={"text": "a kitten"}, headers=headers).json
    dashboard.login()
    dashboard.post(
        f"/dashboard/comments/{sent['id']}/decision", {"decision": "approve", "version": "1"}
    )
    worker.deliver_due(engine)
    events = receiver.events(endpoint.secret)
    assert [e["type"] for e in events] == ["comment.held", "comment.decided"]
    assert ["statement" in e["data"] for e in events] == [False, False]


def test_appeal_outcomes_are_comment_decided_with_the_statement_as_it_stands(
    client, engine, headers, site_id, receiver
):
    from moderator.storage import appeals as appeals_store

    endpoint = add_endpoint(engine, site_id, receiver.url, ["comment.decided"])
    hold_words(engine, block=["wombat"])
    ids = []
    for n in (1, 2):
        sent = client.post(
            "/api/v1/moderate", json={"text": "you wombat", "id": f"a-{n}"}, headers=headers
        ).json
        appealed = client.post(
            f"/api/v1/comments/{sent['id']}/appeal",
            json={"text": "a wombat is an animal"},
            headers=headers,
        )
        assert appealed.status_code == 201
        ids.append(sent["id"])
    with storage.transaction(engine) as conn:
        [first] = appeals_store.appeals_of(conn, [ids[0]])[ids[0]]
        [second] = appeals_store.appeals_of(conn, [ids[1]])[ids[1]]
        assert appeals_store.resolve_appeal(conn, first.id, "reverse", actor="bob", note="ok").ok
        assert appeals_store.resolve_appeal(conn, second.id, "uphold", actor="bob", note="no").ok
    worker.deliver_due(engine)
    events = {e["data"]["id"]: e for e in receiver.events(endpoint.secret)}
    reversed_, upheld = events[ids[0]]["data"], events[ids[1]]["data"]
    assert (reversed_["status"], reversed_["human_decision"]) == ("allow", "approve")
    assert "statement" not in reversed_
    assert (upheld["status"], upheld["human_decision"]) == ("reject", "reject")
    # The upheld rejection is final: the statement says so, as the API does.
    assert upheld["statement"]["appeal"]["possible"] is False
    assert upheld["statement"]["appeal"]["refusal"] == "already_appealed"
    assert (
        upheld["statement"]
        == client.get(f"/api/v1/comments/{ids[1]}", headers=headers).json["statement"]
    )


def test_allowed_comments_and_unsubscribed_events_send_nothing(
    client, engine, headers, site_id, receiver
):
    add_endpoint(engine, site_id, receiver.url, events=["comment.decided"])
    hold_words(engine, suspect=["kitten"])
    client.post("/api/v1/moderate", json={"text": "a kitten"}, headers=headers)
    assert deliveries(engine) == []


def test_a_human_decision_is_comment_decided_with_the_note_when_chosen(
    client, engine, headers, site_id, receiver, dashboard
):
    with_note = add_endpoint(engine, site_id, receiver.url, ["comment.decided"], include_note=True)
    without = add_endpoint(engine, site_id, receiver.url, ["comment.decided"])
    hold_words(engine, suspect=["kitten"])
    sent = client.post(
        "/api/v1/moderate", json={"text": "a kitten", "id": "k-1"}, headers=headers
    ).json
    dashboard.login()
    response = dashboard.post(
        f"/dashboard/comments/{sent['id']}/decision",
        {"decision": "reject", "version": "1", "reason_code": "insult", "note": "rude"},
    )
    assert response.status_code == 303
    worker.deliver_due(engine)
    by_secret = {}
    for headers_seen, body in receiver.received:
        for endpoint in (with_note, without):
            try:
                by_secret[endpoint.id] = Webhook(endpoint.secret).verify(body, headers_seen)
            except WebhookVerificationError:
                pass
    noted, plain = by_secret[with_note.id], by_secret[without.id]
    assert noted["type"] == plain["type"] == "comment.decided"
    assert noted["data"] | {"note": None} == plain["data"]
    data = noted["data"]
    assert (data["human_decision"], data["reason_code"], data["decided_by"]) == (
        "reject",
        "insult",
        "mod",
    )
    assert (data["note"], data["id"], data["external_id"]) == ("rude", sent["id"], "k-1")


def test_outbox_rows_share_the_decisions_transaction(engine, site_id, receiver):
    add_endpoint(engine, site_id, receiver.url)
    with pytest.raises(RuntimeError), storage.transaction(engine) as conn:
        outbox.enqueue(conn, site_id, "comment.held", "c-1", {"id": "c-1"})
        raise RuntimeError("the decision failed to store")
    assert deliveries(engine) == []


# -- retries ----------------------------------------------------------------------------------


def test_a_receiver_that_is_down_for_a_while_loses_nothing(client, engine, headers, site_id):
    receiver = Receiver()  # not started: connections are refused
    endpoint = add_endpoint(engine, site_id, receiver.url)
    hold_words(engine, suspect=["kitten"])
    for n in range(3):
        client.post("/api/v1/moderate", json={"text": f"kitten {n}"}, headers=headers)
    assert worker.deliver_due(engine, backoff=FAST) == 3
    assert {r.status for r in deliveries(engine)} == {"pending"}
    time.sleep(0.25)
    assert worker.deliver_due(engine, backoff=FAST) == 3
    assert worker.deliver_due(engine, backoff=FAST) == 0  # not due yet: backing off
    receiver.start()
    try:
        time.sleep(0.25)
        assert worker.deliver_due(engine, backoff=FAST) == 3
        events = receiver.events(endpoint.secret)
    finally:
        receiver.stop()
    assert sorted(e["data"]["id"] for e in events) == sorted(
        r.comment_id for r in deliveries(engine)
    )
    rows = deliveries(engine)
    assert {(r.status, r.attempts) for r in rows} == {("delivered", 3)}
    with storage.reading(engine) as conn:
        tried = outbox.attempts_of(conn, [r.id for r in rows])
    for attempts in tried.values():
        assert [a.status_code for a in attempts] == [None, None, 204]
        assert all(a.error for a in attempts[:2])
    # The same webhook-id on every attempt, so a receiver can tell a retry from a new event.
    assert {h["webhook-id"] for h, _ in receiver.received} == {r.id for r in rows}


@pytest.mark.parametrize("status", [500, 503, 404, 302])
def test_non_2xx_answers_are_retried_and_redirects_not_followed(engine, site_id, receiver, status):
    add_endpoint(engine, site_id, receiver.url)
    receiver.status = status
    with storage.transaction(engine) as conn:
        outbox.enqueue(conn, site_id, "comment.held", "c-1", {"id": "c-1"})
    worker.deliver_due(engine, backoff=FAST)
    [row] = deliveries(engine)
    assert (row.status, row.last_status, row.last_error) == ("pending", status, f"HTTP {status}")
    assert len(receiver.received) == 1


def test_after_the_last_retry_it_fails_and_can_be_retried_by_hand(engine, site_id, receiver):
    add_endpoint(engine, site_id, receiver.url)
    receiver.status = 500
    with storage.transaction(engine) as conn:
        outbox.enqueue(conn, site_id, "comment.held", "c-1", {"id": "c-1"})
    worker.deliver_due(engine, backoff=(0.0,))
    worker.deliver_due(engine, backoff=(0.0,))
    [row] = deliveries(engine)
    assert (row.status, row.attempts) == ("failed", 2)
    receiver.status = 200
    with storage.transaction(engine) as conn:
        outbox.retry_delivery(conn, row.id)
    worker.deliver_due(engine)
    [row] = deliveries(engine)
    assert row.status == "delivered"


def test_a_claimed_delivery_is_not_sent_twice(engine, site_id, receiver):
    import datetime as dt

    add_endpoint(engine, site_id, receiver.url)
    with storage.transaction(engine) as conn:
        [message] = outbox.enqueue(conn, site_id, "comment.held", "c-1", {"id": "c-1"})
    at = storage.now()
    with storage.transaction(engine) as conn:
        assert outbox.claim(conn, message, at, dt.timedelta(seconds=60))
        assert not outbox.claim(conn, message, at, dt.timedelta(seconds=60))
    assert worker.deliver_due(engine) == 0  # another worker holds it
    later = at + dt.timedelta(seconds=61)
    assert worker.deliver_due(engine, clock=lambda: later) == 1  # its claim lapsed


def test_removing_an_endpoint_fails_its_pending_deliveries(engine, site_id, receiver):
    endpoint = add_endpoint(engine, site_id, receiver.url)
    with storage.transaction(engine) as conn:
        outbox.enqueue(conn, site_id, "comment.held", "c-1", {"id": "c-1"})
        store.disable_endpoint(conn, endpoint.id)
    assert worker.deliver_due(engine) == 0
    [row] = deliveries(engine)
    assert (row.status, row.last_error) == ("failed", "endpoint removed")
    assert receiver.received == []


def test_signatures_use_the_endpoints_own_secret(engine, site_id, receiver):
    endpoint = add_endpoint(engine, site_id, receiver.url)
    with storage.transaction(engine) as conn:
        outbox.enqueue(conn, site_id, "comment.held", "c-1", {"id": "c-1"})
    worker.deliver_due(engine)
    headers_seen, body = receiver.received[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(store.generate_secret()).verify(body, headers_seen)
    tampered = body.replace(b"c-1", b"c-2")
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(tampered, headers_seen)


# -- endpoints: bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "events", "message"),
    [
        ("ftp://example.org/x", (), "http:// or https://"),
        ("not a url", (), "http:// or https://"),
        ("https://", (), "http:// or https://"),
        ("https://example.org/" + "x" * 2001, (), "2,000"),
        ("https://example.org/a b", (), "without spaces"),
        ("https://example.org/\x00", (), "printable"),
        ("https://example.org/", ("comment.deleted",), "unknown event"),
        ("http://[::1", (), "can't be parsed"),
    ],
)
def test_bad_endpoints_are_refused(engine, site_id, url, events, message):
    with pytest.raises(store.WebhookError, match=message), storage.transaction(engine) as conn:
        store.add_endpoint(conn, site_id, url, events)


# -- the command line ---------------------------------------------------------------------


def test_cli_adds_lists_delivers_and_removes(runner, client, engine, headers, receiver):
    from moderator.cli import cli

    added = runner.invoke(
        cli, ["webhooks", "add", "example", receiver.url, "--event", "comment.held"]
    )
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()
    assert secret.startswith("whsec_")
    listed = runner.invoke(cli, ["webhooks", "list", "--json"])
    [endpoint] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (endpoint["site"], endpoint["events"]) == ("example", ["comment.held"])
    assert secret not in listed.output
    hold_words(engine, suspect=["kitten"])
    client.post("/api/v1/moderate", json={"text": "kitten"}, headers=headers)
    ran = runner.invoke(cli, ["webhooks", "run", "--once"])
    assert ran.exit_code == 0, ran.output
    assert [e["type"] for e in receiver.events(secret)] == ["comment.held"]
    shown = runner.invoke(cli, ["webhooks", "deliveries", "--json"])
    [delivery] = [json.loads(line) for line in shown.stdout.splitlines()]
    assert delivery["status"] == "delivered" and delivery["attempts"][0]["status_code"] == 204
    removed = runner.invoke(cli, ["webhooks", "remove", str(endpoint["id"]), "--yes"])
    assert removed.exit_code == 0, removed.output
    again = runner.invoke(cli, ["webhooks", "remove", str(endpoint["id"]), "--yes"])
    assert again.exit_code == 1 and "already removed" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["webhooks", "add", "nosuchsite", "https://example.org/"], "no site named"),
        (["webhooks", "add", "example", "gopher://x"], "http:// or https://"),
        (["webhooks", "add", "example", "https://e.org/", "--event", "x"], "Invalid value"),
        (["webhooks", "remove", "999", "--yes"], "no webhook endpoint 999"),
        (["webhooks", "remove", "abc", "--yes"], "not a valid integer"),
        (["webhooks", "retry", "msg_nope"], "no delivery"),
        (["webhooks", "deliveries", "--status", "lost"], "Invalid value"),
    ],
)
def test_cli_mistakes_are_one_line(runner, site_key, args, message):
    from moderator.cli import cli

    result = runner.invoke(cli, args)
    assert result.exit_code in (1, 2)
    assert message in result.output


def test_the_worker_process_delivers_and_stops_on_sigterm(
    config, client, engine, headers, site_id, receiver
):
    # What `moderator serve` starts beside the web workers.
    endpoint = add_endpoint(engine, site_id, receiver.url)
    hold_words(engine, suspect=["kitten"])
    env = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "MODERATOR_INSTANCE_PATH": str(config.instance_path),
        "MODERATOR_MODEL_PATH": str(config.model_path),
    }
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "moderator",
            "webhooks",
            "run",
            "--poll",
            "0.1",
            "--parent-pid",
            str(os.getpid()),
        ],  # fmt: skip
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        client.post("/api/v1/moderate", json={"text": "kitten"}, headers=headers)
        deadline = time.monotonic() + 30
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [e["type"] for e in receiver.events(endpoint.secret)] == ["comment.held"]
    finally:
        child.terminate()
        _, err = child.communicate(timeout=10)
    assert child.returncode == 0, err.decode()


def test_the_worker_stops_when_its_parent_is_gone(engine):
    # `moderator serve` passes its pid; a worker whose parent is another process exits.
    started = time.monotonic()
    worker.run(engine, poll_seconds=5, parent_pid=os.getpid())
    assert time.monotonic() - started < 5
