"""The word-list matcher: better-profanity's matching, compiled into dict lookups.

A `WordList` matches exactly what better-profanity 0.7.0 censors, but costs one dict lookup per
word instead of comparing every word with all 916 list entries (better-profanity's
`contains_profanity` takes ~14 ms per tweet). Its semantics, kept on purpose:

- Words are maximal runs of better-profanity's ALLOWED_CHARACTERS: ASCII letters and digits,
  `@ $ * " '` and ~5,800 Unicode letters. Everything else separates words, so `'fuck'` is one
  word that is not on the list, `#fuck` matches, and `Scunthorpe` or `assassination` never match.
- A word matches an entry case-insensitively (`str.lower()` of the word) with the leetspeak
  variants of CHARS_MAPPING at each position (`f*ck`, `sh1t`, `fvck`). The variants only go
  one way: the entry `fuck` matches `f*ck`, the entry `f*ck` does not match `fuck`.
- Before matching a word alone, better-profanity joins it with up to N following words (N = the
  most separator characters in any entry: 5 for its list), both without the separators
  (`fu ck` -> `fuck`) and with them exactly as written (`blow job`, `f-u-c-k`); the first join
  that matches wins and the hit spans all the words joined.
- A one-character word at the very end of the text is not joined (`sh!t` alone does not match,
  `sh!t happens` does), and a text whose first word starts at its last character has no hits.

A hit's word is the text as written (`F*CK`, `fu ck`) and its span indexes `text` (code points).
`WordList.check` is that raw matcher. `WordList.check_comment` is what the decision path uses:
it matches the normalised text, maps each hit back to the comment as written, and drops the
hits of `hold` words whose context shows their innocent sense (rules/context.py).

Per-site lists use the same matcher: block -> reject, suspect -> hold, allow -> a match on an
allow entry (or its variants) produces no hit and consumes its words, so `allow=["dick"]` clears
`Dick Cheney` but not `dickhead`. When one string matches entries of several lists, allow wins
over block, and block over suspect. One deliberate difference from
better-profanity: with a list that has no multi-word entry (N = 1) better-profanity only tries
the join on every other word (its look-ahead window is emptied on alternate words); we try it
on every word.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable

from better_profanity.constants import ALLOWED_CHARACTERS

from moderator.policy import Category
from moderator.policy import ListKind
from moderator.policy import RuleHit
from moderator.rules.context import CommentView
from moderator.rules.entries import MAX_ENTRIES  # noqa: F401  (re-exported)
from moderator.rules.entries import MAX_ENTRY_LENGTH  # noqa: F401
from moderator.rules.entries import _chars_mapping
from moderator.rules.entries import _default_words
from moderator.rules.entries import _Entry
from moderator.rules.entries import _entry
from moderator.rules.entries import _parse
from moderator.rules.entries import check_list  # noqa: F401
from moderator.rules.entries import site_entries  # noqa: F401
from moderator.text import normalise
from moderator.text import normalise_with_offsets

#: How many scans mask_excused keeps for check_comment (a batch's flagged comments and their
#: sentences), the characters they may hold in all, and the longest text kept: at most a few
#: megabytes, however the two calls interleave.
HANDOVER_SIZE = 4096
HANDOVER_CHARS = 1_000_000
HANDOVER_MAX_CHARS = 10_000


def _word_pattern(chars: Iterable[str]) -> re.Pattern:
    """A regex for runs of `chars`, written as ranges: a 5,800-literal class scans 5x slower."""
    codes = sorted(ord(c) for c in chars)
    ranges = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    parts = (re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)
    return re.compile("[" + "".join(parts) + "]+")


_WORD_RE = _word_pattern(ALLOWED_CHARACTERS)
_LETTERS = re.compile(r"[^\W\d_]+")
_ASCII_WORD_RE = _word_pattern(c for c in ALLOWED_CHARACTERS if c.isascii())
# Allow is checked first so that it wins over block, and block over suspect.
_KIND_ORDER = (ListKind.ALLOW, ListKind.BLOCK, ListKind.SUSPECT)


@functools.cache
def _projection() -> dict[int, str]:
    """A translate table folding every character into one representative of its variant class.

    The classes are the connected groups of CHARS_MAPPING (`*` links a, e, i, o, u, v; `@` links
    a and o; `l` and `1` link i). Any variant of an entry folds to the same key as the entry,
    so a dict lookup on the folded word finds the few entries it can be a variant of.
    """
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.setdefault(c, c) != c:
            c = parent[c]
        return c

    for char, variants in _chars_mapping().items():
        for v in variants:
            parent[find(v)] = find(char)
    groups: dict[str, list[str]] = {}
    for c in parent:
        groups.setdefault(find(c), []).append(c)
    table = {}
    for members in groups.values():
        representative = min(members)
        for c in members:
            table[ord(c)] = representative
    return table


class WordList:
    """Block, suspect and allow lists compiled into one matcher; build with `WordList.compile`."""

    def __init__(self, entries: Iterable[_Entry]) -> None:
        fold = _projection()
        entries = sorted(entries, key=lambda e: _KIND_ORDER.index(e.kind))
        self._index: dict[str, tuple[_Entry, ...]] = {}
        self._prefixes: set[str] = set()
        self._window = 1
        for entry in entries:
            key = entry.word.translate(fold)
            self._index[key] = (*self._index.get(key, ()), entry)
            self._prefixes.update(key[:i] for i in range(1, len(key)))
            separators = sum(c not in ALLOWED_CHARACTERS for c in entry.word)
            self._window = max(self._window, separators)
        self._fold = fold
        # The folded words a match can start with: an entry, or the start of one.
        self._starters = frozenset(self._prefixes | self._index.keys())
        # The words a context rule can excuse, for a quick test before a full scan.
        self._excusable = frozenset(
            _LETTERS.findall(entry.word)[0] for entry in entries if entry.contexts
        )
        # Scans made by mask_excused, handed over once to check_comment on the same text
        # (the decision path masks a comment before scoring it and matches it after).
        self._handover: OrderedDict[str, list] = OrderedDict()
        self._handover_chars = 0
        self._handover_lock = threading.Lock()

    @classmethod
    def compile(
        cls,
        block: Iterable[str] | None = None,
        suspect: Iterable[str] = (),
        allow: Iterable[str] = (),
        category: Category = Category.OBSCENE,
    ) -> WordList:
        """Compile word lists; `block=None` means better-profanity's own list, `()` none.

        Entries are `"word"` or `"word:category"` (a policy.Category value) to override
        `category` for that entry; allow entries take no category. Entries are matched
        case-insensitively with better-profanity's leetspeak variants. Bad entries raise
        ValueError naming the list and the entry.
        """
        try:
            category = Category(category)
        except ValueError:
            raise ValueError(f"unknown category {category!r}") from None
        if block is None:
            entries = [_entry(w, ListKind.BLOCK, category) for w in _default_words()]
        else:
            entries = [_entry(w, ListKind.BLOCK, c) for w, c in _parse(block, "block", category)]
        for kind, words in ((ListKind.SUSPECT, suspect), (ListKind.ALLOW, allow)):
            entries += [_entry(w, kind, c) for w, c in _parse(words, str(kind), category)]
        return cls(entries)

    def check(self, text: str) -> list[RuleHit]:
        """Block and suspect hits in `text`, in text order, never overlapping.

        Each hit's span is [start, end) into `text` exactly as given and its word is
        `text[start:end]`, as written (`F*CK`, `fu ck`); allow-list matches give no hit.
        Context rules are not applied: this is better-profanity's matching, nothing more.
        """
        return [
            RuleHit(text[start:stop], start, stop, entry.kind, entry.category)
            for start, stop, entry in self._scan(text)
        ]

    def check_comment(
        self, text: str, normalised: str | None = None, language: str = "en"
    ) -> list[RuleHit]:
        """The word-rule hits of a comment, as the decision path uses them.

        The lists are matched once, on `normalised` (`normalise(text)` when not given), so
        disguised words (`f u c k`, `sh1t`, zero-width joins, look-alike letters) hit like plain
        ones; each hit's span and word are mapped back to `text` as written. A hit of an entry
        with context rules is dropped when one of them shows the innocent sense there
        (`Dick Van Dyke`, `the bitch had puppies`).
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if normalised is None:
            normalised = normalise(text, language)
        with self._handover_lock:
            found = self._handover.pop(normalised, None)
            if found is not None:
                self._handover_chars -= len(normalised)
        if found is None:
            found = self._scan(normalised)
        if not found:
            return []
        if normalised == text or (text.isascii() and normalised == text.lower()):
            original_span = None
        else:
            # Cached in text.py: a flagged comment's explanation reuses the same alignment.
            original_span = normalise_with_offsets(text, language).original_span
        view = None
        hits = []
        for start, stop, entry in found:
            if original_span is not None:
                start, stop = original_span(start, stop)
            if entry.contexts:
                if view is None:
                    view = CommentView(text, self._is_listed)
                if any(rule.skips(view, start, stop, entry.word) for rule in entry.contexts):
                    continue
            hits.append(RuleHit(text[start:stop], start, stop, entry.kind, entry.category))
        return hits

    def mask_excused(self, normalised: str) -> str:
        """`normalised` with every word its context rules excuse blanked out, for the classifier.

        A word the context excuses from the word rules should not drive the model either, as
        a site's allow-listed words don't. Judged on the normalised text alone, so only what
        needs no capitals counts: cue words (`the bitch had puppies`), fixed phrases (`pussy
        willow`) and known names (`moby dick`). Disguises are already undone there, so a
        disguised word in an innocent context is masked too (`the b1tch had puppies`);
        `check_comment`, which sees the disguise, still holds it. Only words written as the
        entry are masked (the model never sees `hard on` as `hardon`), so a comment without
        an excusable word costs one regex pass here.
        """
        if not self._excusable or self._excusable.isdisjoint(_LETTERS.findall(normalised)):
            return normalised
        scanned = self._scan(normalised)
        self._hand_over(normalised, scanned)
        found = [f for f in scanned if f[2].contexts and normalised[f[0] : f[1]] == f[2].word]
        if not found:
            return normalised
        view = CommentView(normalised, self._is_listed)
        masked = normalised
        for start, stop, entry in reversed(found):
            if any(rule.skips(view, start, stop, entry.word) for rule in entry.contexts):
                masked = masked[:start] + " " + masked[stop:]
        return masked

    def _hand_over(self, normalised: str, scanned: list) -> None:
        """Keep a scan for check_comment, within the handover's bounds."""
        size = len(normalised)
        if size > HANDOVER_MAX_CHARS:
            return
        with self._handover_lock:
            handover = self._handover
            if normalised in handover:
                self._handover_chars -= size
            handover[normalised] = scanned
            self._handover_chars += size
            while len(handover) > HANDOVER_SIZE or self._handover_chars > HANDOVER_CHARS:
                old, _ = handover.popitem(last=False)
                self._handover_chars -= len(old)

    def _is_listed(self, word: str) -> bool:
        """Is `word` alone a block or suspect hit (a list word cannot be part of a name)?"""
        return bool(self._scan(word))

    def _scan(self, text: str) -> list[tuple[int, int, _Entry]]:
        """(start, stop, entry) of every block and suspect match in `text`, in order."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if not self._index:
            return []  # no entries (another language's engine without site lists)
        n = len(text)
        is_ascii = text.isascii()
        spans = [m.span() for m in (_ASCII_WORD_RE if is_ascii else _WORD_RE).finditer(text)]
        # better-profanity leaves a text alone when its first word starts at the last character.
        if not spans or spans[0][0] >= n - 1:
            return []
        index, prefixes, fold = self._index, self._prefixes, self._fold
        # ASCII lowercases character by character, so one call serves every word; other
        # scripts are lowered word by word, as better-profanity does (final sigma, dotted I).
        if is_ascii:
            keys = text.lower().translate(fold)
            words = [keys[start:end] for start, end in spans]
        else:
            keys = None
            words = [text[start:end].lower().translate(fold) for start, end in spans]
        # Only a word that starts an entry or is one can begin a match: the others are passed
        # over in one comprehension instead of one turn of the loop each.
        starters = self._starters
        hits = []
        following = 0
        for i in [i for i, key in enumerate(words) if key in starters]:
            if i < following:
                continue  # joined into the previous match
            start, end = spans[i]
            key = words[i]
            last, entry = i, None
            if end < n and key in prefixes and (keys is None or self._may_join(keys, spans, i)):
                last, entry = self._join(text, spans, i)
            if entry is None and key in index:
                entry = self._lookup(key, text[start:end].lower())
            if entry is not None and entry.kind is not ListKind.ALLOW:
                hits.append((start, spans[last][1], entry))
            following = last + 1
        return hits

    def _may_join(self, keys: str, spans: list[tuple[int, int]], i: int) -> bool:
        """On folded ASCII text: can word i joined with the next one start or be an entry?"""
        if i + 1 == len(spans):
            return False
        start, end = spans[i]
        next_start, next_end = spans[i + 1]
        if next_start >= len(keys) - 1:
            return False
        for key in (keys[start:end] + keys[next_start:next_end], keys[start:next_end]):
            if key in self._prefixes or key in self._index:
                return True
        return False

    def _join(self, text: str, spans: list[tuple[int, int]], i: int) -> tuple[int, _Entry | None]:
        """Word i joined with the next words, without and with separators; the last word used."""
        n = len(text)
        start, end = spans[i]
        joined = joined_with_separators = text[start:end].lower()
        for j in range(i + 1, min(i + 1 + self._window, len(spans))):
            start, end = spans[j]
            # better-profanity does not count a one-character word at the very end as a word.
            if start >= n - 1:
                break
            joined += text[start:end].lower()
            joined_with_separators += text[spans[j - 1][1] : end].lower()
            key = joined.translate(self._fold)
            key_with_separators = joined_with_separators.translate(self._fold)
            entry = None
            if key in self._index:
                entry = self._lookup(key, joined)
            if entry is None and key_with_separators in self._index:
                entry = self._lookup(key_with_separators, joined_with_separators)
            if entry is not None:
                return j, entry
            if key not in self._prefixes and key_with_separators not in self._prefixes:
                break
        return i, None

    def _lookup(self, key: str, lowered: str) -> _Entry | None:
        for entry in self._index[key]:
            if entry.matches(lowered):
                return entry
        return None


@functools.cache
def default_wordlist() -> WordList:
    """better-profanity's own list as a block list, compiled once per process."""
    return WordList.compile()
