"""Rate limits: one budget per API key, shared by every API and Perspective route.

A request to `/api/v1/...` or `/v1alpha1/comments:analyze` / `:suggestscore` costs one unit
of its key's budget (`MODERATOR_RATE_LIMIT`, e.g. `600/minute;20/second`), whichever route
it hits, so a key gets what the setting says and not that once per route. Coral's routes
(`/coral/v1/sites/<id>/phase` and `/webhook`) carry no key but a signature: once it is
checked they spend the budget of that site's Coral integration (`coral:<site id>`, one for
both routes); a request whose signature fails spends its client address's budget, so
guessing signatures is limited too and can't use up a site's budget. The counters live where
`MODERATOR_RATE_LIMIT_STORAGE_URI` says: `memory://` counts in each process (each gunicorn
worker and each instance has its own budget), `redis://host:6379` shares one budget across
every worker and instance.

Each key also has a CPU budget (`MODERATOR_KEY_CPU_SECONDS` per minute, counted in the same
storage from each request's own thread CPU time): a key that spends it (say, with a stream of
the largest batches) gets 429 until its minute is over, so it can't take every core from
every other site.

When that storage can't be reached, every such request is logged at ERROR (at most once
every LOG_EVERY seconds per process, with the count since the last line) and counted in
`moderator_rate_limit_storage_errors_total`, and `MODERATOR_RATE_LIMIT_ON_STORAGE_ERROR`
decides: `open` (the default) keeps serving, counting each key in this process meanwhile
(so a key still meets a limit, once per process), `closed` answers 503 with Retry-After.
After an error the storage is left alone for RETRY_STORAGE_AFTER seconds, so an outage
costs each request nothing rather than a connection timeout.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from limits import RateLimitItem
from limits import RateLimitItemPerMinute
from limits import parse_many
from limits.storage import Storage
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from prometheus_client import Counter
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.exceptions import TooManyRequests

from moderator import auth

log = logging.getLogger(__name__)

#: The namespace of our counters in the storage.
SCOPE = "moderator"
CPU_SCOPE = "moderator-cpu-ms"
#: Seconds the storage is left alone after it failed.
RETRY_STORAGE_AFTER = 5.0
#: At most one ERROR line about the storage per this many seconds, per process.
LOG_EVERY = 10.0
#: Connect and read timeout for a networked storage (Redis), in seconds.
STORAGE_TIMEOUT = 0.5
#: Retry-After when the storage is down and the setting is `closed`.
CLOSED_RETRY_AFTER = 5

ON_STORAGE_ERROR = ("open", "closed")
_REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix")

STORAGE_ERRORS = Counter(
    "moderator_rate_limit_storage_errors_total",
    "Requests whose rate-limit check could not reach the limit storage, by what was done "
    "(open: served, counted in the process; closed: answered 503).",
    ["outcome"],
)


class RateLimited(TooManyRequests):
    """Over the key's budget; `retry_after` is the seconds until its window ends."""

    def __init__(self, limit: RateLimitItem, retry_after: int) -> None:
        super().__init__(
            description=f"rate limit exceeded ({limit}); retry in {retry_after}s",
            retry_after=retry_after,
        )


class CpuBudgetSpent(TooManyRequests):
    """The key spent its CPU seconds for this minute."""

    def __init__(self, limit: RateLimitItem, retry_after: int) -> None:
        super().__init__(
            description=(
                f"this key used its CPU budget ({limit.amount / 1000:g} CPU seconds per minute); "
                f"retry in {retry_after}s"
            ),
            retry_after=retry_after,
        )


class LimitStorageUnavailable(ServiceUnavailable):
    """The limit storage is down and MODERATOR_RATE_LIMIT_ON_STORAGE_ERROR is `closed`."""

    def __init__(self) -> None:
        super().__init__(
            description="the rate-limit storage is unavailable; retry later",
            retry_after=CLOSED_RETRY_AFTER,
        )


@dataclass
class _Outage:
    down_until: float = 0.0
    logged_at: float = -math.inf
    unlogged: int = 0


class RateLimiter:
    """Fixed-window counters per key in the configured storage, with a per-process fallback."""

    def __init__(
        self,
        limits: str,
        storage_uri: str,
        on_storage_error: str = "open",
        cpu_seconds_per_minute: float | None = None,
    ) -> None:
        if on_storage_error not in ON_STORAGE_ERROR:
            raise ValueError(f"on_storage_error must be open or closed, got {on_storage_error!r}")
        self.limits = parse_many(limits)
        #: The CPU budget in milliseconds per minute (None: no CPU budget).
        self.cpu_limit = (
            RateLimitItemPerMinute(max(1, int(cpu_seconds_per_minute * 1000)))
            if cpu_seconds_per_minute
            else None
        )
        self.storage_uri = storage_uri
        self.on_storage_error = on_storage_error
        self.storage = _storage(storage_uri)
        self.shared = FixedWindowRateLimiter(self.storage)
        #: On Redis, the CPU check and every limit's hit in one script (see _HIT_SCRIPT).
        self._script = (
            self.storage.get_connection().register_script(_HIT_SCRIPT)
            if _one_server_redis(self.storage)
            else None
        )
        self.fallback = FixedWindowRateLimiter(LocalStorage())
        self._outage = _Outage()
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Spend one unit of `key`'s budget; raises RateLimited or LimitStorageUnavailable."""
        strategy = self.shared
        if time.monotonic() < self._outage.down_until:
            strategy = self._on_error(None)
        else:
            try:
                self._hit(self.shared, key)
                return
            except TooManyRequests:  # over a budget: an answer, not a storage failure
                raise
            except Exception as error:  # any storage failure: connection, timeout, protocol
                strategy = self._on_error(error)
        self._hit(strategy, key)

    def _hit(self, strategy: FixedWindowRateLimiter, key: str) -> None:
        if strategy is self.shared and self._script is not None:
            self._hit_in_one_round_trip(key)
            return
        if self.cpu_limit is not None and not strategy.test(self.cpu_limit, CPU_SCOPE, key):
            reset = strategy.get_window_stats(self.cpu_limit, CPU_SCOPE, key).reset_time
            raise CpuBudgetSpent(self.cpu_limit, max(1, math.ceil(reset - time.time())))
        for limit in self.limits:
            if not strategy.hit(limit, SCOPE, key):
                reset = strategy.get_window_stats(limit, SCOPE, key).reset_time
                raise RateLimited(limit, max(1, math.ceil(reset - time.time())))

    def _hit_in_one_round_trip(self, key: str) -> None:
        """What `_hit` does, in one Redis script call instead of one call per counter."""
        storage = self.storage
        keys = [storage.prefixed_key(limit.key_for(SCOPE, key)) for limit in self.limits]
        args: list[int] = []
        for limit in self.limits:
            args += [limit.get_expiry(), limit.amount]
        cpu_key = ""
        if self.cpu_limit is not None:
            cpu_key = storage.prefixed_key(self.cpu_limit.key_for(CPU_SCOPE, key))
        refused, ttl = self._script(
            [cpu_key, *keys], [self.cpu_limit.amount if cpu_key else 0, *args]
        )
        if refused:
            retry_after = max(1, int(ttl))
            if refused == 1:
                raise CpuBudgetSpent(self.cpu_limit, retry_after)
            raise RateLimited(self.limits[refused - 2], retry_after)

    def charge_cpu(self, key: str, seconds: float) -> None:
        """Count `seconds` of CPU against `key`'s budget (never raises)."""
        if self.cpu_limit is None or seconds <= 0:
            return
        cost = max(1, round(seconds * 1000))
        strategy = self.fallback if time.monotonic() < self._outage.down_until else self.shared
        try:
            strategy.hit(self.cpu_limit, CPU_SCOPE, key, cost=cost)
        except Exception as error:  # the storage went away meanwhile: count it here instead
            with contextlib.suppress(LimitStorageUnavailable):
                self._on_error(error)
            self.fallback.hit(self.cpu_limit, CPU_SCOPE, key, cost=cost)

    def _on_error(self, error: Exception | None) -> FixedWindowRateLimiter:
        """Count and log a storage failure; the strategy to use instead, or raise 503."""
        now = time.monotonic()
        outcome = self.on_storage_error
        STORAGE_ERRORS.labels(outcome=outcome).inc()
        with self._lock:
            if error is not None:
                self._outage.down_until = now + RETRY_STORAGE_AFTER
            self._outage.unlogged += 1
            if error is not None and now - self._outage.logged_at >= LOG_EVERY:
                count, self._outage.unlogged = self._outage.unlogged, 0
                self._outage.logged_at = now
                log.error(
                    "rate-limit storage %s unreachable (%s: %s); failing %s for %d request(s)%s",
                    _safe_uri(self.storage_uri),
                    type(error).__name__,
                    str(error).splitlines()[0][:200] if str(error) else "",
                    outcome,
                    count,
                    "; counting each key in this process meanwhile" if outcome == "open" else "",
                )
        if outcome == "closed":
            raise LimitStorageUnavailable()
        return self.fallback


class LocalStorage(Storage):
    """Fixed-window counters in this process (`memory://`), with no thread of their own.

    limits' own MemoryStorage starts a `threading.Timer` thread to expire counters whenever
    its last one has finished, which at a few hundred requests a second is nearly every
    request (0.2-0.4 ms each, issue 13). Here a counter past its window simply counts from
    zero again, and expired counters are dropped inline, at most once every SWEEP_SECONDS.
    """

    STORAGE_SCHEME = None
    #: Seconds between two sweeps of expired counters (bounds memory, not correctness).
    SWEEP_SECONDS = 10.0

    def __init__(self) -> None:
        super().__init__()
        #: key -> [count, when its window ends (time.time())]
        self._counters: dict[str, list] = {}
        self._lock = threading.Lock()
        self._swept = time.time()

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            if now - self._swept >= self.SWEEP_SECONDS:
                self._sweep(now)
            entry = self._counters.get(key)
            if entry is None or entry[1] <= now:
                entry = self._counters[key] = [0, now + expiry]
            entry[0] += amount
            return entry[0]

    def get(self, key: str) -> int:
        entry = self._counters.get(key)
        if entry is None or entry[1] <= time.time():
            return 0
        return entry[0]

    def get_expiry(self, key: str) -> float:
        entry = self._counters.get(key)
        return entry[1] if entry is not None else time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._counters)
            self._counters = {}
        return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._counters.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._counters = {k: e for k, e in self._counters.items() if e[1] > now}
        self._swept = now


#: One round trip for a request's whole check on Redis, instead of a GET for the CPU budget
#: and one script call per limit. It does what FixedWindowRateLimiter does call by call:
#: KEYS[1] is the CPU counter ("" without a CPU budget), refused when its count has reached
#: ARGV[1]; then each limit's counter (KEYS[2..]) is incremented in order, its window
#: (ARGV[2k] seconds) starting with its first unit, and the first one past its amount
#: (ARGV[2k+1]) refuses; later limits are left untouched, as limits' own hit() does.
#: Returns {0, 0}, or {which refused (1 = CPU, 2.. = the limits in order), its ttl}.
_HIT_SCRIPT = """
if KEYS[1] ~= "" then
    local spent = tonumber(redis.call("get", KEYS[1]) or "0")
    if spent >= tonumber(ARGV[1]) then
        return {1, redis.call("ttl", KEYS[1])}
    end
end
for i = 2, #KEYS do
    local current = redis.call("incrby", KEYS[i], 1)
    if current == 1 then
        redis.call("expire", KEYS[i], ARGV[2 * i - 2])
    end
    if current > tonumber(ARGV[2 * i - 1]) then
        return {i, redis.call("ttl", KEYS[i])}
    end
end
return {0, 0}
"""


def _one_server_redis(storage: Storage) -> bool:
    """Whether `storage` is one Redis (or Sentinel-watched) server, where one script may
    touch every counter; a Redis Cluster spreads the keys over servers and is left to
    limits' own calls."""
    from limits.storage import RedisClusterStorage
    from limits.storage import RedisStorage

    return isinstance(storage, RedisStorage) and not isinstance(storage, RedisClusterStorage)


def _storage(uri: str) -> Storage:
    scheme = uri.partition("://")[0].lower()
    if scheme == "memory":
        return LocalStorage()
    if scheme in _REDIS_SCHEMES:
        # Without timeouts a frozen Redis would hang every API request.
        return storage_from_string(
            uri,
            socket_timeout=STORAGE_TIMEOUT,
            socket_connect_timeout=STORAGE_TIMEOUT,
            health_check_interval=0,
        )
    return storage_from_string(uri)


def _safe_uri(uri: str) -> str:
    """The storage URI without a password."""
    scheme, sep, rest = uri.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return uri
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def init_app(
    app: Flask, limiter: RateLimiter, keys: Mapping[str, Callable[[], str | None]]
) -> None:
    """Check every request to a blueprint named in `keys` against its key's budget.

    `keys` maps a blueprint to the function that finds the key its routes authenticate with
    (the JSON API: Bearer; the Perspective door: X-Goog-Api-Key, ?key= or Bearer). A route
    that authenticates otherwise (Coral's, by signature) calls `spend` itself once it knows
    whose request it is.
    """

    def check_rate_limit() -> None:
        find_key = keys.get(request.blueprint or "")
        if find_key is not None:
            spend(auth.rate_limit_key(find_key()))

    def charge_cpu(response):
        started = g.pop("cpu_started", None)
        if started is not None:
            limiter.charge_cpu(g.rate_limit_key, time.thread_time() - started)
        return response

    app.before_request(check_rate_limit)
    app.after_request(charge_cpu)


def spend(budget: str) -> None:
    """Spend one unit of `budget` now and charge this request's CPU time to it afterwards.

    Raises RateLimited, CpuBudgetSpent or LimitStorageUnavailable.
    """
    g.rate_limit_key = budget
    current_app.extensions["moderator"].limiter.check(budget)
    g.cpu_started = time.thread_time()
