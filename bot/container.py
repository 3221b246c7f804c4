"""Builds the object graph from Settings: engine, sessions, clients, services. No globals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ports import Clock, IamDirectory, Notifier, SystemClock
from bot.settings import Settings, SettingsError
from bot.store.db import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.scheduler import SweepJob
    from bot.services import Services


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


# --- Slack request and approval flow (flows 1-2) -----------------------------------


def build_web_client(settings: Settings) -> WebClient:
    """The bot's Slack Web API client: SLACK_API_URL when set; rate limits (Retry-After)
    and connection errors are retried by slack_sdk before a call is given up."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
    )

    kwargs: dict[str, Any] = {
        "token": settings.slack_bot_token,
        "timeout": 10,
        "retry_handlers": [
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    }
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url
    return WebClient(**kwargs)


def build_iam_directory(iam_client: Any = None) -> IamDirectory:
    """IAM name look-ups for the request form; boto3 reads the AWS SDK's own variables."""
    from bot.aws.directory import Boto3IamDirectory

    if iam_client is None:
        import boto3
        from botocore.config import Config

        iam_client = boto3.client(
            "iam", config=Config(retries={"max_attempts": 3, "mode": "standard"})
        )
    return Boto3IamDirectory(iam_client)


def build_services(
    container: Container,
    client: WebClient,
    directory: IamDirectory,
    *,
    notifier: Notifier | None = None,
    on_approved: Callable[[int], None] | None = None,
) -> Services:
    from bot.services import Services
    from bot.services.decide import Decisions
    from bot.services.queries import RequestQueries
    from bot.services.submit import SubmitRequest
    from bot.slack.notifier import SlackNotifier

    config = container.settings.bot
    notifier = notifier or SlackNotifier(client, config)
    decisions_kwargs = {"on_approved": on_approved} if on_approved is not None else {}
    return Services(
        config=config,
        clock=container.clock,
        sessions=container.sessions,
        notifier=notifier,
        submit=SubmitRequest(container.sessions, config, container.clock, directory, notifier),
        decisions=Decisions(
            container.sessions, config, container.clock, notifier, **decisions_kwargs
        ),
        queries=RequestQueries(container.sessions, config),
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
