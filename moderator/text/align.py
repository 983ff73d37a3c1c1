"""Text that remembers where each of its characters came from in the original."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

Repl = str | Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class Normalised:
    """Normalised text with, for every character, the span of original text it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text to a span of the original text.

        The result covers every original character any of the span's characters came from,
        including invisible characters and separators removed between them (`f.u.c.k`).
        An empty span maps to an empty span where it sits.
        """
        if not 0 <= start <= end <= len(self.text):
            raise IndexError(f"span [{start}, {end}) is outside 0..{len(self.text)}")
        if start == end:
            if start < len(self.starts):
                return self.starts[start], self.starts[start]
            edge = self.ends[-1] if self.ends else 0
            return edge, edge
        return min(self.starts[start:end]), max(self.ends[start:end])


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
        table = {c: fn(c) for c in set(text)}
        if all(len(v) == 1 for v in table.values()) and "".join(map(table.get, text)) == full:
            self.text = full  # one character for one, nothing composed: spans are unchanged
            return
        new_starts: list[int] = []
        new_ends: list[int] = []
        bounds = [i for i, c in enumerate(text) if i == 0 or not unicodedata.combining(c)]
        bounds.append(len(text))
        pos = 0  # in full
        first = 0  # index into bounds of the first segment not yet emitted
        k = 1
        while k < len(bounds):
            a, b = bounds[first], bounds[k]
            piece = fn(text[a:b])
            # Composition can join a segment with the next one (Hangul jamo, halfwidth kana
            # voicing marks): grow the segment until its result lines up with the whole.
            if full.startswith(piece, pos):
                span_start, span_end = min(self.starts[a:b]), max(self.ends[a:b])
                if b - a == 1 or len(piece) == 1:
                    new_starts += [span_start] * len(piece)
                    new_ends += [span_end] * len(piece)
                else:
                    for j in _proportional(len(piece), b - a):
                        new_starts.append(self.starts[a + j])
                        new_ends.append(self.ends[a + j])
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
