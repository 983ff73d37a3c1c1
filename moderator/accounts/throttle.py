"""Failed logins per username and per client address, in a sliding window."""

from __future__ import annotations

import threading
import time
from collections import deque

#: The window in which failed logins are counted.
LOGIN_WINDOW = 15 * 60
#: One client address may fail this many times more than one username before it is stopped.
ADDRESS_FACTOR = 4


class LoginThrottle:
    """Failed logins per username and per client address in a sliding window.

    Counters live in this process: with several workers each has its own, so the real
    limit is max_failures x workers. That is still a hard cap on password guessing.
    """

    def __init__(self, max_failures: int, window: float = LOGIN_WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until this username and address may try again; 0 when they may now."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key, limit in self._limits(username, address):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[len(times) - limit] + self.window - now)
        return max(1, int(wait) + 1) if wait > 0 else 0

    def fail(self, username: str, address: str) -> None:
        """Count one failed login for this username and address."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:
                # Bound memory under a spray of random usernames: forget expired keys.
                for key in list(self._failures):
                    self._recent(key, now)
            for key, _ in self._limits(username, address):
                self._failures.setdefault(key, deque()).append(now)

    def succeed(self, username: str) -> None:
        """A correct password clears the username's failures (not the address's)."""
        with self._lock:
            self._failures.pop("user:" + username.casefold(), None)

    def _limits(self, username: str, address: str):
        yield "user:" + username.casefold()[:200], self.max_failures
        yield "addr:" + address, self.max_failures * ADDRESS_FACTOR
