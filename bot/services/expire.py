"""Flow 5: the expiry sweep. Pending requests older than `reminders.expire_after` become
`expired` (compare-and-set, so an approval racing the sweep wins or loses cleanly), the
approval message loses its buttons and the requester is told to ask again."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ports import Notifier
from bot.domain.reminders import expiry_cutoff
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import BotConfig
from bot.store import lifecycle
from bot.store.repository import Repository
from bot.store.views import request_view

log = logging.getLogger(__name__)

ACTOR = "scheduler"


@dataclass
class ExpiryReport:
    expired: list[int] = field(default_factory=list)


class ExpirySweep:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        notifier: Notifier,
        config: BotConfig,
        *,
        batch_size: int = 200,
    ) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.config = config
        self.batch_size = batch_size

    def __call__(self, now: datetime) -> ExpiryReport:
        report = ExpiryReport()
        cutoff = expiry_cutoff(now, self.config.reminders)
        with self.sessions() as session:
            ids = lifecycle.expired_pending(session, cutoff, limit=self.batch_size)
        for request_id in ids:
            view = self._expire(request_id, now)
            if view is None:
                continue  # decided (or expired by another replica) since the query
            report.expired.append(request_id)
            try:
                self.notifier.request_expired(view, self.config.reminders.expire_after)
            except Exception as exc:  # a notifier bug must not stop the sweep
                log.error(
                    "expiry notice for request #%s failed: %s", request_id, type(exc).__name__
                )
        return report

    def _expire(self, request_id: int, now: datetime) -> RequestView | None:
        with self.sessions.begin() as session:
            repo = Repository(session)
            if not repo.transition(
                request_id, Status.PENDING, Status.EXPIRED, now=now, decided_at=now
            ):
                return None
            row = repo.get(request_id)
            assert row is not None
            view = request_view(repo, row, self.config)
            repo.record(
                request_id,
                actor=ACTOR,
                kind="expired",
                now=now,
                pending_for_seconds=int((now - view.created_at).total_seconds()),
            )
        return view
