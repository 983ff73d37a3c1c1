"""Turning one environment variable's text into its Config field's value, with errors that
name the variable; and what `describe()` shows as each field's default."""

from __future__ import annotations

import dataclasses
from pathlib import Path


class ConfigError(ValueError):
    """A bad environment value; the message names the variable."""


_POSITIVE_INTS = (
    "max_text_bytes",
    "batch_max",
    "max_batch_bytes",
    "max_content_length",
    "session_idle_minutes",
    "login_max_failures",
    "undo_minutes",
)
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True}
_BOOLEANS.update({"0": False, "false": False, "no": False, "off": False})


def _parse(f: dataclasses.Field, raw: str):
    env = f.metadata["env"]
    if f.name in ("instance_path", "model_path"):
        return Path(raw).expanduser()
    if f.name == "language_models":
        return raw.strip()  # empty: no other language's model
    if f.name in ("session_cookie_secure", "without_model"):
        if raw.lower() not in _BOOLEANS:
            raise ConfigError(f"{env} must be true or false, got {raw!r}")
        return _BOOLEANS[raw.lower()]
    if f.name in ("database_timeout", "key_cpu_seconds", "site_cache_seconds"):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{env} must be a number of seconds, got {raw!r}") from None
    if f.name == "proxy_count":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{env} must be an integer, got {raw!r}") from None
    if f.name in _POSITIVE_INTS:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{env} must be a positive integer, got {raw!r}") from None
    if f.name == "database_url" and "://" not in raw:
        raise ConfigError(f"{env} must be a URL (sqlite:///path, postgresql://...), got {raw!r}")
    if f.name == "rate_limit_on_storage_error":
        return raw.lower()
    if f.name == "secret_key" and len(raw) < 16:
        raise ConfigError(f"{env} must be at least 16 characters")
    return raw


def _check_rate_limit(value: str) -> None:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(
            f"MODERATOR_RATE_LIMIT must look like '600/minute' or '10 per second', got {value!r}"
        ) from None


def _check_rate_limit_storage(uri: str) -> None:
    if uri.startswith("memory://"):
        return
    from limits.errors import ConfigurationError as LimitsConfigurationError
    from limits.storage import storage_from_string

    try:
        # Builds the client (checking the scheme and its driver) without connecting.
        storage_from_string(uri)
    except (LimitsConfigurationError, ValueError) as error:
        raise ConfigError(f"MODERATOR_RATE_LIMIT_STORAGE_URI: {error}") from None


def _default_text(f: dataclasses.Field) -> str:
    if f.name == "instance_path":
        return "instance/"
    if f.name == "model_path":
        return "models/default"
    if f.name == "language_models":
        return "the folder of MODERATOR_MODEL_PATH"
    if f.name == "database_url":
        return "sqlite:///<instance>/moderator.sqlite3"
    if f.name == "secret_key":
        return "generated"
    return str(f.default)
