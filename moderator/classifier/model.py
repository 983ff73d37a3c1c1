"""The policy classifier: load a trained model directory, score normalised text, explain.

A model directory (models/NAME) holds `model.joblib`, one fitted scikit-learn Pipeline
(word n-gram TF-IDF -> one calibrated logistic regression per category, built by
training/pipeline.py), `model.json` (versions, thresholds, metrics) and `serving.npz`, the
same pipeline compiled into a dict and numpy arrays (artifact.py), so scoring one comment
costs a few microseconds instead of a trip through the vectoriser and loading takes a
fraction of a second instead of unpickling; tests check that this fast path equals
`pipeline.predict_proba`. Without a matching serving.npz, model.joblib is loaded and compiled.

No Flask and no database here, and nothing is loaded at import time.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path

import numpy as np

from moderator.classifier import artifact
from moderator.classifier import explain as explanations
from moderator.classifier import features
from moderator.classifier.artifact import SEPARATOR as _SEPARATOR
from moderator.classifier.artifact import ModelLoadError
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

#: Analyses kept for explain(): a few comments' worth of whole texts and sentences.
_EXPLAINED_CACHE = 16
#: Distinct words whose character n-grams are kept; the cache is emptied when full.
_GRAM_CACHE_SIZE = 200_000

log = logging.getLogger(__name__)

_RETRAIN = "retrain it with `python -m training train --data-dir PATH --out DIR`"


class Classifier:
    """A loaded model: per-category probabilities and word-level explanations."""

    name: str
    version: str
    thresholds: dict[Category, Threshold]
    metadata: dict

    def __init__(
        self, pipeline, metadata: dict, compiled: dict | None = None, model_file: Path | None = None
    ):
        """From a fitted pipeline, or from its `compiled` state with the pipeline left in
        `model_file`, unpickled only if `.pipeline` is asked for."""
        self._pipeline = pipeline
        self._model_file = model_file
        self.metadata = metadata
        self.name = str(metadata.get("name", "unnamed"))
        self.version = str(metadata.get("version", "0"))
        #: The language the model was trained for (ISO 639-1); its text is normalised so.
        self.language = str(metadata.get("language", "en"))
        #: Whether the decision path also scores a comment sentence by sentence (model.json
        #: `decision.sentences`, chosen on validation at training; English's always did).
        self.sentence_scoring = bool(metadata.get("decision", {}).get("sentences", True))
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
        if compiled is None:
            compiled = artifact.compile_pipeline(pipeline)
        self._install(compiled)

    @property
    def pipeline(self):
        """The fitted scikit-learn pipeline (loaded on first use when served from serving.npz)."""
        if self._pipeline is None:
            self._pipeline = _unpickle(self._model_file)
        return self._pipeline

    @classmethod
    def load(cls, path: str | Path) -> Classifier:
        """Load models/NAME; refuses a model made by another scikit-learn version.

        Uses serving.npz when it was compiled from this very model.joblib (its sha256),
        otherwise unpickles model.joblib and compiles it.
        """
        from importlib.metadata import version

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
        installed = version("scikit-learn")
        if trained_with != installed:
            raise ModelLoadError(
                f"model {path} was trained with scikit-learn {trained_with}, this is "
                f"{installed}: {_RETRAIN}"
            )
        try:
            digest = artifact.file_sha256(model_path)
        except OSError as exc:
            raise ModelLoadError(f"cannot read {model_path}: {exc}") from None
        compiled = artifact.load(path, digest)
        if compiled is not None:
            try:
                return cls(None, metadata, compiled=compiled, model_file=model_path)
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                # A damaged artifact costs time, never a wrong score: compile the pickle.
                log.warning("%s: serving.npz unusable (%s); compiling model.joblib", path, exc)
        log.info("%s has no serving.npz for this model.joblib; compiling it", path)
        return cls(_unpickle(model_path), metadata)

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories this model scores, in policy order (a language's may be fewer)."""
        return self._names

    def label(self) -> str:
        """`name@version`, recorded with every decision."""
        return f"{self.name}@{self.version}"

    def _install(self, compiled: dict) -> None:
        """Set up the fast path from compiled state (artifact.compile_pipeline or serving.npz)."""
        settings, arrays = compiled["settings"], compiled["arrays"]
        idf = arrays["idf"]
        coef = arrays["coef"]
        calibration = arrays["calibration"]
        self._names = tuple(settings["names"])
        self._token_re, self._batch_re = artifact.token_patterns(settings["token_pattern"])
        self._lowercase = bool(settings["lowercase"])
        self._ngrams = tuple(settings["ngrams"])
        self._sublinear = bool(settings["sublinear"])
        self._idf = idf
        self._coef_t = np.ascontiguousarray(coef[:, : len(idf)].T)
        self._weighted = np.ascontiguousarray(self._coef_t * idf[:, None])
        self._intercept = arrays["intercept"]
        self._slope = calibration[:, 0]
        self._slope_list = self._slope.tolist()
        self._offset = calibration[:, 1]
        self._index = {name: i for i, name in enumerate(self._names)}
        self._toxicity = self._index[str(Category.TOXICITY)]
        words = artifact.split_terms(arrays["words"])
        self._unknown_id = len(words)
        self._separator_id = len(words) + 1
        self._words = dict(zip(words, range(len(words)), strict=True))
        self._words[_SEPARATOR] = self._separator_id
        self._unigram = arrays["unigram"]
        self._unigram_list: list[int] = self._unigram.tolist()
        self._width = len(words) + 1
        self._bigram_keys = arrays["bigram_keys"]
        self._bigram_features = arrays["bigram_features"]
        self._chars = bool(settings["chars"])
        if self._chars:
            char_idf = arrays["char_idf"]
            self._char_ngrams = tuple(settings["char_ngrams"])
            char_terms = artifact.split_terms(arrays["char_terms"])
            self._char_vocab = dict(zip(char_terms, range(len(char_terms)), strict=True))
            self._char_lowercase = bool(settings["char_lowercase"])
            self._char_sublinear = bool(settings["char_sublinear"])
            self._char_idf = char_idf
            self._char_coef_t = np.ascontiguousarray(coef[:, len(idf) :].T)
            self._char_weighted = np.ascontiguousarray(self._char_coef_t * char_idf[:, None])
            self._gram_cache: dict[str, np.ndarray] = {}
            self._token_counts: dict[str, int] = {}
        #: Whether explain_scored may reuse the scoring pass's features (see features.py).
        self._reusable = features.word_local(settings["token_pattern"]) and (
            not self._chars or self._lowercase == self._char_lowercase
        )
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

    def _chunk_tokens(self, word: str) -> int:
        """How many tokens the word block finds in one whitespace word (cached)."""
        count = self._token_counts.get(word)
        if count is None:
            count = len(self._token_re.findall(word))
            if len(self._token_counts) >= _GRAM_CACHE_SIZE:
                self._token_counts.clear()
            self._token_counts[word] = count
        return count

    def _char_words(self, text: str) -> list[str]:
        """The whitespace-separated words the char_wb analyzer sees in `text`."""
        if self._char_lowercase:
            text = text.lower()
        # scikit-learn collapses runs of \s into one space first; str.split() already splits
        # on runs of the same characters (re's \s is str.isspace), so the words are the same.
        return text.split()

    def _features(self, text: str) -> dict[int, int]:
        """Vocabulary index -> count, exactly as the fitted vectoriser counts.

        Unigrams first, then bigrams, each in text order (score_one adds them in feature order).
        """
        if self._lowercase:
            text = text.lower()
        get, unknown = self._words.get, self._unknown_id
        ids = [get(t, unknown) for t in self._token_re.findall(text)]
        lo, hi = self._ngrams
        counts: dict[int, int] = {}
        if lo == 1:
            unigram = self._unigram_list
            for i in ids:
                feature = unigram[i]
                if feature >= 0:
                    counts[feature] = counts.get(feature, 0) + 1
        if hi == 2 and len(ids) > 1 and len(self._bigram_keys):
            width = self._width
            keys = [
                a * width + b
                for a, b in zip(ids, ids[1:], strict=False)
                if a != unknown and b != unknown
            ]
            if keys:
                table = self._bigram_keys
                pos = table.searchsorted(keys)
                # A key past the last one is looked for at the last, where it isn't.
                np.minimum(pos, len(table) - 1, out=pos)
                at = table.take(pos).tolist()
                features_at = self._bigram_features.take(pos).tolist()
                for key, found, feature in zip(keys, at, features_at, strict=True):
                    if key == found:
                        counts[feature] = counts.get(feature, 0) + 1
        return counts

    def _probabilities(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(z * self._slope + self._offset)))

    def score_one(self, text: str) -> dict[str, float]:
        """Scores for one ALREADY normalised text: {category: probability}.

        The same bits as scoring it in a batch (`score`): each block adds its features in
        feature order (features.block_one).
        """
        counts = self._features(text)
        z = self._intercept
        if counts:
            n = len(counts)
            ids = sorted(counts)
            idx = np.fromiter(ids, dtype=np.intp, count=n)
            tf = None
            if max(counts.values()) > 1:
                tf = np.fromiter(map(counts.__getitem__, ids), dtype=np.int64, count=n)
            z = features.block_one(idx, tf, self._idf, self._weighted, self._sublinear) + z
        if self._chars:
            grams = [self._word_grams(word) for word in self._char_words(text)]
            if grams:
                ids = np.concatenate(grams)
                if len(ids):
                    ids.sort()
                    idx, tf = features.count_sorted(ids)
                    z = z + features.block_one(
                        idx, tf, self._char_idf, self._char_weighted, self._char_sublinear
                    )
        return dict(zip(self._names, self._probabilities(z).tolist(), strict=True))

    def score_few(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """score_one for a few ALREADY normalised texts (a comment and its sentences).

        Each text's features are counted as score_one counts them; each block is then weighed,
        normed and summed for all the texts in one pass by features.counted_scores, the
        arithmetic of score()'s own block_scores, so the scores are score_one's and score()'s
        to the last bit, for a third of score_one's numpy calls per text.
        """
        n = len(texts)
        if n == 1:
            return [self.score_one(texts[0])]
        findall, get, unknown = self._token_re.findall, self._words.get, self._unknown_id
        tokens: list[str] = []
        lengths: list[int] = []
        for text in texts:
            these = findall(text.lower() if self._lowercase else text)
            tokens += these
            lengths.append(len(these))
        z = self._intercept
        if tokens:
            ids = np.fromiter(map(get, tokens, repeat(unknown)), dtype=np.int64, count=len(tokens))
            rows, found = features.word_block(self, ids, np.repeat(np.arange(n), lengths))
            if len(found):
                width = len(self._idf)
                row, feature, tf = _count_pairs(rows * width + found, width)
                block = features.counted_scores(
                    row, feature, tf, n, self._weighted, self._idf, self._sublinear
                )
                z = block + z
        if z.ndim == 1:
            z = np.broadcast_to(z, (n, len(z)))
        if self._chars:
            grams: list[np.ndarray] = []
            sizes: list[int] = []
            for text in texts:
                these = [self._word_grams(word) for word in self._char_words(text)]
                grams += these
                sizes.append(sum(map(len, these)))
            if sum(sizes):
                width = len(self._char_idf)
                keys = np.concatenate(grams)
                keys += np.repeat(np.arange(n, dtype=np.int64) * width, sizes)
                row, feature, tf = _count_pairs(keys, width)
                z = z + features.counted_scores(
                    row, feature, tf, n, self._char_weighted, self._char_idf, self._char_sublinear
                )
        names = self._names
        return [dict(zip(names, p, strict=True)) for p in self._probabilities(z).tolist()]

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Scores for ALREADY normalised texts, one dict per text, every category."""
        return self.score_batch(texts)[0]

    def score_batch(
        self, texts: Sequence[str]
    ) -> tuple[list[dict[str, float]], features.Features | None]:
        """score(), and the features it counted, for `explain_scored` (None for no texts)."""
        if isinstance(texts, str):
            raise TypeError("score() takes a sequence of texts; use score_one() for one")
        if not len(texts):
            return [], None
        found, row = features.extract(self, texts)
        z = features.logits(self, found, row)
        names = self._names
        scores = [dict(zip(names, p, strict=True)) for p in self._probabilities(z).tolist()]
        return scores, found

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

    def explain_scored(
        self,
        scored: features.Features,
        requests: Sequence[tuple[int, str, Category]],
        top: int = 5,
    ) -> list[tuple[list[str], list[tuple[int, int]]] | None]:
        """explain_many() for texts just scored by score_batch, from the features it counted.

        Each request is (row of `scored`, the original text that row normalises, category);
        the row must be exactly `normalise(original, language)`. The answer equals
        explain_many's; None for every request when the features can't be reused (a token
        pattern whose tokens may span whitespace words), so the caller asks explain_many.
        """
        if not self._reusable:
            return [None] * len(requests)
        indices = []
        for _, _, category in requests:
            try:
                indices.append(self._index[str(category)])
            except KeyError:
                raise ValueError(f"unknown category {category!r}") from None
        rows = list(dict.fromkeys((r, original) for r, original, _ in requests))
        analyses = dict(zip(rows, explanations.analyse_scored(self, scored, rows), strict=True))
        return [
            explanations.select(self, analyses[(r, original)], j, top)
            for (r, original, _), j in zip(requests, indices, strict=True)
        ]


def _count_pairs(keys: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text, feature, count) of each distinct `text * width + feature` key, in key order."""
    keys.sort()
    unique, counts = features.count_sorted(keys)
    if counts is None:
        counts = np.ones(len(unique), dtype=np.int64)
    row, feature = np.divmod(unique, width)
    return row, feature, counts


def _unpickle(model_path: Path):
    """joblib.load, with a scikit-learn version mismatch or any failure as ModelLoadError."""
    import joblib
    from sklearn.exceptions import InconsistentVersionWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            return joblib.load(model_path)
    except InconsistentVersionWarning as exc:
        raise ModelLoadError(
            f"model {model_path.parent} was pickled by scikit-learn "
            f"{exc.original_sklearn_version}, this is {exc.current_sklearn_version}: {_RETRAIN}"
        ) from None
    except Exception as exc:  # unpickling can fail in many ways; all mean "corrupt"
        raise ModelLoadError(f"cannot load {model_path}: {type(exc).__name__}: {exc}") from None
