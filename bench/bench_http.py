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
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_load import open_loop  # noqa: E402
from http_load import run_wrk  # noqa: E402
from http_report import render_markdown  # noqa: E402
from http_report import summarise  # noqa: E402
from http_setup import app_timing  # noqa: E402
from http_setup import checkout  # noqa: E402
from http_setup import count_rows  # noqa: E402
from http_setup import create_site_key  # noqa: E402
from http_setup import current_ref  # noqa: E402
from http_setup import fresh_postgres  # noqa: E402
from http_setup import group_cpu_seconds  # noqa: E402
from http_setup import load_bodies  # noqa: E402
from http_setup import loaded_model  # noqa: E402
from http_setup import log  # noqa: E402
from http_setup import run_cli  # noqa: E402
from http_setup import scrape_decisions  # noqa: E402
from http_setup import server_memory  # noqa: E402
from http_setup import wait_ready  # noqa: E402
from processes import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MODERATOR = [sys.executable, "-m", "moderator"]


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


if __name__ == "__main__":
    main()
