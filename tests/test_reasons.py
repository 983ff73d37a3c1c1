"""Reasons a moderator can trust, with the shipped model: a reason's words carry its category,
never a function word and never a group's name."""

from pathlib import Path

import pytest

from moderator.classifier import Classifier
from moderator.classifier.explain import stopwords
from moderator.policy import Source
from moderator.service import Moderation

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "default"

pytestmark = pytest.mark.skipif(
    not (SHIPPED / "model.joblib").exists(), reason="shipped model not built"
)


@pytest.fixture(scope="module")
def moderation():
    return Moderation(Classifier.load(SHIPPED))


ABUSIVE = [
    "You are a pathetic idiot.",
    "Shut up, you stupid moron.",
    "What a clueless, spineless coward the chair is.",
    "Did your mother drop you on your head when you were a baby?",
    "Muslims should all be sent back to their country",
    "Jews are vermin and should be wiped out",
    "Gay people are disgusting perverts",
    "I will find you and I will kill you",
    "You fucking loser, nobody reads your garbage",
    "This piece of shit writer should be fired",
    "Women are too stupid to vote",
    "If he shows up again somebody should put him in the ground",
    "Go back to your country, you filthy animal",
    "you r a f***ing idi0t",
]


def classifier_reasons(decision):
    return [r for r in decision.reasons if r.source is Source.CLASSIFIER]


@pytest.mark.parametrize("text", ABUSIVE)
def test_reason_words_are_never_function_words_or_group_names(moderation, text):
    never = stopwords() | moderation.classifier.never_reasons
    for reason in classifier_reasons(moderation.decide(text)):
        for word in reason.words:
            assert word.lower() not in never, (reason.category, word)


@pytest.mark.parametrize(
    "text",
    ["You are a pathetic idiot.", "Shut up, you stupid moron.", "what a pathetic loser you are"],
)
def test_insulting_words_are_an_insult_not_obscene(moderation, text):
    decision = moderation.decide(text)
    by_category = {r.category: r for r in classifier_reasons(decision)}
    assert "insult" in by_category, decision.to_dict()
    insults = {"idiot", "pathetic", "stupid", "moron", "loser"}
    assert insults & {w.lower() for w in by_category["insult"].words}
    obscene = by_category.get("obscene")
    assert obscene is None or not insults & {w.lower() for w in obscene.words}, decision.to_dict()


def test_profanity_is_the_obscene_reason_and_not_the_insult_one(moderation):
    decision = moderation.decide("fuck you moron")
    by_category = {r.category: r for r in classifier_reasons(decision)}
    assert "fuck" in {w.lower() for w in by_category["obscene"].words}
    assert "fuck" not in {w.lower() for w in by_category["insult"].words}
    assert "moron" in {w.lower() for w in by_category["insult"].words}


def test_a_question_about_someones_mother_is_not_obscene(moderation):
    decision = moderation.decide("Did your mother drop you on your head when you were a baby?")
    assert "obscene" not in {r.category for r in decision.reasons}, decision.to_dict()


def test_reason_spans_index_the_words_as_written(moderation):
    text = "Honestly... you r a f***ing idi0t, and everyone knows it."
    for reason in moderation.decide(text).reasons:
        for word, (start, end) in zip(reason.words, reason.spans, strict=True):
            assert text[start:end] == word
