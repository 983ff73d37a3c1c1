"""bench_spans' pure parts: typed gold, reason characters, function words, the averages."""

from __future__ import annotations

import pytest

from moderator.policy import Action
from moderator.policy import Decision
from moderator.policy import Reason
from moderator.policy import Source


@pytest.fixture(scope="module")
def spans(load_bench):
    return load_bench("bench_spans")


def decision(*reasons: tuple[str, list[tuple[int, int]]]) -> Decision:
    return Decision(
        Action.HOLD if reasons else Action.ALLOW,
        {},
        tuple(Reason(c, 0.9, Source.CLASSIFIER, ("w",) * len(s), tuple(s)) for c, s in reasons),
    )


@pytest.mark.parametrize(
    "span_type, category",
    [
        ("Insult", "insult"),
        ("Insu", "insult"),
        ("Identity based Attack", "identity_attack"),
        ("Identity based", "identity_attack"),
        ("Profane/Obscene", "obscene"),
        ("Threat", "threat"),
        ("Other Toxicity", None),
        ("", None),
    ],
)
def test_span_types_map_to_our_categories(spans, span_type, category):
    assert spans.span_category(span_type) == category


def test_gold_is_what_at_least_half_the_raters_typed_that_way(spans):
    marks = [
        ("r1", "Insult", 0, 5),
        ("r2", "Insult", 3, 8),
        ("r2", "Insult", 3, 6),  # the same rater twice counts once
        ("r3", "Threat", 0, 8),
        ("r1", "Other Toxicity", 0, 8),
    ]
    gold = spans.typed_gold(3, marks, length=20)
    assert gold["insult"] == frozenset({3, 4}), "2 of 3 raters"
    assert gold["threat"] == frozenset(), "1 of 3 raters is not half"
    assert gold["obscene"] == gold["identity_attack"] == frozenset()
    assert spans.typed_gold(2, marks, length=20)["threat"] == frozenset(range(8)), "1 of 2 is half"


def test_gold_clips_spans_past_the_end_of_the_text(spans):
    gold = spans.typed_gold(1, [("r1", "Insult", 2, 50)], length=5)
    assert gold["insult"] == frozenset({2, 3, 4})


def test_gold_needs_a_rater(spans):
    with pytest.raises(ValueError):
        spans.typed_gold(0, [], length=3)


def test_reason_characters_by_category_or_all(spans):
    d = decision(("insult", [(0, 3)]), ("obscene", [(5, 7), (2, 4)]), ("insult", [(9, 30)]))
    assert spans.reason_chars(d, 10, "insult") == {0, 1, 2, 9}
    assert spans.reason_chars(d, 10, "threat") == set()
    assert spans.reason_chars(d, 10) == {0, 1, 2, 3, 5, 6, 9}


def test_function_words_are_found_whatever_the_case_or_apostrophe(spans):
    assert spans.function_words(["idiot", "Your", "you\u2019re", "SHOULD"]) == [
        "your",
        "you're",
        "should",
    ]
    assert spans.function_words(["moron", "kill", "thick", "country"]) == []


def test_typed_figures_average_over_posts_with_gold_or_prediction(spans):
    posts = [
        spans.Post("1", "you idiot", {"insult": frozenset(range(4, 9)), **empty("insult")}),
        spans.Post("2", "hi there", {"insult": frozenset(), **empty("insult")}),
        spans.Post("3", "a b c d", {"insult": frozenset(), **empty("insult")}),
    ]
    decisions = [decision(("insult", [(4, 9)])), decision(), decision(("insult", [(0, 1)]))]
    got = spans.typed_figures(posts, decisions)["insult"]
    assert got["posts_with_gold"] == 1 and got["posts_scored"] == 2
    assert got["f1"] == pytest.approx(0.5), "a perfect post and a spurious one"
    assert got["f1_all_posts"] == pytest.approx(2 / 3), "SemEval: silence on post 2 scores 1"
    assert got["f1_posts_with_gold"] == 1.0
    assert got["spurious_reason_rate"] == 0.5


def empty(but: str) -> dict:
    return {c: frozenset() for c in ("insult", "identity_attack", "obscene", "threat") if c != but}


def test_function_word_figures_count_reasons_not_words(spans):
    d = Decision(
        Action.HOLD,
        {},
        (
            Reason("insult", 0.9, Source.CLASSIFIER, ("idiot", "your", "your"), ((0, 1),) * 3),
            Reason("obscene", 0.9, Source.WORDLIST, ("damn",), ((0, 1),)),
            Reason("classifier_unavailable", None, Source.SYSTEM),
        ),
    )
    got = spans.function_word_figures([d])
    assert got["reasons"] == 2 and got["with_function_word"] == 1 and got["rate"] == 0.5
    assert got["most_common"] == [("your", 2)]
    assert got["per_category"]["insult"] == {"reasons": 1, "with_function_word": 1}


@pytest.mark.data
def test_subtype_trial_posts_load_with_typed_gold(spans, real_data_dir):
    posts = spans.load_subtype_trial(real_data_dir)
    assert len(posts) == 683
    assert sum(bool(p.gold["insult"]) for p in posts) > 200
    for p in posts:
        for chars in p.gold.values():
            assert all(0 <= c < len(p.text) for c in chars)
    untyped = spans.load_tsd_trial(real_data_dir)
    assert len(untyped) == 690
