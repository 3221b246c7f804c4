"""Signed Slack requests from many concurrent clients; returns per-request ack times."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from tests.support.slack_api import sign


class _Client:
    """One keep-alive connection per simulated client, like Slack's own senders."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, body: str, secret: str) -> tuple[int, float]:
        ts = int(time.time())
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(secret, body, ts),
        }
        started = time.perf_counter()
        try:
            self.conn.request("POST", self.path, body=body.encode(), headers=headers)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            return 599, time.perf_counter() - started
        return response.status, time.perf_counter() - started


def fire(
    url: str,
    secret: str,
    bodies: Sequence[str] | Callable[[int], str],
    *,
    count: int,
    concurrency: int = 32,
) -> tuple[list[float], int]:
    """Send `count` signed POSTs from `concurrency` clients; (latencies, non-200 count)."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    next_index = iter(range(count))

    def body_for(i: int) -> str:
        return bodies(i) if callable(bodies) else bodies[i % len(bodies)]

    def worker() -> None:
        nonlocal failures
        client = _Client(url)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            status, seconds = client.post(body_for(i), secret)
            with lock:
                latencies.append(seconds)
                failures += status != 200
        client.conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures
