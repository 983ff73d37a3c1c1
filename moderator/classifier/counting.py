"""Scoring one comment, or a comment and its sentences, without the batch machinery.

`Counting` is the half of `Classifier` that counts one text's word and character n-gram
features exactly as the fitted vectorisers count them (the compiled vocabularies that
`Classifier._install` sets up) and turns them into probabilities with the same arithmetic,
bit for bit, as the batch path (features.py); tests/test_single_path.py holds them equal.

Where `pip install` compiled the extension (compiled.py), each block's arithmetic runs there
instead of in a dozen numpy calls on a few hundred elements, to the same bits: about a
fifth of the time per text.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat

import numpy as np

from moderator.classifier import compiled
from moderator.classifier import features

#: Distinct words whose character n-grams are kept; the cache is emptied when full.
_GRAM_CACHE_SIZE = 200_000


class Counting:
    """Feature counting and scoring of single texts (mixed into Classifier)."""

    def _word_grams(self, word: str) -> np.ndarray:
        """Character-block feature ids of one whitespace-separated word (cached).

        char_wb n-grams never cross whitespace, so a text's n-grams are the union of its
        words' n-grams, each word padded with one space on either side; a word shorter
        than n gives itself once and no longer n-grams, as in scikit-learn's
        `_char_wb_ngrams`. Tests check the result equals the fitted pipeline's.
        """
        ids = self._gram_cache.get(word)
        if ids is None:
            lo, hi = self._char_ngrams
            if compiled.built():
                ids = compiled.char_grams(word, self._char_vocab, lo, hi)
            else:
                get = self._char_vocab.get
                padded = f" {word} "
                size = len(padded)
                grams: list[int | None] = []
                for n in range(lo, hi + 1):
                    if size <= n:
                        grams.append(get(padded))
                        break
                    grams.extend(map(get, [padded[i : i + n] for i in range(size - n + 1)]))
                ids = np.array([i for i in grams if i is not None], dtype=np.int64)
            if len(self._gram_cache) >= _GRAM_CACHE_SIZE:
                self._gram_cache.clear()
            self._gram_cache[word] = ids
        return ids

    def _chunk_tokens(self, word: str) -> int:
        """How many tokens the word block finds in one whitespace word (cached)."""
        count = self._token_counts.get(word)
        if count is None:
            count = len(self._token_re.findall(word))
            if len(self._token_counts) >= _GRAM_CACHE_SIZE:
                self._token_counts.clear()
            self._token_counts[word] = count
        return count

    def _char_words(self, text: str) -> list[str]:
        """The whitespace-separated words the char_wb analyzer sees in `text`."""
        if self._char_lowercase:
            text = text.lower()
        # scikit-learn collapses runs of \s into one space first; str.split() already splits
        # on runs of the same characters (re's \s is str.isspace), so the words are the same.
        return text.split()

    def _features(self, text: str) -> dict[int, int]:
        """Vocabulary index -> count, exactly as the fitted vectoriser counts.

        Unigrams first, then bigrams, each in text order (score_one adds them in feature order).
        """
        if self._lowercase:
            text = text.lower()
        get, unknown = self._words.get, self._unknown_id
        ids = [get(t, unknown) for t in self._token_re.findall(text)]
        lo, hi = self._ngrams
        counts: dict[int, int] = {}
        if lo == 1:
            unigram = self._unigram_list
            for i in ids:
                feature = unigram[i]
                if feature >= 0:
                    counts[feature] = counts.get(feature, 0) + 1
        if hi == 2 and len(ids) > 1 and len(self._bigram_keys):
            width = self._width
            keys = [
                a * width + b
                for a, b in zip(ids, ids[1:], strict=False)
                if a != unknown and b != unknown
            ]
            if keys:
                table = self._bigram_keys
                pos = table.searchsorted(keys)
                # A key past the last one is looked for at the last, where it isn't.
                np.minimum(pos, len(table) - 1, out=pos)
                at = table.take(pos).tolist()
                features_at = self._bigram_features.take(pos).tolist()
                for key, found, feature in zip(keys, at, features_at, strict=True):
                    if key == found:
                        counts[feature] = counts.get(feature, 0) + 1
        return counts

    def _probabilities(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(z * self._slope + self._offset)))

    def score_one(self, text: str) -> dict[str, float]:
        """Scores for one ALREADY normalised text: {category: probability}.

        The same bits as scoring it in a batch (`score`): each block adds its features in
        feature order (features.block_one, or the same arithmetic compiled).
        """
        return dict(zip(self._names, self._probabilities(self._logits(text)).tolist(), strict=True))

    def _logits(self, text: str) -> np.ndarray:
        """One ALREADY normalised text's logits (categories,): intercept + word + char block."""
        if compiled.built():
            try:
                return compiled.logits(self, text)
            except OverflowError:  # an n-gram counted past the log table: numpy's log
                pass
        counts = self._features(text)
        z = self._intercept
        if counts:
            n = len(counts)
            ids = sorted(counts)
            idx = np.fromiter(ids, dtype=np.intp, count=n)
            tf = None
            if max(counts.values()) > 1:
                tf = np.fromiter(map(counts.__getitem__, ids), dtype=np.int64, count=n)
            z = features.block_one(idx, tf, self._idf, self._weighted, self._sublinear) + z
        if self._chars:
            grams = [self._word_grams(word) for word in self._char_words(text)]
            if grams:
                ids = np.concatenate(grams)
                if len(ids):
                    ids.sort()
                    idx, tf = features.count_sorted(ids)
                    z = z + features.block_one(
                        idx, tf, self._char_idf, self._char_weighted, self._char_sublinear
                    )
        return z

    def score_few(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """score_one for a few ALREADY normalised texts (a comment and its sentences).

        Each text's features are counted as score_one counts them; each block is then weighed,
        normed and summed for all the texts in one pass by features.counted_scores, the
        arithmetic of score()'s own block_scores, so the scores are score_one's and score()'s
        to the last bit, for a third of score_one's numpy calls per text. With the compiled
        blocks, each text's logits are score_one's and only the probabilities are one call.
        """
        n = len(texts)
        if n == 1:
            return [self.score_one(texts[0])]
        if compiled.built():
            # Compiled, one text at a time costs less than numpy's calls over all of them.
            z = np.array([self._logits(text) for text in texts])
            names = self._names
            return [dict(zip(names, p, strict=True)) for p in self._probabilities(z).tolist()]
        findall, get, unknown = self._token_re.findall, self._words.get, self._unknown_id
        tokens: list[str] = []
        lengths: list[int] = []
        for text in texts:
            these = findall(text.lower() if self._lowercase else text)
            tokens += these
            lengths.append(len(these))
        z = self._intercept
        if tokens:
            ids = np.fromiter(map(get, tokens, repeat(unknown)), dtype=np.int64, count=len(tokens))
            rows, found = features.word_block(self, ids, np.repeat(np.arange(n), lengths))
            if len(found):
                width = len(self._idf)
                row, feature, tf = _count_pairs(rows * width + found, width)
                block = features.counted_scores(
                    row, feature, tf, n, self._weighted, self._idf, self._sublinear
                )
                z = block + z
        if z.ndim == 1:
            z = np.broadcast_to(z, (n, len(z)))
        if self._chars:
            grams: list[np.ndarray] = []
            sizes: list[int] = []
            for text in texts:
                these = [self._word_grams(word) for word in self._char_words(text)]
                grams += these
                sizes.append(sum(map(len, these)))
            if sum(sizes):
                width = len(self._char_idf)
                keys = np.concatenate(grams)
                keys += np.repeat(np.arange(n, dtype=np.int64) * width, sizes)
                row, feature, tf = _count_pairs(keys, width)
                z = z + features.counted_scores(
                    row, feature, tf, n, self._char_weighted, self._char_idf, self._char_sublinear
                )
        names = self._names
        return [dict(zip(names, p, strict=True)) for p in self._probabilities(z).tolist()]


def _count_pairs(keys: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text, feature, count) of each distinct `text * width + feature` key, in key order."""
    keys.sort()
    unique, counts = features.count_sorted(keys)
    if counts is None:
        counts = np.ones(len(unique), dtype=np.int64)
    row, feature = np.divmod(unique, width)
    return row, feature, counts
