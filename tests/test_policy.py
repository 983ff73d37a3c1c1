import pytest

from moderator.policy import CLASSIFIER_UNAVAILABLE
from moderator.policy import Action
from moderator.policy import Category
from moderator.policy import Decision
from moderator.policy import ListKind
from moderator.policy import RuleHit
from moderator.policy import Threshold
from moderator.policy import decide
from moderator.policy import thresholds_from_dict
from moderator.policy import thresholds_to_dict

THRESHOLDS = {c: Threshold(hold=0.5, reject=0.9) for c in Category}
CLEAN = {c.value: 0.01 for c in Category}


def scores(**overrides):
    return {**CLEAN, **overrides}


def test_allow_when_nothing_fires():
    decision = decide([], CLEAN, THRESHOLDS)
    assert decision.action is Action.ALLOW
    assert decision.reasons == ()
    assert decision.scores == CLEAN


@pytest.mark.parametrize(
    ("score", "action"),
    [(0.49, Action.ALLOW), (0.5, Action.HOLD), (0.89, Action.HOLD), (0.9, Action.REJECT)],
)
def test_thresholds_are_inclusive(score, action):
    assert decide([], scores(threat=score), THRESHOLDS).action is action


def test_a_threshold_of_one_never_fires_even_on_a_saturated_score():
    never = {c: Threshold(hold=0.5, reject=1.0) for c in Category}
    assert decide([], scores(threat=1.0), never).action is Action.HOLD
    off = {c: Threshold(hold=1.0, reject=1.0) for c in Category}
    assert decide([], scores(threat=1.0), off).action is Action.ALLOW


def test_reasons_ordered_by_score_and_explained_only_when_fired():
    asked = []

    def explain(category):
        asked.append(category)
        return ["word"], [(3, 7)]

    decision = decide([], scores(insult=0.6, toxicity=0.95), THRESHOLDS, explain)
    assert decision.action is Action.REJECT
    assert [r.category for r in decision.reasons] == ["toxicity", "insult"]
    assert sorted(asked) == sorted([Category.TOXICITY, Category.INSULT])
    assert decision.reasons[0].to_dict() == {
        "category": "toxicity",
        "score": 0.95,
        "source": "classifier",
        "words": ["word"],
        "spans": [[3, 7]],
    }


def test_a_reason_names_the_sentence_that_fired_it():
    def explain(category):
        return ["idiot"], [(31, 36)], (20, 37)

    decision = decide([], scores(insult=0.6), THRESHOLDS, explain)
    assert decision.reasons[0].sentence == (20, 37)
    assert decision.reasons[0].to_dict()["sentence"] == [20, 37]


def test_block_word_rejects_and_suspect_word_holds():
    block = RuleHit("shit", 4, 8, ListKind.BLOCK, Category.OBSCENE)
    suspect = RuleHit("idiot", 0, 5, ListKind.SUSPECT, Category.INSULT)
    assert decide([block], CLEAN, THRESHOLDS).action is Action.REJECT
    held = decide([suspect], CLEAN, THRESHOLDS)
    assert held.action is Action.HOLD
    assert held.reasons[0].to_dict() == {
        "category": "insult",
        "score": 1.0,
        "source": "wordlist",
        "words": ["idiot"],
        "spans": [[0, 5]],
    }


def test_allow_list_hits_never_trigger():
    allowed = RuleHit("hell", 0, 4, ListKind.ALLOW, Category.OBSCENE)
    assert decide([allowed], CLEAN, THRESHOLDS).action is Action.ALLOW


def test_hold_when_classifier_unavailable():
    decision = decide([], None, THRESHOLDS)
    assert decision.action is Action.HOLD
    assert decision.reasons[0].category == CLASSIFIER_UNAVAILABLE
    assert decision.reasons[0].source == "system"


def test_classifier_unavailable_keeps_a_block_word_rejection():
    block = RuleHit("shit", 0, 4)
    decision = decide([block], None, THRESHOLDS)
    assert decision.action is Action.REJECT
    assert {r.category for r in decision.reasons} == {"obscene", CLASSIFIER_UNAVAILABLE}


def test_decision_json_shape():
    decision = decide([], scores(obscene=0.812345), THRESHOLDS, lambda c: (["fuck"], [(0, 4)]))
    body = decision.to_dict()
    assert set(body) == {"decision", "scores", "reasons"}
    assert body["decision"] == "hold"
    assert body["scores"]["obscene"] == 0.8123
    assert isinstance(Decision(Action.ALLOW).to_dict()["reasons"], list)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nonsense": {"hold": 0.1, "reject": 0.2}}, "unknown category"),
        ({"threat": {"hold": 0.1}}, "lack reject"),
        ({"threat": {"hold": 0.9, "reject": 0.1}}, "below hold"),
        ({"threat": {"hold": "0.5", "reject": 0.9}}, "must be a number"),
        ({"threat": {"hold": True, "reject": 0.9}}, "must be a number"),
        ({"threat": {"hold": -0.1, "reject": 0.9}}, "between 0 and 1"),
        ({"threat": {"hold": 0.5, "reject": 1.5}}, "between 0 and 1"),
        ({"threat": [0.5, 0.9]}, "must be an object"),
        ({"threat": {"hold": 0.5, "reject": 0.9, "x": 1}}, "must be an object"),
    ],
)
def test_bad_thresholds_are_refused_with_a_message(data, message):
    with pytest.raises(ValueError, match=message):
        thresholds_from_dict(data)


def test_thresholds_round_trip():
    data = {"toxicity": {"hold": 0.4, "reject": 0.8}, "threat": {"hold": 0.3, "reject": 0.3}}
    assert thresholds_to_dict(thresholds_from_dict(data)) == data
