"""One comment decided alone equals the same comment decided in a batch, to the last bit.

`Moderation.decide` scores a comment and its sentences one text at a time (`score_one`) and
explains a flagged one afresh (`explain_many`); `decide_batch` on many comments scores them
in one batch (`score`) and explains them from the features it counted (`explain_scored`).
Both must give the same scores, bit for bit, and the same reasons, on our own texts and on
real comments, for every shipped model; and both must equal the scikit-learn pipeline.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from test_explaining import _fixture_texts
from test_explaining import _real_comments

from moderator.classifier import Classifier
from moderator.classifier import compiled
from moderator.classifier import explain
from moderator.classifier import features
from moderator.service import Moderation
from moderator.text import normalise

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for p in (ROOT / "models").iterdir() if (p / "model.json").is_file())


@pytest.fixture(scope="module", params=[p.name for p in SHIPPED])
def shipped(request) -> Classifier:
    return Classifier.load(ROOT / "models" / request.param)


def _old_score_one(clf: Classifier, text: str) -> dict[str, float]:
    """score_one as it was before features.block_one: np.unique and a matrix product."""
    counts = clf._features(text)
    z = clf._intercept
    if counts:
        n = len(counts)
        idx = np.fromiter(counts.keys(), dtype=np.intp, count=n)
        tf = np.fromiter(counts.values(), dtype=np.float64, count=n)
        if clf._sublinear:
            tf = np.log(tf) + 1.0
        w = tf * clf._idf[idx]
        z = z + (tf @ clf._weighted[idx]) / math.sqrt(w @ w)
    if clf._chars:
        grams = [clf._word_grams(word) for word in clf._char_words(text)]
        if grams:
            idx, tf = np.unique(np.concatenate(grams), return_counts=True)
            if len(idx):
                tf = tf.astype(np.float64)
                if clf._char_sublinear:
                    tf = np.log(tf) + 1.0
                w = tf * clf._char_idf[idx]
                z = z + (tf @ clf._char_weighted[idx]) / math.sqrt(w @ w)
    return dict(zip(clf._names, clf._probabilities(z).tolist(), strict=True))


def _texts(clf: Classifier, raw: list[str]) -> list[str]:
    return [normalise(t, clf.language) for t in raw]


def _assert_single_equals_batch(clf: Classifier, texts: list[str]) -> None:
    one = [clf.score_one(t) for t in texts]
    assert one == clf.score(texts)
    old = np.array([list(_old_score_one(clf, t).values()) for t in texts])
    np.testing.assert_allclose(np.array([list(s.values()) for s in one]), old, atol=1e-12, rtol=0)


def test_score_one_equals_the_batch_on_our_texts(shipped):
    texts = _fixture_texts() + ["shit " * 5000, "a", "ab", "idiot idiot idiot", "x" * 3000]
    _assert_single_equals_batch(shipped, _texts(shipped, texts))


@pytest.mark.data
def test_score_one_equals_the_batch_on_real_comments(shipped, real_data_dir):
    _assert_single_equals_batch(shipped, _texts(shipped, _real_comments(real_data_dir, 3000)))


@pytest.mark.data
def test_score_one_equals_the_pipeline_on_real_comments(real_data_dir):
    clf = Classifier.load(ROOT / "models" / "default")
    texts = _texts(clf, _real_comments(real_data_dir, 3000))
    expected = clf.pipeline.predict_proba(texts)
    columns = [list(clf.pipeline.classes_).index(c) for c in clf.categories]
    one = np.array([list(clf.score_one(t).values()) for t in texts])
    np.testing.assert_allclose(one, expected[:, columns], atol=1e-12, rtol=0)


def test_the_sublinear_table_is_numpy_log_of_the_counts():
    counts = np.arange(1, 5000)
    expected = np.log(counts.astype(np.float64)) + 1.0
    assert features.sublinear_tf(counts).tolist() == expected.tolist()
    for n in (1, 3, 17):  # short arrays take numpy's other loops
        assert features.sublinear_tf(counts[:n]).tolist() == expected[:n].tolist()
    assert features.sublinear_tf(np.array([1, 1])).tolist() == [1.0, 1.0]


def test_count_sorted():
    ids, counts = features.count_sorted(np.array([2, 2, 2, 5, 7, 7]))
    assert ids.tolist() == [2, 5, 7] and counts.tolist() == [3, 1, 2]
    ids, counts = features.count_sorted(np.array([4, 9]))
    assert ids.tolist() == [4, 9] and counts is None
    ids, counts = features.count_sorted(np.array([3]))
    assert ids.tolist() == [3] and counts is None


def _decide_alone_and_in_batch(moderation: Moderation, texts: list[str]):
    alone = [moderation.decide(t) for t in texts]
    batch = [
        d for i in range(0, len(texts), 500) for d in moderation.decide_batch(texts[i : i + 500])
    ]
    assert [d.scores for d in alone] == [d.scores for d in batch]
    assert [d.to_dict() for d in alone] == [d.to_dict() for d in batch]
    return alone


def test_a_comment_alone_is_decided_as_in_a_batch():
    moderation = Moderation(Classifier.load(ROOT / "models" / "default"))
    decided = _decide_alone_and_in_batch(moderation, _fixture_texts())
    assert sum(bool(r.words) for d in decided for r in d.reasons) > 50


@pytest.mark.data
def test_a_real_comment_alone_is_decided_as_in_a_batch(real_data_dir):
    moderation = Moderation(Classifier.load(ROOT / "models" / "default"))
    decided = _decide_alone_and_in_batch(moderation, _real_comments(real_data_dir, 3000))
    assert sum(d.action != "allow" for d in decided) > 1000


def _old_shares(idf, coef_t, sublinear, row, feature, n_texts):
    """explain._shares as it was before features.group: np.unique and fancy indexing."""
    width = len(idf)
    key = row * width + feature
    unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    unique_row, unique_feature = unique // width, unique % width
    tf = counts.astype(np.float64)
    if sublinear:
        tf = np.log(tf) + 1.0
    w = tf * idf[unique_feature]
    norms = np.sqrt(np.bincount(unique_row, w * w, minlength=n_texts))
    weight = w / norms[unique_row] / counts
    return (weight[:, None] * coef_t[unique_feature])[inverse]


def _old_sum_rows(index, values, n):
    """explain._sum_rows as it was: one bincount per category."""
    out = np.empty((n, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(index, values[:, j], minlength=n)
    return out


def _old_word_block(clf, ids, row, n_texts):
    """explain._word_block as it was: widths, fancy indexing, two row sums."""
    n = len(ids)
    unknown = clf._unknown_id
    lo, hi = clf._ngrams
    positions, found_features, widths = [], [], []
    if lo == 1:
        unigram = clf._unigram[ids]
        at = np.flatnonzero(unigram >= 0)
        positions.append(at)
        found_features.append(unigram[at])
        widths.append(np.ones(len(at)))
    if hi == 2 and n > 1 and len(clf._bigram_keys):
        keys = ids[:-1] * clf._width + ids[1:]
        pos = np.searchsorted(clf._bigram_keys, keys)
        pos[pos == len(clf._bigram_keys)] = 0
        found = (
            (row[:-1] == row[1:])
            & (ids[:-1] != unknown)
            & (ids[1:] != unknown)
            & (clf._bigram_keys[pos] == keys)
        )
        at = np.flatnonzero(found)
        positions.append(at)
        found_features.append(clf._bigram_features[pos[found]])
        widths.append(np.full(len(at), 2.0))
    out = np.zeros((n, len(clf._names)))
    at = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
    if not len(at):
        return out
    feature = np.concatenate(found_features)
    width = np.concatenate(widths)
    share = _old_shares(clf._idf, clf._coef_t, clf._sublinear, row[at], feature, n_texts)
    share /= width[:, None]
    out += _old_sum_rows(at, share, n)
    bigrams = width == 2.0
    if bigrams.any():
        out += _old_sum_rows(at[bigrams] + 1, share[bigrams], n)
    return out


def _old_char_shares(clf, grams, chunk_text, token_chunks, n_texts, total):
    """explain._char_shares as it was: every text's rows, fancy indexing."""
    out = np.zeros((total, len(clf._names)))
    token_chunks = [c for c in token_chunks if len(c)]
    if not grams or not token_chunks:
        return out
    per_chunk_count = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    occurrences = np.concatenate(grams)
    if not len(occurrences):
        return out
    occurrence_chunk = np.repeat(np.arange(len(grams)), per_chunk_count)
    occurrence_row = np.asarray(chunk_text, dtype=np.int64)[occurrence_chunk]
    share = _old_shares(
        clf._char_idf, clf._char_coef_t, clf._char_sublinear, occurrence_row, occurrences, n_texts
    )
    per_chunk = _old_sum_rows(occurrence_chunk, share, len(grams))
    token_chunk = np.concatenate(token_chunks)
    tokens_in_chunk = np.bincount(token_chunk, minlength=len(grams))[token_chunk]
    return per_chunk[token_chunk] * (1.0 / tokens_in_chunk)[:, None]


def _contributions(clf: Classifier, texts: list[str], batch: int) -> list[list]:
    return [
        a.contributions.tolist()
        for i in range(0, len(texts), batch)
        for a in explain.analyse_batch(clf, texts[i : i + batch])
    ]


def _assert_analyses_unchanged(clf: Classifier, texts: list[str], monkeypatch) -> None:
    new = [_contributions(clf, texts, batch) for batch in (1, 300)]
    # The old numpy functions, not the compiled shares (tests/test_compiled_blocks.py)
    monkeypatch.setattr(compiled, "_blocks", None)
    monkeypatch.setattr(explain, "_shares", _old_shares)
    monkeypatch.setattr(explain, "_sum_rows", _old_sum_rows)
    monkeypatch.setattr(explain, "_word_block", _old_word_block)
    monkeypatch.setattr(explain, "_char_shares", _old_char_shares)
    old = [_contributions(clf, texts, batch) for batch in (1, 300)]
    assert new == old


def test_explanations_add_up_as_before(shipped, monkeypatch):
    _assert_analyses_unchanged(shipped, _fixture_texts(), monkeypatch)


@pytest.mark.data
def test_explanations_of_real_comments_add_up_as_before(shipped, real_data_dir, monkeypatch):
    _assert_analyses_unchanged(shipped, _real_comments(real_data_dir, 1500), monkeypatch)


def test_group_is_numpy_unique():
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 7, 500, 5000):
        keys = rng.integers(0, 20, n)
        expected = np.unique(keys, return_inverse=True, return_counts=True)
        got = features.group(keys)
        for e, g in zip(expected, got, strict=True):
            assert e.tolist() == g.tolist()


def test_char_words_split_like_scikit_learn_char_wb():
    # char_wb collapses runs of re's \s to one space, then str.split(): the same words as
    # str.split() alone, because \s is exactly str.isspace.
    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF)
    assert re.findall(r"\s", every) == [c for c in every if c.isspace()]
    clf = Classifier.load(ROOT / "models" / "default")
    text = "a\u3000\u3000b \x1c\x1d c\n\t d\u2028e  f "
    assert clf._char_words(text) == re.sub(r"\s\s+", " ", text).split()


# --- score_few: a comment and its sentences counted one by one, summed in one pass ---


def _groups(clf: Classifier, raw: list[str]) -> list[list[str]]:
    """Each comment with its sentences, normalised, as Moderation scores them, and runs of
    2 to 9 consecutive comments (with empty texts among them) as a batch of a few."""
    from moderator.text import sentences

    groups = []
    for text in raw:
        spans = sentences(text)
        pieces = [text[a:b] for a, b in spans] if len(spans) > 1 else []
        groups.append(_texts(clf, [text, *pieces]))
    for size in range(2, 10):
        for start in range(0, min(len(raw), 400), size):
            groups.append(_texts(clf, [*raw[start : start + size - 1], ""]))
    return groups


def _assert_few_equals_one(clf: Classifier, groups: list[list[str]]) -> None:
    for group in groups:
        assert clf.score_few(group) == [clf.score_one(t) for t in group], group


def test_score_few_equals_score_one_on_our_texts(shipped):
    raw = _fixture_texts() + ["shit " * 5000, "a", "ab", "idiot idiot idiot", "x" * 3000, "."]
    groups = _groups(shipped, raw) + [["", ""], ["", "a"], ["!!!", "..."], ["a"], [""]]
    _assert_few_equals_one(shipped, groups)


def _language_comments(data_dir: Path, language: str, limit: int) -> list[str]:
    """The official test split's comments of `language` (English: OLID, HASOC, GHC, Davidson)."""
    if language == "en":
        return _real_comments(data_dir, limit)
    from training.datasets import TEST
    from training.datasets import load_language

    return [e.text for e in load_language(data_dir, language) if e.split == TEST][:limit]


@pytest.mark.data
def test_score_few_equals_score_one_on_real_comments(shipped, real_data_dir):
    raw = _language_comments(real_data_dir, shipped.language, 2000)
    _assert_few_equals_one(shipped, _groups(shipped, raw))


@pytest.mark.data
def test_the_routed_decision_is_the_same_without_score_few(real_data_dir):
    """decide_with_language, one comment at a time, with score_few and with score_one per
    text (the path before it), on real comments of every shipped model's language."""
    from moderator import language as lid
    from moderator.routing import LanguageModels

    def engines():
        others = LanguageModels.from_folder(ROOT / "models", ROOT / "models" / "default")
        main = Moderation(
            Classifier.load(ROOT / "models" / "default"),
            identifier=lid.shared_identifier(),
            others=others,
        )
        return main, others

    fast, fast_others = engines()
    slow, slow_others = engines()
    for code in [p.name for p in SHIPPED if p.name != "default"]:
        slow_others.engine(code).classifier.score_few = None
    slow.classifier.score_few = None
    models = set()
    for code in ("en", *[p.name for p in SHIPPED if p.name != "default"]):
        for text in _language_comments(real_data_dir, code, 600):
            (new, found), (old, was) = (
                fast.decide_with_language([text])[0],
                slow.decide_with_language([text])[0],
            )
            assert new == old and found == was, text
            models.add(new.model)
    assert len(models) >= len(SHIPPED)
