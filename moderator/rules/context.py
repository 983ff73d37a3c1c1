"""Context rules: when a held word's neighbours show its innocent sense, it is not a hit.

The rules are data (`data/word_contexts.toml`, documented there rule by rule); this module
reads them and applies them to a comment as written. Four kinds: `name` (capitalised name
sequences, titles, known names), `near` (cue words within a few words), `pattern` (fixed
phrases as regular expressions) and `acronym` (the word in capitals in an unshouted sentence).

Everything here looks at a small window of the original text around one hit: its case, its
neighbouring words and the sentence it is in. It never decides on the comment as a whole.
"""

from __future__ import annotations

import functools
import re

from moderator.rules.view import RULES_FILE  # noqa: F401  (re-exported)
from moderator.rules.view import CommentView
from moderator.rules.view import Token
from moderator.rules.view import _key
from moderator.rules.view import rules_data
from moderator.rules.view import shared


class ContextRule:
    """One documented rule: the words it applies to and when it shows their innocent sense."""

    kind = ""

    def __init__(self, spec: dict, common: dict) -> None:
        self.name: str = spec["name"]
        self.words: tuple[str, ...] = tuple(w.lower() for w in spec["words"])
        self.what: str = spec["what"]
        self.why: str = spec["why"]
        self.examples: tuple[str, ...] = tuple(spec["examples"])
        self.counter_examples: tuple[str, ...] = tuple(spec["counter_examples"])
        self._addressed = frozenset(common["addressed"])
        self._not_addressed_after = frozenset(common["not_addressed_after"])
        self._determiners = frozenset(common["determiners"])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def skips(self, view: CommentView, start: int, end: int, entry: str) -> bool:
        """Does this rule show the innocent sense of the hit text[start:end] of `entry`?"""
        # A disguised spelling (b1tch, b i t c h, look-alike or stretched letters) is never
        # excused by its context: only the entry written plainly is.
        if view.text[start:end].lower() != entry:
            return False
        i = view.index(start)
        if i is None or self.addressed(view, i):
            return False
        return self._skips(view, i, start, end)

    def _skips(self, view: CommentView, i: int, start: int, end: int) -> bool:
        raise NotImplementedError

    def addressed(self, view: CommentView, i: int) -> bool:
        """`you dick`, `your bitch`, `you stupid bitch`, but not `thank you Dick`."""
        p1, p2, p3 = (view.neighbour(i, -n) for n in (1, 2, 3))
        if p1 is not None and p1.key in self._addressed:
            return p2 is None or p2.key not in self._not_addressed_after
        if p2 is not None and p2.key in self._addressed and p1.key not in self._determiners:
            return p3 is None or p3.key not in self._not_addressed_after
        return False


class NameRule(ContextRule):
    """The word is part of a proper name (see the `name` kind in the rules file)."""

    kind = "name"

    def __init__(self, spec: dict, common: dict) -> None:
        super().__init__(spec, common)
        self.titles = frozenset(spec["titles"])
        self.particles = frozenset(spec["particles"])
        self.modifiers = frozenset(spec["modifiers"])
        self.not_names = frozenset(spec["not_names"]) | self.modifiers | self._addressed
        self.not_names |= self._determiners
        self.family_nouns = frozenset(spec["family_nouns"])
        self.known: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for name in spec["known"]:
            parts = tuple(_key(p) for p in name.split())
            for position, part in enumerate(parts):
                self.known.setdefault(part, []).append((parts, position))

    def _skips(self, view: CommentView, i: int, start: int, end: int) -> bool:
        if self._known(view, i):
            return True
        token = view.tokens[i]
        if not token.title_case or view.headline(i):
            return False
        if self._partner(view, i, -1) or self._partner(view, i, +1):
            return True
        previous = view.neighbour(i, -1)
        if previous is not None and previous.key in self.titles:
            return True
        following = view.neighbour(i, +1)
        if following is not None and following.has_form_in(self.family_nouns):
            return True
        # Alone and capitalised in mid-sentence (`I asked Dick`), unless an article, a `you` or
        # an insult's adjective comes first (`a Dick`, `you Dick`, `total Dick`).
        lone_guard = self._determiners | self._addressed | self.modifiers
        return not token.initial and previous is not None and previous.key not in lone_guard

    def _known(self, view: CommentView, i: int) -> bool:
        tokens = view.tokens
        for parts, position in self.known.get(tokens[i].key, ()):
            first = i - position
            if first < 0 or first + len(parts) > len(tokens):
                continue
            span = tokens[first : first + len(parts)]
            if span[0].sentence != span[-1].sentence:
                continue
            if all(t.key == part for t, part in zip(span, parts, strict=True)):
                return True
        return False

    def _partner(self, view: CommentView, i: int, step: int) -> bool:
        """Is there a capitalised name word next to token i (across a lower-case particle)?"""
        neighbour = view.neighbour(i, step)
        if neighbour is None or not self._joined(view, view.tokens[i], neighbour):
            return False
        if neighbour.key in self.particles and not neighbour.capitalised:
            particle, neighbour = neighbour, view.neighbour(i, 2 * step)
            if neighbour is None or not self._joined(view, particle, neighbour):
                return False
        if not neighbour.capitalised:
            return False
        return neighbour.key not in self.not_names and not view.listed(neighbour)

    @staticmethod
    def _joined(view: CommentView, a: Token, b: Token) -> bool:
        """Only a space, a hyphen or an initial's full stop between two name words."""
        low, high = (a, b) if a.start < b.start else (b, a)
        gap = view.text[low.end : high.start]
        return not gap.strip(" .-") and 0 < len(gap) <= 3


class NearRule(ContextRule):
    """A cue word within `window` words before or after the hit."""

    kind = "near"

    def __init__(self, spec: dict, common: dict) -> None:
        super().__init__(spec, common)
        self.window = int(spec["window"])
        if not 1 <= self.window <= 12:
            raise ValueError(f"context rule {self.name}: window must be 1-12")
        self.cues = frozenset(c.lower() for c in spec["cues"])

    def _skips(self, view: CommentView, i: int, start: int, end: int) -> bool:
        last = view.last_index(end)
        last = i if last is None or last < i else last
        tokens = view.tokens
        nearby = tokens[max(0, i - self.window) : i] + tokens[last + 1 : last + 1 + self.window]
        return any(t.has_form_in(self.cues) for t in nearby)


class PatternRule(ContextRule):
    """A fixed phrase, as a regular expression over the text as written, contains the hit."""

    kind = "pattern"
    #: How far around the hit a pattern may reach, in characters.
    REACH = 120

    def __init__(self, spec: dict, common: dict) -> None:
        super().__init__(spec, common)
        try:
            self.patterns = tuple(re.compile(p, re.IGNORECASE) for p in spec["patterns"])
        except re.error as error:
            raise ValueError(f"context rule {self.name}: bad pattern: {error}") from None

    def skips(self, view: CommentView, start: int, end: int, entry: str) -> bool:
        """Patterns see the text itself, so they also judge joined words (`hard on`)."""
        low = max(0, start - self.REACH)
        region = view.text[low : end + self.REACH]
        for pattern in self.patterns:
            for m in pattern.finditer(region):
                if m.start() + low <= start and end <= m.end() + low:
                    return True
        return False


class AcronymRule(ContextRule):
    """The word written in capitals in a sentence that is not shouted."""

    kind = "acronym"

    def _skips(self, view: CommentView, i: int, start: int, end: int) -> bool:
        written = view.text[start:end]
        if len(written) < 2 or not written.isalpha() or not written.isupper():
            return False
        return not view.shouted(i, exclude=view.tokens[i])


KINDS = {rule.kind: rule for rule in (NameRule, NearRule, PatternRule, AcronymRule)}


@functools.cache
def context_rules() -> tuple[ContextRule, ...]:
    """Every rule of data/word_contexts.toml, in file order; a bad rule raises ValueError."""
    common = shared()
    rules = []
    for spec in rules_data()["rule"]:
        kind = KINDS.get(spec.get("kind"))
        if kind is None:
            raise ValueError(
                f"context rule {spec.get('name')!r}: unknown kind {spec.get('kind')!r}"
            )
        try:
            rules.append(kind(spec, common))
        except KeyError as missing:
            raise ValueError(f"context rule {spec.get('name')!r} lacks {missing}") from None
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ValueError("context rule names must be unique")
    return tuple(rules)


@functools.cache
def rules_by_word() -> dict[str, tuple[ContextRule, ...]]:
    """word -> the context rules that apply to it."""
    by_word: dict[str, list[ContextRule]] = {}
    for rule in context_rules():
        for word in rule.words:
            by_word.setdefault(word, []).append(rule)
    return {w: tuple(r) for w, r in by_word.items()}
