"""Normalisation steps 5-7: spaced letters, leetspeak and stretched letters, decoded only into
known words (see the package docstring)."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import re
from importlib import resources
from pathlib import Path

# --- 5.-7. obfuscations ---------------------------------------------------------------------

_LEET_LETTERS = {
    "0": "o",
    "1": "il",
    "3": "e",
    "4": "a",
    "5": "s",
    "6": "gb",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "il",
    "|": "li",
    "+": "t",
    "*": "uaeio",
}
_LEET_CHARS = re.escape("".join(_LEET_LETTERS))
_SEPARATORS = r"-._*~+|/\\^="
_SPACED = re.compile(
    rf"(?<![a-z0-9@${_SEPARATORS}])[a-z0-9@$](?P<sep> | ?[{_SEPARATORS}]{{1,3}} ?)[a-z0-9@$]"
    rf"(?:(?P=sep)[a-z0-9@$])+(?![a-z0-9@$]|[{_SEPARATORS}][a-z0-9@$])"
)
_LEET_TOKEN = f"a-z0-9{_LEET_CHARS}"
_LEET = re.compile(
    rf"(?<![{_LEET_TOKEN}])[{_LEET_TOKEN}]*?(?:[a-z][{_LEET_CHARS}0-9]|[{_LEET_CHARS}0-9][a-z])"
    rf"[{_LEET_TOKEN}]*"
)
# Not in hashtags, which glue words: #boycotttwitter.
_REPEATED = re.compile(r"(?<![a-z#])[a-z]*?([a-z])\1\1[a-z]*")
# Cheap necessary conditions for _SPACED, _LEET and _REPEATED to match: each starts with a
# character class or literal the regex engine can skip to, which the full patterns cannot.
_SPACED_HINT = re.compile(r" [a-z0-9@$] [a-z0-9@$](?![a-z0-9@$])")
_SPACED_PUNCT_HINT = re.compile(rf"[{_SEPARATORS}] ?[a-z0-9@$] ?[{_SEPARATORS}]")
_LEET_HINT = re.compile(r"[0-9$!|+*](?:(?=[a-z])|(?<=[a-z].)(?:(?<=[0-9$])|(?=[!|+*]*[a-z0-9$@])))")
_AT_HINT = re.compile(r"@(?:(?!user\b)[a-z0-9$]|(?<=[a-z]@))")
_TRIPLE_HINT = re.compile(r"(.)\1\1")
_SPACES = re.compile(r"  +")
_RUNS = re.compile(r"([a-z])\1*")
_LETTER_TRIPLE = re.compile(r"([a-z])\1\1")
_NUMBER_WITH_UNIT = re.compile(
    r"[0-9]+(?:st|nd|rd|th|s|am|pm|k|m|b|g|x|d|p|h|mm|cm|km|kg|lb|lbs|ft|mph|gb|mb|tb|hz|ghz"
    r"|min|mins|hr|hrs|yr|yrs|yo|ish)"
)
_ROMAN = re.compile(r"m{0,4}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})")
_EDGE_SYMBOLS = "!|+*"
_SUFFIXES = ("s", "es", "ed", "er", "ers", "ing", "in", "y", "ies", "ty")
_MAX_CANDIDATES = 512
_DOUBLED_INSIDE = frozenset("eolsftrnmpdgcbz")
_DOUBLED_AT_END = frozenset("lsfz")
# The longest word looked for inside a run of spaced letters.
_MAX_WORD = 16
# Longer runs of spaced letters are a whole sentence spaced out, not a word with neighbours.
_MAX_RUN = 40


@functools.cache
def _vocabularies() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(better-profanity's words, words leetspeak may decode into, words stretching may keep)."""
    # Found without importing better_profanity, whose import builds a censor (~50 ms).
    package = importlib.util.find_spec("better_profanity")
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError("better_profanity is not installed")
    source = Path(package.submodule_search_locations[0]) / "profanity_wordlist.txt"
    profane = {w for w in source.read_text(encoding="utf-8").lower().split() if w.isalpha()}
    sections: dict[str, set[str]] = {"disguised": set(), "stretched": set()}
    section = None
    source = resources.files("moderator").joinpath("data", "text_words.txt")
    for line in source.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip().lower()
        if line.startswith("["):
            section = sections[line.strip("[]")]
        elif line and section is not None:
            section.update(w for w in line.split() if w.isalpha())
    disguised = frozenset(profane | sections["disguised"])
    return frozenset(profane), disguised, disguised | sections["stretched"]


def _known(word: str, vocabulary: frozenset[str]) -> bool:
    """Whether `word`, or `word` minus a common suffix (leaving 3+ letters), is in `vocabulary`."""
    return word in _forms(vocabulary)


@functools.cache
def _forms(vocabulary: frozenset[str]) -> frozenset[str]:
    """Every word of `vocabulary` and every 3+ letter one plus a suffix: one set lookup per
    candidate, which the spaced-letter search makes hundreds of per run."""
    return vocabulary | {w + s for w in vocabulary if len(w) >= 3 for s in _SUFFIXES}


# Pure, and asked the same candidates again and again by a run of spaced letters (`a a a a`).
@functools.lru_cache(maxsize=1 << 16)
def _resolve(word: str, vocabulary: frozenset[str]) -> str | None:
    """`word` itself if known, else its known form with stretched letters cut back, else None.

    A cut-back form that is a word wins over one that only is a word plus a suffix
    (`yessss` is `yes`, not `yess`).
    """
    if _known(word, vocabulary):
        return word
    candidates = _squeezed(word)
    for candidate in candidates:
        if candidate in vocabulary:
            return candidate
    for candidate in candidates:
        if _known(candidate, vocabulary):
            return candidate
    return None


def _squeezed(word: str) -> list[str]:
    """`word` with each run of 3+ letters cut to two or one, most doubles first."""
    if not _LETTER_TRIPLE.search(word):
        return []
    runs = [m.group(0) for m in _RUNS.finditer(word)]
    long_runs = [i for i, r in enumerate(runs) if len(r) >= 3]
    if not long_runs:
        return []
    if len(long_runs) > 6:
        return [_cut(runs)]
    candidates = []
    for widths in itertools.product((2, 1), repeat=len(long_runs)):
        parts = list(runs)
        for i, w in zip(long_runs, widths, strict=True):
            parts[i] = parts[i][0] * w
        candidates.append("".join(parts))
    return candidates


def _cut(runs: list[str]) -> str:
    """Runs of 3+ cut by the doubled-letter rule: English doubles these letters inside a word
    (`weeekend`, `annnie`) but at the end only l, s, f and z (`fatherrr`, `cuteeee`)."""
    last = len(runs) - 1
    parts = []
    for i, r in enumerate(runs):
        if len(r) < 3:
            parts.append(r)
        elif r[0] in (_DOUBLED_AT_END if i == last else _DOUBLED_INSIDE):
            parts.append(r[:2])
        else:
            parts.append(r[0])
    return "".join(parts)


@functools.lru_cache(maxsize=1 << 16)
def _decode(token: str) -> str | None:
    """The word a leetspeak token spells, preferring better-profanity's words, or None."""
    if len(token) < 3 or not any("a" <= c <= "z" for c in token) or token.count("*") > 1:
        return None  # `p***y` could be anything
    options = [_LEET_LETTERS.get(c, c) for c in token]
    count = 1
    for o in options:
        count *= len(o)
    if count > _MAX_CANDIDATES:
        return None
    profane, disguised, _ = _vocabularies()
    fallback = None
    for letters in itertools.product(*options):
        word = _resolve("".join(letters), disguised)
        if word is not None:
            # `*` hides a letter on purpose: sh*t is shit, not shut.
            if _resolve(word, profane) is not None:
                return word
            fallback = fallback or word
    return fallback


def _leet(m: re.Match[str]) -> str:
    return _decode_token(m.group(0))


@functools.lru_cache(maxsize=1 << 16)
def _decode_token(token: str) -> str:
    """A leetspeak token decoded; `!`, `|`, `+` and `*` at its ends are punctuation."""
    core = token.strip(_EDGE_SYMBOLS)
    if core.isalpha() or _NUMBER_WITH_UNIT.fullmatch(core):
        return token
    decoded = _decode(core)
    if decoded is None:
        return token
    lead = token[: len(token) - len(token.lstrip(_EDGE_SYMBOLS))]
    return lead + decoded + token[len(lead) + len(core) :]


def _spaced(m: re.Match[str]) -> str:
    run = m.group(0)
    sep = m.group("sep")
    letters = run.split(sep) if sep.strip() else run[:: len(sep) + 1]
    joined = "".join(letters)
    if not joined.isalpha():
        return joined if _decode(joined) is not None else run
    if sep != " ":
        return joined
    return " ".join(_join_spaced(letters)) if len(letters) <= _MAX_RUN else joined


def _join_spaced(letters: list[str]) -> list[str]:
    """Space-separated single letters as words: the known words that cover most letters
    (`f u c k y o u` -> `fuck you`, `u r a l o s e r` -> `u r a loser`); leftover letters stay
    apart when three or fewer (`you are a f u c k` keeps its article), else are joined."""
    n = len(letters)
    joined = "".join(letters)
    vocabulary = _vocabularies()[2]
    # best[i]: (letters covered by words, -words) of the best split of letters[i:], and it.
    best: list[tuple[tuple[int, int], list[str]]] = [((0, 0), [])] * (n + 1)
    for i in range(n - 1, -1, -1):
        (covered, words), rest = best[i + 1]
        choice = ((covered, words), [letters[i], *rest])
        for size in range(3, min(n - i, _MAX_WORD) + 1):
            word = joined[i : i + size]
            if _resolve(word, vocabulary) is not None:
                (covered, words), rest = best[i + size]
                score = (covered + size, words - 1)
                if score > choice[0]:
                    choice = (score, [word, *rest])
        best[i] = choice
    tokens = best[0][1]
    # Join each run of 4+ leftover letters (`b r y c e`), an `a` or `i` in front kept apart.
    out: list[str] = []
    singles: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1:
            singles.append(token)
            continue
        if len(singles) <= 3:
            out += singles
        elif singles[0] in "ai":
            out += [singles[0], "".join(singles[1:])]
        else:
            out.append("".join(singles))
        singles = []
        if token:
            out.append(token)
    return out


def _repeated(m: re.Match[str]) -> str:
    return _unstretch(m.group(0))


@functools.lru_cache(maxsize=1 << 16)
def _unstretch(word: str) -> str:
    """A word with letters repeated 3+ times cut back (see _cut)."""
    if _ROMAN.fullmatch(word.removeprefix("ww")):
        return word  # VIII, WWIII
    known = _resolve(word, _vocabularies()[2])
    if known is not None:
        return known
    return _cut([r.group(0) for r in _RUNS.finditer(word)])
