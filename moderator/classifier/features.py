"""Batch features: what `Classifier.score` counts, kept so explanations need not count again.

`extract()` tokenises a batch once (one regex pass, one dict lookup per token, each distinct
whitespace word's character n-grams once) into a `Features`; `block_scores()` turns one TF-IDF
block of it into logits. `Features.rows()` hands explain.py the word ids and character
n-grams of the texts to explain, exactly as scoring counted them, so explaining a flagged
comment costs no second normalisation, tokenisation or lookup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from moderator.classifier.artifact import SEPARATOR

if TYPE_CHECKING:
    from moderator.classifier.model import Classifier

#: Token patterns whose tokens never span whitespace and do not depend on what lies beyond
#: it, so a text's tokens are its whitespace-separated words' tokens, in order.
WORD_LOCAL_PATTERNS = frozenset({r"(?u)\b\w+\b", r"(?u)\b\w\w+\b"})


class Features:
    """A scored batch's word ids, tokens and character n-gram words, by text."""

    __slots__ = ("_tokens", "_token_offset", "bounds", "ids", "texts", "words", "word_bounds")

    def __init__(self, texts, ids, bounds, tokens, token_offset, words, word_bounds):
        self.texts = texts
        #: Word ids of every token, text after text; text r's are ids[bounds[r]:bounds[r+1]].
        self.ids = ids
        self.bounds = bounds
        self._tokens = tokens
        self._token_offset = token_offset
        #: The character block's whitespace words, text after text (word_bounds as bounds).
        self.words = words
        self.word_bounds = word_bounds

    def tokens(self, r: int) -> list[str]:
        """Text r's tokens as strings."""
        a, b = int(self.bounds[r]), int(self.bounds[r + 1])
        shift = self._token_offset(r)
        return self._tokens[a + shift : b + shift]

    def text_words(self, r: int) -> list[str]:
        """Text r's whitespace words (the character block's units)."""
        if self.words is None:
            return []
        return self.words[self.word_bounds[r] : self.word_bounds[r + 1]]


def extract(clf: Classifier, texts: Sequence[str]) -> tuple[Features, np.ndarray]:
    """Features of ALREADY normalised texts, and the row of each token (for counting)."""
    n = len(texts)
    get, unknown = clf._words.get, clf._unknown_id
    joined = SEPARATOR.join(texts)
    if clf._lowercase:
        joined = joined.lower()
    if joined.count(SEPARATOR) == n - 1:
        # One regex pass over the whole batch; the separator is a token of its own
        # that no text contains (normalise() drops private-use characters).
        tokens = clf._batch_re.findall(joined)
        ids = np.array([get(t, unknown) for t in tokens], dtype=np.int64)
        separator = ids == clf._separator_id
        row = np.cumsum(separator)[~separator]
        ids = ids[~separator]

        # Text r's tokens sit after r separators in `tokens`.
        def offset(r: int) -> int:
            return r
    else:
        findall = clf._token_re.findall
        tokens = []
        lengths: list[int] = []
        for text in texts:
            these = findall(text.lower() if clf._lowercase else text)
            tokens.extend(these)
            lengths.append(len(these))
        ids = np.array([get(t, unknown) for t in tokens], dtype=np.int64)
        row = np.repeat(np.arange(n), lengths)

        def offset(r: int) -> int:
            return 0

    bounds = np.searchsorted(row, np.arange(n + 1))
    words = word_bounds = None
    if clf._chars:
        words, counts = [], [0]
        for text in texts:
            these = clf._char_words(text)
            words.extend(these)
            counts.append(len(these))
        word_bounds = np.cumsum(counts).tolist()
    return Features(list(texts), ids, bounds, tokens, offset, words, word_bounds), row


def word_block(clf: Classifier, ids: np.ndarray, row: np.ndarray) -> tuple:
    """(rows, features) of every word unigram and bigram occurrence, as the vectoriser counts."""
    unknown = clf._unknown_id
    rows, features = [], []
    lo, hi = clf._ngrams
    if lo == 1:
        feature = clf._unigram.take(ids)
        keep = feature >= 0
        rows.append(row[keep])
        features.append(feature[keep])
    if hi == 2 and len(ids) > 1 and len(clf._bigram_keys):
        keys = ids[:-1] * clf._width + ids[1:]
        same = (row[:-1] == row[1:]) & (ids[:-1] != unknown) & (ids[1:] != unknown)
        pos = np.searchsorted(clf._bigram_keys, keys)
        pos[pos == len(clf._bigram_keys)] = 0
        found = same & (clf._bigram_keys.take(pos) == keys)
        rows.append(row[:-1][found])
        features.append(clf._bigram_features[pos[found]])
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    f = np.concatenate(features) if features else np.zeros(0, dtype=np.int64)
    return r, f


def logits(clf: Classifier, features: Features, row: np.ndarray) -> np.ndarray:
    """Each text's logits (texts x categories) from its features."""
    n = len(features.texts)
    r, f = word_block(clf, features.ids, row)
    z = block_scores(r, f, n, clf._idf, clf._weighted, clf._sublinear)
    z += clf._intercept
    if clf._chars and features.words:
        words = features.words
        # Each distinct word once; a local table, so clearing the cache can't lose one.
        table = {word: clf._word_grams(word) for word in set(words)}
        grams = [table[word] for word in words]
        per_word = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        word_row = np.repeat(np.arange(n), np.diff(features.word_bounds))
        r = np.repeat(word_row, per_word)
        f = np.concatenate(grams)
        z += block_scores(r, f, n, clf._char_idf, clf._char_weighted, clf._char_sublinear)
    return z


def block_scores(rows, features, n, idf, weighted, sublinear) -> np.ndarray:
    """One TF-IDF block's contribution to the logits: (n, categories).

    `rows`/`features` list one (text, feature) pair per occurrence; counts, sublinear tf,
    idf and the block's own L2 norm follow TfidfVectorizer, and the coefficients already
    carry the idf (`weighted`).
    """
    width = len(idf)
    if not len(features):
        return np.zeros((n, weighted.shape[1]))
    if len(features) >= SPARSE_FROM:
        row, feature, counts = _count_sparse(rows, features, n, width)
    else:
        # Counting (text, feature) pairs in numpy: a scipy matrix costs ~0.2 ms to build,
        # which a small batch (one comment and its sentences) feels.
        unique, _, counts = group(rows * width + features)
        row, feature = unique // width, unique % width
    sparse = len(features) >= SPARSE_FROM
    return counted_scores(row, feature, counts, n, weighted, idf, sublinear, sparse)


def counted_scores(row, feature, counts, n, weighted, idf, sublinear, sparse=False) -> np.ndarray:
    """block_scores from each text's distinct features (sorted by text, then feature) and
    their counts: the summing half of block_scores, which score_few calls directly; `sparse`
    sums the products through scipy (block_scores' choice for large batches)."""
    width = len(idf)
    tf = sublinear_tf(counts) if sublinear else counts.astype(np.float64)
    w = tf * idf.take(feature)
    norms = np.sqrt(np.bincount(row, w * w, minlength=n))
    norms[norms == 0] = 1.0
    # Each text's sum of tf x coefficients over its features, in feature order (both ways
    # add in the same order, so the scores are the same to the last bit).
    if sparse:
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
        products = _sparse().csr_matrix((tf, feature, indptr), shape=(n, width)) @ weighted
    else:
        products = sum_rows(row, tf[:, None] * weighted.take(feature, 0), n)
    return products / norms[:, None]


def block_one(idx, counts, idf, weighted, sublinear) -> np.ndarray:
    """One text's block contribution to the logits (categories,), bit for bit block_scores'.

    `idx` holds the text's distinct features in increasing order, `counts` their counts
    (None when each occurs once). block_scores sums a text's features in feature order, one
    after another (bincount); a cumulative sum down the gathered rows adds in that same
    order, so one comment scored alone gets exactly the scores it gets in a batch, for a
    handful of numpy calls instead of np.unique and per-category bincounts.
    """
    rows = weighted.take(idx, 0)
    w = idf.take(idx)
    if counts is not None:
        tf = sublinear_tf(counts) if sublinear else counts.astype(np.float64)
        w = tf * w
        rows = tf[:, None] * rows
    norm = math.sqrt((w * w).cumsum()[-1]) or 1.0
    return rows.cumsum(0)[-1] / norm


def count_sorted(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(distinct ids, their counts, or None when none repeats) of a SORTED id array."""
    n = len(ids)
    changes = np.empty(n, dtype=bool)
    changes[-1] = True
    np.not_equal(ids[1:], ids[:-1], out=changes[:-1])
    ends = changes.nonzero()[0]
    if len(ends) == n:
        return ids, None
    counts = np.empty_like(ends)
    counts[0] = ends[0] + 1
    np.subtract(ends[1:], ends[:-1], out=counts[1:])
    return ids[ends], counts


#: Up to this many elements, sum_rows and group take the path with fewer numpy calls; above
#: it numpy's own (measured: one comment's few hundred n-grams vs a batch's 100,000).
SMALL = 1000


def sum_rows(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """out[i] = the sum of values[k] (rows) where index[k] == i, added in k order from 0.0.

    For a few hundred rows, one bincount over (row, column) cells of the flattened values:
    the same additions, in the same order, as one bincount per column, which larger arrays
    use (np.add.at is slower on 2-D).
    """
    width = values.shape[1]
    if len(index) > SMALL:
        out = np.empty((n, width))
        for j in range(width):
            out[:, j] = np.bincount(index, values[:, j], minlength=n)
        return out
    cells = (index[:, None] * width + np.arange(width)).ravel()
    return np.bincount(cells, values.ravel(), minlength=n * width).reshape(n, width)


def group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique(keys, return_inverse=True, return_counts=True), without its per-call cost
    (half of its time on the few hundred keys of one comment) for small arrays: sorted
    distinct keys, each key's index among them, and their counts."""
    n = len(keys)
    if n > SMALL:
        return np.unique(keys, return_inverse=True, return_counts=True)
    if not n:
        return keys, np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    order = keys.argsort()
    ordered = keys.take(order)
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = first.cumsum() - 1
    starts = first.nonzero()[0]
    counts = np.empty_like(starts)
    counts[-1] = n - starts[-1]
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    return ordered[first], inverse, counts


#: log(tf) + 1 for tf < this, computed once by the same numpy function as block_scores'.
_LOG_TABLE_SIZE = 4096
LOG_TF = np.log(np.arange(_LOG_TABLE_SIZE, dtype=np.float64)[1:]) + 1.0
LOG_TF = np.concatenate([[0.0], LOG_TF])


def sublinear_tf(counts: np.ndarray) -> np.ndarray:
    """log(count) + 1, as TfidfVectorizer(sublinear_tf=True) and block_scores compute it."""
    if counts.max() < _LOG_TABLE_SIZE:
        return LOG_TF.take(counts)
    return np.log(counts.astype(np.float64)) + 1.0


#: From this many occurrences on, a batch is counted by scipy's compiled CSR routines (a sort
#: per text, in C++) instead of one np.unique over the whole batch.
SPARSE_FROM = 20_000


def _sparse():
    """scipy.sparse, imported on first use: it adds 0.3 s to a process's start, which a
    worker deciding one comment at a time or a one-row `moderator score` need not pay."""
    from scipy import sparse

    return sparse


def _count_sparse(rows, features, n: int, width: int) -> tuple:
    """(row, feature, count) of each distinct pair, sorted by row then feature."""
    ones = np.ones(len(features), dtype=np.int64)
    matrix = _sparse().csr_matrix((ones, (rows, features)), shape=(n, width))
    matrix.sum_duplicates()
    row = np.repeat(np.arange(n), np.diff(matrix.indptr))
    return row, matrix.indices.astype(np.int64), matrix.data


def word_local(token_pattern: str) -> bool:
    """Whether explanations may split a text's tokens by whitespace word (see the set above)."""
    return token_pattern in WORD_LOCAL_PATTERNS and re.compile(token_pattern).groups == 0
