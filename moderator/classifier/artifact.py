"""The compiled form of a model, and the serving artifact that stores it beside model.joblib.

Scoring never runs the scikit-learn pipeline: `compile_pipeline` turns its vocabularies, idf,
coefficients and Platt calibration into plain arrays and word tables once (see model.py).
Unpickling model.joblib and compiling it take seconds, so training also writes the compiled
arrays to `serving.npz` (numpy arrays only, read without pickle), with the sha256 of the
model.joblib they came from. `Classifier.load` uses serving.npz when that checksum and the
format number match, and otherwise falls back to model.joblib, so a stale or foreign
artifact can only cost time, never change a score. `python -m training compile DIR` writes
it for a model trained before it existed (the model itself is not touched).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from moderator.policy import CATEGORIES
from moderator.policy import Category

SERVING_FILE = "serving.npz"
#: Bumped whenever the compiled layout or its meaning changes: older artifacts are ignored.
FORMAT = 1

#: Joins a batch for one regex pass; a private-use character, which normalise() removes.
SEPARATOR = "\ue000"
#: Joins a vocabulary's terms into one string in the artifact; no term contains it.
_TERM_SEPARATOR = "\n"


class ModelLoadError(Exception):
    """The model directory is missing, corrupt, or was made by another scikit-learn."""


def compile_pipeline(pipeline) -> dict:
    """The compiled state of a fitted Moderator pipeline: JSON-able settings and arrays.

    Raises ModelLoadError for a pipeline whose options the fast path does not reproduce.
    """
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
    ngrams = tuple(int(n) for n in vectoriser.ngram_range)
    if not 1 <= ngrams[0] <= ngrams[1] <= 2:
        raise ModelLoadError(f"the fast path scores 1- and 2-grams, not {ngrams}")
    # Serve in the policy's category order, whatever order the model keeps.
    # A language's model may score fewer categories (those its data labels).
    order = [classes.index(str(c)) for c in CATEGORIES if str(c) in classes]
    settings = {
        "names": [str(c) for c in CATEGORIES if str(c) in classes],
        "token_pattern": vectoriser.token_pattern,
        "lowercase": bool(vectoriser.lowercase),
        "ngrams": list(ngrams),
        "sublinear": bool(vectoriser.sublinear_tf),
        "chars": chars is not None,
    }
    arrays = {
        "idf": idf,
        "coef": np.ascontiguousarray(coef[order]),
        "intercept": intercept[order],
        "calibration": calibration[order],
        **_word_tables(vocabulary),
    }
    if chars is not None:
        settings |= {
            "char_ngrams": [int(n) for n in chars.ngram_range],
            "char_lowercase": bool(chars.lowercase),
            "char_sublinear": bool(chars.sublinear_tf),
        }
        arrays["char_idf"] = char_idf
        arrays["char_terms"] = _terms(chars.vocabulary_)
    return {"settings": settings, "arrays": arrays}


def _word_tables(vocabulary: dict[str, int]) -> dict[str, np.ndarray]:
    """The word vocabulary as word ids: unigram features per word, sorted bigram keys.

    Batch scoring then costs one regex and one dict lookup per token in Python; the n-gram
    lookups, counting and the product with the coefficients run in numpy. Word id
    len(words) is "unknown", len(words) + 1 the batch separator.
    """
    words: dict[str, int] = {}
    unigrams, bigrams = [], []
    for term, feature in vocabulary.items():
        parts = term.split(" ")
        ids = [words.setdefault(p, len(words)) for p in parts]
        (unigrams if len(ids) == 1 else bigrams).append((ids, feature))
    unigram = np.full(len(words) + 2, -1, dtype=np.int64)
    for (w,), feature in unigrams:
        unigram[w] = feature
    width = len(words) + 1
    keys = np.array([a * width + b for (a, b), _ in bigrams], dtype=np.int64)
    features = np.array([f for _, f in bigrams], dtype=np.int64)
    order = np.argsort(keys)
    return {
        "words": _joined(list(words)),
        "unigram": unigram,
        "bigram_keys": keys[order],
        "bigram_features": features[order],
    }


def _terms(vocabulary: dict[str, int]) -> np.ndarray:
    """The terms in feature order (term i is feature i), joined."""
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    if [vocabulary[t] for t in terms] != list(range(len(terms))):
        raise ModelLoadError("a vocabulary's feature indices are not 0..n-1")
    return _joined(terms)


def _joined(terms: list[str]) -> np.ndarray:
    """Strings as one UTF-8 byte array (a fixed-width unicode array would be ~10x larger)."""
    if any(_TERM_SEPARATOR in t for t in terms):
        raise ModelLoadError("a vocabulary term contains a line break")
    return np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)


def split_terms(array: np.ndarray) -> list[str]:
    """The inverse of _joined."""
    if not len(array):
        return []
    return array.tobytes().decode("utf-8").split(_TERM_SEPARATOR)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(directory: Path, compiled: dict, model_sha256: str) -> Path:
    """Write `directory`/serving.npz, tied to the model.joblib whose sha256 is given.

    An .npz numpy reads without pickle; an array is deflated only where that saves a quarter
    of its size (the coefficients barely compress, and inflating them would cost load time).
    """
    header = {"format": FORMAT, "model_sha256": model_sha256, "settings": compiled["settings"]}
    arrays = {
        "header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
        **compiled["arrays"],
    }
    path = Path(directory) / SERVING_FILE
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            raw = buffer.getvalue()
            packed = zlib.compress(raw, 6)
            method = zipfile.ZIP_DEFLATED if len(packed) < 0.75 * len(raw) else zipfile.ZIP_STORED
            # A fixed date keeps the file byte-identical when rebuilt from the same model.
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            archive.writestr(info, raw)
    tmp.replace(path)
    return path


def load(directory: Path, model_sha256: str) -> dict | None:
    """The compiled state in `directory`/serving.npz, or None when it is absent, unreadable,
    of another format, or made from another model.joblib than the one with `model_sha256`."""
    path = Path(directory) / SERVING_FILE
    if not path.is_file():
        return None
    try:
        # Our own file object: np.load leaks its own when the zip is damaged.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode("utf-8"))
            if header.get("format") != FORMAT or header.get("model_sha256") != model_sha256:
                return None
            arrays = {name: npz[name] for name in npz.files if name != "header"}
    except (OSError, EOFError, ValueError, KeyError, AttributeError, zipfile.BadZipFile):
        return None
    return {"settings": header["settings"], "arrays": arrays}


def token_patterns(token_pattern: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The vectoriser's token regex, and the same with the batch separator as a token."""
    token_re = re.compile(token_pattern)
    body = re.sub(r"^\(\?[aiLmsux]+\)", "", token_re.pattern)
    return token_re, re.compile(f"(?:{body})|{SEPARATOR}", token_re.flags)
