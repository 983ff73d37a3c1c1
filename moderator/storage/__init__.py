"""Storage: the engine, migrations and the transaction helpers every query module uses.

SQLAlchemy Core on SQLite (WAL, foreign keys, busy timeout) or PostgreSQL, chosen by
DATABASE_URL. All SQL lives in this package: `tables` (schema), `sites`, `comments`,
`audit`. Writes go through `transaction(engine)`, so a failed request leaves nothing
half-written, and a database that can't be reached raises `StorageUnavailable`, which the
API answers with 503 + Retry-After rather than a 2xx for a comment it didn't store.

Every database operation is bounded by `MODERATOR_DATABASE_TIMEOUT` (`timeout` below), so a
frozen or partitioned database costs a request a few seconds and a 503, never a hang:

- `transaction()` and `reading()` give the whole block (waiting for a pooled connection,
  connecting, every statement, the commit) one deadline, `timeout` seconds away;
- on PostgreSQL each wait for the server is cut at that deadline on the client side (a
  stopped server never enforces its own timeouts), the connection is then closed and
  discarded, and a new connection is only attempted while time is left; the server also
  gets `statement_timeout` and `lock_timeout` for queries that are merely slow;
- on SQLite the busy timeout is the same number of seconds.

When an operation runs into its deadline, the engine's `Breaker` opens: for BREAKER_OPEN
seconds every request fails at once (503) instead of queueing behind threads that are
waiting for a frozen server, then one request at a time tries the database again until one
succeeds. So a frozen database costs each request at most one timeout, never several.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import exc
from sqlalchemy import text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds a database operation may take in commands (migrations, exports, the CLI); the web
#: app gives its engine MODERATOR_DATABASE_TIMEOUT instead.
COMMAND_TIMEOUT = 600.0
#: libpq's smallest useful connect_timeout (it treats 1 as 2).
MIN_CONNECT_TIMEOUT = 2
#: PostgreSQL ends a session that sits idle inside a transaction this long (a lost client).
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000


class StorageUnavailable(Exception):
    """The database can't be reached or written to right now; the client should retry."""


#: Seconds one round trip to PostgreSQL may always take, even past the deadline.
WAIT_FLOOR = 0.5
#: Seconds a timed-out database is not asked again (requests fail at once meanwhile).
BREAKER_OPEN = 1.0

_deadlines = threading.local()


class Breaker:
    """Fail fast after a timeout; then let one request at a time try the database again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open_until = 0.0
        self.tripped = False
        self.probing = False

    def enter(self) -> bool:
        """Raise StorageUnavailable while open; True when this caller is the one probe."""
        now = time.monotonic()
        with self._lock:
            if not self.tripped:
                return False
            if now < self.open_until or self.probing:
                raise StorageUnavailable("the database timed out moments ago; not waiting again")
            self.probing = True
            return True

    def succeeded(self, probe: bool) -> None:
        if probe or self.tripped:
            with self._lock:
                if probe:
                    self.probing = False
                    self.tripped = False

    def failed(self, probe: bool, timed_out: bool) -> None:
        with self._lock:
            if probe:
                self.probing = False
            if timed_out or probe:
                self.tripped = True
                self.open_until = time.monotonic() + BREAKER_OPEN
                log.warning("database timed out: failing fast for %.1fs", BREAKER_OPEN)

    def released(self, probe: bool) -> None:
        """The caller left without a verdict (its own error): let another probe."""
        if probe:
            with self._lock:
                self.probing = False


def remaining(default: float) -> float:
    """Seconds left before the current thread's database deadline (`default` without one)."""
    deadline = getattr(_deadlines, "at", None)
    if deadline is None:
        return default
    return deadline - time.monotonic()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every database wait of this thread inside the block to `seconds` from now.

    Nested blocks keep the earlier deadline, so an inner helper can't extend an outer one.
    """
    previous = getattr(_deadlines, "at", None)
    at = time.monotonic() + seconds
    _deadlines.at = at if previous is None else min(previous, at)
    try:
        yield
    finally:
        _deadlines.at = previous


def make_engine(url: str, timeout: float = COMMAND_TIMEOUT) -> Engine:
    """An Engine for `url` whose every operation is bounded by `timeout` seconds."""
    parsed = make_url(url)
    # Errors must never carry comment text (statement parameters) into logs.
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            parsed, pool_pre_ping=True, hide_parameters=True, pool_timeout=timeout
        )
        engine.storage_timeout = timeout
        engine.storage_breaker = Breaker()
        if parsed.get_driver_name() == "psycopg":
            event.listen(engine, "do_connect", _psycopg_connect(timeout))
        event.listen(engine, "connect", _postgres_settings(timeout))
        return engine
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(
            parsed, pool_pre_ping=True, hide_parameters=True, pool_timeout=timeout
        )
        engine.storage_timeout = timeout
        engine.storage_breaker = Breaker()
        return engine
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        hide_parameters=True,
        connect_args={"timeout": timeout, "check_same_thread": False},
    )
    engine.storage_timeout = timeout
    engine.storage_breaker = Breaker()
    event.listen(engine, "connect", _sqlite_pragmas(timeout))
    return engine


def _sqlite_pragmas(timeout: float):
    busy_ms = int(timeout * 1000)

    def pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
            except Exception:
                # A read-only database can't switch journal mode; reads still work.
                log.warning("could not switch SQLite to WAL mode", exc_info=True)
        finally:
            cursor.close()

    return pragmas


def _postgres_settings(timeout: float):
    """Server-side limits for each new session: slow statements and lock waits end too."""
    ms = max(1, int(timeout * 1000))
    statements = (
        f"SET statement_timeout = {ms}",
        f"SET lock_timeout = {ms}",
        f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_TIMEOUT_MS}",
    )

    def settings(dbapi_connection, _record) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            dbapi_connection.autocommit = autocommit

    return settings


def _psycopg_connect(timeout: float):
    """do_connect: a psycopg connection whose waits end at the thread's deadline."""
    connection_class = _deadline_connection_class()

    def connect(_dialect, _record, cargs, cparams):
        left = remaining(timeout)
        if left < 0.05:
            import psycopg

            raise psycopg.OperationalError("no time left to connect to the database")
        if "connect_timeout" not in cparams:
            cparams["connect_timeout"] = max(MIN_CONNECT_TIMEOUT, math.ceil(left))
        connection = connection_class.connect(*cargs, **cparams)
        connection.storage_timeout = timeout
        return connection

    return connect


_DEADLINE_CONNECTION = None


def _deadline_connection_class():
    """psycopg.Connection whose every wait for the server ends at the thread's deadline.

    A stopped or unreachable server never answers and never enforces its own timeouts, so
    the client gives up: the connection is closed (its state is unknown) and the error is a
    disconnect, which SQLAlchemy answers by discarding the connection from the pool.
    """
    global _DEADLINE_CONNECTION
    if _DEADLINE_CONNECTION is not None:
        return _DEADLINE_CONNECTION
    import psycopg
    from psycopg import errors

    class DeadlineConnection(psycopg.Connection):
        storage_timeout = COMMAND_TIMEOUT

        def wait(self, gen, interval=0.1, timeout=None):
            # At least WAIT_FLOOR for one round trip: a deadline eaten by this process's own
            # CPU work (threads sharing the GIL) must not fail a server that answers.
            left = max(WAIT_FLOOR, remaining(self.storage_timeout))
            if timeout is None or timeout > left:
                timeout = left
            try:
                return super().wait(gen, interval=interval, timeout=timeout)
            except errors._WaitTimeout:
                self.pgconn.finish()
                raise psycopg.OperationalError(
                    f"the database did not answer within {self.storage_timeout:g}s"
                ) from None

    _DEADLINE_CONNECTION = DeadlineConnection
    return DeadlineConnection


UNAVAILABLE_ERRORS = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` within the engine's timeout; failures raise StorageUnavailable."""
    with _guarded(engine):
        with deadline(_timeout(engine)), engine.begin() as conn:
            yield conn


_group_commit_lock = threading.Lock()


def commit_together(engine: Engine, job: Callable[[Connection], T]) -> T:
    """job(conn) in a transaction shared with other threads' concurrent writes (one COMMIT
    for all, see groupcommit.py); its result once committed. Raises StorageUnavailable."""
    committer = getattr(engine, "group_commit", None)
    if committer is None:
        from moderator.storage.groupcommit import GroupCommit

        with _group_commit_lock:
            committer = getattr(engine, "group_commit", None)
            if committer is None:
                committer = engine.group_commit = GroupCommit(engine)
    return committer.run(job)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads within the engine's timeout; failures raise StorageUnavailable."""
    with _guarded(engine):
        with deadline(_timeout(engine)), engine.connect() as conn:
            yield conn


@contextmanager
def _guarded(engine: Engine) -> Iterator[None]:
    """Database failures as StorageUnavailable, through the engine's breaker."""
    breaker = getattr(engine, "storage_breaker", None)
    probe = breaker.enter() if breaker is not None else False
    started = time.monotonic()
    try:
        yield
    except UNAVAILABLE_ERRORS as error:
        if breaker is not None:
            timed_out = time.monotonic() - started >= 0.9 * _timeout(engine)
            breaker.failed(probe, timed_out)
        raise StorageUnavailable(_describe(error)) from error
    except BaseException:
        if breaker is not None:
            breaker.released(probe)
        raise
    else:
        if breaker is not None:
            breaker.succeeded(probe)


def _timeout(engine: Engine) -> float:
    return getattr(engine, "storage_timeout", COMMAND_TIMEOUT)


def _describe(error: exc.DBAPIError) -> str:
    # The driver's first line only: never the statement or its parameters (comment text).
    return str(error.orig).splitlines()[0] if error.orig is not None else type(error).__name__


def ping(engine: Engine) -> bool:
    """True when the database answers `SELECT 1` and has the current schema, in time."""
    try:
        with deadline(_timeout(engine)), engine.connect() as conn:
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


def init_app(app, database_url: str, timeout: float) -> Engine:
    """Create the app's one engine (flaskr's `init_app` shape); callers keep the result."""
    engine = make_engine(database_url, timeout)
    app.extensions["moderator.engine"] = engine
    return engine
