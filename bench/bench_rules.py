"""Word rules: better-profanity's contains_profanity against WordList.check on real texts.

    python bench/bench_rules.py --data-dir ../shared/data [--sample 2000] [--seed 20240]

Times both, one call per text, on the same seeded sample of the shared datasets (per-text
median and p99, ratio of medians), counts the texts where they agree (flagged or not, and
the exact censored spans), times WordList.check over the whole corpus and WordList.compile
for the default list and a per-site list. Writes bench/results/rules.json and rules.md;
progress goes to stderr. Figures, not assertions: quote the ratio measured on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

from better_profanity import profanity

from moderator.rules import WordList
from moderator.rules import default_wordlist
from training.datasets import LOADERS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def time_each(fn, texts: list[str], label: str) -> tuple[list[float], list]:
    """Seconds per call of fn(text), one call at a time, and the results."""
    seconds, results = [], []
    clock = time.perf_counter
    for n, text in enumerate(texts, 1):
        started = clock()
        result = fn(text)
        seconds.append(clock() - started)
        results.append(result)
        if n % 500 == 0:
            log(f"{label}: {n}/{len(texts)}")
    return seconds, results


def best_of(fn, repeats: int = 5) -> float:
    """The fastest of `repeats` runs of fn(), in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def censored(text: str, hits) -> str:
    """better-profanity's censor() output if `hits` are exactly the spans it censors."""
    parts, position = [], 0
    for hit in hits:
        parts += [text[position : hit.start], "****"]
        position = hit.end
    return "".join(parts) + text[position:]


def summary(seconds: list[float]) -> dict[str, float]:
    return {
        "median_us": round(statistics.median(seconds) * 1e6, 2),
        "p99_us": round(percentile(seconds, 99) * 1e6, 2),
        "mean_us": round(statistics.fmean(seconds) * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MODERATOR_DATA_DIR") or ROOT.parent / "shared" / "data"),
        help="the shared datasets (default: MODERATOR_DATA_DIR or ../shared/data)",
    )
    parser.add_argument(
        "--sample", type=int, default=2000, help="texts timed with better-profanity"
    )
    parser.add_argument("--seed", type=int, default=20240, help="seed of the sample")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where rules.json/.md go")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"no data directory {args.data_dir}: pass --data-dir")

    corpus = [e.text for load in LOADERS.values() for e in load(args.data_dir)]
    sample = random.Random(args.seed).sample(corpus, min(args.sample, len(corpus)))
    log(f"{len(corpus)} texts, timing a sample of {len(sample)}")

    started = time.perf_counter()
    wordlist = default_wordlist()
    first_compile = time.perf_counter() - started
    profanity.contains_profanity("warm up")

    for text in sample[:200]:
        wordlist.check(text)  # warm up, like better-profanity's first call above
    bp_seconds, bp_flags = time_each(profanity.contains_profanity, sample, "better-profanity")
    wl_seconds, wl_hits = time_each(wordlist.check, sample, "WordList.check")
    same_flag = sum(bool(h) == f for h, f in zip(wl_hits, bp_flags, strict=True))
    log("comparing censored spans")
    same_spans = sum(
        censored(t, h) == profanity.censor(t) for t, h in zip(sample, wl_hits, strict=True)
    )

    log("WordList.check over the whole corpus")
    corpus_seconds = best_of(lambda: [wordlist.check(t) for t in corpus], repeats=3)

    site = {
        "suspect": [f"suspectword{i}" for i in range(50)] + ["two words"],
        "allow": ["hell", "god", "dick cheney", "len"] + [f"allowed{i}" for i in range(16)],
    }
    compile_default = best_of(WordList.compile)
    compile_site = best_of(lambda: WordList.compile(**site))
    compile_site_only = best_of(lambda: WordList.compile(block=site["suspect"]))

    bp, wl = summary(bp_seconds), summary(wl_seconds)
    result = {
        "command": "python bench/bench_rules.py " + " ".join(sys.argv[1:]),
        "texts_in_corpus": len(corpus),
        "sample": len(sample),
        "seed": args.seed,
        "better_profanity_contains_profanity": bp,
        "wordlist_check": wl,
        "ratio_of_medians": round(bp["median_us"] / wl["median_us"], 1),
        "ratio_of_p99": round(bp["p99_us"] / wl["p99_us"], 1),
        "flagged_by_better_profanity": sum(bp_flags),
        "same_flag": same_flag,
        "same_censored_spans": same_spans,
        "wordlist_check_corpus_seconds": round(corpus_seconds, 3),
        "wordlist_check_corpus_texts_per_second": round(len(corpus) / corpus_seconds),
        "compile_ms": {
            "default_list_first_call": round(first_compile * 1e3, 2),
            "default_list": round(compile_default * 1e3, 2),
            "default_plus_51_suspect_20_allow": round(compile_site * 1e3, 2),
            "site_list_of_51_words_only": round(compile_site_only * 1e3, 2),
        },
        "environment": {
            "python": platform.python_version(),
            "better_profanity": version("better-profanity"),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rules.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "rules.md").write_text(markdown(result))
    log(f"wrote {args.out / 'rules.json'} and rules.md")
    print(json.dumps(result, indent=2))


def row(times: dict[str, float]) -> str:
    return " | ".join(f"{times[k]:,.1f} µs" for k in ("median_us", "p99_us", "mean_us"))


def markdown(r: dict) -> str:
    bp, wl, c = r["better_profanity_contains_profanity"], r["wordlist_check"], r["compile_ms"]
    n = r["sample"]
    return f"""# Word rules benchmark

`{r["command"]}`: {n:,} texts sampled (seed {r["seed"]}) from {r["texts_in_corpus"]:,} in the
shared datasets, one call per text, Python {r["environment"]["python"]}, better-profanity
{r["environment"]["better_profanity"]}.

| per text | median | p99 | mean |
|---|---:|---:|---:|
| better-profanity `contains_profanity` | {row(bp)} |
| `WordList.check` (default list) | {row(wl)} |
| ratio | **{r["ratio_of_medians"]:,}x** | {r["ratio_of_p99"]:,}x | |

Same flag on {r["same_flag"]:,} of {n:,} texts and the same censored spans on
{r["same_censored_spans"]:,} of {n:,} ({r["flagged_by_better_profanity"]:,} flagged).
`WordList.check` over all {r["texts_in_corpus"]:,} texts: {r["wordlist_check_corpus_seconds"]} s
({r["wordlist_check_corpus_texts_per_second"]:,} texts/s).

| compile | ms |
|---|---:|
| default list, first call (imports, tables) | {c["default_list_first_call"]} |
| default list | {c["default_list"]} |
| default + 51 suspect + 20 allow entries (a site) | {c["default_plus_51_suspect_20_allow"]} |
| a site's own 51-word list | {c["site_list_of_51_words_only"]} |
"""


if __name__ == "__main__":
    main()
