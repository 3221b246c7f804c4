"""Flow 6: take access back. One use case for every way in: an owner (Slack command,
Revoke button, App Home), the terminal (`aws-access-bot revoke`), a Slack deactivation,
the end of time-bound access and an access review.

`provisioned -> revoking` is a compare-and-set that takes the revoke lock and records
who, why, what set it off and the mode (`[offboarding] mode`); the IAM steps (the
`Revoker` port, bot/aws/revoke.py) each tolerate having been done, so a revoke that
failed or whose process died finishes when it runs again: the owners' click, or the
recovery sweep (`recover`), which takes `revoking` rows whose lock ran out or whose
retry is due. `revoking -> revoked` releases the lock and voids unopened links. The
IAM user is touched only when it is the one the bot made for this request (its path
and its request tag); anything else is refused and left as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.config import BotConfig
from bot.domain.errors import ProvisioningError
from bot.domain.events import AccessRevoked, RequestChanged, RevokeFailed, RevokeRefusedNotice
from bot.domain.policy import Action, Refusal, may_revoke_members
from bot.domain.ports import Clock, Notifier
from bot.domain.requests import RequestView
from bot.domain.revocation import (
    REVOCABLE,
    RevocationStore,
    RevokeCause,
    RevokeMode,
    RevokeOutcome,
    RevokePlan,
    Revoker,
    RevokeRefused,
)
from bot.domain.states import Status
from bot.domain.storage import Lease, LockRefusal, RequestStore
from bot.services.authority import current, lock_refusal_text, permission

log = logging.getLogger(__name__)

BOT_ACTOR = "aws-access-bot"
# Longer than the revoker's worst case (a dozen IAM calls with step retries), so a live
# revoke never loses its lock to the recovery sweep.
DEFAULT_LOCK = timedelta(minutes=15)
# A failed revoke is tried again by the recovery sweep after this long.
DEFAULT_RETRY = timedelta(minutes=5)
REFUSED_CODE = "NotCreatedByBot"


@dataclass(frozen=True)
class GrantPlan:
    """One active grant and what revoking it would remove (the confirm modal)."""

    request: RequestView
    plan: RevokePlan | None  # None: IAM could not be asked (the error is in `problem`)
    problem: str = ""


class RevokeService:
    def __init__(
        self,
        store: RevocationStore,
        requests: RequestStore,
        revoker: Revoker,
        notifier: Notifier,
        clock: Clock,
        config: BotConfig,
        *,
        lock: timedelta = DEFAULT_LOCK,
        retry_after: timedelta = DEFAULT_RETRY,
    ) -> None:
        self.store = store
        self.requests = requests
        self.revoker = revoker
        self.notifier = notifier
        self.clock = clock
        self.config = config
        self.lock = lock
        self.retry_after = retry_after

    # --- the use case ----------------------------------------------------------------

    def revoke(
        self,
        request_id: int,
        *,
        actor: str,
        reason: str,
        cause: RevokeCause,
        now: datetime | None = None,
    ) -> RevokeOutcome:
        """Revoke one grant with `[offboarding] mode`. An owner (cause OWNER) is checked
        against the authorization table; the terminal and the bot's own causes are not.
        Idempotent: an already revoked request is `done`; a `revoking` one is resumed."""
        now = now or self.clock.now()
        request = self.requests.get(request_id)
        if request is None:
            return RevokeOutcome(None, False, f"request #{request_id} does not exist")
        if cause is RevokeCause.OWNER:
            allowed = permission(self.config, Action.REVOKE, actor, request)
            if not allowed.allowed and allowed.refusal is not Refusal.STATE:
                return RevokeOutcome(request, False, allowed.reason)
        if request.status is Status.REVOKED:
            return RevokeOutcome(request, True, f"request #{request_id} is already revoked")
        if request.status not in REVOCABLE:
            return RevokeOutcome(
                request,
                False,
                f"request #{request_id} is {request.status.value}: only provisioned access "
                "can be revoked",
            )
        if request.status is Status.PROVISIONED:
            refused = self._check_ownership(request, actor=actor, cause=cause, now=now)
            if refused is not None:
                return refused
        lease = self.store.begin_revoke(
            request_id,
            actor=actor,
            reason=reason.strip(),
            cause=cause,
            mode=self.config.offboarding.mode,
            now=now,
            until=now + self.lock,
        )
        if isinstance(lease, LockRefusal):
            if lease.request is not None and lease.request.status is Status.REVOKED:
                return RevokeOutcome(lease.request, True, f"request #{request_id} is revoked")
            return RevokeOutcome(
                lease.request,
                False,
                lock_refusal_text(request_id, lease, "provisioned"),
            )
        self.notifier.notify(RequestChanged(current(lease.request, self.config)))
        return self.run(lease)

    def run(self, lease: Lease) -> RevokeOutcome:
        """The IAM steps under the revoke lock this caller holds, then `-> revoked`."""
        request = lease.request
        mode = RevokeMode(request.revoke_mode or self.config.offboarding.mode)
        try:
            self.revoker.revoke(request, mode)
        except RevokeRefused as exc:
            # The name now belongs to someone else's user: never touched; an owner decides.
            return self._failed(lease, REFUSED_CODE, exc.message, retry=False)
        except ProvisioningError as exc:
            return self._failed(lease, exc.code, exc.message, retry=True)
        except Exception as exc:  # a bug must not leave the request locked
            log.exception("revoke crashed", extra={"request_id": request.id})
            return self._failed(lease, "InternalError", type(exc).__name__, retry=True)
        view = self.store.finish_revoke(lease, now=self.clock.now())
        if view is None:
            log.warning("revoke lost its lock", extra={"request_id": request.id})
            return RevokeOutcome(
                request, False, f"request #{request.id} changed while it was being revoked"
            )
        log.info(
            "revoked",
            extra={"request_id": view.id, "mode": mode.value, "cause": view.revoke_cause},
        )
        self.notifier.notify(AccessRevoked(current(view, self.config)))
        return RevokeOutcome(view, True, f"revoked request #{view.id} ({mode.value})")

    # --- the recovery sweep ----------------------------------------------------------

    def recover(self, now: datetime | None = None) -> int:
        """Finish `revoking` requests whose process died (lock ran out) or whose failed
        revoke is due again. Returns how many were taken; safe on several replicas."""
        now = now or self.clock.now()
        taken = 0
        for request_id in self.store.stale_revoking(now):
            lease = self.store.resume_revoke(request_id, now=now, until=now + self.lock)
            if lease is None:
                continue
            taken += 1
            self.run(lease)
        return taken

    # --- what the owners see before they confirm --------------------------------------

    def grants_of_member(self, actor: str, member: str) -> list[RequestView]:
        """The active (or unfinished revoking) grants of `member` that `actor` may revoke
        (`/revoke-aws-access`; the caller checked `may_revoke_members` first)."""
        if not may_revoke_members(self.config.is_owner(actor)).allowed:
            return []
        found = self.requests.list(
            statuses=REVOCABLE,
            requester_id=member,
            newest_first=False,
        )
        return [
            current(grant, self.config)
            for grant in found
            if permission(self.config, Action.REVOKE, actor, grant).allowed
        ]

    def grant_for(self, actor: str, request_id: int) -> RequestView | str:
        """The grant behind a Revoke button, or why `actor` may not revoke it."""
        request = self.requests.get(request_id)
        if request is None:
            return f"request #{request_id} does not exist"
        allowed = permission(self.config, Action.REVOKE, actor, request)
        if allowed.allowed:
            return current(request, self.config)
        if allowed.refusal is Refusal.STATE:
            return f"request #{request_id} is {request.status.value}: nothing to revoke"
        return allowed.reason

    def plan_of(self, grant: RequestView) -> GrantPlan:
        try:
            return GrantPlan(grant, self.revoker.plan(grant))
        except RevokeRefused as exc:
            return GrantPlan(grant, None, exc.message)
        except ProvisioningError as exc:
            return GrantPlan(grant, None, f"could not read it from IAM ({exc.code})")

    def active_grants(self, actor: str) -> list[RequestView]:
        """Provisioned (and still revoking) grants of the accounts `actor` owns: the
        owners' App Home "Active access" list."""
        accounts = self.config.accounts_owned_by(actor)
        if not accounts:
            return []
        return [
            current(r, self.config)
            for r in self.requests.list(
                statuses=REVOCABLE,
                accounts=accounts,
                newest_first=False,
            )
        ]

    def find_by_iam_user(self, user_name: str) -> RequestView | None:
        """The grant holding IAM user `user_name` (the terminal's `--user`): the
        provisioned or revoking one, else the newest of that name."""
        wanted = user_name.casefold()
        rows = [r for r in self.requests.list() if r.iam_user_name.casefold() == wanted]
        for row in rows:
            if row.status in REVOCABLE:
                return row
        return rows[0] if rows else None

    # --- helpers ---------------------------------------------------------------------

    def _check_ownership(
        self, request: RequestView, *, actor: str, cause: RevokeCause, now: datetime
    ) -> RevokeOutcome | None:
        """Refuse, touching nothing, when the IAM user is not the one the bot made for
        this request. AWS failing to answer is not a refusal: the revoke begins and
        its IAM steps (which check again) are retried."""
        try:
            self.revoker.owned(request)
        except RevokeRefused as exc:
            if not self._refused_already(request.id, exc.message):
                # Once per reason: a sweep asking again (expiry, deactivation) adds nothing.
                self.store.record_refusal(
                    request.id, actor=actor, cause=cause, message=exc.message, now=now
                )
                self.notifier.notify(
                    RevokeRefusedNotice(current(request, self.config), exc.message)
                )
            return RevokeOutcome(request, False, exc.message)
        except ProvisioningError:
            return None
        return None

    def _refused_already(self, request_id: int, message: str) -> bool:
        events = self.requests.audit_of(request_id)
        last = events[-1] if events else None
        return (
            last is not None
            and last.kind == "revoke_refused"
            and last.detail.get("message") == message
        )

    def _failed(self, lease: Lease, code: str, message: str, *, retry: bool) -> RevokeOutcome:
        now = self.clock.now()
        view = self.store.revoke_failed(
            lease,
            code=code,
            message=message,
            retry_at=now + self.retry_after if retry else None,
            now=now,
        )
        request = view or lease.request
        log.warning(
            "revoke failed", extra={"request_id": request.id, "error_code": code, "retry": retry}
        )
        if view is not None and _news(lease.request, view):
            self.notifier.notify(RevokeFailed(current(view, self.config)))
        what = "it will be retried" if retry else "an owner must look at it"
        return RevokeOutcome(request, False, f"revoke failed: {code}: {message} ({what})")


def _news(before: RequestView, after: RequestView) -> bool:
    """Tell the owners about a failure once, not on every retry of the same error."""
    return before.last_error != after.last_error
