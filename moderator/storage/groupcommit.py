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
        self.engine = engine
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
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
        from moderator.storage import transaction

        try:
            try:
                with transaction(self.engine) as conn:
                    results = [w.job(conn) for w in group]
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
                            with transaction(self.engine) as conn:
                                w.result = w.job(conn)
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
