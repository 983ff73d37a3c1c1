"""Moderator: self-hosted comment moderation.

`create_app(config)` is the only place the web app is put together. It builds the
long-lived objects once (engine, classifier, word lists, rate limiter) and keeps them in
`app.extensions["moderator"]` as a `Services`; nothing is loaded at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy import Engine

    from moderator.config import Config
    from moderator.ratelimit import RateLimiter
    from moderator.service import Moderation
    from moderator.serving import ServingModel
    from moderator.sitecache import SiteCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What a request needs, built once per process by create_app."""

    config: Config
    engine: Engine
    serving: ServingModel
    limiter: RateLimiter
    #: Sites by API key hash, in memory (moderator.sitecache).
    sites: SiteCache

    @property
    def moderation(self) -> Moderation:
        """The decision engine of the model that serves now (see moderator.serving)."""
        return self.serving.moderation


class _SyncViews:
    """Flask's `app.ensure_sync`, remembered per function.

    Flask asks it of every hook, view and error handler on every request (about ten times
    for a moderation), and each time `inspect.iscoroutinefunction` unwraps the function
    again; the answer for a given function never changes. Bounded, as Flask also passes
    functions made on the fly (copy_current_request_context).
    """

    LIMIT = 1024

    def __init__(self, ensure_sync) -> None:
        self._ensure_sync = ensure_sync
        self._known: dict = {}

    def __call__(self, func):
        try:
            return self._known[func]
        except KeyError:
            pass
        except TypeError:  # unhashable
            return self._ensure_sync(func)
        found = self._ensure_sync(func)
        if len(self._known) >= self.LIMIT:
            self._known = {}
        self._known[func] = found
        return found


def create_app(config: Config | None = None) -> Flask:
    """Build the web app from `config` (default: `Config.from_env()`).

    The database is not migrated here (`moderator init-db` and `moderator serve` do that).
    A model that can't be loaded stops the app with `ModelLoadError`, unless
    `config.without_model` says to run without one: every comment is then held with reason
    `classifier_unavailable`, and /readyz says so.
    """
    from flask import Flask

    from moderator import accesslog
    from moderator import accounts
    from moderator import api
    from moderator import auth
    from moderator import coral
    from moderator import dashboard
    from moderator import language
    from moderator import metrics
    from moderator import openapi
    from moderator import perspective
    from moderator import ratelimit
    from moderator import storage
    from moderator.bodylimit import BodyLimit
    from moderator.classifier import Classifier
    from moderator.classifier import ModelLoadError
    from moderator.config import Config
    from moderator.errors import register_error_handlers
    from moderator.routing import LanguageModels
    from moderator.service import Moderation
    from moderator.serving import ServingModel
    from moderator.sitecache import SiteCache

    if config is None:
        config = Config.from_env()
    app = Flask(__name__, instance_path=str(config.instance_path.resolve()))
    app.config.update(
        SECRET_KEY=config.resolved_secret_key(),
        MAX_CONTENT_LENGTH=config.max_content_length,
    )

    app.wsgi_app = BodyLimit(app.wsgi_app, config.max_content_length)
    if config.proxy_count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = config.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)

    engine = storage.init_app(app, config.database_url, config.database_timeout)
    try:
        classifier = Classifier.load(config.model_path)
    except ModelLoadError as error:
        if not config.without_model:
            raise ModelLoadError(
                f"{error}; to run anyway, holding every comment for a person, set "
                "MODERATOR_WITHOUT_MODEL=true (moderator serve --without-model)"
            ) from None
        log.error("no model loaded, holding every comment for review: %s", error)
        classifier = None
    try:
        identifier = language.shared_identifier()
    except Exception:
        # Comments are still decided: each is then recorded without a language.
        log.exception("language identifier not loaded; languages will not be identified")
        identifier = None
    others = LanguageModels.from_folder(config.language_models_folder(), config.model_path)
    moderation = Moderation(classifier, identifier=identifier, others=others)

    app.ensure_sync = _SyncViews(app.ensure_sync)
    register_error_handlers(app)
    # Before the limiter, so requests it turns away are timed and counted too.
    accesslog.init_app(app)
    metrics.init_app(app)
    limiter = ratelimit.RateLimiter(
        config.rate_limit,
        config.rate_limit_storage_uri,
        config.rate_limit_on_storage_error,
        cpu_seconds_per_minute=config.key_cpu_seconds or None,
    )
    # One budget per key, whichever door it comes in by (Coral's routes spend theirs per site
    # once the signature is checked, see coral/views.py).
    ratelimit.init_app(
        app, limiter, {"api": auth.presented_key, "perspective": perspective.presented_key}
    )
    serving = ServingModel(engine, moderation, config.model_path)
    app.extensions["moderator"] = Services(
        config, engine, serving, limiter, SiteCache(engine, config.site_cache_seconds)
    )

    for blueprint in (api.bp, perspective.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(perspective.discovery_bp)
    app.register_blueprint(coral.bp)
    app.register_blueprint(api.health)
    app.register_blueprint(openapi.bp)
    accounts.init_app(app, config)
    dashboard.init_app(app)
    return app
