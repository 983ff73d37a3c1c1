"""Word-list entries: a site's `word` / `word:category` strings validated and compiled into
entries that accept better-profanity's leetspeak variants at each position; the matcher
(matcher.py) indexes them."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from better_profanity import Profanity
from better_profanity.constants import ALLOWED_CHARACTERS
from better_profanity.utils import get_complete_path_of_file
from better_profanity.utils import read_wordlist

from moderator.policy import Category
from moderator.policy import ListKind
from moderator.rules.context import ContextRule

#: The longest entry a site may add (better-profanity's longest is 23 characters).
MAX_ENTRY_LENGTH = 64
#: The most entries a site may put on one list.
MAX_ENTRIES = 10_000


@functools.cache
def _chars_mapping() -> dict[str, tuple[str, ...]]:
    # Read from better-profanity itself so the variants can't drift from the library we match.
    return dict(Profanity(words=["x"]).CHARS_MAPPING)


@dataclass(frozen=True)
class _Entry:
    word: str
    kind: ListKind
    category: Category
    # The characters each position accepts: the entry's own and its leetspeak variants.
    positions: tuple[frozenset[str], ...]
    # Context rules that skip a hit of this entry when they show its innocent sense.
    contexts: tuple[ContextRule, ...] = ()

    def matches(self, lowered: str) -> bool:
        return len(lowered) == len(self.positions) and all(
            c in accepted for c, accepted in zip(lowered, self.positions, strict=True)
        )


def _default_words() -> list[str]:
    return list(read_wordlist(get_complete_path_of_file("profanity_wordlist.txt")))


def _entry(
    word: str, kind: ListKind, category: Category, contexts: tuple[ContextRule, ...] = ()
) -> _Entry:
    mapping = _chars_mapping()
    word = word.lower()
    positions = tuple(frozenset(mapping.get(c, (c,))) for c in word)
    return _Entry(word=word, kind=kind, category=category, positions=positions, contexts=contexts)


def site_entries(
    words: Iterable[str], kind: ListKind, category: Category = Category.OBSCENE
) -> list[_Entry]:
    """A site's `word` / `word:category` entries for one list, validated like `compile`."""
    return [_entry(w, kind, c) for w, c in _parse(words, str(kind), category)]


def check_list(words: Iterable[str], name: str) -> None:
    """A word list must be an iterable of entries, not one string."""
    if isinstance(words, str | bytes) or not isinstance(words, Iterable):
        raise ValueError(f"{name} list must be a list of words, not {type(words).__name__}")


def _parse(words: Iterable[str], name: str, default: Category) -> list[tuple[str, Category]]:
    check_list(words, name)
    parsed = []
    for raw in words:
        if len(parsed) >= MAX_ENTRIES:
            raise ValueError(f"{name} list has more than {MAX_ENTRIES} entries")
        if not isinstance(raw, str):
            raise ValueError(f"{name} list entries must be strings, got {type(raw).__name__}")
        word, category = raw.strip(), default
        if len(word) > MAX_ENTRY_LENGTH + len(":identity_attack"):
            raise ValueError(f"{name} list entry {_show(word)} is longer than {MAX_ENTRY_LENGTH}")
        if ":" in word:
            word, _, suffix = word.rpartition(":")
            word = word.strip()
            if name == ListKind.ALLOW:
                raise ValueError(f"allow list entry {_show(raw)} cannot have a category")
            try:
                category = Category(suffix.strip())
            except ValueError:
                known = ", ".join(Category)
                raise ValueError(
                    f"{name} list entry {_show(raw)}: unknown category {_show(suffix.strip())}"
                    f" (one of {known})"
                ) from None
        if not word:
            raise ValueError(f"{name} list has an empty entry {_show(raw)}")
        if len(word) > MAX_ENTRY_LENGTH:
            raise ValueError(f"{name} list entry {_show(word)} is longer than {MAX_ENTRY_LENGTH}")
        if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in word):
            raise ValueError(
                f"{name} list entry {_show(word)} contains control or invisible characters"
            )
        if not any(c in ALLOWED_CHARACTERS for c in word):
            raise ValueError(
                f"{name} list entry {_show(word)} has no letter or digit, never matches"
            )
        parsed.append((word, category))
    return parsed


def _show(value: str) -> str:
    """An entry as quoted in an error message: escaped and at most 40 characters."""
    quoted = repr(value)
    return quoted if len(quoted) <= 40 else quoted[:37] + "..."
