"""Language identification on short comments: moderator.language against the shared data.

    python bench/bench_language.py [--data-dir ../shared/data] [--per-bucket 300] [--seed 2]
                                   [--compare]

For every language of multilingual/ (ar, da, de, es, fr, pt, tr) and for English news
comments (fox_news_comments, toxic_spans = Civil Comments) and tweets (olid), it samples up
to --per-bucket comments of each length (1-40, 41-100 and over 100 characters, after
URLs/mentions/digits are removed, as language.py does), from the test split where a dataset
has one, and runs `LanguageIdentifier.identify` on each. It reports, per source and length:

  foreign comments: `right` (the exact language), `not en` (identified as some language
      other than English: what holds it as language_unsupported), `und` (undetermined:
      scored as English), `en` (called English);
  English comments: `foreign` (called some other language: held for nothing; the figure
      that must stay near 0), `und`, `en`.

The `raw` columns are a library's first guess alone, without language.py's rules: fastText's
always, and with --compare those of other libraries when installed (py3langid,
lingua-language-detector), for the same texts. The thresholds in language.py were chosen on
a different sample (training splits, seed 1). Writes bench/results/language.json and .md.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import re
import resource
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moderator import language  # noqa: E402

csv.field_size_limit(10**8)

BUCKETS = ((1, 40), (41, 100), (101, None))


def _csv(path: Path, column, delimiter=",", header=True, where=None) -> Iterator[str]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = (
            csv.DictReader(f, delimiter=delimiter) if header else csv.reader(f, delimiter=delimiter)
        )
        for row in reader:
            if where is not None and not where(row):
                continue
            if isinstance(row, list) and len(row) <= column:
                continue
            yield row[column]


def _olid(path: Path) -> Iterator[str]:
    # OLID replaced every link with the word URL; put a link back so it is cleaned as one.
    for text in _csv(path, "tweet"):
        yield re.sub(r"\bURL\b", "https://example.org", text)


def _jsonl(path: Path, key: str) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)[key]


def sources(data: Path) -> dict[str, tuple[str, Callable[[], Iterator[str]]]]:
    """name -> (expected language, texts). Test splits where a dataset has one."""
    m = data / "multilingual"
    return {
        "ar (mlma)": ("ar", lambda: _csv(m / "ar_mlma/ar_dataset.csv", "tweet")),
        "da (offenseval test+train)": (
            "da",
            lambda: (
                t
                for p in ("offenseval-da-test-v1.tsv", "offenseval-da-training-v1.tsv")
                for t in _csv(m / "da_dkhate" / p, "tweet", "\t")
            ),
        ),
        "de (germeval test)": (
            "de",
            lambda: _csv(m / "de_germeval2018/germeval2018.test.txt", 0, "\t", header=False),
        ),
        "es (goldstd)": (
            "es",
            lambda: (
                t
                for p in ("goldstd_protests.csv", "goldstd_Convention.csv")
                for t in _csv(
                    m / "es_goldstd_toxicity" / p, "text", where=lambda r: r.get("lang") == "es"
                )
            ),
        ),
        "fr (mlma)": ("fr", lambda: _csv(m / "fr_mlma/fr_dataset.csv", "tweet")),
        "pt (told-br)": ("pt", lambda: _csv(m / "pt_toldbr/ToLD-BR.csv", "text")),
        "tr (offenseval test)": (
            "tr",
            lambda: _csv(
                m / "tr_offenseval2020/offenseval-tr-testset-v1.tsv", 1, "\t", header=False
            ),
        ),
        "en news (fox)": (
            "en",
            lambda: _jsonl(data / "fox_news_comments/fox-news-comments.json", "text"),
        ),
        "en news (civil comments trial)": (
            "en",
            lambda: _csv(data / "toxic_spans/tsd_trial.csv", "text"),
        ),
        "en news (civil comments train)": (
            "en",
            lambda: _csv(data / "toxic_spans/tsd_train.csv", "text"),
        ),
        "en tweets (olid test)": ("en", lambda: _olid(data / "olid/olid_test.csv")),
        "en tweets (olid train)": ("en", lambda: _olid(data / "olid/olid_train.csv")),
    }


def bucket_name(lo: int, hi: int | None) -> str:
    return f"{lo}-{hi}" if hi else f">{lo - 1}"


def sample(texts: Iterator[str], per_bucket: int, seed: int) -> dict[str, list[str]]:
    """Up to per_bucket texts of each length bucket (length after language.clean)."""
    seen = set()
    kept = []
    for text in texts:
        if not text or text in seen:
            continue
        seen.add(text)
        kept.append(text)
    rnd = random.Random(seed)
    rnd.shuffle(kept)
    out: dict[str, list[str]] = {bucket_name(lo, hi): [] for lo, hi in BUCKETS}
    for text in kept:
        n = len(language.clean(text))
        for lo, hi in BUCKETS:
            name = bucket_name(lo, hi)
            if lo <= n and (hi is None or n <= hi) and len(out[name]) < per_bucket:
                out[name].append(text)
    return out


def other_libraries() -> dict[str, Callable[[str], str | None]]:
    found: dict[str, Callable[[str], str | None]] = {}
    try:
        from py3langid.langid import MODEL_FILE
        from py3langid.langid import LanguageIdentifier

        ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        found["py3langid"] = lambda t: ident.classify(language.clean(t))[0]
    except ImportError:
        pass
    try:
        from lingua import LanguageDetectorBuilder

        detector = LanguageDetectorBuilder.from_all_languages().build()

        def lingua(t: str) -> str | None:
            guess = detector.detect_language_of(language.clean(t))
            return guess.iso_code_639_1.name.lower() if guess else None

        found["lingua (all languages)"] = lingua
    except ImportError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--per-bucket", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    started = time.perf_counter()
    identifier = language.LanguageIdentifier()
    load_seconds = time.perf_counter() - started
    others = other_libraries() if args.compare else {}

    rows = []
    total_texts = 0
    identify_seconds = 0.0
    for name, (expected, texts) in sources(args.data_dir).items():
        for bucket, chosen in sample(texts(), args.per_bucket, args.seed).items():
            if not chosen:
                continue
            t0 = time.perf_counter()
            identified = [identifier.identify(t) for t in chosen]
            identify_seconds += time.perf_counter() - t0
            found = [i.language for i in identified]
            raw = [i.guesses[0][0] if i.guesses else None for i in identified]
            total_texts += len(chosen)
            n = len(chosen)
            row = {
                "source": name,
                "expected": expected,
                "length": bucket,
                "n": n,
                "right": sum(f == expected for f in found) / n,
                "not_en": sum(f not in (None, "en") for f in found) / n,
                "und": sum(f is None for f in found) / n,
                "en": sum(f == "en" for f in found) / n,
                "raw first guess right: fastText lid.176": sum(g == expected for g in raw) / n,
            }
            for other, guess in others.items():
                row[f"raw first guess right: {other}"] = (
                    sum(guess(t) == expected for t in chosen) / n
                )
            rows.append(row)

    result = {
        "command": "python bench/bench_language.py " + " ".join(sys.argv[1:]),
        "python": platform.python_version(),
        "thresholds": {
            "MIN_LETTERS": language.MIN_LETTERS,
            "MIN_PROBABILITY": language.MIN_PROBABILITY,
            "MIN_MARGIN": language.MIN_MARGIN,
            "MIN_ENGLISH_PROBABILITY": language.MIN_ENGLISH_PROBABILITY,
            "ENGLISH_WORD_SHARE": language.ENGLISH_WORD_SHARE,
        },
        "seed": args.seed,
        "per_bucket": args.per_bucket,
        "load_seconds": round(load_seconds, 3),
        "comments_per_second": round(total_texts / identify_seconds) if identify_seconds else None,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "language.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    shown = ["fastText lid.176", *others]
    (args.out / "language.md").write_text(render(result, shown), encoding="utf-8")
    print(render(result, shown))


def render(result: dict, others: list[str]) -> str:
    pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
    lines = [
        "# Language identification on short comments",
        "",
        f"`{result['command']}` (Python {result['python']}; seed {result['seed']}, up to "
        f"{result['per_bucket']} comments per source and length; lengths in characters after "
        "URLs, mentions and digits are removed). Thresholds: "
        + ", ".join(f"{k}={v}" for k, v in result["thresholds"].items())
        + f". Model load {result['load_seconds']} s, {result['comments_per_second']} comments/s, "
        f"max RSS {result['max_rss_mb']} MB (whole process).",
        "",
        "## Comments in other languages",
        "",
        "`right`: the exact language; `not en`: identified as a language other than English "
        "(held as `language_unsupported` by default); `und`: undetermined (scored as English); "
        "`en`: called English.",
        "",
        "| source | length | n | right | not en | und | en |"
        + "".join(f" raw {o} |" for o in others),
        "|---|---|---|---|---|---|---|" + "---|" * len(others),
    ]
    for r in result["rows"]:
        if r["expected"] == "en":
            continue
        lines.append(
            f"| {r['source']} | {r['length']} | {r['n']} | {pct(r['right'])} | {pct(r['not_en'])} "
            f"| {pct(r['und'])} | {pct(r['en'])} |"
            + "".join(f" {pct(r[f'raw first guess right: {o}'])} |" for o in others)
        )
    lines += [
        "",
        "## English comments",
        "",
        "`foreign`: called another language (would be held for nothing: must stay near 0); "
        "`und`: undetermined (scored as English, as it should be); `en`: called English.",
        "",
        "| source | length | n | foreign | und | en |" + "".join(f" raw {o} |" for o in others),
        "|---|---|---|---|---|---|" + "---|" * len(others),
    ]
    for r in result["rows"]:
        if r["expected"] != "en":
            continue
        lines.append(
            f"| {r['source']} | {r['length']} | {r['n']} | {pct(r['not_en'])} | {pct(r['und'])} "
            f"| {pct(r['en'])} |"
            + "".join(f" {pct(r[f'raw first guess right: {o}'])} |" for o in others)
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
