"""Labelled data by path -> examples with one label per category (NaN = unlabelled).

`mapping.py` is the ONE place where each dataset's labels are mapped onto the policy
categories (`LABEL_MAPPING` documents it in words and is copied into model.json and the model
card); `sources.py` reads each shared dataset, `templates.py` our own sentences and the
counterfactual copies, `extra.py` moderators' decisions. This module puts them together:
`load_all`, de-duplication against every held-out text, the validation split and the
per-row training weights.

A dataset that says nothing about a category leaves it NaN: unlabelled, never negative.
So a Davidson "offensive" tweet does not teach the threat model that it is harmless.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path

from moderator.text import normalise
from training.datasets.base import NAN
from training.datasets.base import NO_VALIDATION
from training.datasets.base import SPANS
from training.datasets.base import TEST
from training.datasets.base import TRAIN
from training.datasets.base import DataError
from training.datasets.base import Example
from training.datasets.base import stratified_pick
from training.datasets.extra import load_extra
from training.datasets.mapping import LABEL_MAPPING
from training.datasets.mapping import convabuse_labels
from training.datasets.mapping import davidson_labels
from training.datasets.mapping import edos_labels
from training.datasets.mapping import fox_labels
from training.datasets.mapping import ghc_labels
from training.datasets.mapping import hasoc_labels
from training.datasets.mapping import mlma_labels
from training.datasets.mapping import olid_labels
from training.datasets.mapping import toxic_spans_labels
from training.datasets.mapping import typed_labels
from training.datasets.multilingual import LANGUAGE_LOADERS
from training.datasets.multilingual import MULTILINGUAL_FILES
from training.datasets.multilingual import MULTILINGUAL_MAPPING
from training.datasets.sources import DAVIDSON_SPLIT_SEED
from training.datasets.sources import DAVIDSON_TEST_SHARE
from training.datasets.sources import load_convabuse
from training.datasets.sources import load_davidson
from training.datasets.sources import load_edos
from training.datasets.sources import load_fox_news
from training.datasets.sources import load_ghc
from training.datasets.sources import load_hasoc
from training.datasets.sources import load_mlma
from training.datasets.sources import load_olid
from training.datasets.sources import load_toxic_spans
from training.datasets.sources import load_toxic_spans_types
from training.datasets.sources import span_text
from training.datasets.templates import TEMPLATE_DIR
from training.datasets.templates import counterfactuals
from training.datasets.templates import identity_terms
from training.datasets.templates import load_attack_templates
from training.datasets.templates import load_counter_templates
from training.datasets.templates import load_innocent_words
from training.datasets.templates import load_templates
from training.datasets.templates import load_threat_templates
from training.datasets.weights import COUNTED
from training.datasets.weights import MAX_TEMPLATE_WEIGHT
from training.datasets.weights import SNIPPET_WEIGHT
from training.datasets.weights import SOURCE_WEIGHTS
from training.datasets.weights import sample_weights

__all__ = [
    "DAVIDSON_SPLIT_SEED",
    "DAVIDSON_TEST_SHARE",
    "LABEL_MAPPING",
    "LANGUAGES",
    "LOADERS",
    "MAX_TEMPLATE_WEIGHT",
    "MULTILINGUAL_MAPPING",
    "NAN",
    "NO_VALIDATION",
    "SNIPPET_WEIGHT",
    "SOURCE_WEIGHTS",
    "SPANS",
    "TEMPLATE_DIR",
    "TEST",
    "TRAIN",
    "DataError",
    "Example",
    "check_data_dir",
    "convabuse_labels",
    "counterfactuals",
    "davidson_labels",
    "deduplicate",
    "edos_labels",
    "file_hashes",
    "fox_labels",
    "ghc_labels",
    "hasoc_labels",
    "identity_terms",
    "load_all",
    "load_attack_templates",
    "load_convabuse",
    "load_counter_templates",
    "load_davidson",
    "load_edos",
    "load_extra",
    "load_fox_news",
    "load_ghc",
    "load_hasoc",
    "load_innocent_words",
    "load_language",
    "load_mlma",
    "load_olid",
    "load_templates",
    "load_threat_templates",
    "load_toxic_spans",
    "load_toxic_spans_types",
    "mlma_labels",
    "normalise",
    "olid_labels",
    "sample_weights",
    "span_text",
    "toxic_spans_labels",
    "typed_labels",
    "validation_split",
]

#: Official tests with known repeats and train overlap (see their PROVENANCE.md).
DEDUPLICATED_TESTS = frozenset({"hasoc2019", "gab"})

#: Every file the shared loaders read, relative to the data directory.
DATA_FILES: dict[str, tuple[str, ...]] = {
    "olid": ("olid/olid_train.csv", "olid/olid_test.csv"),
    "davidson": ("davidson/labeled_data.csv",),
    "hasoc2019": ("hasoc2019/english_dataset.tsv", "hasoc2019/hasoc2019_en_test-2919.tsv"),
    "gab_hate_corpus": ("gab_hate_corpus/ghc_train.tsv", "gab_hate_corpus/ghc_test.tsv"),
    "edos": ("edos/edos_labelled_aggregated.csv",),
    "toxic_spans": ("toxic_spans/tsd_train.csv", "toxic_spans/tsd_trial.csv"),
    "toxic_spans_types": (
        "toxic_spans/subtypes/ts_comments.csv",
        "toxic_spans/subtypes/ts_annotations.csv",
        "toxic_spans/subtypes/ts_spans.csv",
    ),
    "fox_news": ("fox_news_comments/fox-news-comments.json",),
    "mlma": ("mlma/en_dataset_with_stop_words.csv",),
    "convabuse": (
        "convabuse/ConvAbuseEMNLPtrain.csv",
        "convabuse/ConvAbuseEMNLPvalid.csv",
        "convabuse/ConvAbuseEMNLPtest.csv",
    ),
}

LOADERS = {
    "olid": load_olid,
    "davidson": load_davidson,
    "hasoc2019": load_hasoc,
    "gab_hate_corpus": load_ghc,
    "edos": load_edos,
    "toxic_spans": load_toxic_spans,
    "toxic_spans_types": load_toxic_spans_types,
    "fox_news": load_fox_news,
    "mlma": load_mlma,
    "convabuse": load_convabuse,
}

#: The languages a model can be trained for; English is the shipped default.
LANGUAGES = ("en", *LANGUAGE_LOADERS)


def load_language(
    data_dir: Path, language: str, extras: Sequence[Path] = (), log=None, seed: int = 0
) -> list[Example]:
    """load_all for English; another language's datasets (and extra CSVs), de-duplicated."""
    if language == "en":
        return load_all(data_dir, extras, log=log, seed=seed)
    if language not in LANGUAGE_LOADERS:
        raise DataError(f"no training data for language {language!r} (one of {LANGUAGES})")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} does not exist")
    missing = [f for f in MULTILINGUAL_FILES[language] if not (data_dir / f).is_file()]
    if missing:
        raise DataError(f"data directory {data_dir} lacks {', '.join(missing)}")
    examples: list[Example] = []
    for loader in LANGUAGE_LOADERS[language]:
        loaded = loader(data_dir)
        if log:
            log(f"loaded {loader.__name__.removeprefix('load_')}: {len(loaded)} rows")
        examples.extend(loaded)
    for path in extras:
        loaded = load_extra(path)
        if log:
            log(f"loaded extra {path}: {len(loaded)} rows")
        examples.extend(loaded)
    return deduplicate(examples, language)


def check_data_dir(data_dir: Path) -> None:
    """Fail with one clear message if the directory or any expected file is missing."""
    if not data_dir.exists():
        raise DataError(f"data directory {data_dir} does not exist")
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} is not a directory")
    missing = [f for files in DATA_FILES.values() for f in files if not (data_dir / f).is_file()]
    if missing:
        raise DataError(f"data directory {data_dir} lacks {', '.join(missing)}")


def load_all(data_dir: Path, extras: Sequence[Path] = (), log=None, seed: int = 0) -> list[Example]:
    """Every shared dataset, our sentences, extra CSVs and counterfactual copies, de-duplicated
    so that no held-out text is trained on.

    Within a training split, repeated (normalised) texts keep their first row. HASOC's and
    GHC's official tests are de-duplicated and lose the texts that also occur in their
    training files; OLID's and EDOS's official tests stay complete. Any training text equal
    to a held-out text (of any dataset) is dropped from training instead. Counterfactual
    copies come last; each names its original's index (`meta["counterfactual_of"]`), so a
    copy of a validation row can be left out of training.
    """
    data_dir = Path(data_dir)
    check_data_dir(data_dir)
    examples: list[Example] = []
    for name, loader in LOADERS.items():
        loaded = loader(data_dir)
        if log:
            log(f"loaded {name}: {len(loaded)} rows")
        examples.extend(loaded)
    loaded = load_templates()
    if log:
        log(f"generated {len(loaded)} neutral template sentences")
    examples.extend(loaded)
    examples.extend(load_threat_templates())
    examples.extend(load_attack_templates())
    examples.extend(load_counter_templates())
    examples.extend(load_innocent_words())
    for path in extras:
        loaded = load_extra(path)
        if log:
            log(f"loaded extra {path}: {len(loaded)} rows")
        examples.extend(loaded)
    examples = deduplicate(examples)
    copies = counterfactuals(examples, seed=seed)
    if log:
        log(f"made {len(copies)} counterfactual copies of rows that name a group")
    # The originals are already unique, so this pass keeps them all, in place.
    return deduplicate(examples + copies)


def deduplicate(examples: list[Example], language: str = "en") -> list[Example]:
    """Drop repeats and any overlap between training and held-out rows (see load_all)."""
    keys = [normalise(e.text, language).strip() for e in examples]
    train_by_source: dict[str, set[str]] = {}
    for e, k in zip(examples, keys, strict=True):
        if e.split == TRAIN:
            train_by_source.setdefault(e.source, set()).add(k)
    seen: set[tuple[str, str, str]] = set()
    kept: list[tuple[Example, str]] = []
    for e, k in zip(examples, keys, strict=True):
        if e.split == TEST and e.source in DEDUPLICATED_TESTS:
            if (e.source, k) in seen or k in train_by_source.get(e.source, ()):
                continue
            seen.add((e.source, k))
        kept.append((e, k))
    held = {k for e, k in kept if e.split != TRAIN}
    out = []
    first: dict[tuple[str, str], Example] = {}
    for e, k in kept:
        if e.split == TRAIN:
            if k in held and e.source != "extra":
                continue
            if (e.source, k) in seen:
                # A snippet said again by other raters of other posts: count it, don't drop it.
                if e.source in COUNTED and (e.source, k) in first:
                    kept_one = first[(e.source, k)]
                    kept_one.meta["repeats"] = kept_one.meta.get("repeats", 1) + 1
                continue
            seen.add((e.source, k))
            first[(e.source, k)] = e
        out.append(e)
    return out


def validation_split(examples: Sequence[Example], share: float, seed: int) -> set[int]:
    """Seeded validation rows carved from TRAINING examples, stratified by source and toxicity.

    toxic_spans snippets never go to validation: they are positives only, and thresholds
    chosen on them would be too low for whole comments.
    """
    groups = [
        (e.source, "nan" if math.isnan(e.labels[0]) else e.labels[0])
        if e.split == TRAIN and e.source not in NO_VALIDATION
        else None
        for e in examples
    ]
    picked = stratified_pick(groups, share, seed)
    return {i for i in picked if groups[i] is not None}


def file_hashes(
    data_dir: Path, extras: Sequence[Path] = (), language: str = "en"
) -> dict[str, str]:
    """sha256 of every file read, keyed by its path relative to the data dir (extras by name)."""
    hashes = {}
    if language != "en":
        for f in MULTILINGUAL_FILES[language]:
            hashes[f] = _sha256(Path(data_dir) / f)
        for path in extras:
            hashes[f"extra/{Path(path).name}"] = _sha256(Path(path))
        return hashes
    for files in DATA_FILES.values():
        for f in files:
            hashes[f] = _sha256(Path(data_dir) / f)
    for name in (
        "neutral_templates.txt",
        "identity_terms.txt",
        "threat_templates.txt",
        "attack_templates.txt",
        "counter_templates.txt",
        "innocent_words.txt",
    ):
        hashes[f"training/data/{name}"] = _sha256(TEMPLATE_DIR / name)
    for path in extras:
        hashes[f"extra/{Path(path).name}"] = _sha256(Path(path))
    return hashes


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
