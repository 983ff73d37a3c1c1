"""The default word list in tiers, and the policy word list a site gets from it.

`data/default_words.tsv` gives every entry of better-profanity's list (and our additions) a
tier and a category:

- `reject`: abusive or obscene in every sense; a block entry when the site's
  `wordlist_action` is `reject` (the default), a suspect entry when it is `hold`;
- `hold`: a suspect entry whatever the setting, with the context rules of
  `data/word_contexts.toml` that skip it in an innocent context (`Dick Van Dyke`);
- `allow`: an allow entry, so the ordinary word never triggers a word rule by itself.

A site's own block list always rejects and its suspect list always holds, with no context
rules; its allow list wins over everything.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from moderator.policy import Category
from moderator.policy import ListKind
from moderator.rules.context import rules_by_word
from moderator.rules.matcher import WordList
from moderator.rules.matcher import _entry
from moderator.rules.matcher import check_list
from moderator.rules.matcher import site_entries

DEFAULT_WORDS_FILE = "default_words.tsv"
#: The values of a site's `wordlist_action` setting; the first is the default.
WORDLIST_ACTIONS = ("reject", "hold")


class Tier(enum.StrEnum):
    """What a default-list entry can do."""

    REJECT = "reject"
    HOLD = "hold"
    ALLOW = "allow"


@dataclass(frozen=True)
class DefaultEntry:
    """One line of data/default_words.tsv."""

    word: str
    tier: Tier
    #: The reason category of a hit; None for `allow` entries.
    category: Category | None


@functools.cache
def default_entries() -> tuple[DefaultEntry, ...]:
    """Every entry of data/default_words.tsv, in file order; a bad line raises ValueError."""
    path = resources.files("moderator").joinpath("data", DEFAULT_WORDS_FILE)
    return parse_default_words(path.read_text(encoding="utf-8"))


def parse_default_words(text: str) -> tuple[DefaultEntry, ...]:
    """Parse the default_words.tsv format: `entry<TAB>tier<TAB>category`, `#` comment lines."""
    entries: list[DefaultEntry] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        line = line.rstrip()
        where = f"{DEFAULT_WORDS_FILE} line {number}"
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{where}: expected entry, tier and category separated by tabs")
        word, tier, category = (f.strip() for f in fields)
        word = word.lower()
        if word in seen:
            raise ValueError(f"{where}: {word!r} is listed twice")
        seen.add(word)
        try:
            tier = Tier(tier)
        except ValueError:
            raise ValueError(f"{where}: unknown tier {tier!r}") from None
        if tier is Tier.ALLOW:
            if category != "-":
                raise ValueError(f"{where}: an allow entry takes no category ('-')")
            entries.append(DefaultEntry(word, tier, None))
            continue
        try:
            entries.append(DefaultEntry(word, tier, Category(category)))
        except ValueError:
            raise ValueError(f"{where}: unknown category {category!r}") from None
    return tuple(entries)


def policy_wordlist(
    action: str = WORDLIST_ACTIONS[0],
    block: Iterable[str] = (),
    suspect: Iterable[str] = (),
    allow: Iterable[str] = (),
) -> WordList:
    """The default list in tiers under `wordlist_action` = `action`, plus a site's own lists.

    Site entries are `word` or `word:category` (default obscene), validated as in
    `WordList.compile`. A site's block or suspect word overrides the default allow tier.
    Without site lists the result is compiled once per action.
    """
    if action not in WORDLIST_ACTIONS:
        raise ValueError(f"wordlist_action must be one of {', '.join(WORDLIST_ACTIONS)}")
    for words, kind in (
        (block, ListKind.BLOCK),
        (suspect, ListKind.SUSPECT),
        (allow, ListKind.ALLOW),
    ):
        check_list(words, str(kind))
    block, suspect, allow = tuple(block), tuple(suspect), tuple(allow)
    if not (block or suspect or allow):
        return _default_policy_wordlist(action)
    return _compile(action, block, suspect, allow)


@functools.cache
def _default_policy_wordlist(action: str) -> WordList:
    return _compile(action, (), (), ())


def _compile(
    action: str, block: tuple[str, ...], suspect: tuple[str, ...], allow: tuple[str, ...]
) -> WordList:
    site = (
        site_entries(block, ListKind.BLOCK)
        + site_entries(suspect, ListKind.SUSPECT)
        + site_entries(allow, ListKind.ALLOW)
    )
    listed = {e.word for e in site if e.kind is not ListKind.ALLOW}
    contexts = rules_by_word()
    reject_kind = ListKind.BLOCK if action == "reject" else ListKind.SUSPECT
    defaults = []
    for d in default_entries():
        if d.tier is Tier.ALLOW:
            if d.word not in listed:
                defaults.append(_entry(d.word, ListKind.ALLOW, Category.OBSCENE))
        elif d.tier is Tier.HOLD:
            defaults.append(_entry(d.word, ListKind.SUSPECT, d.category, contexts.get(d.word, ())))
        else:
            defaults.append(_entry(d.word, reject_kind, d.category))
    # Site entries first: for the same word and kind, the site's own entry (no contexts) wins.
    return WordList(site + defaults)
