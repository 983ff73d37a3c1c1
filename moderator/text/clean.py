"""Normalisation steps 1-4: markup, invisible characters, Unicode folding, URLs and mentions."""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from importlib import resources

from moderator.text.obfuscation import _decode


def char_class(chars) -> str:
    """A regex class `[...]` of `chars`, each run of consecutive code points written as one
    range. re checks a class holding characters past U+FFFF item by item, so 52 separate
    astral letters made every searched character cost 75 comparisons; as ranges, a few."""
    points = sorted({ord(c) for item in chars for c in item})
    parts = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        first, last = re.escape(chr(points[i])), re.escape(chr(points[j]))
        parts.append(first if i == j else f"{first}{last}" if j == i + 1 else f"{first}-{last}")
        i = j + 1
    return "[" + "".join(parts) + "]"


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
    return _unescape(m.group(0))


#: One entity's text (at most 34 characters) -> what it decodes to: a comment's entities are a
#: few dozen common ones, and html.unescape runs a regex substitution per call.
_unescape = functools.lru_cache(maxsize=4096)(html.unescape)


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
_PUNCTUATION_RE = re.compile(char_class(_PUNCTUATION))


def _punctuation(m: re.Match[str]) -> str:
    return _PUNCTUATION[m.group(0)]


def _fold(text: str) -> str:
    """NFKC without generic combining marks (NFC of the compatibility decomposition)."""
    decomposed = unicodedata.normalize("NFKD", _PUNCTUATION_RE.sub(_punctuation, text))
    return unicodedata.normalize("NFC", _MARKS.sub("", decomposed))


def _fold_keeping_letters(text: str) -> str:
    """NFKC that keeps a language's own letters (ü, ß, ç, ã, ı, ğ, Arabic harakat) and drops
    only the marks no letter absorbs (zalgo, strike-through): for languages other than English,
    whose models learn from the letters as written."""
    composed = unicodedata.normalize("NFKC", _PUNCTUATION_RE.sub(_punctuation, text))
    return _MARKS.sub("", composed) if _MARKS.search(composed) else composed


def lowercase(text: str, language: str) -> str:
    """Lower case as `language` writes it: Turkish I is ı and İ is i; German keeps ß."""
    if language in ("tr", "az"):
        text = text.replace("I", "ı").replace("İ", "i")
    return text.lower()


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
def _homoglyph_chars(latin: bool = True) -> re.Pattern[str]:
    return re.compile(char_class(_table(latin)))


@functools.cache
def _homoglyph_pattern(latin: bool = True) -> re.Pattern[str]:
    """A word with a homoglyph in it; the look-behind keeps the scan linear in the word."""
    return re.compile(rf"(?<![^\W_])[^\W_]*?{char_class(_table(latin))}[^\W_]*")


@functools.cache
def _table(latin: bool) -> dict[str, str]:
    """The look-alikes; without `latin`, only those from other scripts (Cyrillic а, Greek ο):
    ı, ø or ł are letters of Turkish, Danish or Polish, not disguises there."""
    table = _homoglyphs()
    return table if latin else {c: v for c, v in table.items() if not _is_latin(c)}


def _homoglyph(m: re.Match[str]) -> str:
    return _replace_homoglyphs(m.group(0), _homoglyphs())


def _foreign_homoglyph(m: re.Match[str]) -> str:
    return _replace_homoglyphs(m.group(0), _table(False))


def _replace_homoglyphs(word: str, table: dict[str, str]) -> str:
    if all(c.isascii() or c in table or _is_latin(c) for c in word):
        return "".join(table.get(c, c) for c in word)
    return word


@functools.lru_cache(maxsize=4096)
def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN ")


@functools.cache
def _emoji() -> dict[str, str]:
    table = {}
    path = resources.files("moderator").joinpath("data", "text_emoji.tsv")
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            code, words = line.split("\t", 1)
            table[chr(int(code.removeprefix("U+"), 16))] = words.strip()
    return table


@functools.cache
def _emoji_pattern() -> re.Pattern[str]:
    """An emoji of data/text_emoji.tsv with its optional skin-tone modifier."""
    return re.compile(char_class(_emoji()) + "[\U0001f3fb-\U0001f3ff]?")


def _emoji_words(m: re.Match[str]) -> str:
    # Spaces keep the words apart from their neighbours ("you🖕" -> "you fuck you").
    return f" {_emoji()[m.group(0)[0]]} "


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
