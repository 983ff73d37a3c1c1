"""The shipped multi-instance topology, run natively on this machine for benchmarks and faults.

    nginx (deploy/nginx/moderator.conf)  ->  N x `moderator serve` (gunicorn, loopback ports)
                                         ->  one PostgreSQL, one Redis (rate limits)
    one `moderator webhooks run`         ->  the same PostgreSQL (the webhook outbox)

the same topology as deploy/docker-compose.yml, from Debian's packages (`nginx`,
`postgresql`, `redis-server`): every server is private to one run (its own port and
folder under a temporary directory, started in its own process group) and is stopped at
the end, so nothing of the machine's own services is touched. Used by
bench/fault_cluster.py and bench/bench_slow_clients.py.

Run as root (CI, this machine), PostgreSQL runs as the `postgres` user and nginx's workers
as `nobody`; as another user, both run as that user.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from processes import Server
from processes import descendants  # noqa: F401  (bench scripts import it from here)
from processes import free_port
from processes import http_get
from processes import log
from processes import need
from processes import parent_pid
from processes import percentile  # noqa: F401
from processes import postgres_bin
from processes import rss_kb  # noqa: F401
from processes import write_results  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
NGINX_SERVER_CONF = ROOT / "deploy" / "nginx" / "moderator.conf"
SECRET = "bench-cluster-secret-key-0123456789abcdef"


@dataclass
class Cluster:
    """nginx + N app instances + PostgreSQL + Redis on loopback ports, under one folder."""

    instances: int = 2
    workers: int = 2
    threads: int = 4
    rate_limit: str = "600/minute"
    database_timeout: float = 3.0
    extra_env: dict[str, str] = field(default_factory=dict)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="moderator-cluster-")))
    use_proxy: bool = True
    #: False: SQLite in the run's folder and per-process rate limits (no PostgreSQL, no Redis).
    servers: bool = True

    def __post_init__(self) -> None:
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.proxy_port = free_port()
        self.app_ports = [free_port() for _ in range(self.instances)]
        self.postgres: Server | None = None
        self.redis: Server | None = None
        self.nginx: Server | None = None
        self.apps: list[Server] = []
        self.webhooks: Server | None = None
        self.database_url = f"postgresql+psycopg://moderator@127.0.0.1:{self.pg_port}/moderator"
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        if not self.servers:
            self.database_url = f"sqlite:///{self.root / 'moderator.sqlite3'}"
            self.redis_url = "memory://"

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self.root.chmod(0o755)
        if self.servers:
            self._start_postgres()
            self._start_redis()
        self._migrate()
        for index in range(self.instances):
            self.apps.append(self._app(index))
            self.apps[-1].start()
        # One webhook worker for every instance, as in deploy/docker-compose.yml.
        self.webhooks = self._webhook_worker()
        self.webhooks.start()
        for index in range(self.instances):
            self.wait_instance(index)
        if self.use_proxy:
            self._start_nginx()
        log(f"cluster up under {self.root}: {self.base_url}")

    def close(self) -> None:
        for server in [self.nginx, *self.apps, self.webhooks, self.redis]:
            if server is not None:
                server.stop()
        if self.postgres is not None:
            self.postgres.stop(signal.SIGINT)  # fast shutdown
        if os.environ.get("CLUSTER_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def base_url(self) -> str:
        port = self.proxy_port if self.use_proxy else self.app_ports[0]
        return f"http://127.0.0.1:{port}"

    def instance_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.app_ports[index]}"

    # -- PostgreSQL -------------------------------------------------------------------------

    def _pg_user(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def _start_postgres(self) -> None:
        data = self.root / "pgdata"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        initdb = [postgres_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "moderator"]
        initdb += ["--no-sync", "-E", "UTF8", "--locale", "C"]
        kwargs = {"user": "postgres"} if os.geteuid() == 0 else {}
        subprocess.run(initdb, check=True, capture_output=True, **kwargs)
        self.postgres = Server(
            "postgres",
            [
                postgres_bin("postgres"),
                "-D",
                str(data),
                "-p",
                str(self.pg_port),
                "-k",
                str(data),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            user=self._pg_user(),
            log_path=self.root / "postgres.log",
        )
        (self.root / "postgres.log").touch()
        if os.geteuid() == 0:
            shutil.chown(self.root / "postgres.log", "postgres", "postgres")
        self.postgres.start()
        self._wait_postgres()
        createdb = [postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port)]
        subprocess.run(createdb + ["-U", "moderator", "moderator"], check=True, **kwargs)

    def _wait_postgres(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [postgres_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)]
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise SystemExit("PostgreSQL did not start; see " + str(self.root / "postgres.log"))

    def restart_postgres(self) -> None:
        """Fast shutdown (every connection is cut) and start again."""
        assert self.postgres is not None
        self.postgres.stop(signal.SIGINT)
        self.postgres.start()
        self._wait_postgres()

    def freeze_postgres(self) -> None:
        """SIGSTOP the postmaster and every backend: connections stay open, nothing answers."""
        assert self.postgres is not None
        self.postgres.freeze()

    def thaw_postgres(self) -> None:
        assert self.postgres is not None
        self.postgres.thaw()

    # -- Redis ------------------------------------------------------------------------------

    def _start_redis(self) -> None:
        self.redis = Server(
            "redis",
            [
                need("redis-server", "redis-server"),
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            log_path=self.root / "redis.log",
        )
        self.redis.start()
        self._wait_redis()

    def _wait_redis(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def restart_redis(self) -> None:
        assert self.redis is not None
        self.redis.stop()
        self.redis.start()
        self._wait_redis()

    # -- the app ----------------------------------------------------------------------------

    def app_env(self, index: int) -> dict[str, str]:
        instance = self.root / f"instance{index}"
        instance.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "MODERATOR_INSTANCE_PATH": str(instance),
            "MODERATOR_SECRET_KEY": SECRET,
            "MODERATOR_RATE_LIMIT": self.rate_limit,
            "MODERATOR_RATE_LIMIT_STORAGE_URI": self.redis_url,
            "MODERATOR_DATABASE_TIMEOUT": str(self.database_timeout),
            "MODERATOR_PROXY_COUNT": "1" if self.use_proxy else "0",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each instance gets its own
        return env

    def _migrate(self) -> None:
        env = self.app_env(0)
        result = subprocess.run(
            [sys.executable, "-m", "moderator", "init-db"], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(f"init-db failed: {result.stderr}")

    def _app(self, index: int) -> Server:
        argv = [sys.executable, "-m", "moderator", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.app_ports[index]), "--workers", str(self.workers)]
        argv += ["--threads", str(self.threads), "--no-webhook-worker"]
        log_path = self.root / f"app{index}.log"
        return Server(f"app{index}", argv, self.app_env(index), log_path=log_path)

    def _webhook_worker(self) -> Server:
        argv = [sys.executable, "-m", "moderator", "webhooks", "run"]
        log_path = self.root / "webhooks.log"
        return Server("webhooks", argv, self.app_env(0), log_path=log_path)

    def wait_instance(self, index: int, timeout: float = 120.0) -> None:
        url = self.instance_url(index) + "/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.apps[index].process.poll() is not None:
                raise SystemExit(f"app{index} exited; see {self.root / f'app{index}.log'}")
            try:
                status, _ = http_get(url, timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise SystemExit(f"app{index} not ready in time")

    def kill_instance(self, index: int) -> None:
        """kill -9 the instance's gunicorn master and all its workers."""
        self.apps[index].kill()

    def start_instance(self, index: int) -> None:
        self.apps[index] = self._app(index)
        self.apps[index].start()

    def worker_pids(self, index: int) -> list[int]:
        """The gunicorn workers of an instance (its master's children)."""
        master = self.apps[index].pid
        return [p for p in self.apps[index].group_pids() if p != master and parent_pid(p) == master]

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "moderator", *args],
            env=self.app_env(0),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise SystemExit(f"moderator {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def create_site(self, name: str) -> str:
        key = self.cli("sites", "create", name).strip()
        if not key.startswith("mod_"):
            raise SystemExit(f"no key from sites create: {key!r}")
        return key

    # -- nginx ------------------------------------------------------------------------------

    def _start_nginx(self) -> None:
        prefix = self.root / "nginx"
        for sub in ("logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        for path in [prefix, *prefix.rglob("*")]:
            if path.is_dir():
                path.chmod(0o777)
        upstreams = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
            for port in self.app_ports
        )
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        conf = prefix / "nginx.conf"
        conf.write_text(
            f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    limit_conn_zone $binary_remote_addr zone=moderator_per_address:10m;
    upstream moderator_app {{
{upstreams}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{self.proxy_port};
        include {NGINX_SERVER_CONF};
    }}
}}
"""
        )
        nginx = need("nginx", "nginx")
        check = subprocess.run(
            [nginx, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise SystemExit(f"nginx -t failed:\n{check.stderr}")
        self.nginx = Server(
            "nginx",
            [nginx, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
            log_path=self.root / "nginx.out",
        )
        self.nginx.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if http_get(self.base_url + "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("nginx did not come up")
