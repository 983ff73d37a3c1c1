"""Routing by language: a comment in German, Portuguese or Turkish is decided by that model.

The English model (MODERATOR_MODEL_PATH) stays the process's main engine. The other models
are found at start-up by reading each `model.json` under MODERATOR_LANGUAGE_MODELS (by
default the folder that holds the English model, i.e. the shipped models/de, models/pt,
models/tr), and each is loaded the first time a comment in its language arrives, so a
worker that never sees Turkish never holds the Turkish model.

A language model decides with its own thresholds (a site's overrides apply to the
categories it scores; the others it does not score at all) and with the site's own word
lists only: the default list is English and would misfire on other languages' words.
A model that fails to load is logged once and its language is then treated as unsupported
(held for a person by default), never scored by the English model.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from moderator.classifier import METADATA_FILE

if TYPE_CHECKING:
    from moderator.service import Moderation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LanguageModel:
    """A model found on disk, before it is loaded: what model.json says about it."""

    language: str
    path: Path
    categories: tuple[str, ...]
    label: str


def discover(root: Path | None, main: Path | None = None) -> dict[str, LanguageModel]:
    """Every `root/*/model.json` of a language other than English (the first per language,
    by folder name); `main` (the English model's folder) is skipped. Unreadable files are
    logged and skipped."""
    found: dict[str, LanguageModel] = {}
    if root is None or not root.is_dir():
        return found
    main_resolved = main.resolve() if main is not None else None
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        meta_path = folder / METADATA_FILE
        if not meta_path.is_file() or folder.resolve() == main_resolved:
            continue
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            language = str(meta.get("language", "en"))
            categories = tuple(str(c) for c in meta["thresholds"])
            label = f"{meta['name']}@{meta['version']}"
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            log.error("skipping language model %s: %s", folder, error)
            continue
        if language == "en" or language in found:
            continue
        found[language] = LanguageModel(language, folder, categories, label)
    return found


class LanguageModels:
    """The non-English models a process may route to, each loaded on first use."""

    def __init__(self, models: Mapping[str, LanguageModel]) -> None:
        self.models = dict(models)
        self._engines: dict[str, Moderation | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_folder(cls, root: Path | None, main: Path | None = None) -> LanguageModels:
        return cls(discover(root, main))

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages with a model, sorted."""
        return tuple(sorted(self.models))

    def categories(self, language: str) -> tuple[str, ...] | None:
        """The categories `language`'s model scores; None without a model."""
        model = self.models.get(language)
        return model.categories if model is not None else None

    def loaded(self) -> tuple[str, ...]:
        """The languages whose model is in memory (for /readyz and the speed bench)."""
        return tuple(sorted(lang for lang, e in self._engines.items() if e is not None))

    def engine(self, language: str) -> Moderation | None:
        """`language`'s decision engine, loaded once; None without a (loadable) model."""
        if language in self._engines:
            return self._engines[language]
        model = self.models.get(language)
        if model is None:
            return None
        with self._lock:
            if language not in self._engines:
                self._engines[language] = _load(model)
        return self._engines[language]


def _load(model: LanguageModel) -> Moderation | None:
    from moderator.classifier import Classifier
    from moderator.classifier import ModelLoadError
    from moderator.service import Moderation

    try:
        classifier = Classifier.load(model.path)
    except ModelLoadError as error:
        log.error(
            "%s comments held: the %s model did not load: %s", model.language, model.language, error
        )
        return None
    log.info("loaded the %s model %s", model.language, classifier.label())
    return Moderation(classifier, languages=(model.language,), default_words=False)
