"""normalise() and normalise_with_offsets(): the one sequence of steps (package docstring)."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict

from moderator.text.align import Normalised
from moderator.text.align import _Aligned
from moderator.text.align import _Edits
from moderator.text.align import _Plain
from moderator.text.align import _Unmapped
from moderator.text.clean import _ENTITY
from moderator.text.clean import _INVISIBLE
from moderator.text.clean import _MENTION
from moderator.text.clean import _PRINTABLE_INVISIBLE
from moderator.text.clean import _RAW_BLOCK
from moderator.text.clean import _RETWEET
from moderator.text.clean import _TAG
from moderator.text.clean import _URL
from moderator.text.clean import _USER_PLACEHOLDER
from moderator.text.clean import _casefold
from moderator.text.clean import _emoji_pattern
from moderator.text.clean import _emoji_words
from moderator.text.clean import _entity
from moderator.text.clean import _fold
from moderator.text.clean import _fold_keeping_letters
from moderator.text.clean import _foreign_homoglyph
from moderator.text.clean import _homoglyph
from moderator.text.clean import _homoglyph_chars
from moderator.text.clean import _homoglyph_pattern
from moderator.text.clean import _invisible
from moderator.text.clean import _mention
from moderator.text.clean import _tag
from moderator.text.clean import lowercase
from moderator.text.obfuscation import _AT_HINT
from moderator.text.obfuscation import _LEET
from moderator.text.obfuscation import _LEET_HINT
from moderator.text.obfuscation import _REPEATED
from moderator.text.obfuscation import _SPACED
from moderator.text.obfuscation import _SPACED_HINT
from moderator.text.obfuscation import _SPACED_PUNCT_HINT
from moderator.text.obfuscation import _SPACES
from moderator.text.obfuscation import _TRIPLE_HINT
from moderator.text.obfuscation import _leet
from moderator.text.obfuscation import _repeated
from moderator.text.obfuscation import _spaced

#: The language whose disguises (leetspeak, spaced and stretched letters) normalisation undoes:
#: it decodes them only into English words. Other languages keep their letters as written.
ENGLISH = "en"


def normalise(text: str, language: str = ENGLISH) -> str:
    """The normalised form of `text`, used for scoring and training.

    `language` (ISO 639-1) picks the Unicode and case rules: English folds accents away and
    undoes disguises into English words; any other language keeps its letters (ü, ß, ç, ã, ı)
    and lower-cases them its own way (Turkish I -> ı), and only markup, invisible characters,
    look-alike letters, URLs, mentions and spacing are normalised.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    doc = _Plain(text)
    _run(doc, language)
    return doc.text


def normalise_with_offsets(text: str, language: str = ENGLISH) -> Normalised:
    """Normalise and keep the alignment back to the original characters."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    return _aligned(text, language)


#: The alignments kept: a flagged comment is aligned for its reasons' spans and again for its
#: word-rule hits, a whole batch apart, so a batch's worth is kept, bounded by characters.
_ALIGNED_CHARS = 2_000_000
_ALIGNED_ENTRIES = 4096
_aligned_cache: OrderedDict[tuple[str, str], Normalised] = OrderedDict()
_aligned_chars = 0
_aligned_lock = threading.Lock()


def _aligned(text: str, language: str = ENGLISH) -> Normalised:
    global _aligned_chars
    key = (text, language)
    with _aligned_lock:
        known = _aligned_cache.get(key)
        if known is not None:
            _aligned_cache.move_to_end(key)
            return known
    try:
        edits = _Edits(text)
        _run(edits, language)
        result = Normalised(edits.text, steps=tuple(edits.steps))
    except _Unmapped:
        doc = _Aligned(text)
        _run(doc, language)
        result = Normalised(doc.text, tuple(doc.starts), tuple(doc.ends))
    if len(text) <= _ALIGNED_CHARS // 8:
        with _aligned_lock:
            if key not in _aligned_cache:
                _aligned_cache[key] = result
                _aligned_chars += len(text)
            while _aligned_chars > _ALIGNED_CHARS or len(_aligned_cache) > _ALIGNED_ENTRIES:
                (old, _), _ = _aligned_cache.popitem(last=False)
                _aligned_chars -= len(old)
    return result


@functools.cache
def _lowercaser(language: str):
    """lowercase() for one language, the same object every time (align.py keys on it)."""
    return functools.partial(lowercase, language=language)


# --- the pipeline ---------------------------------------------------------------------------


def _run(doc: _Plain | _Aligned, language: str = ENGLISH) -> None:
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
    english = language == ENGLISH
    if doc.text.isascii() and (english or "I" not in doc.text):
        doc.lower_ascii()
    elif english:
        doc.local(_fold)
        if _homoglyph_chars().search(doc.text):
            doc.sub(_homoglyph_pattern(), _homoglyph, align=True)
        doc.local(_casefold)
        if _emoji_pattern().search(doc.text):
            doc.sub(_emoji_pattern(), _emoji_words)
    else:
        doc.local(_fold_keeping_letters)
        if _homoglyph_chars(False).search(doc.text):
            doc.sub(_homoglyph_pattern(False), _foreign_homoglyph, align=True)
        doc.local(_lowercaser(language))
        if _emoji_pattern().search(doc.text):
            doc.sub(_emoji_pattern(), _emoji_words)
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
    if english:
        # Disguises are undone only into English words (the vocabularies are English).
        text = doc.text
        if _SPACED_HINT.search(text) or _SPACED_PUNCT_HINT.search(text):
            doc.sub(_SPACED, _spaced, align=True)
        text = doc.text
        if _LEET_HINT.search(text) or ("@" in text and _AT_HINT.search(text)):
            doc.sub(_LEET, _leet, align=True)
        if _TRIPLE_HINT.search(doc.text):
            doc.sub(_REPEATED, _repeated, align=True)
    doc.strip()
