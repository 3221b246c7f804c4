"""Builds the object graph from Settings: engine, sessions, clients, services. No globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ports import Clock, IamDirectory, Notifier, Provisioner, SystemClock
from bot.services.vault import CredentialLinks
from bot.settings import Settings
from bot.slack.client import build_web_client
from bot.store import Stores, build_stores
from bot.store.db import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.scheduler import SweepJob
    from bot.services import Services
    from bot.services.deliveries import Deliveries
    from bot.services.worker import ProvisioningWorker
    from bot.slack.after_ack import AfterAck


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    stores: Stores
    clock: Clock

    def close(self) -> None:
        self.engine.dispose()


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    return Container(
        settings=settings,
        engine=engine,
        sessions=sessions,
        stores=build_stores(sessions),
        clock=clock or SystemClock(),
    )


# --- Slack request and approval flow (flows 1-2) -----------------------------------


def build_iam_directory(iam: Any = None) -> IamDirectory:
    """IAM name look-ups for the request form (standard credential chain by default)."""
    from bot.aws.clients import iam_client
    from bot.aws.directory import Boto3IamDirectory

    return Boto3IamDirectory(iam if iam is not None else iam_client())


def build_services(
    container: Container,
    client: WebClient,
    directory: IamDirectory,
    *,
    notifier: Notifier | None = None,
    on_approved: Callable[[int], None] | None = None,
    provisioning_worker: ProvisioningWorker | None = None,
    credential_links: CredentialLinks | None = None,
    deliveries: Deliveries | None = None,
) -> Services:
    """The use cases the Slack app calls. Flows 3-4 (worker, links) are optional so a
    test can wire flows 1-2 alone; build_runtime passes everything."""
    from bot.services import Services
    from bot.services.decide import Decisions
    from bot.services.queries import RequestQueries
    from bot.services.submit import SubmitRequest

    config = container.settings.bot
    notifier = notifier or durable_notifier(container, client)
    decisions_kwargs = {"on_approved": on_approved} if on_approved is not None else {}
    requests = container.stores.requests
    return Services(
        config=config,
        clock=container.clock,
        notifier=notifier,
        submit=SubmitRequest(requests, config, container.clock, directory, notifier),
        decisions=Decisions(requests, config, container.clock, notifier, **decisions_kwargs),
        queries=RequestQueries(requests, config),
        provisioning_worker=provisioning_worker,
        credential_links=credential_links,
        deliveries=deliveries,
    )


def durable_notifier(container: Container, client: WebClient) -> Notifier:
    """The Notifier every use case holds: the Slack notifier behind the outbox, so a
    message Slack does not accept is retried
    (docs/architecture.md, "Deliveries (outbox)")."""
    from bot.scheduler import delivery_interval
    from bot.services.deliveries import DurableNotifier
    from bot.slack.notifier import SlackNotifier

    config = container.settings.bot
    return DurableNotifier(
        SlackNotifier(client, config),
        container.stores.deliveries,
        container.clock,
        every=delivery_interval(config.reminders),
    )


# --- the whole bot, as `run` and `remind --now` use it ------------------------------


@dataclass
class Runtime:
    """Everything wired together once: one Slack client and notifier, one provisioner,
    one vault, the services the Slack app calls, the provisioning worker, the sweeps."""

    client: WebClient
    notifier: Notifier
    services: Services
    worker: ProvisioningWorker
    jobs: list[SweepJob]
    after_ack: AfterAck

    def close(self) -> None:
        # Let in-flight listener work and provisioning finish; a lease covers a hard stop.
        self.after_ack.shutdown(wait=True)
        self.worker.shutdown(wait=True)


def build_runtime(
    container: Container,
    *,
    client: WebClient | None = None,
    aws_session: Any = None,
    provisioner: Provisioner | None = None,
    directory: IamDirectory | None = None,
    sandbox: bool = False,
) -> Runtime:
    """Build the bot over `container`. boto3 clients come from the standard credential
    chain (AWS_ENDPOINT_URL honoured by boto3 itself) unless a session is given.
    `sandbox=True` (`run --sandbox`): the one Slack client marks every message it sends,
    so the notifier's messages carry the sandbox note with no flag of its own."""
    from bot.aws.clients import build_provisioner, iam_client
    from bot.scheduler import RECOVERY_EVERY, delivery_interval, lifecycle_jobs
    from bot.services.deliveries import Deliveries, DurableNotifier
    from bot.services.expire import ExpirySweep
    from bot.services.freeze import freeze_legacy_requests
    from bot.services.provision import ProvisioningService
    from bot.services.remind import ReminderSweep
    from bot.services.worker import ProvisioningWorker
    from bot.slack.after_ack import AfterAck
    from bot.slack.notifier import SlackNotifier

    settings = container.settings
    config = settings.bot
    client = client or build_web_client(settings)
    if sandbox:
        from bot.slack.sandbox import SandboxWebClient

        client = SandboxWebClient.like(client)
    # Use cases hold the durable notifier; the delivery sweep the Slack one, whose
    # failures it must see to retry them.
    slack = SlackNotifier(client, config)
    every = delivery_interval(config.reminders)
    stores = container.stores
    notifier = DurableNotifier(slack, stores.deliveries, container.clock, every=every)
    if provisioner is None:
        import boto3

        provisioner = build_provisioner(config.aws, aws_session or boto3.Session())
    if directory is None:
        directory = build_iam_directory(iam_client(aws_session))
    links = CredentialLinks(
        stores.links,
        stores.requests,
        stores.provisioning,
        notifier,
        config,
        public_url=settings.public_url,
        provisioner=provisioner,
        clock=container.clock,
    )
    worker = ProvisioningWorker(
        ProvisioningService(
            stores.provisioning,
            stores.requests,
            provisioner,
            notifier,
            container.clock,
            config,
            public_url=settings.public_url,
            lease=config.provisioning.lease,
        )
    )
    deliveries = Deliveries(
        stores.deliveries,
        stores.requests,
        slack,
        config,
        container.clock,
        links=links,
        every=every,
    )
    services = build_services(
        container,
        client,
        directory,
        notifier=notifier,
        on_approved=worker.submit,
        provisioning_worker=worker,
        credential_links=links,
        deliveries=deliveries,
    )
    jobs = lifecycle_jobs(
        config.reminders,
        remind=ReminderSweep(stores.sweeps, stores.requests, notifier, config),
        expire=ExpirySweep(stores.sweeps, stores.requests, notifier, config),
        recover=worker.recover,
        purge=links.purge_expired,
        deliver=deliveries.sweep,
        # Sweep at least once per lease, so a dead worker's request waits one lease at most.
        recovery_every=min(RECOVERY_EVERY, config.provisioning.lease),
    )
    # Requests stored before rules were frozen get them now, before anyone can click.
    freeze_legacy_requests(stores.requests, config, container.clock)
    return Runtime(client, notifier, services, worker, jobs, AfterAck())
