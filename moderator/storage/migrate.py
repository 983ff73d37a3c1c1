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


#: pg_advisory_xact_lock key that serialises migrations of one PostgreSQL database
#: ("Moderato" in ASCII): instances starting together migrate one after the other.
MIGRATION_LOCK = 0x4D6F64657261746F


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` (idempotent, and safe to run concurrently).

    Instances started together on one database (replicas of a deployment, a rollout) each
    migrate at start: the migration holds the database's write lock (SQLite's BEGIN
    IMMEDIATE) or an advisory lock (PostgreSQL) from reading the schema's revision to its
    commit, so the others wait, then find it current. A database already at head is only
    read: starting never waits for another process's writes.
    """
    from alembic import command

    try:
        with engine.connect() as conn:
            sqlite = engine.dialect.name == "sqlite"
            if revision == "head":
                current = current_revision(conn)
                conn.rollback()
                if current == head_revision():
                    return
            if sqlite:
                # Batch mode rebuilds tables (copy, DROP, rename); with foreign keys on,
                # dropping `sites` while comments point at it fails. Off before the
                # transaction (SQLite ignores the pragma inside one); on again below.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            with conn.begin():
                if sqlite:
                    # The write lock first: the whole migration is one transaction.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                elif engine.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                command.upgrade(_alembic_config(conn), revision)
            if sqlite:
                # After the commit, before the connection goes back to the pool.
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
