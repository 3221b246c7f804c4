"""Set-up and read-back helpers for the service tests.

Requests are made through the store's own operations (submit with rules frozen from a
config, approve, claim, finish provisioning), so a test starts from rows exactly as the
services leave them. Assertions may read rows straight from the database: tests are
not layered.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import crypto
from bot.domain.config import BotConfig
from bot.domain.credentials import Credentials, IssuedLink
from bot.domain.ports import Clock, Notifier, Provisioner
from bot.domain.requests import MessageRef, RequestView
from bot.domain.rules import FrozenRules, freeze
from bot.domain.states import Status
from bot.domain.storage import Lease, NewRequest
from bot.services.provision import ProvisioningService
from bot.store import Stores
from bot.store.models import AccessRequest, AuditEvent, CredentialLink

PUBLIC_URL = "https://bot.example.com"
BOT = "aws-access-bot"
LEASE = timedelta(minutes=15)

# The audit trail a request has once submitted / approved by one owner.
SUBMITTED = ["requested"]
APPROVED = ["requested", "approval", "approved"]


def rules_for(
    config: BotConfig,
    profile: str = "developer",
    *,
    console: bool = True,
    programmatic: bool = True,
) -> FrozenRules:
    found = config.profile(profile)
    assert found is not None, f"no profile {profile} in the test config"
    return freeze(found, config, console=console, programmatic=programmatic)


def submit(
    stores: Stores,
    config: BotConfig,
    *,
    now: datetime,
    requester_id: str = "U0REQ",
    profile: str = "developer",
    iam_user_name: str = "alice",
    reason: str = "deploys",
    console: bool = True,
    programmatic: bool = True,
    approval_message: MessageRef | None = None,
) -> RequestView:
    """A pending request as the submit use case stores it (rules frozen from `config`),
    with its approval message when given (as the Slack flow would have posted it)."""
    rules = rules_for(config, profile, console=console, programmatic=programmatic)
    view = stores.requests.submit(
        NewRequest(requester_id, profile, iam_user_name, reason, rules), now
    )
    if approval_message is not None:
        stores.requests.set_approval_message(view.id, approval_message)
        view = get(stores, view.id)
    return view


def approve(
    stores: Stores, request_id: int, owners: Iterable[str], *, now: datetime
) -> RequestView:
    """Owners approve in turn until the request's frozen requirement is met."""
    required = get(stores, request_id).approvals_required
    for owner in owners:
        result = stores.requests.approve(request_id, owner, required, now)
        if result.request.status is Status.APPROVED:
            return result.request
    raise AssertionError(f"request #{request_id} is still not approved")


def approved(stores: Stores, config: BotConfig, *, now: datetime, **kwargs: object) -> RequestView:
    view = submit(stores, config, now=now, **kwargs)  # type: ignore[arg-type]
    return approve(stores, view.id, config.owners_of(view.account), now=now)


def claim(stores: Stores, request_id: int, *, now: datetime, lease: timedelta = LEASE) -> Lease:
    claimed = stores.provisioning.claim_provisioning(
        request_id, sources=(Status.APPROVED,), actor=BOT, now=now, until=now + lease
    )
    assert isinstance(claimed, Lease), claimed
    return claimed


def provision(
    stores: Stores,
    config: BotConfig,
    request_id: int,
    credentials: Credentials,
    *,
    now: datetime,
    public_url: str = PUBLIC_URL,
    dm: MessageRef | None = None,
) -> tuple[RequestView, IssuedLink]:
    """Claim an approved request and finish it with `credentials` sealed into a link, as
    the provisioning use case does; the requester's DM is remembered when given."""
    lease = claim(stores, request_id, now=now)
    sealed, link = crypto.seal_link(
        credentials, public_url=public_url, expires_at=now + config.links.ttl
    )
    view = stores.provisioning.finish_provisioning(
        lease,
        sealed,
        access_key_id=credentials.access_key_id,
        console=credentials.password is not None,
        now=now,
    )
    assert view is not None and view.status is Status.PROVISIONED
    if dm is not None:
        stores.requests.set_requester_dm(request_id, dm)
        view = get(stores, request_id)
    return view, link


def provisioning_service(
    stores: Stores,
    provisioner: Provisioner,
    notifier: Notifier,
    clock: Clock,
    config: BotConfig,
    *,
    public_url: str = PUBLIC_URL,
    store: Any = None,
) -> ProvisioningService:
    """The provisioning use case over `stores` (`store` in place of their provisioning
    store when given: a wrapper that fails on purpose), AWS being `provisioner`."""
    return ProvisioningService(
        store or stores.provisioning,
        stores.requests,
        provisioner,
        notifier,
        clock,
        config,
        public_url=public_url,
    )


def get(stores: Stores, request_id: int) -> RequestView:
    view = stores.requests.get(request_id)
    assert view is not None, f"request #{request_id} does not exist"
    return view


# --- reading rows back -------------------------------------------------------------


def row(sessions: sessionmaker[Session], request_id: int) -> AccessRequest:
    """The request's row as committed now (every column, locks included)."""
    with sessions() as session:
        found = session.get(AccessRequest, request_id)
        assert found is not None, f"request #{request_id} does not exist"
        return found


def link_row(sessions: sessionmaker[Session], link_id: str) -> CredentialLink:
    with sessions() as session:
        found = session.get(CredentialLink, link_id)
        assert found is not None, f"link {link_id} does not exist"
        return found


def links_of(sessions: sessionmaker[Session], request_id: int) -> list[CredentialLink]:
    with sessions() as session:
        return list(
            session.scalars(
                select(CredentialLink)
                .where(CredentialLink.request_id == request_id)
                .order_by(CredentialLink.created_at, CredentialLink.id)
            )
        )


def audit_kinds(stores: Stores, request_id: int) -> list[str]:
    return [record.kind for record in stores.requests.audit_of(request_id)]


def audit_events(sessions: sessionmaker[Session], kind: str) -> list[AuditEvent]:
    """Every audit event of one kind, for any request or none, oldest first."""
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)
            )
        )


def database_text(engine: Engine) -> str:
    """Every value in every table, as one string (to look for leaked secrets)."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(
            repr(tuple(found))
            for table in meta.sorted_tables
            for found in conn.execute(table.select())
        )
