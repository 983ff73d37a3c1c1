"""Word rules: better-profanity against WordList.check, and the word tables' decisions.

    python bench/bench_rules.py --data-dir ../shared/data [--sample 2000] [--seed 20240]
                                [--model models/default]

Times both, one call per text, on the same seeded sample of the shared datasets (per-text
median and p99, ratio of medians), counts the texts where they agree (flagged or not, and
the exact censored spans), times WordList.check over the whole corpus and WordList.compile
for the default list and a per-site list, and the policy list's check_comment (tiers and
context rules) on the same sample. Then decides the innocent and abusive tables of
tests/fixtures/word_rules_*.tsv with the word rules alone (wordlist_action reject and hold) and
with the full decision (the model in --model). Writes bench/results/rules.json and rules.md;
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

from moderator.policy import Action
from moderator.policy import ListKind
from moderator.rules import WORDLIST_ACTIONS
from moderator.rules import WordList
from moderator.rules import default_wordlist
from moderator.rules import policy_wordlist
from moderator.text import normalise
from training.datasets import LOADERS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
FIXTURES = ROOT / "tests" / "fixtures"
TABLES = {
    "innocent": ROOT / "training" / "eval" / "innocent_words.tsv",
    "abusive": FIXTURES / "word_rules_abusive.tsv",
}


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


def load_table(name: str) -> list[str]:
    """The sentences of a word table (tests/test_word_tables.py reads them the same way)."""
    rows = []
    for line in (FIXTURES / name).read_text(encoding="ascii").splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split("\t")[1].encode("ascii").decode("unicode_escape"))
    return rows


def rules_alone(texts: list[str], action: str) -> dict[str, int]:
    """How the word rules alone decide each text: the worst hit's effect, or allow."""
    wordlist = policy_wordlist(action)
    counts = {"allow": 0, "hold": 0, "reject": 0}
    for text in texts:
        kinds = {h.kind for h in wordlist.check_comment(text)}
        worst = "reject" if ListKind.BLOCK in kinds else "hold" if kinds else "allow"
        counts[worst] += 1
    return counts


def full_decision(moderation, texts: list[str], action: str) -> dict[str, int]:
    """How the full decision (rules, classifier, policy) decides each text."""
    site = moderation.site_rules(wordlist_action=action)
    counts = {str(a): 0 for a in Action}
    for decision in moderation.decide_batch(texts, site):
        counts[str(decision.action)] += 1
    return counts


def tables(model: Path) -> dict:
    """Both word tables through the rules alone and the full decision, per wordlist_action."""
    from moderator.classifier import Classifier
    from moderator.service import Moderation

    moderation = Moderation(Classifier.load(model))
    result = {"model": moderation.model_label}
    for name, file in TABLES.items():
        texts = load_table(file)
        result[name] = {
            "sentences": len(texts),
            "rules_alone": {a: rules_alone(texts, a) for a in WORDLIST_ACTIONS},
            "full_decision": {a: full_decision(moderation, texts, a) for a in WORDLIST_ACTIONS},
        }
    return result


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
    parser.add_argument(
        "--model", type=Path, default=ROOT / "models" / "default", help="model for the tables"
    )
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

    log("policy list check_comment (tiers, context rules) on the sample")
    policy = policy_wordlist()
    normalised = [normalise(t) for t in sample]
    for text, norm in zip(sample[:200], normalised[:200], strict=True):
        policy.check_comment(text, norm)
    pairs = list(zip(sample, normalised, strict=True))
    policy_seconds, _ = time_each(lambda p: policy.check_comment(*p), pairs, "check_comment")

    log("word tables")
    table_result = tables(args.model)

    log("WordList.check over the whole corpus")
    corpus_seconds = best_of(lambda: [wordlist.check(t) for t in corpus], repeats=3)

    site = {
        "suspect": [f"suspectword{i}" for i in range(50)] + ["two words"],
        "allow": ["hell", "god", "dick cheney", "len"] + [f"allowed{i}" for i in range(16)],
    }
    compile_default = best_of(WordList.compile)
    compile_policy = best_of(lambda: policy_wordlist(suspect=["x"]))
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
        "policy_check_comment": summary(policy_seconds),
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
            "policy_list_tiers_and_contexts": round(compile_policy * 1e3, 2),
        },
        "tables": table_result,
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


def share(part: int, whole: int) -> str:
    return f"{part} ({part / whole:.1%})"


def table_rows(t: dict) -> str:
    lines = []
    for name in ("innocent", "abusive"):
        n = t[name]["sentences"]
        for how in ("rules_alone", "full_decision"):
            for action in WORDLIST_ACTIONS:
                c = t[name][how][action]
                label = "word rules alone" if how == "rules_alone" else "full decision"
                flagged = c["hold"] + c["reject"]
                lines.append(
                    f"| {name} ({n}) | {label} | {action} | {share(c['reject'], n)} |"
                    f" {share(c['hold'], n)} | {share(flagged, n)} |"
                )
    return "\n".join(lines)


def row(times: dict[str, float]) -> str:
    return " | ".join(f"{times[k]:,.1f} µs" for k in ("median_us", "p99_us", "mean_us"))


def markdown(r: dict) -> str:
    bp, wl, c = r["better_profanity_contains_profanity"], r["wordlist_check"], r["compile_ms"]
    pc, t = r["policy_check_comment"], r["tables"]
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
| `check_comment`, policy list (tiers, context rules; normalised text given) | {row(pc)} |

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
| policy list: tiers, context rules and one site word | {c["policy_list_tiers_and_contexts"]} |

## Word tables

`training/eval/innocent_words.tsv` (names, places, animals, idioms, medicine, history,
crime reports, sport) and `word_rules_abusive.tsv` (profane and abusive comments, plain and
disguised), decided by the word rules alone and by the full decision with model
`{t["model"]}`, under each `wordlist_action`. Targets: innocent 0 rejects and at most 5% held;
abusive at least 95% held or rejected.

| table | decided by | wordlist_action | rejected | held | held or rejected |
|---|---|---|---:|---:|---:|
{table_rows(t)}
"""


if __name__ == "__main__":
    main()
