"""The clients bench_slow_clients.py sets on a server: a /healthz probe on new connections,
slowloris connections, hostile batch posters, and a resident-memory sampler.
Imported by bench/bench_slow_clients.py (beside it on sys.path)."""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time

from processes import percentile
from processes import rss_kb

ABUSE = "you pathetic idiot, you worthless disgusting moron, shut up and die you scum. "


class HealthProbe(threading.Thread):
    """GET /healthz on a new connection every 50 ms; latencies and failures."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.ms: list[float] = []
        self.failures = 0

    def run(self) -> None:
        while not self.stop.is_set():
            sent = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().status == 200
                conn.close()
            except (OSError, http.client.HTTPException):
                ok = False
            if ok:
                self.ms.append((time.monotonic() - sent) * 1000)
            else:
                self.failures += 1
            self.stop.wait(max(0.0, 0.05 - (time.monotonic() - sent)))

    def summary(self) -> dict:
        return {
            "probes": len(self.ms) + self.failures,
            "failures": self.failures,
            "p50_ms": round(percentile(self.ms, 50) or 0, 1),
            "p99_ms": round(percentile(self.ms, 99) or 0, 1),
            "max_ms": round(max(self.ms, default=0), 1),
        }


class SlowLoris(threading.Thread):
    """`count` connections that never finish their headers; reopened when closed."""

    def __init__(self, port: int, count: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.count = count
        self.stop = threading.Event()
        self.opened = 0
        self.closed_by_server = 0

    def _open(self) -> socket.socket | None:
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            s.sendall(b"POST /api/v1/moderate HTTP/1.1\r\nHost: bench\r\n")
            self.opened += 1
            return s
        except OSError:
            return None

    def run(self) -> None:
        conns = [self._open() for _ in range(self.count)]
        while not self.stop.wait(5.0):
            for i, s in enumerate(conns):
                try:
                    if s is None:
                        raise OSError
                    s.sendall(f"X-Slow-{random.randint(0, 9999)}: a\r\n".encode())
                except OSError:
                    if s is not None:
                        self.closed_by_server += 1
                        s.close()
                    conns[i] = self._open()
        for s in conns:
            if s is not None:
                s.close()


class HostileClient(threading.Thread):
    """Post hostile batches in a loop: many unknown fields, then the full text budget."""

    def __init__(self, port: int, key: str, budget: int) -> None:
        super().__init__(daemon=True)
        # As much abusive text as the batch text budget allows (MODERATOR_MAX_BATCH_BYTES).
        abuse = (ABUSE * (budget // len(ABUSE) + 1))[: budget // 100 - 8]
        self.port = port
        self.key = key
        self.stop = threading.Event()
        self.statuses: dict[int, int] = {}
        fields = {f"field{i:06d}": 0 for i in range(50_000)}
        self.bodies = [
            json.dumps({"comments": [{"text": "hello", **fields}]}).encode(),
            json.dumps({"comments": [{"text": abuse} for _ in range(100)]}).encode(),
        ]

    def run(self) -> None:
        conn = None
        n = 0
        while not self.stop.is_set():
            body = self.bodies[n % 2]
            n += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request(
                    "POST",
                    "/api/v1/moderate/batch",
                    body=body,
                    headers={
                        "Authorization": f"Bearer {self.key}",
                        "Content-Type": "application/json",
                    },
                )
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                if conn is not None:
                    conn.close()
                conn = None
            self.statuses[status] = self.statuses.get(status, 0) + 1


class RssSampler(threading.Thread):
    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.stop = threading.Event()
        self.peak = {pid: 0 for pid in pids}

    def run(self) -> None:
        while not self.stop.wait(0.25):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_kb(pid))
