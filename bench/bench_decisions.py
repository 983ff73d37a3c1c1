"""Decision quality on our own held-out sets, against alt-profanity-check (issue 8, items 6, 7).

    python bench/bench_decisions.py [--model models/default]

Decides every row with the full decision path (Moderation.decide_batch, default site rules) and
counts a row as flagged when the decision is hold or reject:
  * the neutral identity set (training.evalsets.neutral_identity_rows, >= 2,000 sentences that
    name an identity and break no rule): the false-flag rate, overall, per identity axis, and the
    terms flagged most often; target <= 2%;
  * each contrast set (training.evalsets.contrast_sets): accuracy (flag rows flagged, allow rows
    allowed), the flag rows' recall, the allow rows' pass rate, and the category accuracy (flag
    rows flagged with the expected category among the decision's reason categories);
  * the word-rule tables training/eval/innocent_words.tsv and
    tests/fixtures/word_rules_abusive.tsv (one sentence a line, "#" comments; in a line with
    tabs the last field is the text): innocent sentences rejected (target 0) and held
    (target <= 5%), abusive ones flagged (target >= 95%).
alt-profanity-check (`predict_prob` >= 0.5 = flagged; it has no categories) runs on the same
rows. Writes bench/results/decisions.json and decisions.md; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT  # noqa: E402
from harness import add_common_arguments  # noqa: E402
from harness import copy_to_model_card  # noqa: E402
from harness import decide  # noqa: E402
from harness import log  # noqa: E402
from harness import rounded  # noqa: E402

from moderator.classifier import Classifier  # noqa: E402
from moderator.policy import Action  # noqa: E402
from moderator.policy import Decision  # noqa: E402
from moderator.service import Moderation  # noqa: E402
from training.evalsets import ALLOW  # noqa: E402
from training.evalsets import AXES  # noqa: E402
from training.evalsets import FLAG  # noqa: E402
from training.evalsets import ContrastRow  # noqa: E402
from training.evalsets import contrast_sets  # noqa: E402
from training.evalsets import neutral_identity_rows  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
ALT_THRESHOLD = 0.5
TARGETS = {
    "neutral_false_flag_rate_max": 0.02,
    "innocent_rejects_max": 0,
    "innocent_hold_rate_max": 0.05,
    "abusive_flag_rate_min": 0.95,
}
EXAMPLES = 25


def flagged(decision: Decision) -> bool:
    """Held or rejected: a moderator sees it, or it never appears."""
    return decision.action is not Action.ALLOW


def reason_categories(decision: Decision) -> set[str]:
    """The categories the decision gives reasons for."""
    return {reason.category for reason in decision.reasons}


def rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def neutral_figures(axes: Sequence[str], terms: Sequence[str], flags: Sequence[bool]) -> dict:
    """False-flag rate overall, per axis, and the terms flagged most often."""
    per_axis: dict[str, list[int]] = {a: [0, 0] for a in AXES}
    per_term: dict[str, list[int]] = {}
    for axis, term, flag in zip(axes, terms, flags, strict=True):
        per_axis.setdefault(axis, [0, 0])
        per_axis[axis][0] += 1
        per_axis[axis][1] += flag
        per_term.setdefault(term, [0, 0])
        per_term[term][0] += 1
        per_term[term][1] += flag
    worst = sorted(per_term.items(), key=lambda kv: (-kv[1][1] / kv[1][0], kv[0]))[:10]
    axis_rates = [k / n for n, k in per_axis.values() if n]
    return {
        "n": len(flags),
        "flagged": sum(flags),
        "rate": rate(sum(flags), len(flags)),
        "axis_macro_rate": sum(axis_rates) / len(axis_rates) if axis_rates else None,
        "per_axis": {
            a: {"n": n, "flagged": k, "rate": rate(k, n)} for a, (n, k) in per_axis.items()
        },
        "worst_terms": [{"term": t, "n": n, "flagged": k, "rate": k / n} for t, (n, k) in worst],
    }


def contrast_figures(
    rows: Sequence[ContrastRow],
    flags: Sequence[bool],
    categories: Sequence[set[str]] | None = None,
) -> dict:
    """Accuracy, flag-row recall, allow-row pass rate and (with categories) category accuracy."""
    flag_rows = [i for i, r in enumerate(rows) if r.expected == FLAG]
    allow_rows = [i for i, r in enumerate(rows) if r.expected == ALLOW]
    correct = sum(flags[i] == (rows[i].expected == FLAG) for i in range(len(rows)))
    out = {
        "n": len(rows),
        "flag_rows": len(flag_rows),
        "allow_rows": len(allow_rows),
        "accuracy": rate(correct, len(rows)),
        "flag_recall": rate(sum(flags[i] for i in flag_rows), len(flag_rows)),
        "allow_pass_rate": rate(sum(not flags[i] for i in allow_rows), len(allow_rows)),
    }
    if categories is not None:
        right = sum(flags[i] and str(rows[i].category) in categories[i] for i in flag_rows)
        out["category_accuracy"] = rate(right, len(flag_rows))
    return out


def table_texts(path: Path) -> list[str]:
    """A word-rule table's sentences: one a line, '#' comments; the last tab field if tabbed.
    The tables are ASCII with Python escapes for everything else ("\\u0456"), as their
    header says; they are decoded here as the tests decode them."""
    texts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text = line.split("\t")[-1].strip() if "\t" in line else line.strip()
        if text.isascii():
            text = text.encode("ascii").decode("unicode_escape")
        texts.append(text)
    return texts


def table_figures(decisions: Sequence[Decision], alt: Sequence[float]) -> dict:
    """Rejected, held and flagged counts and rates, and alt-profanity-check's flag rate."""
    n = len(decisions)
    rejects = sum(d.action is Action.REJECT for d in decisions)
    holds = sum(d.action is Action.HOLD for d in decisions)
    alt_flags = sum(p >= ALT_THRESHOLD for p in alt)
    return {
        "n": n,
        "rejected": rejects,
        "held": holds,
        "hold_rate": rate(holds, n),
        "flag_rate": rate(rejects + holds, n),
        "alt_profanity_check_flag_rate": rate(alt_flags, n),
    }


def table_result(name: str, texts: list[str], moderation: Moderation, predict_prob) -> dict:
    """One word-rule table's figures against its targets, with the rows it gets wrong."""
    decisions = decide(moderation, texts, name)
    figures = table_figures(decisions, [float(p) for p in predict_prob(texts)])
    innocent = "innocent" in name
    figures["kind"] = "innocent" if innocent else "abusive"
    if innocent:
        figures["meets"] = (
            figures["rejected"] <= TARGETS["innocent_rejects_max"]
            and figures["hold_rate"] <= TARGETS["innocent_hold_rate_max"]
        )
    else:
        figures["meets"] = figures["flag_rate"] >= TARGETS["abusive_flag_rate_min"]
    wrong = [outcome(t, d) for t, d in zip(texts, decisions, strict=True) if flagged(d) == innocent]
    figures["model_wrong"] = wrong[:EXAMPLES]
    return figures


def outcome(text: str, decision: Decision) -> dict:
    """One row as the report lists it."""
    return {
        "text": text,
        "decision": str(decision.action),
        "reasons": sorted(reason_categories(decision)),
    }


def run(classifier: Classifier, fixtures: Path = FIXTURES) -> dict:
    """Every figure (the JSON the bench writes)."""
    from profanity_check import predict_prob

    moderation = Moderation(classifier)

    neutral = neutral_identity_rows()
    texts = [r.text for r in neutral]
    decisions = decide(moderation, texts, "neutral identity")
    flags = [flagged(d) for d in decisions]
    alt = [float(p) for p in predict_prob(texts)]
    alt_flags = [p >= ALT_THRESHOLD for p in alt]
    axes, terms = [r.axis for r in neutral], [r.term for r in neutral]
    neutral_result = {
        "model": neutral_figures(axes, terms, flags),
        "alt_profanity_check": neutral_figures(axes, terms, alt_flags),
        "model_rejected": sum(d.action is Action.REJECT for d in decisions),
        "model_flagged_examples": [
            outcome(t, d) for t, d in zip(texts, decisions, strict=True) if flagged(d)
        ][:EXAMPLES],
    }

    contrast = {}
    for name, rows in contrast_sets().items():
        texts = [r.text for r in rows]
        decisions = decide(moderation, texts, f"contrast {name}")
        flags = [flagged(d) for d in decisions]
        alt_flags = [float(p) >= ALT_THRESHOLD for p in predict_prob(texts)]
        wrong = [
            {**outcome(r.text, d), "expected": r.expected, "category": r.category}
            for r, d, f in zip(rows, decisions, flags, strict=True)
            if f != (r.expected == FLAG)
        ]
        contrast[name] = {
            "model": contrast_figures(rows, flags, [reason_categories(d) for d in decisions]),
            "alt_profanity_check": contrast_figures(rows, alt_flags),
            "model_wrong": wrong,
        }

    tables = {}
    for path in [
        ROOT / "training" / "eval" / "innocent_words.tsv",
        *sorted(fixtures.glob("*abusive*.tsv")),
    ]:
        texts = table_texts(path)
        if texts:
            tables[path.name] = table_result(path.name, texts, moderation, predict_prob)
    if not tables:
        log(f"no word-rule tables (*innocent*.tsv, *abusive*.tsv) in {fixtures}: skipped")

    return {
        "model": classifier.label(),
        "python": platform.python_version(),
        "targets": TARGETS,
        "neutral_identity": neutral_result,
        "contrast": contrast,
        "word_rule_tables": tables,
        "meets": {
            "neutral_identity": neutral_result["model"]["rate"]
            <= TARGETS["neutral_false_flag_rate_max"],
            **{name: t["meets"] for name, t in tables.items()},
        },
    }


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def markdown(r: dict) -> str:
    """The report as Markdown."""
    n = r["neutral_identity"]
    m, a = n["model"], n["alt_profanity_check"]
    ok = "meets" if r["meets"]["neutral_identity"] else "**misses**"
    lines = [
        "# Decision benchmark",
        "",
        f"`python bench/bench_decisions.py` with {r['model']}: the full decision path "
        "(default site rules) on our own held-out sets (training/eval/, never trained on). "
        "Flagged = held or rejected; alt-profanity-check flags at `predict_prob` >= 0.5.",
        "",
        f"## Neutral identity set ({m['n']} sentences)",
        "",
        f"False-flag rate: model **{_pct(m['rate'])}** ({m['flagged']} flagged, "
        f"{n['model_rejected']} of them rejected), alt-profanity-check {_pct(a['rate'])} "
        f"({a['flagged']}). Target <= {TARGETS['neutral_false_flag_rate_max']:.0%} ({ok}). "
        f"Mean of the axes' rates: model {_pct(m['axis_macro_rate'])}, alt-profanity-check "
        f"{_pct(a['axis_macro_rate'])}.",
        "",
        "| axis | sentences | model false flags | alt-profanity-check false flags |",
        "|---|---|---|---|",
    ]
    for axis, fig in m["per_axis"].items():
        alt = a["per_axis"][axis]
        lines.append(
            f"| {axis} | {fig['n']} | {_pct(fig['rate'])} ({fig['flagged']}) | "
            f"{_pct(alt['rate'])} ({alt['flagged']}) |"
        )
    worst = ", ".join(f"{w['term']} {_pct(w['rate'])}" for w in m["worst_terms"] if w["flagged"])
    lines += ["", f"Terms the model flags most often: {worst or 'none'}.", ""]
    lines += [
        "## Contrast sets",
        "",
        "Accuracy counts flag rows held or rejected and allow rows allowed; category accuracy "
        "counts flag rows flagged with the expected category among the reasons.",
        "",
        "| set | rows (flag/allow) | model accuracy | flag rows flagged | allow rows allowed "
        "| category accuracy | alt-profanity-check accuracy | alt flag rows flagged "
        "| alt allow rows allowed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in r["contrast"].items():
        mo, al = c["model"], c["alt_profanity_check"]
        lines.append(
            f"| {name} | {mo['n']} ({mo['flag_rows']}/{mo['allow_rows']}) | "
            f"**{_pct(mo['accuracy'])}** | {_pct(mo['flag_recall'])} | "
            f"{_pct(mo['allow_pass_rate'])} | {_pct(mo['category_accuracy'])} | "
            f"{_pct(al['accuracy'])} | {_pct(al['flag_recall'])} | {_pct(al['allow_pass_rate'])} |"
        )
    lines += ["", "## Word-rule tables", ""]
    if not r["word_rule_tables"]:
        lines.append("No tests/fixtures/*innocent*.tsv or *abusive*.tsv: skipped.")
    else:
        lines += [
            "| table | sentences | rejected | held | flagged | alt-profanity-check flagged "
            "| target |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, t in r["word_rule_tables"].items():
            if t["kind"] == "innocent":
                target = "0 rejected, <= 5% held"
            else:
                target = ">= 95% flagged"
            verdict = "meets" if t["meets"] else "**misses**"
            lines.append(
                f"| {name} | {t['n']} | {t['rejected']} | {_pct(t['hold_rate'])} | "
                f"{_pct(t['flag_rate'])} | {_pct(t['alt_profanity_check_flag_rate'])} | "
                f"{target} ({verdict}) |"
            )
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, data=False)
    args = parser.parse_args()

    started = time.perf_counter()
    classifier = Classifier.load(args.model)
    log(f"model {classifier.label()}")
    result = run(classifier)
    result["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "decisions.json").write_text(
        json.dumps(rounded(result), indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    md = markdown(result)
    (out / "decisions.md").write_text(md, encoding="utf-8")
    copy_to_model_card(args.model, "decisions", md)
    print(md)


if __name__ == "__main__":
    main()
