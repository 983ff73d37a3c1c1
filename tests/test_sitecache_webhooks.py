"""The site cache's webhook subscriptions: a held or rejected comment of a site without a
subscribed endpoint queues nothing without reading the endpoints, and a change to the
endpoints reaches every worker as a change to a site does (moderator/sitecache.py)."""

import dataclasses

import pytest

from moderator import create_app
from moderator import sitecache
from moderator import storage
from moderator.sitecache import SiteCache
from moderator.storage import generations
from moderator.storage import sites
from moderator.storage import webhooks as store
from moderator.storage.tables import webhook_deliveries

pytestmark = pytest.mark.all_databases

URL = "https://receiver.example/hooks"


def endpoint_reads(statements):
    return [s for s in statements if "FROM webhook_endpoints" in s]


def deliveries(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(webhook_deliveries.select()))


def site_id(engine, name) -> int:
    with engine.connect() as conn:
        return sites.get_site_by_name(conn, name).id


def block(engine, name, word="zorblatt"):
    with storage.transaction(engine) as conn:
        sites.set_words(conn, name, "block", [word])


def reject(client, key):
    answer = client.post(
        "/api/v1/moderate",
        json={"text": "the zorblatt is here"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200
    assert answer.json["decision"] == "reject"
    return answer.json


def add_endpoint(engine, site, events=()):
    with storage.transaction(engine) as conn:
        return store.add_endpoint(conn, site, URL, events)


def elsewhere(monkeypatch, change):
    """Run `change` as another process would: without this process's in-memory hint."""
    before = generations.local_changes()
    result = change()
    monkeypatch.setattr(generations, "_last_local", before)
    return result


def test_a_site_without_endpoints_reads_them_once_not_per_comment(
    client, engine, make_site, queries
):
    key = make_site("quiet")
    block(engine, "quiet")
    for _ in range(4):
        reject(client, key)
    assert len(endpoint_reads(queries)) == 1
    assert deliveries(engine) == []


def test_a_subscribed_site_still_reads_its_endpoints_in_the_storing_transaction(
    client, engine, make_site, queries
):
    key = make_site("loud")
    block(engine, "loud")
    endpoint = add_endpoint(engine, site_id(engine, "loud"))
    before = len(endpoint_reads(queries))
    first = reject(client, key)
    second = reject(client, key)
    rows = deliveries(engine)
    assert sorted(r.comment_id for r in rows) == sorted([first["id"], second["id"]])
    assert {r.endpoint_id for r in rows} == {endpoint.id}
    assert {r.event_type for r in rows} == {"comment.rejected"}
    # One read to fill the cache, then one per rejected comment inside its transaction.
    assert len(endpoint_reads(queries)) - before == 3


def test_an_endpoint_for_another_event_only_is_not_read_for_a_rejection(
    client, engine, make_site, queries
):
    key = make_site("decided-only")
    block(engine, "decided-only")
    add_endpoint(engine, site_id(engine, "decided-only"), ["comment.decided"])
    before = len(endpoint_reads(queries))
    reject(client, key)
    reject(client, key)
    assert len(endpoint_reads(queries)) - before == 1
    assert deliveries(engine) == []


def test_an_endpoint_added_through_this_process_gets_the_next_comment(client, engine, make_site):
    key = make_site("added-here")
    block(engine, "added-here")
    reject(client, key)  # the cache now holds "no endpoints"
    assert deliveries(engine) == []
    endpoint = add_endpoint(engine, site_id(engine, "added-here"))
    sent = reject(client, key)
    [row] = deliveries(engine)
    assert (row.endpoint_id, row.comment_id, row.event_type) == (
        endpoint.id,
        sent["id"],
        "comment.rejected",
    )


def test_an_endpoint_added_elsewhere_gets_comments_once_the_interval_has_passed(
    config, make_site, engine, monkeypatch
):
    app = create_app(dataclasses.replace(config, site_cache_seconds=0.3))
    client = app.test_client()
    key = make_site("added-elsewhere")
    block(engine, "added-elsewhere")
    clock = [1000.0]
    monkeypatch.setattr(sitecache.time, "monotonic", lambda: clock[0])
    try:
        reject(client, key)
        elsewhere(monkeypatch, lambda: add_endpoint(engine, site_id(engine, "added-elsewhere")))
        # Within the interval the worker trusts what it read: that is the cache working.
        clock[0] += 0.1
        reject(client, key)
        assert deliveries(engine) == []
        clock[0] += 0.25
        sent = reject(client, key)
        assert [r.comment_id for r in deliveries(engine)] == [sent["id"]]
    finally:
        app.extensions["moderator"].engine.dispose()


def test_an_endpoint_removed_elsewhere_gets_nothing_even_before_the_worker_looks(
    config, make_site, engine, monkeypatch
):
    app = create_app(dataclasses.replace(config, site_cache_seconds=0.3))
    client = app.test_client()
    key = make_site("removed-elsewhere")
    block(engine, "removed-elsewhere")
    endpoint = add_endpoint(engine, site_id(engine, "removed-elsewhere"))
    clock = [1000.0]
    monkeypatch.setattr(sitecache.time, "monotonic", lambda: clock[0])
    try:
        reject(client, key)
        assert len(deliveries(engine)) == 1

        def remove():
            with storage.transaction(engine) as conn:
                store.disable_endpoint(conn, endpoint.id)

        elsewhere(monkeypatch, remove)
        clock[0] += 0.1  # the worker has not looked again yet
        reject(client, key)
        # The endpoints are read in the storing transaction: a removed one gets nothing.
        assert len(deliveries(engine)) == 1
    finally:
        app.extensions["moderator"].engine.dispose()


def test_without_the_cache_every_held_comment_reads_the_endpoints(config, make_site, engine):
    app = create_app(dataclasses.replace(config, site_cache_seconds=0))
    client = app.test_client()
    key = make_site("uncached")
    block(engine, "uncached")
    seen = []
    from sqlalchemy import event

    app_engine = app.extensions["moderator"].engine

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(app_engine, "before_cursor_execute", record)
    try:
        reject(client, key)
        reject(client, key)
        assert len(endpoint_reads(seen)) == 2
        assert app.extensions["moderator"].sites.webhook_events(site_id(engine, "uncached")) is None
    finally:
        event.remove(app_engine, "before_cursor_execute", record)
        app_engine.dispose()


def test_adding_and_removing_an_endpoint_moves_the_generation(engine, make_site):
    make_site("counted")
    site = site_id(engine, "counted")

    def generation():
        with engine.connect() as conn:
            return generations.read(conn, generations.SITES)

    start = generation()
    endpoint = add_endpoint(engine, site)
    assert generation() == start + 1
    with storage.transaction(engine) as conn:
        store.disable_endpoint(conn, endpoint.id)
    assert generation() == start + 2


def test_subscribed_events_are_those_of_active_endpoints(engine, make_site):
    make_site("events")
    site = site_id(engine, "events")
    cache = SiteCache(engine, 0.5)
    assert cache.webhook_events(site) == frozenset()
    held = add_endpoint(engine, site, ["comment.held"])
    add_endpoint(engine, site, ["comment.decided"])
    assert cache.webhook_events(site) == {"comment.held", "comment.decided"}
    with storage.transaction(engine) as conn:
        store.disable_endpoint(conn, held.id)
    assert cache.webhook_events(site) == {"comment.decided"}
    # Another site's endpoints are not this site's.
    make_site("other")
    assert cache.webhook_events(site_id(engine, "other")) == frozenset()
