"""Runs provisioning off the Slack request thread (flow 3). `submit` is what the
approve use case's `on_approved` callback calls; owners' Retry / Roll back are
refused at once (so the clicker hears why) and run in the background."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from bot.domain.policy import Action
from bot.services.provision import ActionResult, ProvisioningService

log = logging.getLogger(__name__)


# Jobs a worker thread may have waiting: past that, a hand-off waits for room (the
# after-ack lane, the recovery sweep) instead of growing memory without limit.
PENDING_PER_WORKER = 200


class _CountedPool(ThreadPoolExecutor):
    """A thread pool that knows how many of its jobs are queued or running, and holds
    at most `max_workers * PENDING_PER_WORKER` of them."""

    def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
        super().__init__(max_workers, thread_name_prefix=thread_name_prefix)
        self._count_lock = threading.Lock()
        self._room = threading.BoundedSemaphore(max_workers * PENDING_PER_WORKER)
        self.pending = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        self._room.acquire()
        with self._count_lock:
            self.pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future | None) -> None:
        with self._count_lock:
            self.pending -= 1
        self._room.release()


class ProvisioningWorker:
    def __init__(self, service: ProvisioningService, *, max_workers: int = 2) -> None:
        self.service = service
        self.executor = _CountedPool(max_workers, thread_name_prefix="provision")

    def backlog(self) -> int:
        """Provisioning jobs queued or running (/healthz reports it with the Slack lanes)."""
        return self.executor.pending

    def submit(self, request_id: int) -> Future:
        return self.executor.submit(self._logged, self.service.process, request_id)

    def retry(self, request_id: int, actor: str) -> tuple[ActionResult, Future | None]:
        """Claim now (so the clicker hears at once if it is refused), run in background."""
        result = self.service.retry(request_id, actor)
        if result.lease is None:
            return result, None
        return result, self.executor.submit(self._logged, self.service.run, result.lease)

    def roll_back(self, request_id: int, actor: str) -> tuple[ActionResult, Future | None]:
        if (why := self.service.refusal(Action.ROLL_BACK, request_id, actor)) is not None:
            return ActionResult(False, why), None
        future = self.executor.submit(self._logged, self.service.roll_back, request_id, actor)
        return ActionResult(True, f"rolling back request #{request_id}"), future

    def recover(self, now: datetime | None = None) -> int:
        """The scheduler's sweep: claim in the caller's thread, provision in the pool."""
        return self.service.recover(
            now,
            run=lambda lease: self.executor.submit(self._logged, self.service.run, lease),
        )

    def shutdown(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=not wait)

    @staticmethod
    def _logged(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            # A failed future is silent; say what happened (no secrets in our errors).
            log.exception("provisioning job failed", extra={"args": args})
            raise
