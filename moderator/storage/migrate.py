"""Alembic migrations: upgrade a database to the newest schema, and say where it is."""

from __future__ import annotations

from importlib import resources

from sqlalchemy import Connection
from sqlalchemy import Engine

from moderator import storage


def _alembic_config(conn: Connection | None = None):
    from alembic.config import Config as AlembicConfig

    migrations = resources.files("moderator").joinpath("migrations")
    cfg = AlembicConfig(str(migrations.joinpath("alembic.ini")))
    cfg.set_main_option("script_location", str(migrations))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` (idempotent)."""
    from alembic import command

    try:
        with engine.connect() as conn:
            with conn.begin():
                command.upgrade(_alembic_config(conn), revision)
            if engine.dialect.name == "sqlite":
                # migrations/env.py turned foreign keys off for SQLite's table rebuilds; on
                # again before the connection goes back to the pool (after the commit, as
                # SQLite ignores the pragma inside a transaction).
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    except storage.UNAVAILABLE_ERRORS as error:
        raise storage.StorageUnavailable(storage._describe(error)) from error


def head_revision() -> str:
    """The newest migration shipped with this version."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The migration the database is at, or None before `init-db`."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()
