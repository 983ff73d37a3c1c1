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
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import exc
from sqlalchemy import text

log = logging.getLogger(__name__)

T = TypeVar("T")


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


def init_app(app, database_url: str, timeout: float) -> Engine:
    """Create the app's one engine (flaskr's `init_app` shape); callers keep the result."""
    engine = make_engine(database_url, timeout)
    app.extensions["moderator.engine"] = engine
    return engine


# The engine and the migrations live in their own modules; their names are the package's.
from moderator.storage.engine import COMMAND_TIMEOUT  # noqa: E402
from moderator.storage.engine import IDLE_IN_TRANSACTION_TIMEOUT_MS  # noqa: E402, F401
from moderator.storage.engine import MIN_CONNECT_TIMEOUT  # noqa: E402, F401
from moderator.storage.engine import make_engine  # noqa: E402
from moderator.storage.migrate import _alembic_config  # noqa: E402, F401
from moderator.storage.migrate import current_revision  # noqa: E402, F401
from moderator.storage.migrate import head_revision  # noqa: E402, F401
from moderator.storage.migrate import upgrade  # noqa: E402, F401
