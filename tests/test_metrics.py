"""GET /metrics: request counts by route and status, latency, decisions by action and category."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from moderator import metrics
from moderator.policy import Action
from moderator.policy import Decision
from moderator.policy import Reason
from moderator.policy import Source


def samples(client) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    out = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(snapshot, name, **labels) -> float:
    return snapshot.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_prometheus_text(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert "version=" in response.content_type
    names = {f.name for f in text_string_to_metric_families(response.get_data(as_text=True))}
    assert {
        "moderator_http_requests",
        "moderator_http_request_duration_seconds",
        "moderator_decisions",
        "moderator_decision_reasons",
    } <= names


def test_requests_are_counted_by_route_pattern_and_status(client, headers):
    before = samples(client)
    client.get("/healthz")
    client.get("/api/v1/comments/abc-123", headers=headers)
    client.get("/api/v1/comments/other-id", headers=headers)
    client.get("/no/such/page/with-a-unique-path")
    after = samples(client)
    name = "moderator_http_requests_total"
    rule = "/api/v1/comments/<comment_id>"
    assert (
        value(after, name, endpoint="/healthz", method="GET", status="200")
        - value(before, name, endpoint="/healthz", method="GET", status="200")
        == 1
    )
    assert (
        value(after, name, endpoint=rule, method="GET", status="404")
        - value(before, name, endpoint=rule, method="GET", status="404")
        == 2
    )
    assert (
        value(after, name, endpoint="<unmatched>", method="GET", status="404")
        - value(before, name, endpoint="<unmatched>", method="GET", status="404")
        == 1
    )
    # Raw paths and ids never become labels.
    assert not any("abc-123" in str(k) or "with-a-unique-path" in str(k) for k in after)


def test_odd_methods_share_one_label(client):
    client.open("/healthz", method="BREW")
    snapshot = samples(client)
    methods = {
        dict(k[1]).get("method") for k in snapshot if k[0] == "moderator_http_requests_total"
    }
    assert "BREW" not in methods and "other" in methods


def test_latency_histogram_observes_each_request(client):
    before = samples(client)
    for _ in range(3):
        client.get("/healthz")
    after = samples(client)
    name = "moderator_http_request_duration_seconds_count"
    assert value(after, name, endpoint="/healthz") - value(before, name, endpoint="/healthz") == 3
    inf = value(
        after, "moderator_http_request_duration_seconds_bucket", endpoint="/healthz", le="+Inf"
    )
    assert inf == value(after, name, endpoint="/healthz")


def test_moderate_counts_decisions_by_action_and_category(client, headers):
    before = samples(client)
    response = client.post(
        "/api/v1/moderate", json={"text": "Lovely weather today."}, headers=headers
    )
    assert response.status_code == 200
    action = response.json["decision"]
    after = samples(client)
    name = "moderator_decisions_total"
    assert value(after, name, action=action) - value(before, name, action=action) == 1
    for reason in response.json["reasons"]:
        labels = {"category": reason["category"], "source": reason["source"]}
        grew = value(after, "moderator_decision_reasons_total", **labels) - value(
            before, "moderator_decision_reasons_total", **labels
        )
        assert grew >= 1


def test_perspective_decisions_are_counted_too(client, site_key):
    before = samples(client)
    body = {"comment": {"text": "hello there"}, "requestedAttributes": {"TOXICITY": {}}}
    response = client.post(f"/v1alpha1/comments:analyze?key={site_key}", data=json.dumps(body))
    assert response.status_code in (200, 503)  # 503 when no test model is loaded
    after = samples(client)
    total = sum(
        value(after, "moderator_decisions_total", action=a)
        - value(before, "moderator_decisions_total", action=a)
        for a in ("allow", "hold", "reject")
    )
    assert total == 1


def test_observe_decisions_counts_every_reason():
    before = metrics.REASONS.labels(category="threat", source="wordlist")._value.get()
    decision = Decision(
        action=Action.REJECT,
        scores={},
        reasons=(
            Reason("threat", 1.0, Source.WORDLIST, ("kill",), ((0, 4),)),
            Reason("threat", 1.0, Source.WORDLIST, ("stab",), ((5, 9),)),
        ),
    )
    metrics.observe_decisions([decision])
    after = metrics.REASONS.labels(category="threat", source="wordlist")._value.get()
    assert after - before == 2


def test_metrics_never_show_keys_or_text(client, site_key, headers):
    secret_text = "a very particular sentence 7c1f"
    client.post("/api/v1/moderate", json={"text": secret_text}, headers=headers)
    client.post(
        f"/v1alpha1/comments:analyze?key={site_key}",
        json={"comment": {"text": secret_text}, "requestedAttributes": {"TOXICITY": {}}},
    )
    text = client.get("/metrics").get_data(as_text=True)
    assert site_key not in text and "7c1f" not in text


@pytest.mark.parametrize("path", ["/metrics", "/metrics?x=<script>"])
def test_metrics_need_no_key_and_ignore_query(client, path):
    assert client.get(path).status_code == 200


def test_multiprocess_mode_is_off_without_the_variable():
    assert metrics.multiprocess_mode() is False


def test_metrics_add_up_across_worker_processes(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR, /metrics sums what every process counted."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = (
        "from moderator import metrics; "
        "metrics.DECISIONS.labels(action='hold').inc(); "
        "metrics.LATENCY.labels(endpoint='/x').observe(0.002)"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)
    scrape = (
        "from flask import Flask; from moderator import metrics; "
        "app = Flask('m'); metrics.init_app(app); "
        "assert metrics.multiprocess_mode(); "
        "print(app.test_client().get('/metrics').get_data(as_text=True))"
    )
    out = subprocess.run(
        [sys.executable, "-c", scrape],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(out)
        for s in f.samples
    }
    assert found[("moderator_decisions_total", (("action", "hold"),))] == 2
    assert found[("moderator_http_request_duration_seconds_count", (("endpoint", "/x"),))] == 2


def test_serve_with_two_workers_adds_up_both(config, tmp_path):
    """`moderator serve --workers 2` (gunicorn): every request is counted, whichever worker."""
    import signal
    import socket
    import time
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    env = {
        k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "DATABASE_URL")
    }
    env.update(
        MODERATOR_INSTANCE_PATH=str(config.instance_path),
        DATABASE_URL=config.database_url,
        MODERATOR_MODEL_PATH=str(config.model_path),
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moderator", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "server exited"
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "server not up in 60 s"
                time.sleep(0.2)

        # Concurrent requests, so both workers answer some of them.
        def fetch(_):
            urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=10).close()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(fetch, range(200)))
        scrapes = []
        for _ in range(4):
            with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
                text = r.read().decode("utf-8")
            scrapes.append(
                sum(
                    s.value
                    for f in text_string_to_metric_families(text)
                    for s in f.samples
                    if s.name == "moderator_http_requests_total"
                    and s.labels["endpoint"] == "/api/v1/openapi.json"
                )
            )
        # Every scrape sees all 200, whichever worker answers it.
        assert scrapes == [200] * 4, scrapes
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
