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
from pathlib import Path

import numpy as np

from moderator.classifier import artifact
from moderator.classifier import explain as explanations
from moderator.classifier import features
from moderator.classifier.artifact import SEPARATOR as _SEPARATOR
from moderator.classifier.artifact import ModelLoadError
from moderator.classifier.compiled import plain_tokens
from moderator.classifier.counting import Counting
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

log = logging.getLogger(__name__)

_RETRAIN = "retrain it with `python -m training train --data-dir PATH --out DIR`"


class Classifier(Counting):
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
        self._plain_tokens = plain_tokens(self._token_re)
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
