"""Builds the object graph from Settings: engine, sessions, clients, services. No globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ports import Clock, IamDirectory, KeyRotator, Notifier, Provisioner, SystemClock
from bot.domain.revocation import Revoker
from bot.services.vault import CredentialLinks
from bot.settings import Settings
from bot.slack.client import build_web_client
from bot.store import Stores, build_stores
from bot.store.audit import enable_audit_log
from bot.store.db import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.aws.accounts import AccountSessions
    from bot.scheduler import SweepJob
    from bot.services import Services
    from bot.services.deactivation import Deactivations
    from bot.services.deliveries import Deliveries
    from bot.services.reviews import AccessReviews
    from bot.services.revoke import RevokeService
    from bot.services.rotation import KeyRotations
    from bot.services.time_bound import TimeBoundAccess
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
    if settings.config is not None and settings.config.audit.log:
        enable_audit_log(sessions)  # [audit] log = true (docs/audit.md)
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
    revoke: RevokeService | None = None,
    rotation: KeyRotations | None = None,
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
        revoke=revoke,
        rotation=rotation,
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
    # The AWS Session of every account (bot/aws/accounts.py): `aws_accounts.iam(name)`
    # is the IAM client any adapter working in account `name` is handed.
    aws_accounts: AccountSessions | None = None

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
    revoker: Revoker | None = None,
    key_rotator: KeyRotator | None = None,
) -> Runtime:
    """Build the bot over `container`. boto3 clients come from the standard credential
    chain (AWS_ENDPOINT_URL honoured by boto3 itself) unless a session is given.
    `sandbox=True` (`run --sandbox`): the one Slack client marks every message it sends,
    so the notifier's messages carry the sandbox note with no flag of its own."""
    from bot.aws.accounts import AccountDirectory, AccountProvisioners
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
    # One boto3 Session per AWS account (flow 7), each IAM client made once: provisioning,
    # the form's name check and every other IAM adapter share them (bench/README.md,
    # "Memory"). No session given: bot.aws.region.new_session (AWS_REGION honoured too).
    aws_accounts = build_account_sessions(container, aws_session)
    if provisioner is None:
        provisioner = AccountProvisioners(aws_accounts, config)
    if directory is None:
        directory = AccountDirectory(aws_accounts)
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
        ),
        # As many as the after-ack lane: both fit the pool (5 + 10 overflow) together.
        max_workers=_pool_size(container),
    )
    revoke = build_revoke_service(container, notifier, aws_accounts, revoker)
    rotation = build_rotation_service(container, notifier, aws_accounts, key_rotator)
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
        revoke=revoke,
        rotation=rotation,
    )
    services.reviews = build_access_reviews(container, client, aws_accounts, revoke)
    # Flow 6: time-bound access and Slack deactivation, revoking through `revoke`.
    services.time_bound, services.deactivations = build_time_bound(
        container, client, notifier, revoke, worker
    )
    jobs = lifecycle_jobs(
        config.reminders,
        remind=ReminderSweep(stores.sweeps, stores.requests, notifier, config),
        expire=ExpirySweep(stores.sweeps, stores.requests, notifier, config),
        # Provisioning whose lease ran out, and revokes that died or are due again.
        recover=recovery_sweep(worker.recover, revoke.recover),
        purge=links.purge_expired,
        deliver=deliveries.sweep,
        rotate_keys=rotation.sweep,
        review=services.reviews.sweep,
        time_bound=services.time_bound.sweep,
        reconcile_members=services.deactivations.reconcile,
        # Sweep at least once per lease, so a dead worker's request waits one lease at most.
        recovery_every=min(RECOVERY_EVERY, config.provisioning.lease),
    )
    # Requests stored before rules were frozen get them now, before anyone can click.
    freeze_legacy_requests(stores.requests, config, container.clock)
    # As many after-ack workers as database connections: none waits for the pool.
    return Runtime(
        client,
        notifier,
        services,
        worker,
        jobs,
        AfterAck(_pool_size(container)),
        aws_accounts=aws_accounts,
    )


def build_access_reviews(
    container: Container,
    client: WebClient,
    aws_accounts: AccountSessions,
    revoke: RevokeService | None,
) -> AccessReviews:
    """Access reviews (`[reviews]`): the review store, last-used reads through each
    account's IAM client, the review messages on the one Slack client, and revokes
    through the one revoke use case (cause REVIEW)."""
    from bot.aws.usage import IamGrantUsage
    from bot.services.reviews import AccessReviews
    from bot.slack.review_notifier import SlackReviewNotifier

    config = container.settings.bot
    return AccessReviews(
        container.stores.reviews,
        container.stores.requests,
        IamGrantUsage(aws_accounts.iam),
        SlackReviewNotifier(client),
        revoke,
        config,
        container.clock,
        sweep_every=config.reminders.every,
    )


def build_time_bound(
    container: Container,
    client: WebClient,
    notifier: Notifier,
    revoke: RevokeService,
    worker: ProvisioningWorker,
) -> tuple[TimeBoundAccess, Deactivations]:
    """Flow 6: time-bound access (the expiry sweep, Extend, Request extension; the
    worker applies approved extension requests through it) and Slack deactivation
    (users.info on the one Slack client). Both revoke through the one revoke use case."""
    from bot.services.deactivation import Deactivations
    from bot.services.time_bound import TimeBoundAccess
    from bot.slack.members import SlackMembers

    config, stores, clock = container.settings.bot, container.stores, container.clock
    time_bound = TimeBoundAccess(
        stores.time_bound,
        stores.requests,
        stores.provisioning,
        revoke.revoke,
        notifier,
        clock,
        config,
    )
    worker.service.extensions = time_bound.apply_extension
    deactivations = Deactivations(
        stores.deactivations,
        stores.requests,
        SlackMembers(client),
        revoke.revoke,
        notifier,
        clock,
        config,
    )
    return time_bound, deactivations


def recovery_sweep(*sweeps: Callable[[datetime], int]) -> Callable[[datetime], int]:
    """One recovery job over several sweeps (provisioning, revoke: flows 3 and 6); one
    that fails does not keep the others from running (the first error is raised after)."""

    def recover(now: datetime) -> int:
        done, error = 0, None
        for sweep in sweeps:
            try:
                done += sweep(now)
            except Exception as exc:  # noqa: BLE001 - re-raised below for run_job to log
                error = error or exc
        if error is not None:
            raise error
        return done

    return recover


def build_revoke_service(
    container: Container,
    notifier: Notifier,
    aws_accounts: AccountSessions,
    revoker: Revoker | None = None,
) -> RevokeService:
    """Flow 6's one revoke use case, over the same per-account IAM clients as
    provisioning (`aws_accounts.iam(name)`); `services.revoke`."""
    from bot.aws.revoke import AccountRevokers
    from bot.services.revoke import RevokeService

    config = container.settings.bot
    if revoker is None:
        revoker = AccountRevokers(aws_accounts.iam, config.aws, verify=aws_accounts.verify)
    return RevokeService(
        container.stores.revocations,
        container.stores.requests,
        revoker,
        notifier,
        container.clock,
        config,
        lock=config.provisioning.lease,
    )


def build_rotation_service(
    container: Container,
    notifier: Notifier,
    aws_accounts: AccountSessions,
    rotator: KeyRotator | None = None,
) -> KeyRotations:
    """Flow 6's key rotation, over the same per-account IAM clients as provisioning
    (`aws_accounts.iam(name)`); `services.rotation` and the "rotate-keys" sweep."""
    from bot.aws.rotation import AccountKeyRotators, IamKeyRotator
    from bot.services.rotation import KeyRotations

    config = container.settings.bot
    if rotator is None:
        rotator = AccountKeyRotators(
            lambda name: IamKeyRotator(
                aws_accounts.iam(name), config.aws, iam_once=aws_accounts.iam(name, retries=False)
            )
        )
    return KeyRotations(
        container.stores.rotations,
        container.stores.requests,
        rotator,
        notifier,
        config,
        public_url=container.settings.public_url,
        clock=container.clock,
    )


def build_account_sessions(container: Container, aws_session: Any = None) -> AccountSessions:
    """The per-account boto3 Sessions (bot/aws/accounts.py) over the bot's own Session;
    assumed roles' credentials expire on the container's clock."""
    from bot.aws.accounts import AccountSessions
    from bot.aws.region import new_session

    base = aws_session if aws_session is not None else new_session()
    sessions = AccountSessions(container.settings.bot, base, now=container.clock.now)
    sessions.prepare()
    return sessions


def _pool_size(container: Container) -> int:
    size = getattr(container.engine.pool, "size", None)
    return size() if callable(size) else 5
