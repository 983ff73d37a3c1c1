"""Explanations: which words of a text drove a category's score, typed by category.

A word's contribution to a category is its tf-idf weight times that category's coefficient
(a word bigram's share is split between its two words; a character n-gram's share goes to
the whitespace-separated word it is in, split evenly among the tokens inside). `analyse()`
computes every token's contribution to every category once per text; `select()` then picks,
for one category, the words a moderator should read as that category's reason:

- never a function word (data/reason_stopwords.txt: "you", "your", "should", "all", "are"),
  nor a group's name (model.json's explain.never, written at training time from the identity
  terms: an attack on "Muslims" names them as its target, they are not its offensive words);
- of that category's own type: for every category but toxicity, the word's calibrated
  contribution (contribution x the category's Platt slope) must be at least `type_ratio` of
  its largest calibrated contribution to any other specific category. "idiot" raises the
  obscene score too, because insults and profanity travel together in the training data, but
  it raises insult more: it is an insult's word, not an obscene one. Toxicity, the overall
  category, takes any of its positive words;
- a clearly positive contribution: at least `min_contribution`, and at least `min_share` of
  the strongest word that passed the two tests above.

The thresholds are model.json's "explain" block (chosen on toxic_spans training posts).
"""

from __future__ import annotations

import functools
import math
import re
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from moderator.text import normalise_with_offsets

if TYPE_CHECKING:
    from moderator.classifier.model import Classifier

#: Whitespace-separated words, for attributing character n-grams.
_CHUNK = re.compile(r"\S+")


@functools.cache
def stopwords() -> frozenset[str]:
    """Words a reason never names (data/reason_stopwords.txt)."""
    path = resources.files("moderator").joinpath("data", "reason_stopwords.txt")
    lines = (line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(word.lower() for line in lines for word in line.split())


class Analysis:
    """A text's tokens and each token's contribution to every category (tokens x categories)."""

    def __init__(self, original, normalised, matches, tokens, contributions: np.ndarray):
        self.original = original
        self.normalised = normalised
        self.matches = matches
        self.tokens = tokens
        self.contributions = contributions


def analyse(clf: Classifier, original: str) -> Analysis:
    """Tokens of `original`'s normalised form and their contributions to every category."""
    normalised = normalise_with_offsets(original)
    text = normalised.text.lower() if clf._lowercase else normalised.text
    matches = list(clf._token_re.finditer(text))
    tokens = [m.group() for m in matches]
    contributions = np.zeros((len(tokens), len(clf._names)))
    if not tokens:
        return Analysis(original, normalised, matches, tokens, contributions)
    lo, hi = clf._ngrams
    positions: dict[int, list[tuple[int, ...]]] = {}
    for n in range(lo, hi + 1):
        for i in range(len(tokens) - n + 1):
            idx = clf._vocab.get(" ".join(tokens[i : i + n]))
            if idx is not None:
                positions.setdefault(idx, []).append(tuple(range(i, i + n)))
    if positions:
        features = np.fromiter(positions.keys(), dtype=np.intp, count=len(positions))
        tf = np.array([len(p) for p in positions.values()], dtype=np.float64)
        if clf._sublinear:
            tf = np.log(tf) + 1.0
        w = tf * clf._idf[features]
        per_feature = (w / math.sqrt(w @ w))[:, None] * clf._coef_t[features]
        feature, token, share = [], [], []
        for f, occurrences in enumerate(positions.values()):
            each = 1.0 / (len(occurrences) * len(occurrences[0]))
            for occurrence in occurrences:
                for i in occurrence:
                    feature.append(f)
                    token.append(i)
                    share.append(each)
        values = per_feature[feature] * np.array(share)[:, None]
        contributions += _sum_rows(np.array(token, dtype=np.intp), values, len(tokens))
    if clf._chars:
        chars = normalised.text.lower() if clf._char_lowercase else normalised.text
        chunks = list(_CHUNK.finditer(chars))
        grams = [clf._word_grams(m.group()) for m in chunks]
        occurrences = np.concatenate(grams) if grams else np.zeros(0, dtype=np.int64)
        if len(occurrences):
            idx, inverse, counts = np.unique(occurrences, return_inverse=True, return_counts=True)
            tf = counts.astype(np.float64)
            if clf._char_sublinear:
                tf = np.log(tf) + 1.0
            w = tf * clf._char_idf[idx]
            weights = (w / math.sqrt(w @ w) / counts)[inverse]
            per_gram = weights[:, None] * clf._char_coef_t[occurrences]
            gram_chunk = np.repeat(np.arange(len(chunks)), [len(g) for g in grams])
            per_chunk = _sum_rows(gram_chunk, per_gram, len(chunks))
            # \w tokens never contain whitespace, so each lies inside exactly one chunk.
            starts = np.array([m.start() for m in chunks])
            token_chunk = np.searchsorted(starts, [m.start() for m in matches], "right") - 1
            token_share = 1.0 / np.bincount(token_chunk, minlength=len(chunks))[token_chunk]
            contributions += per_chunk[token_chunk] * token_share[:, None]
    return Analysis(original, normalised, matches, tokens, contributions)


def _sum_rows(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """out[i] = sum of values[k] where index[k] == i, column by column (np.add.at is slow)."""
    out = np.empty((n, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(index, values[:, j], minlength=n)
    return out


def select(
    clf: Classifier, a: Analysis, j: int, top: int = 5
) -> tuple[list[str], list[tuple[int, int]]]:
    """Category j's reason words in `a` with their spans in the original (see module doc)."""
    if not a.tokens:
        return [], []
    skip = stopwords() | clf.never_reasons
    by_word: dict[str, np.ndarray] = {}
    for token, row in zip(a.tokens, a.contributions, strict=True):
        if token in skip or not any(c.isalpha() for c in token):
            continue
        if token in by_word:
            by_word[token] = by_word[token] + row
        else:
            by_word[token] = row
    if not by_word:
        return [], []
    candidates = [w for w, v in by_word.items() if v[j] > 0]
    if j != clf._toxicity:
        slope = clf._slope
        others = [k for k in range(len(clf._names)) if k not in (j, clf._toxicity)]
        candidates = [
            w
            for w in candidates
            if by_word[w][j] * slope[j]
            >= clf.type_ratio * max(by_word[w][k] * slope[k] for k in others)
        ]
    if not candidates:
        return [], []
    strongest = max(by_word[w][j] for w in candidates)
    cutoff = max(clf.min_contribution, clf.min_share * strongest)
    chosen = [w for w in candidates if by_word[w][j] >= cutoff]
    chosen.sort(key=lambda w: -by_word[w][j])
    rank = {w: r for r, w in enumerate(chosen[: max(top, 0)])}
    found = []
    for m, token in zip(a.matches, a.tokens, strict=True):
        if token in rank:
            start, end = a.normalised.original_span(m.start(), m.end())
            found.append((rank[token], start, end))
    found.sort()
    return [a.original[s:e] for _, s, e in found], [(s, e) for _, s, e in found]
