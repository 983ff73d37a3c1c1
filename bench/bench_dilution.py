"""Dilution: does an abusive row still count when civil sentences surround it? (issue 8, item 2)

    python bench/bench_dilution.py [--model models/default] [--data-dir ../shared/data] [--seed 8]

For every public test split (training.datasets.load_all, split "test"), each labelled row is
scored three ways through the full decision path (Moderation.decide_batch(...).scores, so
sentence-aware scoring shows up here as soon as the service does it):
  * bare:   the row alone;
  * after:  the row placed AFTER 1-3 neutral rows of the same split;
  * before: the row placed BEFORE the same neutral rows.
A neutral row is labelled 0 in every category its dataset labels (for EDOS, whose not-sexist
rows label only identity_attack, that means "not sexist"); a row never pads itself. The number
of neutral rows, which ones, and each separator (a space or a newline, as a reader writes
paragraphs) come from a seeded RNG per split, and "after" and "before" use the same draw, so
they differ only in where the row sits. Reported per split and category: recall at the model's
hold threshold (classifier.thresholds[category].hold), AUC, and the flag rate on the negatives
at that threshold (padding must not buy recall with false flags), bare vs padded, with deltas.
Targets (issue 8): padded recall within 2 points of bare and padded AUC within 0.01 of bare
(a padded figure may be higher; only a drop counts against the target).
Writes bench/results/dilution.json and dilution.md; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import add_common_arguments  # noqa: E402
from harness import copy_to_model_card  # noqa: E402
from harness import decide  # noqa: E402
from harness import log  # noqa: E402
from harness import rounded  # noqa: E402

from moderator.classifier import Classifier  # noqa: E402
from moderator.policy import CATEGORIES  # noqa: E402
from moderator.policy import Action  # noqa: E402
from moderator.policy import Threshold  # noqa: E402
from moderator.service import Moderation  # noqa: E402
from training.datasets import TEST  # noqa: E402
from training.datasets import load_all  # noqa: E402

NAMES = tuple(str(c) for c in CATEGORIES)
#: Issue 8's targets: the largest drop from bare to padded that still passes.
RECALL_DROP_MAX = 0.02
AUC_DROP_MAX = 0.01
PADDING = (1, 3)
SEPARATORS = (" ", "\n")
VARIANTS = ("bare", "after", "before")


def is_labelled(labels: Sequence[float]) -> bool:
    """Whether the row has a label in at least one category."""
    return any(not math.isnan(v) for v in labels)


def is_neutral(labels: Sequence[float]) -> bool:
    """Labelled 0 in every category its dataset labels (and labelled in at least one)."""
    return is_labelled(labels) and all(math.isnan(v) or v == 0 for v in labels)


def pad(text: str, neutrals: Sequence[str], separators: Sequence[str]) -> tuple[str, str]:
    """(after, before): `text` after the neutral rows, and before them, with the same joins.

    `separators[i]` joins piece i to piece i + 1, so there is one per neutral row.
    """
    if len(separators) != len(neutrals) or not neutrals:
        raise ValueError("one separator per neutral row, and at least one neutral row")
    pieces = [n.strip() for n in neutrals]
    row = text.strip()

    def join(parts: list[str]) -> str:
        out = parts[0]
        for sep, part in zip(separators, parts[1:], strict=True):
            out += sep + part
        return out

    return join([*pieces, row]), join([row, *pieces])


def padded_rows(
    texts: Sequence[str], rows: Sequence[int], pool: Sequence[int], rng: random.Random
) -> tuple[list[str], list[str]]:
    """For each index in `rows`: (after, before) texts padded with 1-3 rows of `pool`.

    A row is never padded with itself; the pool must hold more than PADDING's maximum.
    """
    if len(pool) <= PADDING[1]:
        raise ValueError(f"need more than {PADDING[1]} neutral rows, got {len(pool)}")
    after, before = [], []
    for i in rows:
        k = rng.randint(*PADDING)
        chosen: list[int] = []
        while len(chosen) < k:
            j = pool[rng.randrange(len(pool))]
            if j != i and j not in chosen:
                chosen.append(j)
        separators = [rng.choice(SEPARATORS) for _ in range(k)]
        a, b = pad(texts[i], [texts[j] for j in chosen], separators)
        after.append(a)
        before.append(b)
    return after, before


def figures(y: np.ndarray, scores: np.ndarray, threshold: Threshold) -> dict:
    """Recall at the hold threshold, AUC, and the flag rate on negatives (None when undefined)."""
    flagged = np.array([threshold.action(float(s)) is not Action.ALLOW for s in scores])
    positives, negatives = y == 1, y == 0
    return {
        "recall": float(flagged[positives].mean()) if positives.any() else None,
        "auc": float(roc_auc_score(y, scores)) if positives.any() and negatives.any() else None,
        "flag_rate_negatives": float(flagged[negatives].mean()) if negatives.any() else None,
    }


def compare(bare: dict, padded: dict) -> dict:
    """The padded figures with their deltas from bare and whether they meet the targets."""
    out = dict(padded)
    for key in ("recall", "auc", "flag_rate_negatives"):
        if bare[key] is not None and padded[key] is not None:
            out[f"{key}_delta"] = padded[key] - bare[key]
    checks = []
    if "recall_delta" in out:
        checks.append(out["recall_delta"] >= -RECALL_DROP_MAX - 1e-12)
    if "auc_delta" in out:
        checks.append(out["auc_delta"] >= -AUC_DROP_MAX - 1e-12)
    out["meets"] = all(checks) if checks else None
    return out


def score(moderation: Moderation, texts: list[str], label: str) -> np.ndarray:
    """Per-category scores of the full decision path, rows x NAMES."""
    out = []
    for decision in decide(moderation, texts, label):
        if not decision.scores:
            raise SystemExit("the classifier failed to score a row; see the log above")
        out.append([decision.scores[n] for n in NAMES])
    return np.array(out, dtype=float)


def run(classifier: Classifier, data_dir: Path, seed: int) -> dict:
    """Every split's figures (the JSON the bench writes)."""
    moderation = Moderation(classifier)
    thresholds = {str(c): t for c, t in classifier.thresholds.items()}
    log(f"model {classifier.label()}; loading data from {data_dir}")
    test = [e for e in load_all(data_dir) if e.split == TEST]
    splits: dict = {}
    pooled: dict[str, dict[str, list]] = {n: {"y": [], **{v: [] for v in VARIANTS}} for n in NAMES}
    for source in sorted({e.source for e in test}):
        examples = [e for e in test if e.source == source]
        texts = [e.text for e in examples]
        labels = np.array([e.labels for e in examples], dtype=float)
        rows = [i for i, e in enumerate(examples) if is_labelled(e.labels)]
        pool = [i for i, e in enumerate(examples) if is_neutral(e.labels)]
        rng = random.Random(f"{seed}:{source}")
        after, before = padded_rows(texts, rows, pool, rng)
        scored = {
            "bare": score(moderation, [texts[i] for i in rows], f"{source} bare"),
            "after": score(moderation, after, f"{source} after"),
            "before": score(moderation, before, f"{source} before"),
        }
        categories = {}
        for j, name in enumerate(NAMES):
            y_all = labels[rows, j]
            mask = ~np.isnan(y_all)
            if not mask.any():
                continue
            y = y_all[mask]
            for v in VARIANTS:
                pooled[name][v].append(scored[v][mask, j])
            pooled[name]["y"].append(y)
            categories[name] = category_result(y, {v: scored[v][mask, j] for v in VARIANTS},
                                               thresholds[name])  # fmt: skip
        splits[source] = {"rows": len(rows), "neutral_pool": len(pool), "categories": categories}
    all_splits = {}
    for name, parts in pooled.items():
        if parts["y"]:
            y = np.concatenate(parts["y"])
            variants = {v: np.concatenate(parts[v]) for v in VARIANTS}
            all_splits[name] = category_result(y, variants, thresholds[name])
    checks = [
        m["after"]["meets"] and m["before"]["meets"]
        for s in splits.values()
        for m in s["categories"].values()
        if m["after"]["meets"] is not None and m["before"]["meets"] is not None
    ]
    return {
        "model": classifier.label(),
        "seed": seed,
        "python": platform.python_version(),
        "targets": {"recall_drop_max": RECALL_DROP_MAX, "auc_drop_max": AUC_DROP_MAX},
        "padding": {"neutral_rows": list(PADDING), "separators": list(SEPARATORS)},
        "splits": splits,
        "all_splits": all_splits,
        "rows_meeting_targets": f"{sum(checks)}/{len(checks)}",
        "all_meet": all(checks),
    }


def category_result(y: np.ndarray, scores: dict[str, np.ndarray], threshold: Threshold) -> dict:
    """One category's figures: n, positives, hold, bare, and the padded variants compared."""
    bare = figures(y, scores["bare"], threshold)
    return {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "hold": threshold.hold,
        "bare": bare,
        "after": compare(bare, figures(y, scores["after"], threshold)),
        "before": compare(bare, figures(y, scores["before"], threshold)),
    }


def _num(value, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _cell(padded: dict, key: str) -> str:
    return f"{_num(padded[key])} ({_num(padded.get(key + '_delta'), signed=True)})"


def _meets(m: dict) -> str:
    marks = [m[v]["meets"] for v in ("after", "before")]
    if any(x is None for x in marks):
        return "n/a"
    return "yes" if all(marks) else "**no**"


def markdown(r: dict) -> str:
    """The report as Markdown."""
    lines = [
        "# Dilution benchmark",
        "",
        f"`python bench/bench_dilution.py --seed {r['seed']}` with {r['model']}. Each labelled "
        "row of every public test split scored alone (bare), after 1-3 neutral rows of the same "
        "split (after) and before the same rows (before), joined by a space or a newline. "
        "Scores from the full decision path (`Moderation.decide_batch`). Recall and the flag "
        "rate on negatives are at the model's hold threshold; deltas are padded minus bare.",
        "",
        f"Targets: padded recall at most {RECALL_DROP_MAX * 100:.0f} points below bare, padded "
        f"AUC at most {AUC_DROP_MAX} below bare. Split x category rows meeting both targets "
        f"with both paddings: "
        f"{r['rows_meeting_targets']}.",
        "",
        "| split | category | n | pos | hold | recall bare | recall after (Δ) | recall before (Δ) "
        "| AUC bare | AUC after (Δ) | AUC before (Δ) | neg. flag rate bare / after / before "
        "| meets |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    blocks = [(s, v["categories"]) for s, v in r["splits"].items()]
    blocks.append(("all splits", r["all_splits"]))
    for source, cats in blocks:
        for name, m in cats.items():
            if not m["positives"]:
                continue
            b, a, f = m["bare"], m["after"], m["before"]
            lines.append(
                f"| {source} | {name} | {m['n']} | {m['positives']} | {m['hold']} | "
                f"{_num(b['recall'])} | {_cell(a, 'recall')} | {_cell(f, 'recall')} | "
                f"{_num(b['auc'])} | {_cell(a, 'auc')} | {_cell(f, 'auc')} | "
                f"{_num(b['flag_rate_negatives'])} / {_num(a['flag_rate_negatives'])} / "
                f"{_num(f['flag_rate_negatives'])} | {_meets(m)} |"
            )
    pools = ", ".join(f"{s} {v['neutral_pool']}" for s, v in r["splits"].items())
    lines += [
        "",
        f"Neutral rows available per split (labelled 0 in every category the dataset labels): "
        f"{pools}. EDOS labels only sexism, so its neutral rows are merely not sexist and may "
        "hold profanity or insults. Categories without positives in a split are in "
        "dilution.json only. The 'all splits' rows pool every split's rows (their AUC mixes "
        "datasets; the target applies per split).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--seed", type=int, default=8, help="seed of the padding draws")
    args = parser.parse_args()

    started = time.perf_counter()
    result = run(Classifier.load(args.model), Path(args.data_dir), args.seed)
    result["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dilution.json").write_text(json.dumps(rounded(result), indent=2) + "\n", "utf-8")
    md = markdown(result)
    (out / "dilution.md").write_text(md, encoding="utf-8")
    copy_to_model_card(args.model, "dilution", md)
    print(md)


if __name__ == "__main__":
    main()
