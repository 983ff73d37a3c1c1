"""Per-language decision speed and memory: English (the baseline) beside German, Portuguese
and Turkish, each measured in its own fresh process on its own official test texts.

For each language the child process loads the English model (as every worker does), then
measures the resident memory added by loading that language's model (models/<lang>, loaded
lazily by moderator.routing), then decides the texts one at a time through the full routed
path (language identification + the language's model + policy) and again in batches of 512.

    python bench/bench_language_models.py [--n 1000] [--repeat 3] [--baseline REF --rounds 3]

Writes bench/results/language-models.{json,md}. Latencies are medians of per-comment CPU
time (thread CPU, so other work on the shared cores doesn't count) and of wall time.
With `--baseline REF` (a git commit), each language is also measured with that commit's code
and models, in child processes alternated with this tree's for `--rounds` rounds; the table
then gives each tree's median of the rounds' p50s and their ratio, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from baseline import export
from harness import RESULTS
from harness import ROOT
from harness import default_data_dir
from harness import log

LANGUAGES = ("en", "de", "pt", "tr")


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _texts(data_dir: Path, language: str, n: int) -> list[str]:
    from training.datasets import TEST
    from training.datasets import load_language

    if language == "en":
        from training.datasets.sources import load_olid

        examples = load_olid(data_dir)
    else:
        examples = load_language(data_dir, language)
    return [e.text for e in examples if e.split == TEST][:n]


def child(language: str, data_dir: Path, n: int, repeat: int) -> dict:
    """Measure one language in this process; returns the figures."""
    import gc

    from moderator import language as lid
    from moderator.classifier import Classifier
    from moderator.routing import LanguageModels
    from moderator.service import Moderation

    texts = _texts(data_dir, language, n)
    gc.collect()
    base = _rss_kb()
    others = LanguageModels.from_folder(ROOT / "models", ROOT / "models" / "default")
    main = Moderation(
        Classifier.load(ROOT / "models" / "default"),
        identifier=lid.shared_identifier(),
        others=others,
    )
    main.decide_with_language(["warm up the English path"])
    gc.collect()
    english = _rss_kb()
    started = time.perf_counter()
    if language != "en":
        engine = others.engine(language)
        assert engine is not None, f"no {language} model"
    load_seconds = time.perf_counter() - started
    gc.collect()
    loaded = _rss_kb()
    # One at a time, as the API decides a single comment.
    cpu, wall, routed_to = [], [], set()
    for _ in range(repeat):
        for text in texts:
            c0, w0 = time.thread_time(), time.perf_counter()
            decision, found = main.decide_with_language([text])[0]
            cpu.append(time.thread_time() - c0)
            wall.append(time.perf_counter() - w0)
            routed_to.add(decision.model or main.model_label)
    # Batches, as `moderator score` and /api/v1/moderate/batch decide them.
    batch_cpu = []
    for _ in range(repeat):
        c0 = time.thread_time()
        for start in range(0, len(texts), 512):
            main.decide_with_language(texts[start : start + 512])
        batch_cpu.append(time.thread_time() - c0)
    models = sorted(m for m in routed_to if m)
    return {
        "language": language,
        "texts": len(texts),
        "p50_cpu_ms": round(statistics.median(cpu) * 1000, 3),
        "p50_wall_ms": round(statistics.median(wall) * 1000, 3),
        "p90_cpu_ms": round(statistics.quantiles(cpu, n=10)[-1] * 1000, 3),
        "batch_per_cpu_second": round(len(texts) / statistics.median(batch_cpu), 1),
        "rss_english_mb": round((english - base) / 1024, 1),
        "rss_added_mb": round((loaded - english) / 1024, 1),
        "load_seconds": round(load_seconds, 2),
        "models": models,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--n", type=int, default=1000, help="test texts per language")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument(
        "--baseline", help="also measure this git commit's code, alternated in the same run"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternations with --baseline")
    parser.add_argument("--child", choices=LANGUAGES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, Path(args.data_dir), args.n, args.repeat)))
        return
    if args.baseline:
        compare(args)
        return
    rows = []
    for language in LANGUAGES:
        log(f"measuring {language} ({args.n} texts x {args.repeat})")
        rows.append(_run_child(Path(__file__), language, args))
    english = rows[0]
    for row in rows:
        row["p50_cpu_vs_en"] = round(row["p50_cpu_ms"] / english["p50_cpu_ms"], 2)
    results = Path(args.out)
    results.mkdir(parents=True, exist_ok=True)
    (results / "language-models.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# Decision speed and memory per language",
        "",
        f"`python bench/bench_language_models.py --n {args.n} --repeat {args.repeat}`: each "
        "language in a fresh process, on the first texts of its official test split "
        "(English: OLID), through the routed path (identification + model + policy). CPU "
        "times are the thread's own, so other work on the shared cores doesn't count.",
        "",
        "| language | model | texts | p50 CPU ms | p50 wall ms | p90 CPU ms | vs English p50 | "
        "batch decisions / CPU s | RSS added by the model | load s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        added = (
            f"{r['rss_english_mb']} MB (English, with imports)"
            if r["language"] == "en"
            else f"{r['rss_added_mb']} MB"
        )
        lines.append(
            f"| {r['language']} | {', '.join(r['models'])} | {r['texts']} | {r['p50_cpu_ms']} | "
            f"{r['p50_wall_ms']} | {r['p90_cpu_ms']} | {r['p50_cpu_vs_en']} | "
            f"{r['batch_per_cpu_second']} | {added} | {r['load_seconds']} |"
        )
    (results / "language-models.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _run_child(script: Path, language: str, args) -> dict:
    """One language measured by `script` (this tree's or a baseline's) in a fresh process."""
    command = [sys.executable, str(script), "--child", language, "--data-dir", args.data_dir]
    command += ["--n", str(args.n), "--repeat", str(args.repeat)]
    # The script's own tree goes first on sys.path (harness.py), so it runs its own code.
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(args) -> None:
    """Each language, this tree against commit `args.baseline`, alternated round by round."""
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        export(args.baseline, Path(tmp))
        scripts = {
            "current": Path(__file__).resolve(),
            "baseline": Path(tmp) / "bench" / "bench_language_models.py",
        }
        for language in LANGUAGES:
            runs: dict[str, list[dict]] = {name: [] for name in scripts}
            for round_ in range(args.rounds):
                order = list(scripts) if round_ % 2 == 0 else list(reversed(scripts))
                for name in order:
                    runs[name].append(_run_child(scripts[name], language, args))
                    log(f"{language} {name} round {round_ + 1}: {runs[name][-1]['p50_cpu_ms']} ms")
            row = {"language": language, "texts": runs["current"][0]["texts"]}
            for name, measured in runs.items():
                for key in ("p50_cpu_ms", "p90_cpu_ms", "batch_per_cpu_second"):
                    row[f"{name}_{key}"] = round(statistics.median(r[key] for r in measured), 3)
                row[f"{name}_p50_cpu_ms_runs"] = [r["p50_cpu_ms"] for r in measured]
            row["p50_ratio"] = round(row["current_p50_cpu_ms"] / row["baseline_p50_cpu_ms"], 2)
            rows.append(row)
    load_after = os.getloadavg()
    results = Path(args.out)
    results.mkdir(parents=True, exist_ok=True)
    summary = {
        "baseline": args.baseline,
        "rounds": args.rounds,
        "n": args.n,
        "repeat": args.repeat,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "rows": rows,
    }
    (results / "language-models-vs-baseline.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Decision speed per language, this tree against a baseline",
        "",
        f"`python bench/bench_language_models.py --n {args.n} --repeat {args.repeat} "
        f"--baseline {args.baseline} --rounds {args.rounds}`: each language decided one comment "
        "at a time through the routed path (identification + model + policy), in fresh "
        "processes running this tree's code and models and the baseline's, alternated; "
        "figures are medians over the rounds of each run's p50 thread CPU time. Load average "
        f"{' / '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' / '.join(f'{x:.2f}' for x in load_after)} after (2 cores, shared).",
        "",
        f"| language | texts | p50 CPU ms, this tree | p50 CPU ms, {args.baseline} | ratio | "
        "p90 CPU ms, this tree | p90 CPU ms, baseline | batch / CPU s, this tree | "
        "batch / CPU s, baseline |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['language']} | {r['texts']} | {r['current_p50_cpu_ms']} | "
            f"{r['baseline_p50_cpu_ms']} | {r['p50_ratio']} | {r['current_p90_cpu_ms']} | "
            f"{r['baseline_p90_cpu_ms']} | {r['current_batch_per_cpu_second']} | "
            f"{r['baseline_batch_per_cpu_second']} |"
        )
    (results / "language-models-vs-baseline.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
