"""Flow 3: after the final approval, create the IAM user in the background.

A worker claims a request with a compare-and-set (`approved|failed -> provisioning`)
and a lease. Success is one transaction: `provisioning -> provisioned`, the credentials
sealed into their one-time link, the audit event; so a request is provisioned if and
only if its link exists. A failure moves the request to `failed` with AWS's error for
the owners (Retry / Roll back). A process that dies mid-way leaves its lease to expire;
`recover()` (run periodically by the scheduler) picks the request up again, and the
provisioner's idempotent steps finish the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.credentials import IssuedLink
from bot.domain.errors import ProvisioningError
from bot.domain.ports import Clock, CredentialSink, Notifier, Provisioner
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import BotConfig
from bot.store.db import transaction
from bot.store.models import AccessRequest
from bot.store.repository import Repository
from bot.store.views import request_view

log = logging.getLogger(__name__)

BOT_ACTOR = "aws-access-bot"
# Longer than the provisioner's worst case (step retries + about a minute of key
# verification), so a live worker never loses its lease to the recovery sweep.
DEFAULT_LEASE = timedelta(minutes=15)
# An approved request is normally claimed within milliseconds by the worker the
# approval submitted it to; the sweep only takes rows that waited longer than this.
APPROVED_GRACE = timedelta(minutes=1)

DELAYED_TEXT = (
    "Your AWS access request #{id} was approved, but creating IAM user `{user}` hit a "
    "problem. The AWS account owners have been told and can retry; nothing to do for now."
)


@dataclass(frozen=True)
class ActionResult:
    """What an owner's click led to; `message` is safe to show them."""

    ok: bool
    message: str


class ProvisioningService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        provisioner: Provisioner,
        sink: CredentialSink,
        notifier: Notifier,
        clock: Clock,
        config: BotConfig,
        *,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.sessions = sessions
        self.provisioner = provisioner
        self.sink = sink
        self.notifier = notifier
        self.clock = clock
        self.config = config
        self.lease = lease

    # --- claiming ------------------------------------------------------------

    def claim(self, request_id: int) -> bool:
        """Take an `approved` (or `failed`, for a retry) request for provisioning.
        True for exactly one of any number of concurrent callers."""
        with transaction(self.sessions) as session:
            return self._claim(Repository(session), request_id, actor=BOT_ACTOR)

    def _claim(
        self,
        repo: Repository,
        request_id: int,
        *,
        actor: str,
        sources: tuple[Status, ...] = (Status.APPROVED, Status.FAILED),
    ) -> bool:
        now = self.clock.now()
        for source in sources:
            if repo.claim_lease(
                request_id,
                source,
                Status.PROVISIONING,
                now=now,
                until=now + self.lease,
                provision_attempts=AccessRequest.provision_attempts + 1,
            ):
                repo.record(
                    request_id,
                    actor=actor,
                    kind="provisioning_started",
                    now=now,
                    previous=source.value,
                )
                return True
        return False

    def process(self, request_id: int) -> RequestView | None:
        """Claim and provision; what the worker runs for an approved request."""
        return self.run(request_id) if self.claim(request_id) else None

    # --- provisioning --------------------------------------------------------

    def run(self, request_id: int) -> RequestView | None:
        """Provision a request this caller has claimed. Returns the provisioned view,
        or None when it failed or someone else owns the request now."""
        with self.sessions() as session:
            repo = Repository(session)
            row = repo.get(request_id)
            if row is None or row.status != Status.PROVISIONING.value:
                return None
            lease = row.lease_expires_at  # our claim token
            view = request_view(repo, row, self.config)
        try:
            credentials = self.provisioner.provision(view)
        except ProvisioningError as exc:
            self._fail(request_id, lease, exc)
            return None
        except Exception as exc:  # a bug must not leave the request stuck in provisioning
            log.exception("provisioning crashed", extra={"request_id": request_id})
            self._fail(
                request_id,
                lease,
                ProvisioningError("InternalError", type(exc).__name__, permanent=False),
            )
            return None

        now = self.clock.now()
        try:
            with transaction(self.sessions) as session:
                repo = Repository(session)
                done = repo.transition_holding(
                    request_id,
                    Status.PROVISIONING,
                    Status.PROVISIONED,
                    lease=lease,
                    now=now,
                    lease_expires_at=None,
                    last_error=None,
                    access_key_id=credentials.access_key_id,
                )
                if not done:
                    log.warning(
                        "provisioning lease was lost; another worker finishes this request",
                        extra={"request_id": request_id},
                    )
                    return None
                link: IssuedLink = self.sink.seal(session, request_id, credentials, now)
                repo.record(
                    request_id,
                    actor=BOT_ACTOR,
                    kind="provisioned",
                    now=now,
                    iam_user=credentials.user_name,
                    console=credentials.password is not None,
                    access_key_id=credentials.access_key_id,
                    link_id=link.link_id,
                )
                view = request_view(repo, repo.get(request_id), self.config)
        except Exception as exc:
            # Nothing committed: the user exists in IAM, Retry re-keys and re-seals it.
            log.exception("sealing credentials failed", extra={"request_id": request_id})
            self._fail(
                request_id,
                lease,
                ProvisioningError(
                    "CredentialLinkError",
                    f"could not store the credential link ({type(exc).__name__})",
                    permanent=False,
                    step="seal",
                ),
            )
            return None
        dm = self.notifier.credentials_ready(view, link)
        if dm is not None:
            # The link's DM is the requester's thread: "opened" notices reply there.
            with transaction(self.sessions) as session:
                Repository(session).set_fields(
                    request_id, requester_dm_channel=dm.channel, requester_dm_ts=dm.ts
                )
        self.notifier.request_updated(view)
        return view

    def _fail(self, request_id: int, lease: datetime | None, error: ProvisioningError) -> None:
        now = self.clock.now()
        with transaction(self.sessions) as session:
            repo = Repository(session)
            if not repo.transition_holding(
                request_id,
                Status.PROVISIONING,
                Status.FAILED,
                lease=lease,
                now=now,
                lease_expires_at=None,
                last_error=f"{error.code}: {error.message}" if error.code else error.message,
            ):
                return
            repo.record(
                request_id,
                actor=BOT_ACTOR,
                kind="provisioning_failed",
                now=now,
                code=error.code,
                message=error.message,
                step=error.step,
                permanent=error.permanent,
            )
            view = request_view(repo, repo.get(request_id), self.config)
        log.warning(
            "provisioning failed",
            extra={"request_id": request_id, "error_code": error.code, "step": error.step},
        )
        self.notifier.request_updated(view)
        self.notifier.provisioning_failed(view)
        self.notifier.tell_requester(view, DELAYED_TEXT.format(id=view.id, user=view.iam_user_name))

    # --- owners' actions -----------------------------------------------------

    def refusal(self, actor: str) -> str | None:
        """Why `actor` may not retry or roll back, or None when they may."""
        if actor not in self.config.slack.owners:
            return "only the account owners can retry or roll back provisioning"
        return None

    def retry(self, request_id: int, actor: str) -> ActionResult:
        """An owner's Retry: claim the failed request again (the caller then runs it)."""
        if (why := self.refusal(actor)) is not None:
            return ActionResult(False, why)
        with transaction(self.sessions) as session:
            repo = Repository(session)
            if not self._claim(repo, request_id, actor=actor, sources=(Status.FAILED,)):
                return ActionResult(False, self._not_in(repo, request_id, "failed"))
            view = request_view(repo, repo.get(request_id), self.config)
        self.notifier.request_updated(view)
        return ActionResult(True, f"retrying provisioning of request #{request_id}")

    def roll_back(self, request_id: int, actor: str) -> ActionResult:
        """An owner's Roll back: remove what the request created in IAM, then
        `failed|provisioned -> revoked`. The lease keeps a Retry from racing it."""
        if (why := self.refusal(actor)) is not None:
            return ActionResult(False, why)
        now = self.clock.now()
        with transaction(self.sessions) as session:
            repo = Repository(session)
            source = next(
                (
                    s
                    for s in (Status.FAILED, Status.PROVISIONED)
                    if repo.claim_lease(request_id, s, s, now=now, until=now + self.lease)
                ),
                None,
            )
            if source is None:
                return ActionResult(False, self._not_in(repo, request_id, "failed or provisioned"))
            view = request_view(repo, repo.get(request_id), self.config)
        lease = now + self.lease
        try:
            self.provisioner.roll_back(view)
        except ProvisioningError as exc:
            with transaction(self.sessions) as session:
                repo = Repository(session)
                repo.set_fields(
                    request_id, lease_expires_at=None, last_error=f"{exc.code}: {exc.message}"
                )
                repo.record(
                    request_id,
                    actor=actor,
                    kind="rollback_failed",
                    now=self.clock.now(),
                    code=exc.code,
                    message=exc.message,
                )
                view = request_view(repo, repo.get(request_id), self.config)
            self.notifier.request_updated(view)
            return ActionResult(False, f"roll back failed: {exc.code}: {exc.message}")
        now = self.clock.now()
        with transaction(self.sessions) as session:
            repo = Repository(session)
            repo.transition_holding(
                request_id, source, Status.REVOKED, lease=lease, now=now, lease_expires_at=None
            )
            repo.record(
                request_id,
                actor=actor,
                kind="rolled_back",
                now=now,
                iam_user=view.iam_user_name,
                previous=source.value,
            )
            view = request_view(repo, repo.get(request_id), self.config)
        self.notifier.request_updated(view)
        return ActionResult(True, f"rolled back request #{request_id}")

    def _not_in(self, repo: Repository, request_id: int, wanted: str) -> str:
        row = repo.get(request_id)
        if row is None:
            return f"request #{request_id} does not exist"
        if row.lease_expires_at is not None and row.status != Status.PROVISIONING.value:
            return f"request #{request_id} is being rolled back"
        return f"request #{request_id} is {row.status}, not {wanted}"

    # --- recovery sweep ------------------------------------------------------

    def recover(
        self, now: datetime | None = None, *, run: Callable[[int], Any] | None = None
    ) -> int:
        """Re-claim `provisioning` rows whose lease expired (their worker died) and
        `approved` rows nobody claimed; hand each to `run` (default: provision here).
        Returns how many were claimed. Safe to run on several replicas at once."""
        now = now or self.clock.now()
        run = run or self.run
        with self.sessions() as session:
            stale = list(
                session.scalars(
                    select(AccessRequest.id).where(
                        AccessRequest.status == Status.PROVISIONING.value,
                        AccessRequest.lease_expires_at <= now,
                    )
                )
            )
            waiting = list(
                session.scalars(
                    select(AccessRequest.id).where(
                        AccessRequest.status == Status.APPROVED.value,
                        AccessRequest.updated_at <= now - APPROVED_GRACE,
                    )
                )
            )
        claimed: list[int] = []
        for request_id in stale:
            with transaction(self.sessions) as session:
                repo = Repository(session)
                if repo.claim_lease(
                    request_id,
                    Status.PROVISIONING,
                    Status.PROVISIONING,
                    now=now,
                    until=now + self.lease,
                    provision_attempts=AccessRequest.provision_attempts + 1,
                ):
                    repo.record(request_id, actor=BOT_ACTOR, kind="provisioning_resumed", now=now)
                    claimed.append(request_id)
        for request_id in waiting:
            with transaction(self.sessions) as session:
                if self._claim(
                    Repository(session), request_id, actor=BOT_ACTOR, sources=(Status.APPROVED,)
                ):
                    claimed.append(request_id)
        for request_id in claimed:
            run(request_id)
        return len(claimed)


class ProvisioningWorker:
    """Runs provisioning off the Slack request thread. `submit` is what the approve
    use case's `on_approved` callback calls."""

    def __init__(self, service: ProvisioningService, *, max_workers: int = 2) -> None:
        self.service = service
        self.executor = ThreadPoolExecutor(max_workers, thread_name_prefix="provision")

    def submit(self, request_id: int) -> Future:
        return self.executor.submit(self._logged, self.service.process, request_id)

    def retry(self, request_id: int, actor: str) -> tuple[ActionResult, Future | None]:
        """Claim now (so the clicker hears at once if it is refused), run in background."""
        result = self.service.retry(request_id, actor)
        if not result.ok:
            return result, None
        return result, self.executor.submit(self._logged, self.service.run, request_id)

    def roll_back(self, request_id: int, actor: str) -> tuple[ActionResult, Future | None]:
        if (why := self.service.refusal(actor)) is not None:
            return ActionResult(False, why), None
        future = self.executor.submit(self._logged, self.service.roll_back, request_id, actor)
        return ActionResult(True, f"rolling back request #{request_id}"), future

    def recover(self, now: datetime | None = None) -> int:
        """The scheduler's sweep: claim in the caller's thread, provision in the pool."""
        return self.service.recover(
            now,
            run=lambda request_id: self.executor.submit(self._logged, self.service.run, request_id),
        )

    def shutdown(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=not wait)

    @staticmethod
    def _logged(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            # A failed future is silent; say what happened (no secrets in our errors).
            log.exception("provisioning job failed", extra={"args": args})
            raise
