"""Parts of bench_speed.py: where a batch decision's time goes, start-up, and long texts.

Imported by bench_speed.py (beside it on sys.path); not part of the moderator package.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from baseline import export

#: The decision's stages, each a function the decision path calls by that name.
STAGES = {
    "normalise (comments and sentences)": ("moderator.service.deciding", "normalise"),
    "sentence splitting": ("moderator.service.deciding", "sentences"),
    "masking allowed/excused words": ("moderator.service.SiteRules", "unmask"),
    "classifier scoring": ("moderator.classifier.model.Classifier", "score_batch"),
    "classifier scoring (one by one)": ("moderator.classifier.model.Classifier", "score_one"),
    "explanations (reasons' words and spans)": ("moderator.service.Moderation", "_explain"),
    "word rules (hits, context, spans)": ("moderator.service.Moderation", "_hits"),
    "policy": ("moderator.policy", "decide"),
}


def _owner(path: str):
    module, _, attr = path.rpartition(".")
    if attr and attr[0].isupper():
        return getattr(sys.modules[module] if module in sys.modules else __import__(module), attr)
    __import__(path)
    return sys.modules[path]


@contextmanager
def _timed(totals: dict[str, float]):
    """Wrap every stage function so its CPU time adds up in totals (outermost calls only)."""
    saved = []
    depth = {"n": 0}
    for stage, (path, name) in STAGES.items():
        owner = _owner(path)
        original = getattr(owner, name)
        totals.setdefault(stage, 0.0)

        def wrapper(*args, _original=original, _stage=stage, **kwargs):
            if depth["n"]:
                return _original(*args, **kwargs)
            depth["n"] += 1
            t0 = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                totals[_stage] += time.process_time() - t0
                depth["n"] -= 1

        setattr(owner, name, wrapper)
        saved.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def stage_times(moderation, texts: list[str], batch: int = 1000) -> dict:
    """CPU seconds per stage of decide_batch over `texts`, plus serialisation, per comment."""
    from moderator.policy import Decision  # noqa: F401  (imported before wrapping)

    totals: dict[str, float] = {}
    with _timed(totals):
        c0 = time.process_time()
        decisions = []
        for i in range(0, len(texts), batch):
            decisions.extend(moderation.decide_batch(texts[i : i + batch]))
        total = time.process_time() - c0
    c0 = time.process_time()
    for d in decisions:
        json.dumps(d.to_dict(), ensure_ascii=False)
    serialise = time.process_time() - c0
    n = len(texts)
    per = {k: v / n * 1e6 for k, v in totals.items() if v}
    per["other (batch bookkeeping)"] = (total - sum(totals.values())) / n * 1e6
    return {
        "decide_batch_us_per_comment": total / n * 1e6,
        "stages_us_per_comment": per,
        "serialise_us_per_comment": serialise / n * 1e6,
    }


def cli_fixed_cost(model: Path, texts: list[str], repeats: int) -> dict:
    """`moderator score` wall seconds on one row and on all rows: the fixed cost's share."""

    def run(rows: list[str]) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in.csv"
            with src.open("w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["text"])
                writer.writerows([t] for t in rows)
            command = [sys.executable, "-m", "moderator", "score", str(src), "--model", str(model)]
            command += ["--output", str(Path(tmp) / "out.jsonl")]
            if hasattr(os, "sched_setaffinity"):
                command = ["taskset", "-c", "0", *command]
            t0 = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            return time.perf_counter() - t0

    one = sorted(run(texts[:1]) for _ in range(repeats))[repeats // 2]
    full = sorted(run(texts) for _ in range(max(1, repeats // 2)))[max(1, repeats // 2) // 2]
    return {"one_row_s": one, "all_rows_s": full, "rows": len(texts), "fixed_share": one / full}


def _words(n: int, pool: list[str], rng: random.Random) -> str:
    out: list[str] = []
    size = 0
    while size < n:
        word = rng.choice(pool)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:n]


#: Long and hostile comments, our own text: what each stresses is in its name.
LONG_CASES = {
    "plain English words": lambda n, r: _words(n, "you are a stupid idiot and this is".split(), r),
    "mixed Unicode, disguises, mentions, URLs, emoji": lambda n, r: _words(
        n,
        "you are an idiot café naïve ｆｕｃｋ sh1t f.u.c.k @user http://x.co/a 😂 "
        "Dick Van Dyke".split(),
        r,
    ),
    "short sentences with context words": lambda n, r: _words(
        n, "Dick. the bitch had puppies. you idiot! Sure?".split(), r
    ),
    "one spaced-out run (f u c k f u c k ...)": lambda n, r: " ".join("fuck" * n)[:n],
    "combining marks on every letter (zalgo)": lambda n, r: ("a\u0301\u0302\u0303 " * n)[:n],
    "zero-width joiners inside words": lambda n, r: ("f\u200bu\u200bc\u200bk " * n)[:n],
    "one 20 KB word": lambda n, r: "a" * n,
    "emoji only": lambda n, r: "😂" * n,
}


def long_texts(moderation, sizes=(2_000, 20_000), repeats: int = 3) -> dict:
    """CPU milliseconds of one decide() per long text (median of fresh texts), and per KB."""
    out = {}
    for name, make in LONG_CASES.items():
        row = {}
        for n in sizes:
            times = []
            for k in range(repeats):
                text = make(n, random.Random(k))
                text = text[: n - 1] + str(k % 10)  # a fresh text: no cache helps
                c0 = time.process_time()
                moderation.decide(text)
                times.append(time.process_time() - c0)
            ms = sorted(times)[len(times) // 2] * 1e3
            row[str(n)] = {"ms": ms, "ms_per_kb": ms / (n / 1000)}
        out[name] = row
    return out


def main() -> None:
    """`python bench/speed_parts.py [--ref REF]`: the long-text table alone, for this tree or a
    commit's (its code and its models/default), to bench/results/long-texts[-REF].json."""
    import argparse

    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("--ref", help="a git commit to measure instead of this tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree = root
        if args.ref:
            tree = Path(tmp)
            export(args.ref, tree)
        code = (
            "import json, sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
            "import speed_parts\n"
            "from moderator.classifier import Classifier\n"
            "from moderator.service import Moderation\n"
            "m = Moderation(Classifier.load(sys.argv[1] + '/models/default'))\n"
            "print(json.dumps(speed_parts.long_texts(m)))\n"
        )
        command = [sys.executable, "-c", code, str(tree), str(Path(__file__).parent)]
        if hasattr(os, "sched_setaffinity"):
            command = ["taskset", "-c", "0", *command]
        out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=tmp).stdout
    result = {"ref": args.ref or "this tree", "long_texts_cpu": json.loads(out)}
    name = f"long-texts-{args.ref}.json" if args.ref else "long-texts.json"
    (root / "bench" / "results" / name).write_text(json.dumps(result, indent=2) + "\n")
    for case, row in result["long_texts_cpu"].items():
        print(f"{case}: {row['2000']['ms']:.1f} ms (2 KB), {row['20000']['ms']:.1f} ms (20 KB)")


if __name__ == "__main__":
    main()
