"""Quality on every public test split: Moderator's model against alt-profanity-check.

    python bench/bench_quality.py [--model models/default] [--data-dir ../shared/data]

Scores the same held-out rows (OLID official test, Davidson's seeded 20%, HASOC 2019 and
GHC official tests de-duplicated against train, EDOS official test) with the model and with
alt-profanity-check's `predict_prob` (one "profane" score, used for every category), and
reports AUC per dataset and category, OLID subtask A macro-F1, Davidson 3-class weighted F1
and hate recall, the false-flag rate on the neutral identity sentences of training/eval/
(training/evalsets.py), and the model's explanation char-F1 on toxic_spans trial. The model's
scores are the decision path's (each text whole and sentence by sentence, the highest per
category: moderator.service.Moderation.scores). Operating points: the model's come from
model.json (chosen on validation rows); alt-profanity-check uses its own `predict`
threshold, 0.5. Writes bench/results/quality.json and quality.md, and copies the summary
into the model's MODEL_CARD.md. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.metrics import recall_score
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moderator.classifier import Classifier  # noqa: E402
from moderator.service import Moderation  # noqa: E402
from training.artifacts import replace_bench_section  # noqa: E402
from training.datasets import SPANS  # noqa: E402
from training.datasets import TEST  # noqa: E402
from training.datasets import load_all  # noqa: E402
from training.evalsets import neutral_identity  # noqa: E402
from training.evaluate import NAMES  # noqa: E402
from training.evaluate import apply_davidson_head  # noqa: E402
from training.evaluate import explanation_span_f1  # noqa: E402

ALT_THRESHOLD = 0.5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("MODERATOR_DATA_DIR", str(ROOT.parent / "shared" / "data")),
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument(
        "--neutral",
        default=None,
        help="neutral sentences, one a line (default: training/eval's neutral identity set)",
    )
    args = parser.parse_args()

    from profanity_check import predict_prob

    classifier = Classifier.load(args.model)
    thresholds = {str(c): t for c, t in classifier.thresholds.items()}
    points = classifier.metadata.get("operating_points", {})
    log(f"model {classifier.label()}; loading data from {args.data_dir}")
    examples = load_all(Path(args.data_dir))
    test = [e for e in examples if e.split == TEST]
    raw = [e.text for e in test]
    started = time.perf_counter()
    scorer = Moderation(classifier)
    ours = np.array([[s[n] for n in NAMES] for s in scorer.scores(raw)])
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    alt = np.asarray(predict_prob(raw), dtype=float)
    alt_seconds = time.perf_counter() - started
    labels = np.array([e.labels for e in test], dtype=float)
    sources = np.array([e.source for e in test])

    auc: dict = {}
    for source in sorted(set(sources)):
        auc[source] = {}
        for j, name in enumerate(NAMES):
            mask = (sources == source) & ~np.isnan(labels[:, j])
            y = labels[mask, j]
            if mask.sum() == 0 or y.min() == y.max():
                continue
            auc[source][name] = {
                "n": int(mask.sum()),
                "positives": int(y.sum()),
                "model": round(float(roc_auc_score(y, ours[mask, j])), 4),
                "alt_profanity_check": round(float(roc_auc_score(y, alt[mask])), 4),
            }

    olid = sources == "olid"
    y = labels[olid, 0].astype(int)
    at = points.get("olid_toxicity", thresholds["toxicity"].hold)
    olid_result = {
        "n": int(olid.sum()),
        "model": round(float(f1_score(y, ours[olid, 0] >= at, average="macro")), 4),
        "model_threshold": at,
        "alt_profanity_check": round(
            float(f1_score(y, alt[olid] >= ALT_THRESHOLD, average="macro")), 4
        ),
    }

    davidson = sources == "davidson"
    truth = np.array([e.meta["class"] for e, d in zip(test, davidson, strict=True) if d])
    ours_class = apply_davidson_head(points["davidson_head"], ours[davidson])
    # alt-profanity-check has one score: offensive at >= 0.5, neither below; it never says hate.
    alt_class = np.where(alt[davidson] >= ALT_THRESHOLD, 1, 2)
    davidson_result = {"n": int(davidson.sum())}
    for key, pred in (("model", ours_class), ("alt_profanity_check", alt_class)):
        davidson_result[key] = {
            "weighted_f1": round(float(f1_score(truth, pred, average="weighted")), 4),
            "macro_f1": round(float(f1_score(truth, pred, average="macro")), 4),
            "hate_recall": round(float(recall_score(truth == 0, pred == 0)), 4),
        }

    if args.neutral is None:
        neutral = neutral_identity()
    else:
        neutral = [
            line.strip()
            for line in Path(args.neutral).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]
    scores = scorer.scores(neutral)
    ours_flags = [
        t
        for t, s in zip(neutral, scores, strict=True)
        if any(s[c] >= thresholds[c].hold for c in NAMES)
    ]
    alt_flags = [
        t for t, p in zip(neutral, predict_prob(neutral), strict=True) if p >= ALT_THRESHOLD
    ]
    neutral_result = {
        "n": len(neutral),
        "model": {"false_flags": len(ours_flags), "rate": round(len(ours_flags) / len(neutral), 4)},
        "alt_profanity_check": {
            "false_flags": len(alt_flags),
            "rate": round(len(alt_flags) / len(neutral), 4),
        },
        "model_flagged": ours_flags,
        "alt_flagged": alt_flags,
    }
    trial = [e for e in examples if e.split == SPANS]
    log("explaining toxic_spans trial")
    spans_result = {"n": len(trial), "model_char_f1": explanation_span_f1(classifier, trial)}

    beaten = [
        (s, c)
        for s, cats in auc.items()
        for c, m in cats.items()
        if m["model"] <= m["alt_profanity_check"]
    ]
    result = {
        "model": classifier.label(),
        "python": platform.python_version(),
        "rows_scored": len(test),
        "seconds": {"model": round(ours_seconds, 3), "alt_profanity_check": round(alt_seconds, 3)},
        "auc": auc,
        "splits_where_model_auc_is_not_higher": [f"{s}/{c}" for s, c in beaten],
        "olid_subtask_a_macro_f1": olid_result,
        "davidson_3class": davidson_result,
        "neutral_identity": neutral_result,
        "toxic_spans_trial": spans_result,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = markdown(result)
    (out / "quality.md").write_text(md, encoding="utf-8")
    card = Path(args.model) / "MODEL_CARD.md"
    if card.is_file():
        replace_bench_section(card, md.split("\n", 2)[2])
    print(md)


def markdown(r: dict) -> str:
    """The report as Markdown (the model card quotes everything after the title)."""
    lines = [
        "# Quality benchmark",
        "",
        f"`python bench/bench_quality.py` with {r['model']} against alt-profanity-check "
        f"(`predict_prob`), same {r['rows_scored']} held-out rows.",
        "",
        "AUC per held-out split (the higher in bold):",
        "",
        "| dataset | category | n | positives | model AUC | alt-profanity-check AUC |",
        "|---|---|---|---|---|---|",
    ]
    for source, cats in r["auc"].items():
        for c, m in cats.items():
            ours, alt = m["model"], m["alt_profanity_check"]
            ours_s, alt_s = (f"**{ours}**", str(alt)) if ours > alt else (str(ours), f"**{alt}**")
            lines.append(f"| {source} | {c} | {m['n']} | {m['positives']} | {ours_s} | {alt_s} |")
    o, d, n = r["olid_subtask_a_macro_f1"], r["davidson_3class"], r["neutral_identity"]
    lines += [
        "",
        "| measure | model | alt-profanity-check |",
        "|---|---|---|",
        f"| OLID subtask A official test macro-F1 (n={o['n']}) | {o['model']} "
        f"(threshold {o['model_threshold']}) | {o['alt_profanity_check']} (0.5) |",
        f"| Davidson held-out 3-class weighted F1 (n={d['n']}) | {d['model']['weighted_f1']} | "
        f"{d['alt_profanity_check']['weighted_f1']} |",
        f"| Davidson hate recall | {d['model']['hate_recall']} | "
        f"{d['alt_profanity_check']['hate_recall']} (never predicts hate) |",
        f"| Neutral identity false-flag rate (n={n['n']}) | {n['model']['rate']:.1%} | "
        f"{n['alt_profanity_check']['rate']:.1%} |",
        f"| toxic_spans trial explanation char-F1 (n={r['toxic_spans_trial']['n']}) | "
        f"{r['toxic_spans_trial']['model_char_f1']} | n/a |",
        "",
        "Splits where the model's AUC is not above alt-profanity-check's: "
        + (", ".join(r["splits_where_model_auc_is_not_higher"]) or "none")
        + ".",
        "",
        f"Scoring time for all rows: model {r['seconds']['model']} s, "
        f"alt-profanity-check {r['seconds']['alt_profanity_check']} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
