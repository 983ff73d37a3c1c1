"""Slow and hostile clients against the shipped serving design, beside a normal load.

    python bench/bench_slow_clients.py [--slow 60] [--duration 20]

Starts bench/cluster.py's topology with one `moderator serve` instance (2 gunicorn gthread
workers x 4 threads) behind nginx (deploy/nginx/moderator.conf), PostgreSQL and Redis, and
measures, each phase `--duration` seconds long:

  normal      wrk posting comments (8 connections) + a /healthz probe every 50 ms
  slow        the same, plus `--slow` connections that send a request line and then one
              header line every 5 s, never finishing (slowloris; no key needed); once
              straight at gunicorn's port and once at nginx's
  hostile     two clients (a site of their own) posting hostile batches in a loop: 1 MB of
              unknown fields in one item, then 100 comments of abusive text filling the
              batch text budget (MODERATOR_MAX_BATCH_BYTES); first with the health probe
              alone, then beside the normal load; the workers' resident memory is sampled
              every 0.25 s

The /healthz probe opens a new connection each time (as a load balancer does) and gives up
after 2 s (counted as a failure). Throughput is wrk's 200s per second. Figures go to
bench/results/slow-clients.{md,json}. Targets (issue 10): with >= 50 slow connections,
/healthz p99 <= 100 ms and throughput within 20% of normal; with two hostile clients,
worker RSS under 2x idle and /healthz p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import Cluster  # noqa: E402
from cluster import log  # noqa: E402
from cluster import rss_kb  # noqa: E402
from cluster import write_results  # noqa: E402
from slow_clients import HealthProbe  # noqa: E402
from slow_clients import HostileClient  # noqa: E402
from slow_clients import RssSampler  # noqa: E402
from slow_clients import SlowLoris  # noqa: E402

from moderator.config import Config  # noqa: E402

LUA = Path(__file__).resolve().parent / "post_comments.lua"

#: Our own sentences, civil and not (no data files needed).
TEXTS = [
    "Thanks for the thoughtful article, I learned a lot about the harbour plans.",
    "I disagree with the author but the argument is fair and well sourced.",
    "You are a pathetic idiot and everyone in this town knows it.",
    "What a stupid take, go back to school you ignorant moron.",
    "The council meeting is on Tuesday at seven in the old library.",
    "Shut up, nobody cares about your worthless opinion, loser.",
]


def write_bodies(path: Path, count: int = 2000) -> None:
    rng = random.Random(7)
    with path.open("w") as out:
        for _ in range(count):
            text = " ".join(rng.sample(TEXTS, 2))
            out.write(json.dumps({"text": text, "store": True}) + "\n")


def run_wrk(url: str, key: str, bodies: Path, seconds: int, connections: int = 8) -> dict:
    env = {**os.environ, "BENCH_BODIES": str(bodies), "BENCH_KEY": key}
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    cmd += ["-s", str(LUA), url + "/api/v1/moderate"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise SystemExit(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    summary = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("{")))
    summary["per_s"] = round(summary["ok"] / (summary["duration_us"] / 1e6), 1)
    return summary


def phase(name: str, cluster: Cluster, url_port: int, key: str, bodies: Path, seconds: int):
    """Run wrk against `url_port` with a health probe; returns their figures."""
    probe = HealthProbe(url_port)
    probe.start()
    load = run_wrk(f"http://127.0.0.1:{url_port}", key, bodies, seconds)
    probe.stop.set()
    probe.join()
    result = {"phase": name, "throughput_per_s": load["per_s"], "wrk": load, **probe.summary()}
    log(
        f"{name}: {result['throughput_per_s']}/s, healthz p50 {result['p50_ms']} p99 "
        f"{result['p99_ms']} ms, {result['failures']} failed of {result['probes']}"
    )
    return result


def run(args) -> dict:
    bodies = Path(tempfile.mkstemp(suffix=".jsonl")[1])
    write_bodies(bodies)
    results: dict = {
        "load_average_before": os.getloadavg()[0],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "slow_connections": args.slow,
        "seconds_per_phase": args.duration,
        "rounds": args.rounds,
    }
    with Cluster(instances=1, workers=2, threads=4, rate_limit="1000000/minute") as cluster:
        key = cluster.create_site("bench-normal")
        hostile_key = cluster.create_site("bench-hostile")
        gunicorn, nginx = cluster.app_ports[0], cluster.proxy_port
        run_wrk(f"http://127.0.0.1:{nginx}", key, bodies, 3)  # warm-up
        phases = []

        def attacked(port: int, label: str) -> dict:
            loris = SlowLoris(port, args.slow)
            loris.start()
            time.sleep(2)
            result = phase(label, cluster, port, key, bodies, args.duration)
            result["slow_opened"] = loris.opened
            result["slow_closed_by_server"] = loris.closed_by_server
            loris.stop.set()
            loris.join()
            time.sleep(2)
            return result

        # Normal and attacked rounds alternate, so drift in the machine's other load (it is
        # shared) falls on both alike; the medians are compared.
        rounds = {"normal": [], "slow": []}
        for i in range(args.rounds):
            rounds["normal"].append(
                phase(
                    f"normal, through nginx (round {i + 1})",
                    cluster,
                    nginx,
                    key,
                    bodies,
                    args.duration,
                )
            )
            rounds["slow"].append(
                attacked(nginx, f"{args.slow} slow connections, through nginx (round {i + 1})")
            )
        phases += rounds["normal"] + rounds["slow"]
        results["median"] = {
            name: {
                figure: statistics.median(r[figure] for r in runs)
                for figure in ("throughput_per_s", "p50_ms", "p99_ms")
            }
            for name, runs in rounds.items()
        }
        results["median"]["slow"]["failures"] = sum(r["failures"] for r in rounds["slow"])
        phases.append(
            phase("normal, straight to gunicorn", cluster, gunicorn, key, bodies, args.duration)
        )
        phases.append(attacked(gunicorn, f"{args.slow} slow connections, straight to gunicorn"))
        workers = cluster.worker_pids(0)
        idle = {pid: rss_kb(pid) for pid in workers}
        sampler = RssSampler(workers)
        sampler.start()
        budget = Config.from_env().max_batch_bytes
        hostile = [HostileClient(nginx, hostile_key, budget) for _ in range(2)]
        for h in hostile:
            h.start()
        time.sleep(2)
        # The target's setting: two hostile clients and the health checks, nothing else.
        alone = HealthProbe(nginx)
        alone.start()
        time.sleep(args.duration)
        alone.stop.set()
        alone.join()
        result = {"phase": "two hostile batch clients alone, through nginx"}
        result.update(throughput_per_s="-", **alone.summary())
        log(f"{result['phase']}: healthz p50 {result['p50_ms']} p99 {result['p99_ms']} ms")
        phases.append(result)
        # And what they cost every other site: the normal load beside them.
        beside = phase(
            "two hostile batch clients + normal load, through nginx",
            cluster,
            nginx,
            key,
            bodies,
            args.duration,
        )
        phases.append(beside)
        for h in hostile:
            h.stop.set()
        for h in hostile:
            h.join(timeout=60)
        sampler.stop.set()
        sampler.join()
        result["hostile_statuses"] = [h.statuses for h in hostile]
        result["worker_rss_idle_mb"] = {str(p): round(v / 1024, 1) for p, v in idle.items()}
        result["worker_rss_peak_mb"] = {str(p): round(v / 1024, 1) for p, v in sampler.peak.items()}
        result["worker_rss_ratio_max"] = round(
            max(sampler.peak[p] / idle[p] for p in workers if idle[p]), 2
        )
    bodies.unlink()
    results["load_average_after"] = os.getloadavg()[0]
    results["phases"] = phases
    base = results["median"]["normal"]["throughput_per_s"]
    slow = results["median"]["slow"]
    hostile_phase = phases[-2]
    results["targets"] = {
        "slow: /healthz p99 <= 100 ms (through nginx)": slow["p99_ms"] <= 100
        and not slow["failures"],
        "slow: throughput within 20% of normal (through nginx)": slow["throughput_per_s"]
        >= 0.8 * base,
        "hostile: worker RSS < 2x idle": hostile_phase["worker_rss_ratio_max"] < 2,
        "hostile: /healthz p99 <= 100 ms": hostile_phase["p99_ms"] <= 100
        and not hostile_phase["failures"],
    }
    return results


def markdown(r: dict) -> str:
    rows = []
    for p in r["phases"]:
        rows.append(
            f"| {p['phase']} | {p['throughput_per_s']} | {p['p50_ms']} | {p['p99_ms']} | "
            f"{p['max_ms']} | {p['failures']} of {p['probes']} |"
        )
    hostile = r["phases"][-2]
    med = r["median"]
    lines = [
        "# Slow and hostile clients",
        "",
        f"Command: `python bench/bench_slow_clients.py --slow {r['slow_connections']} "
        f"--duration {r['seconds_per_phase']} --rounds {r['rounds']}`, Python {r['python']},",
        f"{r['cpus']} CPUs shared by nginx, one `moderator serve` instance (2 gunicorn gthread",
        "workers x 4 threads), PostgreSQL, Redis, wrk (8 connections posting comments, closed",
        "loop: the CPUs are saturated) and the attackers, on loopback, and by other work on this",
        f"machine (1-minute load average {r['load_average_before']:.1f} before,"
        f" {r['load_average_after']:.1f} after).",
        f"Each phase {r['seconds_per_phase']} s; /healthz probed every 50 ms on a new connection",
        "(2 s timeout = failure).",
        "",
        "Medians of the alternating rounds through nginx:",
        "",
        "| | comments/s | /healthz p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        f"| normal | {med['normal']['throughput_per_s']} | {med['normal']['p50_ms']} | "
        f"{med['normal']['p99_ms']} |",
        f"| {r['slow_connections']} slow connections | {med['slow']['throughput_per_s']} | "
        f"{med['slow']['p50_ms']} | {med['slow']['p99_ms']} |",
        "",
        "Every phase:",
        "",
        "| phase | comments/s (wrk 200s) | /healthz p50 ms | p99 ms | max ms | probes failed |",
        "|---|---:|---:|---:|---:|---|",
        *rows,
        "",
        f"Hostile batches: worker RSS idle {hostile['worker_rss_idle_mb']} MB, peak "
        f"{hostile['worker_rss_peak_mb']} MB (max ratio {hostile['worker_rss_ratio_max']}); "
        f"their statuses {hostile['hostile_statuses']}.",
        "",
        "| target | met |",
        "|---|---|",
        *[f"| {k} | {'yes' if v else 'NO'} |" for k, v in r["targets"].items()],
        "",
        "Straight to gunicorn, slow connections hold its worker threads (each thread reads",
        "one request's headers until they end); through nginx they never reach it: nginx reads",
        "requests on its event loop, with a 10 s header timeout, and passes on only whole ones.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=60, help="Slow connections (>= 50).")
    parser.add_argument("--duration", type=int, default=20, help="Seconds per phase.")
    parser.add_argument(
        "--rounds", type=int, default=3, help="Alternating normal / slow-client rounds."
    )
    args = parser.parse_args()
    result = run(args)
    write_results("slow-clients", result, markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
