"""Flow 3: after the final approval, create the IAM user in the background.

A worker claims a request with a compare-and-set (`approved|failed -> provisioning`)
and a lease. Success is one store operation: `provisioning -> provisioned`, the
credentials sealed into their one-time link, the audit event; so a request is
provisioned if and only if its link exists. A failure moves the request to `failed`
with AWS's error for the owners (Retry / Roll back). A process that dies mid-way leaves
its lease to expire; `recover()` (run periodically by the scheduler) picks the request
up again, and the provisioner's idempotent steps finish the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import crypto
from bot.domain.config import BotConfig
from bot.domain.errors import ProvisioningError
from bot.domain.events import CredentialsIssued, ProvisioningFailed, RequestChanged, RolledBack
from bot.domain.policy import RULES_UNKNOWN, Action, Refusal
from bot.domain.ports import Clock, Notifier, Provisioner
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.storage import Lease, LockRefusal, ProvisioningStore, RequestStore
from bot.services.authority import lock_refusal_text, permission

log = logging.getLogger(__name__)

BOT_ACTOR = "aws-access-bot"
# Longer than the provisioner's worst case (step retries + about a minute of key
# verification), so a live worker never loses its lease to the recovery sweep.
DEFAULT_LEASE = timedelta(minutes=15)
# An approved request is normally claimed within milliseconds by the worker the
# approval submitted it to; the sweep only takes rows that waited longer than this.
APPROVED_GRACE = timedelta(minutes=1)


@dataclass(frozen=True)
class ActionResult:
    """What an owner's click led to; `message` is safe to show them."""

    ok: bool
    message: str
    # A Retry's claim: the worker provisions under it (never under whatever lease is
    # current by then, which may be another worker's).
    lease: Lease | None = field(default=None, repr=False, compare=False)


class ProvisioningService:
    def __init__(
        self,
        store: ProvisioningStore,
        requests: RequestStore,
        provisioner: Provisioner,
        notifier: Notifier,
        clock: Clock,
        config: BotConfig,
        *,
        public_url: str,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.store = store
        self.requests = requests
        self.provisioner = provisioner
        self.notifier = notifier
        self.clock = clock
        self.config = config
        self.public_url = public_url
        self.lease = lease
        # Time-bound access (flow 6): an approved extension request makes nothing in IAM;
        # this (bot/services/time_bound.py, wired by the container) applies it instead.
        self.extensions: Callable[[Lease], RequestView | None] | None = None

    # --- claiming ------------------------------------------------------------

    def claim(self, request_id: int) -> Lease | None:
        """Take an `approved` (or `failed`, for a retry) request for provisioning.
        A lease for exactly one of any number of concurrent callers."""
        now = self.clock.now()
        claimed = self.store.claim_provisioning(
            request_id,
            sources=(Status.APPROVED, Status.FAILED),
            actor=BOT_ACTOR,
            now=now,
            until=now + self.lease,
        )
        return claimed if isinstance(claimed, Lease) else None

    def process(self, request_id: int) -> RequestView | None:
        """Claim and provision; what the worker runs for an approved request."""
        lease = self.claim(request_id)
        return self.run(lease) if lease is not None else None

    # --- provisioning --------------------------------------------------------

    def run(self, lease: Lease) -> RequestView | None:
        """Provision a request under the lease this caller took. Returns the provisioned
        view, or None when it failed or the lease was lost to another worker."""
        request_id = lease.request.id
        if not lease.request.rules_frozen:
            # Stored before rules were frozen and its profile is gone: there is nothing
            # to grant, and a user with no rules is not what anyone approved.
            self._fail(lease, ProvisioningError("RulesUnknown", RULES_UNKNOWN, permanent=True))
            return None
        if lease.request.extends_request_id is not None and self.extensions is not None:
            self.extensions(lease)
            return None
        try:
            credentials = self.provisioner.provision(lease.request)
        except ProvisioningError as exc:
            self._fail(lease, exc)
            return None
        except Exception as exc:  # a bug must not leave the request stuck in provisioning
            log.exception("provisioning crashed", extra={"request_id": request_id})
            self._fail(
                lease, ProvisioningError("InternalError", type(exc).__name__, permanent=False)
            )
            return None
        now = self.clock.now()
        sealed, link = crypto.seal_link(
            credentials, public_url=self.public_url, expires_at=now + self.config.links.ttl
        )
        try:
            view = self.store.finish_provisioning(
                lease,
                sealed,
                access_key_id=credentials.access_key_id,
                console=credentials.password is not None,
                now=now,
            )
        except Exception as exc:
            # Nothing committed: the user exists in IAM, Retry re-keys and re-seals it.
            log.exception("sealing credentials failed", extra={"request_id": request_id})
            self._fail(
                lease,
                ProvisioningError(
                    "CredentialLinkError",
                    f"could not store the credential link ({type(exc).__name__})",
                    permanent=False,
                    step="seal",
                ),
            )
            return None
        if view is None:
            log.warning(
                "provisioning lease was lost; another worker finishes this request",
                extra={"request_id": request_id},
            )
            return None
        dm = self.notifier.notify(CredentialsIssued(view, link))
        if dm is not None:  # the link's DM is the requester's thread: "opened" replies there
            self.requests.set_requester_dm(request_id, dm)
        return view

    def _fail(self, lease: Lease, error: ProvisioningError) -> None:
        view = self.store.fail_provisioning(
            lease,
            code=error.code,
            message=error.message,
            step=error.step,
            permanent=error.permanent,
            now=self.clock.now(),
        )
        if view is None:
            return
        log.warning(
            "provisioning failed",
            extra={"request_id": view.id, "error_code": error.code, "step": error.step},
        )
        self.notifier.notify(ProvisioningFailed(view))

    # --- owners' actions -----------------------------------------------------

    def refusal(self, action: Action, request_id: int, actor: str) -> str | None:
        """Why `actor` may not take `action` (retry, roll back) now, or None."""
        request = self.requests.get(request_id)
        if request is None:
            return f"request #{request_id} does not exist"
        allowed = permission(self.config, action, actor, request)
        if allowed.allowed:
            return None
        if allowed.refusal is Refusal.STATE:
            wanted = "failed" if action is Action.RETRY else "failed or provisioned"
            return f"request #{request_id} is {request.status.value}, not {wanted}"
        return allowed.reason

    def retry(self, request_id: int, actor: str) -> ActionResult:
        """An owner's Retry: claim the failed request again (the caller then runs it)."""
        if (why := self.refusal(Action.RETRY, request_id, actor)) is not None:
            return ActionResult(False, why)
        now = self.clock.now()
        claimed = self.store.claim_provisioning(
            request_id, sources=(Status.FAILED,), actor=actor, now=now, until=now + self.lease
        )
        if isinstance(claimed, LockRefusal):
            return ActionResult(False, lock_refusal_text(request_id, claimed, "failed"))
        self.notifier.notify(RequestChanged(claimed.request))
        return ActionResult(True, f"retrying provisioning of request #{request_id}", claimed)

    def roll_back(self, request_id: int, actor: str) -> ActionResult:
        """An owner's Roll back: remove what the request created in IAM, then
        `failed|provisioned -> revoked`. Its own lock keeps a Retry or a re-issue out."""
        if (why := self.refusal(Action.ROLL_BACK, request_id, actor)) is not None:
            return ActionResult(False, why)
        now = self.clock.now()
        locked = self.store.lock_for_rollback(request_id, now=now, until=now + self.lease)
        if isinstance(locked, LockRefusal):
            return ActionResult(
                False, lock_refusal_text(request_id, locked, "failed or provisioned")
            )
        try:
            self.provisioner.roll_back(locked.request)
        except ProvisioningError as exc:
            view = self.store.rollback_failed(
                locked, actor=actor, code=exc.code, message=exc.message, now=self.clock.now()
            )
            self.notifier.notify(RequestChanged(view))
            return ActionResult(False, f"roll back failed: {exc.code}: {exc.message}")
        view = self.store.finish_rollback(locked, actor=actor, now=self.clock.now())
        if view is None:
            # The roll back outlived its lock and other work took the request meanwhile.
            log.warning("roll back lost its lock", extra={"request_id": request_id})
            return ActionResult(
                False, f"request #{request_id} changed while it was being rolled back"
            )
        self.notifier.notify(RolledBack(view, actor))
        return ActionResult(True, f"rolled back request #{request_id}")

    # --- recovery sweep ------------------------------------------------------

    def recover(
        self, now: datetime | None = None, *, run: Callable[[Lease], Any] | None = None
    ) -> int:
        """Re-claim `provisioning` rows whose lease expired (their worker died) and
        `approved` rows nobody claimed; hand each to `run` (default: provision here).
        Returns how many were claimed. Safe to run on several replicas at once."""
        now = now or self.clock.now()
        run = run or self.run
        until = now + self.lease
        claimed: list[Lease] = []
        for request_id in self.store.stale_provisioning(now):
            if resumed := self.store.resume_provisioning(request_id, now=now, until=until):
                claimed.append(resumed)
        for request_id in self.store.unclaimed_approved(now - APPROVED_GRACE):
            lease = self.store.claim_provisioning(
                request_id, sources=(Status.APPROVED,), actor=BOT_ACTOR, now=now, until=until
            )
            if isinstance(lease, Lease):
                claimed.append(lease)
        for lease in claimed:
            run(lease)
        return len(claimed)
