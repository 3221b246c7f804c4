"""Flow 5: the reminder sweep. A database sweep with no per-request state in memory.

Each due request is claimed with a conditional update of `last_reminded_at` in its
own short transaction; only the winner sends, so two replicas (or an overlapping run)
never post the same reminder twice. The claim commits before anything is sent, and the
status is read again right before sending: a request decided in between gets nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.config import DEFAULT_ACCOUNT, BotConfig
from bot.domain.events import PendingSummary, ReminderDue, ReminderEscalated, RequestChanged
from bot.domain.ports import Notifier
from bot.domain.reminders import escalates, owners_to_nudge, period_grace, reminder_window
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.storage import RequestStore, SweepStore
from bot.services.authority import current

log = logging.getLogger(__name__)

ACTOR = "scheduler"
SUMMARY_JOB = "pending_summary"


@dataclass
class ReminderReport:
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    # Claimed, but decided before the reminder went out: nothing was sent.
    skipped: list[int] = field(default_factory=list)
    summary_posted: bool = False


@dataclass(frozen=True)
class _Claimed:
    request: RequestView
    number: int
    owners: tuple[str, ...]


class ReminderSweep:
    """Call with the current time; reminds every due request, then posts the summary."""

    def __init__(
        self,
        sweeps: SweepStore,
        requests: RequestStore,
        notifier: Notifier,
        config: BotConfig,
        *,
        batch_size: int = 200,
        summary_rows: int = 40,
    ) -> None:
        self.sweeps = sweeps
        self.requests = requests
        self.notifier = notifier
        self.config = config
        self.batch_size = batch_size
        self.summary_rows = summary_rows

    def __call__(self, now: datetime) -> ReminderReport:
        report = ReminderReport()
        window = reminder_window(now, self.config.reminders)
        candidates = self.sweeps.due_for_reminder(window, limit=self.batch_size)
        for request_id, last_reminded_at in candidates:
            claimed = self._claim(request_id, last_reminded_at, now)
            if claimed is None:
                continue
            if not self._still_pending(claimed.request.id):
                self._record_skip(claimed, now)
                report.skipped.append(claimed.request.id)
                continue
            self._send(claimed, now, report)
        report.summary_posted = self._summary(now)
        return report

    def _claim(
        self, request_id: int, last_reminded_at: datetime | None, now: datetime
    ) -> _Claimed | None:
        # The claim and its "reminded" event are one transaction.
        claim = self.sweeps.claim_reminder(
            request_id, seen=last_reminded_at, now=now, describe=self._reminded_detail
        )
        if claim is None:
            return None
        view = current(claim.request, self.config)
        return _Claimed(view, claim.number, self._owners_to_nudge(view))

    def _owners_to_nudge(self, view: RequestView) -> tuple[str, ...]:
        return owners_to_nudge(
            self.config.owners_of(view.account), view.approvers, view.requester_id
        )

    def _reminded_detail(self, request: RequestView, number: int) -> dict[str, object]:
        owners = self._owners_to_nudge(current(request, self.config))
        return {"owners": list(owners), "escalated": escalates(number)}

    def _record_skip(self, claimed: _Claimed, now: datetime) -> None:
        # The claim's "reminded" event stays (it counts claims); this one says nothing went out.
        log.info("request #%s was decided before its reminder went out", claimed.request.id)
        self.requests.record(
            claimed.request.id,
            actor=ACTOR,
            kind="reminder_skipped",
            now=now,
            number=claimed.number,
            reason="decided",
        )

    def _still_pending(self, request_id: int) -> bool:
        return self.sweeps.status_of(request_id) is Status.PENDING

    def _send(self, claimed: _Claimed, now: datetime, report: ReminderReport) -> None:
        request, owners, number = claimed.request, claimed.owners, claimed.number
        notifier = self.notifier
        _attempt(
            "reminder",
            request.id,
            lambda: notifier.notify(ReminderDue(request, owners, number, now)),
        )
        report.reminded.append(request.id)
        log.info("reminded owners of request #%s (reminder %s)", request.id, number)
        # Re-render the approval message so the age it shows is current.
        _attempt("age update", request.id, lambda: notifier.notify(RequestChanged(request)))
        if escalates(number) and owners:
            _attempt(
                "escalation",
                request.id,
                lambda: notifier.notify(ReminderEscalated(request, owners, number, now)),
            )
            report.escalated.append(request.id)

    def _summary(self, now: datetime) -> bool:
        """One summary per approval channel, of the requests of the accounts posted
        there (flow 7); True when any was posted."""
        posted = False
        for channel, accounts in self._channels():
            posted = self._channel_summary(now, channel, accounts) or posted
        return posted

    def _channels(self) -> list[tuple[str, tuple[str, ...] | None]]:
        """(channel, its accounts) pairs; without [[accounts]] one channel for all."""
        if not self.config.accounts:
            return [(self.config.slack.approval_channel, None)]
        by_channel: dict[str, list[str]] = {}
        for account in self.config.all_accounts():
            by_channel.setdefault(self.config.approval_channel_of(account.name), []).append(
                account.name
            )
        # Requests of an account that left the config (or made before [[accounts]])
        # are posted in [slack]'s channel.
        fallback = by_channel.setdefault(self.config.slack.approval_channel, [])
        known = {a.name for a in self.config.accounts}
        if DEFAULT_ACCOUNT not in known:
            fallback.append(DEFAULT_ACCOUNT)
        return [(channel, tuple(names)) for channel, names in by_channel.items()]

    def _channel_summary(
        self, now: datetime, channel: str, accounts: tuple[str, ...] | None
    ) -> bool:
        every = self.config.reminders.every
        total = self.sweeps.count_pending(accounts=accounts)
        if total == 0:
            return False
        # Once per period and channel across every replica.
        job = SUMMARY_JOB if accounts is None else f"{SUMMARY_JOB}:{channel}"
        if not self.sweeps.claim_job_run(
            job, now=now, ran_before=now - every + period_grace(every)
        ):
            return False
        views = tuple(
            current(view, self.config)
            for view in self.sweeps.pending_oldest_first(limit=self.summary_rows, accounts=accounts)
        )
        detail = {} if accounts is None else {"channel": channel, "accounts": list(accounts)}
        self.requests.record(
            None, actor=ACTOR, kind="pending_summary", now=now, pending=total, **detail
        )
        summary = PendingSummary(channel, views, total, now)
        _attempt("summary", None, lambda: self.notifier.notify(summary))
        return True


def _attempt(what: str, request_id: int | None, send: Callable[[], object]) -> None:
    """Notifiers swallow delivery failures themselves; anything else is a bug that must
    not stop the sweep for the other requests. Logged without its message (no payloads)."""
    try:
        send()
    except Exception as exc:
        log.error("%s for request #%s failed: %s", what, request_id, type(exc).__name__)
