"""The shipped deployment: deploy/docker-compose.yml's structure, nginx's configuration, and
the native topology (Debian's nginx in front of `moderator serve`) under slow clients.

There is no container engine here, so the compose file is checked as a document: services,
health checks, named volumes, images and commands that exist in this repository, settings
that Config accepts. bench/fault_cluster.py runs the same topology natively with faults.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
import yaml

from moderator.cli import cli
from moderator.config import Config
from moderator.config import settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
SERVER_CONF = DEPLOY / "nginx" / "moderator.conf"
COMPOSE_CONF = DEPLOY / "nginx" / "compose.conf"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def app_services(compose) -> dict[str, dict]:
    return {
        name: s
        for name, s in compose["services"].items()
        if s.get("command", [])[:2] == ["moderator", "serve"]
    }


def filled(environment: dict) -> dict[str, str]:
    """The environment as compose would pass it, with `${VAR:?...}` / `${VAR:-x}` filled."""
    out = {}
    for name, value in environment.items():
        value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
        out[name] = re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "placeholder-0123456789abcdef", value)
    return out


def test_compose_has_a_proxy_two_app_instances_postgres_and_redis(compose):
    services = compose["services"]
    assert {"proxy", "postgres", "redis", "migrate"} <= set(services)
    assert len(app_services(compose)) >= 2
    assert services["proxy"]["image"].startswith("nginx:")
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def test_only_the_proxy_publishes_a_port(compose):
    published = {name for name, s in compose["services"].items() if s.get("ports")}
    assert published == {"proxy"}
    for service in app_services(compose).values():
        assert "8000" in [str(p) for p in service.get("expose", [])]


def test_every_long_running_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        if service.get("restart") == "no":
            continue
        check = service.get("healthcheck")
        assert check and check["test"], name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_state_lives_in_named_volumes(compose):
    volumes = set(compose["volumes"])
    assert {"postgres-data", "redis-data"} <= volumes
    for name in ("postgres", "redis"):
        mounts = compose["services"][name]["volumes"]
        assert any(m.split(":")[0] in volumes for m in mounts), name


def test_services_start_in_order_of_health(compose):
    services = compose["services"]
    proxy_needs = services["proxy"]["depends_on"]
    for name in app_services(compose):
        assert proxy_needs[name]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_images_are_built_from_this_repository(compose):
    for name, service in [
        *app_services(compose).items(),
        ("migrate", compose["services"]["migrate"]),
    ]:
        build = service["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == ROOT, name
        assert (context / build["dockerfile"]).is_file(), name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "[postgres,redis]" in dockerfile  # the drivers the compose settings need
    # setup.py builds the compiled scorer, which needs a compiler in the image while installing
    assert "COPY pyproject.toml setup.py" in dockerfile and "gcc" in dockerfile
    assert "-p 8000:8000" not in dockerfile


def test_mounted_files_exist(compose):
    for service in compose["services"].values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).is_file(), mount


def test_commands_are_moderator_commands_with_valid_options(compose):
    for service in compose["services"].values():
        command = service.get("command")
        if not command or command[0] != "moderator":
            continue
        group = cli
        args = command[1:]
        while isinstance(group, click.Group):
            group = group.commands[args[0]]
            args = args[1:]
        # Parsing raises for an unknown option or a bad value.
        group.make_context(group.name, list(args))


def test_one_webhook_worker_delivers_the_outbox_for_every_instance(compose):
    services = compose["services"]
    workers = [n for n, s in services.items() if s.get("command", [])[:3] == WEBHOOK_WORKER]
    assert workers == ["webhooks"]
    worker = services["webhooks"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # The same database as the instances, whose decisions write the outbox.
    assert worker["environment"] == services["app1"]["environment"]
    # The image's own check asks port 8000, which the worker doesn't serve.
    assert "8000" not in " ".join(worker["healthcheck"]["test"])
    for name, service in app_services(compose).items():
        assert "--no-webhook-worker" in service["command"], name


WEBHOOK_WORKER = ["moderator", "webhooks", "run"]


def test_app_settings_are_known_and_valid(compose):
    known = {f.metadata["env"] for f in settings()}
    for name, service in [
        *app_services(compose).items(),
        ("migrate", compose["services"]["migrate"]),
        ("webhooks", compose["services"]["webhooks"]),
    ]:
        environment = filled(service["environment"])
        assert set(environment) <= known, (name, set(environment) - known)
        config = Config.from_env(environment)
        assert config.database_url.startswith("postgresql+psycopg://moderator:")
        assert "@postgres:5432/" in config.database_url
        assert config.rate_limit_storage_uri == "redis://redis:6379/0"
        assert config.proxy_count == 1
        assert config.secret_key  # shared by every instance


def test_the_proxy_config_names_every_app_instance(compose):
    upstream = COMPOSE_CONF.read_text()
    for name in app_services(compose):
        assert f"server {name}:8000" in upstream
    assert "include /etc/nginx/moderator.conf;" in upstream


@pytest.fixture(scope="module")
def nginx() -> str:
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if path is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    return path


def test_nginx_accepts_the_shipped_configuration(nginx, tmp_path):
    # compose.conf with its upstream hosts on loopback, around the shared server part.
    conf = (
        COMPOSE_CONF.read_text()
        .replace("app1:8000", "127.0.0.1:1")
        .replace("app2:8000", "127.0.0.1:2")
    )
    conf = conf.replace("/etc/nginx/moderator.conf", str(SERVER_CONF)).replace(
        "listen 80;", "listen 127.0.0.1:1;"
    )
    (tmp_path / "logs").mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\n"
        f"events {{}}\nhttp {{\n{conf}\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# -- the native topology: nginx in front of a real `moderator serve` ---------------------------


@pytest.fixture(scope="module")
def topology(nginx, model_path):
    """nginx + one `moderator serve` (2 workers x 2 threads, SQLite) from bench/cluster.py."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from cluster import Cluster
    finally:
        sys.path.pop(0)
    extra = {"MODERATOR_MODEL_PATH": str(model_path)} if model_path.is_dir() else {}
    cluster = Cluster(
        instances=1, workers=2, threads=2, servers=False, rate_limit="10000/minute", extra_env=extra
    )
    with cluster:
        cluster.key = cluster.create_site("deploy-test")
        yield cluster


def healthz_ms(port: int) -> float | None:
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
    except (OSError, http.client.HTTPException):
        return None
    return (time.monotonic() - started) * 1000 if ok else None


def slow_connections(port: int, count: int) -> list[socket.socket]:
    conns = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"POST /api/v1/moderate HTTP/1.1\r\nHost: test\r\n")
        conns.append(s)
    return conns


def test_slow_clients_cannot_starve_the_app_behind_the_proxy(topology):
    """20 connections trickling headers take all 4 gunicorn threads when they reach them;
    through nginx they never do (issue 10: four such connections took the service down)."""
    conns = slow_connections(topology.proxy_port, 20)
    try:
        for _ in range(3):
            time.sleep(1)
            for s in conns:
                s.sendall(b"X-Slow: 1\r\n")
            latencies = [healthz_ms(topology.proxy_port) for _ in range(5)]
            assert all(ms is not None and ms < 1000 for ms in latencies), latencies
        response = post(topology, "/api/v1/moderate", {"text": "still answered"})
        assert response[0] == 200
    finally:
        for s in conns:
            s.close()


def test_the_proxy_refuses_a_chunked_body_past_the_limit(topology):
    conn = http.client.HTTPConnection("127.0.0.1", topology.proxy_port, timeout=10)
    conn.putrequest("POST", "/api/v1/moderate")
    conn.putheader("Authorization", f"Bearer {topology.key}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b'{"text": "padded"}' + b" " * (64 * 1024)
    try:
        for _ in range(40):  # 2.6 MB in all
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            chunk = b" " * (64 * 1024)
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # nginx may close the connection as soon as the limit is passed
    response = conn.getresponse()
    assert response.status == 413


def test_a_dead_instance_is_a_503_problem_with_retry_after(topology):
    topology.apps[0].stop()
    try:
        status, headers, body = post(topology, "/api/v1/moderate", {"text": "anyone?"})
        assert status == 503
        assert headers["content-type"].startswith("application/problem+json")
        assert int(headers["retry-after"]) >= 1
        assert json.loads(body)["status"] == 503
    finally:
        topology.start_instance(0)
        topology.wait_instance(0)


def post(topology, path: str, body: dict):
    conn = http.client.HTTPConnection("127.0.0.1", topology.proxy_port, timeout=15)
    conn.request(
        "POST",
        path,
        body=json.dumps(body),
        headers={"Authorization": f"Bearer {topology.key}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    data = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, headers, data
