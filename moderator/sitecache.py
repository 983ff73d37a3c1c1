"""Sites by API key hash, kept in each worker's memory instead of read on every request.

The `generations` table counts every change to a site or its key (storage/sites.py bumps
it in the changing transaction). A worker reads that counter at most once every
`MODERATOR_SITE_CACHE_SECONDS` (one primary-key lookup, made by the first request after the
interval) and empties its cache when it moved, so a revoked key, a rotated key or a changed
setting takes effect on every worker of every instance within that interval (plus the
requests already past their lookup). A change made by this process is seen by its next
request. A key that isn't found is not cached (a guessed key costs one indexed lookup, as
before), and a key an earlier rotation replaced is checked against its expiry on every use.

Coral's routes name their site by id and prove it with a signature: `signing(site_id, kind)`
keeps each site's signing secrets under the same counter (adding or removing a secret bumps
it), each checked against its own expiry on every use.

`webhook_events(site_id)` keeps, under the same counter, which events the site's active
webhook endpoints are subscribed to (adding or removing an endpoint bumps it), so a comment
held or rejected for a site without a subscribed endpoint queues nothing without asking the
database; with one, its deliveries are still written from the endpoints read in the storing
transaction. A new endpoint gets the events of comments stored from at most the interval
after it was added (at once on the worker that added it).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import TYPE_CHECKING

from moderator import storage
from moderator.storage import generations
from moderator.storage import secrets
from moderator.storage import sites
from moderator.storage import webhooks

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from moderator.storage.sites import Site

#: More entries than this and the cache starts afresh (a bound, not a working size).
MAX_ENTRIES = 10_000


class SiteCache:
    """`find(key_hash)` -> the active site, from memory while the sites' generation holds."""

    def __init__(self, engine: Engine, seconds: float) -> None:
        self.engine = engine
        #: How long a reading of the generation is trusted; 0 turns the cache off.
        self.seconds = seconds
        #: key hash -> (site, when the key stops working: None for a current key).
        self._entries: dict[str, tuple[Site, dt.datetime | None]] = {}
        #: (site id, kind) -> (active site, [(secret, when it stops signing: None for never)]).
        self._signing: dict[tuple[int, str], tuple[Site, list]] = {}
        #: site id -> the events its active webhook endpoints are subscribed to.
        self._events: dict[int, frozenset[str]] = {}
        self._generation: int | None = None
        #: Counts emptyings: a site read before one must not be cached after it.
        self._epoch = 0
        self._checked = float("-inf")
        self._local = generations.local_changes()
        self._lock = threading.Lock()

    def find(self, key_hash: str) -> Site | None:
        """The unrevoked site whose current key (or unexpired previous key) hashes to
        `key_hash`, else None. Raises StorageUnavailable when the database has to be asked
        and can't answer."""
        if self.seconds <= 0:
            found = self._read(key_hash)
            return found[0] if found else None
        self._refresh()
        entry = self._entries.get(key_hash)
        if entry is not None:
            site, until = entry
            if until is None or until > storage.now():
                return site
            self._entries.pop(key_hash, None)
            return None  # a replaced key whose grace period is over
        epoch = self._epoch
        found = self._read(key_hash)
        if found is None:
            return None
        with self._lock:
            if epoch == self._epoch:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries = {}
                self._entries[key_hash] = found
        return found[0]

    def signing(self, site_id: int, kind: str) -> tuple[Site | None, list[str]]:
        """The active site with this id (None if there is none) and the secrets that may
        sign its `kind` requests now. Raises StorageUnavailable as `find` does."""
        if self.seconds > 0:
            self._refresh()
            entry = self._signing.get((site_id, kind))
            if entry is None:
                epoch = self._epoch
                entry = self._read_signing(site_id, kind)
                if entry is None:
                    return None, []  # unknown or revoked: not cached, as unknown keys
                with self._lock:
                    if epoch == self._epoch:
                        if len(self._signing) >= MAX_ENTRIES:
                            self._signing = {}
                        self._signing[(site_id, kind)] = entry
        else:
            entry = self._read_signing(site_id, kind)
            if entry is None:
                return None, []
        site, found = entry
        at = storage.now()
        return site, [secret for secret, until in found if until is None or until > at]

    def webhook_events(self, site_id: int) -> frozenset[str] | None:
        """The events some active webhook endpoint of the site is subscribed to, as of the
        last look at the generation; None with the cache off (the caller then reads the
        endpoints itself). Raises StorageUnavailable as `find` does."""
        if self.seconds <= 0:
            return None
        self._refresh()
        found = self._events.get(site_id)
        if found is not None:
            return found
        epoch = self._epoch
        with storage.reading(self.engine) as conn:
            found = webhooks.subscribed_events(conn, site_id)
        with self._lock:
            if epoch == self._epoch:
                if len(self._events) >= MAX_ENTRIES:
                    self._events = {}
                self._events[site_id] = found
        return found

    def _read_signing(self, site_id: int, kind: str) -> tuple[Site, list] | None:
        if not 0 < site_id < 2**31:
            return None
        with storage.reading(self.engine) as conn:
            site = sites.get_site(conn, site_id)
            if site is None or not site.active:
                return None
            return site, secrets.unexpired_secrets(conn, site.id, kind)

    def _read(self, key_hash: str) -> tuple[Site, dt.datetime | None] | None:
        with storage.reading(self.engine) as conn:
            return sites.find_active_key(conn, key_hash)

    def _refresh(self) -> None:
        """Empty the cache when the sites' generation moved: looked at once per interval,
        and at once after a change made by this process."""
        local = generations.local_changes()
        if time.monotonic() - self._checked < self.seconds and local == self._local:
            return
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self.seconds and local == self._local:
                return  # another thread looked meanwhile
            with storage.reading(self.engine) as conn:
                found = generations.read(conn, generations.SITES)
            if found != self._generation:
                # Emptied before the new generation is recorded: an entry read under the
                # old one can't outlive this look.
                self._entries = {}
                self._signing = {}
                self._events = {}
                self._epoch += 1
                self._generation = found
            self._local = local
            self._checked = now
