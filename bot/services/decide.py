"""Flow 2: owners approve or deny a pending request; a requester may cancel theirs.

Who may decide is the authorization table's answer (bot/domain/policy.py) for the
owners of the request's account; how many approvals it needs is the larger of its
frozen and the current requirement (bot/domain/rules.py). The store decides races: its
operations are compare-and-set, so duplicate clicks, two owners at once or two replicas
produce exactly one state change. People are told after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.config import BotConfig
from bot.domain.errors import RequestNotFound
from bot.domain.events import RequestApproved, RequestCancelled, RequestChanged, RequestDenied
from bot.domain.policy import Action, Refusal, Verdict
from bot.domain.ports import Clock, Notifier
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.storage import RequestStore
from bot.domain.text import cleaned
from bot.services.authority import current, permission, sentence, state_sentence

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    APPROVED = "approved"  # this click completed the approvals
    RECORDED = "recorded"  # counted; more approvals needed
    DENIED = "denied"
    CANCELLED = "cancelled"
    REFUSED = "refused"  # the authorization table said no
    DUPLICATE = "duplicate"  # this owner had approved already
    ALREADY_DECIDED = "already_decided"  # the request is no longer pending
    NOT_FOUND = "not_found"


CHANGED = frozenset({Outcome.APPROVED, Outcome.RECORDED, Outcome.DENIED, Outcome.CANCELLED})


@dataclass(frozen=True)
class DecisionResult:
    outcome: Outcome
    message: str  # a sentence for the person who clicked (mrkdwn-safe)
    request: RequestView | None = None

    @property
    def changed(self) -> bool:
        return self.outcome in CHANGED


def _noop(_request_id: int) -> None:
    return None


class Decisions:
    def __init__(
        self,
        store: RequestStore,
        config: BotConfig,
        clock: Clock,
        notifier: Notifier,
        *,
        on_approved: Callable[[int], None] = _noop,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.notifier = notifier
        self.on_approved = on_approved

    def check(self, action: Action, request_id: int, actor: str) -> DecisionResult | None:
        """Why `actor` cannot take `action` now (e.g. before asking for a deny reason)."""
        request = self.store.get(request_id)
        if request is None:
            return _not_found(request_id)
        return self._refusal(action, actor, request)

    def check_deny(self, request_id: int, actor: str) -> DecisionResult | None:
        return self.check(Action.DENY, request_id, actor)

    def approve(self, request_id: int, actor: str) -> DecisionResult:
        request = self.store.get(request_id)
        if request is None:
            return _not_found(request_id)
        if refused := self._refusal(Action.APPROVE, actor, request):
            return refused
        required = current(request, self.config).approvals_required
        try:
            result = self.store.approve(request_id, actor, required, self.clock.now())
        except RequestNotFound:
            return _not_found(request_id)
        after = current(result.request, self.config)
        if result.count is None:
            return DecisionResult(Outcome.ALREADY_DECIDED, state_sentence(after), after)
        count = result.count
        if count.verdict is Verdict.DUPLICATE:
            return DecisionResult(
                Outcome.DUPLICATE,
                f"You already approved this request ({count.approvals} of {count.required} "
                "approvals).",
                after,
            )
        if count.verdict is Verdict.APPROVED:
            self.notifier.notify(RequestApproved(after, actor))
            try:
                self.on_approved(request_id)
            except Exception:  # the row is approved; the recovery sweep picks it up
                log.exception("could not hand request #%s to provisioning", request_id)
            return DecisionResult(Outcome.APPROVED, f"You approved request #{request_id}.", after)
        self.notifier.notify(RequestChanged(after))
        return DecisionResult(
            Outcome.RECORDED,
            f"Your approval of request #{request_id} is recorded "
            f"({count.approvals} of {count.required} approvals).",
            after,
        )

    def deny(self, request_id: int, actor: str, reason: str = "") -> DecisionResult:
        request = self.store.get(request_id)
        if request is None:
            return _not_found(request_id)
        if refused := self._refusal(Action.DENY, actor, request):
            return refused
        # Cleaned, not refused: the decision stands whatever was pasted (bot/domain/text.py).
        denied = self.store.deny(request_id, actor, cleaned(reason).strip(), self.clock.now())
        if denied is None:
            return self._already_decided(request_id)
        denied = current(denied, self.config)
        self.notifier.notify(RequestDenied(denied, actor))
        return DecisionResult(Outcome.DENIED, f"You denied request #{request_id}.", denied)

    def cancel(self, request_id: int, actor: str) -> DecisionResult:
        """The requester withdraws their own pending request."""
        request = self.store.get(request_id)
        if request is None:
            return _not_found(request_id)
        if refused := self._refusal(Action.CANCEL, actor, request):
            return refused
        cancelled = self.store.cancel(request_id, actor, self.clock.now())
        if cancelled is None:
            return self._already_decided(request_id)
        cancelled = current(cancelled, self.config)
        self.notifier.notify(RequestCancelled(cancelled))
        return DecisionResult(Outcome.CANCELLED, f"You cancelled request #{request_id}.", cancelled)

    def _refusal(self, action: Action, actor: str, request: RequestView) -> DecisionResult | None:
        allowed = permission(self.config, action, actor, request)
        if allowed.allowed:
            return None
        if allowed.refusal is Refusal.STATE and request.status is not Status.PENDING:
            return DecisionResult(Outcome.ALREADY_DECIDED, state_sentence(request), request)
        if allowed.refusal is Refusal.PROFILE:
            return DecisionResult(
                Outcome.REFUSED,
                f"Request #{request.id} cannot be approved: {allowed.reason}.",
                request,
            )
        return DecisionResult(Outcome.REFUSED, sentence(allowed.reason), request)

    def _already_decided(self, request_id: int) -> DecisionResult:
        request = self.store.get(request_id)
        if request is None:  # pragma: no cover - rows are never deleted
            return _not_found(request_id)
        return DecisionResult(Outcome.ALREADY_DECIDED, state_sentence(request), request)


def _not_found(request_id: int) -> DecisionResult:
    return DecisionResult(Outcome.NOT_FOUND, f"Request #{request_id} does not exist.")
