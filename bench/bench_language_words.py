"""Would an open word list help German, Portuguese or Turkish? Precision and recall of
"the comment contains a listed word" on each language's TRAINING split (never its test).

    python bench/bench_language_words.py --list de=PATH --list pt=PATH --list tr=PATH

PATH is a plain list, one word or phrase per line (e.g. LDNOOBW's `de`, `pt`, `tr` files,
CC BY 4.0, github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words).
Words are matched whole, after `normalise(text, language)`, as the word rules match them.
Writes bench/results/language-words.{json,md}: per language, the share of comments hit,
precision and recall against the dataset's own offensive label, and the listed words with
the lowest precision (those a site would hold innocent comments for).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from harness import RESULTS
from harness import default_data_dir
from harness import log

from moderator.text import normalise
from training.datasets import TRAIN
from training.datasets import load_language


def measure(language: str, words: list[str], data_dir: Path) -> dict:
    forms = sorted({normalise(w, language) for w in words if w.strip()}, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(f) for f in forms) + r")(?!\w)")
    rows = [
        e for e in load_language(data_dir, language) if e.split == TRAIN and "official" in e.meta
    ]
    hits, positives, hit_positive = 0, 0, 0
    seen, seen_positive = Counter(), Counter()
    for e in rows:
        y = int(e.meta["official"])
        found = set(pattern.findall(normalise(e.text, language)))
        positives += y
        if found:
            hits += 1
            hit_positive += y
        for word in found:
            seen[word] += 1
            seen_positive[word] += y
    worst = sorted(
        ((seen_positive[w] / seen[w], seen[w], w) for w in seen if seen[w] >= 5),
    )[:8]
    return {
        "language": language,
        "listed": len(forms),
        "comments": len(rows),
        "offensive_share": round(positives / len(rows), 3),
        "hit_share": round(hits / len(rows), 4),
        "precision": round(hit_positive / hits, 3) if hits else None,
        "recall": round(hit_positive / positives, 3) if positives else None,
        "lowest_precision_words": [[w, n, round(p, 2)] for p, n, w in worst],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="append", required=True, metavar="LANG=PATH")
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    rows = []
    for item in args.list:
        language, _, path = item.partition("=")
        if not path:
            parser.error(f"--list wants LANG=PATH, got {item!r}")
        log(f"measuring {path} on {language}")
        words = Path(path).read_text(encoding="utf-8").splitlines()
        rows.append(measure(language, words, Path(args.data_dir)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "language-words.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    lines = [
        "# Open word lists on German, Portuguese and Turkish training data",
        "",
        "`python bench/bench_language_words.py --list LANG=PATH ...` on each language's "
        "training split (GermEval 2018, ToLD-Br, OffensEval 2020 TR; the dataset's own "
        "offensive label). A hit is a comment holding a listed word.",
        "",
        "| language | listed | comments | offensive | hit | precision | recall | "
        "lowest-precision words (hits, precision) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        worst = ", ".join(f"{w} ({n}, {p})" for w, n, p in r["lowest_precision_words"])
        lines.append(
            f"| {r['language']} | {r['listed']} | {r['comments']} | {r['offensive_share']} | "
            f"{r['hit_share']} | {r['precision']} | {r['recall']} | {worst} |"
        )
    (out / "language-words.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
