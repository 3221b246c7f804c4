"""Builds the object graph from Settings: engine, sessions, clients, services. No globals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ports import Clock, SystemClock
from bot.settings import Settings, SettingsError
from bot.store.db import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from bot.scheduler import SweepJob


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock

    def close(self) -> None:
        self.engine.dispose()


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    engine = make_engine(settings.database_url)
    return Container(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
    )


# --- reminders and lifecycle (flow 5) --------------------------------------------


def build_lifecycle_jobs(
    container: Container,
    *,
    recover: Callable[[datetime], object] | None = None,
    purge: Callable[[datetime], object] | None = None,
    extra: Sequence[SweepJob] = (),
) -> list[SweepJob]:
    """The scheduler's sweeps over a Slack notifier of their own: expiry and reminders,
    plus `recover` (ProvisioningService.recover(now)) and `purge` (purge_expired(now))
    when given, and any `extra` SweepJob(id, every, run(now))."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    from bot.scheduler import lifecycle_jobs
    from bot.services.expire import ExpirySweep
    from bot.services.remind import ReminderSweep
    from bot.slack.notifier import SlackNotifier

    settings = container.settings
    if not settings.slack_bot_token:
        raise SettingsError(
            [
                "SLACK_BOT_TOKEN is not set: the reminder and expiry sweeps post to Slack "
                "(or run with --no-scheduler)"
            ]
        )
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url or WebClient.BASE_URL,
        timeout=10,
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    notifier = SlackNotifier(client, settings.bot)
    jobs = lifecycle_jobs(
        settings.bot.reminders,
        remind=ReminderSweep(container.sessions, notifier, settings.bot),
        expire=ExpirySweep(container.sessions, notifier, settings.bot),
        recover=recover,
        purge=purge,
    )
    return [*jobs, *extra]
