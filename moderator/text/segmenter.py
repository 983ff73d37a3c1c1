"""Sentence spans of a raw comment, for scoring each sentence on its own.

A long comment dilutes one abusive sentence: the classifier's TF-IDF rows are L2-normalised,
so "Thanks for covering the trial. I will kill him." weighs the threat against the thanks.
`sentences(text)` cuts the ORIGINAL text (spans index it directly, whatever normalisation does
later) where a reader would: after `.`, `!`, `?`, `;` or an ellipsis followed by a space (closing
quotes and brackets stay with their sentence), at line breaks and at `<br>`/`</p>`. It does not
cut after known abbreviations (data/text_abbreviations.txt: "Mr.", "Sen.", "e.g."), single
capital initials ("J. K. Rowling", "U.S.") or "No. 5", nor inside numbers, URLs or e-mails
(no space follows their dots). A run-on longer than MAX_WORDS words (no punctuation at all, as
many comments are written) becomes overlapping windows of WINDOW words every STRIDE words, so
any phrase of up to WINDOW - STRIDE words lies whole inside one window.

Everything is one linear regex pass plus a walk over the words of long pieces: hostile input
(20 KB of dots, one 20 KB word) costs time linear in its length.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

__all__ = ["MAX_WORDS", "STRIDE", "WINDOW", "sentences"]

#: A piece with more words than this is scored in overlapping windows. Chosen with the
#: dilution benchmark (bench/bench_dilution.py): an unpunctuated insult of a few words inside a
#: 60-word run-on is found by 12-word windows and lost by 24-word ones.
MAX_WORDS = 20
#: Window length and step, in words, for long pieces.
WINDOW = 12
STRIDE = 6

# Sentence-final punctuation, the closing quotes and brackets that stay with it, and line breaks.
_STOPS = ".!?;\u2026\u203c\u2047-\u2049\u3002\uff01\uff1f"
_CLOSERS = "\"'\u2019\u201d)\\]\u00bb"
_BREAKS = "\n\r\v\f\x1c-\x1e\x85\u2028\u2029"
# Where a boundary may start: one character class the regex engine scans for quickly; each
# candidate is then matched in place. A run of stops is consumed whole (possessively), so
# 20,000 dots are scanned once, not once per dot.
_CANDIDATE = re.compile(f"[{_STOPS}{_BREAKS}<]")
_STOP = re.compile(f"[{_STOPS}]++[{_CLOSERS}]*+")
_STOP_CHAR = re.compile(f"[{_STOPS}]")
_BREAK = re.compile(f"[{_BREAKS}]\\s*")
_TAG = re.compile(r"<(?:[bB][rR]\s*/?|/[pP]\s*)>")
# The word a full stop follows, and what comes after the stop's whitespace.
_WORDS = re.compile(r"\S+")
# Letters, digits, or symbols such as emoji: a piece without any is punctuation or markup.
_CONTENT = re.compile(r"[^\W_]|[\u2190-\u2bff\U0001f000-\U0001faff]")


_CLOSER_CHARS = "\"'\u2019\u201d)]\u00bb"
_OPENER_CHARS = "\"'([{\u201c\u2018\u00ab"


@functools.cache
def _abbreviations() -> frozenset[str]:
    text = resources.files("moderator").joinpath("data", "text_abbreviations.txt")
    lines = (line.split("#", 1)[0].strip().lower() for line in text.read_text("utf-8").splitlines())
    return frozenset(line for line in lines if line)


def _keeps_going(text: str, piece_start: int, stop_start: int, stop: str, after: int) -> bool:
    """Whether a single full stop at `stop_start` ends an abbreviation or a list number."""
    if stop.rstrip(_CLOSER_CHARS) != ".":
        return False
    if stop_start - piece_start <= 8 and text[piece_start:stop_start].strip().isdigit():
        return True  # "1. first item"
    before = text[max(piece_start, stop_start - 32) : stop_start].rsplit(None, 1)
    word = before[-1].lstrip(_OPENER_CHARS) if before else ""
    if not word or not word[0].isalpha():
        return False
    if len(word) == 1:
        return word.isupper()  # an initial: "J. K. Rowling"
    if "." in word and all(len(part) <= 2 for part in word.split(".")):
        return True  # "U.S", "e.g", "a.m"
    lowered = word.lower()
    if lowered in ("no", "nos"):
        return text[after : after + 8].lstrip()[:1].isdigit()  # "No. 5", not "No. I disagree"
    return lowered in _abbreviations()


def sentences(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of `text`'s sentences in order, without surrounding whitespace.

    Pieces without a letter, digit or symbol (a lone "-" or "...") are left out; a text with
    no such piece gives []. Long run-ons give overlapping windows (see the module docstring).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    pieces: list[tuple[int, int]] = []
    n = len(text)
    start = pos = 0
    while (m := _CANDIDATE.search(text, pos)) is not None:
        i = m.start()
        char = text[i]
        if char == "<":
            tag = _TAG.match(text, i)
            if tag is None:
                pos = i + 1
                continue
            _add(text, start, i, pieces)
            start = pos = tag.end()
        elif _STOP_CHAR.match(char):
            end = _STOP.match(text, i).end()
            pos = end
            if end < n and text[end].isspace():
                if not _keeps_going(text, start, i, text[i:end], end):
                    _add(text, start, end, pieces)
                    start = end
        else:
            _add(text, start, i, pieces)
            start = pos = _BREAK.match(text, i).end()
    _add(text, start, n, pieces)
    return pieces


def _add(text: str, start: int, end: int, pieces: list[tuple[int, int]]) -> None:
    """Append text[start:end] trimmed, if it has content; long pieces as windows."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end or not _CONTENT.search(text, start, end):
        return
    words = None
    # Counting spaces first keeps the common short piece free of a word scan.
    if text.count(" ", start, end) >= MAX_WORDS:
        words = [m.span() for m in _WORDS.finditer(text, start, end)]
    if words is None or len(words) <= MAX_WORDS:
        pieces.append((start, end))
        return
    first = 0
    while True:
        last = min(first + WINDOW, len(words)) - 1
        pieces.append((words[first][0], words[last][1]))
        if last == len(words) - 1:
            return
        first += STRIDE
