"""Reason quality: do a decision's reasons mark the words raters marked? (issue 8, item 4)

    python bench/bench_spans.py [--model models/default] [--data-dir ../shared/data]

Every post is decided by the full decision path (Moderation.decide_batch); a reason's spans are
the characters it points at. Three figures:

* Typed span F1, on the trial posts of toxic_spans/subtypes (683 Civil Comments posts; train
  posts are never used). For each category (insult, identity_attack, obscene, threat):
  - gold: the characters that at least half of the post's raters marked with a span of that
    type (raters = every annotation of the post in ts_annotations.csv, including raters who
    marked nothing; spans past the end of the text are clipped; "Other Toxicity" and untyped
    spans count for no category);
  - predicted: the characters covered by the spans of the decision's reasons with that
    category (classifier and word-list reasons alike; none when the category did not fire);
  - SemEval-2021's per-post character F1 (both empty = 1, one empty = 0), averaged over the
    posts where the gold or the prediction is non-empty: the target figure. Silence on a post
    nobody typed that way is neither rewarded nor punished, a missed or spurious reason scores
    0. (Averaged over ALL trial posts, as SemEval does for untyped spans, a model that never
    gives an insult reason would already score 0.47, since 47% of the posts have no insult
    gold; that average is reported too, with the average over the posts with gold and the
    share of posts without gold that still get a reason of the category.)
* Untyped span F1 on toxic_spans/tsd_trial.csv (690 posts): gold = its spans, predicted = the
  union of every reason's spans, SemEval's per-post F1 averaged over all posts.
* Function words in reasons: the share of reasons (over every decision above) whose words
  include a pronoun, determiner, preposition, conjunction, auxiliary or similar (should be 0).

Targets (issue 8): typed insult F1 >= 0.6; untyped F1 >= 0.68 (SemEval-2021 best: 0.708).
Writes bench/results/spans.json and spans.md; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import platform
import sys
import time
from collections import Counter
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import add_common_arguments  # noqa: E402
from harness import copy_to_model_card  # noqa: E402
from harness import decide  # noqa: E402
from harness import rounded  # noqa: E402

from moderator.classifier import Classifier  # noqa: E402
from moderator.policy import Decision  # noqa: E402
from moderator.service import Moderation  # noqa: E402
from training.evaluate import span_f1  # noqa: E402

TYPED = ("insult", "identity_attack", "obscene", "threat")
#: A rater's span type -> our category, by prefix (the raw file has truncated "Insu" and
#: "Identity based"); "Other Toxicity" and empty types map to none.
TYPE_PREFIXES = (
    ("insu", "insult"),
    ("identity", "identity_attack"),
    ("profane", "obscene"),
    ("threat", "threat"),
)
TARGETS = {"insult": 0.6, "untyped": 0.68}

#: Words that never carry a category by themselves: pronouns, determiners, quantifiers,
#: prepositions, conjunctions, auxiliaries and modals, their contractions, and common particles.
FUNCTION_WORDS = frozenset(
    """
    i me my mine myself you your yours yourself yourselves he him his himself she her hers herself
    it its itself we us our ours ourselves they them their theirs themselves one ones
    who whom whose which what that this these those whoever whatever
    a an the all any both each every some no none few many much more most other others such
    another either neither several
    about above across after against along among amongst around at before behind below beneath
    beside besides between beyond by down during for from in inside into near of off on onto out
    outside over past per since through throughout till to toward towards under until up upon
    via with within without
    and but or nor so yet because although though if unless while whereas than as whether
    am is are was were be been being have has had having do does did doing done
    will would shall should can could may might must ought
    i'm you're he's she's it's we're they're i've you've we've they've i'd you'd he'd she'd
    we'd they'd i'll you'll he'll she'll we'll they'll isn't aren't wasn't weren't don't
    doesn't didn't won't wouldn't can't cannot couldn't shouldn't hasn't haven't hadn't
    mustn't let's that's there's here's what's who's where's
    not very too just only also then there here when where why how now again ever never
    always even yes ok oh
    """.split()
)


@dataclass(frozen=True)
class Post:
    """One evaluation post: its text and gold characters (per category, or untyped)."""

    id: str
    text: str
    gold: Mapping[str, frozenset[int]]


def span_category(span_type: str) -> str | None:
    """Our category for a rater's span type, or None (Other Toxicity, empty)."""
    lowered = span_type.strip().lower()
    for prefix, category in TYPE_PREFIXES:
        if lowered.startswith(prefix):
            return category
    return None


def typed_gold(
    raters: int, marks: Iterable[tuple[str, str, int, int]], length: int
) -> dict[str, frozenset[int]]:
    """Characters marked with each category by at least half of `raters`.

    `marks` holds (rater, span type, start, end) rows; a rater counts once per character
    and category however many of their spans cover it; offsets are clipped to `length`.
    """
    if raters <= 0:
        raise ValueError("a post needs at least one rater")
    by_rater: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for rater, span_type, start, end in marks:
        category = span_category(span_type)
        if category is None:
            continue
        by_rater[category][rater].update(range(max(start, 0), min(end, length)))
    gold = {}
    for category in TYPED:
        votes = Counter(c for chars in by_rater[category].values() for c in chars)
        gold[category] = frozenset(c for c, n in votes.items() if 2 * n >= raters)
    return gold


def reason_chars(decision: Decision, length: int, category: str | None = None) -> set[int]:
    """Characters covered by the decision's reasons (of `category`, or of every category)."""
    chars: set[int] = set()
    for reason in decision.reasons:
        if category is None or reason.category == category:
            for start, end in reason.spans:
                chars.update(range(max(start, 0), min(end, length)))
    return chars


def function_words(words: Iterable[str]) -> list[str]:
    """The words of a reason that are function words (case and curly apostrophes ignored)."""
    out = []
    for word in words:
        key = word.strip().lower().replace("\u2019", "'")
        if key in FUNCTION_WORDS:
            out.append(key)
    return out


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def typed_figures(posts: list[Post], decisions: list[Decision]) -> dict:
    """Per category: F1 over posts with gold or prediction (the target figure), and the rest."""
    out = {}
    for category in TYPED:
        scored, all_f1, gold_f1, spurious = [], [], [], []
        for post, decision in zip(posts, decisions, strict=True):
            predicted = reason_chars(decision, len(post.text), category)
            gold = set(post.gold[category])
            f1 = span_f1(predicted, gold)
            all_f1.append(f1)
            if gold or predicted:
                scored.append(f1)
            if gold:
                gold_f1.append(f1)
            else:
                spurious.append(float(bool(predicted)))
        out[category] = {
            "posts": len(posts),
            "posts_with_gold": len(gold_f1),
            "posts_scored": len(scored),
            "f1": mean(scored),
            "f1_all_posts": mean(all_f1),
            "f1_posts_with_gold": mean(gold_f1),
            "spurious_reason_rate": mean(spurious),
        }
    return out


def function_word_figures(decisions: Iterable[Decision]) -> dict:
    """How many reasons list a function word, which ones, and per category."""
    reasons = with_function_word = 0
    words: Counter[str] = Counter()
    per_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for decision in decisions:
        for reason in decision.reasons:
            if not reason.words:
                continue
            found = function_words(reason.words)
            reasons += 1
            per_category[reason.category][0] += 1
            if found:
                with_function_word += 1
                per_category[reason.category][1] += 1
                words.update(found)
    return {
        "reasons": reasons,
        "with_function_word": with_function_word,
        "rate": with_function_word / reasons if reasons else None,
        "per_category": {
            c: {"reasons": n, "with_function_word": k} for c, (n, k) in sorted(per_category.items())
        },  # fmt: skip
        "most_common": words.most_common(15),
    }


def read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    except OSError as exc:
        raise SystemExit(f"cannot read {path}: {exc}; pass --data-dir") from None


def load_subtype_trial(data_dir: Path) -> list[Post]:
    """The subtypes trial posts with their typed gold (see typed_gold)."""
    folder = data_dir / "toxic_spans" / "subtypes"
    comments = [r for r in read_csv(folder / "ts_comments.csv") if r["split"] == "trial"]
    wanted = {r["comment_id"] for r in comments}
    rater_of: dict[str, str] = {}
    raters: dict[str, set[str]] = defaultdict(set)
    for r in read_csv(folder / "ts_annotations.csv"):
        if r["comment_id"] in wanted:
            rater_of[r["annotation"]] = r["comment_id"]
            raters[r["comment_id"]].add(r["annotation"])
    marks: dict[str, list[tuple[str, str, int, int]]] = defaultdict(list)
    for r in read_csv(folder / "ts_spans.csv"):
        post = rater_of.get(r["annotation"])
        if post is not None:
            marks[post].append((r["annotation"], r["type"], int(r["start"]), int(r["end"])))
    posts = []
    for r in comments:
        post, text = r["comment_id"], r["comment_text"]
        if raters[post]:
            posts.append(Post(post, text, typed_gold(len(raters[post]), marks[post], len(text))))
    return posts


def load_tsd_trial(data_dir: Path) -> list[Post]:
    """toxic_spans/tsd_trial.csv with its character offsets as untyped gold."""
    rows = read_csv(data_dir / "toxic_spans" / "tsd_trial.csv")
    return [
        Post(str(n), r["text"], {"untyped": frozenset(ast.literal_eval(r["spans"]))})
        for n, r in enumerate(rows)
    ]


def run(classifier: Classifier, data_dir: Path) -> dict:
    """Every figure (the JSON the bench writes)."""
    moderation = Moderation(classifier)
    typed_posts = load_subtype_trial(data_dir)
    typed_decisions = decide(moderation, [p.text for p in typed_posts], "subtypes trial")
    untyped_posts = load_tsd_trial(data_dir)
    untyped_decisions = decide(moderation, [p.text for p in untyped_posts], "tsd_trial")
    untyped = [
        span_f1(reason_chars(d, len(p.text)), set(p.gold["untyped"]))
        for p, d in zip(untyped_posts, untyped_decisions, strict=True)
    ]
    typed = typed_figures(typed_posts, typed_decisions)
    untyped_f1 = mean(untyped)
    return {
        "model": classifier.label(),
        "python": platform.python_version(),
        "typed": typed,
        "untyped": {
            "posts": len(untyped_posts),
            "f1": untyped_f1,
            "posts_allowed": sum(not d.reasons for d in untyped_decisions),
        },
        "function_words": function_word_figures([*typed_decisions, *untyped_decisions]),
        "targets": {
            "insult_f1": TARGETS["insult"],
            "untyped_f1": TARGETS["untyped"],
            "function_word_rate": 0.0,
        },
        "meets": {
            "insult": (typed["insult"]["f1"] or 0.0) >= TARGETS["insult"],
            "untyped": untyped_f1 is not None and untyped_f1 >= TARGETS["untyped"],
        },
    }


def _num(value, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1%}" if percent else f"{value:.3f}"


def markdown(r: dict) -> str:
    """The report as Markdown."""
    u, fw = r["untyped"], r["function_words"]
    lines = [
        "# Span benchmark",
        "",
        f"`python bench/bench_spans.py` with {r['model']}: the spans of the decision's reasons "
        "(full decision path) against the characters raters marked.",
        "",
        "Typed, on the toxic_spans/subtypes trial posts: gold = characters marked with the type "
        "by at least half of the post's raters; predicted = spans of the reasons with that "
        "category. F1 is SemEval-2021's per-post character F1, averaged over the posts where "
        "gold or prediction is non-empty (the target figure: a missed or a spurious reason "
        "scores 0, silence where nobody typed the category does not count), over all trial "
        "posts as SemEval does (both empty = 1, which rewards silence), and over the posts "
        "with gold.",
        "",
        "| category | posts with gold | F1 (target figure) | F1, all posts | F1, posts with gold "
        "| posts without gold given a reason of it | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for category, m in r["typed"].items():
        target = ""
        if category == "insult":
            ok = "meets" if r["meets"]["insult"] else "**misses**"
            target = f">= {TARGETS['insult']} ({ok})"
        lines.append(
            f"| {category} | {m['posts_with_gold']} of {m['posts']} | **{_num(m['f1'])}** | "
            f"{_num(m['f1_all_posts'])} | {_num(m['f1_posts_with_gold'])} | "
            f"{_num(m['spurious_reason_rate'], percent=True)} | {target} |"
        )
    ok = "meets" if r["meets"]["untyped"] else "**misses**"
    common = ", ".join(f"{w} ({n})" for w, n in fw["most_common"]) or "none"
    lines += [
        "",
        f"Untyped, toxic_spans trial ({u['posts']} posts; gold = its spans, predicted = every "
        f"reason's spans): F1 **{_num(u['f1'])}**, target >= {TARGETS['untyped']} ({ok}). "
        f"{u['posts_allowed']} of the posts were allowed, so they have no reason at all.",
        "",
        f"Reasons listing a function word (pronoun, determiner, preposition, conjunction, "
        f"auxiliary...; target 0): {fw['with_function_word']} of {fw['reasons']} "
        f"({_num(fw['rate'], percent=True)}). Most common: {common}.",
        "",
        "| reason category | reasons | with a function word |",
        "|---|---|---|",
    ]
    for category, m in fw["per_category"].items():
        lines.append(f"| {category} | {m['reasons']} | {m['with_function_word']} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    args = parser.parse_args()

    started = time.perf_counter()
    result = run(Classifier.load(args.model), Path(args.data_dir))
    result["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "spans.json").write_text(json.dumps(rounded(result), indent=2) + "\n", "utf-8")
    md = markdown(result)
    (out / "spans.md").write_text(md, encoding="utf-8")
    copy_to_model_card(args.model, "spans", md)
    print(md)


if __name__ == "__main__":
    main()
