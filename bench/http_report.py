"""bench_http.py's summary (medians per database and version) and its markdown report."""

from __future__ import annotations

import statistics


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
