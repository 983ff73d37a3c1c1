"""Rate limits: one budget per key across every API and Perspective route, shared through
the storage URI, and a storage outage that is loud and follows the documented setting."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import time

import pytest
from prometheus_client import REGISTRY

from moderator import auth
from moderator import create_app
from moderator import ratelimit
from moderator import storage

URL = "/v1alpha1/comments:analyze"
ANALYZE = {"comment": {"text": "a fine day"}, "requestedAttributes": {"TOXICITY": {}}}


def limited_app(config, **changes):
    app = create_app(dataclasses.replace(config, **changes))
    app.config["TESTING"] = True
    storage.upgrade(app.extensions["moderator"].engine)
    return app


def every_route(client, key):
    """One request to each limited route, in turn; their statuses."""
    bearer = {"Authorization": f"Bearer {key}"}
    return [
        client.post("/api/v1/moderate", json={"text": "hello"}, headers=bearer).status_code,
        client.post(
            "/api/v1/moderate/batch", json={"comments": [{"text": "hi"}]}, headers=bearer
        ).status_code,
        client.get("/api/v1/comments/nope", headers=bearer).status_code,
        client.post(f"{URL}?key={key}", json=ANALYZE).status_code,
    ]


def errors_counted(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("moderator_rate_limit_storage_errors_total", {"outcome": outcome})
        or 0.0
    )


@pytest.fixture
def dispose():
    apps = []
    yield apps.append
    for app in apps:
        app.extensions["moderator"].engine.dispose()


def test_one_budget_across_api_and_perspective_routes(config, make_site, dispose):
    app = limited_app(config, rate_limit="3/minute")
    dispose(app)
    key = make_site_on(app, "budget")
    statuses = every_route(app.test_client(), key)
    # Three requests of the budget, whatever route; the fourth (Perspective) is over it.
    assert statuses[:3] == [200, 200, 404]
    assert statuses[3] == 429
    response = app.test_client().post("/api/v1/moderate", json={"text": "x"}, headers=bearer(key))
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "3 per 1 minute" in response.json["detail"]


def test_429_on_the_perspective_door_is_google_shaped_with_retry_after(config, dispose):
    app = limited_app(config, rate_limit="1/minute")
    dispose(app)
    key = make_site_on(app, "google")
    client = app.test_client()
    assert client.post(f"{URL}?key={key}", json=ANALYZE).status_code == 200
    response = client.post(f"{URL}?key={key}", json=ANALYZE)
    assert response.status_code == 429
    assert response.json["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(response.headers["Retry-After"]) >= 1


def test_keys_have_separate_budgets_and_health_is_never_limited(config, dispose):
    app = limited_app(config, rate_limit="1/minute")
    dispose(app)
    first, second = make_site_on(app, "one"), make_site_on(app, "two")
    client = app.test_client()
    post = lambda key: client.post("/api/v1/moderate", json={"text": "a"}, headers=bearer(key))  # noqa: E731
    assert [post(first).status_code, post(first).status_code] == [200, 429]
    assert post(second).status_code == 200
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))
    assert all(client.get("/api/v1/openapi.json").status_code == 200 for _ in range(3))


def test_budget_is_shared_by_instances_through_redis(config, redis_server, dispose):
    # Two apps stand for two instances (or two gunicorn workers): one budget between them.
    apps = [limited_app(config, rate_limit="4/minute", rate_limit_storage_uri=redis_server.url)]
    apps.append(create_app(apps[0].extensions["moderator"].config))
    for app in apps:
        dispose(app)
    key = make_site_on(apps[0], "shared")
    first, second = (app.test_client() for app in apps)
    assert every_route(first, key)[:2] == [200, 200]  # 4 of the budget on the first instance
    assert every_route(second, key) == [429, 429, 429, 429]


def test_unreachable_storage_fails_open_loudly_by_default(config, caplog, dispose, monkeypatch):
    monkeypatch.setattr(ratelimit, "LOG_EVERY", 0.0)
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    app = limited_app(config, rate_limit="100/minute", rate_limit_storage_uri=dead)
    dispose(app)
    key = make_site_on(app, "open")
    before = errors_counted("open")
    with caplog.at_level(logging.ERROR, logger="moderator.ratelimit"):
        started = time.monotonic()
        statuses = every_route(app.test_client(), key)
        elapsed = time.monotonic() - started
    assert statuses == [200, 200, 404, 200]
    assert errors_counted("open") - before == 4
    [line] = [r for r in caplog.records if r.name == "moderator.ratelimit"]
    assert line.levelno == logging.ERROR
    assert "unreachable" in line.getMessage() and "failing open" in line.getMessage()
    assert "127.0.0.1" in line.getMessage()
    assert elapsed < 3.0  # the storage is skipped after the first failure, not retried each time
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'moderator_rate_limit_storage_errors_total{outcome="open"}' in metrics


def test_unreachable_storage_still_limits_each_process_when_open(config, dispose):
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    app = limited_app(config, rate_limit="2/minute", rate_limit_storage_uri=dead)
    dispose(app)
    key = make_site_on(app, "fallback")
    client = app.test_client()
    statuses = [
        client.post("/api/v1/moderate", json={"text": "a"}, headers=bearer(key)).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_unreachable_storage_fails_closed_with_503_when_configured(config, caplog, dispose):
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    app = limited_app(config, rate_limit_storage_uri=dead, rate_limit_on_storage_error="closed")
    dispose(app)
    key = make_site_on(app, "closed")
    client = app.test_client()
    before = errors_counted("closed")
    with caplog.at_level(logging.ERROR, logger="moderator.ratelimit"):
        response = client.post("/api/v1/moderate", json={"text": "a"}, headers=bearer(key))
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert "failing closed" in caplog.text
    google = client.post(f"{URL}?key={key}", json=ANALYZE)
    assert google.status_code == 503
    assert google.json["error"]["status"] == "UNAVAILABLE"
    assert int(google.headers["Retry-After"]) >= 1
    assert errors_counted("closed") - before == 2
    with storage.reading(app.extensions["moderator"].engine) as conn:
        from moderator.storage import comments

        assert comments.count_comments(conn) == 0


def test_frozen_storage_costs_a_request_at_most_a_short_timeout(
    config, redis_server, dispose, monkeypatch
):
    monkeypatch.setattr(ratelimit, "LOG_EVERY", 0.0)
    app = limited_app(config, rate_limit_storage_uri=redis_server.url)
    dispose(app)
    key = make_site_on(app, "frozen")
    client = app.test_client()
    assert every_route(client, key)[0] == 200
    os.kill(redis_server.pid, signal.SIGSTOP)
    # Resumed after 10 s whatever happens, so a client without timeouts fails, not hangs.
    thaw = threading.Timer(10.0, os.kill, (redis_server.pid, signal.SIGCONT))
    thaw.start()
    try:
        started = time.monotonic()
        statuses = every_route(client, key)
        elapsed = time.monotonic() - started
    finally:
        thaw.cancel()
        os.kill(redis_server.pid, signal.SIGCONT)
    assert statuses == [200, 200, 404, 200]
    # One storage timeout, then the storage is left alone for a while.
    assert elapsed < ratelimit.STORAGE_TIMEOUT * 2 + 2.0


def test_shared_counting_resumes_when_the_storage_is_back(
    config, redis_server, dispose, monkeypatch
):
    monkeypatch.setattr(ratelimit, "RETRY_STORAGE_AFTER", 0.0)
    app = limited_app(config, rate_limit="3/minute", rate_limit_storage_uri=redis_server.url)
    dispose(app)
    limiter = app.extensions["moderator"].limiter
    key = make_site_on(app, "resume")
    client = app.test_client()
    post = lambda: client.post("/api/v1/moderate", json={"text": "a"}, headers=bearer(key))  # noqa: E731
    os.kill(redis_server.pid, signal.SIGSTOP)
    try:
        assert post().status_code == 200  # counted in the process only
    finally:
        os.kill(redis_server.pid, signal.SIGCONT)
    assert [post().status_code for _ in range(4)] == [200, 200, 200, 429]
    assert limiter.storage.check()


@pytest.mark.parametrize("bad", ["maybe", "", "OPEN "])
def test_on_storage_error_setting_is_checked(bad):
    from moderator.config import Config
    from moderator.config import ConfigError

    if bad.strip().lower() == "open":
        assert Config.from_env({"MODERATOR_RATE_LIMIT_ON_STORAGE_ERROR": bad})
        return
    if not bad:
        assert Config.from_env({"MODERATOR_RATE_LIMIT_ON_STORAGE_ERROR": bad})
        return
    with pytest.raises(ConfigError, match="MODERATOR_RATE_LIMIT_ON_STORAGE_ERROR"):
        Config.from_env({"MODERATOR_RATE_LIMIT_ON_STORAGE_ERROR": bad})


def test_storage_password_never_reaches_the_log():
    assert ratelimit._safe_uri("redis://:hunter2@cache:6379/0") == "redis://***@cache:6379/0"
    assert ratelimit._safe_uri("memory://") == "memory://"


# -- helpers ------------------------------------------------------------------------------------


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_site_on(app, name: str) -> str:
    from moderator import auth
    from moderator.storage import sites

    key = auth.generate_key()
    with storage.transaction(app.extensions["moderator"].engine) as conn:
        sites.create_site(conn, name, auth.hash_key(key), auth.display_prefix(key))
    return key


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_key_that_spent_its_cpu_budget_waits_and_others_do_not(config, dispose):
    # 1 ms of CPU a minute: the first request spends it (each costs at least 1 ms).
    app = limited_app(config, key_cpu_seconds=0.001)
    dispose(app)
    spender, other = make_site_on(app, "spender"), make_site_on(app, "other")
    client = app.test_client()
    first = client.post("/api/v1/moderate", json={"text": "hello"}, headers=bearer(spender))
    assert first.status_code == 200
    second = client.post("/api/v1/moderate", json={"text": "again"}, headers=bearer(spender))
    assert second.status_code == 429
    assert "CPU budget" in second.json["detail"]
    assert 1 <= int(second.headers["Retry-After"]) <= 60
    google = client.post(f"{URL}?key={spender}", json=ANALYZE)
    assert google.status_code == 429
    assert google.json["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert (
        client.post("/api/v1/moderate", json={"text": "hi"}, headers=bearer(other)).status_code
        == 200
    )


def test_the_cpu_budget_is_shared_by_instances_through_redis(config, redis_server, dispose):
    first = limited_app(config, key_cpu_seconds=0.001, rate_limit_storage_uri=redis_server.url)
    second = create_app(first.extensions["moderator"].config)
    for app in (first, second):
        dispose(app)
    key = make_site_on(first, "cpu-shared")
    body = {"comments": [{"text": f"comment number {i}"} for i in range(20)]}
    assert (
        first.test_client()
        .post("/api/v1/moderate/batch", json=body, headers=bearer(key))
        .status_code
        == 200
    )
    response = second.test_client().post(
        "/api/v1/moderate", json={"text": "x"}, headers=bearer(key)
    )
    assert response.status_code == 429 and "CPU budget" in response.json["detail"]


def test_a_zero_cpu_budget_turns_it_off(config, dispose):
    app = limited_app(config, key_cpu_seconds=0)
    dispose(app)
    key = make_site_on(app, "unbudgeted")
    client = app.test_client()
    assert all(
        client.post("/api/v1/moderate", json={"text": "x"}, headers=bearer(key)).status_code == 200
        for _ in range(5)
    )


@pytest.mark.parametrize("bad", ["-1", "3601", "lots", "nan"])
def test_cpu_budget_setting_is_checked(bad):
    from moderator.config import Config
    from moderator.config import ConfigError

    with pytest.raises(ConfigError, match="MODERATOR_KEY_CPU_SECONDS"):
        Config.from_env({"MODERATOR_KEY_CPU_SECONDS": bad})


# -- Coral's routes: signed, not keyed ----------------------------------------------------------


def coral_site_on(app, name: str) -> tuple[int, str]:
    """A site with a phase and a webhook secret (the same one); its id and the secret."""
    from moderator.storage import secrets
    from moderator.storage import sites

    make_site_on(app, name)
    secret = "empsec_" + os.urandom(32).hex()
    with storage.transaction(app.extensions["moderator"].engine) as conn:
        site_id = sites.get_site_by_name(conn, name).id
        for kind in ("coral_phase", "coral_webhook"):
            secrets.add_secret(conn, site_id, kind, secret)
    return site_id, secret


def coral_post(client, site_id: int, route: str, secret: str | None, data: dict):
    import hashlib
    import hmac
    import json

    body = json.dumps(data, indent=2).encode()
    signing = secret or "empsec_wrong"
    digest = hmac.new(signing.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Coral-Signature": f"sha256={digest}"}
    return client.post(f"/coral/v1/sites/{site_id}/{route}", data=body, headers=headers)


PHASE = {
    "action": "NEW",
    "comment": {"body": "a fine day", "parentID": None},
    "author": {"id": "a1", "role": "COMMENTER"},
    "story": {"id": "s1", "url": "https://news.example/s1"},
    "site": {"id": "c1"},
    "tenantID": "t1",
    "tenantDomain": "news.example",
}
EVENT = {"id": "e1", "type": "STORY_CREATED", "data": {}, "createdAt": "2026-11-27T00:00:00Z"}


def test_coral_phase_and_webhook_share_one_budget_per_site(config, dispose):
    app = limited_app(config, rate_limit="2/minute")
    dispose(app)
    site_id, secret = coral_site_on(app, "coral")
    other_id, other_secret = coral_site_on(app, "coral-other")
    client = app.test_client()
    assert coral_post(client, site_id, "phase", secret, PHASE).status_code in (200, 204)
    assert coral_post(client, site_id, "webhook", secret, EVENT).status_code == 204
    over = coral_post(client, site_id, "phase", secret, PHASE)
    assert over.status_code == 429
    assert over.mimetype == "application/problem+json"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # Another site's Coral has its own budget.
    assert coral_post(client, other_id, "phase", other_secret, PHASE).status_code in (200, 204)


def test_wrong_signatures_spend_the_senders_budget_not_the_sites(config, dispose):
    app = limited_app(config, rate_limit="2/minute")
    dispose(app)
    site_id, secret = coral_site_on(app, "coral")
    attacker = app.test_client()
    statuses = [coral_post(attacker, site_id, "phase", None, PHASE).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    # The site's own, signed requests from another address are untouched by the attack.
    coral = app.test_client()
    coral.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert coral_post(coral, site_id, "phase", secret, PHASE).status_code in (200, 204)


def test_coral_phase_spends_the_sites_cpu_budget(config, dispose):
    app = limited_app(config, key_cpu_seconds=0.001)
    dispose(app)
    site_id, secret = coral_site_on(app, "coral-cpu")
    client = app.test_client()
    assert coral_post(client, site_id, "phase", secret, PHASE).status_code in (200, 204)
    second = coral_post(client, site_id, "phase", secret, PHASE)
    assert second.status_code == 429 and "CPU budget" in second.json["detail"]


def test_the_perspective_door_counts_the_key_it_authenticates_with(config, dispose):
    # X-Goog-Api-Key is what Google's clients send: one budget with ?key= and Bearer.
    app = limited_app(config, rate_limit="2/minute")
    dispose(app)
    key = make_site_on(app, "goog")
    client = app.test_client()
    assert client.post(URL, json=ANALYZE, headers={"X-Goog-Api-Key": key}).status_code == 200
    assert client.post(URL, json=ANALYZE, headers=bearer(key)).status_code == 200
    assert client.post(f"{URL}?key={key}", json=ANALYZE).status_code == 429


def test_a_header_the_json_api_ignores_cannot_buy_a_fresh_budget(config, dispose):
    app = limited_app(config, rate_limit="1/minute")
    dispose(app)
    key = make_site_on(app, "evader")
    client = app.test_client()
    post = lambda extra: client.post(  # noqa: E731
        f"/api/v1/moderate?key={os.urandom(8).hex()}",
        json={"text": "hi"},
        headers={**bearer(key), "X-Goog-Api-Key": os.urandom(8).hex(), **extra},
    )
    assert post({}).status_code == 200
    assert post({}).status_code == 429


def test_memory_limits_start_no_thread_per_request(config, make_site, dispose, monkeypatch):
    app = limited_app(config, rate_limit="1000/minute")
    dispose(app)
    key = make_site("threadless")
    client = app.test_client()
    started = []
    real_start = threading.Thread.start

    def counting_start(self):
        started.append(self.name)
        return real_start(self)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    for _ in range(30):
        response = client.post(
            "/api/v1/moderate",
            json={"text": "hello", "store": False},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200
        time.sleep(0.012)  # longer than limits' MemoryStorage expiry timer (10 ms)
    assert started == []


def test_local_counters_count_per_window_and_forget_expired_ones(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    local = ratelimit.LocalStorage()
    assert [local.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert local.incr("a", 60, amount=5) == 8
    assert local.get("a") == 8 and local.get("b") == 0
    assert local.get_expiry("a") == 1060.0
    clock[0] = 1060.0  # the window is over: a fresh count
    assert local.get("a") == 0
    assert local.incr("a", 60) == 1
    local.incr("old", 1)
    clock[0] += ratelimit.LocalStorage.SWEEP_SECONDS + 1
    local.incr("a", 60)
    assert "old" not in local._counters
    local.clear("a")
    assert local.get("a") == 0
    assert local.check() is True


def test_a_memory_limit_turns_requests_away_and_lets_them_in_next_window(monkeypatch):
    limiter = ratelimit.RateLimiter("3/minute", "memory://")
    assert isinstance(limiter.storage, ratelimit.LocalStorage)
    clock = [6000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    for _ in range(3):
        limiter.check("k")
    with pytest.raises(ratelimit.RateLimited) as refused:
        limiter.check("k")
    assert refused.value.retry_after == 60
    limiter.check("other")  # another key has its own budget
    clock[0] += 60
    limiter.check("k")


def test_on_redis_a_request_costs_one_round_trip_to_check_and_one_to_charge(
    config, redis_server, dispose, monkeypatch
):
    app = limited_app(
        config,
        rate_limit="100/minute;50/second",
        key_cpu_seconds=60,
        rate_limit_storage_uri=redis_server.url,
    )
    dispose(app)
    key = make_site_on(app, "round-trips")
    client = app.test_client()
    client.post("/api/v1/moderate", json={"text": "warm"}, headers=bearer(key))  # loads scripts
    redis_client = app.extensions["moderator"].limiter.storage.get_connection()
    sent = []
    execute = redis_client.execute_command
    monkeypatch.setattr(
        redis_client, "execute_command", lambda *a, **k: sent.append(a[0]) or execute(*a, **k)
    )
    for i in range(5):
        response = client.post("/api/v1/moderate", json={"text": f"hi {i}"}, headers=bearer(key))
        assert response.status_code == 200
    # One script for the CPU check and both limits, one for the CPU charge: 2 a request
    # (limits' own calls: a GET and a script per limit, then the charge: 4).
    assert sent == ["EVALSHA"] * 10


def test_redis_refusals_say_which_budget_and_when_it_ends(config, redis_server, dispose):
    app = limited_app(
        config, rate_limit="100/minute;2/hour", rate_limit_storage_uri=redis_server.url
    )
    dispose(app)
    key = make_site_on(app, "which-limit")
    client = app.test_client()
    statuses = [
        client.post("/api/v1/moderate", json={"text": "hi"}, headers=bearer(key)) for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    refused = statuses[-1]
    assert "2 per 1 hour" in refused.json["detail"]
    assert 3500 < int(refused.headers["Retry-After"]) <= 3600
    # Both counters hold all three requests: the hour's refused the third past its amount,
    # after the minute's counted it, as limits' own hit() leaves them.
    import redis

    r = redis.Redis.from_url(redis_server.url)
    try:
        counters = {
            k.decode().rsplit("/", 2)[-1]: int(r.get(k))
            for k in r.keys(f"LIMITS:LIMITER/moderator/{auth.rate_limit_key(key)}/*")
        }
    finally:
        r.close()
    assert counters == {"minute": 3, "hour": 3}
