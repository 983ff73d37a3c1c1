"""The decision path end to end with the shipped model: normalise, rules, classifier, policy."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moderator import service
from moderator.classifier import Classifier
from moderator.policy import CLASSIFIER_UNAVAILABLE
from moderator.policy import Action
from moderator.service import Moderation

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "default"

pytestmark = pytest.mark.skipif(
    not (SHIPPED / "model.joblib").exists(), reason="shipped model not built"
)


@pytest.fixture(scope="module")
def moderation():
    return Moderation(Classifier.load(SHIPPED))


INNOCENT = [
    "I grew up in Scunthorpe and still love the place.",
    "The assassination of Archduke Franz Ferdinand started the war.",
    "She ordered a cocktail at the bar.",
    "Our analysis shows the budget is balanced.",
    "We drove through Essex and Sussex on the way home.",
    "Dick Cheney was vice president under George W. Bush.",
    "It has been one hell of a week at the office.",
    "The therapist recommended more sleep.",
    "Shitake mushrooms are great in soup.",
    "A bunch of grapes and a glass of water, please.",
    "The class assignment is due on Monday.",
    "Please pass the Hancock report to the committee.",
]


@pytest.mark.parametrize("text", INNOCENT)
def test_innocent_words_with_bad_substrings_are_never_rejected(moderation, text):
    decision = moderation.decide(text)
    assert decision.action is not Action.REJECT, decision.to_dict()


def test_innocent_words_with_bad_substrings_are_rarely_held(moderation):
    # The character n-grams that catch "sh1tty" also see "shit" in "Shitake": a hold asks a
    # person, which the word-table target allows for up to 5% of innocent sentences.
    held = [t for t in INNOCENT if moderation.decide(t).action is Action.HOLD]
    assert len(held) <= 1, held


OBFUSCATED = [
    ("you are a f u c k i n g idiot", "f u c k i n g"),
    ("what a piece of sh1t", "sh1t"),
    ("shut up you d.i.c.k", "d.i.c.k"),
    ("this is fuuuuuuucking stupid", "fuuuuuuucking"),
    ("you ｆｕｃｋｉｎｇ moron", "ｆｕｃｋｉｎｇ"),
    ("you f\u200bu\u200bc\u200bk", "f\u200bu\u200bc\u200bk"),
]


@pytest.mark.parametrize(("text", "word"), OBFUSCATED)
def test_obfuscated_profanity_is_caught_with_spans_in_the_original(moderation, text, word):
    decision = moderation.decide(text)
    assert decision.action is not Action.ALLOW, decision.to_dict()
    spans = {tuple(s) for r in decision.reasons for s in r.spans}
    start = text.index(word)
    assert any(a <= start and b >= start + len(word) - 1 for a, b in spans), (spans, text)
    for a, b in spans:
        assert 0 <= a < b <= len(text)


@pytest.mark.parametrize(
    "text",
    [
        "I will kill you and your whole family",
        "Muslims are disgusting vermin and should be deported",
        "You are a worthless stupid idiot",
        "fuck this shit",
    ],
)
def test_policy_breaking_comments_are_not_allowed(moderation, text):
    assert moderation.decide(text).action is not Action.ALLOW


def test_batch_and_single_decide_the_same(moderation):
    texts = INNOCENT + [t for t, _ in OBFUSCATED]
    batch = moderation.decide_batch(texts)
    assert [d.to_dict() for d in batch] == [moderation.decide(t).to_dict() for t in texts]


def test_allow_listed_word_never_triggers_by_itself(moderation):
    text = "what the hell"
    site = moderation.site_rules(
        thresholds={"toxicity": {"hold": 0.01, "reject": 0.99}}, allow=["hell"]
    )
    strict = moderation.site_rules(thresholds={"toxicity": {"hold": 0.01, "reject": 0.99}})
    assert moderation.decide(text, strict).action is Action.HOLD
    decision = moderation.decide(text, site)
    assert all("hell" not in r.words for r in decision.reasons)


def test_site_block_and_suspect_words(moderation):
    site = moderation.site_rules(block=["frobnicate"], suspect=["wibble"])
    rejected = moderation.decide("please do not frobnicate here", site)
    assert rejected.action is Action.REJECT
    assert rejected.reasons[0].words == ("frobnicate",)
    assert rejected.reasons[0].spans == ((14, 24),)
    assert moderation.decide("a wibble", site).action is Action.HOLD
    assert moderation.decide("shit", site).action is Action.REJECT  # default list still applies


def test_wordlist_action_hold_holds_default_rejects_but_site_blocks_still_reject(moderation):
    strict = {"obscene": {"hold": 0.99, "reject": 1.0}, "toxicity": {"hold": 0.99, "reject": 1.0}}
    default = moderation.site_rules(thresholds=strict)
    lenient = moderation.site_rules(thresholds=strict, wordlist_action="hold")
    assert moderation.decide("fuck", default).action is Action.REJECT
    decision = moderation.decide("fuck", lenient)
    assert decision.action is Action.HOLD
    assert decision.reasons[0].to_dict()["source"] == "wordlist"
    own = moderation.site_rules(thresholds=strict, block=["frobnicate"], wordlist_action="hold")
    assert moderation.decide("frobnicate", own).action is Action.REJECT
    assert moderation.decide("fuck", own).action is Action.HOLD


def test_site_rules_are_cached_per_wordlist_action(moderation):
    assert moderation.site_rules() is moderation.site_rules(wordlist_action="reject")
    assert moderation.site_rules(wordlist_action="hold") is moderation.site_rules(
        wordlist_action="hold"
    )
    assert moderation.site_rules().wordlist is moderation.default_rules.wordlist
    with pytest.raises(ValueError, match="wordlist_action must be one of"):
        moderation.site_rules(wordlist_action="nuke")


def test_rules_for_passes_the_sites_wordlist_action(moderation):
    import datetime as dt

    from moderator.service import rules_for
    from moderator.storage.sites import Site

    site = Site(1, "s", "mod_", dt.datetime.now(dt.UTC), None, None, (), (), (), "hold")
    assert rules_for(moderation, site) is moderation.site_rules(wordlist_action="hold")


def test_words_a_context_excuses_are_hidden_from_the_classifier(moderation):
    rules = moderation.default_rules
    assert rules.unmask("the bitch had six healthy puppies") == "the   had six healthy puppies"
    assert rules.unmask("you bitch") == "you bitch"
    decision = moderation.decide("The breeder said the bitch and her litter were all healthy.")
    assert decision.action is Action.ALLOW, decision.to_dict()


@pytest.mark.parametrize(
    "text",
    [
        "Dick Van Dyke was wonderful in Mary Poppins",
        "Moby Dick is the greatest American novel.",
        "Greg Dyke, the former BBC director-general, spoke to the inquiry.",
        "Senator Dick Durbin voted against the bill.",
        "the bitch had six healthy puppies",
    ],
)
def test_issue_8_names_are_never_rejected(moderation, text):
    assert moderation.decide(text).action is not Action.REJECT


def test_hold_when_classifier_unavailable():
    class Broken:
        thresholds = {}

        def label(self):
            return "broken@0"

        def score_one(self, text):
            raise RuntimeError("model file truncated")

        score = score_one

    decision = Moderation(Broken()).decide("hello")
    assert decision.action is Action.HOLD
    assert decision.reasons[0].category == CLASSIFIER_UNAVAILABLE


def test_no_model_loaded_holds_every_comment():
    decision = Moderation(None).decide("a perfectly nice comment")
    assert decision.action is Action.HOLD
    assert decision.reasons[0].category == CLASSIFIER_UNAVAILABLE


@pytest.mark.parametrize(
    "text",
    [
        "<img src=x onerror=alert(1)>",
        "\u202eevil\u202c",
        "a\x00b",
        "\ud800",
        "e\u0301\u0301\u0301",
        "😀" * 500,
        "x" * 100_000,
        "Привет, как дела?",
        "这是一个评论",
    ],
)
def test_hostile_input_gets_a_decision(moderation, text):
    assert moderation.decide(text).action in set(Action)


def test_scoring_from_the_cli_never_imports_storage(tmp_path):
    # `moderator score` never touches a database, so it must not pay for SQLAlchemy's import.
    src = tmp_path / "in.csv"
    src.write_text("text\nhello there\n", encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys\n"
        "from moderator.cli import cli\n"
        f"cli(['score', {str(src)!r}, '--model', {str(root / 'models' / 'default')!r}],"
        " standalone_mode=False)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'"
        " or m.startswith('moderator.storage') or m == 'moderator.service.storing')\n"
        "assert not loaded, loaded\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0])["decision"] == "allow"


def test_storing_names_are_served_by_the_package():
    from moderator.service import storing

    assert service.moderate is storing.moderate
    assert service.moderate_batch is storing.moderate_batch
    assert service.StoredComment is storing.StoredComment
    with pytest.raises(AttributeError):
        service.no_such_name  # noqa: B018
