"""The policy classifier: load a trained model directory, score normalised text, explain.

A model directory (models/NAME) holds `model.joblib`, one fitted scikit-learn Pipeline
(word n-gram TF-IDF -> one calibrated logistic regression per category, built by
training/pipeline.py), and `model.json` (versions, thresholds, metrics). At load time the
pipeline's vocabulary, idf, coefficients and Platt calibration are compiled into a dict and
numpy arrays, so scoring one comment costs a few microseconds instead of a trip through
the vectoriser; tests check that this fast path equals `pipeline.predict_proba`.

No Flask and no database here, and nothing is loaded at import time.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moderator.classifier import explain as explanations
from moderator.policy import CATEGORIES
from moderator.policy import Category
from moderator.policy import Threshold
from moderator.policy import thresholds_from_dict

MODEL_FILE = "model.joblib"
METADATA_FILE = "model.json"

#: Explanations list a word only if it adds at least this much to the category's logit
#: and at least this share of the strongest word's contribution. Chosen on toxic_spans'
#: train posts (char-F1), never on trial; model.json's "explain" block overrides them.
MIN_CONTRIBUTION = 0.15
MIN_SHARE = 0.6
#: A word is a specific category's reason only if its calibrated contribution to it is at
#: least this share of its largest calibrated contribution to another specific category
#: (see explain.py); model.json's "explain" block overrides it.
TYPE_RATIO = 0.8

#: Joins a batch for one regex pass; a private-use character, which normalise() removes.
_SEPARATOR = "\ue000"

#: Analyses kept for explain(): a few comments' worth of whole texts and sentences.
_EXPLAINED_CACHE = 16
#: Distinct words whose character n-grams are kept; the cache is emptied when full.
_GRAM_CACHE_SIZE = 200_000
#: What scikit-learn's char_wb analyzer collapses before splitting on whitespace.
_WHITE_SPACES = re.compile(r"\s\s+")

_RETRAIN = "retrain it with `python -m training train --data-dir PATH --out DIR`"


class ModelLoadError(Exception):
    """The model directory is missing, corrupt, or was made by another scikit-learn."""


class Classifier:
    """A loaded model: per-category probabilities and word-level explanations."""

    name: str
    version: str
    thresholds: dict[Category, Threshold]
    metadata: dict

    def __init__(self, pipeline, metadata: dict):
        self.pipeline = pipeline
        self.metadata = metadata
        self.name = str(metadata.get("name", "unnamed"))
        self.version = str(metadata.get("version", "0"))
        #: The language the model was trained for (ISO 639-1); its text is normalised so.
        self.language = str(metadata.get("language", "en"))
        try:
            self.thresholds = thresholds_from_dict(metadata.get("thresholds", {}))
        except ValueError as exc:
            raise ModelLoadError(f"model.json has bad thresholds: {exc}") from None
        settings = metadata.get("explain", {})
        self.min_contribution = float(settings.get("min_contribution", MIN_CONTRIBUTION))
        self.min_share = float(settings.get("min_share", MIN_SHARE))
        self.type_ratio = float(settings.get("type_ratio", TYPE_RATIO))
        never = settings.get("never", [])
        if not isinstance(never, list) or not all(isinstance(w, str) for w in never):
            raise ModelLoadError("model.json explain.never must be a list of words")
        self.never_reasons = frozenset(w.lower() for w in never)
        self._compile(pipeline)

    @classmethod
    def load(cls, path: str | Path) -> Classifier:
        """Load models/NAME; refuses a model made by another scikit-learn version."""
        import joblib
        import sklearn
        from sklearn.exceptions import InconsistentVersionWarning

        path = Path(path)
        meta_path, model_path = path / METADATA_FILE, path / MODEL_FILE
        if not path.is_dir():
            raise ModelLoadError(f"model directory {path} does not exist")
        for p in (meta_path, model_path):
            if not p.is_file():
                raise ModelLoadError(f"model directory {path} lacks {p.name}")
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"cannot read {meta_path}: {exc}") from None
        if not isinstance(metadata, dict):
            raise ModelLoadError(f"{meta_path} is not a JSON object")
        trained_with = metadata.get("versions", {}).get("scikit-learn")
        if trained_with != sklearn.__version__:
            raise ModelLoadError(
                f"model {path} was trained with scikit-learn {trained_with}, this is "
                f"{sklearn.__version__}: {_RETRAIN}"
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", InconsistentVersionWarning)
                pipeline = joblib.load(model_path)
        except InconsistentVersionWarning as exc:
            raise ModelLoadError(
                f"model {path} was pickled by scikit-learn {exc.original_sklearn_version}, "
                f"this is {exc.current_sklearn_version}: {_RETRAIN}"
            ) from None
        except Exception as exc:  # unpickling can fail in many ways; all mean "corrupt"
            raise ModelLoadError(f"cannot load {model_path}: {type(exc).__name__}: {exc}") from None
        return cls(pipeline, metadata)

    def label(self) -> str:
        """`name@version`, recorded with every decision."""
        return f"{self.name}@{self.version}"

    def _compile(self, pipeline) -> None:
        try:
            union = pipeline.named_steps["features"]
            blocks = dict(union.transformer_list)
            vectoriser = blocks["words"]
            chars = blocks.get("chars")
            model = pipeline.named_steps["categories"]
            classes = [str(c) for c in model.classes_]
            vocabulary = vectoriser.vocabulary_
            idf = np.asarray(vectoriser.idf_, dtype=np.float64)
            char_idf = np.asarray(chars.idf_ if chars is not None else [], dtype=np.float64)
            coef = np.asarray(model.coef_, dtype=np.float64)
            intercept = np.asarray(model.intercept_, dtype=np.float64)
            calibration = np.asarray(model.calibration_, dtype=np.float64)
        except (AttributeError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"model.joblib is not a Moderator pipeline: {exc}") from None
        supported = (
            [name for name, _ in union.transformer_list] in (["words"], ["words", "chars"])
            and union.transformer_weights is None
            and vectoriser.analyzer == "word"
            and (chars is None or chars.analyzer == "char_wb")
            and all(
                v.preprocessor is None
                and v.tokenizer is None
                and v.stop_words is None
                and v.strip_accents is None
                and v.input == "content"
                and v.use_idf
                and not v.binary
                and v.norm == "l2"
                for v in (vectoriser, chars)
                if v is not None
            )
        )
        if not supported:
            raise ModelLoadError("model.joblib uses vectoriser options the fast path lacks")
        known = [str(c) for c in CATEGORIES]
        if len(set(classes)) != len(classes) or not set(classes) <= set(known):
            raise ModelLoadError(f"model categories {classes} are not among {known}")
        if str(Category.TOXICITY) not in classes:
            raise ModelLoadError(f"model categories {classes} lack toxicity")
        if coef.shape != (len(classes), len(idf) + len(char_idf)):
            raise ModelLoadError("model coefficients do not match the vocabulary")
        # Serve in the policy's category order, whatever order the model keeps.
        # A language's model may score fewer categories (those its data labels).
        order = [classes.index(str(c)) for c in CATEGORIES if str(c) in classes]
        coef = coef[order]
        self._names = tuple(str(c) for c in CATEGORIES if str(c) in classes)
        self._vocab: dict[str, int] = dict(vocabulary)
        self._token_re = re.compile(vectoriser.token_pattern)
        self._lowercase = bool(vectoriser.lowercase)
        self._ngrams = tuple(vectoriser.ngram_range)
        self._sublinear = bool(vectoriser.sublinear_tf)
        self._idf = idf
        self._coef_t = np.ascontiguousarray(coef[:, : len(idf)].T)
        self._weighted = np.ascontiguousarray(self._coef_t * idf[:, None])
        self._intercept = intercept[order]
        self._slope = calibration[order, 0]
        self._slope_list = self._slope.tolist()
        self._offset = calibration[order, 1]
        self._index = {name: i for i, name in enumerate(self._names)}
        self._toxicity = self._index[str(Category.TOXICITY)]
        if not 1 <= self._ngrams[0] <= self._ngrams[1] <= 2:
            raise ModelLoadError(f"the fast path scores 1- and 2-grams, not {self._ngrams}")
        self._compile_words()
        self._chars = chars is not None
        if self._chars:
            self._char_ngrams = tuple(chars.ngram_range)
            self._char_vocab: dict[str, int] = dict(chars.vocabulary_)
            self._char_lowercase = bool(chars.lowercase)
            self._char_sublinear = bool(chars.sublinear_tf)
            self._char_idf = char_idf
            self._char_coef_t = np.ascontiguousarray(coef[:, len(idf) :].T)
            self._char_weighted = np.ascontiguousarray(self._char_coef_t * char_idf[:, None])
            self._gram_cache: dict[str, np.ndarray] = {}
        # Texts explained lately: policy.decide asks once per category that crossed, and the
        # categories of one comment may come from different sentences of it.
        self._explained: dict[str, explanations.Analysis] = {}

    def _word_grams(self, word: str) -> np.ndarray:
        """Character-block feature ids of one whitespace-separated word (cached).

        char_wb n-grams never cross whitespace, so a text's n-grams are the union of its
        words' n-grams, each word padded with one space on either side; a word shorter
        than n gives itself once and no longer n-grams, as in scikit-learn's
        `_char_wb_ngrams`. Tests check the result equals the fitted pipeline's.
        """
        ids = self._gram_cache.get(word)
        if ids is None:
            get = self._char_vocab.get
            padded = f" {word} "
            size = len(padded)
            found: list[int | None] = []
            lo, hi = self._char_ngrams
            for n in range(lo, hi + 1):
                if size <= n:
                    found.append(get(padded))
                    break
                found.extend(map(get, [padded[i : i + n] for i in range(size - n + 1)]))
            ids = np.array([i for i in found if i is not None], dtype=np.int64)
            if len(self._gram_cache) >= _GRAM_CACHE_SIZE:
                self._gram_cache.clear()
            self._gram_cache[word] = ids
        return ids

    def _char_words(self, text: str) -> list[str]:
        """The whitespace-separated words the char_wb analyzer sees in `text`."""
        if self._char_lowercase:
            text = text.lower()
        return _WHITE_SPACES.sub(" ", text).split()

    def _compile_words(self) -> None:
        """Word ids, unigram features per word and sorted (word, word) keys for bigrams.

        Batch scoring then costs one regex and one dict lookup per token in Python; the
        n-gram lookups, counting and the product with the coefficients run in numpy.
        """
        words: dict[str, int] = {}
        unigrams, bigrams = [], []
        for term, feature in self._vocab.items():
            parts = term.split(" ")
            ids = [words.setdefault(p, len(words)) for p in parts]
            (unigrams if len(ids) == 1 else bigrams).append((ids, feature))
        self._separator_id = len(words) + 1
        self._words = {**words, _SEPARATOR: self._separator_id}
        self._unknown_id = len(words)
        body = re.sub(r"^\(\?[aiLmsux]+\)", "", self._token_re.pattern)
        self._batch_re = re.compile(f"(?:{body})|{_SEPARATOR}", self._token_re.flags)
        self._unigram = np.full(len(words) + 2, -1, dtype=np.int64)
        for (w,), feature in unigrams:
            self._unigram[w] = feature
        width = len(words) + 1
        keys = np.array([a * width + b for (a, b), _ in bigrams], dtype=np.int64)
        features = np.array([f for _, f in bigrams], dtype=np.int64)
        order = np.argsort(keys)
        self._width = width
        self._bigram_keys = keys[order]
        self._bigram_features = features[order]

    def _features(self, text: str) -> dict[int, int]:
        """Vocabulary index -> count, exactly as the fitted vectoriser counts."""
        if self._lowercase:
            text = text.lower()
        tokens = self._token_re.findall(text)
        vocab, counts = self._vocab, {}
        lo, hi = self._ngrams
        for n in range(lo, hi + 1):
            grams = (
                tokens
                if n == 1
                else [a + " " + b for a, b in zip(tokens, tokens[1:], strict=False)]
            )
            for gram in grams:
                idx = vocab.get(gram)
                if idx is not None:
                    counts[idx] = counts.get(idx, 0) + 1
        return counts

    def _probabilities(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(z * self._slope + self._offset)))

    def score_one(self, text: str) -> dict[str, float]:
        """Scores for one ALREADY normalised text: {category: probability}."""
        counts = self._features(text)
        z = self._intercept
        if counts:
            n = len(counts)
            idx = np.fromiter(counts.keys(), dtype=np.intp, count=n)
            tf = np.fromiter(counts.values(), dtype=np.float64, count=n)
            if self._sublinear:
                tf = np.log(tf) + 1.0
            w = tf * self._idf[idx]
            z = z + (tf @ self._weighted[idx]) / math.sqrt(w @ w)
        if self._chars:
            grams = [self._word_grams(word) for word in self._char_words(text)]
            if grams:
                idx, tf = np.unique(np.concatenate(grams), return_counts=True)
                if len(idx):
                    tf = tf.astype(np.float64)
                    if self._char_sublinear:
                        tf = np.log(tf) + 1.0
                    w = tf * self._char_idf[idx]
                    z = z + (tf @ self._char_weighted[idx]) / math.sqrt(w @ w)
        return dict(zip(self._names, self._probabilities(z).tolist(), strict=True))

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Scores for ALREADY normalised texts, one dict per text, every category."""

        if isinstance(texts, str):
            raise TypeError("score() takes a sequence of texts; use score_one() for one")
        n = len(texts)
        if not n:
            return []
        get, unknown = self._words.get, self._unknown_id
        joined = _SEPARATOR.join(texts)
        if self._lowercase:
            joined = joined.lower()
        if joined.count(_SEPARATOR) == n - 1:
            # One regex pass over the whole batch; the separator is a token of its own
            # that no text contains (normalise() drops private-use characters).
            ids = np.array(
                [get(t, unknown) for t in self._batch_re.findall(joined)], dtype=np.int64
            )
            separator = ids == self._separator_id
            row = np.cumsum(separator)[~separator]
            ids = ids[~separator]
        else:
            findall = self._token_re.findall
            flat: list[int] = []
            lengths: list[int] = []
            for text in texts:
                tokens = findall(text.lower() if self._lowercase else text)
                flat.extend([get(t, unknown) for t in tokens])
                lengths.append(len(tokens))
            ids = np.array(flat, dtype=np.int64)
            row = np.repeat(np.arange(n), lengths)
        rows, features = [], []
        lo, hi = self._ngrams
        if lo == 1:
            feature = self._unigram[ids]
            keep = feature >= 0
            rows.append(row[keep])
            features.append(feature[keep])
        if hi == 2 and len(ids) > 1 and len(self._bigram_keys):
            keys = ids[:-1] * self._width + ids[1:]
            same = (row[:-1] == row[1:]) & (ids[:-1] != unknown) & (ids[1:] != unknown)
            pos = np.searchsorted(self._bigram_keys, keys)
            pos[pos == len(self._bigram_keys)] = 0
            found = same & (self._bigram_keys[pos] == keys)
            rows.append(row[:-1][found])
            features.append(self._bigram_features[pos[found]])
        r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        f = np.concatenate(features) if features else np.zeros(0, dtype=np.int64)
        z = _block_scores(r, f, n, self._idf, self._weighted, self._sublinear)
        z += self._intercept
        if self._chars:
            words, words_per_text = [], []
            for text in texts:
                these = self._char_words(text)
                words.extend(these)
                words_per_text.append(len(these))
            # Each distinct word once; a local table, so clearing the cache can't lose one.
            table = {word: self._word_grams(word) for word in set(words)}
            grams = [table[word] for word in words]
            if grams:
                per_word = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
                word_row = np.repeat(np.arange(n), words_per_text)
                r = np.repeat(word_row, per_word)
                f = np.concatenate(grams)
                z += _block_scores(
                    r, f, n, self._char_idf, self._char_weighted, self._char_sublinear
                )
        names = self._names
        return [dict(zip(names, p, strict=True)) for p in self._probabilities(z).tolist()]

    def explain(
        self, original: str, category: Category, top: int = 5
    ) -> tuple[list[str], list[tuple[int, int]]]:
        """The words that drove `category`'s score, with [start, end) spans into `original`.

        See moderator/classifier/explain.py: words with a clearly positive contribution of
        that category's own type, never a function word, strongest first, at most `top`.
        """
        return self.explain_many([(original, category)], top)[0]

    def explain_many(
        self, requests: Sequence[tuple[str, Category]], top: int = 5
    ) -> list[tuple[list[str], list[tuple[int, int]]]]:
        """explain() for many (text, category) pairs: the texts analysed in one batch."""
        indices = []
        for _, category in requests:
            try:
                indices.append(self._index[str(category)])
            except KeyError:
                raise ValueError(f"unknown category {category!r}") from None
        cache = self._explained
        analyses = {}
        for text in dict.fromkeys(t for t, _ in requests):
            known = cache.get(text)
            if known is not None:
                analyses[text] = known
        missing = [t for t in dict.fromkeys(t for t, _ in requests) if t not in analyses]
        analyses.update(zip(missing, explanations.analyse_batch(self, missing), strict=True))
        if len(cache) + len(missing) > _EXPLAINED_CACHE:
            cache.clear()
        cache.update(list(analyses.items())[-_EXPLAINED_CACHE:])
        return [
            explanations.select(self, analyses[text], j, top)
            for (text, _), j in zip(requests, indices, strict=True)
        ]


def _block_scores(rows, features, n, idf, weighted, sublinear) -> np.ndarray:
    """One TF-IDF block's contribution to the logits: (n, categories).

    `rows`/`features` list one (text, feature) pair per occurrence; counts, sublinear tf,
    idf and the block's own L2 norm follow TfidfVectorizer, and the coefficients already
    carry the idf (`weighted`).
    """
    width = len(idf)
    out = np.zeros((n, weighted.shape[1]))
    if not len(features):
        return out
    # Counting (text, feature) pairs in numpy: a scipy matrix costs ~0.2 ms to build, which
    # a small batch (one comment and its sentences) feels.
    unique, counts = np.unique(rows * width + features, return_counts=True)
    row, feature = unique // width, unique % width
    tf = counts.astype(np.float64)
    if sublinear:
        tf = np.log(tf) + 1.0
    w = tf * idf[feature]
    norms = np.sqrt(np.bincount(row, w * w, minlength=n))
    norms[norms == 0] = 1.0
    contributions = tf[:, None] * weighted[feature]
    for j in range(out.shape[1]):
        out[:, j] = np.bincount(row, contributions[:, j], minlength=n)
    return out / norms[:, None]
