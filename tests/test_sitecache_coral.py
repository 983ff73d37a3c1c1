"""Coral's routes read their site and its signing secrets from the worker's cache, which
forgets them when the sites' generation moves (moderator.sitecache.SiteCache.signing)."""

import dataclasses
import datetime as dt
import hmac
import json
import secrets as random

import pytest
from sqlalchemy import text

from moderator import create_app
from moderator import sitecache
from moderator import storage
from moderator.cli import cli
from moderator.storage import secrets
from moderator.storage import sites

pytestmark = pytest.mark.all_databases

REQUEST = {
    "action": "NEW",
    "comment": {"id": "c-1", "body": "a perfectly ordinary comment", "parentID": None},
    "author": {"id": "u-1", "role": "COMMENTER", "createdAt": "2026-01-01T00:00:00.000Z"},
    "story": {"id": "story-1", "url": "https://news.example/1"},
    "site": {"id": "coral-site"},
    "tenantID": "tenant",
    "tenantDomain": "news.example",
}


def secret_reads(statements):
    return [s for s in statements if "FROM site_secrets" in s]


def new_site(engine, make_site, name, **secret_options):
    make_site(name)
    secret = "empsec_" + random.token_hex(32)
    with storage.transaction(engine) as conn:
        site_id = sites.get_site_by_name(conn, name).id
        secrets.add_secret(conn, site_id, "coral_phase", secret, **secret_options)
    return site_id, secret


def phase(client, site_id, secret):
    body = json.dumps(REQUEST, indent=2).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, "sha256").hexdigest()
    return client.post(
        f"/coral/v1/sites/{site_id}/phase",
        data=body,
        headers={"Content-Type": "application/json", "X-Coral-Signature": signature},
    )


def test_a_sites_secrets_are_read_from_the_database_once(client, engine, make_site, queries):
    site_id, secret = new_site(engine, make_site, "cached")
    queries.clear()
    for _ in range(4):
        assert phase(client, site_id, secret).status_code == 204
    assert len(secret_reads(queries)) == 1


def test_an_unknown_site_is_never_cached(client, engine, make_site, queries):
    _, secret = new_site(engine, make_site, "real")
    queries.clear()
    for _ in range(3):
        assert phase(client, 2_000_000, secret).status_code == 401
    reads = [s for s in queries if "FROM sites" in s]
    assert len(reads) == 3


def test_a_secret_removed_through_this_process_stops_signing_at_once(client, engine, make_site):
    site_id, secret = new_site(engine, make_site, "removed-here")
    assert phase(client, site_id, secret).status_code == 204
    with storage.transaction(engine) as conn:
        label = secrets.list_secrets(conn, site_id)[0].label
        secrets.remove_secret(conn, site_id, label)
    assert phase(client, site_id, secret).status_code == 401


def test_a_site_revoked_through_this_process_is_refused_at_once(client, engine, make_site, runner):
    site_id, secret = new_site(engine, make_site, "revoked-here")
    assert phase(client, site_id, secret).status_code == 204
    result = runner.invoke(cli, ["sites", "revoke", "revoked-here", "--yes"])
    assert result.exit_code == 0, result.output
    assert phase(client, site_id, secret).status_code == 401


def test_a_secret_removed_elsewhere_stops_signing_once_the_interval_has_passed(
    config, engine, make_site, monkeypatch
):
    app = create_app(dataclasses.replace(config, site_cache_seconds=0.3))
    client = app.test_client()
    site_id, secret = new_site(engine, make_site, "elsewhere")
    clock = [1000.0]
    monkeypatch.setattr(sitecache.time, "monotonic", lambda: clock[0])
    try:
        assert phase(client, site_id, secret).status_code == 204
        # What `moderator sites coral-secret remove` run on another machine does.
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM site_secrets WHERE site_id = :id"), {"id": site_id})
            conn.execute(text("UPDATE generations SET value = value + 1 WHERE name = 'sites'"))
        clock[0] += 0.1
        assert phase(client, site_id, secret).status_code == 204  # trusted within the interval
        clock[0] += 0.25
        assert phase(client, site_id, secret).status_code == 401
    finally:
        app.extensions["moderator"].engine.dispose()


def test_a_cached_secret_stops_signing_when_it_expires(client, engine, make_site, monkeypatch):
    site_id, secret = new_site(
        engine, make_site, "expiring", expires_at=storage.now() + dt.timedelta(hours=1)
    )
    assert phase(client, site_id, secret).status_code == 204
    later = storage.now() + dt.timedelta(hours=2)
    monkeypatch.setattr(sitecache.storage, "now", lambda: later)
    assert phase(client, site_id, secret).status_code == 401


def test_without_the_cache_every_request_reads_the_secrets(config, engine, make_site):
    app = create_app(dataclasses.replace(config, site_cache_seconds=0))
    client = app.test_client()
    site_id, secret = new_site(engine, make_site, "uncached")
    try:
        assert phase(client, site_id, secret).status_code == 204
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM site_secrets WHERE site_id = :id"), {"id": site_id})
        assert phase(client, site_id, secret).status_code == 401
    finally:
        app.extensions["moderator"].engine.dispose()
