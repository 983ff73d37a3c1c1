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
   listed look-alike (data/text_homoglyphs.tsv), casefold, offensive emoji spelled out as
   words (data/text_emoji.tsv: 🖕 -> `fuck you`); ASCII text is only lower-cased;
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

`sentences(text)` gives the [start, end) spans of a raw comment's sentences (see segmenter.py),
so each sentence can be scored on its own and a reason can point into the original text.
"""

from moderator.text.align import Normalised
from moderator.text.normalise import normalise
from moderator.text.normalise import normalise_with_offsets
from moderator.text.segmenter import sentences

__all__ = ["Normalised", "normalise", "normalise_with_offsets", "sentences"]
