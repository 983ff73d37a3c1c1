"""Settings: one frozen `Config`, read from the environment once by `Config.from_env()`.

This is the only module that reads `os.environ`. Every field has a default that works out
of the box (SQLite in the instance folder, the shipped model) and help text, which the
README's configuration section lists (tests/test_docs.py checks it).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from moderator.config.parsing import _POSITIVE_INTS
from moderator.config.parsing import ConfigError
from moderator.config.parsing import _check_rate_limit
from moderator.config.parsing import _check_rate_limit_storage
from moderator.config.parsing import _default_text
from moderator.config.parsing import _parse
from moderator.config.secretfile import SECRET_KEY_FILE  # noqa: F401
from moderator.config.secretfile import load_or_create_secret

#: The checkout this package was imported from (or site-packages when installed).
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_instance_path() -> Path:
    """`instance/` in a source checkout, else Flask's `<prefix>/var/moderator-instance`."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "instance"
    return Path(sys.prefix) / "var" / "moderator-instance"


def _setting(
    env: str, help: str, default=dataclasses.MISSING, factory=dataclasses.MISSING, repr=True
):
    return field(
        default=default, default_factory=factory, repr=repr, metadata={"env": env, "help": help}
    )


@dataclass(frozen=True)
class Config:
    """Everything the app needs, parsed and checked once at startup."""

    instance_path: Path = _setting(
        "MODERATOR_INSTANCE_PATH",
        "Folder for the default SQLite database and the generated secret key. "
        "Default: instance/ in a source checkout, <prefix>/var/moderator-instance when installed.",
        factory=default_instance_path,
    )
    database_url: str | None = _setting(
        "DATABASE_URL",
        "SQLAlchemy database URL (sqlite:///path or postgresql://user:pass@host/db; "
        "postgres:// is accepted). Default: SQLite file moderator.sqlite3 in the instance folder.",
        default=None,
        repr=False,  # may hold a password
    )
    database_timeout: float = _setting(
        "MODERATOR_DATABASE_TIMEOUT",
        "Seconds one request's database work may take: waiting for a pooled connection, "
        "connecting, every statement and the commit together (PostgreSQL also gets it as "
        "statement_timeout and lock_timeout; SQLite as its busy timeout). Past it the request "
        "gets 503 with Retry-After. At most 20, below gunicorn's 30 s worker timeout.",
        default=3.0,
    )
    site_cache_seconds: float = _setting(
        "MODERATOR_SITE_CACHE_SECONDS",
        "Each worker keeps sites and their API keys in memory and looks at most this often "
        "whether any changed (one indexed read), so a revoked or rotated key, a changed "
        "site setting or an added or removed webhook endpoint takes effect on every worker "
        "and instance within this many seconds. "
        "0 reads the site from the database on every request. At most 10.",
        default=0.5,
    )
    model_path: Path = _setting(
        "MODERATOR_MODEL_PATH",
        "Model directory (model.joblib + model.json). Default: the shipped models/default.",
        factory=lambda: PROJECT_ROOT / "models" / "default",
    )
    without_model: bool = _setting(
        "MODERATOR_WITHOUT_MODEL",
        "Start even when the model can't be loaded (true/false): every comment is then held for "
        "a person (reason classifier_unavailable) and /readyz reports without_model. Off: a "
        "missing or broken model stops the server at start.",
        default=False,
    )
    language_models: str | None = _setting(
        "MODERATOR_LANGUAGE_MODELS",
        "Folder whose subfolders hold the other languages' models (each model.json names its "
        "language); each is loaded on its language's first comment. Empty: English only. "
        "Default: the folder of MODERATOR_MODEL_PATH (the shipped models/de, pt, tr).",
        default=None,
    )
    secret_key: str | None = _setting(
        "MODERATOR_SECRET_KEY",
        "Flask secret key (sessions, CSRF). Default: generated on first run and kept in "
        "the instance folder (file secret_key, mode 0600).",
        default=None,
        repr=False,
    )
    rate_limit: str = _setting(
        "MODERATOR_RATE_LIMIT",
        "Requests allowed per API key, one budget across every API and Perspective route "
        "(and per site's Coral integration, for its signed routes), in the limits library's "
        "syntax (e.g. '600/minute;20/second').",
        default="600/minute",
    )
    rate_limit_storage_uri: str = _setting(
        "MODERATOR_RATE_LIMIT_STORAGE_URI",
        "Where rate-limit counters live: memory:// (each worker process counts on its own) "
        "or redis://host:6379 (one budget per key across every worker and instance).",
        default="memory://",
    )
    rate_limit_on_storage_error: str = _setting(
        "MODERATOR_RATE_LIMIT_ON_STORAGE_ERROR",
        "What to do while the rate-limit storage is unreachable (always logged at ERROR and "
        "counted in moderator_rate_limit_storage_errors_total): open = keep serving, counting "
        "each key in the process meanwhile; closed = answer 503 with Retry-After.",
        default="open",
    )
    proxy_count: int = _setting(
        "MODERATOR_PROXY_COUNT",
        "How many reverse proxies (e.g. the shipped nginx) stand in front of the app: their "
        "X-Forwarded-For and X-Forwarded-Proto are trusted that many hops deep, so login "
        "throttling and rate limits see the client's address. 0: trust no such header.",
        default=0,
    )
    key_cpu_seconds: float = _setting(
        "MODERATOR_KEY_CPU_SECONDS",
        "CPU seconds one API key (or a site's Coral integration) may use per minute, over "
        "every API, Perspective and Coral route and every instance (counted where the rate "
        "limits are); past it, 429 until the minute is over. 0 turns the CPU budget off.",
        default=30.0,
    )
    max_text_bytes: int = _setting(
        "MODERATOR_MAX_TEXT_BYTES",
        "Largest comment text (and parent_text) accepted, in UTF-8 bytes; larger gets 413.",
        default=20480,
    )
    batch_max: int = _setting(
        "MODERATOR_BATCH_MAX",
        "Most comments in one POST /api/v1/moderate/batch request.",
        default=100,
    )
    max_batch_bytes: int = _setting(
        "MODERATOR_MAX_BATCH_BYTES",
        "Most UTF-8 bytes of text (text and parent_text, all comments together) in one "
        "POST /api/v1/moderate/batch request; more gets 413. Bounds one request's work.",
        default=64 * 1024,
    )
    max_content_length: int = _setting(
        "MODERATOR_MAX_CONTENT_LENGTH",
        "Largest request body in bytes, with or without Content-Length (chunked bodies are "
        "counted as they arrive); larger gets 413.",
        default=1024 * 1024,
    )
    session_cookie_secure: bool = _setting(
        "MODERATOR_SESSION_COOKIE_SECURE",
        "Send the dashboard's session cookie only over HTTPS (true/false). Turn on behind TLS.",
        default=False,
    )
    session_idle_minutes: int = _setting(
        "MODERATOR_SESSION_IDLE_MINUTES",
        "Idle minutes after which a dashboard login ends (a login lasts 12 hours at most).",
        default=60,
    )
    undo_minutes: int = _setting(
        "MODERATOR_UNDO_MINUTES",
        "Minutes in which a moderator may undo their own decision in the dashboard (the comment "
        "returns to the queue and the decision is never exported as a training label).",
        default=10,
    )
    login_max_failures: int = _setting(
        "MODERATOR_LOGIN_MAX_FAILURES",
        "Failed dashboard logins allowed per username in 15 minutes (4x that per client address).",
        default=5,
    )

    report_limit: str = _setting(
        "MODERATOR_REPORT_LIMIT",
        "Reader reports one reporter may make on one site, e.g. '30/hour' (one amount per "
        "second, minute, hour or day); more get 429. Counted in the database, across workers.",
        default="30/hour",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "instance_path", Path(self.instance_path))
        object.__setattr__(self, "model_path", Path(self.model_path))
        if self.database_url is None:
            url = "sqlite:///" + str(self.instance_path / "moderator.sqlite3")
        else:
            url = fix_database_url(self.database_url)
        object.__setattr__(self, "database_url", url)
        for name in _POSITIVE_INTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{env_name(name)} must be a positive integer, got {value!r}")
        if isinstance(self.proxy_count, bool) or not isinstance(self.proxy_count, int):
            raise ConfigError(f"MODERATOR_PROXY_COUNT must be an integer, got {self.proxy_count!r}")
        if not 0 <= self.proxy_count <= 10:
            raise ConfigError(f"MODERATOR_PROXY_COUNT must be 0-10, got {self.proxy_count!r}")
        if self.max_content_length < self.max_text_bytes:
            raise ConfigError(
                "MODERATOR_MAX_CONTENT_LENGTH must be at least MODERATOR_MAX_TEXT_BYTES"
            )
        if self.max_batch_bytes < self.max_text_bytes:
            raise ConfigError("MODERATOR_MAX_BATCH_BYTES must be at least MODERATOR_MAX_TEXT_BYTES")
        timeout = self.database_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ConfigError(f"MODERATOR_DATABASE_TIMEOUT must be a number, got {timeout!r}")
        if not 0.1 <= timeout <= 20:
            raise ConfigError(
                f"MODERATOR_DATABASE_TIMEOUT must be between 0.1 and 20 seconds, got {timeout!r}"
            )
        cache = self.site_cache_seconds
        if isinstance(cache, bool) or not isinstance(cache, int | float) or not 0 <= cache <= 10:
            raise ConfigError(
                f"MODERATOR_SITE_CACHE_SECONDS must be a number from 0 to 10, got {cache!r}"
            )
        cpu = self.key_cpu_seconds
        if isinstance(cpu, bool) or not isinstance(cpu, int | float) or not 0 <= cpu <= 3600:
            raise ConfigError(
                f"MODERATOR_KEY_CPU_SECONDS must be a number of seconds from 0 to 3600, got {cpu!r}"
            )
        _check_rate_limit(self.rate_limit)
        self.report_window()
        _check_rate_limit_storage(self.rate_limit_storage_uri)
        if self.rate_limit_on_storage_error not in ("open", "closed"):
            raise ConfigError(
                "MODERATOR_RATE_LIMIT_ON_STORAGE_ERROR must be open or closed, "
                f"got {self.rate_limit_on_storage_error!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read every setting from `environ` (default os.environ); fail naming the variable."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw.strip() == "":
                continue
            values[f.name] = _parse(f, raw.strip())
        return cls(**values)

    def language_models_folder(self) -> Path | None:
        """Where the other languages' models are looked for; None: English only."""
        if self.language_models is None:
            return self.model_path.parent
        return Path(self.language_models).expanduser() if self.language_models else None

    def resolved_secret_key(self) -> str:
        """The configured secret key, or the one generated on first run in the instance folder."""
        if self.secret_key:
            return self.secret_key
        return load_or_create_secret(self.instance_path)

    def report_window(self) -> tuple[int, int]:
        """MODERATOR_REPORT_LIMIT as (reports, seconds)."""
        from limits import parse

        try:
            item = parse(self.report_limit)
        except ValueError:
            item = None
        if item is None or item.amount < 1 or ";" in self.report_limit:
            raise ConfigError(
                f"MODERATOR_REPORT_LIMIT must look like '30/hour', got {self.report_limit!r}"
            )
        return item.amount, item.get_expiry()

    def describe(self) -> list[tuple[str, str, str]]:
        """(variable, default, help) for every setting, in declaration order."""
        return [(f.metadata["env"], _default_text(f), f.metadata["help"]) for f in settings()]


def settings() -> tuple[dataclasses.Field, ...]:
    """The Config fields, each with `env` and `help` metadata."""
    return dataclasses.fields(Config)


def env_name(field_name: str) -> str:
    """The environment variable behind a Config field."""
    return next(f.metadata["env"] for f in settings() if f.name == field_name)


def share_metrics_across_workers() -> None:
    """Give prometheus-client a fresh folder, so /metrics adds up every server worker.

    PROMETHEUS_MULTIPROC_DIR is prometheus-client's own variable, read when it is imported;
    `moderator serve` calls this before forking gunicorn's workers, so before anything in the
    server process imports it. A folder the operator set is kept as it is. Ours is removed
    when the server stops.
    """
    import atexit
    import shutil
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") or "prometheus_client" in sys.modules:
        return
    path = tempfile.mkdtemp(prefix="moderator-metrics-")
    server_pid = os.getpid()

    def remove() -> None:
        # Forked workers inherit this hook; only the server itself removes the folder.
        if os.getpid() == server_pid:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def fix_database_url(url: str) -> str:
    """Accept Heroku-style `postgres://`, which SQLAlchemy no longer does."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url
