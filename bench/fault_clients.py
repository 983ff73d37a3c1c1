"""The fault run's clients: load clients that retry a comment (same id) until it is
acknowledged, the /healthz probe, the rate-limit probe, and what they all saw.
Imported by bench/fault_cluster.py (beside it on sys.path)."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter

CLIENT_RATE = 8.0  # requests/s per load client
GIVE_UP_AFTER = 90.0  # seconds a client keeps retrying one comment

#: Our own sentences (never data files): some civil, some not, so decisions vary.
TEXTS = [
    "Thanks for the thoughtful article, I learned a lot.",
    "I disagree with the author but the argument is fair.",
    "You are a pathetic idiot and everyone knows it.",
    "What a stupid take, go back to school you moron.",
    "The council meeting is on Tuesday at seven.",
    "Great photos of the harbour this morning!",
    "Shut up, nobody cares about your worthless opinion.",
    "Could the reporter share the source for these figures?",
]


class Recorder:
    """Everything the clients saw, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[tuple[str, str], str] = {}  # (site, id) -> decision
        self.gave_up: list[tuple[str, str]] = []
        self.attempts: Counter = Counter()  # (status or error kind, has Retry-After)
        self.attempt_ms: list[float] = []
        self.ack_ms: list[float] = []
        self.slow_attempts: list[tuple[float, float, str]] = []  # (at, seconds, what)
        self.unexpected: list[str] = []
        self.health: list[tuple[float, int, float]] = []  # (at, status, ms)

    def attempt(self, at: float, seconds: float, kind: str, retry_after: bool) -> None:
        with self.lock:
            self.attempts[(kind, retry_after)] += 1
            self.attempt_ms.append(seconds * 1000)
            if seconds > 5.0:
                self.slow_attempts.append((round(at, 1), round(seconds, 2), kind))


class Connection:
    """One keep-alive HTTP/1.1 connection to nginx, reopened after any error."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: dict, key: str, timeout: float = 15.0):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = json.dumps(body).encode()
        try:
            self.conn.request(
                "POST",
                path,
                body=data,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            response = self.conn.getresponse()
            payload = response.read()
            return response.status, response.getheader("Retry-After"), payload
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def get(self, path: str, timeout: float = 5.0):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            self.conn.request("GET", path)
            response = self.conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def load_client(
    name: str, key: str, port: int, started: float, stop: threading.Event, rec: Recorder
) -> None:
    """Post comments at CLIENT_RATE until `stop`; retry each until acknowledged."""
    conn = Connection(port)
    rng = random.Random(name)
    seq = 0
    while not stop.is_set():
        seq += 1
        comment_id = f"{name}-{seq}"
        body = {"text": rng.choice(TEXTS), "id": comment_id}
        first = time.monotonic()
        while True:
            sent = time.monotonic()
            try:
                status, retry_after, payload = conn.post("/api/v1/moderate", body, key)
            except (OSError, http.client.HTTPException) as error:
                rec.attempt(sent - started, time.monotonic() - sent, type(error).__name__, False)
                time.sleep(0.5)
            else:
                rec.attempt(sent - started, time.monotonic() - sent, str(status), bool(retry_after))
                if status == 200:
                    decision = json.loads(payload)["decision"]
                    with rec.lock:
                        rec.acked[(name, comment_id)] = decision
                        rec.ack_ms.append((time.monotonic() - first) * 1000)
                    break
                if status not in (429, 503):
                    with rec.lock:
                        rec.unexpected.append(f"{status} {payload[:200]!r}")
                    break
                time.sleep(min(float(retry_after or 1), 2.0))
            if time.monotonic() - first > GIVE_UP_AFTER:
                with rec.lock:
                    rec.gave_up.append((name, comment_id))
                break
        pause = 1.0 / CLIENT_RATE - (time.monotonic() - first)
        if pause > 0:
            stop.wait(pause)


def health_probe(port: int, started: float, stop: threading.Event, rec: Recorder) -> None:
    conn = Connection(port)
    while not stop.is_set():
        sent = time.monotonic()
        try:
            status = conn.get("/healthz")
        except (OSError, http.client.HTTPException):
            status = 0
        with rec.lock:
            rec.health.append((sent - started, status, (time.monotonic() - sent) * 1000))
        stop.wait(0.2)


def rate_limit_probe(port: int, key: str, total: int) -> Counter:
    """Fire `total` requests with one fresh key from 8 threads; statuses counted."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    remaining = iter(range(total))

    def fire() -> None:
        conn = Connection(port)
        while True:
            with lock:
                n = next(remaining, None)
            if n is None:
                return
            try:
                status, _, _ = conn.post("/api/v1/moderate", {"text": "probe", "store": False}, key)
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=fire) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses
