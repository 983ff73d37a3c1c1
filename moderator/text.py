"""Text normalisation shared by the word rules, the classifier and training.

`normalise(text)` undoes the usual disguises so that `sh1t`, `f u c k`, `fuuuck`, `ｆｕｃｋ` and
`fucк` (Cyrillic к) all read `fuck`, while ordinary text only changes case and spacing:
Scunthorpe, assassination, cocktail, $5, 2019 and 10:30 come out as they went in.

The steps, in order (each is a regex substitution or a local Unicode function):

1. markup: `<script>`/`<style>` content and comments dropped, known HTML tags dropped (inline
   ones glue, block ones leave a space), then HTML entities decoded (twice, for `&amp;amp;`);
2. invisible characters (zero-width, bidi controls, C0/C1 controls, surrogates, private use,
   variation selectors) dropped, every kind of whitespace turned into a space;
3. Unicode (skipped for pure ASCII): NFKC with generic combining marks (accents, zalgo,
   strike-through) removed, homoglyphs mapped inside words whose every letter is Latin or a
   listed look-alike (data/text_homoglyphs.tsv), casefold; ASCII text is only lower-cased;
4. URLs -> `url`, @mentions and `[user]` -> `@user`, a retweet's `rt` before a mention dropped;
5. 3+ single letters joined by one separator collapsed (`f.u.c.k`, `s-h-i-t`, `f u c k`); with
   spaces, a known word inside the run keeps its neighbours apart (`u r a l o s e r` ->
   `u r a loser`) and exactly three letters collapse only into a known word (`u r a` stays);
6. leetspeak decoded inside tokens that mix letters with digits or symbols, but only into a
   known word (`sh1t`, `a$$`, `f4gg0t`, `sh*t`), so `4th`, `mp3`, `$5` and emails stay;
   `!|+*` at a token's ends are punctuation, and two `*` hide too much to guess;
7. letters repeated 3+ times (outside hashtags and Roman numerals) cut to two or one, whichever
   is a known word (`goooood` -> good, `fuuuck` -> fuck); otherwise e, o, l, s, f, t, r, n, m,
   p, d, g, c, b, z keep two inside a word and l, s, f, z at its end (`weeeekend`, `fatherrr`);
8. the ends stripped (runs of spaces are collapsed after step 3, before the word steps).

"Known word": leetspeak and spaced letters decode only into better-profanity's words and the
[disguised] words of data/text_words.txt; stretched letters may also become a [stretched]
word. A word plus a common suffix (s, ed, ing, ...) counts. The rule that guards innocent text:
a step only rewrites characters inside one token (or a run of single letters), never removes
the space between two words, and decodes only into the vocabulary.

`normalise_with_offsets(text)` runs the very same steps on a text that carries, for each
character, the span of the original it came from, so `.text == normalise(text)` by
construction (and by a property test).
"""

from __future__ import annotations

import functools
import html
import importlib.util
import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["Normalised", "normalise", "normalise_with_offsets"]

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


def normalise(text: str) -> str:
    """The normalised form of `text`, used for scoring and training."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    doc = _Plain(text)
    _run(doc)
    return doc.text


def normalise_with_offsets(text: str) -> Normalised:
    """Normalise and keep the alignment back to the original characters."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    return _aligned(text)


# A flagged comment is aligned once per category it is explained for and once for word-rule
# hits; the result is immutable, so the few most recent are kept.
@functools.lru_cache(maxsize=64)
def _aligned(text: str) -> Normalised:
    doc = _Aligned(text)
    _run(doc)
    return Normalised(doc.text, tuple(doc.starts), tuple(doc.ends))


# --- the pipeline ---------------------------------------------------------------------------


def _run(doc: _Plain | _Aligned) -> None:
    """The one sequence of steps, run on a plain or an aligned text (see the module docstring).

    The `if`s only skip a step that could not match (cheap tests before the regex), so the
    plain and the aligned run take the same branches on the same text.
    """
    if "<" in doc.text:
        doc.sub(_RAW_BLOCK, " ")
        doc.sub(_TAG, _tag)
    if "&" in doc.text:
        doc.sub(_ENTITY, _entity)
        if "&" in doc.text:
            doc.sub(_ENTITY, _entity)
    if not doc.text.isprintable() or (
        not doc.text.isascii() and _PRINTABLE_INVISIBLE.search(doc.text)
    ):
        doc.sub(_INVISIBLE, _invisible)
    if doc.text.isascii():
        doc.lower_ascii()
    else:
        doc.local(_fold)
        if _homoglyph_chars().search(doc.text):
            doc.sub(_homoglyph_pattern(), _homoglyph, align=True)
        doc.local(_casefold)
    # Spaces first, so that `g e t  o u t` is one run of spaced letters, not two.
    if "  " in doc.text:
        doc.sub(_SPACES, " ")
    text = doc.text
    if "/" in text or "www." in text or "[url]" in text:
        doc.sub(_URL, "url")
    if "@" in doc.text:
        doc.sub(_MENTION, _mention)
    if "[user]" in doc.text:
        doc.sub(_USER_PLACEHOLDER, "@user")
    if "rt" in doc.text and "@user" in doc.text:
        doc.sub(_RETWEET, "")
    text = doc.text
    if _SPACED_HINT.search(text) or _SPACED_PUNCT_HINT.search(text):
        doc.sub(_SPACED, _spaced, align=True)
    text = doc.text
    if _LEET_HINT.search(text) or ("@" in text and _AT_HINT.search(text)):
        doc.sub(_LEET, _leet, align=True)
    if _TRIPLE_HINT.search(doc.text):
        doc.sub(_REPEATED, _repeated, align=True)
    doc.strip()


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


# --- 1. markup ------------------------------------------------------------------------------

_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo big cite code data del dfn em font i ins kbd mark q s samp small span "
    "strike strong sub sup time tt u var wbr".split()
)
_BLOCK_TAGS = frozenset(
    "address area article aside audio base blockquote body br button canvas caption center col "
    "colgroup dd details dialog dir div dl dt embed fieldset figcaption figure footer form frame "
    "frameset h1 h2 h3 h4 h5 h6 head header hr html iframe img input label legend li link main "
    "map marquee menu meta meter nav noscript object ol optgroup option output p param picture "
    "pre progress rp rt ruby section select source summary svg table tbody td template textarea "
    "tfoot th thead title tr track ul video math".split()
)
_RAW_BLOCK = re.compile(
    r"<(script|style)\b[^<>]*>.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>")
# Numeric references, named ones with their semicolon, and the five that often lack it.
_ENTITY = re.compile(
    r"&(?:#[0-9]{1,8};?|#[xX][0-9a-fA-F]{1,7};?|[a-zA-Z][a-zA-Z0-9]{1,31};|(?:amp|lt|gt|quot|apos)\b)"
)


def _tag(m: re.Match[str]) -> str:
    name = m.group(1).lower()
    if name in _INLINE_TAGS:
        return ""
    if name in _BLOCK_TAGS or name in ("script", "style"):
        return " "
    return m.group(0)  # `<y and z>` is text, not markup


def _entity(m: re.Match[str]) -> str:
    return html.unescape(m.group(0))


# --- 2. invisible characters ----------------------------------------------------------------

# Every character str.isspace() accepts, plus braille blank; then every control, format,
# surrogate and private-use character, and the invisible fillers and variation selectors
# (test_text checks both lists against unicodedata).
_SPACE_CHARS = (
    "\t\n\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u2800"
)
_DROP_CHARS = (
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff\ud800-\udfff\ue000-\uf8ff"
    "\U000f0000-\U0010ffff"
)
_INVISIBLE = re.compile(f"[{_SPACE_CHARS}]|[{_DROP_CHARS}]+")
# The characters above that str.isprintable() accepts, so that one cheap test finds them all.
_PRINTABLE_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef]"
)
_SPACE_RE = re.compile(f"[{_SPACE_CHARS}]")


def _invisible(m: re.Match[str]) -> str:
    return " " if _SPACE_RE.match(m.group(0)) else ""


# --- 3. Unicode -----------------------------------------------------------------------------

# Generic combining marks: accents, zalgo, strike-through, enclosing circles. Marks that belong
# to a script (Devanagari vowel signs, Arabic harakat) are kept.
_MARKS = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)


# What NFKC keeps but should not: typographic quotes and dashes become ASCII, ™ and ℠ go
# (not glued on as letters), negative circled and squared letters (🅵🆄🅲🅺) become letters.
_PUNCTUATION = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u02bc", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u2122\u2120", ""),
    **{chr(0x1F150 + i): chr(0x61 + i) for i in range(26)},
    **{chr(0x1F170 + i): chr(0x61 + i) for i in range(26)},
}
# A regex finds them faster than str.translate walks a dict for every character.
_PUNCTUATION_RE = re.compile("[" + "".join(_PUNCTUATION) + "]")


def _punctuation(m: re.Match[str]) -> str:
    return _PUNCTUATION[m.group(0)]


def _fold(text: str) -> str:
    """NFKC without generic combining marks (NFC of the compatibility decomposition)."""
    decomposed = unicodedata.normalize("NFKD", _PUNCTUATION_RE.sub(_punctuation, text))
    return unicodedata.normalize("NFC", _MARKS.sub("", decomposed))


def _casefold(text: str) -> str:
    # Casefolding can leave a mark behind (İ -> i + U+0307), so fold again; the text was
    # folded before, and folding twice changes nothing, so an unchanged text is done.
    folded = text.casefold()
    return folded if folded == text else _fold(folded)


@functools.cache
def _homoglyphs() -> dict[str, str]:
    table = {}
    path = resources.files("moderator").joinpath("data", "text_homoglyphs.tsv")
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            code, latin = line.split()[:2]
            table[chr(int(code.removeprefix("U+"), 16))] = latin
    return table


@functools.cache
def _homoglyph_chars() -> re.Pattern[str]:
    return re.compile("[" + re.escape("".join(sorted(_homoglyphs()))) + "]")


@functools.cache
def _homoglyph_pattern() -> re.Pattern[str]:
    """A word with a homoglyph in it; the look-behind keeps the scan linear in the word."""
    chars = re.escape("".join(sorted(_homoglyphs())))
    return re.compile(rf"(?<![^\W_])[^\W_]*?[{chars}][^\W_]*")


def _homoglyph(m: re.Match[str]) -> str:
    word = m.group(0)
    table = _homoglyphs()
    if all(c.isascii() or c in table or _is_latin(c) for c in word):
        return "".join(table.get(c, c) for c in word)
    return word


@functools.lru_cache(maxsize=4096)
def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN ")


# --- 4. URLs and mentions -------------------------------------------------------------------

_URL = re.compile(r"(?:\bhttps?:/|\bwww\.|\bpic\.twitter\.com/)\S*|\[url\]")
# The literal @ first lets the regex engine jump between @s; what precedes it is checked after.
_MENTION = re.compile(r"@(?<![\w@$!|+*.&]@)\w+")
_USER_PLACEHOLDER = re.compile(r"\[user\]")
_MAX_DISGUISED_MENTION = 12
_RETWEET = re.compile(r"(?<![\w@])(?:rt:? )+(?=@user\b)")


def _mention(m: re.Match[str]) -> str:
    # `@ss` and `@sshole` are leetspeak, not handles; long handles are handles.
    if m.group(0) == "@user" or len(m.group(0)) > _MAX_DISGUISED_MENTION:
        return "@user"
    decoded = _decode(m.group(0))
    return decoded if decoded is not None else "@user"


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
    """Whether `word`, or `word` minus a common suffix, is in `vocabulary`."""
    if word in vocabulary:
        return True
    return any(
        word.endswith(s) and len(word) - len(s) >= 3 and word[: -len(s)] in vocabulary
        for s in _SUFFIXES
    )


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
