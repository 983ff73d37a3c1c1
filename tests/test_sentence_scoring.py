"""Sentence-aware decisions: a polite sentence never dilutes an abusive one, reasons point into
the sentence that fired, and single-sentence comments score exactly as before."""

from pathlib import Path

import pytest

from moderator.classifier import Classifier
from moderator.policy import CATEGORIES
from moderator.policy import Action
from moderator.service import Moderation
from moderator.text import normalise

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "default"

pytestmark = pytest.mark.skipif(
    not (SHIPPED / "model.joblib").exists(), reason="shipped model not built"
)


@pytest.fixture(scope="module")
def moderation():
    return Moderation(Classifier.load(SHIPPED))


ABUSIVE = [
    "You are a pathetic idiot.",
    "If I see him on the street I will kill him.",
    "Shut the fuck up, you worthless moron.",
]
FILLERS = [
    "Thanks for covering the trial.",
    "I read the whole article over breakfast and found it interesting.\n",
    "The council met on Tuesday to discuss the budget, and several residents spoke about "
    "the new parking rules and the library hours. Overall it was a productive evening.",
]


@pytest.mark.parametrize("abusive", ABUSIVE)
@pytest.mark.parametrize("filler", FILLERS)
@pytest.mark.parametrize("after", [True, False])
def test_a_polite_sentence_never_lowers_an_abusive_sentences_scores(
    moderation, abusive, filler, after
):
    text = f"{filler} {abusive}" if after else f"{abusive} {filler}"
    alone = moderation.decide(abusive)
    padded = moderation.decide(text)
    for category in CATEGORIES:
        assert padded.scores[category] >= alone.scores[category] - 1e-9, category
    severity = {Action.ALLOW: 0, Action.HOLD: 1, Action.REJECT: 2}
    assert severity[padded.action] >= severity[alone.action]


@pytest.mark.parametrize("abusive", ABUSIVE)
def test_reasons_point_into_the_sentence_that_fired(moderation, abusive):
    filler = FILLERS[2]
    text = f"{filler} {abusive}"
    start = text.index(abusive)
    decision = moderation.decide(text)
    classifier_reasons = [r for r in decision.reasons if r.source == "classifier"]
    assert classifier_reasons, decision.to_dict()
    for reason in classifier_reasons:
        if reason.sentence is None:
            continue  # the whole comment scored highest for this category
        assert reason.sentence == (start, len(text)), reason
        for (a, b), word in zip(reason.spans, reason.words, strict=True):
            assert start <= a < b <= len(text)
            assert text[a:b] == word
        assert reason.to_dict()["sentence"] == [start, len(text)]


def test_a_single_sentence_comment_scores_as_the_classifier_does(moderation):
    text = "what kind of idiot name is foo"
    expected = moderation.classifier.score_one(normalise(text))
    assert moderation.decide(text).scores == pytest.approx(expected)
    assert all(r.sentence is None for r in moderation.decide(text).reasons)


def test_batch_and_single_decisions_agree(moderation):
    texts = [f"{FILLERS[0]} {a}" for a in ABUSIVE] + ABUSIVE + ["", "ok", "Fine. Thanks. Bye."]
    batch = moderation.decide_batch(texts)
    for text, decision in zip(texts, batch, strict=True):
        single = moderation.decide(text)
        assert decision.action == single.action
        assert decision.scores == pytest.approx(single.scores)
        assert [r.to_dict() for r in decision.reasons] == [r.to_dict() for r in single.reasons]


def test_without_a_model_nothing_is_segmented_and_comments_are_held():
    decision = Moderation(None).decide("Fine. You are an idiot.")
    assert decision.action is Action.HOLD
    assert decision.scores == {}


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for covering the trial. If I see the judge on the street I will kill him.",
        "I read the whole article. You are a pathetic idiot.",
        "The council met on Tuesday to discuss the budget, and several residents spoke about the "
        "new parking rules and the library hours. Overall it was a productive evening. But the "
        "chair is a complete idiot.",
    ],
)
def test_one_abusive_sentence_among_polite_ones_is_flagged(moderation, text):
    assert moderation.decide(text).action is not Action.ALLOW


@pytest.mark.parametrize(
    "text",
    [
        "Dick Van Dyke was wonderful in Mary Poppins",
        "Moby Dick is the greatest American novel.",
        "Greg Dyke, the former BBC director-general, spoke at the event.",
        "Senator Dick Durbin voted against the bill.",
        "the bitch had six healthy puppies",
    ],
)
def test_names_and_innocent_senses_are_never_rejected(moderation, text):
    assert moderation.decide(text).action is not Action.REJECT
