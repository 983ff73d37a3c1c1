"""Storage: the engine, migrations and the transaction helpers every query module uses.

SQLAlchemy Core on SQLite (WAL, foreign keys, busy timeout) or PostgreSQL, chosen by
DATABASE_URL. All SQL lives in this package: `tables` (schema), `sites`, `comments`,
`audit`. Writes go through `transaction(engine)`, so a failed request leaves nothing
half-written, and a database that can't be reached raises `StorageUnavailable`, which the
API answers with 503 + Retry-After rather than a 2xx for a comment it didn't store.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import exc
from sqlalchemy import text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

#: How long SQLite waits for another writer's lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 5000
#: How long a new PostgreSQL connection may take, unless DATABASE_URL sets connect_timeout.
POSTGRES_CONNECT_TIMEOUT_S = 5


class StorageUnavailable(Exception):
    """The database can't be reached or written to right now; the client should retry."""


def make_engine(url: str) -> Engine:
    """An Engine for `url`; SQLite connections get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    # Errors must never carry comment text (statement parameters) into logs.
    if parsed.get_backend_name() == "postgresql":
        connect_args = {}
        if "connect_timeout" not in parsed.query:
            # Fail fast (and answer 503) rather than hang when the server is unreachable.
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        return create_engine(
            parsed, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args
        )
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        hide_parameters=True,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except Exception:
            # A read-only database can't switch journal mode; reads still work.
            log.warning("could not switch SQLite to WAL mode", exc_info=True)
    finally:
        cursor.close()


UNAVAILABLE_ERRORS = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()`, with connection and lock failures raised as StorageUnavailable."""
    try:
        with engine.begin() as conn:
            yield conn
    except UNAVAILABLE_ERRORS as error:
        raise StorageUnavailable(_describe(error)) from error


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads, with failures raised as StorageUnavailable."""
    try:
        with engine.connect() as conn:
            yield conn
    except UNAVAILABLE_ERRORS as error:
        raise StorageUnavailable(_describe(error)) from error


def _describe(error: exc.DBAPIError) -> str:
    # The driver's first line only: never the statement or its parameters (comment text).
    return str(error.orig).splitlines()[0] if error.orig is not None else type(error).__name__


def ping(engine: Engine) -> bool:
    """True when the database answers `SELECT 1` and has the current schema."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            return current_revision(conn) == head_revision()
    except exc.SQLAlchemyError:
        return False


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite returns naive ones)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def now() -> dt.datetime:
    """The current time in UTC, as stored."""
    return dt.datetime.now(dt.UTC)


def isoformat(value: dt.datetime | None) -> str | None:
    """`2026-11-25T13:46:33.123456Z`, the API's timestamp format."""
    value = utc(value)
    return None if value is None else value.isoformat().replace("+00:00", "Z")


# -- migrations -----------------------------------------------------------------------------


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
    except UNAVAILABLE_ERRORS as error:
        raise StorageUnavailable(_describe(error)) from error


def head_revision() -> str:
    """The newest migration shipped with this version."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The migration the database is at, or None before `init-db`."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def init_app(app, database_url: str) -> Engine:
    """Create the app's one engine (flaskr's `init_app` shape); callers keep the result."""
    engine = make_engine(database_url)
    app.extensions["moderator.engine"] = engine
    return engine
