"""APScheduler set-up for the lifecycle sweeps (flow 5).

Jobs are plain callables taking the current time: each is a sweep of the database, so
the scheduler holds no per-request state, a restart loses nothing, and replicas running
the same jobs coordinate through conditional updates rather than through the scheduler.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.domain.config import Reminders
from bot.domain.ports import Clock

log = logging.getLogger(__name__)

# Job ids are stable names: re-adding one replaces it (replace_existing) instead of
# piling up a second copy.
REMIND_JOB = "remind"
EXPIRE_JOB = "expire"
RECOVER_JOB = "recover-provisioning"
PURGE_JOB = "purge-credentials"
DELIVER_JOB = "deliver"
ROTATE_KEYS_JOB = "rotate-keys"
REVIEW_JOB = "access-reviews"
TIME_BOUND_JOB = "time-bound-access"
DEACTIVATION_JOB = "deactivation-reconcile"

RECOVERY_EVERY = timedelta(minutes=1)
PURGE_EVERY = timedelta(minutes=5)
# The outbox's sweep (docs/architecture.md, "Deliveries (outbox)"): at least this
# often, and never less often than the reminders.
DELIVER_EVERY = timedelta(seconds=30)
# Key rotation (flow 6): nudges, and retiring old keys once their new key was used.
ROTATE_KEYS_EVERY = timedelta(hours=1)
# Time-bound access (flow 6): expiry warnings and revokes at the end, at least this often.
TIME_BOUND_EVERY = timedelta(minutes=1)
# Slack deactivation (flow 6): users.info for members holding grants, catching missed
# user_change events.
DEACTIVATION_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class SweepJob:
    id: str
    every: timedelta
    run: Callable[[datetime], object]


@dataclass(frozen=True)
class SweepOutcome:
    job_id: str
    ok: bool
    result: object = None
    error: str | None = None


def lifecycle_jobs(
    reminders: Reminders,
    *,
    remind: Callable[[datetime], object],
    expire: Callable[[datetime], object],
    recover: Callable[[datetime], object] | None = None,
    purge: Callable[[datetime], object] | None = None,
    deliver: Callable[[datetime], object] | None = None,
    rotate_keys: Callable[[datetime], object] | None = None,
    review: Callable[[datetime], object] | None = None,
    time_bound: Callable[[datetime], object] | None = None,
    reconcile_members: Callable[[datetime], object] | None = None,
    recovery_every: timedelta = RECOVERY_EVERY,
    purge_every: timedelta = PURGE_EVERY,
) -> list[SweepJob]:
    """The standard jobs, in the order `remind --now` runs them: expire before remind, so
    a request is never reminded right before it expires; deliveries last, so what the
    others could not get through is retried in the same run once it is due."""
    jobs = [
        SweepJob(EXPIRE_JOB, reminders.every, expire),
        SweepJob(REMIND_JOB, reminders.every, remind),
    ]
    if recover is not None:
        jobs.append(SweepJob(RECOVER_JOB, min(recovery_every, reminders.every), recover))
    if purge is not None:
        jobs.append(SweepJob(PURGE_JOB, min(purge_every, reminders.every), purge))
    if review is not None:
        # Access reviews: open, remind, apply the deadline (bot/services/reviews.py).
        jobs.append(SweepJob(REVIEW_JOB, reminders.every, review))
    if rotate_keys is not None:
        every = min(ROTATE_KEYS_EVERY, reminders.every)
        jobs.append(SweepJob(ROTATE_KEYS_JOB, every, rotate_keys))
    if time_bound is not None:
        every = min(TIME_BOUND_EVERY, reminders.every)
        jobs.append(SweepJob(TIME_BOUND_JOB, every, time_bound))
    if reconcile_members is not None:
        every = min(DEACTIVATION_EVERY, reminders.every)
        jobs.append(SweepJob(DEACTIVATION_JOB, every, reconcile_members))
    if deliver is not None:
        jobs.append(SweepJob(DELIVER_JOB, delivery_interval(reminders), deliver))
    return jobs


def delivery_interval(reminders: Reminders) -> timedelta:
    """How often the delivery sweep runs; also its backoff's unit."""
    return min(DELIVER_EVERY, reminders.every)


def run_job(job: SweepJob, clock: Clock) -> SweepOutcome:
    """Run one sweep; any error is logged and returned, never raised."""
    try:
        result = job.run(clock.now())
    except Exception as exc:
        # The exception's text can carry SQL parameters or API payloads: log the type and
        # where it happened, never the message.
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        log.error("sweep %s failed: %s at %s", job.id, type(exc).__name__, where)
        return SweepOutcome(job.id, False, error=type(exc).__name__)
    if (summary := sweep_summary(result)) is not None:
        # One INFO line per sweep that did something; idle sweeps stay silent.
        log.info("sweep %s: %s", job.id, summary)
    return SweepOutcome(job.id, True, result)


def sweep_summary(result: object) -> str | None:
    """What a sweep's result says it did ("reminded=2, summary_posted"), or None when it
    did nothing. Results are counts, lists, booleans or dataclasses of those."""
    if result is None or isinstance(result, str):
        return None
    if isinstance(result, bool):
        return "done" if result else None
    if isinstance(result, int | float):
        return f"{result:g}" if result else None
    if isinstance(result, list | tuple | set | frozenset):
        return f"{len(result)}" if result else None
    fields = getattr(result, "__dataclass_fields__", None)
    if not fields:
        return None
    parts = []
    for name in fields:
        value = getattr(result, name)
        if isinstance(value, bool):
            parts += [name] if value else []
        elif isinstance(value, int | float):
            parts += [f"{name}={value:g}"] if value else []
        elif isinstance(value, list | tuple | set | frozenset | dict):
            parts += [f"{name}={len(value)}"] if value else []
    return ", ".join(parts) or None


def run_sweeps_once(jobs: Sequence[SweepJob], clock: Clock) -> list[SweepOutcome]:
    """Every job once, in order; one failing job does not stop the others."""
    return [run_job(job, clock) for job in jobs]


def build_scheduler(
    jobs: Sequence[SweepJob], clock: Clock, *, first_run: datetime | None = None
) -> BackgroundScheduler:
    """A UTC BackgroundScheduler with one interval job per sweep (not started).

    coalesce + max_instances=1: a run that is late or still going is never doubled up;
    misfire_grace_time=None: a late run still happens (a sweep catches up, it never
    needs the missed runs). The first run is at `first_run` (default: start-up), so a
    restarted bot resumes reminders at once instead of a period later.
    """
    scheduler = BackgroundScheduler(timezone=UTC)
    for job in jobs:
        scheduler.add_job(
            run_job,
            trigger=IntervalTrigger(seconds=job.every.total_seconds(), timezone=UTC),
            args=(job, clock),
            id=job.id,
            name=job.id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=first_run or datetime.now(UTC),
        )
    return scheduler
