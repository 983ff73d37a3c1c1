"""Group commit: the writes of concurrent requests in one transaction, one COMMIT for all.

A moderation is answered only once its row is committed ("stored before the answer"). On
SQLite every COMMIT writes and fsyncs the WAL, on PostgreSQL it is a round trip and a WAL
flush: about 0.4-0.6 ms of CPU per request besides the wait. So the requests of one worker
that are ready to write at the same moment share a transaction: the first becomes the
leader and commits every write queued by then (its own included) in one transaction;
writes that arrive meanwhile wait, and the first of them leads the next group once the
leader is done. Each request still returns only after the COMMIT that holds its row, so
nothing is answered that isn't stored. With no concurrency a group is one write and
nothing changes.

The leader writes on a connection the committer keeps between groups (one per engine and
process; only the leader uses it), instead of taking one from the pool and handing it back
for every group, which cost each request about a tenth of a millisecond of pool bookkeeping,
and on PostgreSQL the pool's pre-ping, a round trip. A connection that went stale meanwhile
(the server restarted) fails on its first statement, before anything was written: it is
thrown away and the group runs once more on a fresh connection from the pool, pinged as any
checkout is. Any other failure gives the connection back to the pool (closed if broken).

If a group fails with StorageUnavailable (the database is down, frozen or timed out),
every write in it gets that error: none of them was stored, and each client is told to
retry. If it fails otherwise (one write's data or a bug), the group is rolled back and each
write is retried alone, so only the faulty one fails.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy import Engine

T = TypeVar("T")

#: Connections a forked process inherited from its parent's committer, kept from the
#: garbage collector, whose clean-up would roll back on the parent's socket.
_INHERITED: list = []


class _Write:
    __slots__ = ("done", "error", "job", "lead", "result")

    def __init__(self, job: Callable[[Connection], object]) -> None:
        self.job = job
        self.done = threading.Event()
        #: Set by the leader that finished before: this write's thread leads the next group.
        self.lead = False
        self.result: object = None
        self.error: BaseException | None = None

    def outcome(self):
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit:
    """One per engine and process; `run(job)` returns job(conn) once it is committed."""

    def __init__(self, engine: Engine) -> None:
        from sqlalchemy import event

        self.engine = engine
        self._reset()
        event.listen(engine, "engine_disposed", self._disposed)

    def _disposed(self, _engine) -> None:
        """engine.dispose(): close the kept connection unless a group is using it (its pool
        is gone, so it is closed for good rather than handed back)."""
        if self._pid != os.getpid():
            return  # a forked worker disposing of its parent's pool: left alone (see _reset)
        with self._lock:
            if not self._busy:
                self._drop(close=True)

    def _reset(self) -> None:
        inherited = getattr(self, "_conn", None)
        if inherited is not None:
            # The parent's: never used, closed or collected here (its socket is the parent's).
            _INHERITED.append(inherited)
        self._pid = os.getpid()
        #: The leader's connection, kept between groups (a forked worker never uses its
        #: parent's: it starts without one).
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self._pending: list[_Write] = []
        self._busy = False

    def run(self, job: Callable[[Connection], T]) -> T:
        """Run `job` in a transaction shared with other concurrent writes; its result once
        committed. Raises what the job raised, or StorageUnavailable."""
        if self._pid != os.getpid():
            self._reset()  # a forked worker: nothing of the parent's queue is ours
        write = _Write(job)
        with self._lock:
            self._pending.append(write)
            lead = not self._busy
            self._busy = True
        if not lead:
            write.done.wait()
            if not write.lead:
                return write.outcome()
        with self._lock:
            group, self._pending = self._pending, []
        try:
            self._commit(group)
        finally:
            with self._lock:
                if self._pending:
                    following = self._pending[0]
                    following.lead = True
                    following.done.set()
                else:
                    self._busy = False
        return write.outcome()

    def _commit(self, group: list[_Write]) -> None:
        from moderator.storage import StorageUnavailable

        try:
            try:
                results = self._in_transaction([w.job for w in group])
            except StorageUnavailable as error:
                for w in group:
                    w.error = error
            except Exception as error:
                if len(group) == 1:
                    group[0].error = error
                else:
                    # One write's failure rolled back the group: each alone, so only it fails.
                    for w in group:
                        try:
                            w.result = self._in_transaction([w.job])[0]
                        except Exception as alone:
                            w.error = alone
            else:
                for w, result in zip(group, results, strict=True):
                    w.result = result
        except BaseException as error:
            for w in group:
                if w.error is None and w.result is None:
                    w.error = error
            raise
        finally:
            for w in group:
                w.done.set()

    def _in_transaction(self, jobs: list[Callable[[Connection], object]]) -> list:
        """Each job's result, run in one transaction on the kept connection and committed,
        within the engine's timeout; what `storage.transaction` does, without the pool
        round trip. Raises what a job raised, or StorageUnavailable."""
        from sqlalchemy import exc

        from moderator.storage import _guarded
        from moderator.storage import _timeout
        from moderator.storage import deadline

        with _guarded(self.engine), deadline(_timeout(self.engine)):
            for attempt in (1, 2):
                kept = self._conn is not None and not self._conn.invalidated
                if not kept:
                    self._drop()
                    self._conn = self.engine.connect()
                conn = self._conn
                transaction = conn.begin()
                try:
                    results = [job(conn) for job in jobs]
                except exc.DBAPIError as error:
                    self._drop()
                    if kept and attempt == 1 and error.connection_invalidated:
                        continue  # stale since the last group: nothing written, once more
                    raise
                except BaseException:
                    self._drop()
                    raise
                try:
                    transaction.commit()
                except BaseException:
                    self._drop()
                    raise
                return results
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop(self, close: bool = False) -> None:
        """Give the kept connection back to the pool (rolled back; discarded if broken), or
        with `close` close it for good."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if close:
                conn.invalidate()
            conn.close()
        except Exception:
            conn.invalidate()
