"""Which model a worker serves, and the swap to a newly promoted one without dropping a request.

`moderator models promote` writes a row to `model_promotions`. Every worker of every
instance polls the newest row's id at most once a second (one indexed lookup, made by the
first request after the second has passed); when it changes, the promoted model is loaded in
a background thread while the old one keeps deciding, and the engine is swapped in one
reference assignment, so no request waits for the load or sees half a model. A model that
fails to load (missing, corrupt, another scikit-learn, or a model.joblib that is not the
file that was promoted) leaves the old one serving; the failure is logged and /readyz
reports it until a later promotion loads.

Site layers (a site's own layer over the shared model, moderator/sitelayer.py) ride on the
same poll: each worker applies a site's newest layer fitted on the model it serves.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from moderator.service import Moderation

log = logging.getLogger(__name__)

#: Seconds between two looks at the promotions table in one worker.
POLL_SECONDS = 1.0


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_digest(path: Path) -> str:
    """A model directory's identity: sha256 over model.joblib's and model.json's sha256, so
    a changed threshold in model.json is a different model too. OSError if either is missing."""
    from moderator.classifier import METADATA_FILE
    from moderator.classifier import MODEL_FILE

    path = Path(path)
    parts = (file_sha256(path / MODEL_FILE), file_sha256(path / METADATA_FILE))
    return hashlib.sha256(" ".join(parts).encode("ascii")).hexdigest()


class ServingModel:
    """The decision engine one worker serves, replaced when a new model is promoted."""

    def __init__(
        self,
        engine: Engine | None,
        moderation: Moderation,
        model_path: Path | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._engine = engine
        self._moderation = moderation
        #: The folder the serving model came from, and its digest once computed.
        self._path = model_path
        self._digest: str | None = None
        #: Each site's newest layer promotion, as last read.
        self._layers: dict = {}
        self.poll_seconds = poll_seconds
        self._checked = float("-inf")
        self._seen: int | None = None
        self._poll_lock = threading.Lock()
        self._loading: threading.Thread | None = None
        #: The last failed load: {"model", "path", "error", "promotion"}; None after a success.
        self.error: dict | None = None

    @property
    def moderation(self) -> Moderation:
        """The current engine; looks for a new promotion first when a second has passed."""
        if self._engine is not None and time.monotonic() - self._checked >= self.poll_seconds:
            self.poll()
        return self._moderation

    @property
    def current(self) -> Moderation:
        """The current engine, without polling."""
        return self._moderation

    def poll(self) -> None:
        """Look at the newest promotion; start loading it when it is not what serves, and
        give each site its newest layer fitted on the serving model."""
        if not self._poll_lock.acquire(blocking=False):
            return  # another thread of this worker is looking right now
        try:
            self._checked = time.monotonic()
            found = self._newest()
            if found is None:
                return
            newest, shared, layers = found
            if newest == self._seen:
                return
            self._seen = newest
            self._layers = layers
            if shared is None or shared.sha256 == self.digest():
                self._apply_layers(self._moderation, self.digest())
                if shared is not None:
                    self.error = None
                return
            loading = threading.Thread(
                target=self._load, args=(shared,), name="model-reload", daemon=True
            )
            loading.start()
            # Published once started: wait() may join it from another thread right away.
            self._loading = loading
        finally:
            self._poll_lock.release()

    def _apply_layers(self, moderation: Moderation, digest: str | None) -> None:
        """Set the layers fitted on the model with `digest`; a layer of another model is left
        out (its site is decided by the shared model until it is learnt again)."""
        from moderator.sitelayer import SiteLayer

        compiled = {}
        for site_id, promotion in self._layers.items():
            try:
                layer = SiteLayer.from_dict(site_id, promotion.label, promotion.layer or {})
            except ValueError as error:
                log.error("site %d's layer %s not used: %s", site_id, promotion.label, error)
                continue
            if layer.base == digest:
                compiled[site_id] = layer
        moderation.layers = compiled

    def digest(self) -> str | None:
        """The serving model's model_digest (None without one, or when unreadable)."""
        if self._digest is None and self._path is not None and self._moderation.classifier:
            try:
                self._digest = model_digest(self._path)
            except OSError:
                return None
        return self._digest

    def _newest(self):
        """(newest promotion id, the shared model's promotion, each site's newest layer), or
        None when the database can't say. One indexed lookup unless something changed."""
        from moderator import storage
        from moderator.storage import models

        try:
            with storage.reading(self._engine) as conn:
                newest = models.latest_id(conn)
                if newest == self._seen:
                    return newest, None, {}
                shared, layers = models.active_all(conn)
                return newest, shared, layers
        except Exception as error:  # the database may be down or not yet migrated
            log.debug("cannot read the promoted model: %s", error)
            return None

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a load in progress (tests and `moderator models promote --wait`)."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout)

    def _load(self, promotion) -> None:
        from moderator.classifier import Classifier
        from moderator.classifier import ModelLoadError
        from moderator.service import Moderation

        path = Path(promotion.path)
        try:
            try:
                found = model_digest(path)
            except OSError as error:
                raise ModelLoadError(f"cannot read the model at {path}: {error}") from None
            if found != promotion.sha256:
                raise ModelLoadError(
                    f"the model at {path} is not the one that was promoted: its files changed "
                    f"(digest {found[:12]}, promoted {promotion.sha256[:12]})"
                )
            classifier = Classifier.load(path)
            old = self._moderation
            if classifier.language != old.language:
                raise ModelLoadError(
                    f"it is a {classifier.language} model; this one serves {old.language}"
                )
        except ModelLoadError as error:
            self.error = {
                "model": promotion.label,
                "path": str(path),
                "promotion": promotion.id,
                "error": str(error),
            }
            log.error(
                "promoted model %s not loaded, %s keeps serving: %s",
                promotion.label,
                old_label(self._moderation),
                error,
            )
            return
        except Exception as error:  # never let a reload take the worker down
            self.error = {
                "model": promotion.label,
                "path": str(path),
                "promotion": promotion.id,
                "error": f"{type(error).__name__}: {error}",
            }
            log.exception("promoted model %s not loaded", promotion.label)
            return
        new = Moderation(
            classifier, identifier=old.identifier, others=old.others, languages=old.languages
        )
        self._apply_layers(new, promotion.sha256)
        self._moderation = new
        self._path, self._digest = path, promotion.sha256
        self.error = None
        if gc.get_freeze_count():
            # `moderator serve` froze the preloaded model out of the garbage collector's
            # sight (full collections would walk it); the new one gets the same, once.
            gc.collect()
            gc.freeze()
        log.info("now serving %s (promotion %d)", classifier.label(), promotion.id)


def old_label(moderation: Moderation) -> str:
    """The serving model's name@version, or "no model"."""
    return moderation.model_label or "no model"
