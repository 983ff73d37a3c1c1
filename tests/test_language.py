"""Language identification: honest about short comments, never calls short English foreign.

Every sentence here is our own. bench/bench_language.py measures the same rules on the
shared datasets (bench/results/language.md).
"""

from __future__ import annotations

import pytest

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
