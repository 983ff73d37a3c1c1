"""The in-memory site/key cache: read once, forgotten when the sites' generation moves."""

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import text

from moderator import auth
from moderator import create_app
from moderator import sitecache
from moderator import storage
from moderator.cli import cli
from moderator.config import Config
from moderator.config import ConfigError
from moderator.sitecache import SiteCache
from moderator.storage import generations
from moderator.storage import sites

pytestmark = pytest.mark.all_databases


def site_reads(statements):
    """The look-ups of a site by key hash."""
    return [s for s in statements if "FROM sites" in s and "previous_key_hash =" in s]


def post(client, key, text="a perfectly ordinary comment"):
    return client.post(
        "/api/v1/moderate",
        json={"text": text, "store": False},
        headers={"Authorization": f"Bearer {key}"},
    )


def another_process_revokes(engine, name):
    """What `moderator sites revoke` run elsewhere does to the database, without this
    process's in-memory hint."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE sites SET revoked_at = :at WHERE name = :name"),
            {"at": storage.now(), "name": name},
        )
        conn.execute(text("UPDATE generations SET value = value + 1 WHERE name = 'sites'"))


def test_a_known_key_is_read_from_the_database_once(client, make_site, queries):
    key = make_site("cached")
    for _ in range(5):
        assert post(client, key).status_code == 200
    assert len(site_reads(queries)) == 1


def test_an_unknown_key_is_never_cached(client, make_site, queries):
    make_site("real")
    wrong = auth.generate_key()
    for _ in range(3):
        assert post(client, wrong).status_code == 401
    assert len(site_reads(queries)) == 3


def test_a_key_revoked_through_this_process_is_refused_by_its_next_request(
    client, make_site, runner
):
    key = make_site("revoked-here")
    assert post(client, key).status_code == 200
    result = runner.invoke(cli, ["sites", "revoke", "revoked-here", "--yes"])
    assert result.exit_code == 0, result.output
    assert post(client, key).status_code == 401


def test_a_setting_changed_through_this_process_applies_to_the_next_request(
    client, make_site, runner
):
    key = make_site("words")
    assert post(client, key, "the zorblatt is here").json["decision"] == "allow"
    result = runner.invoke(cli, ["sites", "wordlist", "words", "block", "--add", "zorblatt"])
    assert result.exit_code == 0, result.output
    assert post(client, key, "the zorblatt is here").json["decision"] == "reject"


def test_a_change_made_elsewhere_is_seen_once_the_interval_has_passed(
    config, make_site, engine, monkeypatch
):
    app = create_app(dataclasses.replace(config, site_cache_seconds=0.3))
    client = app.test_client()
    key = make_site("elsewhere")
    clock = [1000.0]
    monkeypatch.setattr(sitecache.time, "monotonic", lambda: clock[0])
    try:
        assert post(client, key).status_code == 200
        another_process_revokes(engine, "elsewhere")
        # Within the interval the worker trusts what it read: that is the cache working.
        clock[0] += 0.1
        assert post(client, key).status_code == 200
        clock[0] += 0.25
        assert post(client, key).status_code == 401
    finally:
        app.extensions["moderator"].engine.dispose()


def test_without_the_cache_every_request_reads_the_site(config, make_site, engine):
    app = create_app(dataclasses.replace(config, site_cache_seconds=0))
    client = app.test_client()
    key = make_site("uncached")
    assert post(client, key).status_code == 200
    another_process_revokes(engine, "uncached")
    assert post(client, key).status_code == 401
    app.extensions["moderator"].engine.dispose()


def test_a_rotated_out_key_stops_at_the_end_of_its_grace_even_when_cached(
    engine, make_site, monkeypatch
):
    old = make_site("rotating")
    new = auth.generate_key()
    with storage.transaction(engine) as conn:
        sites.rotate_key(
            conn, "rotating", auth.hash_key(new), auth.display_prefix(new), dt.timedelta(hours=1)
        )
    cache = SiteCache(engine, seconds=60)
    assert cache.find(auth.hash_key(old)).name == "rotating"
    assert cache.find(auth.hash_key(new)).name == "rotating"
    later = storage.now() + dt.timedelta(hours=2)
    monkeypatch.setattr(sitecache.storage, "now", lambda: later)
    assert cache.find(auth.hash_key(old)) is None
    assert cache.find(auth.hash_key(new)).name == "rotating"


def test_every_site_change_moves_the_generation(engine, make_site):
    make_site("counted")
    changes = [
        lambda conn: sites.set_thresholds(conn, "counted", {"toxicity": {"hold": 0.4}}),
        lambda conn: sites.set_words(conn, "counted", "block", ["zorp"]),
        lambda conn: sites.set_options(conn, "counted", unsupported_language="allow"),
        lambda conn: sites.set_wordlist_action(conn, "counted", "hold"),
        lambda conn: sites.set_desk_setting(conn, "counted", "appeal_days", 3),
        lambda conn: sites.rotate_key(conn, "counted", "f" * 64, "mod_rotated", dt.timedelta(0)),
        lambda conn: sites.revoke_site(conn, "counted"),
    ]
    for change in changes:
        with storage.reading(engine) as conn:
            before = generations.read(conn, generations.SITES)
        with storage.transaction(engine) as conn:
            change(conn)
        with storage.reading(engine) as conn:
            assert generations.read(conn, generations.SITES) == before + 1


def test_a_site_read_before_the_cache_was_emptied_is_not_kept(engine, make_site, monkeypatch):
    key = make_site("racing")
    cache = SiteCache(engine, seconds=60)
    real_read = cache._read

    def read_then_change_elsewhere(key_hash):
        found = real_read(key_hash)
        # Meanwhile another worker's change lands and this worker's refresh sees it.
        another_process_revokes(engine, "racing")
        cache._checked = float("-inf")
        cache._refresh()
        return found

    monkeypatch.setattr(cache, "_read", read_then_change_elsewhere)
    assert cache.find(auth.hash_key(key)) is not None  # this request's own, older read
    monkeypatch.setattr(cache, "_read", real_read)
    assert cache.find(auth.hash_key(key)) is None


def test_the_cache_is_bounded(engine, make_site, monkeypatch):
    monkeypatch.setattr(sitecache, "MAX_ENTRIES", 2)
    keys = [make_site(f"s{i}") for i in range(3)]
    cache = SiteCache(engine, seconds=60)
    for key in keys:
        assert cache.find(auth.hash_key(key)) is not None
    assert len(cache._entries) <= 2


def test_a_database_without_the_counter_row_counts_from_zero(engine, make_site):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM generations"))
    with storage.reading(engine) as conn:
        assert generations.read(conn, generations.SITES) == 0
    make_site("recounted")
    with storage.reading(engine) as conn:
        assert generations.read(conn, generations.SITES) == 1


@pytest.mark.parametrize("raw", ["-1", "11", "soon", "nan", "inf"])
def test_site_cache_seconds_is_checked(raw):
    with pytest.raises(ConfigError, match="MODERATOR_SITE_CACHE_SECONDS"):
        Config.from_env({"MODERATOR_SITE_CACHE_SECONDS": raw})


@pytest.mark.parametrize("value", [True, "0.5", None])
def test_site_cache_seconds_must_be_a_number(value):
    with pytest.raises(ConfigError, match="MODERATOR_SITE_CACHE_SECONDS"):
        Config(site_cache_seconds=value)
