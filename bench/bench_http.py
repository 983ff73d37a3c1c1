"""HTTP throughput and latency of persisted moderations, through gunicorn, one run.

    python bench/bench_http.py [--data-dir ../shared/data] [--duration 20] [--workers 2]
                               [--database-url postgresql://...]

Starts `moderator serve --workers N` on 127.0.0.1 (a free port) with a fresh SQLite
database in a temporary instance folder (or --database-url, whose `comments` table must
be empty of the benchmark's site), creates a site key with `moderator sites create`, then
drives POST /api/v1/moderate from separate processes, with real comments read from the
shared datasets by path:

  (a) max throughput: wrk (closed loop, --connections connections) for --duration seconds;
  (b) latency at half that rate: an open-loop client (requests scheduled at a constant
      rate, latency measured from the scheduled send time, so a stalled server can't hide
      queueing delay) for --duration seconds.

After each phase it counts the rows stored for the benchmark site and compares them with
the 200 responses. Everything stays on loopback and is bounded in time and count. Writes
bench/results/http.json and http.md (http-postgresql.* with --database-url). Figures, not
assertions: the 2 cores are shared by the server, the load generators and anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import csv
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "post_comments.lua"
MODERATOR = [sys.executable, "-m", "moderator"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_bodies(data_dir: Path, limit: int, seed: int, desk: bool = False) -> list[bytes]:
    """Request bodies from real comments (OLID test, HASOC 2019 test), shuffled.

    With `desk`, each also names an author (one of 300) and a story (one of 30, with its URL
    and title), as a news site sends them: the server then reads their standing and keeps
    their rows current on every request.
    """
    sources = [
        (data_dir / "olid" / "olid_test.csv", ",", "tweet"),
        (data_dir / "hasoc2019" / "hasoc2019_en_test-2919.tsv", "\t", "text"),
    ]
    texts: list[str] = []
    for path, delimiter, column in sources:
        if not path.exists():
            raise SystemExit(f"missing {path}: pass --data-dir or set MODERATOR_DATA_DIR")
        with path.open(encoding="utf-8", newline="") as f:
            texts.extend(row[column] for row in csv.DictReader(f, delimiter=delimiter))
    texts = [t for t in texts if t.strip()]
    random.Random(seed).shuffle(texts)
    bodies = []
    for i, text in enumerate(texts[:limit]):
        body: dict = {"text": text}
        if desk:
            body["author"] = {"id": f"reader-{i % 300}", "name": f"Reader {i % 300}"}
            body["story_id"] = f"story-{i % 30}"
            body["url"] = f"https://news.example/stories/{i % 30}"
            body["title"] = f"Story number {i % 30}"
        bodies.append(json.dumps(body).encode("utf-8"))
    return bodies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(MODERATOR + args, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SystemExit(f"moderator {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def create_site_key(env: dict[str, str], name: str) -> str:
    """The API key `moderator sites create` prints (alone on stdout)."""
    key = run_cli(["sites", "create", name], env).strip()
    if not key.startswith("mod_"):
        raise SystemExit(f"no API key in `moderator sites create` output: {key!r}")
    return key


def wait_up(base: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server not up in time")


def loaded_model(base: str) -> str | None:
    """The model /readyz reports (None: every comment would be held unscored)."""
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
            return json.loads(r.read())["model"]
    except urllib.error.HTTPError as error:
        return json.loads(error.read()).get("model")


def count_rows(database_url: str, site_name: str) -> int:
    """Rows stored for the benchmark site, read directly from the database."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT count(*) FROM comments c JOIN sites s ON s.id = c.site_id"
                    " WHERE s.name = :name"
                ),
                {"name": site_name},
            ).scalar_one()
    finally:
        engine.dispose()


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in a process group (the server)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # After "pid (comm)": state, ppid, pgrp, ... utime is field 14, stime 15 (1-based).
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def run_wrk(url: str, key: str, bodies_path: Path, connections: int, duration: int) -> dict:
    """Closed-loop maximum throughput with wrk; returns the Lua script's JSON summary."""
    env = {**os.environ, "BENCH_BODIES": str(bodies_path), "BENCH_KEY": key}
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60)
    if out.returncode != 0:
        raise SystemExit(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("{"))
    return json.loads(line)


class Client:
    """A minimal HTTP/1.1 client on one connection; reconnects when the server closes."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, key: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        await self.reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


async def open_loop(
    host: str, port: int, key: str, bodies: list[bytes], rate: float, duration: float, pool: int
) -> dict:
    """Send at a constant `rate` for `duration` s; latency counts from the scheduled time."""
    total = int(rate * duration)
    queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0

    async def worker() -> None:
        nonlocal errors
        client = Client(host, port)
        while True:
            item = await queue.get()
            if item is None:
                await client.close()
                return
            index, scheduled = item
            try:
                status = await client.post("/api/v1/moderate", bodies[index % len(bodies)], key)
                statuses[status] = statuses.get(status, 0) + 1
            except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
                errors += 1
                await client.close()
            else:
                latencies.append(time.perf_counter() - scheduled)

    workers = [asyncio.create_task(worker()) for _ in range(pool)]
    start = time.perf_counter() + 0.05
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, scheduled))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), timeout=duration + 60)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rate_target": rate,
        "requests": total,
        "ok": statuses.get(200, 0) + statuses.get(201, 0),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors,
        "elapsed_s": round(elapsed, 2),
        "achieved_rate": round(total / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p90_ms": round(percentile(latencies, 90) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
    }


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def scrape_decisions(base: str) -> float:
    """moderator_decisions_total summed over actions, from GET /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        text = r.read().decode("utf-8")
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("moderator_decisions_total{")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MODERATOR_DATA_DIR", ROOT.parent / "shared" / "data")),
    )
    parser.add_argument("--duration", type=int, default=20, help="Seconds per phase (max 60).")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers.")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections.")
    parser.add_argument("--pool", type=int, default=64, help="Open-loop client connections.")
    parser.add_argument("--database-url", default=None, help="Default: fresh SQLite file.")
    parser.add_argument(
        "--model", type=Path, default=None, help="Model directory. Default: the shipped one."
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--desk-fields",
        action="store_true",
        help="Send an author and a story with every comment (results: http-desk.*).",
    )
    args = parser.parse_args()
    duration = max(2, min(args.duration, 60))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (Debian package wrk)")

    load_before = os.getloadavg()[0]
    bodies = load_bodies(args.data_dir, 2000, args.seed, args.desk_fields)
    tmp = Path(tempfile.mkdtemp(prefix="moderator-bench-"))
    # It holds the database and the comment bodies: gone however the run ends.
    atexit.register(shutil.rmtree, tmp, True)
    database_url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    site_name = f"bench-{int(time.time())}"
    # `moderator serve` makes its own metrics folder; metrics_match_rows checks it works.
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "MODERATOR_INSTANCE_PATH": str(tmp),
        "DATABASE_URL": database_url,
        # The benchmark measures the server, not the per-key limiter.
        "MODERATOR_RATE_LIMIT": "1000000/second",
    }
    if args.model is not None:
        env["MODERATOR_MODEL_PATH"] = str(args.model.resolve())
    bodies_path = tmp / "bodies.jsonl"
    bodies_path.write_bytes(b"\n".join(bodies) + b"\n")

    run_cli(["init-db"], env)
    key = create_site_key(env, site_name)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = (tmp / "server.log").open("wb")
    server = subprocess.Popen(
        MODERATOR
        + ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_up(base, server)
        model = loaded_model(base)
        if model is None:
            log("WARNING: no model loaded; comments are held unscored (not a real benchmark)")
        log(f"server up on {base} ({args.workers} workers, model {model}); warming up 2 s")
        run_wrk(base + "/api/v1/moderate", key, bodies_path, args.connections, 2)

        before = count_rows(database_url, site_name)
        cpu_before = group_cpu_seconds(server.pid)
        log(f"(a) wrk, {args.connections} connections, {duration} s")
        wrk = run_wrk(base + "/api/v1/moderate", key, bodies_path, args.connections, duration)
        time.sleep(1.0)  # let requests in flight at wrk's deadline finish
        stored_a = count_rows(database_url, site_name) - before
        server_cpu_ms = (group_cpu_seconds(server.pid) - cpu_before) * 1000 / max(1, stored_a)
        seconds = wrk["duration_us"] / 1e6
        max_rate = wrk["ok"] / seconds
        log(f"    {max_rate:.0f} persisted moderations/s; stored {stored_a}, 200s {wrk['ok']}")

        rate = max(1.0, round(max_rate / 2))
        before = count_rows(database_url, site_name)
        log(f"(b) open loop at {rate:.0f} req/s for {duration} s")
        loop = asyncio.run(open_loop("127.0.0.1", port, key, bodies, rate, duration, args.pool))
        stored_b = count_rows(database_url, site_name) - before
        log(
            f"    p50 {loop['p50_ms']} ms, p99 {loop['p99_ms']} ms;"
            f" stored {stored_b}, 200s {loop['ok']}"
        )
        decisions_metric = scrape_decisions(base)
        rows_total = count_rows(database_url, site_name)
    except BaseException:
        server_log.flush()
        tail = (tmp / "server.log").read_text(errors="replace").splitlines()[-20:]
        log("server log (last lines):\n" + "\n".join(tail))
        raise
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        server_log.close()

    result = {
        "command": "python bench/bench_http.py " + " ".join(_masked(sys.argv[1:])),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            # Other work on the shared cores skews every figure: keep it with them.
            "loadavg_1min_before": round(load_before, 2),
            "loadavg_1min_after": round(os.getloadavg()[0], 2),
        },
        "server": {
            "workers": args.workers,
            "database": "sqlite" if database_url.startswith("sqlite") else "postgresql",
            "model": model,
        },
        "comments": len(bodies),
        "desk_fields": args.desk_fields,
        "max_throughput": {
            "tool": "wrk",
            "connections": args.connections,
            "seconds": round(seconds, 2),
            "ok": wrk["ok"],
            "failed": wrk["failed"],
            "socket_errors": wrk["socket_errors"],
            "timeouts": wrk["timeouts"],
            "persisted_per_s": round(max_rate, 1),
            "p50_ms": round(wrk["p50_us"] / 1000, 2),
            "p99_ms": round(wrk["p99_us"] / 1000, 2),
            "rows_stored": stored_a,
            # CPU the server spent per stored moderation: unlike requests/s, this does not
            # depend on how much of the 2 cores other work took during the run.
            "server_cpu_ms_per_request": round(server_cpu_ms, 3),
            "cpus_bound_per_s": round((os.cpu_count() or 1) * 1000 / server_cpu_ms, 1)
            if server_cpu_ms
            else None,
            # wrk stops counting at its deadline; requests then in flight may still be stored.
            "rows_match": 0 <= stored_a - wrk["ok"] <= args.connections,
        },
        "latency_at_half_rate": {
            **loop,
            "rows_stored": stored_b,
            "rows_match": stored_b == loop["ok"],
        },
        # Every request stored one row and counted one decision, in whichever worker: equal
        # only if /metrics adds up the workers (PROMETHEUS_MULTIPROC_DIR).
        "metrics_decisions_total": decisions_metric,
        "rows_total": rows_total,
        "metrics_match_rows": decisions_metric == rows_total,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "http" if database_url.startswith("sqlite") else "http-postgresql"
    if args.desk_fields:
        stem += "-desk"
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / f"{stem}.md").write_text(render_markdown(result), encoding="utf-8")
    print(json.dumps(result, indent=2))


def _masked(argv: list[str]) -> list[str]:
    """The arguments with any database password hidden."""
    from sqlalchemy.engine import make_url

    out = []
    for arg in argv:
        if "://" in arg:
            prefix, _, url = arg.rpartition("=") if arg.startswith("--") else ("", "", arg)
            url = make_url(url).render_as_string(hide_password=True)
            arg = f"{prefix}={url}" if prefix else url
        out.append(arg)
    return out


def render_markdown(r: dict) -> str:
    a, b = r["max_throughput"], r["latency_at_half_rate"]
    rows = [
        (
            f"(a) max, wrk {a['connections']} connections, {a['seconds']} s",
            a["persisted_per_s"],
            a["ok"],
            a["failed"] + a["socket_errors"],
            a["p50_ms"],
            a["p99_ms"],
            a["rows_stored"],
            a["rows_match"],
        ),
        (
            f"(b) open loop at {b['rate_target']:.0f}/s, {b['elapsed_s']} s",
            b["achieved_rate"],
            b["ok"],
            b["requests"] - b["ok"],
            b["p50_ms"],
            b["p99_ms"],
            b["rows_stored"],
            b["rows_match"],
        ),
    ]
    table = "\n".join("| " + " | ".join(str(x) for x in row) + " |" for row in rows)
    server, machine = r["server"], r["machine"]
    pg_note = " and PostgreSQL's (not counted)" if server["database"] == "postgresql" else ""
    desk = (
        ", each with an author (300 in all) and a story (30, with URL and title)"
        if r.get("desk_fields")
        else ""
    )
    return f"""# HTTP benchmark: persisted moderations

Command: `{r["command"]}`, Python {r["machine"]["python"]}, {r["machine"]["cpus"]} CPUs shared
by the server ({server["workers"]} gunicorn workers, {server["database"]}, model
{server["model"]}) and the load generators, on loopback; 1-minute load average
{machine["loadavg_1min_before"]} before, {machine["loadavg_1min_after"]} after.
{r["comments"]} real comments (OLID test, HASOC 2019 test), POST /api/v1/moderate, each
decided and stored{desk}.

| phase | requests/s | 200s | other | p50 ms | p99 ms | rows stored | rows match |
|---|---|---|---|---|---|---|---|
{table}

The server (master and workers) used {a["server_cpu_ms_per_request"]} ms of CPU per stored
moderation in (a), whatever else was running: {r["machine"]["cpus"]} idle cores would allow
about {a["cpus_bound_per_s"]:.0f} requests/s before the load generator's own share{pg_note}.

(a) is closed loop, so its latencies are with the server saturated; rows may exceed the
200s wrk counted by the requests in flight at its deadline. (b) schedules requests at a
constant rate and measures from the scheduled time (no coordinated omission).
`moderator_decisions_total` from /metrics after both phases (warm-up included):
{r["metrics_decisions_total"]:.0f}, rows stored in all: {r["rows_total"]}.
"""


if __name__ == "__main__":
    main()
