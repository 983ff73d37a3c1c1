"""A frozen or partitioned database: every request answered in a few seconds with 503 and
Retry-After (API, Perspective door, dashboard, readiness), never a hang, never a 500.

PostgreSQL is reached through `Relay`, a TCP relay in this process that can stop passing
bytes either way while keeping every connection open: to the app that is exactly a server
stopped with SIGSTOP or a network partition (the connection stays up, nothing answers).
bench/fault_cluster.py freezes a real server with SIGSTOP.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import sqlite3
import threading
import time

import pytest
from sqlalchemy.engine import make_url

from moderator import create_app
from moderator import storage
from moderator.storage import comments

#: The target: every request answered within this many seconds while the database is frozen.
ANSWER_WITHIN = 5.0
TIMEOUT = 2.0


class Relay:
    """Pass TCP bytes between clients and `upstream`; `freeze()` stops passing them."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.running = threading.Event()
        self.running.set()
        self.stopped = False
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.running.clear()

    def thaw(self) -> None:
        self.running.set()

    def close(self) -> None:
        self.stopped = True
        self.running.set()
        self.listener.close()
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            # Like a stopped server: the kernel accepts, nothing happens until it runs again.
            threading.Thread(target=self._open, args=(client,), daemon=True).start()

    def _open(self, client: socket.socket) -> None:
        self.running.wait()
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        self.sockets += [client, server]
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            self.running.wait()
            if not data or self.stopped:
                for s in (source, sink):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            try:
                sink.sendall(data)
            except OSError:
                return


@pytest.fixture
def relay(postgres_url):
    url = make_url(postgres_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    yield relay
    relay.close()


@pytest.fixture
def frozen_app(postgres_url, tmp_path, model_path, relay):
    """The app on a fresh PostgreSQL schema reached through `relay`, with a 2 s timeout."""
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy import text

    schema = "test_" + uuid.uuid4().hex[:16]
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).set(host="127.0.0.1", port=relay.port)
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    from moderator.config import Config

    config = Config(
        instance_path=tmp_path / "instance",
        database_url=url.render_as_string(hide_password=False),
        model_path=model_path,
        rate_limit="10000/minute",
        database_timeout=TIMEOUT,
    )
    app = create_app(config)
    app.config["TESTING"] = True
    storage.upgrade(app.extensions["moderator"].engine)
    yield app
    relay.thaw()
    app.extensions["moderator"].engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def timed(call, limit: float = 20.0):
    """(result, seconds) of `call()` run in a thread; fails (never hangs) past `limit` s."""
    box: dict = {}

    def run() -> None:
        started = time.monotonic()
        try:
            box["result"] = call()
        except BaseException as error:  # reported below
            box["error"] = error
        box["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        pytest.fail(f"request still hanging after {limit:.0f}s")
    if "error" in box:
        raise box["error"]
    return box["result"], box["seconds"]


def make_key(app, name: str) -> str:
    from moderator import auth
    from moderator.storage import sites

    key = auth.generate_key()
    with storage.transaction(app.extensions["moderator"].engine) as conn:
        sites.create_site(conn, name, auth.hash_key(key), auth.display_prefix(key))
    return key


@pytest.mark.postgres
def test_frozen_postgres_gives_api_requests_503_within_seconds(frozen_app, relay):
    key = make_key(frozen_app, "frozen")
    client = frozen_app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    assert (
        client.post(
            "/api/v1/moderate", json={"text": "before", "id": "b"}, headers=bearer
        ).status_code
        == 200
    )
    relay.freeze()
    for call in (
        lambda: client.post("/api/v1/moderate", json={"text": "during", "id": "d"}, headers=bearer),
        lambda: client.post(
            "/api/v1/moderate/batch", json={"comments": [{"text": "x"}]}, headers=bearer
        ),
        lambda: client.get("/api/v1/comments/b", headers=bearer),
    ):
        response, seconds = timed(call)
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert int(response.headers["Retry-After"]) >= 1
        assert seconds < ANSWER_WITHIN
    relay.thaw()
    time.sleep(storage.BREAKER_OPEN + 0.1)  # requests fail fast for a moment after a timeout
    # The pool drops the connections that timed out; the next requests work again.
    statuses = [
        client.post(
            "/api/v1/moderate", json={"text": "after", "id": f"a{i}"}, headers=bearer
        ).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 200]
    assert client.get("/api/v1/comments/b", headers=bearer).json["text"] == "before"


@pytest.mark.postgres
def test_frozen_postgres_gives_the_perspective_door_503_unavailable(frozen_app, relay):
    key = make_key(frozen_app, "google")
    client = frozen_app.test_client()
    body = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    assert client.post(f"/v1alpha1/comments:analyze?key={key}", json=body).status_code == 200
    relay.freeze()
    response, seconds = timed(
        lambda: client.post(f"/v1alpha1/comments:analyze?key={key}", json=body)
    )
    assert response.status_code == 503
    assert response.json["error"]["status"] == "UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1
    assert seconds < ANSWER_WITHIN


@pytest.mark.postgres
def test_frozen_postgres_gives_the_dashboard_its_503_page(frozen_app, relay, monkeypatch):
    from werkzeug.security import generate_password_hash

    from moderator.storage import users

    with storage.transaction(frozen_app.extensions["moderator"].engine) as conn:
        users.create_user(
            conn,
            "mod",
            generate_password_hash("a long password", "pbkdf2:sha256:1000"),
            "moderator",
        )
    client = frozen_app.test_client()
    html = client.get("/dashboard/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    logged_in = client.post(
        "/dashboard/login",
        data={"username": "mod", "password": "a long password", "csrf_token": token},
    )
    assert logged_in.status_code == 302
    relay.freeze()
    for path in ("/dashboard/", "/dashboard/audit", "/dashboard/stats"):
        response, seconds = timed(lambda p=path: client.get(p, headers={"Accept": "text/html"}))
        assert response.status_code == 503, (path, response.status_code)
        assert response.mimetype == "text/html"
        assert int(response.headers["Retry-After"]) >= 1
        assert "unavailable" in response.get_data(as_text=True).lower()
        assert seconds < ANSWER_WITHIN
    anonymous = frozen_app.test_client()
    html = anonymous.get("/dashboard/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response, seconds = timed(
        lambda: anonymous.post(
            "/dashboard/login",
            data={"username": "mod", "password": "a long password", "csrf_token": token},
            headers={"Accept": "text/html"},
        )
    )
    assert response.status_code == 503 and seconds < ANSWER_WITHIN
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.postgres
def test_frozen_postgres_makes_readyz_503_within_seconds(frozen_app, relay):
    client = frozen_app.test_client()
    assert client.get("/readyz").status_code == 200
    relay.freeze()
    response, seconds = timed(lambda: client.get("/readyz"))
    assert response.status_code == 503
    assert response.json["checks"]["database"] is False
    assert seconds < ANSWER_WITHIN
    # Liveness needs no database.
    response, seconds = timed(lambda: client.get("/healthz"))
    assert response.status_code == 200 and seconds < 1.0


@pytest.mark.postgres
def test_a_commit_lost_in_a_freeze_is_answered_503_and_a_retry_is_safe(frozen_app, relay):
    key = make_key(frozen_app, "retry")
    client = frozen_app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    relay.freeze()
    response, _ = timed(
        lambda: client.post(
            "/api/v1/moderate", json={"text": "retry me", "id": "r1"}, headers=bearer
        )
    )
    assert response.status_code == 503
    relay.thaw()
    time.sleep(storage.BREAKER_OPEN + 0.1)
    retried = client.post("/api/v1/moderate", json={"text": "retry me", "id": "r1"}, headers=bearer)
    assert retried.status_code == 200
    with storage.reading(frozen_app.extensions["moderator"].engine) as conn:
        assert comments.count_comments(conn) == 1


def test_a_locked_sqlite_database_gives_503_within_its_timeout(config, tmp_path):
    app = create_app(dataclasses.replace(config, database_timeout=1.0))
    engine = app.extensions["moderator"].engine
    storage.upgrade(engine)
    key = make_key(app, "locked")
    path = make_url(config.database_url).database
    if not path:
        pytest.skip("needs the SQLite database")
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response, seconds = timed(
            lambda: app.test_client().post(
                "/api/v1/moderate",
                json={"text": "blocked", "id": "l1"},
                headers={"Authorization": f"Bearer {key}"},
            )
        )
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert 0.5 < seconds < 3.0
    engine.dispose()


@pytest.mark.parametrize("value", ["0", "-1", "abc", "21", "nan", "inf"])
def test_database_timeout_setting_is_checked(value):
    from moderator.config import Config
    from moderator.config import ConfigError

    with pytest.raises(ConfigError, match="MODERATOR_DATABASE_TIMEOUT"):
        Config.from_env({"MODERATOR_DATABASE_TIMEOUT": value})


def test_deadlines_nest_to_the_earlier_one():
    with storage.deadline(10):
        outer = storage.remaining(99)
        with storage.deadline(1):
            assert storage.remaining(99) <= 1
        with storage.deadline(60):
            assert storage.remaining(99) <= outer
    assert storage.remaining(99) == 99


@pytest.mark.postgres
def test_after_one_timeout_requests_fail_fast_then_recover(frozen_app, relay):
    key = make_key(frozen_app, "breaker")
    client = frozen_app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}

    def post(i):
        return client.post("/api/v1/moderate", json={"text": "x", "id": f"f{i}"}, headers=bearer)

    relay.freeze()
    first, waited = timed(lambda: post(0))
    assert first.status_code == 503 and waited >= TIMEOUT * 0.9
    # Threads queued behind a frozen database would each wait the whole timeout again;
    # instead they are answered at once while the breaker is open.
    for i in range(1, 4):
        response, seconds = timed(lambda i=i: post(i))
        assert response.status_code == 503 and seconds < 0.5
        assert int(response.headers["Retry-After"]) >= 1
    relay.thaw()
    time.sleep(storage.BREAKER_OPEN + 0.1)
    response, _ = timed(lambda: post(9))
    assert response.status_code == 200
    assert all(post(10 + i).status_code == 200 for i in range(3))


def test_the_breaker_lets_one_probe_through_at_a_time(monkeypatch):
    monkeypatch.setattr(storage, "BREAKER_OPEN", 0.0)
    breaker = storage.Breaker()
    assert breaker.enter() is False  # closed: nobody probes
    breaker.failed(False, timed_out=False)
    assert breaker.enter() is False  # a quick failure doesn't open it
    breaker.failed(False, timed_out=True)
    assert breaker.enter() is True  # open, then half-open: this caller probes
    with pytest.raises(storage.StorageUnavailable):
        breaker.enter()  # another caller, while the probe runs
    breaker.failed(True, timed_out=False)  # the probe failed: still open
    assert breaker.enter() is True
    breaker.succeeded(True)
    assert breaker.enter() is False and not breaker.tripped
