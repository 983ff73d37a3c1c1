"""The sentence segmenter: spans into the original text, news-comment shapes, hostile input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from moderator.text import sentences
from moderator.text.segmenter import MAX_WORDS
from moderator.text.segmenter import STRIDE
from moderator.text.segmenter import WINDOW


def parts(text: str) -> list[str]:
    return [text[a:b] for a, b in sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One sentence without a stop", ["One sentence without a stop"]),
        (
            "Thanks for covering the trial. If I see the judge I will kill him.",
            ["Thanks for covering the trial.", "If I see the judge I will kill him."],
        ),
        ("Really?! You think so... no way", ["Really?!", "You think so...", "no way"]),
        ("Great piece\u2026 total idiot though", ["Great piece\u2026", "total idiot though"]),
        ('He said "you are a fool." Then he left.', ['He said "you are a fool."', "Then he left."]),
        ("(I agree.) But not here.", ["(I agree.)", "But not here."]),
        ("Fine; you are wrong", ["Fine;", "you are wrong"]),
        ("first line\nsecond line\r\n\r\nthird", ["first line", "second line", "third"]),
        (
            "bullets:\n- one\n- two\n1. three\n2. four",
            ["bullets:", "- one", "- two", "1. three", "2. four"],
        ),
        ("top<br>middle<BR/>bottom</p>end", ["top", "middle", "bottom", "end"]),
        ("Mr. Smith met Sen. Durbin in St. Louis.", ["Mr. Smith met Sen. Durbin in St. Louis."]),
        (
            "J. K. Rowling and U.S. troops, e.g. these.",
            ["J. K. Rowling and U.S. troops, e.g. these."],
        ),
        ("No. 5 won. No. I disagree.", ["No. 5 won.", "No.", "I disagree."]),
        (
            "It costs 3.5 million. See www.example.com/a.b now",
            ["It costs 3.5 million.", "See www.example.com/a.b now"],
        ),
        ("mail me at a.b@example.org. thanks", ["mail me at a.b@example.org.", "thanks"]),
        ("\U0001f595", ["\U0001f595"]),
        (
            "Nice game \U0001f44d. You suck \U0001f595",
            ["Nice game \U0001f44d.", "You suck \U0001f595"],
        ),
        ("  padded text.  ", ["padded text."]),
        ("", []),
        ("   \n\n  ", []),
        ("... --- !!!", []),
    ],
)
def test_sentences_of_news_comments(text, expected):
    assert parts(text) == expected


def test_long_run_on_is_scored_in_overlapping_windows():
    words = [f"w{i}" for i in range(100)]
    spans = sentences(" ".join(words))
    windows = [" ".join(words)[a:b].split() for a, b in spans]
    assert all(len(w) <= WINDOW for w in windows)
    assert windows[0][0] == "w0" and windows[-1][-1] == "w99"
    # Every phrase of WINDOW - STRIDE words lies whole inside one window.
    for i in range(100 - (WINDOW - STRIDE) + 1):
        phrase = words[i : i + WINDOW - STRIDE]
        assert any(" ".join(phrase) in " ".join(w) for w in windows), phrase


def test_a_piece_at_the_word_limit_stays_whole():
    text = " ".join(["word"] * MAX_WORDS)
    assert sentences(text) == [(0, len(text))]


@given(st.text(alphabet=st.sampled_from("ab .!?;\n\u2026\"')\U0001f595<br>"), max_size=200))
@settings(max_examples=300, deadline=None)
def test_spans_index_the_original_in_order_and_trimmed(text):
    spans = sentences(text)
    previous_start = -1
    for a, b in spans:
        assert 0 <= a < b <= len(text)
        assert a >= previous_start
        previous_start = a
        assert not text[a].isspace() and not text[b - 1].isspace()


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_every_letter_is_in_some_sentence(text):
    covered = set()
    for a, b in sentences(text):
        covered.update(range(a, b))
    for i, c in enumerate(text):
        if c.isalpha() and not text[max(0, i - 4) : i + 1].lower().endswith("<br"):
            # Letters of a <br>/</p> tag are markup, not text.
            if "<" in text[max(0, i - 3) : i + 1] or "</p" in text[max(0, i - 3) : i + 2].lower():
                continue
            assert i in covered, (text, i)


@pytest.mark.parametrize("value", [None, 3, b"bytes", ["a"]])
def test_sentences_refuses_non_strings(value):
    with pytest.raises(TypeError):
        sentences(value)


@pytest.mark.parametrize(
    "text",
    ["." * 20_000, "a" * 20_000, "a. " * 7_000, "\n" * 20_000, "Mr. " * 5_000, "word " * 4_000],
)
def test_hostile_input_is_linear(text):
    started = time.perf_counter()
    spans = sentences(text)
    # Not a timing assertion on speed, a guard against quadratic blow-up: 20 KB in well under
    # the time a quadratic scan would take (seconds).
    assert time.perf_counter() - started < 2.0
    assert all(0 <= a < b <= len(text) for a, b in spans)
