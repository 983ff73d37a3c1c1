"""Engines whose every operation is bounded by a timeout: SQLite (WAL, foreign keys, busy
timeout) or PostgreSQL (server-side statement and lock timeouts, client-side waits cut at the
thread's deadline). See the package's docstring for the whole design."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy.engine import make_url

from moderator import storage

log = logging.getLogger("moderator.storage")

#: Seconds a database operation may take in commands (migrations, exports, the CLI); the web
#: app gives its engine MODERATOR_DATABASE_TIMEOUT instead.
COMMAND_TIMEOUT = 600.0
#: libpq's smallest useful connect_timeout (it treats 1 as 2).
MIN_CONNECT_TIMEOUT = 2
#: PostgreSQL ends a session that sits idle inside a transaction this long (a lost client).
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000


def make_engine(url: str, timeout: float = COMMAND_TIMEOUT) -> Engine:
    """An Engine for `url` whose every operation is bounded by `timeout` seconds."""
    parsed = make_url(url)
    # Errors must never carry comment text (statement parameters) into logs.
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            parsed, pool_pre_ping=True, hide_parameters=True, pool_timeout=timeout
        )
        engine.storage_timeout = timeout
        engine.storage_breaker = storage.Breaker()
        if parsed.get_driver_name() == "psycopg":
            event.listen(engine, "do_connect", _psycopg_connect(timeout))
        event.listen(engine, "connect", _postgres_settings(timeout))
        return engine
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(
            parsed, pool_pre_ping=True, hide_parameters=True, pool_timeout=timeout
        )
        engine.storage_timeout = timeout
        engine.storage_breaker = storage.Breaker()
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
    engine.storage_breaker = storage.Breaker()
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
        left = storage.remaining(timeout)
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
            left = max(storage.WAIT_FLOOR, storage.remaining(self.storage_timeout))
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
