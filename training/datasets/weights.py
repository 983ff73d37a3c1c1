"""Per-row training weights: source weights, repeated snippets, counterfactual copies, and
identity-term templates balanced so that a group's name alone carries no evidence."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from moderator.policy import CATEGORIES
from training.datasets.base import NO_VALIDATION
from training.datasets.base import TRAIN
from training.datasets.base import Example

#: Cap per template row, so a few dozen sentences never outweigh a whole dataset.
MAX_TEMPLATE_WEIGHT = 20.0
#: Categories whose identity-term statistics the template weights balance.
BALANCED = ("toxicity", "identity_attack")
#: Span snippets are short and positive-only, so they count less than whole comments.
SNIPPET_WEIGHT = 0.3
#: Snippet sources whose repeated texts are kept once with a count: "idiot" typed as an insult
#: in 300 posts is stronger evidence than in one. The weight grows with the square root of it.
COUNTED = frozenset({"toxic_spans", "toxic_spans_types"})
SOURCE_WEIGHTS = {
    "toxic_spans": SNIPPET_WEIGHT,
    "toxic_spans_types": SNIPPET_WEIGHT,
    # Sentences labelled from their post's spans: the negatives are weak (unmarked, not judged).
    "toxic_spans_sentences": 0.5,
    # Keyword-sampled, with annotator disagreement the authors warn about.
    "mlma": 0.5,
}


def sample_weights(examples: Sequence[Example], normalised: Sequence[str]) -> list[float]:
    """Per-row training weight.

    Sources count SOURCE_WEIGHTS (span snippets, weak sentences, noisy MLMA), a snippet said
    n times counts sqrt(n) times that, counterfactual copies share their original's weight
    (1 / copies each). Template sentences for an identity
    term are weighted so that, for toxicity and identity_attack, the term's labelled rows
    (real rows, copies and attack templates, by weight) are positive no more often than all
    labelled rows are: the term alone then carries no evidence (Dixon et al. 2018, "Measuring
    and Mitigating Unintended Bias in Text Classification", balance by adding non-toxic
    identity examples). Everything else is 1.
    """
    copies: dict[int, int] = {}
    for e in examples:
        if e.source == "counterfactual":
            original = e.meta["counterfactual_of"]
            copies[original] = copies.get(original, 0) + 1
    weights = []
    for e in examples:
        if e.source == "counterfactual":
            original = examples[e.meta["counterfactual_of"]]
            share = 1.0 / copies[e.meta["counterfactual_of"]]
            weights.append(SOURCE_WEIGHTS.get(original.source, 1.0) * share)
        else:
            repeats = e.meta.get("repeats", 1) if e.source in COUNTED else 1
            weights.append(SOURCE_WEIGHTS.get(e.source, 1.0) * math.sqrt(repeats))
    templates: dict[tuple[str, str], list[int]] = {}
    for i, e in enumerate(examples):
        if e.source == "templates":
            templates.setdefault(e.meta["term"], []).append(i)
    if not templates:
        return weights
    real = [
        i
        for i, e in enumerate(examples)
        if e.split == TRAIN and (e.source not in NO_VALIDATION or e.source == "counterfactual")
    ]
    columns = [CATEGORIES.index(c) for c in BALANCED]
    rates = []
    for j in columns:
        known = [(examples[i].labels[j], weights[i]) for i in real]
        known = [(y, w) for y, w in known if not math.isnan(y)]
        total = sum(w for _, w in known)
        rates.append(sum(y * w for y, w in known) / total if total else 0.0)
    # Our attack templates name groups too: the neutral ones must balance them as well.
    counted = real + [
        i for i, e in enumerate(examples) if e.source in ("attack_templates", "counter_templates")
    ]
    for (adj, group), rows in templates.items():
        pattern = re.compile(rf"\b({re.escape(adj.lower())}|{re.escape(group.lower())})\b")
        hits = [i for i in counted if pattern.search(normalised[i])]
        deficit = 0.0
        for j, rate in zip(columns, rates, strict=True):
            known = [
                (examples[i].labels[j], weights[i])
                for i in hits
                if not math.isnan(examples[i].labels[j])
            ]
            positives = sum(w for y, w in known if y == 1)
            negatives = sum(w for y, w in known if y == 0)
            if 0 < rate < 1:
                deficit = max(deficit, positives * (1 - rate) / rate - negatives)
        for i in rows:
            weights[i] = min(MAX_TEMPLATE_WEIGHT, max(1.0, deficit / len(rows)))
    return weights
