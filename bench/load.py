"""Signed Slack requests from many concurrent clients; what each one saw."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.support.slack_api import sign


@dataclass(frozen=True)
class Sent:
    index: int
    at: float  # time.monotonic() when the request was sent (one clock for all processes)
    ack: float  # seconds to the HTTP response (the ack)
    status: int


class _Client:
    """One keep-alive connection per simulated client, like Slack's own senders."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def post(self, body: str, secret: str) -> tuple[int, float, float]:
        ts = int(time.time())
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(secret, body, ts),
        }
        at = time.monotonic()
        started = time.perf_counter()
        try:
            self.conn.request("POST", self.path, body=body.encode(), headers=headers)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            return 599, at, time.perf_counter() - started
        return response.status, at, time.perf_counter() - started


def fire(
    url: str,
    secret: str,
    bodies: Sequence[str] | Callable[[int], str],
    *,
    count: int,
    concurrency: int = 32,
) -> list[Sent]:
    """Send `count` signed POSTs from `concurrency` clients, in index order."""
    sent: list[Sent] = []
    lock = threading.Lock()
    next_index = iter(range(count))

    def body_for(i: int) -> str:
        return bodies(i) if callable(bodies) else bodies[i % len(bodies)]

    def worker() -> None:
        client = _Client(url)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            status, at, seconds = client.post(body_for(i), secret)
            with lock:
                sent.append(Sent(i, at, seconds, status))
        client.conn.close()

    threads = [threading.Thread(target=worker) for _ in range(min(concurrency, count))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(sent, key=lambda s: s.index)
