"""Speed of the full decision path against alt-profanity-check and better-profanity, one run.

    python bench/bench_speed.py --data-dir ../shared/data [--model models/default]

Measures, pinned to one core with one BLAS thread:
  * batch throughput: Moderation.decide_batch (what `moderator score` runs) in batches of 1,000,
    and the `moderator score` command end to end on a CSV (process start and model load included);
  * single-comment latency of the full decision (normalise, word rules, classifier, policy),
    p50 and p99 over real comments, against one alt-profanity-check call and one
    better-profanity contains_profanity call on the same comments.
With `--baseline REF` (a git commit, e.g. the main before a change), the full decision is also
measured for that commit's code and its own models/default, in child processes pinned to the
same core and alternated with the current tree's, so the two are compared in the same run.
Writes bench/results/speed.json and speed.md. Figures, not assertions: the machine is noisy,
so quote medians of repeated runs and ratios measured here.
"""

from __future__ import annotations

import os

# One core, one BLAS thread, before numpy is imported anywhere.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from baseline import export  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_texts(data_dir: Path, limit: int, seed: int) -> list[str]:
    """Real comments from the public test splits (OLID test, HASOC test, GHC test)."""
    texts: list[str] = []
    sources = [
        (data_dir / "olid" / "olid_test.csv", ",", "tweet"),
        (data_dir / "hasoc2019" / "hasoc2019_en_test-2919.tsv", "\t", "text"),
        (data_dir / "gab_hate_corpus" / "ghc_test.tsv", "\t", "text"),
        (data_dir / "davidson" / "labeled_data.csv", ",", "tweet"),
    ]
    for path, delimiter, column in sources:
        if not path.exists():
            raise SystemExit(f"missing {path}: pass --data-dir")
        with path.open(encoding="utf-8", newline="") as f:
            texts.extend(row[column] for row in csv.DictReader(f, delimiter=delimiter))
    random.Random(seed).shuffle(texts)
    return texts[:limit]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def time_each(fn, texts: list[str]) -> list[float]:
    """Seconds per call of fn(text), one call at a time."""
    out = []
    clock = time.perf_counter
    for text in texts:
        t0 = clock()
        fn(text)
        out.append(clock() - t0)
    return out


def throughput(fn, texts: list[str], batch: int, repeats: int) -> list[float]:
    """Comments per second of fn(list_of_texts) over all texts, once per repeat."""
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(0, len(texts), batch):
            fn(texts[i : i + batch])
        rates.append(len(texts) / (time.perf_counter() - t0))
    return rates


def cli_throughput(texts: list[str], model: Path, repeats: int) -> list[float]:
    """Comments per second of `moderator score` on a CSV, process start and model load included."""
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        with src.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text"])
            writer.writerows([t] for t in texts)
        command = [sys.executable, "-m", "moderator", "score", str(src), "--model", str(model)]
        command += ["--output", str(Path(tmp) / "out.jsonl")]
        if hasattr(os, "sched_setaffinity"):
            command = ["taskset", "-c", "0", *command]
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            rates.append(len(texts) / (time.perf_counter() - t0))
    return rates


# Measures one tree's full decision path in a child process: the tree's own package and model.
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
tree, texts_path, model, latency_texts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, tree)
from moderator.classifier import Classifier
from moderator.service import Moderation
t1 = time.perf_counter()
classifier = Classifier.load(model)
t2 = time.perf_counter()
moderation = Moderation(classifier)
moderation.decide("thanks, you idiot")
t3 = time.perf_counter()
texts = json.load(open(texts_path, encoding="utf-8"))
moderation.decide_batch(texts[:1000])
started, cpu = time.perf_counter(), time.process_time()
for i in range(0, len(texts), 1000):
    moderation.decide_batch(texts[i : i + 1000])
rate = len(texts) / (time.perf_counter() - started)
cpu_rate = len(texts) / (time.process_time() - cpu)
latency, cpu_latency = [], []
for text in texts[:latency_texts]:
    t0_, c0 = time.perf_counter(), time.process_time()
    moderation.decide(text)
    latency.append(time.perf_counter() - t0_)
    cpu_latency.append(time.process_time() - c0)
print(json.dumps(dict(rate=rate, cpu_rate=cpu_rate, latency=latency, cpu_latency=cpu_latency,
                      imports=t1 - t0, load=t2 - t1, first=t3 - t2)))
"""


def compare_with(ref: str, texts: list[str], latency_texts: int, repeats: int) -> dict:
    """decide_batch throughput and decide latency of this tree and of commit `ref`, alternated."""
    with tempfile.TemporaryDirectory() as tmp:
        baseline = Path(tmp) / "baseline"
        baseline.mkdir()
        export(ref, baseline)
        texts_path = Path(tmp) / "texts.json"
        texts_path.write_text(json.dumps(texts), encoding="utf-8")
        trees = {"current": ROOT, "baseline": baseline}
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for round_ in range(repeats):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for name in order:
                tree = trees[name]
                command = [sys.executable, "-c", _CHILD, str(tree), str(texts_path)]
                command += [str(tree / "models" / "default"), str(latency_texts)]
                if hasattr(os, "sched_setaffinity"):
                    command = ["taskset", "-c", "0", *command]
                out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                runs[name].append(json.loads(out.strip().splitlines()[-1]))
                log(f"{name} round {round_ + 1}: {runs[name][-1]['rate']:,.0f} comments/s")
    result = {"ref": ref}
    for name, measured in runs.items():
        latency = [x for run in measured for x in run["latency"]]
        cpu_latency = [x for run in measured for x in run["cpu_latency"]]
        result[name] = {
            "decide_batch_per_s": statistics.median(run["rate"] for run in measured),
            "decide_batch_per_cpu_s": statistics.median(run["cpu_rate"] for run in measured),
            "decide_p50_ms": percentile(latency, 50) * 1e3,
            "decide_p99_ms": percentile(latency, 99) * 1e3,
            "decide_cpu_p50_ms": percentile(cpu_latency, 50) * 1e3,
            "imports_s": statistics.median(run["imports"] for run in measured),
            "model_load_s": statistics.median(run["load"] for run in measured),
            "load_to_first_decision_s": statistics.median(
                run["load"] + run["first"] for run in measured
            ),
        }
    # On a shared machine wall time includes waiting for the core; CPU time does not.
    result["throughput_ratio"] = (
        result["current"]["decide_batch_per_cpu_s"] / result["baseline"]["decide_batch_per_cpu_s"]
    )
    result["wall_throughput_ratio"] = (
        result["current"]["decide_batch_per_s"] / result["baseline"]["decide_batch_per_s"]
    )
    return result


def speed_parts_markdown(result: dict, comparison: dict | None) -> list[str]:
    """The per-stage, start-up and long-text tables of speed.md."""
    st = result["stages"]
    lines = [
        "",
        f"Where a batch decision's CPU time goes ({st['decide_batch_us_per_comment']:.0f} µs per "
        "comment in batches of 1,000; serialisation is `moderator score`'s JSON line):",
        "",
        "| stage | µs per comment | share |",
        "|---|---:|---:|",
    ]
    total = st["decide_batch_us_per_comment"]
    for stage, us in sorted(st["stages_us_per_comment"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {stage} | {us:.1f} | {us / total:.0%} |")
    serialise = st["serialise_us_per_comment"]
    lines.append(f"| serialisation (to_dict + json.dumps) | {serialise:.1f} | |")
    fx = result["cli_fixed_cost"]
    lines += [
        "",
        f"`moderator score`: one row {fx['one_row_s']:.2f} s (process start, imports, model load), "
        f"{fx['rows']:,} rows {fx['all_rows_s']:.2f} s: the fixed cost is "
        f"{fx['fixed_share']:.0%} of the run.",
    ]
    if comparison is not None:
        c, base = comparison["current"], comparison["baseline"]
        lines += [
            "",
            "Start-up, medians of the child processes above (wall seconds):",
            "",
            "| | imports | model load | load to first decision |",
            "|---|---:|---:|---:|",
            f"| this tree | {c['imports_s']:.2f} | {c['model_load_s']:.2f} | "
            f"{c['load_to_first_decision_s']:.2f} |",
            f"| `{comparison['ref']}` | {base['imports_s']:.2f} | {base['model_load_s']:.2f} | "
            f"{base['load_to_first_decision_s']:.2f} |",
        ]
    lines += [
        "",
        "Long and hostile comments, CPU ms of one decision (median of 3 fresh texts):",
        "",
        "| text | 2 KB | 20 KB | 20 KB per KB |",
        "|---|---:|---:|---:|",
    ]
    for name, row in result["long_texts_cpu"].items():
        lines.append(
            f"| {name} | {row['2000']['ms']:.1f} | {row['20000']['ms']:.1f} | "
            f"{row['20000']['ms_per_kb']:.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--texts", type=int, default=20_000, help="comments for throughput")
    parser.add_argument("--latency-texts", type=int, default=2_000, help="comments for latency")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure the full decision of this git commit, alternated in the same run",
    )
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})

    import speed_parts
    from better_profanity import profanity
    from profanity_check import predict_prob

    from moderator.classifier import Classifier
    from moderator.service import Moderation

    texts = load_texts(args.data_dir, args.texts, args.seed)
    few = texts[: args.latency_texts]
    log(f"{len(texts):,} comments for throughput, {len(few):,} for latency")

    moderation = Moderation(Classifier.load(args.model))
    profanity.load_censor_words()
    moderation.decide_batch(texts[:1000])  # warm caches on both sides
    predict_prob(texts[:1000])

    log("batch throughput: moderator decide_batch")
    ours_batch = throughput(moderation.decide_batch, texts, 1000, args.repeats)
    decisions = moderation.decide_batch(texts)
    flagged = sum(d.action != "allow" for d in decisions)
    clean = [t for t, d in zip(texts, decisions, strict=True) if d.action == "allow"]
    log(f"batch throughput: moderator decide_batch on the {len(clean):,} allowed comments")
    ours_clean = throughput(moderation.decide_batch, clean, 1000, args.repeats)
    log("batch throughput: alt-profanity-check predict_prob")
    apc_batch = throughput(predict_prob, texts, 1000, args.repeats)
    log("batch throughput: moderator score CLI (end to end)")
    cli_rates = cli_throughput(texts, args.model, max(1, args.repeats // 2))

    log("single-comment latency: moderator decide")
    ours_one = time_each(moderation.decide, few)
    log("single-comment latency: alt-profanity-check")
    apc_one = time_each(lambda t: predict_prob([t]), few)
    log("single-comment latency: better-profanity contains_profanity")
    bp_one = time_each(profanity.contains_profanity, few[:500])

    log("per-stage CPU time of decide_batch")
    stages = speed_parts.stage_times(moderation, texts)
    log("moderator score's fixed cost (one row) against all rows")
    fixed = speed_parts.cli_fixed_cost(args.model, texts, max(3, args.repeats))
    log("long and hostile texts, 2 KB and 20 KB")
    long = speed_parts.long_texts(moderation)

    comparison = None
    if args.baseline:
        log(f"full decision: this tree against {args.baseline}, alternated")
        comparison = compare_with(args.baseline, texts, len(few), args.repeats)

    def summary(values: list[float]) -> dict:
        return {"p50_ms": percentile(values, 50) * 1e3, "p99_ms": percentile(values, 99) * 1e3}

    result = {
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(), "cores": 1},
        "model": moderation.model_label,
        "texts": len(texts),
        "flagged_share": flagged / len(texts),
        "batch_comments_per_s": {
            "moderator_decide_batch": statistics.median(ours_batch),
            "moderator_decide_batch_allowed_only": statistics.median(ours_clean),
            "moderator_score_cli": statistics.median(cli_rates),
            "alt_profanity_check": statistics.median(apc_batch),
        },
        "latency": {
            "moderator_decide": summary(ours_one),
            "alt_profanity_check": summary(apc_one),
            "better_profanity": summary(bp_one),
        },
    }
    result["ratios"] = {
        "batch_vs_alt_profanity_check": result["batch_comments_per_s"]["moderator_decide_batch"]
        / result["batch_comments_per_s"]["alt_profanity_check"],
        "p50_latency_alt_profanity_check_over_moderator": result["latency"]["alt_profanity_check"][
            "p50_ms"
        ]
        / result["latency"]["moderator_decide"]["p50_ms"],
    }
    result["stages"] = stages
    result["cli_fixed_cost"] = fixed
    result["long_texts_cpu"] = long
    if comparison is not None:
        result["baseline"] = comparison
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.json").write_text(json.dumps(result, indent=2) + "\n")
    b, lat = result["batch_comments_per_s"], result["latency"]
    speedup = result["ratios"]["p50_latency_alt_profanity_check_over_moderator"]
    lines = [
        f"Speed, one core (`python bench/bench_speed.py`), model `{result['model']}`,",
        f"{len(texts):,} real comments from the public test splits, "
        f"medians of {args.repeats} runs;",
        f"{result['flagged_share']:.0%} of them are held or rejected, and each of those gets its",
        "reasons explained (words and spans), which costs most of the time.",
        "",
        "| | batch comments/s | single comment p50 | p99 |",
        "|---|---:|---:|---:|",
        f"| Moderator, full decision | {b['moderator_decide_batch']:,.0f} | "
        f"{lat['moderator_decide']['p50_ms']:.3f} ms | "
        f"{lat['moderator_decide']['p99_ms']:.3f} ms |",
        f"| Moderator, full decision, allowed comments only ({len(clean):,}) | "
        f"{b['moderator_decide_batch_allowed_only']:,.0f} | | |",
        f"| `moderator score` CLI, end to end | {b['moderator_score_cli']:,.0f} | | |",
        f"| alt-profanity-check | {b['alt_profanity_check']:,.0f} | "
        f"{lat['alt_profanity_check']['p50_ms']:.3f} ms | "
        f"{lat['alt_profanity_check']['p99_ms']:.3f} ms |",
        f"| better-profanity `contains_profanity` | | {lat['better_profanity']['p50_ms']:.3f} ms"
        f" | {lat['better_profanity']['p99_ms']:.3f} ms |",
        "",
        f"Batch: {result['ratios']['batch_vs_alt_profanity_check']:.2f}x alt-profanity-check; "
        f"single-comment p50: {speedup:.1f}x"
        " faster than one alt-profanity-check call.",
    ]
    if comparison is not None:
        c, base = comparison["current"], comparison["baseline"]
        lines += [
            "",
            f"Against commit `{comparison['ref']}` (its code and its models/default), measured "
            f"alternately in child processes in this run ({args.repeats} rounds each):",
            "",
            "| | decide_batch comments per CPU-second | per wall second | decide p50 (CPU) "
            "| p50 (wall) | p99 (wall) |",
            "|---|---:|---:|---:|---:|---:|",
            f"| this tree | {c['decide_batch_per_cpu_s']:,.0f} | {c['decide_batch_per_s']:,.0f} | "
            f"{c['decide_cpu_p50_ms']:.3f} ms | {c['decide_p50_ms']:.3f} ms | "
            f"{c['decide_p99_ms']:.3f} ms |",
            f"| `{comparison['ref']}` | {base['decide_batch_per_cpu_s']:,.0f} | "
            f"{base['decide_batch_per_s']:,.0f} | {base['decide_cpu_p50_ms']:.3f} ms | "
            f"{base['decide_p50_ms']:.3f} ms | {base['decide_p99_ms']:.3f} ms |",
            "",
            f"Throughput, this tree over the baseline: {comparison['throughput_ratio']:.2f}x "
            f"per CPU-second ({comparison['wall_throughput_ratio']:.2f}x by the wall clock, "
            "which counts waiting for the core on this shared machine).",
        ]
    lines += speed_parts_markdown(result, comparison)
    (args.out / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
