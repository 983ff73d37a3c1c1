"""Two real instances (one with two gunicorn workers) on one database: a changed setting and
a revoked key take effect on every worker of both within MODERATOR_SITE_CACHE_SECONDS."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.all_databases

#: The default interval (0.5 s) plus room for a loaded machine.
WITHIN = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moderator(env, *args):
    result = subprocess.run(
        [sys.executable, "-m", "moderator", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def post(url, key, text):
    """(status, decision or None), on a fresh connection each time."""
    body = json.dumps({"text": text, "store": False}).encode()
    request = urllib.request.Request(
        url + "/api/v1/moderate",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())["decision"]
    except urllib.error.HTTPError as error:
        return error.code, None


@pytest.fixture
def instances(database_url, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "DATABASE_URL": database_url,
        "MODERATOR_INSTANCE_PATH": str(tmp_path / "instance"),
        # The word lists decide alone: starting without a model keeps the test quick.
        "MODERATOR_MODEL_PATH": str(tmp_path / "no-model"),
        "MODERATOR_LANGUAGE_MODELS": "",
        "MODERATOR_RATE_LIMIT": "100000/minute",
    }
    moderator(env, "init-db")
    key = moderator(env, "sites", "create", "shared").strip()
    servers, urls, logs = [], [], []

    def log_text(server):
        log = logs[servers.index(server)]
        log.flush()
        return pathlib.Path(log.name).read_text(errors="replace")[-4000:]

    for workers in (2, 1):
        port = free_port()
        log = open(tmp_path / f"server-{port}.log", "wb")
        logs.append(log)
        servers.append(
            subprocess.Popen(
                [sys.executable, "-m", "moderator", "serve", "--port", str(port)]
                + ["--workers", str(workers), "--without-model", "--no-webhook-worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 90
        for url, server in zip(urls, servers, strict=True):
            while True:
                assert server.poll() is None, "server exited:\n" + log_text(server)
                try:
                    with urllib.request.urlopen(url + "/healthz", timeout=2):
                        break
                except OSError:
                    assert time.monotonic() < deadline, "server not up in time"
                    time.sleep(0.2)
        yield env, key, urls
    finally:
        for server in servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        for log in logs:
            log.close()


def until_all(urls, key, text, expected, within):
    """Send to every instance until each answers `expected` `streak` times in a row; the
    seconds that took. Fails if it takes longer than `within`."""
    started = time.monotonic()
    streak = {url: 0 for url in urls}
    while min(streak.values()) < 8:
        assert time.monotonic() - started < within + 5, f"still not {expected} after 5 s more"
        for url in urls:
            streak[url] = streak[url] + 1 if post(url, key, text) == expected else 0
    return time.monotonic() - started


def test_a_setting_and_a_revocation_reach_every_worker_of_every_instance(instances):
    env, key, urls = instances
    text = "the zorblatt ate my homework"
    # Every worker reads and caches the site (fresh connections spread over the workers).
    for _ in range(10):
        for url in urls:
            assert post(url, key, text) == (200, "hold")  # held: no model to score it

    moderator(env, "sites", "wordlist", "shared", "block", "--add", "zorblatt")
    took = until_all(urls, key, text, (200, "reject"), WITHIN)
    assert took < WITHIN, f"a new block word took {took:.2f} s to reach every worker"

    moderator(env, "sites", "revoke", "shared", "--yes")
    took = until_all(urls, key, text, (401, None), WITHIN)
    assert took < WITHIN, f"a revoked key was accepted for {took:.2f} s"
    # And it stays refused everywhere.
    for _ in range(10):
        for url in urls:
            assert post(url, key, text)[0] == 401
