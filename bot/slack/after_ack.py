"""Listener work that runs after the ack, in lanes of its own.

Bolt runs each listener on its listener executor (5 threads) and answers Slack once the
listener calls ack(). If the listener then went on to do its slow part (database,
Web API calls) on that same thread, a burst of clicks would fill the executor and the
next request's ack would wait for a free thread. So listeners ack and hand the slow part
to one of two lanes here:

- `interactive`: opening a modal (users.info, views.open). Slack's trigger_id expires
  3 seconds after the click, so this never queues behind heavy work: its own threads,
  started at once, nothing else runs on them.
- the default lane (`after_ack(fn, ...)`): everything else (decisions, announcements,
  App Home). Its workers are as many as the database pool's connections, so no job
  waits for a connection, and its queue is bounded: when `max_pending` jobs wait, the
  next hand-off waits for room instead of growing memory without limit.

`backlog()` is how many jobs are queued or running (both lanes); /healthz reports it so a
load test can tell when the bot has caught up (bench/README.md).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)

WORKERS = 5  # SQLAlchemy's default pool_size; bot/container.py passes the real one
INTERACTIVE_WORKERS = 4
PENDING_PER_WORKER = 200


class _Lane:
    """Fixed threads, started at once, over a bounded FIFO; counts queued + running."""

    def __init__(self, name: str, workers: int, max_pending: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    def submit(self, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("after-ack work submitted after shutdown")
            self._pending += 1
        self._queue.put((future, fn, args, kwargs))  # waits while the queue is full
        return future

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            try:
                if future.set_running_or_notify_cancel():
                    future.set_result(_run(fn, args, kwargs))
            finally:
                with self._lock:
                    self._pending -= 1

    def shutdown(self, wait: bool) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if not wait:  # drop what has not started
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
                    with self._lock:
                        self._pending -= 1
        for _ in self._threads:
            self._queue.put(None)  # after the queued work: FIFO
        if wait:
            for thread in self._threads:
                thread.join()


def _run(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        # Type and place only: an exception's text may quote a request's payload.
        log.error("slack listener work failed: %s", type(exc).__name__, exc_info=False)
        return None


class AfterAck:
    def __init__(
        self,
        workers: int = WORKERS,
        *,
        interactive_workers: int = INTERACTIVE_WORKERS,
        max_pending: int | None = None,
    ) -> None:
        self.workers = max(1, workers)
        self.max_pending = max_pending or self.workers * PENDING_PER_WORKER
        self._work = _Lane("slack-work", self.workers, self.max_pending)
        self._interactive = _Lane("slack-modal", max(1, interactive_workers), self.max_pending)

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run `fn` on the default lane (bounded; waits for room when full)."""
        return self._work.submit(fn, args, kwargs)

    def interactive(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run `fn` (a modal to open) on its own lane, never behind the default lane."""
        return self._interactive.submit(fn, args, kwargs)

    def backlog(self) -> int:
        """Jobs queued or running, both lanes: 0 means every ack's work is done."""
        return self._work.pending + self._interactive.pending

    def default_backlog(self) -> int:
        """Jobs queued or running on the default lane only."""
        return self._work.pending

    def shutdown(self, wait: bool = True) -> None:
        self._interactive.shutdown(wait)
        self._work.shutdown(wait)
