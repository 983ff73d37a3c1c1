"""A comment as the context rules see it: its words as written (case, position, sentence)
and the rules file's shared word lists (data/word_contexts.toml's [shared] table).

Split once per comment with a hit and shared by every rule that looks at it (context.py).
"""

from __future__ import annotations

import bisect
import functools
import re
import tomllib
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from importlib import resources
from typing import NamedTuple

RULES_FILE = "word_contexts.toml"

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
#: _TOKEN as one group, for re.split: [gap, word, gap, word, ..., gap].
_TOKEN_SPLIT = re.compile(f"({_TOKEN.pattern})")
# The same on ASCII text, where [^\W_] is [A-Za-z0-9] and no ’ occurs (a narrower class scans
# faster).
_ASCII_TOKEN_SPLIT = re.compile(r"([A-Za-z0-9]+(?:'[A-Za-z0-9]+)*)")
# Characters after which a capital letter says nothing about names: sentence ends, colons,
# quotes, brackets and list bullets.
_SENTENCE_END = re.compile(r"[.!?…]|\n")
_CAPITAL_RESET = re.compile(r"[:\"“”(\[•*]")
# Words a Title Case Headline capitalises and a sentence does not.
_FUNCTION_WORDS = frozenset(
    "a an the of in on and or is was are were for to with at by from you your it this that be"
    " up".split()
)


class Token(NamedTuple):
    """One word of the comment as written, with where it sits."""

    start: int
    end: int
    text: str
    #: Lower case, possessive `'s` removed: what cues and names are compared with.
    key: str
    sentence: int
    #: The first word of a sentence, or after a colon, quote or bracket: its capital is no evidence.
    initial: bool

    @property
    def title_case(self) -> bool:
        """`Dick`, `McDonald`: an upper-case first letter and some lower-case after it."""
        return self.text[0].isupper() and any(c.islower() for c in self.text[1:])

    @property
    def capitalised(self) -> bool:
        """Title case, or a one-letter initial (`K` in `Philip K. Dick`)."""
        return self.title_case or (len(self.text) == 1 and self.text.isupper())

    @property
    def forms(self) -> tuple[str, ...]:
        """The key and its singular guesses (`puppies` -> `puppy`, `hens` -> `hen`)."""
        return tuple(_forms(self.key))

    def has_form_in(self, words: frozenset[str] | set[str]) -> bool:
        """Is one of `forms` in `words`? (Without building the tuple: most keys end in no s.)"""
        key = self.key
        return key in words or (key.endswith("s") and any(f in words for f in _forms(key)))


def _forms(key: str) -> Iterator[str]:
    """The key, then its singular guesses."""
    yield key
    if len(key) > 4 and key.endswith("ies"):
        yield key[:-3] + "y"
    if len(key) > 3 and key.endswith("es"):
        yield key[:-2]
    if len(key) > 2 and key.endswith("s") and not key.endswith("ss"):
        yield key[:-1]


def _key(word: str) -> str:
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return word.rstrip(".")


class CommentView:
    """A comment split into words and sentences once, for every rule that looks at it."""

    def __init__(
        self,
        text: str,
        is_listed: Callable[[str], bool],
        abbreviations: Iterable[str] | None = None,
    ) -> None:
        self.text = text
        self._is_listed = is_listed
        self._abbreviations = (
            frozenset(abbreviations) if abbreviations is not None else _shared_abbreviations()
        )
        self._sentences: list[int] | None = None
        self._listed: dict[str, bool] = {}
        self._headlines: dict[int, bool] = {}

    @functools.cached_property
    def tokens(self) -> list[Token]:
        """The comment's words, split on first use (a pattern rule never needs them)."""
        return self._tokenise(self.text)

    @functools.cached_property
    def _starts(self) -> list[int]:
        return [t.start for t in self.tokens]

    def _tokenise(self, text: str) -> list[Token]:
        # One split gives the words and the gaps between them: a gap that is one space (most
        # of them) holds no sentence end and no capital reset, the others are searched.
        parts = (_ASCII_TOKEN_SPLIT if text.isascii() else _TOKEN_SPLIT).split(text)
        tokens: list[Token] = []
        append = tokens.append
        new = tuple.__new__
        end_search = _SENTENCE_END.search
        reset_search = _CAPITAL_RESET.search
        sentence = 0
        position = len(parts[0])
        for k in range(1, len(parts), 2):
            word = parts[k]
            start = position
            end = start + len(word)
            position = end + len(parts[k + 1])
            if k == 1:
                initial = True
            else:
                gap = parts[k - 1]
                initial = False
                if gap != " ":
                    if end_search(gap) and not self._abbreviated(tokens[-1], gap):
                        sentence += 1
                        initial = True
                    elif reset_search(gap):
                        initial = True
            # _key(word), inline: a token holds no full stop to strip.
            key = word.lower()
            if "’" in key:
                key = key.replace("’", "'")
            if key.endswith("'s"):
                key = key[:-2]
            append(new(Token, (start, end, word, key, sentence, initial)))
        return tokens

    def _abbreviated(self, previous: Token, gap: str) -> bool:
        """`K. Dick`, `Sen. Durbin`: a full stop after an initial or a title ends no sentence."""
        if gap.strip() != ".":
            return False
        return (len(previous.text) == 1 and previous.text.isupper()) or (
            previous.key in self._abbreviations
        )

    def index(self, start: int) -> int | None:
        """The index of the token that contains or starts at character `start`."""
        i = bisect.bisect_right(self._starts, start) - 1
        if i >= 0 and self.tokens[i].start <= start < max(self.tokens[i].end, start + 1):
            return i
        if i + 1 < len(self.tokens) and self.tokens[i + 1].start >= start:
            return i + 1
        return None

    def last_index(self, end: int) -> int | None:
        """The index of the last token that starts before character `end`."""
        i = bisect.bisect_left(self._starts, end) - 1
        return i if i >= 0 else None

    def neighbour(self, i: int, step: int) -> Token | None:
        """The token `step` places from token i, if it is in the same sentence."""
        j = i + step
        if 0 <= j < len(self.tokens) and self.tokens[j].sentence == self.tokens[i].sentence:
            return self.tokens[j]
        return None

    def sentence_tokens(self, i: int) -> list[Token]:
        """The tokens of token i's sentence."""
        number = self.tokens[i].sentence
        if self._sentences is None:
            self._sentences = [t.sentence for t in self.tokens]
        # Sentence numbers never decrease along the text: a sentence is one slice of tokens,
        # found by bisection, so a long comment with many hits stays linear.
        lo = bisect.bisect_left(self._sentences, number)
        return self.tokens[lo : bisect.bisect_right(self._sentences, number, lo)]

    def headline(self, i: int) -> bool:
        """Is token i's sentence Written In Title Case? Then its capitals prove nothing."""
        number = self.tokens[i].sentence
        if number not in self._headlines:
            inner = [t for t in self.sentence_tokens(i) if not t.initial and t.text != "I"]
            capitalised = [t for t in inner if t.text[0].isupper()]
            function = sum(t.key in _FUNCTION_WORDS for t in capitalised)
            self._headlines[number] = (len(inner) >= 3 and len(capitalised) == len(inner)) or (
                function >= 2
            )
        return self._headlines[number]

    def shouted(self, i: int, exclude: Token | None = None) -> bool:
        """Is token i's sentence mostly in capitals (ignoring `exclude`)?"""
        words = [
            t
            for t in self.sentence_tokens(i)
            if t is not exclude and sum(c.isalpha() for c in t.text) >= 2
        ]
        if not words:
            return False
        return sum(t.text.isupper() for t in words) * 2 >= len(words)

    def listed(self, token: Token) -> bool:
        """Is this word a block or suspect hit on its own?"""
        if token.text not in self._listed:
            self._listed[token.text] = self._is_listed(token.text)
        return self._listed[token.text]


@functools.cache
def rules_data() -> dict:
    """data/word_contexts.toml, parsed once."""
    text = resources.files("moderator").joinpath("data", RULES_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


@functools.cache
def _shared_abbreviations() -> frozenset[str]:
    return frozenset(shared()["abbreviations"])


def shared() -> dict:
    """The rules file's [shared] word lists."""
    return rules_data()["shared"]
