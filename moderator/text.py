"""Text normalisation shared by the word rules, the classifier and training.

Placeholder-free minimal version; the full normaliser (homoglyphs, leetspeak, spacing,
repeats, markup) replaces it. The API is fixed: normalise(text) -> str and
normalise_with_offsets(text) -> Normalised, whose .text equals normalise(text).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Normalised:
    """Normalised text with, for every character, the span of original text it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text to a span of the original text."""
        return self.starts[start], self.ends[end - 1]


def normalise(text: str) -> str:
    """The normalised form of `text`, used for scoring and training."""
    return normalise_with_offsets(text).text


def normalise_with_offsets(text: str) -> Normalised:
    """Normalise and keep the alignment back to the original characters."""
    chars, starts, ends = [], [], []
    for i, ch in enumerate(text):
        for out in unicodedata.normalize("NFKC", ch).casefold():
            chars.append(out)
            starts.append(i)
            ends.append(i + 1)
    return Normalised("".join(chars), tuple(starts), tuple(ends))
