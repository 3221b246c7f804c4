"""Flow 5: the expiry sweep. Pending requests older than `reminders.expire_after` become
`expired` (compare-and-set, so an approval racing the sweep wins or loses cleanly), the
approval message loses its buttons and the requester is told to ask again."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.config import BotConfig
from bot.domain.events import RequestExpired
from bot.domain.ports import Notifier
from bot.domain.reminders import expiry_cutoff
from bot.domain.storage import RequestStore, SweepStore
from bot.services.authority import current

log = logging.getLogger(__name__)


@dataclass
class ExpiryReport:
    expired: list[int] = field(default_factory=list)


class ExpirySweep:
    def __init__(
        self,
        sweeps: SweepStore,
        requests: RequestStore,
        notifier: Notifier,
        config: BotConfig,
        *,
        batch_size: int = 200,
    ) -> None:
        self.sweeps = sweeps
        self.requests = requests
        self.notifier = notifier
        self.config = config
        self.batch_size = batch_size

    def __call__(self, now: datetime) -> ExpiryReport:
        report = ExpiryReport()
        cutoff = expiry_cutoff(now, self.config.reminders)
        for request_id in self.sweeps.expired_pending(cutoff, limit=self.batch_size):
            view = self.requests.expire(request_id, now)
            if view is None:
                continue  # decided (or expired by another replica) since the query
            report.expired.append(request_id)
            event = RequestExpired(current(view, self.config), self.config.reminders.expire_after)
            try:
                self.notifier.notify(event)
            except Exception as exc:  # a notifier bug must not stop the sweep
                log.error(
                    "expiry notice for request #%s failed: %s", request_id, type(exc).__name__
                )
        return report
