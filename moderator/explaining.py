"""The reasons' words of a scored batch: from the scoring pass's features where possible.

`Moderation.decide_batch` scores each comment (and its sentences) in one classifier batch, then
asks for the words behind every category that fired. A request whose text was scored exactly as
written (no allow-listed or context-excused word masked out) is explained from the features the
scoring pass already counted (`Classifier.explain_scored`); the others, and every request of a
batch scored one text at a time, are analysed afresh (`Classifier.explain_many`). Both give the
same words and spans: tests compare the two paths on real comments.
"""

from __future__ import annotations

from collections.abc import Sequence

from moderator.classifier import Classifier
from moderator.policy import Category


def explain_reasons(
    classifier: Classifier,
    texts: Sequence[str],
    combined: Sequence,
    wanted: Sequence[tuple[int, Category, int, int]],
) -> list[tuple[list[str], list[tuple[int, int]]]]:
    """For each (comment index, category, start, end) in `wanted`: words and spans into
    texts[i][start:end]. `combined` holds each comment's service._Scored (features, rows)."""
    results: list = [None] * len(wanted)
    features = combined[0].features if combined else None
    if features is not None:
        reuse = [
            (n, combined[i].rows.get((start, end)), texts[i][start:end], category)
            for n, (i, category, start, end) in enumerate(wanted)
        ]
        reuse = [r for r in reuse if r[1] is not None]
        if reuse:
            answers = classifier.explain_scored(features, [r[1:] for r in reuse])
            for (n, *_), answer in zip(reuse, answers, strict=True):
                results[n] = answer
    rest = [n for n, result in enumerate(results) if result is None]
    if rest:
        fresh = classifier.explain_many(
            [(texts[wanted[n][0]][wanted[n][2] : wanted[n][3]], wanted[n][1]) for n in rest]
        )
        for n, answer in zip(rest, fresh, strict=True):
            results[n] = answer
    return results
