"""The text normaliser: one table per disguise, innocent text left alone, offsets, hostile input."""

from __future__ import annotations

import os
import random
import re
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from moderator.text import Normalised
from moderator.text import clean as text_clean
from moderator.text import normalise
from moderator.text import normalise_with_offsets
from moderator.text import obfuscation as text_obfuscation
from moderator.text.align import _Aligned
from moderator.text.clean import char_class
from moderator.text.normalise import _run

DATA_DIR = Path(
    os.environ.get("MODERATOR_DATA_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)


def plain(text: str) -> str:
    """What normalising must reduce innocent text to: casefolded, spaces collapsed."""
    return " ".join(text.casefold().split())


# --- one table per disguise -------------------------------------------------------------------

LEETSPEAK = [
    ("sh1t", "shit"),
    ("a$$", "ass"),
    ("f4gg0t", "faggot"),
    ("b!tch", "bitch"),
    ("@ss", "ass"),
    ("kiss my @sshole", "kiss my asshole"),
    ("$hit happens", "shit happens"),
    ("you f*cking idiot", "you fucking idiot"),
    ("sh*t", "shit"),
    ("what the h*ll", "what the hell"),
    ("pu$$y", "pussy"),
    ("c0ck", "cock"),
    ("1d10t", "idiot"),
    ("a55", "ass"),
    ("b!tch!!!", "bitch!!!"),
    ("(sh1t)", "(shit)"),
    ("SH1T", "shit"),
    ("sh111t", "shit"),
    ("f@g", "fag"),
    ("b1tches", "bitches"),
    ("dumba$$es", "dumbasses"),
    # Two or more stars could hide any letters: left alone rather than guessed.
    ("f**k p***y", "f**k p***y"),
]

SPACED = [
    ("f u c k", "fuck"),
    ("you are a f u c k", "you are a fuck"),
    ("d.i.c.k", "dick"),
    ("s-h-i-t", "shit"),
    ("f_u_c_k", "fuck"),
    ("f*u*c*k off", "fuck off"),
    ("f . u . c . k", "fuck"),
    ("F U C K I N G idiot", "fucking idiot"),
    ("a s s", "ass"),
    ("u r a a s s", "u r a ass"),
    ("u r a l o s e r", "u r a loser"),
    ("s h 1 t", "shit"),
    ("r.i.p", "rip"),
    ("u.s.a.", "usa."),
    ("b r y c e", "bryce"),
    # Only spaced runs keep neighbouring single letters apart; t.r.u.m.p is one word.
    ("t.r.u.m.p", "trump"),
    ("g e t  o u t", "getout"),
    ("F\nU\nC\nK\nY\nO\nU", "fuck you"),
]

STRETCHED = [
    ("fuuuuck", "fuck"),
    ("shiiiit", "shit"),
    ("fuckkkkk", "fuck"),
    ("biiiitch", "bitch"),
    ("goooood", "good"),
    ("sooooo", "so"),
    ("yessss", "yes"),
    ("hmmmmm", "hmm"),
    ("killlll", "kill"),
    ("fuuuuuucking", "fucking"),
    ("weeeekend", "weekend"),
    ("fatherrrr", "father"),
    ("Henry VIII", "henry viii"),
    ("WWIII", "wwiii"),
    ("#boycotttwitter", "#boycotttwitter"),
]

UNICODE = [
    ("\uff46\uff55\uff43\uff4b", "fuck"),  # fullwidth
    ("\U0001d41f\U0001d42e\U0001d41c\U0001d424", "fuck"),  # mathematical bold
    ("\U0001d58b\U0001d59a\U0001d588\U0001d590", "fuck"),  # mathematical fraktur
    ("\u24d5\u24e4\u24d2\u24da", "fuck"),  # circled
    ("\U0001f175\U0001f184\U0001f172\U0001f17a", "fuck"),  # negative squared
    ("\U0001f155\U0001f164\U0001f152\U0001f15a", "fuck"),  # negative circled
    ("fu\u0441k", "fuck"),  # Cyrillic es
    ("\u0430ss", "ass"),  # Cyrillic a
    ("\u0455\u04bb\u0456t", "shit"),  # Cyrillic dze, shha, i
    ("b\u03bf\u03bfbs", "boobs"),  # Greek omicron
    ("\u0421\u0423\u041dT", "cyht"),  # capitals that look Latin fold like Latin
    ("\u1d04\u1d1c\u0274\u1d1b", "cunt"),  # small capitals
    ("f\u200bu\u200cc\u200dk", "fuck"),  # zero-width space, non-joiner, joiner
    ("sh\u2060i\ufefft", "shit"),  # word joiner, BOM
    ("\u202efuck\u202c", "fuck"),  # bidi override
    ("\u2066shit\u2069", "shit"),  # bidi isolate
    ("f\x00u\x01c\x7fk\x9f", "fuck"),  # C0 and C1 controls, DEL, NUL
    ("line\nbreak\ttab\r\nend", "line break tab end"),
    ("f\u0336u\u0336c\u0336k\u0336", "fuck"),  # combining strike-through
    ("s\u0307h\u0323i\u0308t\u0301", "shit"),  # accents
    ("STRASSE Stra\u00dfe", "strasse strasse"),  # casefold
    ("\u0130stanbul", "istanbul"),
    ("\ufb01ne \ufb03ce", "fine ffice"),  # ligatures
    ("don\u2019t \u201cquote\u201d \u2013 dash", 'don\'t "quote" - dash'),
    ("Brand\u2122", "brand"),
    (
        "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440",
        "\u043f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440",
    ),
    ("\u03ba\u03cc\u03c3\u03bc\u03bf\u03c2", "\u03ba\u03bf\u03c3\u03bc\u03bf\u03c3"),
    ("\u0928\u092e\u0938\u094d\u0924\u0947", "\u0928\u092e\u0938\u094d\u0924\u0947"),
    ("\U0001f600 \u2764\ufe0f", "\U0001f600 \u2764"),
]

MARKUP = [
    ("&amp;", "&"),
    ("&amp;amp;", "&"),
    ("&#8220;hi&#8221;", '"hi"'),
    ("&lt;3 &gt;", "<3 >"),
    ("&lt;b&gt;not a tag&lt;/b&gt;", "<b>not a tag</b>"),
    ("&#128514;&#128514;", "\U0001f602\U0001f602"),
    ("f&#8203;u&#8203;c&#8203;k", "fuck"),
    ("AT&T and Q&A", "at&t and q&a"),
    ("<b>bo</b>ld", "bold"),
    ("<p>one</p><p>two</p>", "one two"),
    ("line<br>break<br/>again", "line break again"),
    ('<a href="http://x.com">click</a> here', "click here"),
    ("x<script>alert('sh1t')</script>y", "x y"),
    ("<STYLE>body{color:red}</STYLE>text", "text"),
    ("before<!-- hidden -->after", "before after"),
    ("<script>never closed", ""),
    ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
    ("x<y and y>z", "x<y and y>z"),
    ("<3 you", "<3 you"),
]

LINKS = [
    ("see http://t.co/abc123 now", "see url now"),
    ("https://example.com/a?b=c&d=e", "url"),
    ("www.example.com", "url"),
    ("pic.twitter.com/AbC", "url"),
    ("OLID style URL", "olid style url"),
    ("EDOS style [URL] and [USER]", "edos style url and @user"),
    ("@USER @USER thanks", "@user @user thanks"),
    ("@realDonaldTrump said", "@user said"),
    ("RT @mayasolovely: As a woman", "@user: as a woman"),
    ("RT @name hello", "@user hello"),
    ("RT RT @name: hello", "@user: hello"),
    ("email me at bob@example.com", "email me at bob@example.com"),
    ("@ss", "ass"),
    ("hey @bob_99!", "hey @user!"),
    ("@ssassin and @shitpussiessay", "@user and @user"),
]

KEPT = [
    ("$5", "$5"),
    ("it costs $5.99 or 4$", "it costs $5.99 or 4$"),
    ("2019", "2019"),
    ("at 10:30 on 12/05/2019", "at 10:30 on 12/05/2019"),
    ("the 4th, 1st and 3rd of 90s", "the 4th, 1st and 3rd of 90s"),
    ("mp3 h2o b2b covid19 5g 4k", "mp3 h2o b2b covid19 5g 4k"),
    ("5am 7am 8am 10pm", "5am 7am 8am 10pm"),
    ("call 555-1234", "call 555-1234"),
    ("v1.2.3 and 1.2.3.4", "v1.2.3 and 1.2.3.4"),
    ("wow!!! really?!", "wow!!! really?!"),
    ("#MAGA #Trump2020", "#maga #trump2020"),
    ("good cocktail assessment", "good cocktail assessment"),
    ("a b c", "a b c"),
    ("c i a", "c i a"),
    ("100%", "100%"),
    ("e.g. i.e.", "e.g. i.e."),
]


@pytest.mark.parametrize(("value", "expected"), LEETSPEAK)
def test_leetspeak_inside_words_is_decoded(value, expected):
    assert normalise(value) == expected


@pytest.mark.parametrize(("value", "expected"), SPACED)
def test_spaced_and_dotted_letters_are_joined(value, expected):
    assert normalise(value) == expected


@pytest.mark.parametrize(("value", "expected"), STRETCHED)
def test_stretched_letters_are_cut_back(value, expected):
    assert normalise(value) == expected


@pytest.mark.parametrize(("value", "expected"), UNICODE)
def test_unicode_tricks_are_undone(value, expected):
    assert normalise(value) == expected


@pytest.mark.parametrize(("value", "expected"), MARKUP)
def test_markup_is_dropped_and_entities_decoded(value, expected):
    assert normalise(value) == expected


@pytest.mark.parametrize(("value", "expected"), LINKS)
def test_urls_and_mentions_become_placeholders(value, expected):
    assert normalise(value) == expected


@pytest.mark.parametrize(("value", "expected"), KEPT)
def test_numbers_emails_and_ordinary_words_are_not_mangled(value, expected):
    assert normalise(value) == expected


INNOCENT = [
    "Scunthorpe assassination cocktail analysis Essex Sussex therapist grape shitake",
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
    "The assessment of the cocktail party was good.",
    "I am a man",
    "Is it a bird? Is it a plane?",
    "Cumberland sausages, Penistone and Middlesex",
    "He passed the bass to Cassandra at 10:30.",
    "Book a room: three weeks, all inclusive, $1,299.",
    "Essex, Sussex, Wessex and Middlesex",
    "The butt of the joke was Dickens.",
    "arsenal won 3-1 at 4pm",
]


@pytest.mark.parametrize("sentence", INNOCENT)
def test_innocent_text_with_bad_substrings_only_changes_case_and_spaces(sentence):
    assert normalise(sentence) == plain(sentence)


@pytest.mark.parametrize("word", ["shit", "fuck", "cunt", "bitch", "ass", "dick", "fag"])
@pytest.mark.parametrize("sentence", INNOCENT)
def test_normalising_never_creates_a_bad_word_in_innocent_text(sentence, word):
    before = plain(sentence).split()
    after = normalise(sentence).split()
    assert before.count(word) == after.count(word)


# --- offsets ----------------------------------------------------------------------------------

OBFUSCATED = [
    # (original, the disguised characters in it, the word they normalise to)
    ("you are a f u c k", "f u c k", "fuck"),
    ("shut up you d.i.c.k!", "d.i.c.k", "dick"),
    ("what a piece of sh1t", "sh1t", "shit"),
    ("kiss my a$$ now", "a$$", "ass"),
    ("this is fuuuuuucking stupid", "fuuuuuucking", "fucking"),
    ("you \uff46\uff55\uff43\uff4b moron", "\uff46\uff55\uff43\uff4b", "fuck"),
    ("you f\u200bu\u200bc\u200bk", "f\u200bu\u200bc\u200bk", "fuck"),
    ("RT @someone: you \u0430ss", "\u0430ss", "ass"),
    ("&lt;3 you b!tch &amp; more", "b!tch", "bitch"),
    ("<b>hey</b> s-h-i-t <i>x</i>", "s-h-i-t", "shit"),
    (
        "\U0001d41f\U0001d42e\U0001d41c\U0001d424 off",
        "\U0001d41f\U0001d42e\U0001d41c\U0001d424",
        "fuck",
    ),
    ("go to http://x.example/a?b=1 you c*nt", "c*nt", "cunt"),
    ("Stra\u00dfe  and   f\u0336u\u0336c\u0336k\u0336 it", "f\u0336u\u0336c\u0336k\u0336", "fuck"),
    ("u r a l o s e r", "l o s e r", "loser"),
]


@pytest.mark.parametrize(("original", "disguised", "word"), OBFUSCATED)
def test_original_span_of_a_decoded_word_covers_exactly_its_disguise(original, disguised, word):
    aligned = normalise_with_offsets(original)
    assert aligned.text == normalise(original)
    start = aligned.text.index(word)
    span = aligned.original_span(start, start + len(word))
    assert original[span[0] : span[1]] == disguised


def test_offsets_of_unchanged_words_point_at_themselves():
    original = "  Hello\tWORLD &amp; friends  "
    aligned = normalise_with_offsets(original)
    assert aligned.text == "hello world & friends"
    for word in ("hello", "world", "&", "friends"):
        start = aligned.text.index(word)
        a, b = aligned.original_span(start, start + len(word))
        assert original[a:b].casefold() in (word, "&amp;")
    assert [aligned.original_span(i, i + 1) for i in range(5)] == [
        (2, 3),
        (3, 4),
        (4, 5),
        (5, 6),
        (6, 7),
    ]


def test_replaced_url_maps_to_the_whole_url():
    original = "see https://example.com/path?q=1 now"
    aligned = normalise_with_offsets(original)
    assert aligned.text == "see url now"
    assert aligned.original_span(4, 7) == (4, original.index(" now"))


def test_empty_span_maps_to_an_empty_span_in_place():
    aligned = normalise_with_offsets("ab  cd")
    assert aligned.original_span(3, 3) == (4, 4)
    assert aligned.original_span(5, 5) == (6, 6)
    assert normalise_with_offsets("").original_span(0, 0) == (0, 0)


@pytest.mark.parametrize(("start", "end"), [(-1, 2), (2, 1), (0, 99)])
def test_span_outside_the_text_raises(start, end):
    with pytest.raises(IndexError):
        normalise_with_offsets("hello").original_span(start, end)


def test_normalised_is_frozen():
    aligned = normalise_with_offsets("x")
    assert isinstance(aligned, Normalised)
    with pytest.raises(AttributeError):
        aligned.text = "y"  # type: ignore[misc]


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    " \t\n\r\x0b\x0c ",
    "\u3000\u00a0\u2028",
    "\ud800",
    "a\udfffb\ud800",
    "\x00",
    "a\x00b\x00c",
    "\u202eevil\u202c text",
    "\u2066isolated\u2069",
    "e\u0301\u0301\u0301\u0301\u0301" * 20,
    "Z\u0351\u0352\u0357\u0350\u0353a\u0367\u0368l\u0346\u0358g\u035co",
    "\U0001f600\U0001f926\U0001f3fd\u200d\u2642\ufe0f\U0001f1fa\U0001f1f8",
    "\u1100\u1161\u11a8 \uff76\uff9e",
    "<script>alert('x')</script>",
    "<scr<script>ipt>",
    "&#0; &#x110000; &#55296; &#99999999; &bogus;",
    "@" * 50,
    "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z",
    "1" * 30 + "a",
    "\U000e0041\U000e0042",
    "\ufeff\ufeff",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_input_does_not_raise_and_offsets_stay_in_range(value):
    result = normalise(value)
    assert isinstance(result, str)
    assert result == result.strip()
    assert "  " not in result
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in result)
    aligned = normalise_with_offsets(value)
    assert aligned.text == result
    assert len(aligned.starts) == len(aligned.ends) == len(result)
    for a, b in zip(aligned.starts, aligned.ends, strict=True):
        assert 0 <= a < b <= len(value)


@pytest.mark.parametrize("value", ["", " ", "\n\t ", "\u200b\u200b", "\x00"])
def test_empty_and_invisible_only_input_normalises_to_empty(value):
    assert normalise(value) == ""
    assert normalise_with_offsets(value).text == ""


@pytest.mark.parametrize("value", [None, b"bytes", 42, ["list"]])
def test_non_text_raises_type_error(value):
    with pytest.raises(TypeError, match="text must be a str"):
        normalise(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text must be a str"):
        normalise_with_offsets(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "big",
    [
        "You are a f u c k i n g idiot, sh1t!!! &amp; <b>bold</b> \u0430ss \U0001f600 " * 1600,
        "a" * 100_000,
        "a b " * 25_000,
        "<a" * 50_000,
        "\u0301" * 100_000,
        "a1" * 50_000,
        "&amp;" * 20_000,
    ],
    ids=["mixed", "one-letter-run", "spaced", "open-tags", "marks", "leet-token", "entities"],
)
def test_100_kb_input_is_handled_in_reasonable_time(big):
    started = time.perf_counter()
    result = normalise(big)
    aligned = normalise_with_offsets(big)
    assert aligned.text == result
    assert time.perf_counter() - started < 20


def test_every_unicode_space_becomes_one_space():
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    assert len(spaces) > 20
    for space in spaces:
        assert normalise(f"a{space}{space}b") == "a b", hex(ord(space))


# --- normalise and normalise_with_offsets agree --------------------------------------------------

# Characters that reach every step: the disguises above plus markup, entities and odd Unicode.
TRICKY = st.sampled_from(
    list("abcdefhiklmnorstuy AISFUCK0134578@$!|+*.-_/#&;<>:\t\n'")
    + ["&amp;", "&#8220;", "&lt;", "<b>", "</p>", "<script>", "http://t.co/x", "www.", "@user"]
    + ["RT @bob: ", "[USER]", "[url]", "sh1t", "f u c k", "fuuuck", "iii", "viii"]
    + list("\u0430\u0435\u043e\u0455\u0456\u03bf\u03b1\uff46\u200b\u202e\u0301\u0336\ufe0f")
    + ["\U0001d41f", "\ud800", "\x00", "\u00df", "\u0130", "\ufb03", "\u2122", "\uff9e", "\u1161"]
)


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(codec=None, exclude_categories=())))
@example("\uff76\uff9e")
@example("\u1100\u1161\u11a8")
@example("f\u0336u\u0336c\u0336k")
def test_offsets_text_equals_normalise_for_any_unicode(value):
    check_agreement(value)


@settings(max_examples=400, deadline=None)
@given(st.lists(TRICKY, max_size=30).map("".join))
def test_offsets_text_equals_normalise_for_disguised_text(value):
    check_agreement(value)


def check_agreement(value: str) -> None:
    aligned = normalise_with_offsets(value)
    assert aligned.text == normalise(value)
    assert len(aligned.starts) == len(aligned.ends) == len(aligned.text)
    for a, b in zip(aligned.starts, aligned.ends, strict=True):
        assert 0 <= a < b <= len(value)
    # Spans run in text order, so highlights never cross.
    assert list(aligned.starts) == sorted(aligned.starts)
    assert list(aligned.ends) == sorted(aligned.ends)
    if aligned.text:
        a, b = aligned.original_span(0, len(aligned.text))
        assert 0 <= a < b <= len(value)
    same_as_per_character_alignment(value, aligned)


def same_as_per_character_alignment(value: str, aligned, language: str = "en") -> None:
    """The spans normalise_with_offsets gives (mapped back through each step's edits) equal
    those of the per-character alignment (align._Aligned), for every span of every length."""
    doc = _Aligned(value)
    _run(doc, language)
    reference = Normalised(doc.text, tuple(doc.starts), tuple(doc.ends))
    assert (aligned.text, aligned.starts, aligned.ends) == (
        doc.text,
        *map(tuple, (doc.starts, doc.ends)),
    )
    n = len(reference.text)
    lengths = (0, 1, 2, 3, 7, n)
    for start in range(0, n + 1, max(1, n // 200)):
        for end in {min(n, start + k) for k in lengths}:
            assert aligned.original_span(start, end) == reference.original_span(start, end)


# --- real texts -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    from training.datasets import LOADERS

    if not DATA_DIR.is_dir():
        pytest.skip(f"no shared data at {DATA_DIR} (set MODERATOR_DATA_DIR)")
    return [example.text for load in LOADERS.values() for example in load(DATA_DIR)]


@pytest.mark.data
def test_offsets_text_equals_normalise_on_real_texts(corpus):
    sample = random.Random(7).sample(corpus, min(len(corpus), 6000))
    changed = 0
    for value in sample:
        check_agreement(value)
        changed += normalise(value) != plain(value)
    # The sample exercises the rewriting steps, not only lower-casing.
    assert changed > len(sample) // 10


@pytest.mark.data
def test_normalising_twice_changes_nothing_on_real_texts(corpus):
    # Training de-duplicates on normalised text; a second pass must not find more to do.
    changed = [t for t in corpus if normalise(normalise(t)) != normalise(t)]
    assert changed == []


# --- data tables ----------------------------------------------------------------------------------


def test_homoglyph_table_maps_to_single_ascii_letters_nfkc_leaves_alone():
    table = text_clean._homoglyphs()
    assert len(table) > 100
    for char, latin in table.items():
        assert len(latin) == 1 and latin.isascii() and latin.isalpha(), hex(ord(char))
        assert unicodedata.normalize("NFKD", char) == char, hex(ord(char))
        assert not char.isascii()


def test_word_lists_hold_words_only():
    profane, disguised, stretched = text_obfuscation._vocabularies()
    assert {"shit", "faggot", "idiot"} <= disguised
    assert "good" in stretched and "good" not in disguised
    assert all(w.isalpha() and w.islower() for w in stretched)


def test_every_invisible_character_is_removed():
    invisible = [
        chr(c)
        for c in range(0x110000)
        if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Co") and not chr(c).isspace()
    ]
    # Printable but invisible: fillers, variation selectors, the combining grapheme joiner.
    invisible += ["\u034f", "\u115f", "\u3164", "\uffa0", "\ufe0f", "\U000e0100", "\u180b"]
    assert len(invisible) > 130_000
    for char in invisible:
        assert normalise(f"a{char}b") == "ab", hex(ord(char))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\U0001f595", "fuck you"),
        ("\U0001f595\U0001f3ff\U0001f595\U0001f3fb", "fuck you fuck you"),
        ("you\U0001f595 idiot", "you fuck you idiot"),
        ("\U0001f595\ufe0f off", "fuck you off"),
        ("what a \U0001f921", "what a clown"),
        ("this take is \U0001f4a9", "this take is shit"),
        ("\U0001f92c referee", "fucking referee"),
        # Emoji whose ordinary use is harmless stay as they are.
        ("nice \U0001f346 and \U0001f412 \U0001f44d", "nice \U0001f346 and \U0001f412 \U0001f44d"),
    ],
)
def test_offensive_emoji_are_spelled_out(text, expected):
    assert normalise(text) == expected


def test_a_spelled_out_emoji_maps_back_to_the_emoji_and_its_skin_tone():
    text = "ok \U0001f595\U0001f3fd bye"
    aligned = normalise_with_offsets(text)
    assert aligned.text == "ok fuck you bye"
    start = aligned.text.index("fuck")
    assert aligned.original_span(start, start + len("fuck you")) == (3, 5)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Schöne Grüße aus der Straße", "de", "schöne grüße aus der straße"),
        ("ÄRGER über Öl", "de", "ärger über öl"),
        ("İSTANBUL ve IĞDIR", "tr", "istanbul ve ığdır"),
        ("Işık ILIK", "tr", "ışık ılık"),
        ("Não é possível, coração", "pt", "não é possível, coração"),
        ("AÇÃO", "pt", "ação"),
        ("مَرْحَبًا بكم", "ar", "مَرْحَبًا بكم"),
        # Zalgo and strike-through marks go in every language; a letter's own accent stays.
        ("z\u0337a\u0337l\u0337g\u0337o\u0337 Müll", "de", "zalgo müll"),
        # Markup, invisible characters, URLs and mentions as in English.
        ("<b>Hallo</b>\u200b @jemand https://x.de/a", "de", "hallo @user url"),
        # English disguises are decoded into English words only, so never elsewhere.
        ("f u c k sh1t", "de", "f u c k sh1t"),
    ],
)
def test_other_languages_keep_their_letters(text, language, expected):
    assert normalise(text, language) == expected
    assert normalise_with_offsets(text, language).text == expected


def test_english_still_folds_accents_and_undoes_disguises():
    assert normalise("Schöne Grüße") == "schone grusse"
    assert normalise("f u c k sh1t", "en") == "fuck shit"


@given(st.text(max_size=60), st.sampled_from(["de", "pt", "tr", "ar"]))
@settings(max_examples=200, deadline=None)
def test_offsets_hold_in_every_language(text, language):
    aligned = normalise_with_offsets(text, language)
    assert aligned.text == normalise(text, language)
    same_as_per_character_alignment(text, aligned, language)
    for i in range(len(aligned.text)):
        start, end = aligned.original_span(i, i + 1)
        assert 0 <= start <= end <= len(text)


# --- character classes written as ranges ----------------------------------------------------

EVERY_CHARACTER = "".join(map(chr, range(sys.maxunicode + 1)))


def test_char_class_writes_runs_as_ranges():
    assert char_class("abcx") == "[a-cx]"
    assert char_class(["b", "a", "a"]) == "[ab]"
    assert char_class("-]^\\") == r"[\-\\-\^]"  # \ ] ^ are U+005C-U+005E
    assert char_class("\U0001f150\U0001f151\U0001f152") == "[\U0001f150-\U0001f152]"
    for chars in ["abcx", "-]^\\", "\u2018\u2019\u201a\U0001f150\U0001f151", ""]:
        if chars:
            found = re.compile(char_class(chars)).findall(EVERY_CHARACTER)
            assert found == sorted(set(chars)), chars


def test_character_classes_match_what_their_lists_of_characters_matched():
    """The classes built by char_class find exactly what a class listing each character found."""
    listed = re.compile("[" + "".join(text_clean._PUNCTUATION) + "]")
    assert text_clean._PUNCTUATION_RE.findall(EVERY_CHARACTER) == listed.findall(EVERY_CHARACTER)
    for latin in (True, False):
        listed = re.compile("[" + re.escape("".join(sorted(text_clean._table(latin)))) + "]")
        built = text_clean._homoglyph_chars(latin)
        assert built.findall(EVERY_CHARACTER) == listed.findall(EVERY_CHARACTER)
    listed = re.compile(
        f"[{re.escape(''.join(sorted(text_clean._emoji())))}][\U0001f3fb-\U0001f3ff]?"
    )
    assert text_clean._emoji_pattern().findall(EVERY_CHARACTER) == listed.findall(EVERY_CHARACTER)
