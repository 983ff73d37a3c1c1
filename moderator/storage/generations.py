"""Change counters for what workers cache in memory (the `generations` table).

A writer calls `bump(conn, name)` in the transaction that changes the cached thing, so the
new value is visible exactly when the change is. A reader compares `read(conn, name)` with
the value its cache was filled at; `local_changes()` tells a cache in this process that a
write happened here, so it looks at once instead of at its next periodic check.
"""

from __future__ import annotations

import itertools

from sqlalchemy import Connection
from sqlalchemy import select

from moderator.storage.tables import generations

SITES = "sites"

_local = itertools.count(1)
_last_local = 0


def read(conn: Connection, name: str) -> int:
    """The counter's value (0 when it was never bumped)."""
    value = conn.execute(
        select(generations.c.value).where(generations.c.name == name)
    ).scalar_one_or_none()
    return value or 0


def bump(conn: Connection, name: str) -> None:
    """Count one change to `name`, in the caller's transaction."""
    global _last_local
    updated = conn.execute(
        generations.update().where(generations.c.name == name).values(value=generations.c.value + 1)
    ).rowcount
    if not updated:
        conn.execute(generations.insert().values(name=name, value=1))
    _last_local = next(_local)


def local_changes() -> int:
    """How many bumps this process made so far (any name): a cheap in-memory hint."""
    return _last_local
