"""Context rules: a held word is skipped in its innocent sense and held in its abusive one.

Each rule in data/word_contexts.toml is checked on its own documented examples, then every kind
is checked on sentences written here and nowhere else, so a rule that only fits its examples
fails. Rules are tested through `check_comment`, as the decision path uses them.
"""

from __future__ import annotations

import pytest

from moderator.policy import ListKind
from moderator.rules import Tier
from moderator.rules import context_rules
from moderator.rules import default_entries
from moderator.rules import policy_wordlist
from moderator.rules.context import AcronymRule
from moderator.rules.context import CommentView
from moderator.rules.context import NearRule
from moderator.rules.context import PatternRule
from moderator.rules.context import shared
from moderator.text import normalise

RULES = {rule.name: rule for rule in context_rules()}


def held(text: str, action: str = "reject") -> list[str]:
    """The words the default list holds in `text` (its suspect hits), as written."""
    return [
        h.word for h in policy_wordlist(action).check_comment(text) if h.kind is ListKind.SUSPECT
    ]


def skipped(text: str, word: str) -> bool:
    """No hit at all covers `word` (case-insensitive) in `text`."""
    hits = policy_wordlist().check_comment(text)
    return not any(word in h.word.lower().replace(" ", "") for h in hits)


# -- the rules file -------------------------------------------------------------------------


def test_every_rule_is_documented_and_applies_to_held_words_only():
    held_tier = {e.word for e in default_entries() if e.tier is Tier.HOLD}
    for rule in context_rules():
        assert rule.what and rule.why, rule.name
        assert rule.examples and rule.counter_examples, rule.name
        assert set(rule.words) <= held_tier, (rule.name, set(rule.words) - held_tier)


@pytest.mark.parametrize(
    ("rule", "example"),
    [(r.name, e) for r in context_rules() for e in r.examples],
)
def test_each_rule_skips_its_documented_examples(rule, example):
    words = RULES[rule].words
    hits = policy_wordlist().check_comment(example)
    assert not [h for h in hits if h.word.lower().replace(" ", "") in words], hits


@pytest.mark.parametrize(
    ("rule", "example"),
    [(r.name, e) for r in context_rules() for e in r.counter_examples],
)
def test_each_rule_still_flags_its_documented_counter_examples(rule, example):
    assert policy_wordlist().check_comment(example), example


# -- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Judge Dick Morgan adjourned the hearing until Monday.",  # a title
        "The Dyke brothers ran the garage for forty years.",  # a family noun after `the`
        "Dick van Riel won the sprint.",  # a lower-case particle inside a name
        "Our neighbour Dick brings us eggs every week.",  # a role before the name
        "Yesterday I bumped into Dick outside the post office.",  # alone in mid-sentence
        "Dick Gibbons, the chairman, resigned.",  # sentence-initial with a surname
        "A new biography of Rev. Dick Sheppard is out.",  # an abbreviated title
        "She voted for Sen. Dick Lugar twice.",
        "The hotel on Kummer Platz was fully booked.",
        "We watched the Alan Cumming film again.",
        "i still think dick van dyke is a national treasure",  # a known name, lower case
        "DICK VAN DYKE RETURNS TO THE STAGE",  # capitals: only a known name counts
        "Sissy Jupe is the best character in Hard Times.",
    ],
)
def test_names_are_skipped(text):
    assert held(text) == [], text


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("you Dick", "Dick"),  # addressed
        ("Don't be a Dick about the parking.", "Dick"),  # an article first
        ("He is a total Dick to the staff.", "Dick"),  # an insult's adjective first
        ("Dick.", "Dick"),  # alone at the start of a sentence
        ("DICK", "DICK"),
        ("Dick Move By The Referee", "Dick"),  # Title Case: capitals prove nothing
        ("What A Dick", "Dick"),
        ("Stop Being A Dick Online", "Dick"),
        ("Ugly Dick, nobody wants you here.", "Dick"),
        ("Fucking Dick", "Dick"),  # a list word is not a name
        ("why are you such a Dick", "Dick"),
        ("look at that dick", "dick"),  # lower case, not a known name
        ("you Dick Van Dyke wannabe", "Dick"),  # addressed, even inside a name
    ],
)
def test_names_do_not_excuse_abuse(text, word):
    assert word in held(text), text


def test_a_disguised_name_is_never_excused():
    assert held("Moby D1ck is a great book") == ["D1ck"]
    assert held("Moby D\u0456ck is a great book") == ["D\u0456ck"]  # Cyrillic i
    assert held("Moby Diiick is a great book") == ["Diiick"]


def test_a_sentence_break_ends_a_name():
    # `Moby.` and `Dick` are in different sentences: no name sequence.
    assert held("I read Moby. Dick, you should too.") == ["Dick"]


# -- near -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("My collie bitch was spayed last spring.", "bitch"),
        ("Both bitches whelped within a week of each other.", "bitches"),
        ("An old donkey and an ass shared the paddock.", "ass"),
        ("The ass brayed all night in the stable.", "ass"),
        ("A cock and two pullets scratched in the dust.", "cock"),
        ("Long-tailed tits flocked to the fat balls on the feeder.", "tits"),
        ("The spring flood washed over the dyke.", "dyke"),
        ("A dolerite dyke runs across the beach at low tide.", "dyke"),
        ("Can you pass me a lighter? I need a fag.", "fag"),
        ("Sauerkraut and kraut are the same thing; buy the jar by the mustard.", "kraut"),
        ("Hoe the onion bed before the rain.", "Hoe"),
        ("Smut spores ruined half the barley.", "Smut"),
        ("Skim off the scum while the jam is boiling.", "scum"),
        ("Fire retardants retard the flame spread.", "retard"),
    ],
)
def test_cue_words_nearby_skip_the_word(text, word):
    assert skipped(text, word.lower()), text


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("you bitch, get your dog off my lawn", "bitch"),  # addressed
        ("you dirty bitch and your stupid dog", "bitch"),  # addressed past an adjective
        ("stop acting like a bitch", "bitch"),
        ("my ex is a bitch", "bitch"),
        ("what an ass", "ass"),
        ("he can kiss my ass", "ass"),
        ("cock", "cock"),
        ("nice tits on that one", "tits"),
        ("look at the dyke", "dyke"),
        ("fag", "fag"),
        ("you scum", "scum"),
        ("retard", "retard"),
    ],
)
def test_without_cue_words_the_word_is_held(text, word):
    assert word in held(text), text


def test_cues_count_only_within_the_window():
    rule = RULES["dogs_and_breeding"]
    near = "The bitch " + "and " * (rule.window - 1) + "puppies"
    far = "The bitch " + "and " * rule.window + "puppies"
    assert skipped(near, "bitch")
    assert held(far) == ["bitch"]


def test_cues_before_the_word_count_too():
    assert skipped("Puppies arrived: our bitch is fine.", "bitch")


def test_cue_plurals_and_possessives_are_recognised():
    view = CommentView("Balaam's donkeys puppies hens boxes ass", lambda w: False)
    keys = [t.forms for t in view.tokens]
    assert "balaam" in keys[0]
    assert "donkey" in keys[1] and "puppy" in keys[2] and "hen" in keys[3]
    assert "ass" in keys[5] and "as" not in keys[5]


def test_thank_you_is_not_an_address():
    assert held("Thank you Dick Van Dyke for years of joy.") == []


# -- patterns and acronyms ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Their kitchen is always spick-and-span.", "spick"),
        ("Is this the first chink in the government's armour?", "chink"),
        ("A chink of sunlight crossed the floor.", "chink"),
        ("The first honkytonk on Broadway opened in 1960.", "honky"),
        ("Fossils of Homo habilis were found nearby.", "homo"),
        ("She was a sister-cum-mother to us all.", "cum"),
        ("The data shows Tesla hard on the heels of BYD.", "hardon"),
        ("Pussy-willows line the lane in March.", "pussy"),
        ("He was accused of slut shaming in the column.", "slut"),
        ("The whole affair was a cock-up, frankly.", "cock"),
    ],
)
def test_fixed_phrases_skip_the_word(text, word):
    assert skipped(text, word), text


@pytest.mark.parametrize(
    "text",
    ["chink", "homo", "you're a slut", "hardon", "cum", "spick"],
)
def test_the_same_words_outside_the_phrases_are_held(text):
    assert held(text), text


def test_acronyms_are_skipped_unless_shouted():
    assert held("The SPAC deal collapsed.") == []
    assert held("The VAG group recalled its diesels.") == []
    assert held("HE IS A SPAC AND A LIAR") == ["SPAC"]
    assert held("you spac") == ["spac"]
    assert held("what a spac") == ["spac"]


def test_hard_on_written_as_one_word_is_held():
    assert held("he had a hardon") == ["hardon"]


# -- guards, masking and the engine -----------------------------------------------------------


def test_no_context_rule_ever_applies_to_a_reject_word():
    rejecting = {e.word for e in default_entries() if e.tier is Tier.REJECT}
    assert not any(set(rule.words) & rejecting for rule in context_rules())
    # Context never turns a reject into nothing: `Moby Fuck` is still a reject.
    [hit] = policy_wordlist().check_comment("Moby Fuck is a great novel")
    assert hit.kind is ListKind.BLOCK


def test_context_rules_apply_under_wordlist_action_hold_too():
    assert held("Moby Dick is long", "hold") == []
    assert held("you dick", "hold") == ["dick"]


def test_mask_excused_blanks_only_excused_words_in_the_normalised_text():
    wordlist = policy_wordlist()
    text = normalise("The bitch had puppies. You bitch!")
    masked = wordlist.mask_excused(text)
    assert masked.count("bitch") == 1 and masked.endswith("you bitch!")
    assert wordlist.mask_excused("moby dick is long") == "moby   is long"
    assert wordlist.mask_excused("nothing to see") == "nothing to see"
    assert wordlist.mask_excused("fuck this") == "fuck this"


def test_masking_hands_its_scan_to_check_comment_without_changing_a_hit():
    from moderator.rules.matcher import HANDOVER_MAX_CHARS
    from moderator.rules.matcher import HANDOVER_SIZE

    wordlist = policy_wordlist("hold", suspect=["zzq"])
    texts = [f"you bitch number {i}, zzq" for i in range(HANDOVER_SIZE + 10)]
    expected = [wordlist.check_comment(t) for t in texts]
    for t in texts:
        wordlist.mask_excused(normalise(t))
    assert len(wordlist._handover) == HANDOVER_SIZE
    assert [wordlist.check_comment(t, normalise(t)) for t in texts] == expected
    assert len(wordlist._handover) == 0
    long = "the bitch had puppies " * (HANDOVER_MAX_CHARS // 10)
    wordlist.mask_excused(long)
    assert len(wordlist._handover) == 0


def test_only_plainly_written_words_are_masked():
    wordlist = policy_wordlist()
    assert wordlist.mask_excused("the government is hard on crime") == (
        "the government is hard on crime"
    )
    # Disguises are undone in the normalised text, so the model does not see a disguised word
    # in an innocent context either; the word rule, which sees the disguise, still holds it.
    assert wordlist.mask_excused(normalise("the b1tch had puppies")) == "the   had puppies"
    assert held("the b1tch had puppies") == ["b1tch"]


def test_context_works_on_hostile_and_odd_text():
    for text in [
        "",
        " ",
        "Dick",
        "\u202eDick Van Dyke\u202c",
        "<b>Dick</b> Van Dyke",
        "Dick\u200b Van Dyke",
        "bitch" * 1000,
        "the bitch " * 5000,
        "Dick " * 2000,
        "\ud800 Moby Dick \udfff",
        "\U0001f415 the bitch had \U0001f436\U0001f436 puppies",
        "ΣΑΣ Dick ΣΑΣ",
    ]:
        hits = policy_wordlist().check_comment(text)
        for hit in hits:
            assert 0 <= hit.start < hit.end <= len(text)
            assert hit.word == text[hit.start : hit.end]
        policy_wordlist().mask_excused(normalise(text))


def test_comment_view_splits_sentences_but_not_after_initials_or_titles():
    view = CommentView("Philip K. Dick met Sen. Smith. Then he left!\nNew line", lambda w: False)
    sentence = {t.text: t.sentence for t in view.tokens}
    assert sentence["Philip"] == sentence["Dick"] == sentence["Smith"]
    assert sentence["Then"] == sentence["Smith"] + 1
    assert sentence["New"] == sentence["Then"] + 1
    initial = {t.text for t in view.tokens if t.initial}
    assert initial == {"Philip", "Then", "New"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "near", "window": 0, "cues": ["x"]}, "window must be 1-12"),
        ({"kind": "near", "window": 40, "cues": ["x"]}, "window must be 1-12"),
        ({"kind": "pattern", "patterns": ["(unclosed"]}, "bad pattern"),
    ],
)
def test_bad_rules_are_refused(spec, message):
    kinds = {"near": NearRule, "pattern": PatternRule, "acronym": AcronymRule}
    full = {
        "name": "test",
        "words": ["dick"],
        "what": "w",
        "why": "y",
        "examples": ["e"],
        "counter_examples": ["c"],
        **spec,
    }
    with pytest.raises(ValueError, match=message):
        kinds[spec["kind"]](full, shared())


def test_rule_names_are_unique():
    names = [rule.name for rule in context_rules()]
    assert len(names) == len(set(names))
