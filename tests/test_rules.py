"""Word rules: better-profanity's matches on its list, site lists, the default list in tiers."""

import itertools
import os
import random
from pathlib import Path

import pytest
from better_profanity import Profanity
from better_profanity import profanity
from better_profanity.utils import get_complete_path_of_file
from better_profanity.utils import read_wordlist
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from moderator.policy import Category
from moderator.policy import ListKind
from moderator.policy import RuleHit
from moderator.rules import MAX_ENTRIES
from moderator.rules import MAX_ENTRY_LENGTH
from moderator.rules import WORDLIST_ACTIONS
from moderator.rules import DefaultEntry
from moderator.rules import Tier
from moderator.rules import WordList
from moderator.rules import default_entries
from moderator.rules import default_wordlist
from moderator.rules import policy_wordlist

DATA_DIR = Path(
    os.environ.get("MODERATOR_DATA_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
#: Unmodified better-profanity takes ~15 ms a text, so it checks a seeded sample; the
#: whole corpus is checked against its own algorithm with a faster membership test below.
SAMPLE_SIZE = 300
SAMPLE_SEED = 20240


def censored(text: str, hits: list[RuleHit]) -> str:
    """What better-profanity's censor() returns if `hits` are exactly the spans it censors."""
    parts, position = [], 0
    for hit in hits:
        parts += [text[position : hit.start], "****"]
        position = hit.end
    return "".join(parts) + text[position:]


def spans(hits: list[RuleHit]) -> list[tuple[int, int]]:
    return [(h.start, h.end) for h in hits]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    from training.datasets import LOADERS

    if not DATA_DIR.is_dir():
        pytest.skip(f"no shared data at {DATA_DIR} (set MODERATOR_DATA_DIR)")
    return [example.text for load in LOADERS.values() for example in load(DATA_DIR)]


@pytest.mark.data
def test_same_matches_as_better_profanity_on_a_corpus_sample(corpus):
    wordlist = default_wordlist()
    sample = random.Random(SAMPLE_SEED).sample(corpus, SAMPLE_SIZE)
    flagged = 0
    for text in sample:
        hits = wordlist.check(text)
        assert bool(hits) == profanity.contains_profanity(text), text
        assert censored(text, hits) == profanity.censor(text), (text, hits)
        flagged += bool(hits)
    # The sample holds plenty of both kinds, so the comparison means something.
    assert 50 < flagged < SAMPLE_SIZE - 50


@pytest.mark.data
def test_same_matches_as_better_profanitys_algorithm_on_a_quarter_of_the_corpus(corpus):
    # better-profanity's own tokenizer, look-ahead and censoring code, with its list
    # membership test (one VaryingString comparison per entry) swapped for a set of every
    # variant string. The set is checked to hold exactly what the VaryingStrings accept.
    oracle = Profanity()
    variants = set()
    for entry in oracle.CENSOR_WORDSET:
        forms = {"".join(p) for p in itertools.product(*entry._char_combos)}
        assert all(entry == form for form in forms)
        assert all(len(combo) == 1 for chars in entry._char_combos for combo in chars)
        variants |= forms
    oracle.CENSOR_WORDSET = variants
    wordlist = default_wordlist()
    # Every fourth text of every dataset (tens of thousands): the whole corpus took a minute.
    for text in corpus[::4]:
        hits = wordlist.check(text)
        assert censored(text, hits) == oracle.censor(text), (text, hits)
        assert bool(hits) == oracle.contains_profanity(text), text


# Texts built from list words, their variants and the separators that make better-profanity's
# look-ahead and end-of-text rules matter.
FRAGMENTS = [
    "fuck", "f*ck", "FVCK", "sh1t", "shit", "sh", "it", "fu", "ck", "a", "s", "t", "x", "blow",
    "job", "dick", "hell", "head", "son", "of", "bitch", "2", "girls", "1", "cup", "p", "u", "y",
    "Len", "ass", "@ss", "a$$", "hello", "class", "Scunthorpe", "'fuck'", "fucK", "İ", "ΣΑΣ",
]  # fmt: skip
SEPARATORS = [" ", "  ", "-", ".", "!", "_", ", ", "\n", "+", "É", "\u200b", "🙂", "\x00", ""]
texts_from_fragments = st.lists(
    st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS)), max_size=8
).map(lambda pairs: "".join(a + b for a, b in pairs))


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts_from_fragments, st.text(max_size=30)))
def test_same_matches_as_better_profanity_on_generated_text(text):
    hits = default_wordlist().check(text)
    assert censored(text, hits) == profanity.censor(text)


SITE_WORDS = ["frob", "wib ble", "x-y-z", "fuck", "len:insult"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["frob", "fr0b", "wib", "ble", "x", "y", "z", "fu", "ck", "FUCK", "q"]),
            st.sampled_from([" ", "-", ".", "", "  "]),
        ),
        max_size=8,
    ).map(lambda pairs: "".join(a + b for a, b in pairs))
)
def test_site_list_matches_like_better_profanity_with_that_list(text):
    # With a multi-word entry on the list, better-profanity's look-ahead covers every word.
    reference = Profanity([w.split(":")[0] for w in SITE_WORDS])
    hits = WordList.compile(block=SITE_WORDS).check(text)
    assert censored(text, hits) == reference.censor(text)


@pytest.mark.parametrize(
    "text",
    [
        "I grew up in Scunthorpe and still love the place.",
        "The assassination of Archduke Franz Ferdinand started the war.",
        "She ordered a cocktail at the bar.",
        "Our analysis shows the budget is balanced.",
        "We drove through Essex, Middlesex and Sussex.",
        "Penistone, Cockburn and Hancock",
        "The therapist recommended shitake mushrooms and grapes.",
        "The class assignment: cumulative pass rates",
        "Dickens wrote about a pussycat on the Titanic",
        "Matsushita, Sherlock, Arsenal, bass, butter",
    ],
)
def test_scunthorpe_words_do_not_match(text):
    assert default_wordlist().check(text) == []
    assert not profanity.contains_profanity(text)


def test_dick_cheney_matches_as_in_better_profanity_unless_the_site_allows_it():
    text = "Dick Cheney's speech"
    assert profanity.censor(text) == "**** Cheney's speech"
    assert default_wordlist().check(text) == [RuleHit("Dick", 0, 4)]
    assert WordList.compile(allow=["dick"]).check(text) == []
    assert WordList.compile(allow=["dick cheney"]).check("Dick Cheney said") == []
    # The allow list shields the word by itself, not longer entries that contain it.
    assert spans(WordList.compile(allow=["dick"]).check("you dickhead")) == [(4, 12)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("F*CK", [(0, 4)]),
        ("fvck this", [(0, 4)]),
        ("a sh1t b", [(2, 6)]),
        ("$hit and 5hit", [(0, 4), (9, 13)]),
        ("a$$ @ss", [(0, 3), (4, 7)]),
        ("b1tch", [(0, 5)]),
        ("<b>fuck</b>", [(3, 7)]),
        ("#fuck", [(1, 5)]),
        ("FUCK!!!", [(0, 4)]),
        ("fuc\u212a you", [(0, 4)]),  # KELVIN SIGN lowercases to k
    ],
)
def test_leetspeak_and_case_variants_match_with_spans(text, expected):
    hits = default_wordlist().check(text)
    assert spans(hits) == expected
    assert [h.word for h in hits] == [text[a:b] for a, b in expected]
    assert censored(text, hits) == profanity.censor(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fu ck you", [(0, 5)]),  # joined without the separator
        ("blow  job", [(0, 9)]),  # "blowjob"
        ("blow job now", [(0, 8)]),  # "blow job" as written
        ("f-u-c-k ", [(0, 7)]),
        ("s.h.i.t happens", [(0, 7)]),
        ("p.u.s.s.y.", [(0, 7)]),  # "puss" is on the list
        ("sh!t happens", [(0, 4)]),
        ("sh!t", []),  # a one-character last word is not joined
        ("a s s", []),
        ("a s s ", [(0, 5)]),
        ("'fuck' \"shit\"", []),  # quotes are word characters
        ("fuck2 fuckfuck @fuck fúck", []),
        ("ｆｕｃｋ", []),  # fullwidth letters are not normalised here
        ("f", []),
    ],
)
def test_better_profanity_word_rules_are_kept(text, expected):
    assert spans(default_wordlist().check(text)) == expected
    assert censored(text, default_wordlist().check(text)) == profanity.censor(text)


def test_surprising_entries_of_better_profanitys_list_match():
    # Kept for identical matches; a site removes them with its allow list.
    for word, text in [
        ("len", "Len Deighton"),
        ("god", "God bless"),
        ("omg", "OMG, lol"),
        ("xx", "xx kisses"),
        ("pot", "the pot roast"),
        ("fat", "a fat cat"),
    ]:
        assert [h.word.lower() for h in default_wordlist().check(text)] == [word], text
        assert WordList.compile(allow=[word]).check(text) == [], text


def test_site_list_joins_words_on_every_word():
    # better-profanity, with no multi-word entry on its list, only joins every other word.
    assert Profanity(["fuck"]).censor("a fu ck") == "a fu ck"
    assert spans(WordList.compile(block=["fuck"]).check("a fu ck")) == [(2, 7)]


def test_block_suspect_and_allow_lists():
    wordlist = WordList.compile(suspect=["wibble"], allow=["hell"])
    assert wordlist.check("Fuck the W1BBLE, what the hell") == [
        RuleHit("Fuck", 0, 4, ListKind.BLOCK, Category.OBSCENE),
        RuleHit("W1BBLE", 9, 15, ListKind.SUSPECT, Category.OBSCENE),
    ]
    assert default_wordlist().check("what the hell") == [RuleHit("hell", 9, 13)]


def test_a_site_block_list_replaces_the_default_list():
    wordlist = WordList.compile(block=["frobnicate"])
    assert wordlist.check("Frobnicate this shit") == [RuleHit("Frobnicate", 0, 10)]


def test_no_default_list_with_empty_block():
    assert WordList.compile(block=()).check("fuck") == []
    assert WordList.compile(block=[], suspect=["fuck"]).check("fuck") == [
        RuleHit("fuck", 0, 4, ListKind.SUSPECT)
    ]


def test_allow_wins_over_block_and_block_over_suspect():
    wordlist = WordList.compile(block=["darn"], suspect=["darn", "heck"], allow=["heck"])
    assert wordlist.check("darn heck") == [RuleHit("darn", 0, 4, ListKind.BLOCK)]
    # An allow entry shields its leetspeak variants too.
    assert WordList.compile(block=["heck"], allow=["heck"]).check("h3ck HECK h*ck") == []


def test_categories_default_and_per_entry():
    wordlist = WordList.compile(
        block=["idiot:insult", "kill you: threat"], suspect=["vermin:identity_attack"],
        category=Category.TOXICITY,
    )  # fmt: skip
    hits = wordlist.check("idiot, I will kill you, vermin, and x")
    assert [(h.word, h.kind, h.category) for h in hits] == [
        ("idiot", ListKind.BLOCK, Category.INSULT),
        ("kill you", ListKind.BLOCK, Category.THREAT),
        ("vermin", ListKind.SUSPECT, Category.IDENTITY_ATTACK),
    ]
    assert WordList.compile(block=["x"], category="threat").check("a x")[0].category == "threat"
    assert default_wordlist().check("fuck")[0].category is Category.OBSCENE
    assert WordList.compile(category=Category.TOXICITY).check("fuck")[0].category == "toxicity"


def test_default_list_can_be_extended_explicitly():
    words = list(read_wordlist(get_complete_path_of_file("profanity_wordlist.txt")))
    extended = WordList.compile(block=[*words, "frobnicate"])
    text = "frobnicate this shit and s.h.i.t happens; shit, s or"
    hits = extended.check(text)
    assert spans(hits) == [(0, 10), (16, 20), (25, 32), (42, 49)]  # "shit, s" -> "shits"
    assert censored(text, hits) == Profanity([*words, "frobnicate"]).censor(text)


def test_default_wordlist_is_compiled_once():
    assert default_wordlist() is default_wordlist()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"block": [""]}, "block list has an empty entry"),
        ({"suspect": ["   "]}, "suspect list has an empty entry"),
        ({"block": ["x" * (MAX_ENTRY_LENGTH + 1)]}, f"is longer than {MAX_ENTRY_LENGTH}"),
        ({"block": [5]}, "block list entries must be strings, got int"),
        ({"allow": [None]}, "allow list entries must be strings, got NoneType"),
        ({"block": [b"fuck"]}, "entries must be strings, got bytes"),
        ({"block": "fuck"}, "block list must be a list of words, not str"),
        ({"suspect": 7}, "suspect list must be a list of words, not int"),
        ({"block": ["word:rude"]}, "unknown category 'rude'"),
        ({"block": [":insult"]}, "block list has an empty entry"),
        ({"allow": ["hell:obscene"]}, "allow list entry 'hell:obscene' cannot have a category"),
        ({"block": ["!!!"]}, "has no letter or digit, never matches"),
        ({"block": ["fu\x00ck"]}, "control or invisible characters"),
        ({"block": ["fu\u200bck"]}, "control or invisible characters"),
        ({"block": ["fu\ud800ck"]}, "control or invisible characters"),
        ({"block": ["x"] * (MAX_ENTRIES + 1)}, f"more than {MAX_ENTRIES} entries"),
        ({"category": "rude"}, "unknown category 'rude'"),
    ],
)
def test_bad_entries_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WordList.compile(**kwargs)


@pytest.mark.parametrize("entry", ["x" * 100_000, "word:" + "y" * 50, "\ud800" * 40])
def test_error_messages_stay_short_for_huge_entries(entry):
    with pytest.raises(ValueError) as error:
        WordList.compile(block=[entry])
    assert len(str(error.value)) < 200


def test_entries_are_trimmed_and_case_folded():
    assert spans(WordList.compile(block=["  FrOb  ", "Wib Ble: insult"]).check("frob WIB BLE")) == [
        (0, 4),
        (5, 12),
    ]


@pytest.mark.parametrize("text", [None, 5, b"fuck", ["fuck"]])
def test_check_refuses_non_text(text):
    with pytest.raises(TypeError, match="text must be a str"):
        default_wordlist().check(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\t  ",
        "<script>alert('fuck')</script>",
        '<img src=x onerror="alert(`shit`)"> fuck <b>you</b>',
        "\ud800fuck\udfff",
        "fu\x00ck you",
        "\u202efuck\u202c kcuf",
        "🖕fuck🖕 👩‍👩‍👧 sh🙂it",
        "fu\u200dck you",
        "ΣΑΣ shit ΣΑΣ",
        "İstanbul fucİ",
        "e\u0301\u0301\u0301 fuck \ufeff\ufffd",
        "%s%n{0}\\x00 fuck' OR 1=1; --",
    ],
)
def test_hostile_text_matches_like_better_profanity(text):
    hits = default_wordlist().check(text)
    assert censored(text, hits) == profanity.censor(text)
    for hit in hits:
        assert 0 <= hit.start < hit.end <= len(text)
        assert hit.word == text[hit.start : hit.end]


@pytest.mark.parametrize(
    "filler", ["lorem ipsum ", "a ", "fu ", "x" * 1000 + " ", "é🙂 ", "\u202e\x00 "]
)
def test_100kb_text_is_checked_with_exact_spans(filler):
    # How long it takes is measured by bench/speed_parts.py (long texts), not asserted here.
    text = filler * (100_000 // len(filler)) + "fuck"
    hits = default_wordlist().check(text)
    assert hits[-1] == RuleHit("fuck", len(text) - 4, len(text))


# -- the default list in tiers (data/default_words.tsv) -----------------------------------


def tiers() -> dict[str, DefaultEntry]:
    return {e.word: e for e in default_entries()}


def test_every_better_profanity_entry_has_exactly_one_tier():
    words = [w.lower() for w in read_wordlist(get_complete_path_of_file("profanity_wordlist.txt"))]
    listed = [e.word for e in default_entries()]
    assert len(listed) == len(set(listed))
    assert set(words) <= set(listed), set(words) - set(listed)
    # Our additions sit in their own section of the file, after better-profanity's.
    text = (Path(__file__).resolve().parents[1] / "moderator/data/default_words.tsv").read_text()
    additions = text.split("Moderator's additions", 1)[1]
    added = {line.split("\t")[0].lower() for line in additions.splitlines() if "\t" in line}
    assert added == set(listed) - set(words)


@pytest.mark.parametrize(
    ("word", "tier", "category"),
    [
        ("fuck", Tier.REJECT, Category.OBSCENE),
        ("motherfucker", Tier.REJECT, Category.OBSCENE),
        ("cunt", Tier.REJECT, Category.OBSCENE),
        ("shit", Tier.REJECT, Category.OBSCENE),
        ("nigger", Tier.REJECT, Category.IDENTITY_ATTACK),
        ("kike", Tier.REJECT, Category.IDENTITY_ATTACK),
        ("wetback", Tier.REJECT, Category.IDENTITY_ATTACK),
        ("dumbass", Tier.REJECT, Category.INSULT),
        ("douchebag", Tier.REJECT, Category.INSULT),
        ("moron", Tier.HOLD, Category.INSULT),
        ("retard", Tier.HOLD, Category.INSULT),
        ("bitch", Tier.HOLD, Category.INSULT),
        ("bastard", Tier.HOLD, Category.INSULT),
        ("dick", Tier.HOLD, Category.OBSCENE),
        ("cock", Tier.HOLD, Category.OBSCENE),
        ("ass", Tier.HOLD, Category.OBSCENE),
        ("pussy", Tier.HOLD, Category.OBSCENE),
        ("dyke", Tier.HOLD, Category.IDENTITY_ATTACK),
        ("fag", Tier.HOLD, Category.IDENTITY_ATTACK),
        ("chink", Tier.HOLD, Category.IDENTITY_ATTACK),
        ("piss", Tier.HOLD, Category.OBSCENE),
        ("stupid", Tier.ALLOW, None),
        ("kill", Tier.ALLOW, None),
        ("murder", Tier.ALLOW, None),
        ("howtokill", Tier.ALLOW, None),
        ("gay", Tier.ALLOW, None),
        ("penis", Tier.ALLOW, None),
        ("rape", Tier.ALLOW, None),
        ("screw", Tier.ALLOW, None),
    ],
)
def test_default_entries_have_the_right_tier_and_category(word, tier, category):
    entry = tiers()[word]
    assert (entry.tier, entry.category) == (tier, category)


def test_no_threat_word_is_a_word_rule():
    # The classifier judges threats in context; a word list would flag every crime report.
    for word in ("kill", "murder", "howtokill", "howtomurdep", "sniper", "napalm", "uzi"):
        assert tiers()[word].tier is Tier.ALLOW
    assert all(e.category is not Category.THREAT for e in default_entries())


def test_every_held_word_with_an_innocent_sense_has_a_context_rule():
    from moderator.rules.context import rules_by_word

    for word in ("dick", "cock", "bitch", "ass", "pussy", "dyke", "tit", "hoe", "fag", "chink"):
        assert rules_by_word().get(word), word


@pytest.mark.parametrize(
    "text",
    [
        "Dick Cheney was vice president",
        "one hell of a week",
        "My sister is gay and my brother is straight",
        "She graduated summa cum laude",
        "The sniper was arrested on Tuesday",
        "He had a stroke last year",
        "The jury heard the rape case",
        "The pen is mightier than the sword",
        "They promised to be hard on crime",
    ],
)
def test_policy_wordlist_leaves_ordinary_words_alone(text):
    assert default_wordlist().check(text), "better-profanity itself flags this"
    assert policy_wordlist().check_comment(text) == []


def test_policy_wordlist_rejects_profanity_holds_ambiguous_words_and_tags_slurs():
    hits = policy_wordlist().check_comment("you fucking nigger, dick, you dumbass moron")
    assert [(h.word, h.kind, h.category) for h in hits] == [
        ("fucking", ListKind.BLOCK, Category.OBSCENE),
        ("nigger", ListKind.BLOCK, Category.IDENTITY_ATTACK),
        ("dick", ListKind.SUSPECT, Category.OBSCENE),
        ("dumbass", ListKind.BLOCK, Category.INSULT),
        ("moron", ListKind.SUSPECT, Category.INSULT),
    ]


def test_wordlist_action_hold_turns_default_rejects_into_holds():
    hits = policy_wordlist("hold").check_comment("fuck this, you dick")
    assert [(h.word, h.kind) for h in hits] == [
        ("fuck", ListKind.SUSPECT),
        ("dick", ListKind.SUSPECT),
    ]
    assert all(
        h.kind is ListKind.SUSPECT
        for h in policy_wordlist("hold").check_comment("cunt shit motherfucker nigger")
    )


def test_a_sites_own_block_list_always_rejects_even_under_hold():
    wordlist = policy_wordlist("hold", block=["wombat:insult", "dick"], suspect=["quokka"])
    hits = wordlist.check_comment("wombat quokka fuck Dick Van Dyke")
    assert [(h.word, h.kind, h.category) for h in hits] == [
        ("wombat", ListKind.BLOCK, Category.INSULT),
        ("quokka", ListKind.SUSPECT, Category.OBSCENE),
        ("fuck", ListKind.SUSPECT, Category.OBSCENE),
        # The site blocks `dick` itself: its own entry has no context rule and wins.
        ("Dick", ListKind.BLOCK, Category.OBSCENE),
    ]


def test_a_sites_suspect_entry_has_no_context_and_its_allow_entry_wins():
    assert policy_wordlist(suspect=["dick"]).check_comment("Moby Dick is long")[0].word == "Dick"
    assert policy_wordlist(allow=["fuck"]).check_comment("fuck it") == []


def test_a_sites_block_or_suspect_word_overrides_the_default_allow_tier():
    assert policy_wordlist().check_comment("kill") == []
    [hit] = policy_wordlist(block=["kill:threat"]).check_comment("I will kill")
    assert (hit.word, hit.kind, hit.category) == ("kill", ListKind.BLOCK, Category.THREAT)
    [hit] = policy_wordlist(suspect=["gay"]).check_comment("so gay")
    assert hit.kind is ListKind.SUSPECT


@pytest.mark.parametrize("action", ["", "REJECT", "allow", None, 1])
def test_unknown_wordlist_action_is_refused(action):
    with pytest.raises(ValueError, match="wordlist_action must be one of reject, hold"):
        policy_wordlist(action)


def test_bad_site_entries_are_refused_like_compile():
    with pytest.raises(ValueError, match="unknown category 'rude'"):
        policy_wordlist(block=["word:rude"])
    with pytest.raises(ValueError, match="suspect list must be a list of words, not str"):
        policy_wordlist(suspect="fuck")


def test_policy_wordlist_without_site_lists_is_compiled_once_per_action():
    assert policy_wordlist() is policy_wordlist("reject")
    assert policy_wordlist("hold") is policy_wordlist("hold")
    assert policy_wordlist("hold") is not policy_wordlist()


def test_site_and_storage_agree_on_the_wordlist_actions():
    from moderator.storage.sites import WORDLIST_ACTIONS as STORED

    assert STORED == WORDLIST_ACTIONS


def test_check_comment_maps_disguised_hits_back_to_the_original_text():
    text = "You are a <b>FUCK</b>ing f\u200bu\u200bc\u200bk and a b i t c h"
    hits = policy_wordlist().check_comment(text)
    assert [h.word for h in hits] == [text[h.start : h.end] for h in hits]
    assert [h.kind for h in hits][-1] is ListKind.SUSPECT
    assert "b i t c h" in hits[-1].word
    with pytest.raises(TypeError, match="text must be a str"):
        policy_wordlist().check_comment(b"fuck")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("fuck\treject\n", "line 2: expected entry, tier and category"),
        ("fuck\tnuke\tobscene\n", "line 2: unknown tier 'nuke'"),
        ("fuck\treject\trude\n", "line 2: unknown category 'rude'"),
        ("fuck\tallow\tobscene\n", "line 2: an allow entry takes no category"),
        ("fuck\treject\tobscene\nFUCK\thold\tobscene\n", "line 3: 'fuck' is listed twice"),
    ],
)
def test_default_words_file_errors_name_the_line(content, message):
    from moderator.rules.defaults import parse_default_words

    with pytest.raises(ValueError, match=message):
        parse_default_words("# header\n" + content)


def test_default_words_file_format():
    from moderator.rules.defaults import parse_default_words

    parsed = parse_default_words("# c\n\nHoe\thold\tinsult\nkill\tallow\t-\n")
    assert parsed == (
        DefaultEntry("hoe", Tier.HOLD, Category.INSULT),
        DefaultEntry("kill", Tier.ALLOW, None),
    )
