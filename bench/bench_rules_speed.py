"""Word rules and normalisation per comment: this tree against a baseline commit, same run.

    python bench/bench_rules_speed.py --data-dir ../shared/data --baseline main
                                      [--sample 2000] [--rounds 3] [--model models/default]

The baseline's `moderator/` is extracted with `git archive REF` into a temporary directory
(with this tree's compiled classifier extension copied beside it) and both trees run the same
worker in fresh subprocesses, alternately, `--rounds` times each. The worker takes the shared
real English comments (OLID, HASOC 2019, GHC and Davidson test sets, shuffled with seed 13, as
tests/test_explaining.py) and, in batches of 1,000 in the decision path's order, times each
comment's thread CPU for: `normalise`; `mask_excused` (what `SiteRules.unmask` runs on the
comment and, when that masked anything and it has several sentences, on each sentence's
normalised text); `check_comment`;
then the whole `Moderation.decide_batch([text])` one comment at a time, and `decide_batch` on
1,000 at a time (CPU / comments). Medians (and means) over comments, then the median of the
rounds, and
the ratio baseline / this tree. Writes bench/results/rules_speed.json and .md with the load
average. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from baseline import export
from bench_speed import load_texts

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
STAGES = ("normalise", "mask", "check", "rules", "decide_one", "decide_batch")
# Means too: the costly comments (aligned non-ASCII text, many hits) are a minority.
FIGURES = STAGES + tuple(f"{s} mean" for s in STAGES)
BATCH = 1000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def worker(tree: Path, data_dir: Path, sample: int, model: Path) -> dict:
    """Per-comment thread CPU of each stage, in microseconds, for the tree given."""
    sys.path.insert(0, str(tree))
    from moderator.classifier import Classifier
    from moderator.rules import policy_wordlist
    from moderator.service import Moderation
    from moderator.text import normalise
    from moderator.text import sentences

    # The shared English test sets, shuffled as tests/test_explaining.py shuffles them.
    texts = load_texts(data_dir, sample, 13)
    clock = time.thread_time_ns
    wordlist = policy_wordlist()
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    for first in range(0, len(texts), BATCH):
        batch = texts[first : first + BATCH]
        normalised, spent = [], []
        for text in batch:
            started = clock()
            normalised.append(normalise(text))
            times["normalise"].append((clock() - started) / 1e3)
        for text, norm in zip(batch, normalised, strict=True):
            started = clock()
            masked = wordlist.mask_excused(norm)
            spans = sentences(text)
            if masked != norm and len(spans) > 1:
                for start, end in spans:
                    wordlist.mask_excused(normalise(text[start:end]))
            spent.append((clock() - started) / 1e3)
        times["mask"] += spent
        for k, (text, norm) in enumerate(zip(batch, normalised, strict=True)):
            started = clock()
            wordlist.check_comment(text, norm)
            used = (clock() - started) / 1e3
            times["check"].append(used)
            times["rules"].append(times["normalise"][first + k] + spent[k] + used)
    moderation = Moderation(Classifier.load(model))
    moderation.decide_batch(texts[:50])  # warm the classifier's caches
    for text in texts:
        started = clock()
        moderation.decide_batch([text])
        times["decide_one"].append((clock() - started) / 1e3)
    for first in range(0, len(texts), BATCH):
        batch = texts[first : first + BATCH]
        started = clock()
        moderation.decide_batch(batch)
        times["decide_batch"].append((clock() - started) / 1e3 / len(batch))
    summary = {stage: statistics.median(values) for stage, values in times.items()}
    summary.update({f"{stage} mean": statistics.fmean(v) for stage, v in times.items()})
    return summary


def run_worker(tree: Path, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        str(tree),
        "--data-dir",
        str(args.data_dir),
        "--sample",
        str(args.sample),
        "--model",
        str(args.model),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--baseline", default="main", help="git ref to compare with")
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.data_dir, args.sample, args.model)))
        return
    baseline_commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", args.baseline],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    runs: dict[str, list[dict]] = {"baseline": [], "tree": []}
    with tempfile.TemporaryDirectory() as scratch:
        trees = {"baseline": export(baseline_commit, Path(scratch)), "tree": ROOT}
        for round_ in range(1, args.rounds + 1):
            for name, tree in trees.items():
                log(f"round {round_}/{args.rounds}: {name}")
                runs[name].append(run_worker(tree, args))
    medians = {
        name: {s: round(statistics.median(r[s] for r in rounds), 2) for s in FIGURES}
        for name, rounds in runs.items()
    }
    ratios = {s: round(medians["baseline"][s] / medians["tree"][s], 2) for s in FIGURES}
    result = {
        "baseline": args.baseline,
        "baseline_commit": baseline_commit,
        "tree_head": head,
        "sample": args.sample,
        "rounds": args.rounds,
        "median_us_per_comment": medians,
        "ratio_baseline_over_tree": ratios,
        "runs": runs,
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "rules_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Word rules and normalisation per comment (bench/bench_rules_speed.py)",
        "",
        f"{args.sample} real English comments, thread CPU per comment, median (or mean)",
        "over comments,",
        f"then over {args.rounds} alternating rounds. Baseline `{args.baseline}` "
        f"({baseline_commit[:10]}) against this tree ({head[:10]} + working tree).",
        f"Load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "| stage | baseline µs | this tree µs | baseline / tree |",
        "|---|---:|---:|---:|",
    ]
    for s in FIGURES:
        lines.append(f"| {s} | {medians['baseline'][s]} | {medians['tree'][s]} | {ratios[s]} |")
    (RESULTS / "rules_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
