"""The compiled hot path (moderator/classifier/_blocks.c, compiled.py) against numpy's.

`pip install -e .` builds the extension (setup.py); Counting._logits uses it when present and
numpy's block_one otherwise. Both must give the same logits to the last bit on every shipped
model, on our texts and on real comments of each model's language, and the extension must
refuse malformed arrays and hostile ids with a Python exception, never a crash.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from test_explaining import _fixture_texts
from test_single_path import _language_comments

from moderator.classifier import Classifier
from moderator.classifier import compiled
from moderator.classifier import features
from moderator.text import normalise

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for p in (ROOT / "models").iterdir() if (p / "model.json").is_file())

_blocks = compiled._blocks


def test_the_extension_is_built():
    """pip install builds it on a machine with a C compiler (every machine CI runs on);
    without it the service is right but slower, and this says so."""
    assert _blocks is not None, "moderator/classifier/_blocks.c was not compiled: pip install -e ."


@pytest.fixture(scope="module", params=[p.name for p in SHIPPED])
def shipped(request) -> Classifier:
    return Classifier.load(ROOT / "models" / request.param)


def _numpy_logits(clf: Classifier, text: str, monkeypatch) -> np.ndarray:
    with monkeypatch.context() as m:
        m.setattr(compiled, "_blocks", None)
        return clf._logits(text)


def _assert_same_bits(clf: Classifier, raw: list[str], monkeypatch) -> None:
    assert _blocks is not None
    for text in raw:
        norm = normalise(text, clf.language)
        fast = compiled.logits(clf, norm)
        expected = _numpy_logits(clf, norm, monkeypatch)
        assert fast.tobytes() == expected.tobytes(), text


HOSTILE = [
    "",
    " ",
    "a",
    "ab",
    "!!! ??? ...",
    "x" * 3000,
    "idiot " * 300,
    "zzqx qqzx xqzz",  # words the vocabularies don't hold
    "Straße Übermut İstanbul ığdır não ação مرحبا كيف",
    "\u202eevil\u202c text",
]


def test_same_bits_on_our_texts(shipped, monkeypatch):
    _assert_same_bits(shipped, _fixture_texts() + HOSTILE, monkeypatch)


@pytest.mark.data
def test_same_bits_on_real_comments(shipped, real_data_dir, monkeypatch):
    raw = _language_comments(real_data_dir, shipped.language, 1500)
    _assert_same_bits(shipped, raw, monkeypatch)


def test_a_count_past_the_log_table_falls_back_to_numpy(monkeypatch):
    """5,000 of one word: its n-grams are counted past the 4,096-entry log table, where the
    extension refuses and numpy's log takes over; the scores still equal the batch's."""
    clf = Classifier.load(ROOT / "models" / "default")
    text = normalise("shit " * 5000, clf.language)
    with pytest.raises(OverflowError):
        compiled.logits(clf, text)
    assert clf.score_one(text) == clf.score([text])[0]
    assert clf._logits(text).tobytes() == _numpy_logits(clf, text, monkeypatch).tobytes()


def test_score_few_compiled_equals_score_one(shipped):
    texts = [normalise(t, shipped.language) for t in _fixture_texts()[:40] + HOSTILE]
    assert shipped.score_few(texts) == [shipped.score_one(t) for t in texts]


# Bad input to the extension itself: a Python exception, never a crash or a wrong answer.

IDF = np.ones(10)
WEIGHTED = np.ones((10, 3))
LOG_TF = features.LOG_TF


def _char(words, cache, grams=None, idf=IDF, weighted=WEIGHTED, sublinear=True, log_tf=LOG_TF):
    def missing(word):
        raise KeyError(word)

    return _blocks.char_block(words, cache, grams or missing, idf, weighted, sublinear, log_tf)


def _word(tokens, words, unigram=None, keys=None, feats=None, **kw):
    unigram = np.arange(4, dtype=np.int64) if unigram is None else unigram
    keys = np.array([0 * 4 + 1], dtype=np.int64) if keys is None else keys
    feats = np.array([5], dtype=np.int64) if feats is None else feats
    return _blocks.word_block(
        tokens, words, 3, unigram, 1, 2, 4, keys, feats, IDF, WEIGHTED, True, LOG_TF, **kw
    )


def test_char_block_arithmetic_on_a_small_case():
    idf = np.array([1.0, 2.0, 3.0])
    weighted = np.arange(9, dtype=np.float64).reshape(3, 3)
    cache = {"a": np.array([2, 0], dtype=np.int64), "b": np.array([2], dtype=np.int64)}
    got = _blocks.char_block(["a", "b"], cache, None, idf, weighted, False, LOG_TF)
    # features 0 (once) and 2 (twice): tf 1 and 2, w = 1 and 6, norm sqrt(37)
    expected = features.block_one(np.array([0, 2]), np.array([1, 2]), idf, weighted, False)
    assert got == expected.tolist()
    assert _blocks.char_block([], {}, None, idf, weighted, False, LOG_TF) is None
    assert (
        _blocks.char_block(["e"], {"e": np.zeros(0, np.int64)}, None, idf, weighted, 0, LOG_TF)
        is None
    )


def test_char_block_calls_grams_for_a_word_not_cached():
    seen = []

    def grams(word):
        seen.append(word)
        return np.array([1, 1], dtype=np.int64)

    assert (
        _char(["new"], {}, grams)
        == features.block_one(np.array([1]), np.array([2]), IDF, WEIGHTED, True).tolist()
    )
    assert seen == ["new"]
    with pytest.raises(KeyError):
        _char(["nope"], {})


@pytest.mark.parametrize(
    "cache, error",
    [
        ({"w": np.array([10], dtype=np.int64)}, IndexError),  # past the last feature
        ({"w": np.array([-1], dtype=np.int64)}, IndexError),
        ({"w": np.array([1], dtype=np.int32)}, TypeError),  # wrong item size
        ({"w": np.array([1.0])}, TypeError),
        ({"w": "not an array"}, TypeError),
        ({"w": None}, TypeError),
    ],
)
def test_char_block_refuses_bad_ids(cache, error):
    with pytest.raises(error):
        _char(["w"], cache)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"idf": np.ones(10, dtype=np.float32)}, TypeError),
        ({"weighted": np.ones(30)}, ValueError),  # not (features, categories)
        ({"weighted": np.ones((9, 3))}, ValueError),
        ({"weighted": np.ones((10, 65))}, ValueError),
        ({"weighted": np.ones((10, 3))[:, ::2]}, ValueError),  # not contiguous
        ({"log_tf": [1.0, 2.0]}, TypeError),
    ],
)
def test_char_block_refuses_bad_arrays(kwargs, error):
    with pytest.raises(error):
        _char(["w"], {"w": np.array([1], dtype=np.int64)}, **kwargs)


def test_char_block_refuses_wrong_argument_types():
    with pytest.raises(TypeError):
        _blocks.char_block(("w",), {}, None, IDF, WEIGHTED, True, LOG_TF)  # a tuple
    with pytest.raises(TypeError):
        _blocks.char_block(["w"], [], None, IDF, WEIGHTED, True, LOG_TF)
    with pytest.raises(TypeError):
        _blocks.char_block(["w"], {})
    with pytest.raises(TypeError):  # an unhashable word
        _char([["w"]], {})


def test_char_block_of_many_ids_goes_to_the_heap():
    ids = np.arange(10, dtype=np.int64).repeat(700)  # 7,000 ids, each counted 700 times
    got = _char(["w"], {"w": ids})
    expected = features.block_one(np.arange(10), np.full(10, 700), IDF, WEIGHTED, True)
    assert got == expected.tolist()


def test_word_block_counts_unigrams_and_known_bigrams():
    words = {"a": 0, "b": 1, "c": 2}
    # a b -> unigrams 0, 1 and bigram key 0*4+1 -> feature 5; "zz" is unknown (id 3 -> -1)
    unigram = np.array([0, 1, 2, -1], dtype=np.int64)
    got = _word(["a", "b", "zz", "a"], words, unigram=unigram)
    expected = features.block_one(np.array([0, 1, 5]), np.array([2, 1, 1]), IDF, WEIGHTED, True)
    assert got == expected.tolist()
    assert _word([], words) is None
    assert _word(["zz"], words, unigram=unigram) is None


@pytest.mark.parametrize(
    "tokens, words, kwargs, error",
    [
        (["a"], {"a": 9}, {}, IndexError),  # a word id past the unigram table
        (["a"], {"a": "x"}, {}, TypeError),
        (["a"], {"a": 0}, {"unigram": np.arange(4, dtype=np.int32)}, TypeError),
        (["a", "b"], {"a": 0, "b": 1}, {"feats": np.array([5, 6], dtype=np.int64)}, ValueError),
        (["a"], {"a": 0}, {"unigram": np.array([11, 0, 0, 0], dtype=np.int64)}, IndexError),
        ([["a"]], {}, {}, TypeError),
        (("a",), {}, {}, TypeError),
    ],
)
def test_word_block_refuses_bad_input(tokens, words, kwargs, error):
    with pytest.raises(error):
        _word(tokens, words, **kwargs)


def test_word_block_of_a_long_text_goes_to_the_heap():
    words = {"a": 0, "b": 1, "c": 2}
    tokens = ["a", "b"] * 3000
    got = _word(tokens, words)
    expected = features.block_one(
        np.array([0, 1, 5]), np.array([3000, 3000, 3000]), IDF, WEIGHTED, True
    )
    assert got == expected.tolist()


WORDS = [
    "",
    "a",
    "ab",
    "abc",
    "idiot",
    "İstanbul",
    "ığdır",
    "straße",
    "ação",
    "مرحبا",
    "😀😀",
    "e\u0301\u0301",
    "x" * 500,
    "a\u202eb",
]


def _python_grams(clf: Classifier, word: str, monkeypatch) -> list[int]:
    with monkeypatch.context() as m:
        m.setattr(compiled, "_blocks", None)
        m.setattr(clf, "_gram_cache", {})
        return clf._word_grams(word).tolist()


def test_char_grams_equal_the_python_path(shipped, monkeypatch):
    if not shipped._chars:
        pytest.skip("no character block")
    lo, hi = shipped._char_ngrams
    words = WORDS + [w for t in _fixture_texts() for w in t.lower().split()][:2000]
    for word in words:
        got = _blocks.char_grams(word, shipped._char_vocab, lo, hi)
        assert np.frombuffer(got, np.int64).tolist() == _python_grams(shipped, word, monkeypatch)


def test_char_grams_on_a_small_vocabulary():
    vocab = {" a": 0, "ab": 1, "b ": 2, " ab": 3, "ab ": 4, " ab ": 5}
    ids = np.frombuffer(_blocks.char_grams("ab", vocab, 2, 5), np.int64).tolist()
    # 2-grams " a", "ab", "b "; 3-grams " ab", "ab "; 4: " ab " is the padded word: stop
    assert ids == [0, 1, 2, 3, 4, 5]
    assert _blocks.char_grams("zz", vocab, 2, 5) == b""


@pytest.mark.parametrize(
    "args, error",
    [
        ((b"ab", {}, 2, 5), TypeError),
        ((None, {}, 2, 5), TypeError),
        (("ab", [], 2, 5), TypeError),
        (("ab", {}, 0, 5), ValueError),
        (("ab", {}, 5, 2), ValueError),
        (("ab", {" ab ": "x"}, 2, 5), TypeError),
        (("ab", {" ab ": 2**70}, 2, 5), OverflowError),
    ],
)
def test_char_grams_refuses_bad_input(args, error):
    with pytest.raises(error):
        _blocks.char_grams(*args)


def test_cached_grams_are_read_only():
    """One word's ids are shared by every text that holds the word: nobody may change them."""
    clf = Classifier.load(ROOT / "models" / "default")
    ids = clf._word_grams("idiot")
    with pytest.raises(ValueError):
        ids[0] = 1


# Explanations: each token's contribution, compiled and numpy, bit for bit.


def _analyses(clf: Classifier, texts: list[str], batch: int) -> list[bytes]:
    from moderator.classifier import explain

    return [
        np.ascontiguousarray(a.contributions).tobytes() + "\x00".join(a.tokens).encode()
        for i in range(0, len(texts), batch)
        for a in explain.analyse_batch(clf, texts[i : i + batch])
    ]


def _assert_same_analyses(clf: Classifier, texts: list[str], monkeypatch) -> None:
    """Texts analysed alone and a few at a time (up to compiled.FEW_TEXTS, compiled)."""
    fast = [_analyses(clf, texts, batch) for batch in (1, compiled.FEW_TEXTS)]
    with monkeypatch.context() as m:
        m.setattr(compiled, "_blocks", None)
        expected = [_analyses(clf, texts, batch) for batch in (1, compiled.FEW_TEXTS)]
    assert fast == expected


def test_same_contributions_on_our_texts(shipped, monkeypatch):
    _assert_same_analyses(shipped, _fixture_texts() + HOSTILE, monkeypatch)


@pytest.mark.data
def test_same_contributions_on_real_comments(shipped, real_data_dir, monkeypatch):
    raw = _language_comments(real_data_dir, shipped.language, 1000)
    _assert_same_analyses(shipped, raw, monkeypatch)


def test_contributions_past_the_log_table_fall_back_to_numpy(monkeypatch):
    clf = Classifier.load(ROOT / "models" / "default")
    texts = ["shit " * 5000, "you idiot"]
    fast = _analyses(clf, texts, 2)
    with monkeypatch.context() as m:
        m.setattr(compiled, "_blocks", None)
        assert fast == _analyses(clf, texts, 2)


def _shares_args(ids, unigram=None, keys=None, feats=None):
    unigram = np.arange(4, dtype=np.int64) if unigram is None else unigram
    keys = np.array([0 * 4 + 1], dtype=np.int64) if keys is None else keys
    feats = np.array([5], dtype=np.int64) if feats is None else feats
    return (ids, 3, unigram, 1, 2, 4, keys, feats, IDF, WEIGHTED, True, LOG_TF)


def test_word_shares_split_a_bigram_between_its_tokens():
    from moderator.classifier import explain

    class Tiny:  # what explain._word_block reads of a classifier
        _unknown_id = 3
        _ngrams = (1, 2)
        _unigram = np.array([0, 1, 2, -1], dtype=np.int64)
        _width = 4
        _bigram_keys = np.array([1], dtype=np.int64)
        _bigram_features = np.array([5], dtype=np.int64)
        _idf = np.linspace(1.0, 2.0, 10)
        _coef_t = np.arange(30, dtype=np.float64).reshape(10, 3) - 7.0
        _sublinear = True
        _names = ("a", "b", "c")

    ids = np.array([0, 1, 3, 0, 1], dtype=np.int64)  # a b <unknown> a b
    got = _blocks.word_shares(
        ids,
        3,
        Tiny._unigram,
        1,
        2,
        4,
        Tiny._bigram_keys,
        Tiny._bigram_features,
        Tiny._idf,
        Tiny._coef_t,
        True,
        LOG_TF,
    )
    expected = explain._word_block(Tiny, ids, np.zeros(5, dtype=np.int64), 1)
    assert np.frombuffer(got).reshape(5, 3).tobytes() == expected.tobytes()
    assert np.frombuffer(got).reshape(5, 3)[2].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: _blocks.word_shares(*_shares_args(np.array([9], np.int64))), IndexError),
        (lambda: _blocks.word_shares(*_shares_args(np.array([1], np.int32))), TypeError),
        (lambda: _blocks.word_shares(*_shares_args([0, 1])), TypeError),
        (
            lambda: _blocks.word_shares(
                *_shares_args(np.array([0], np.int64), unigram=np.array([11] * 4, np.int64))
            ),
            IndexError,
        ),
        (
            lambda: _blocks.char_shares(
                ["w"],
                {"w": np.array([1], np.int64)},
                None,
                np.array([1], np.int64),
                IDF,
                WEIGHTED,
                True,
                LOG_TF,
            ),
            IndexError,  # a token in a word past the last
        ),
        (
            lambda: _blocks.char_shares(
                ["w"],
                {"w": np.array([10], np.int64)},
                None,
                np.array([0], np.int64),
                IDF,
                WEIGHTED,
                True,
                LOG_TF,
            ),
            IndexError,  # an n-gram past the last feature
        ),
        (
            lambda: _blocks.char_shares(
                ["w"],
                {"w": np.array([1], np.int64)},
                None,
                np.array([0.0]),
                IDF,
                WEIGHTED,
                True,
                LOG_TF,
            ),
            TypeError,
        ),
        (
            lambda: _blocks.char_shares(
                "w", {}, None, np.array([0], np.int64), IDF, WEIGHTED, True, LOG_TF
            ),
            TypeError,
        ),
    ],
)
def test_shares_refuse_bad_input(call, error):
    with pytest.raises(error):
        call()


def test_shares_of_nothing_are_empty():
    empty = np.zeros(0, np.int64)
    assert _blocks.word_shares(*_shares_args(empty)) == b""
    args = (IDF, WEIGHTED, True, LOG_TF)
    assert _blocks.char_shares([], {}, None, empty, *args) == b""
    got = _blocks.char_shares(["w"], {"w": empty}, None, np.array([0], np.int64), *args)
    assert np.frombuffer(got).tolist() == [0.0, 0.0, 0.0]


# --- word_tokens: the token regex's runs of word characters, compiled -----------------------

TOKEN_RE = re.compile(r"(?u)\b\w+\b")


def test_word_tokens_knows_every_word_character_as_re_does():
    """Every code point, surrogates included, is a word character for word_tokens exactly
    when re's \\w matches it."""
    word = re.compile(r"\w")
    differ = [
        hex(c)
        for c in range(sys.maxunicode + 1)
        if bool(word.match(chr(c))) != bool(_blocks.word_tokens(chr(c)))
    ]
    assert differ == []
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    assert _blocks.word_tokens(everything) == TOKEN_RE.findall(everything)


@given(st.text(alphabet=st.characters(codec=None), max_size=200))
@settings(max_examples=300, deadline=None)
def test_word_tokens_equal_the_token_regex(text):
    assert _blocks.word_tokens(text) == TOKEN_RE.findall(text) == re.findall(r"\w+", text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "a",
        "__",
        "a_b-c",
        "x" * 5000,
        "İstanbul ığdır",
        "١٢٣ ٤",
        "a\u0307b",
        "😀a😀",
        *HOSTILE,
    ],
)
def test_word_tokens_on_edge_cases(text):
    assert _blocks.word_tokens(text) == TOKEN_RE.findall(text)


@pytest.mark.parametrize("args", [(b"ab",), (None,), (), ("a", "b"), (["a"],)])
def test_word_tokens_refuses_bad_input(args):
    with pytest.raises(TypeError):
        _blocks.word_tokens(*args)


def test_only_plain_token_patterns_go_to_word_tokens(shipped):
    assert shipped._plain_tokens, "the shipped models use the default pattern"
    assert compiled.tokenizer(shipped) is _blocks.word_tokens
    for pattern, flags in [(r"(?u)\b\w\w+\b", 0), (r"\w+", re.IGNORECASE), (r"\w+", re.ASCII)]:
        assert not compiled.plain_tokens(re.compile(pattern, flags)), pattern
    assert compiled.plain_tokens(re.compile(r"\w+"))
