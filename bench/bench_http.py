"""HTTP throughput, latency, start-up and memory of persisted moderations, through gunicorn.

    python bench/bench_http.py [--data-dir ../shared/data] [--duration 20] [--workers 2]
                               [--postgres-url postgresql://...] [--baseline 84a120b]
                               [--rounds 3]

Each run starts `moderator serve --workers N` on 127.0.0.1 (a free port) on a fresh database
(a new SQLite file, or a new schema on --postgres-url, dropped afterwards), creates a site key
with `moderator sites create`, then drives POST /api/v1/moderate from separate processes,
with real comments read from the shared datasets by path:

  (a) max throughput: wrk (closed loop, --connections connections) for --duration seconds;
  (b) latency at half that rate: an open-loop client (requests scheduled at a constant
      rate, latency measured from the scheduled send time, so a stalled server can't hide
      queueing delay) for --duration seconds.

It also records the time from launch to the first 200 from /readyz, create_app's time in a
fresh interpreter (first, and again once everything is imported), each worker's RSS and PSS
(/proc/PID/smaps_rollup) and the 1-minute load average of each phase. After each phase it
counts the rows stored for the benchmark site and compares them with the 200 responses.

With --baseline REF the same runs are made with the code of REF (exported with git archive
into the temporary folder, run with this virtualenv), alternating with the working tree's
runs, --rounds times per database: the 2 cores are shared with other work, so compare the
medians and ratios of one session, never figures from different sessions. Writes
bench/results/http.json and http.md (http-desk.* with --desk-fields). Figures, not
assertions.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from processes import group_stats  # noqa: E402

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


def run_cli(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    result = subprocess.run(
        MODERATOR + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise SystemExit(f"moderator {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def create_site_key(env: dict[str, str], name: str, cwd: Path = ROOT) -> str:
    """The API key `moderator sites create` prints (alone on stdout)."""
    key = run_cli(["sites", "create", name], env, cwd).strip()
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
    ticks = sum(int(f[11]) + int(f[12]) for _, f in group_stats(pgid))
    return ticks / os.sysconf("SC_CLK_TCK")


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


def checkout(ref: str, into: Path) -> tuple[Path, str]:
    """`ref` exported with `git archive` (code and shipped models) into a folder of `into`."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dest = into / f"ref-{sha[:12]}"
    dest.mkdir()
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", sha], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0:
        raise SystemExit(f"git archive {ref} failed")
    return dest, sha


def current_ref() -> str:
    """The working tree's commit (with `+changes` when it differs from it)."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return sha[:12] + ("+changes" if dirty else "")


def fresh_postgres(admin_url: str) -> tuple[str, callable]:
    """A fresh schema on the PostgreSQL server: (URL that uses it, function that drops it)."""
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def process_memory(pid: int) -> dict | None:
    """RSS and PSS (proportional set size: shared pages split between their sharers) in MB,
    from /proc/PID/smaps_rollup."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    fields = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Dirty"):
            fields[name] = int(rest.split()[0]) / 1024
    return {
        "rss_mb": round(fields.get("Rss", 0), 1),
        "pss_mb": round(fields.get("Pss", 0), 1),
        "shared_mb": round(fields.get("Shared_Clean", 0) + fields.get("Shared_Dirty", 0), 1),
        "private_dirty_mb": round(fields.get("Private_Dirty", 0), 1),
    }


def server_memory(master: int) -> dict:
    """The gunicorn master's and each worker's memory (the webhook worker left out)."""
    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == master and "webhooks" not in cmdline:
            memory = process_memory(int(entry.name))
            if memory is not None:
                workers.append(memory)
    return {"master": process_memory(master), "workers": workers}


def wait_ready(base: str, server: subprocess.Popen, timeout: float = 120.0) -> float:
    """Seconds until /readyz first answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("server not ready in time")


APP_TIMING = """
import json, sys, time
t0 = time.perf_counter()
from moderator import create_app
from moderator.config import Config
config = Config.from_env()
t1 = time.perf_counter()
app = create_app(config)
t2 = time.perf_counter()
again = create_app(config)
t3 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "first_app_s": t2 - t1, "app_after_imports_s": t3 - t2}))
"""


def app_timing(env: dict, cwd: Path) -> dict:
    """create_app in a fresh interpreter: the first time (its imports included) and again in
    the same process (everything imported: what a worker needs once its imports are done)."""
    out = subprocess.run(
        [sys.executable, "-c", APP_TIMING],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:]}
    line = next(x for x in out.stdout.splitlines() if x.startswith("{"))
    return {k: round(v, 3) for k, v in json.loads(line).items()}


def run_once(
    label: str,
    code: Path,
    database_url: str,
    bodies: list[bytes],
    bodies_path: Path,
    args: argparse.Namespace,
    tmp: Path,
) -> dict:
    """One server from the code in `code` on `database_url`: start-up, (a), (b), memory."""
    duration = max(2, min(args.duration, 60))
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=tmp))
    site_name = f"bench-{int(time.time() * 1000)}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR",)},
        "MODERATOR_INSTANCE_PATH": str(run_dir),
        "DATABASE_URL": database_url,
        # The benchmark measures the server, not the per-key limiter.
        "MODERATOR_RATE_LIMIT": "1000000/second",
    }
    if code != ROOT:
        env["PYTHONPATH"] = str(code)
    if args.model is not None:
        env["MODERATOR_MODEL_PATH"] = str(args.model.resolve())
    run_cli(["init-db"], env, code)
    key = create_site_key(env, site_name, code)
    timing = app_timing(env, code)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = (run_dir / "server.log").open("wb")
    server = subprocess.Popen(
        MODERATOR
        + ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        cwd=code,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        ready_s = wait_ready(base, server)
        model = loaded_model(base)
        if model is None:
            log("WARNING: no model loaded; comments are held unscored (not a real benchmark)")
        log(f"[{label}] ready in {ready_s:.2f} s on {base}; warming up 2 s")
        run_wrk(base + "/api/v1/moderate", key, bodies_path, args.connections, 2)
        time.sleep(1.0)  # the warm-up's requests in flight are stored before counting

        load_a = os.getloadavg()[0]
        before = count_rows(database_url, site_name)
        cpu_before = group_cpu_seconds(server.pid)
        wrk = run_wrk(base + "/api/v1/moderate", key, bodies_path, args.connections, duration)
        time.sleep(1.0)  # let requests in flight at wrk's deadline finish
        stored_a = count_rows(database_url, site_name) - before
        server_cpu_ms = (group_cpu_seconds(server.pid) - cpu_before) * 1000 / max(1, stored_a)
        seconds = wrk["duration_us"] / 1e6
        max_rate = wrk["ok"] / seconds
        memory = server_memory(server.pid)
        log(
            f"[{label}] (a) {max_rate:.0f}/s persisted, {server_cpu_ms:.2f} ms CPU each;"
            f" stored {stored_a}, 200s {wrk['ok']}; load {load_a:.2f}"
        )

        rate = max(1.0, round(max_rate / 2))
        load_b = os.getloadavg()[0]
        before = count_rows(database_url, site_name)
        loop = asyncio.run(open_loop("127.0.0.1", port, key, bodies, rate, duration, args.pool))
        stored_b = count_rows(database_url, site_name) - before
        log(
            f"[{label}] (b) at {rate:.0f}/s: p50 {loop['p50_ms']} ms, p99 {loop['p99_ms']} ms;"
            f" stored {stored_b}, 200s {loop['ok']}"
        )
        common = None
        if args.common_rate:
            before = count_rows(database_url, site_name)
            common = asyncio.run(
                open_loop("127.0.0.1", port, key, bodies, args.common_rate, duration, args.pool)
            )
            common["rows_stored"] = count_rows(database_url, site_name) - before
            common["rows_match"] = common["rows_stored"] == common["ok"]
            log(
                f"[{label}] (c) at {args.common_rate:.0f}/s: p50 {common['p50_ms']} ms,"
                f" p99 {common['p99_ms']} ms"
            )
        decisions_metric = scrape_decisions(base)
        rows_total = count_rows(database_url, site_name)
    except BaseException:
        server_log.flush()
        tail = (run_dir / "server.log").read_text(errors="replace").splitlines()[-20:]
        log("server log (last lines):\n" + "\n".join(tail))
        raise
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        server_log.close()
    return {
        "label": label,
        "database": "sqlite" if database_url.startswith("sqlite") else "postgresql",
        "model": model,
        "ready_s": round(ready_s, 2),
        "app_timing": timing,
        "memory_mb": memory,
        "max_throughput": {
            "loadavg_1min": round(load_a, 2),
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
            # wrk stops counting at its deadline; requests then in flight may still be stored.
            "rows_match": 0 <= stored_a - wrk["ok"] <= args.connections,
        },
        "latency_at_half_rate": {
            **loop,
            "loadavg_1min": round(load_b, 2),
            "rows_stored": stored_b,
            "rows_match": stored_b == loop["ok"],
        },
        "latency_at_common_rate": common,
        # Equal only if /metrics adds up the workers (PROMETHEUS_MULTIPROC_DIR).
        "metrics_decisions_total": decisions_metric,
        "rows_total": rows_total,
        "metrics_match_rows": decisions_metric == rows_total,
    }


def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def summarise(runs: list[dict]) -> dict:
    """Medians per code version, over its runs (and, for memory, over its workers)."""
    out = {}
    for label in dict.fromkeys(r["label"] for r in runs):
        mine = [r for r in runs if r["label"] == label]
        workers = [w for r in mine for w in r["memory_mb"]["workers"]]
        out[label] = {
            "runs": len(mine),
            "persisted_per_s": median([r["max_throughput"]["persisted_per_s"] for r in mine]),
            "server_cpu_ms_per_request": median(
                [r["max_throughput"]["server_cpu_ms_per_request"] for r in mine]
            ),
            "half_rate_p50_ms": median([r["latency_at_half_rate"]["p50_ms"] for r in mine]),
            "half_rate_p99_ms": median([r["latency_at_half_rate"]["p99_ms"] for r in mine]),
            "common_rate_p50_ms": median(
                [(r["latency_at_common_rate"] or {}).get("p50_ms") for r in mine]
            ),
            "common_rate_p99_ms": median(
                [(r["latency_at_common_rate"] or {}).get("p99_ms") for r in mine]
            ),
            "ready_s": median([r["ready_s"] for r in mine]),
            "app_after_imports_s": median(
                [r["app_timing"].get("app_after_imports_s") for r in mine]
            ),
            "first_app_s": median([r["app_timing"].get("first_app_s") for r in mine]),
            "imports_s": median([r["app_timing"].get("imports_s") for r in mine]),
            "worker_rss_mb": median([w["rss_mb"] for w in workers]),
            "worker_pss_mb": median([w["pss_mb"] for w in workers]),
            "loadavg_1min": median(
                [r["max_throughput"]["loadavg_1min"] for r in mine]
                + [r["latency_at_half_rate"]["loadavg_1min"] for r in mine]
            ),
            "rows_match": all(
                r["max_throughput"]["rows_match"]
                and r["latency_at_half_rate"]["rows_match"]
                and (r["latency_at_common_rate"] or {}).get("rows_match", True)
                for r in mine
            ),
        }
    labels = list(out)
    if len(labels) == 2:
        base, new = out[labels[0]], out[labels[1]]
        out["ratio"] = {
            k: round(new[k] / base[k], 3)
            for k in (
                "persisted_per_s",
                "server_cpu_ms_per_request",
                "half_rate_p99_ms",
                "common_rate_p99_ms",
                "ready_s",
                "worker_pss_mb",
            )
            if new.get(k) and base.get(k)
        }
    return out


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
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="A PostgreSQL server (each run gets a fresh schema there, dropped afterwards). "
        "Without it only SQLite (a fresh file per run) is measured.",
    )
    parser.add_argument(
        "--databases",
        default=None,
        help="Comma-separated: sqlite, postgresql. Default: sqlite, and postgresql too "
        "when --postgres-url is given.",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="REF",
        help="Also measure this commit (e.g. 84a120b), exported with git archive, its runs "
        "alternating with the working tree's in the same session.",
    )
    parser.add_argument(
        "--common-rate",
        type=float,
        default=None,
        help="Also (c): open loop at this many requests/s for every version, so latencies "
        "compare at the same load (b's half rate differs between versions).",
    )
    parser.add_argument("--rounds", type=int, default=3, help="Runs per version and database.")
    parser.add_argument(
        "--model", type=Path, default=None, help="Model directory. Default: each checkout's own."
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--desk-fields",
        action="store_true",
        help="Send an author and a story with every comment (results: http-desk.*).",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (Debian package wrk)")
    databases = (
        args.databases.split(",")
        if args.databases
        else ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    )
    if "postgresql" in databases and not args.postgres_url:
        raise SystemExit("--databases postgresql needs --postgres-url")

    load_before = os.getloadavg()[0]
    bodies = load_bodies(args.data_dir, 2000, args.seed, args.desk_fields)
    tmp = Path(tempfile.mkdtemp(prefix="moderator-bench-"))
    # It holds the databases, the comment bodies and the baseline's code: gone however the
    # run ends.
    atexit.register(shutil.rmtree, tmp, True)
    bodies_path = tmp / "bodies.jsonl"
    bodies_path.write_bytes(b"\n".join(bodies) + b"\n")

    versions = []
    if args.baseline:
        code, sha = checkout(args.baseline, tmp)
        versions.append((f"baseline {sha[:12]}", code))
    versions.append((f"current {current_ref()}", ROOT))

    runs: list[dict] = []
    for round_ in range(max(1, args.rounds)):
        for database in databases:
            # Alternate which version goes first, so a trend in the machine's load (other
            # work starting or ending) doesn't favour one of them.
            order = versions if round_ % 2 == 0 else versions[::-1]
            for label, code in order:
                drop = None
                if database == "sqlite":
                    url = f"sqlite:///{tmp / f'bench-{len(runs)}.sqlite3'}"
                else:
                    url, drop = fresh_postgres(args.postgres_url)
                try:
                    runs.append(run_once(label, code, url, bodies, bodies_path, args, tmp))
                finally:
                    if drop is not None:
                        drop()

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
        "workers": args.workers,
        "duration_s": max(2, min(args.duration, 60)),
        "connections": args.connections,
        "common_rate": args.common_rate,
        "comments": len(bodies),
        "desk_fields": args.desk_fields,
        "summary": {db: summarise([r for r in runs if r["database"] == db]) for db in databases},
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "http-desk" if args.desk_fields else "http"
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / f"{stem}.md").write_text(render_markdown(result), encoding="utf-8")
    print(json.dumps(result["summary"], indent=2))


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


SUMMARY_ROWS = (
    ("persisted moderations/s, (a) max", "persisted_per_s"),
    ("server CPU ms per moderation, (a)", "server_cpu_ms_per_request"),
    ("p50 ms at half that rate, (b)", "half_rate_p50_ms"),
    ("p99 ms at half that rate, (b)", "half_rate_p99_ms"),
    ("p50 ms at the common rate, (c)", "common_rate_p50_ms"),
    ("p99 ms at the common rate, (c)", "common_rate_p99_ms"),
    ("start to /readyz, s", "ready_s"),
    ("create_app after imports, s", "app_after_imports_s"),
    ("worker RSS MB", "worker_rss_mb"),
    ("worker PSS MB", "worker_pss_mb"),
    ("1-min load average during the runs", "loadavg_1min"),
    ("every 200 stored (rows match)", "rows_match"),
)


def render_markdown(r: dict) -> str:
    sections = []
    for database, summary in r["summary"].items():
        labels = [k for k in summary if k != "ratio"]
        ratio = summary.get("ratio", {})
        head = "| median of runs | " + " | ".join(labels) + (" | ratio |" if ratio else " |")
        rule = "|---" * (len(labels) + 1 + (1 if ratio else 0)) + "|"
        lines = [head, rule]
        for title, key in SUMMARY_ROWS:
            cells = [str(summary[label].get(key)) for label in labels]
            if ratio:
                cells.append(str(ratio.get(key, "")))
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
        runs = [x for x in r["runs"] if x["database"] == database]
        detail = ["| run | version | /s | CPU ms | p50 | p99 (b) | ready s | PSS MB | load |"]
        detail.append("|---|---|---|---|---|---|---|---|---|")
        for i, x in enumerate(runs, 1):
            a, b = x["max_throughput"], x["latency_at_half_rate"]
            pss = "/".join(str(w["pss_mb"]) for w in x["memory_mb"]["workers"])
            detail.append(
                f"| {i} | {x['label']} | {a['persisted_per_s']} | "
                f"{a['server_cpu_ms_per_request']} | {b['p50_ms']} | {b['p99_ms']} | "
                f"{x['ready_s']} | {pss} | {a['loadavg_1min']}/{b['loadavg_1min']} |"
            )
        count = summary[labels[0]]["runs"]
        sections.append(
            f"## {database} ({count} runs per version)\n\n"
            + "\n".join(lines)
            + "\n\nEvery run, in the order they ran:\n\n"
            + "\n".join(detail)
        )
    machine = r["machine"]
    desk = (
        ", each with an author (300 in all) and a story (30, with URL and title)"
        if r.get("desk_fields")
        else ""
    )
    return f"""# HTTP benchmark: persisted moderations

Command: `{r["command"]}`, Python {machine["python"]}, {machine["cpus"]} CPUs shared by the
server ({r["workers"]} gunicorn workers), the load generators and other work on the machine,
on loopback; 1-minute load average {machine["loadavg_1min_before"]} before,
{machine["loadavg_1min_after"]} after. {r["comments"]} real comments (OLID test, HASOC 2019
test), POST /api/v1/moderate, each decided and stored{desk}. Each run starts a fresh server on
a fresh database; a baseline's runs alternate with the current code's, so both meet the same
machine. Figures are medians over runs; the ratio is current / baseline.

(a) wrk, closed loop, {r["connections"]} connections, {r["duration_s"]} s: the maximum rate and
the server's CPU (master, workers and webhook worker, user + system) per stored moderation,
which depends less than the rate on what else runs. (b) an open-loop client at half of that
run's (a) rate for {r["duration_s"]} s, latency from the scheduled send time (no coordinated
omission). (c), with --common-rate, the same client at one rate for every version
({r.get("common_rate")}/s), so their latencies compare at the same load. Start-up: from
launching `moderator serve` (migrations, model load, fork) to the first 200 from /readyz;
`create_app` after imports: a second create_app in a process that already imported
everything, the work a worker needs once its imports are done. Memory from
/proc/PID/smaps_rollup of each gunicorn worker after (a); PSS splits shared pages between
the processes sharing them.

{(chr(10) * 2).join(sections)}
"""


if __name__ == "__main__":
    main()
