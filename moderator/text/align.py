"""Text that remembers where each of its characters came from in the original."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable

Repl = str | Callable[[re.Match[str]], str]


class Normalised:
    """Normalised text that maps any span of itself back to the span of original text it came
    from: through per-character arrays (`starts`, `ends`) or through the substitutions each
    step made (`_Edits`), which costs a bisection per step and per span instead of lists as
    long as the text. Both give the same spans (tests compare them on real comments)."""

    __slots__ = ("_ends", "_starts", "_steps", "text")

    def __init__(
        self,
        text: str,
        starts: tuple[int, ...] | None = None,
        ends: tuple[int, ...] | None = None,
        steps: tuple[_Step, ...] | None = None,
    ) -> None:
        # Frozen: a Normalised is shared through normalise.py's cache.
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(self, "_ends", ends)
        object.__setattr__(self, "_steps", steps)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Normalised is frozen: cannot set {name}")

    @property
    def starts(self) -> tuple[int, ...]:
        """For each character, the first original character it came from."""
        if self._starts is None:
            object.__setattr__(self, "_starts", tuple(map(self._first, range(len(self.text)))))
        return self._starts

    @property
    def ends(self) -> tuple[int, ...]:
        """For each character, one past the last original character it came from."""
        if self._ends is None:
            object.__setattr__(self, "_ends", tuple(map(self._last, range(len(self.text)))))
        return self._ends

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Normalised):
            return NotImplemented
        return (self.text, self.starts, self.ends) == (other.text, other.starts, other.ends)

    def __hash__(self) -> int:
        return hash((self.text, self.starts, self.ends))

    def __repr__(self) -> str:
        return f"Normalised(text={self.text!r})"

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text to a span of the original text.

        The result covers every original character any of the span's characters came from,
        including invisible characters and separators removed between them (`f.u.c.k`).
        An empty span maps to an empty span where it sits.
        """
        if not 0 <= start <= end <= len(self.text):
            raise IndexError(f"span [{start}, {end}) is outside 0..{len(self.text)}")
        if self._steps is not None:
            # Every step keeps the characters' order, so the first character's start is the
            # smallest and the last character's end the largest.
            if start == end:
                if start < len(self.text):
                    first = self._first(start)
                    return first, first
                edge = self._last(len(self.text) - 1) if self.text else 0
                return edge, edge
            return self._first(start), self._last(end - 1)
        if start == end:
            if start < len(self.starts):
                return self.starts[start], self.starts[start]
            edge = self.ends[-1] if self.ends else 0
            return edge, edge
        return min(self.starts[start:end]), max(self.ends[start:end])

    def _first(self, p: int) -> int:
        if self._steps is None:
            return self.starts[p]
        for step in reversed(self._steps):
            p = step.back(p, True)
        return p

    def _last(self, p: int) -> int:
        if self._steps is None:
            return self.ends[p]
        for step in reversed(self._steps):
            p = step.back(p, False)
        return p + 1


class _Step:
    """One substitution's matches: where each was in the text before and where its
    replacement is after, and which character of the match each replacement character
    came from (None: from the whole match)."""

    __slots__ = ("after", "matches")

    def __init__(self, matches: list[tuple[int, int, int, int, list[int] | None]]) -> None:
        self.matches = matches
        self.after = [m[2] for m in matches]

    def back(self, p: int, first: bool) -> int:
        """Position p after the step -> the position before it: the first (or last)
        character of the text before that the character at p came from."""
        i = bisect.bisect_right(self.after, p) - 1
        if i < 0:
            return p
        a, b, new_a, new_b, source = self.matches[i]
        if p >= new_b:
            return b + (p - new_b)
        if source is not None:
            return a + source[p - new_a]
        return a if first else b - 1


class _Unmapped(Exception):
    """A step the edit list cannot express (a local function that composes characters)."""


class _Plain:
    """The fast path: just the string."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def sub(self, pattern: re.Pattern[str], repl: Repl, align: bool = False) -> None:
        self.text = pattern.sub(repl, self.text)

    def local(self, fn: Callable[[str], str]) -> None:
        self.text = fn(self.text)

    def lower_ascii(self) -> None:
        self.text = self.text.lower()

    def strip(self) -> None:
        self.text = self.text.strip(" ")


class _Edits(_Plain):
    """A plain run that records each substitution's matches (`_Step`), so spans of the result
    map back to the original on demand; raises _Unmapped on a local function that does not
    map character for character (then `_Aligned` runs instead)."""

    __slots__ = ("steps",)

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.steps: list[_Step] = []

    def sub(self, pattern: re.Pattern[str], repl: Repl, align: bool = False) -> None:
        matches: list[tuple[int, int, int, int, list[int] | None]] = []
        shift = 0

        def record(m: re.Match[str]) -> str:
            nonlocal shift
            piece = repl if isinstance(repl, str) else repl(m)
            a, b = m.span()
            source = _alignment(piece, m.group(0)) if align and piece else None
            matches.append((a, b, a + shift, a + shift + len(piece), source))
            shift += len(piece) - (b - a)
            return piece

        text = pattern.sub(record, self.text)
        if matches:
            self.text = text
            self.steps.append(_Step(matches))

    def local(self, fn: Callable[[str], str]) -> None:
        text = self.text
        full = fn(text)
        if full == text:
            return
        if not _one_for_one(fn, text, full):
            raise _Unmapped
        self.text = full  # one character for one: every span stays where it was

    def strip(self) -> None:
        text = self.text
        a = len(text) - len(text.lstrip(" "))
        b = max(a, len(text.rstrip(" ")))
        if a == 0 and b == len(text):
            return
        matches: list[tuple[int, int, int, int, list[int] | None]] = []
        if a:
            matches.append((0, a, 0, 0, None))
        if b < len(text):
            matches.append((b, len(text), b - a, b - a, None))
        self.text = text[a:b]
        self.steps.append(_Step(matches))


class _Aligned:
    """A text whose every character knows the [start, end) span of the original it came from."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = list(range(len(text)))
        self.ends = list(range(1, len(text) + 1))

    def sub(self, pattern: re.Pattern[str], repl: Repl, align: bool = False) -> None:
        """pattern.sub(repl), keeping spans; `align` maps a replacement onto the characters
        of the match it keeps (`f u c k` -> `fuck`), otherwise to the whole match (`url`)."""
        text, starts, ends = self.text, self.starts, self.ends
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        last = 0
        for m in pattern.finditer(text):
            a, b = m.span()
            out.append(text[last:a])
            new_starts += starts[last:a]
            new_ends += ends[last:a]
            piece = repl if isinstance(repl, str) else repl(m)
            if piece:
                out.append(piece)
                source = _alignment(piece, m.group(0)) if align else None
                if source is None:
                    new_starts += [min(starts[a:b])] * len(piece)
                    new_ends += [max(ends[a:b])] * len(piece)
                else:
                    new_starts += [starts[a + k] for k in source]
                    new_ends += [ends[a + k] for k in source]
            last = b
        if not out:
            return
        out.append(text[last:])
        new_starts += starts[last:]
        new_ends += ends[last:]
        self.text = "".join(out)
        self.starts, self.ends = new_starts, new_ends

    def local(self, fn: Callable[[str], str]) -> None:
        """Apply a Unicode function that works character by character except where combining
        sequences compose; the text is always exactly fn(text), the spans follow the pieces."""
        text = self.text
        full = fn(text)
        if full == text:
            return
        if _one_for_one(fn, text, full):
            self.text = full  # one character for one, nothing composed: spans are unchanged
            return
        new_starts: list[int] = []
        new_ends: list[int] = []
        bounds = [i for i, c in enumerate(text) if i == 0 or not unicodedata.combining(c)]
        bounds.append(len(text))
        # fn of one character is looked up (most segments are one character), not recomputed.
        table = _char_table(fn, set(text))
        starts, ends = self.starts, self.ends
        pos = 0  # in full
        first = 0  # index into bounds of the first segment not yet emitted
        k = 1
        while k < len(bounds):
            a, b = bounds[first], bounds[k]
            piece = table[text[a]] if b - a == 1 else fn(text[a:b])
            # Composition can join a segment with the next one (Hangul jamo, halfwidth kana
            # voicing marks): grow the segment until its result lines up with the whole.
            if full.startswith(piece, pos):
                if b - a == 1:
                    span_start, span_end = starts[a], ends[a]
                else:
                    span_start, span_end = min(starts[a:b]), max(ends[a:b])
                if len(piece) == 1:
                    new_starts.append(span_start)
                    new_ends.append(span_end)
                elif b - a == 1:
                    new_starts += [span_start] * len(piece)
                    new_ends += [span_end] * len(piece)
                else:
                    for j in _proportional(len(piece), b - a):
                        new_starts.append(starts[a + j])
                        new_ends.append(ends[a + j])
                pos += len(piece)
                first = k
                k += 1
            elif k - first >= 16:
                break
            else:
                k += 1
        if pos < len(full):
            a = bounds[first]
            span_start = min(self.starts[a:]) if a < len(text) else self.ends[-1]
            span_end = max(self.ends[a:]) if a < len(text) else self.ends[-1]
            new_starts += [span_start] * (len(full) - pos)
            new_ends += [span_end] * (len(full) - pos)
        self.text = full
        self.starts, self.ends = new_starts, new_ends

    def lower_ascii(self) -> None:
        self.text = self.text.lower()

    def strip(self) -> None:
        text = self.text
        a = len(text) - len(text.lstrip(" "))
        b = len(text.rstrip(" "))
        if a == 0 and b == len(text):
            return
        b = max(a, b)
        self.text = text[a:b]
        self.starts, self.ends = self.starts[a:b], self.ends[a:b]


#: fn -> {character: fn(character)}, for the few functions normalisation applies (their results
#: per character never change); emptied when it grows past _CHAR_TABLE_SIZE characters.
_char_tables: dict[Callable[[str], str], dict[str, str]] = {}
_CHAR_TABLE_SIZE = 50_000


def _char_table(fn: Callable[[str], str], chars: set[str]) -> dict[str, str]:
    """{c: fn(c)} for at least every character in `chars`, each computed once per process."""
    known = _char_tables.get(fn)
    if known is None or len(known) > _CHAR_TABLE_SIZE:
        if len(_char_tables) > 16:
            _char_tables.clear()
        known = _char_tables[fn] = {}
    missing = chars.difference(known)
    if missing:
        known.update({c: fn(c) for c in missing})
    return known


def _one_for_one(fn: Callable[[str], str], text: str, full: str) -> bool:
    """Does fn(text) == full map each character of text to exactly one character?"""
    if len(full) != len(text):
        return False
    chars = set(text)
    table = _char_table(fn, chars)
    return all(len(table[c]) == 1 for c in chars) and "".join(map(table.__getitem__, text)) == full


def _alignment(piece: str, source: str) -> list[int] | None:
    """For each character of `piece`, the index of the `source` character it comes from."""
    if len(piece) == len(source):
        return list(range(len(piece)))
    indices = []
    j = 0
    for ch in piece:
        j = source.find(ch, j)
        if j < 0:
            return None
        indices.append(j)
        j += 1
    return indices


def _proportional(n: int, m: int) -> list[int]:
    """Spread n output characters over m source characters in order."""
    return [min(m - 1, i * m // n) for i in range(n)]
