"""build_scheduler / run_sweeps_once: job set-up, error isolation, no secrets in logs."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.scheduler import (
    DELIVER_JOB,
    EXPIRE_JOB,
    PURGE_JOB,
    RECOVER_JOB,
    REMIND_JOB,
    SweepJob,
    build_scheduler,
    lifecycle_jobs,
    run_sweeps_once,
)
from bot.settings import Reminders
from tests.conftest import FakeClock


def test_lifecycle_jobs_order_and_intervals() -> None:
    calls = []
    jobs = lifecycle_jobs(
        Reminders(every=timedelta(hours=4)),
        remind=lambda now: calls.append(("remind", now)),
        expire=lambda now: calls.append(("expire", now)),
        recover=lambda now: calls.append(("recover", now)),
        purge=lambda now: calls.append(("purge", now)),
    )
    assert [(j.id, j.every) for j in jobs] == [
        (EXPIRE_JOB, timedelta(hours=4)),
        (REMIND_JOB, timedelta(hours=4)),
        (RECOVER_JOB, timedelta(minutes=1)),
        (PURGE_JOB, timedelta(minutes=5)),
    ]
    assert [j.id for j in lifecycle_jobs(Reminders(), remind=print, expire=print)] == [
        EXPIRE_JOB,
        REMIND_JOB,
    ]
    # The other capabilities' sweeps (recovery, purge) run with the clock's time.
    clock = FakeClock()
    assert all(outcome.ok for outcome in run_sweeps_once(jobs, clock))
    assert calls == [(name, clock.now()) for name in ("expire", "remind", "recover", "purge")]


@pytest.mark.parametrize(
    ("every", "deliver_every"),
    [(timedelta(hours=4), timedelta(seconds=30)), (timedelta(seconds=1), timedelta(seconds=1))],
)
def test_the_delivery_sweep_runs_last_every_30s_or_faster(every, deliver_every) -> None:  # noqa: ANN001
    jobs = lifecycle_jobs(Reminders(every=every), remind=print, expire=print, deliver=print)
    assert [j.id for j in jobs] == [EXPIRE_JOB, REMIND_JOB, DELIVER_JOB]
    assert jobs[-1].every == deliver_every


def test_run_sweeps_once_runs_every_job_even_after_a_failure(caplog) -> None:  # noqa: ANN001
    clock = FakeClock()
    seen = []

    def leaky(now: datetime) -> None:
        raise RuntimeError("postgresql://bot:hunter2@db token=xoxb-very-secret")

    jobs = [
        SweepJob("first", timedelta(hours=1), lambda now: seen.append(("first", now)) or 3),
        SweepJob("broken", timedelta(hours=1), leaky),
        SweepJob("last", timedelta(hours=1), lambda now: seen.append(("last", now))),
    ]
    with caplog.at_level(logging.DEBUG):
        outcomes = run_sweeps_once(jobs, clock)
    assert [(o.job_id, o.ok, o.error) for o in outcomes] == [
        ("first", True, None),
        ("broken", False, "RuntimeError"),
        ("last", True, None),
    ]
    assert outcomes[0].result == 3
    assert seen == [("first", clock.now()), ("last", clock.now())]
    assert "sweep broken failed: RuntimeError at test_scheduler.py:" in caplog.text
    assert "hunter2" not in caplog.text and "xoxb" not in caplog.text


def test_scheduler_jobs_are_single_instance_coalesced_utc() -> None:
    jobs = [
        SweepJob("a", timedelta(seconds=30), print),
        SweepJob("b", timedelta(hours=4), print),
    ]
    scheduler = build_scheduler(jobs, FakeClock())
    scheduler.start(paused=True)
    try:
        configured = {job.id: job for job in scheduler.get_jobs()}
        assert set(configured) == {"a", "b"}
        for job in configured.values():
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time is None
            assert job.trigger.timezone == UTC
        assert configured["b"].trigger.interval == timedelta(hours=4)
        assert str(scheduler.timezone) == "UTC"
        # Re-adding a job id replaces it instead of piling up a second copy.
        scheduler.add_job(print, "interval", hours=1, id="a", replace_existing=True)
        assert len(scheduler.get_jobs()) == 2
    finally:
        scheduler.shutdown(wait=False)


def test_a_failing_job_never_stops_the_scheduler(caplog) -> None:  # noqa: ANN001
    ran = {"ok": 0, "broken": 0}
    enough = threading.Event()

    def ok(now: datetime) -> None:
        ran["ok"] += 1
        if ran["ok"] >= 3 and ran["broken"] >= 3:
            enough.set()

    def broken(now: datetime) -> None:
        ran["broken"] += 1
        raise ValueError("boom")

    jobs = [
        SweepJob("broken", timedelta(milliseconds=50), broken),
        SweepJob("ok", timedelta(milliseconds=50), ok),
    ]
    scheduler = build_scheduler(jobs, FakeClock())
    scheduler.start()
    try:
        assert enough.wait(timeout=10), ran
        assert scheduler.running
    finally:
        scheduler.shutdown(wait=True)
    assert "sweep broken failed: ValueError" in caplog.text


def test_shutdown_waits_for_a_running_sweep() -> None:
    started, finished = threading.Event(), threading.Event()

    def slow(now: datetime) -> None:
        started.set()
        time.sleep(0.3)
        finished.set()

    scheduler = build_scheduler([SweepJob("slow", timedelta(hours=1), slow)], FakeClock())
    scheduler.start()
    assert started.wait(timeout=10)
    scheduler.shutdown(wait=True)
    assert finished.is_set()


@pytest.mark.parametrize("every", [timedelta(seconds=1), timedelta(days=7)])
def test_first_run_is_at_start_up(every) -> None:  # noqa: ANN001
    first = datetime.now(UTC) + timedelta(seconds=5)
    scheduler = build_scheduler([SweepJob("j", every, print)], FakeClock(), first_run=first)
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job("j").next_run_time == first
    finally:
        scheduler.shutdown(wait=False)
