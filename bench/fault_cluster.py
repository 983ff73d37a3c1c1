"""Fault run of the shipped multi-instance topology: nothing acknowledged is lost or doubled.

    python bench/fault_cluster.py            # the full run (about 2 minutes)
    python bench/fault_cluster.py --short    # the CI version (about 1 minute)

Starts bench/cluster.py's topology natively (nginx in front of 2 `moderator serve`
instances on loopback ports, one PostgreSQL, one Redis for the shared rate limit; all
private to this run) and drives load through nginx from CLIENTS threads, each a site of its
own posting comments with unique ids and retrying a comment (same id) after a 503 or 429
(waiting its Retry-After) until it is acknowledged with 200. Meanwhile, on a timeline:

  1. kill -9 one instance (master and workers), start it again later;
  2. restart PostgreSQL (fast shutdown: every connection cut);
  3. restart Redis;
  4. freeze PostgreSQL (SIGSTOP postmaster and backends), thaw it later;
  5. a rate-limit probe: a fresh key fires PROBE requests at both instances as fast as it
     can; at most MODERATOR_RATE_LIMIT of them may be accepted (one budget, shared).

A probe thread reads /healthz through nginx every 200 ms throughout. At the end the
database is read directly: every acknowledged comment must be stored exactly once with the
decision it was acknowledged with. Figures go to bench/results/fault-cluster[-short].{md,json};
the exit status is 1 when any check fails, so CI can run it (`.ci/run` runs --short).
"""

from __future__ import annotations

import argparse
import platform
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import Cluster  # noqa: E402
from cluster import log  # noqa: E402
from cluster import percentile  # noqa: E402
from cluster import write_results  # noqa: E402
from fault_clients import CLIENT_RATE  # noqa: E402
from fault_clients import GIVE_UP_AFTER  # noqa: E402
from fault_clients import Recorder  # noqa: E402
from fault_clients import health_probe  # noqa: E402
from fault_clients import load_client  # noqa: E402
from fault_clients import rate_limit_probe  # noqa: E402

#: Per key; load clients stay under it, the probe goes over it.
RATE_LIMIT = "600/minute"
RATE_LIMIT_PER_WINDOW = 600
PROBE = 900

#: (label, seconds into the run) for the full and the short run.
TIMELINES = {
    "full": {
        "kill_instance": 12,
        "restart_instance": 22,
        "restart_postgres": 40,
        "restart_redis": 55,
        "freeze_postgres": 68,
        "thaw_postgres": 83,
        "probe": 95,
        "stop": 115,
    },
    "short": {
        "kill_instance": 6,
        "restart_instance": 12,
        "restart_postgres": 20,
        "restart_redis": 28,
        "freeze_postgres": 34,
        "thaw_postgres": 42,
        "probe": 46,
        "stop": 56,
    },
}


def verify(cluster: Cluster, sites: list[str], rec: Recorder) -> dict:
    """Read the database: every acknowledged comment stored once, with its decision."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    engine = create_engine(cluster.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.name, c.external_id, c.decision FROM comments c"
                " JOIN sites s ON s.id = c.site_id WHERE s.name = ANY(:names)"
            ),
            {"names": sites},
        ).all()
    engine.dispose()
    stored: Counter = Counter((r.name, r.external_id) for r in rows)
    decisions = {(r.name, r.external_id): r.decision for r in rows}
    lost = [k for k in rec.acked if k not in stored]
    duplicates = [k for k, n in stored.items() if n > 1]
    mismatched = [k for k, d in rec.acked.items() if k in decisions and decisions[k] != d]
    unacked = [k for k in stored if k not in rec.acked]
    return {
        "acknowledged": len(rec.acked),
        "stored": len(rows),
        "lost": len(lost),
        "duplicates": len(duplicates),
        "decision_mismatches": len(mismatched),
        "stored_not_acknowledged": len(unacked),
        "gave_up": len(rec.gave_up),
        "lost_examples": [list(k) for k in lost[:5]],
    }


def run(args) -> dict:
    timeline = TIMELINES["short" if args.short else "full"]
    with Cluster(instances=2, workers=2, threads=4, rate_limit=RATE_LIMIT) as cluster:
        sites = [f"fault-site-{i}" for i in range(args.clients)]
        keys = {name: cluster.create_site(name) for name in sites}
        probe_key = cluster.create_site("fault-probe")
        rec = Recorder()
        stop = threading.Event()
        started = time.monotonic()
        threads = [
            threading.Thread(
                target=load_client,
                args=(name, keys[name], cluster.proxy_port, started, stop, rec),
                daemon=True,
            )
            for name in sites
        ]
        threads.append(
            threading.Thread(
                target=health_probe, args=(cluster.proxy_port, started, stop, rec), daemon=True
            )
        )
        for t in threads:
            t.start()
        events: dict[str, float] = {}
        probe: Counter = Counter()

        def at(label: str) -> None:
            wait = timeline[label] - (time.monotonic() - started)
            if wait > 0:
                time.sleep(wait)
            events[label] = round(time.monotonic() - started, 1)
            log(f"t={events[label]:5.1f}s {label}")

        at("kill_instance")
        cluster.kill_instance(0)
        at("restart_instance")
        cluster.start_instance(0)
        at("restart_postgres")
        cluster.restart_postgres()
        events["postgres_back"] = round(time.monotonic() - started, 1)
        cluster.wait_instance(0)  # the killed instance is back too
        events["instance_back"] = round(time.monotonic() - started, 1)
        at("restart_redis")
        cluster.restart_redis()
        at("freeze_postgres")
        cluster.freeze_postgres()
        at("thaw_postgres")
        cluster.thaw_postgres()
        at("probe")
        probe = rate_limit_probe(cluster.proxy_port, probe_key, PROBE)
        events["probe_done"] = round(time.monotonic() - started, 1)
        at("stop")
        stop.set()
        for t in threads:
            t.join(timeout=GIVE_UP_AFTER + 30)
        elapsed = time.monotonic() - started
        log("load stopped; checking the database")
        checks = verify(cluster, sites, rec)

    failures = {
        f"{kind}{' +Retry-After' if ra else ''}": n
        for (kind, ra), n in sorted(rec.attempts.items())
        if kind != "200"
    }
    bad_failures = {
        kind: n
        for (kind, retry_after), n in rec.attempts.items()
        if kind != "200" and not (kind in ("429", "503") and retry_after)
    }
    freeze_window = (events["freeze_postgres"], events["thaw_postgres"] + 1)
    freeze_attempts = [s for s in rec.slow_attempts if freeze_window[0] <= s[0] <= freeze_window[1]]
    health_ms = [ms for _, status, ms in rec.health if status == 200]
    health_bad = Counter(status for _, status, _ in rec.health if status != 200)
    accepted = probe.get(200, 0)
    result = {
        "run": "short" if args.short else "full",
        "python": platform.python_version(),
        "cpus": __import__("os").cpu_count(),
        "clients": args.clients,
        "client_rate_per_s": CLIENT_RATE,
        "rate_limit": RATE_LIMIT,
        "seconds": round(elapsed, 1),
        "events_s": events,
        **checks,
        "attempts": sum(rec.attempts.values()),
        "failures": failures,
        "failures_without_retry_after_or_not_503_429": bad_failures,
        "unexpected_responses": rec.unexpected[:10],
        "attempt_ms_p50": round(percentile(rec.attempt_ms, 50), 1),
        "attempt_ms_p99": round(percentile(rec.attempt_ms, 99), 1),
        "attempt_ms_max": round(max(rec.attempt_ms), 1),
        "attempts_over_5s": rec.slow_attempts[:20],
        "attempts_over_5s_in_freeze": len(freeze_attempts),
        "ack_ms_p50": round(percentile(rec.ack_ms, 50), 1),
        "ack_ms_p99": round(percentile(rec.ack_ms, 99), 1),
        "acknowledged_per_s": round(checks["acknowledged"] / elapsed, 1),
        "healthz_probes": len(rec.health),
        "healthz_ms_p50": round(percentile(health_ms, 50) or 0, 1),
        "healthz_ms_p99": round(percentile(health_ms, 99) or 0, 1),
        "healthz_failures": dict(health_bad),
        "probe_sent": PROBE,
        "probe_statuses": {str(k): v for k, v in probe.items()},
        "probe_accepted": accepted,
        "probe_limit": RATE_LIMIT_PER_WINDOW,
    }
    result["checks"] = {
        "nothing lost": checks["lost"] == 0,
        "no duplicates": checks["duplicates"] == 0,
        "decisions as acknowledged": checks["decision_mismatches"] == 0,
        "no comment given up": checks["gave_up"] == 0,
        "only 503/429 with Retry-After": not bad_failures and not rec.unexpected,
        "every attempt answered within 5 s": not rec.slow_attempts,
        "shared rate limit held": accepted <= RATE_LIMIT_PER_WINDOW
        and probe.get(429, 0) >= PROBE - RATE_LIMIT_PER_WINDOW,
        "healthz never failed": not health_bad,
    }
    result["passed"] = all(result["checks"].values())
    return result


def markdown(r: dict) -> str:
    command = "python bench/fault_cluster.py" + (" --short" if r["run"] == "short" else "")
    failures = ", ".join(f"{k}: {v}" for k, v in r["failures"].items()) or "none"
    figures = [
        ("acknowledged (200)", f"{r['acknowledged']:,} ({r['acknowledged_per_s']}/s)"),
        ("stored rows for the load's sites", f"{r['stored']:,}"),
        ("lost (acknowledged, not stored)", r["lost"]),
        ("duplicates (one id stored twice)", r["duplicates"]),
        ("stored with another decision than acknowledged", r["decision_mismatches"]),
        ("stored, never acknowledged", r["stored_not_acknowledged"]),
        ("attempts (incl. retries)", f"{r['attempts']:,}"),
        ("failed attempts, by kind", failures),
        (
            "attempt latency p50 / p99 / max",
            f"{r['attempt_ms_p50']} / {r['attempt_ms_p99']} / {r['attempt_ms_max']} ms",
        ),
        ("time to acknowledgement p50 / p99", f"{r['ack_ms_p50']} / {r['ack_ms_p99']} ms"),
        (
            "attempts over 5 s (of them during the freeze)",
            f"{len(r['attempts_over_5s'])} ({r['attempts_over_5s_in_freeze']})",
        ),
        (
            "/healthz through nginx: probes, p50 / p99, failures",
            f"{r['healthz_probes']}, {r['healthz_ms_p50']} / {r['healthz_ms_p99']} ms, "
            f"{r['healthz_failures'] or 'none'}",
        ),
        (
            "rate-limit probe: sent, accepted (limit), statuses",
            f"{r['probe_sent']}, {r['probe_accepted']} ({r['probe_limit']}), {r['probe_statuses']}",
        ),
    ]
    lines = [
        f"# Multi-instance fault run ({r['run']})",
        "",
        f"Command: `{command}`, Python {r['python']}, {r['cpus']} CPUs shared by everything:",
        "nginx, 2 `moderator serve` instances (2 gunicorn gthread workers x 4 threads each),",
        f"PostgreSQL 15, Redis and the load ({r['clients']} clients, each its own site, at most",
        f"{r['client_rate_per_s']:g} comments/s each, retrying a comment with the same id after",
        "503/429 until acknowledged). Rate limit "
        + f"{r['rate_limit']} per key, shared through Redis.",
        "",
        "Timeline (seconds): "
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r["events_s"].items())
        + ".",
        "",
        "| check | result |",
        "|---|---|",
        *[f"| {k} | {'pass' if v else 'FAIL'} |" for k, v in r["checks"].items()],
        "",
        "| figure | value |",
        "|---|---|",
        *[f"| {label} | {value} |" for label, value in figures],
        "",
        "A failed attempt is retried by the client with the same id, so it costs time, never",
        "a comment. 503s come from the app (database frozen, restarting or unreachable:",
        "Retry-After 5) or from nginx when an instance died mid-request (Retry-After 1); the",
        "comment may then have been stored, and the retry returns the stored decision.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="The CI version (about a minute).")
    parser.add_argument("--clients", type=int, default=12, help="Load clients (sites).")
    args = parser.parse_args()
    result = run(args)
    name = "fault-cluster-short" if args.short else "fault-cluster"
    write_results(name, result, markdown(result))
    print(markdown(result))
    if not result["passed"]:
        failed = [k for k, v in result["checks"].items() if not v]
        log(f"FAILED: {', '.join(failed)}")
        sys.exit(1)
    log("all checks passed")


if __name__ == "__main__":
    main()
