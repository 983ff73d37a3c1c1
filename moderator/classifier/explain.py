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
import itertools
import re
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from moderator.classifier import compiled
from moderator.classifier.features import group
from moderator.classifier.features import sublinear_tf
from moderator.classifier.features import sum_rows
from moderator.text import normalise_with_offsets

if TYPE_CHECKING:
    from moderator.classifier.features import Features
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
    """A text's tokens and each token's contribution to every category (tokens x categories).

    The alignment back to the original text is made only when a reason's span is asked for
    (`span`), unless the analysis already had it.
    """

    def __init__(self, original, normalised, matches, tokens, contributions: np.ndarray):
        self.original = original
        self.normalised = normalised
        self.matches = matches
        self.tokens = tokens
        self.contributions = contributions
        #: word -> its summed contributions per category, built by select() the first time.
        self.by_word: dict[str, list[float]] | None = None

    def span(self, clf: Classifier, k: int) -> tuple[int, int]:
        """Token k's [start, end) in the original text."""
        if self.matches is None:
            self.normalised = normalise_with_offsets(self.original, clf.language)
            text = self.normalised.text
            self.matches = list(clf._token_re.finditer(text.lower() if clf._lowercase else text))
        m = self.matches[k]
        return self.normalised.original_span(m.start(), m.end())


def analyse(clf: Classifier, original: str) -> Analysis:
    """Tokens of `original`'s normalised form and their contributions to every category."""
    return analyse_batch(clf, [original])[0]


def analyse_batch(clf: Classifier, originals: Sequence[str]) -> list[Analysis]:
    """analyse() for many texts in one vectorised pass (each text's own tf-idf and norms).

    Per text only normalisation, tokenising and the cached character n-grams of each word
    run in Python; counting, weights and the products with the coefficients run once for
    the whole batch, so a batch of flagged comments pays numpy's per-call cost once. A few
    texts (a comment decided alone) are analysed one by one by the compiled shares, when
    built: the same contributions to the last bit (tests/test_compiled_blocks.py).
    """
    texts = []
    for original in originals:
        normalised = normalise_with_offsets(original, clf.language)
        text = normalised.text.lower() if clf._lowercase else normalised.text
        matches = list(clf._token_re.finditer(text))
        texts.append((original, normalised, matches, [m.group() for m in matches]))
    if len(texts) <= compiled.FEW_TEXTS and compiled.explains(clf):
        try:
            return [Analysis(*t, _compiled_text(clf, t)) for t in texts]
        except OverflowError:  # an n-gram counted past the log table: numpy's log below
            pass
    lengths = [len(t[3]) for t in texts]
    starts = [0, *itertools.accumulate(lengths)]
    total = starts[-1]
    contributions = np.zeros((total, len(clf._names)))
    if total:
        if len(texts) == 1:
            row = np.zeros(total, dtype=np.int64)
        else:
            row = np.repeat(np.arange(len(texts)), lengths)
        tokens = [token for t in texts for token in t[3]]
        get, unknown = clf._words.get, clf._unknown_id
        ids = np.fromiter(map(get, tokens, itertools.repeat(unknown)), dtype=np.int64, count=total)
        contributions += _word_block(clf, ids, row, len(texts))
        if clf._chars:
            contributions += _char_block(clf, texts, total)
    return [Analysis(*t, contributions[starts[i] : starts[i + 1]]) for i, t in enumerate(texts)]


def analyse_scored(
    clf: Classifier, scored: Features, requests: Sequence[tuple[int, str]]
) -> list[Analysis]:
    """analyse_batch() of texts the classifier just scored, from the features it counted.

    `requests` pairs a row of `scored` with the original text whose normalised form that row
    is. The contributions are computed by the same functions on the same ids and n-grams, so
    they equal analyse_batch's; the alignment to the original is left for `Analysis.span`.
    """
    ids, lengths, tokens, grams, chunk_text, token_chunks = [], [], [], [], [], []
    chunks_so_far = 0
    for i, (r, _) in enumerate(requests):
        a, b = int(scored.bounds[r]), int(scored.bounds[r + 1])
        ids.append(scored.ids[a:b])
        lengths.append(b - a)
        tokens.append(scored.tokens(r))
        if clf._chars:
            words = scored.text_words(r)
            grams += [clf._word_grams(w) for w in words]
            chunk_text += [i] * len(words)
            # Word-local token patterns: the text's tokens are its words' tokens, in order.
            per_word = [clf._chunk_tokens(w) for w in words]
            token_chunks.append(np.repeat(np.arange(len(words)) + chunks_so_far, per_word))
            chunks_so_far += len(words)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    total = int(starts[-1])
    contributions = np.zeros((total, len(clf._names)))
    if total:
        row = np.repeat(np.arange(len(requests)), lengths)
        contributions += _word_block(clf, np.concatenate(ids), row, len(requests))
        if clf._chars:
            contributions += _char_shares(
                clf, grams, chunk_text, token_chunks, len(requests), total
            )
    return [
        Analysis(original, None, None, tokens[i], contributions[starts[i] : starts[i + 1]])
        for i, (_, original) in enumerate(requests)
    ]


def _compiled_text(clf: Classifier, text: tuple) -> np.ndarray:
    """One text's contributions by the compiled shares (analyse_batch's, to the last bit)."""
    _, normalised, matches, tokens = text
    get, unknown = clf._words.get, clf._unknown_id
    ids = np.fromiter(map(get, tokens, itertools.repeat(unknown)), np.int64, len(tokens))
    words: list[str] = []
    token_chunks = np.zeros(0, dtype=np.int64)
    if clf._chars and matches:
        chars = normalised.text.lower() if clf._char_lowercase else normalised.text
        chunks = list(_CHUNK.finditer(chars))
        words = [m.group() for m in chunks]
        begins = np.array([m.start() for m in chunks])
        token_chunks = np.searchsorted(begins, [m.start() for m in matches], "right") - 1
    return compiled.contributions(clf, ids, words, token_chunks)


def _word_block(clf: Classifier, ids: np.ndarray, row: np.ndarray, n_texts: int) -> np.ndarray:
    """Each token's share of the word block's contribution, (tokens x categories).

    The same features scoring counts (unigrams and bigrams through the compiled word ids): a
    feature seen k times in a text gives each occurrence 1/k of its weight x coefficient, and
    a bigram occurrence splits its share between its two tokens.
    """
    n = len(ids)
    unknown = clf._unknown_id
    lo, hi = clf._ngrams
    positions, features = [], []
    if lo == 1:
        unigram = clf._unigram.take(ids)
        at = np.flatnonzero(unigram >= 0)
        positions.append(at)
        features.append(unigram.take(at))
    unigrams = len(positions[0]) if positions else 0
    if hi == 2 and n > 1 and len(clf._bigram_keys):
        keys = ids[:-1] * clf._width + ids[1:]
        pos = clf._bigram_keys.searchsorted(keys)
        # A key past the last one is looked for at the last, where it isn't.
        np.minimum(pos, len(clf._bigram_keys) - 1, out=pos)
        found = (
            (row[:-1] == row[1:])
            & (ids[:-1] != unknown)
            & (ids[1:] != unknown)
            & (clf._bigram_keys.take(pos) == keys)
        )
        at = np.flatnonzero(found)
        positions.append(at)
        features.append(clf._bigram_features.take(pos.take(at)))
    at = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
    if not len(at):
        return np.zeros((n, len(clf._names)))
    share = _shares(
        clf._idf, clf._coef_t, clf._sublinear, row.take(at), np.concatenate(features), n_texts
    )
    if len(at) == unigrams:
        return _sum_rows(at, share, n)
    # A bigram's share is halved between its two tokens. Each token's sum adds, in this
    # order, its unigram's share, the bigram it starts, the bigram it ends.
    share[unigrams:] /= 2.0
    second = at[unigrams:] + 1
    return _sum_rows(np.concatenate([at, second]), np.concatenate([share, share[unigrams:]]), n)


def _char_block(clf: Classifier, texts: list, total: int) -> np.ndarray:
    """Each token's share of the character block: a word's n-grams go to the tokens in it."""
    grams, chunk_text, token_chunks = [], [], []
    chunks_so_far = 0
    for i, (_, normalised, matches, _) in enumerate(texts):
        chars = normalised.text.lower() if clf._char_lowercase else normalised.text
        chunks = list(_CHUNK.finditer(chars))
        grams += [clf._word_grams(m.group()) for m in chunks]
        chunk_text += [i] * len(chunks)
        if matches:
            # \w tokens never contain whitespace, so each lies inside exactly one chunk.
            begins = np.array([m.start() for m in chunks])
            local = np.searchsorted(begins, [m.start() for m in matches], "right") - 1
            token_chunks.append(local + chunks_so_far)
        chunks_so_far += len(chunks)
    return _char_shares(clf, grams, chunk_text, token_chunks, len(texts), total)


def _char_shares(clf, grams, chunk_text, token_chunks, n_texts: int, total: int) -> np.ndarray:
    """Per token, its whitespace word's character n-gram contributions split among the
    word's tokens; `token_chunks` gives each text's tokens' word indices (batch-wide)."""
    out = np.zeros((total, len(clf._names)))
    token_chunks = [c for c in token_chunks if len(c)]
    if not grams or not token_chunks:
        return out
    per_chunk_count = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    occurrences = np.concatenate(grams)
    if not len(occurrences):
        return out
    occurrence_chunk = np.repeat(np.arange(len(grams)), per_chunk_count)
    occurrence_row = None
    if n_texts > 1:
        occurrence_row = np.asarray(chunk_text, dtype=np.int64).take(occurrence_chunk)
    share = _shares(
        clf._char_idf,
        clf._char_coef_t,
        clf._char_sublinear,
        occurrence_row,
        occurrences,
        n_texts,
    )
    per_chunk = _sum_rows(occurrence_chunk, share, len(grams))
    token_chunk = np.concatenate(token_chunks)
    tokens_in_chunk = np.bincount(token_chunk, minlength=len(grams)).take(token_chunk)
    return per_chunk.take(token_chunk, 0) * (1.0 / tokens_in_chunk)[:, None]


def _shares(idf, coef_t, sublinear, row, feature, n_texts) -> np.ndarray:
    """Per occurrence: its feature's tf-idf weight in its own text (the text's L2 norm) times
    the coefficients, divided among the feature's occurrences in that text (`row` may be
    None for one text)."""
    width = len(idf)
    key = feature if n_texts == 1 else row * width + feature
    unique, inverse, counts = group(key)
    if n_texts == 1:
        unique_feature = unique
    else:
        unique_row, unique_feature = unique // width, unique % width
    tf = sublinear_tf(counts) if sublinear else counts.astype(np.float64)
    w = tf * idf.take(unique_feature)
    if n_texts == 1:
        # bincount's one sum, added in the same order
        weight = w / np.sqrt((w * w).cumsum()[-1:]) / counts
    else:
        norms = np.sqrt(np.bincount(unique_row, w * w, minlength=n_texts))
        weight = w / norms.take(unique_row) / counts
    return (weight[:, None] * coef_t.take(unique_feature, 0)).take(inverse, 0)


def _sum_rows(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """out[i] = sum of values[k] where index[k] == i, in k order (features.sum_rows)."""
    return sum_rows(index, values, n)


def _by_word(clf: Classifier, a: Analysis) -> dict[str, list[float]]:
    """Every eligible word's contributions summed over its occurrences (built once)."""
    if a.by_word is None:
        skip = stopwords() | clf.never_reasons
        by_word: dict[str, list[float]] = {}
        for token, row in zip(a.tokens, a.contributions.tolist(), strict=True):
            if token in skip or not any(c.isalpha() for c in token):
                continue
            known = by_word.get(token)
            by_word[token] = (
                row if known is None else [x + y for x, y in zip(known, row, strict=True)]
            )
        a.by_word = by_word
    return a.by_word


def select(
    clf: Classifier, a: Analysis, j: int, top: int = 5
) -> tuple[list[str], list[tuple[int, int]]]:
    """Category j's reason words in `a` with their spans in the original (see module doc)."""
    if not a.tokens:
        return [], []
    by_word = _by_word(clf, a)
    candidates = [w for w, v in by_word.items() if v[j] > 0]
    if j != clf._toxicity and candidates:
        slope = clf._slope_list
        others = [k for k in range(len(slope)) if k not in (j, clf._toxicity)]
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
    for k, token in enumerate(a.tokens):
        if token in rank:
            start, end = a.span(clf, k)
            found.append((rank[token], start, end))
    found.sort()
    return [a.original[s:e] for _, s, e in found], [(s, e) for _, s, e in found]
