"""Listener work that runs after the ack, on a small pool of its own.

Bolt runs each listener on its listener executor (5 threads) and answers Slack once the
listener calls ack(). If the listener then goes on to do its slow part (database,
Web API calls) on that same thread, a burst of clicks fills the executor and the next
request's ack waits for a free thread. Handing the slow part to this pool keeps the
executor free for acks; the pool's size also bounds how much work runs at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class AfterAck:
    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack-work")

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        return self._pool.submit(self._run, fn, args, kwargs)

    @staticmethod
    def _run(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            # Type and place only: an exception's text may quote a request's payload.
            log.error("slack listener work failed: %s", type(exc).__name__, exc_info=False)
            return None

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)
