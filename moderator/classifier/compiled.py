"""The classifier's compiled hot path: one text's blocks, n-grams and explanation shares.

`_blocks.c` (built by setup.py with a C compiler and Python's headers, no numpy headers)
does for one text what counting.py and explain.py do with a dozen numpy calls on a few
hundred elements each: the same operations in the same order, compiled without fused
multiply-add, so every score and every explanation is the same to the last bit
(tests/test_compiled_blocks.py). Without a compiler at install time the extension is
missing, `built()` is False and the numpy path serves, more slowly.

Each function raises OverflowError when an n-gram is counted past features.LOG_TF (a
20 KB comment of one word); the callers then use numpy's log, as the batch path does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from moderator.classifier.features import LOG_TF

if TYPE_CHECKING:
    from moderator.classifier.model import Classifier

try:
    from moderator.classifier import _blocks
except ImportError:  # not compiled (no C compiler at install): numpy gives the same bits
    _blocks = None

#: Up to this many texts, explain.analyse_batch analyses each by the compiled shares (about
#: half numpy's time for one comment); more go through numpy together, which then costs less.
FEW_TEXTS = 8


#: Token patterns whose matches are exactly the runs of word characters, which
#: `_blocks.word_tokens` finds in a fifth of the regex's time: scikit-learn's default
#: (re's \b holds at both ends of every maximal run of \w, and nowhere inside one) and \w+.
PLAIN_TOKENS = frozenset({r"(?u)\b\w+\b", r"\b\w+\b", r"(?u)\w+", r"\w+"})


def plain_tokens(token_re: re.Pattern[str]) -> bool:
    """Does `token_re` find exactly the runs of word characters (re's \\w, str.isalnum or _)?"""
    return token_re.pattern in PLAIN_TOKENS and token_re.flags == re.UNICODE


def tokenizer(clf: Classifier) -> Callable[[str], list[str]]:
    """What finds the model's word tokens in a text, as its token regex's findall does: the
    compiled word_tokens when built and the pattern is plain, else the regex."""
    if _blocks is not None and clf._plain_tokens:
        return _blocks.word_tokens
    return clf._token_re.findall


def built() -> bool:
    """Was the extension compiled at install?"""
    return _blocks is not None


def explains(clf: Classifier) -> bool:
    """Can the compiled shares explain `clf`'s scores? Built, and the word and character
    blocks see the same text (so a token's position falls in the whitespace word holding it)."""
    return _blocks is not None and (not clf._chars or clf._lowercase == clf._char_lowercase)


def char_grams(word: str, vocab: dict[str, int], lo: int, hi: int) -> np.ndarray:
    """One whitespace word's character n-gram ids, as scikit-learn's char_wb finds them.

    Read-only: the cache shares one array among every text holding the word.
    """
    return np.frombuffer(_blocks.char_grams(word, vocab, lo, hi), dtype=np.int64)


def _word_features(clf: Classifier) -> tuple:
    """How word ids become features: the unknown id, each id's unigram feature, the n-gram
    range, and the sorted bigram keys (a * width + b) with their features."""
    lo, hi = clf._ngrams
    return (
        clf._unknown_id,
        clf._unigram,
        lo,
        hi,
        clf._width,
        clf._bigram_keys,
        clf._bigram_features,
    )


def logits(clf: Classifier, text: str) -> np.ndarray:
    """One ALREADY normalised text's logits: intercept + word block + character block."""
    block = _blocks.word_block(
        tokenizer(clf)(text.lower() if clf._lowercase else text),
        clf._words,
        *_word_features(clf),
        clf._idf,
        clf._weighted,
        clf._sublinear,
        LOG_TF,
    )
    # block_one(...) + intercept, then + the character block: numpy's order of additions.
    z = clf._intercept if block is None else np.add(block, clf._intercept)
    if clf._chars:
        block = _blocks.char_block(
            clf._char_words(text),
            clf._gram_cache,
            clf._word_grams,
            clf._char_idf,
            clf._char_weighted,
            clf._char_sublinear,
            LOG_TF,
        )
        if block is not None:
            z = np.add(z, block)
    return z


def contributions(clf: Classifier, ids, words: list[str], token_chunks) -> np.ndarray:
    """Each token's contribution to every category (tokens x categories) for one text: its
    word-block share (`ids`, the tokens' word ids) plus its whitespace word's character
    n-grams' share (`words`, the text's whitespace words; `token_chunks`, each token's word)."""
    shape = (len(ids), len(clf._names))
    word = _blocks.word_shares(
        np.ascontiguousarray(ids, dtype=np.int64),
        *_word_features(clf),
        clf._idf,
        clf._coef_t,
        clf._sublinear,
        LOG_TF,
    )
    out = np.frombuffer(word, dtype=np.float64).reshape(shape)
    if not clf._chars or not len(token_chunks):
        return out
    char = _blocks.char_shares(
        words,
        clf._gram_cache,
        clf._word_grams,
        np.ascontiguousarray(token_chunks, dtype=np.int64),
        clf._char_idf,
        clf._char_coef_t,
        clf._char_sublinear,
        LOG_TF,
    )
    return out + np.frombuffer(char, dtype=np.float64).reshape(shape)
