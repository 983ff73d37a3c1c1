"""Instructions per decision, per language, counted by valgrind's callgrind: this tree against
a baseline commit.

Thread CPU time on this shared 2-core machine moves 10-20% between runs with what else runs;
an instruction count does not (the same binary, inputs and environment give the same count,
whatever the other core does), so small changes to the hot path can be compared exactly. It
is not a time: a cache miss and an add count alike.

Each language's official test comments (English: OLID's) are decided one at a time through the
routed path (language identification, the language's model, policy, reasons), as
bench_language_models.py does: the first --warm to warm the caches, then --n counted. Only
the counted loop is collected (callgrind's --toggle-collect on the C function that runs it,
functools.reduce, which nothing else in a decision calls).

    python bench/bench_instructions.py --baseline a68983b [--languages tr,en] [--n 200]

Needs valgrind (Debian's package). A run takes minutes: each decision runs ~50x slower under
callgrind, and model loading too. Writes bench/results/instructions.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from baseline import export

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LANGUAGES = ("en", "de", "pt", "tr")
_COLLECTED = re.compile(r"Collected : (\d+)")


def child(tree: Path, language: str, data_dir: Path, n: int, warm: int) -> None:
    """In a process under callgrind: decide `warm` comments, then `n` inside functools.reduce."""
    import functools

    sys.path[:0] = [str(tree), str(tree / "bench")]
    from bench_language_models import _texts

    from moderator import language as lid
    from moderator.classifier import Classifier
    from moderator.routing import LanguageModels
    from moderator.service import Moderation

    texts = _texts(data_dir, language, warm + n)
    if len(texts) < warm + n:
        raise SystemExit(f"{language}: {len(texts)} test comments, fewer than --warm + --n")
    others = LanguageModels.from_folder(tree / "models", tree / "models" / "default")
    main = Moderation(
        Classifier.load(tree / "models" / "default"),
        identifier=lid.shared_identifier(),
        others=others,
    )
    for text in texts[:warm]:
        main.decide_with_language([text])
    functools.reduce(lambda _, text: main.decide_with_language([text]), texts[warm:], None)


def count(tree: Path, language: str, args) -> int:
    """Instructions of the counted loop, for one tree and language."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        "--toggle-collect=functools_reduce",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        language,
        "--tree",
        str(tree),
        "--data-dir",
        str(args.data_dir),
        "--n",
        str(args.n),
        "--warm",
        str(args.warm),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    found = _COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"callgrind failed for {language} in {tree}:\n{done.stderr[-3000:]}")
    return int(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="also count this git commit's code")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--n", type=int, default=200, help="comments counted per language")
    parser.add_argument("--warm", type=int, default=300, help="comments decided first, uncounted")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MODERATOR_DATA_DIR", "../shared/data")),
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.tree, args.child, args.data_dir, args.n, args.warm)
        return
    if args.n < 1 or args.warm < 0:
        parser.error("--n must be at least 1 and --warm at least 0")
    languages = [code for code in args.languages.split(",") if code]
    unknown = set(languages) - set(LANGUAGES)
    if unknown:
        parser.error(f"unknown languages {sorted(unknown)}; choose from {', '.join(LANGUAGES)}")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"current": ROOT}
        if args.baseline:
            trees["baseline"] = export(args.baseline, Path(tmp))
        jobs = [(name, language) for language in languages for name in trees]
        # Two at a time: counts don't depend on what runs beside them.
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = dict(
                zip(
                    jobs,
                    pool.map(lambda job: count(trees[job[0]], job[1], args), jobs),
                    strict=True,
                )
            )
    rows = []
    for language in languages:
        row = {
            "language": language,
            "current": round(counts["current", language] / args.n),
        }
        if args.baseline:
            row["baseline"] = round(counts["baseline", language] / args.n)
            row["ratio"] = round(row["current"] / row["baseline"], 3)
        rows.append(row)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    result = {"commit": commit, "baseline": args.baseline, "n": args.n, "warm": args.warm}
    result["rows"] = rows
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "instructions.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Instructions per decision (callgrind)",
        "",
        f"`python bench/bench_instructions.py --n {args.n} --warm {args.warm}"
        + (f" --baseline {args.baseline}" if args.baseline else "")
        + f"` at `{commit}`: each language's test comments decided one at a time through the "
        f"routed path, {args.warm} to warm up, then {args.n} counted; instructions per "
        "comment (a count, not a time: the same on a busy or an idle machine).",
        "",
        "| language | this tree | " + (f"`{args.baseline}` | ratio |" if args.baseline else ""),
        "|---|---:|" + ("---:|---:|" if args.baseline else ""),
    ]
    for row in rows:
        line = f"| {row['language']} | {row['current']:,} |"
        if args.baseline:
            line += f" {row['baseline']:,} | {row['ratio']} |"
        lines.append(line)
    (RESULTS / "instructions.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
