"""Reasons from the scoring pass's features equal reasons analysed afresh, word for word, span
for span: the fast path (explain_scored) against the old one (explain_many re-normalising and
re-tokenising every explained text), on our own texts and on real comments."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from moderator.classifier import Classifier
from moderator.service import Moderation
from moderator.text import normalise

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def moderation() -> Moderation:
    return Moderation(Classifier.load(ROOT / "models" / "default"))


def _fixture_texts() -> list[str]:
    texts = []
    for path in (FIXTURES / "word_rules_abusive.tsv", ROOT / "training/eval/innocent_words.tsv"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                texts.append(line.split("\t")[-1])
    return texts + [
        "You are an idiot. Thanks for the article though. Really.",
        "Ｙｏｕ ａｒｅ ａｎ ｉｄｉｏｔ!!! and a m0r0n",
        "f u c k you, @someone http://example.com/x &amp; more",
        "I will kill you.\n\nSee you tomorrow at the game.",
        "the bitch had puppies. you stupid bitch.",
        "idiot " * 300,
        "I\u200bdiot, y\u0301o\u0302u\u0303 moron 😂🖕",
        "",
        "   ",
    ]


def _both_paths(moderation: Moderation, texts: list[str], rules=None):
    # Batches above SMALL_BATCH, so the batch path (with features) scores them.
    new = [
        d.to_dict()
        for i in range(0, len(texts), 500)
        for d in moderation.decide_batch(texts[i : i + 500], rules)
    ]
    moderation.classifier._reusable = False
    try:
        old = [
            d.to_dict()
            for i in range(0, len(texts), 500)
            for d in moderation.decide_batch(texts[i : i + 500], rules)
        ]
    finally:
        moderation.classifier._reusable = True
    return new, old


def test_fast_reasons_equal_the_old_path_on_our_texts(moderation):
    texts = _fixture_texts()
    new, old = _both_paths(moderation, texts)
    assert new == old
    # The comparison covers reasons with words and sentences, not just allowed comments.
    reasons = [r for d in new for r in d["reasons"] if r["source"] == "classifier"]
    assert sum(bool(r["words"]) for r in reasons) > 50
    assert any("sentence" in r for r in reasons)


def test_fast_reasons_equal_the_old_path_with_masked_words(moderation):
    # An allow-listed word is masked out of what is scored: those texts take the old path,
    # the others of the same batch the new one, and nothing differs.
    rules = moderation.site_rules(allow=["idiot"])
    texts = _fixture_texts()
    new, old = _both_paths(moderation, texts, rules)
    assert new == old


def test_explain_scored_equals_explain_many_per_request(moderation):
    clf = moderation.classifier
    texts = _fixture_texts()
    scores, features = clf.score_batch([normalise(t) for t in texts])
    requests = [
        (r, text, category)
        for r, (text, s) in enumerate(zip(texts, scores, strict=True))
        for category in clf.categories
        if s[category] > 0.2
    ]
    assert len(requests) > 100
    clf._explained.clear()
    fresh = clf.explain_many([(text, category) for _, text, category in requests])
    assert clf.explain_scored(features, requests) == fresh


def _real_comments(data_dir: Path, limit: int) -> list[str]:
    texts = []
    sources = [
        (data_dir / "olid" / "olid_test.csv", ",", "tweet"),
        (data_dir / "hasoc2019" / "hasoc2019_en_test-2919.tsv", "\t", "text"),
        (data_dir / "gab_hate_corpus" / "ghc_test.tsv", "\t", "text"),
        (data_dir / "davidson" / "labeled_data.csv", ",", "tweet"),
    ]
    for path, delimiter, column in sources:
        with path.open(encoding="utf-8", newline="") as f:
            texts.extend(row[column] for row in csv.DictReader(f, delimiter=delimiter))
    random.Random(13).shuffle(texts)
    return texts[:limit]


@pytest.mark.data
def test_fast_reasons_equal_the_old_path_on_real_comments(moderation, real_data_dir):
    texts = _real_comments(real_data_dir, 4000)
    new, old = _both_paths(moderation, texts)
    assert new == old
    assert sum(d["decision"] != "allow" for d in new) > 1000
