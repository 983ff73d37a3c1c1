"""What the commands that use the database share: the configuration and a migrated engine."""

from __future__ import annotations

import click


def _config():
    """Config.from_env(), with a bad variable reported as one line instead of a traceback."""
    from moderator.config import Config
    from moderator.config import ConfigError

    try:
        return Config.from_env()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _migrated_engine(config):
    """An engine on DATABASE_URL, migrated to the newest schema (safe to repeat)."""
    from moderator import storage

    engine = storage.make_engine(config.database_url)
    try:
        storage.upgrade(engine)
    except storage.StorageUnavailable as error:
        raise click.ClickException(f"cannot migrate the database: {error}") from None
    return engine
