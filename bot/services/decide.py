"""Flow 2: owners approve or deny a pending request; a requester may cancel theirs.

Every decision is decided in the database: the pending row is claimed (`guard`) or
moved (`transition`) with a compare-and-set, so duplicate clicks, two owners at once or
two replicas produce exactly one state change. People are told after the commit, from a
fresh read of the row, so a slow notification never shows an older state over a newer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.policy import Verdict, decide_approval, may_decide
from bot.domain.ports import Clock, Notifier
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import BotConfig
from bot.slack.blocks import escape
from bot.store.db import transaction
from bot.store.models import AccessRequest
from bot.store.repository import Repository
from bot.store.views import request_view

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    APPROVED = "approved"  # this click completed the approvals
    RECORDED = "recorded"  # counted; more approvals needed
    DENIED = "denied"
    CANCELLED = "cancelled"
    REFUSED = "refused"  # not an owner, or the requester's own request
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


class _NoChange(Exception):
    """Leave the transaction without writing anything."""

    def __init__(self, result: DecisionResult) -> None:
        self.result = result


def _noop(_request_id: int) -> None:
    return None


def state_sentence(request: RequestView) -> str:
    """What an actor is told when they click on a request that is no longer pending."""
    who = f" by <@{request.decided_by}>" if request.decided_by else ""
    return f"Request #{request.id} is already {request.status.value}{who}."


class Decisions:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: BotConfig,
        clock: Clock,
        notifier: Notifier,
        *,
        on_approved: Callable[[int], None] = _noop,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.clock = clock
        self.notifier = notifier
        self.on_approved = on_approved

    # --- approve -------------------------------------------------------------

    def approve(self, request_id: int, actor: str) -> DecisionResult:
        try:
            with transaction(self.sessions) as session:
                result = self._approve(Repository(session), request_id, actor)
        except _NoChange as nothing:
            return nothing.result
        return self._after(result, actor, request_id)

    def _approve(self, repo: Repository, request_id: int, actor: str) -> DecisionResult:
        row = self._row(repo, request_id)
        if problem := self._refusal(actor, row, approving=True):
            raise _NoChange(problem)
        now = self.clock.now()
        # Claim the pending row first: from here on, concurrent deciders of this request
        # wait for our commit and then see whatever we decided.
        if not repo.guard(request_id, Status.PENDING, now=now):
            raise _NoChange(self._already_decided(repo, row))
        profile = self.config.profile(row.profile)
        decision = decide_approval(
            actor=actor,
            requester=row.requester_id,
            owners=self.config.slack.owners,
            existing_approvers=repo.approvers(request_id),
            required=profile.approvals_required if profile else 1,
        )
        if decision.verdict is Verdict.DUPLICATE or not repo.add_approval(
            request_id, actor, now=now
        ):
            raise _NoChange(DecisionResult(Outcome.DUPLICATE, _sentence(decision.reason)))
        repo.record(
            request_id,
            actor=actor,
            kind="approval",
            now=now,
            approvals=decision.approvals,
            required=decision.required,
        )
        if decision.verdict is Verdict.APPROVED:
            moved = repo.transition(
                request_id,
                Status.PENDING,
                Status.APPROVED,
                now=now,
                decided_at=now,
                decided_by=actor,
            )
            if not moved:  # pragma: no cover - the guard above holds the row
                raise RuntimeError(f"request #{request_id} left pending while claimed")
            repo.record(request_id, actor=actor, kind="approved", now=now)
            return DecisionResult(Outcome.APPROVED, f"You approved request #{request_id}.")
        return DecisionResult(
            Outcome.RECORDED,
            f"Your approval of request #{request_id} is recorded "
            f"({decision.approvals} of {decision.required} approvals).",
        )

    # --- deny / cancel -------------------------------------------------------

    def check_deny(self, request_id: int, actor: str) -> DecisionResult | None:
        """Why `actor` cannot deny this request now (before asking for a reason), or None."""
        with self.sessions() as session:
            repo = Repository(session)
            row = repo.get(request_id)
            if row is None:
                return DecisionResult(Outcome.NOT_FOUND, f"Request #{request_id} does not exist.")
            if problem := self._refusal(actor, row, approving=False):
                return problem
            if row.status != Status.PENDING:
                return self._already_decided(repo, row)
            return None

    def deny(self, request_id: int, actor: str, reason: str = "") -> DecisionResult:
        reason = reason.strip()
        try:
            with transaction(self.sessions) as session:
                repo = Repository(session)
                row = self._row(repo, request_id)
                if problem := self._refusal(actor, row, approving=False):
                    raise _NoChange(problem)
                now = self.clock.now()
                if not repo.transition(
                    request_id,
                    Status.PENDING,
                    Status.DENIED,
                    now=now,
                    decided_at=now,
                    decided_by=actor,
                    deny_reason=reason or None,
                ):
                    raise _NoChange(self._already_decided(repo, row))
                repo.record(request_id, actor=actor, kind="denied", now=now, reason=reason)
                result = DecisionResult(Outcome.DENIED, f"You denied request #{request_id}.")
        except _NoChange as nothing:
            return nothing.result
        return self._after(result, actor, request_id)

    def cancel(self, request_id: int, actor: str) -> DecisionResult:
        """The requester withdraws their own pending request."""
        try:
            with transaction(self.sessions) as session:
                repo = Repository(session)
                row = self._row(repo, request_id)
                if row.requester_id != actor:
                    raise _NoChange(
                        DecisionResult(Outcome.REFUSED, "Only the requester can cancel a request.")
                    )
                now = self.clock.now()
                if not repo.transition(
                    request_id,
                    Status.PENDING,
                    Status.CANCELLED,
                    now=now,
                    decided_at=now,
                    decided_by=actor,
                ):
                    raise _NoChange(self._already_decided(repo, row))
                repo.record(request_id, actor=actor, kind="cancelled", now=now)
                result = DecisionResult(Outcome.CANCELLED, f"You cancelled request #{request_id}.")
        except _NoChange as nothing:
            return nothing.result
        return self._after(result, actor, request_id)

    # --- helpers -------------------------------------------------------------

    def _row(self, repo: Repository, request_id: int) -> AccessRequest:
        row = repo.get(request_id)
        if row is None:
            raise _NoChange(
                DecisionResult(Outcome.NOT_FOUND, f"Request #{request_id} does not exist.")
            )
        return row

    def _refusal(self, actor: str, row: AccessRequest, *, approving: bool) -> DecisionResult | None:
        problem = may_decide(actor, row.requester_id, self.config.slack.owners)
        if problem is None:
            return None
        if approving and actor == row.requester_id and actor in self.config.slack.owners:
            problem = "you cannot approve your own request"
        return DecisionResult(Outcome.REFUSED, _sentence(problem))

    def _already_decided(self, repo: Repository, row: AccessRequest) -> DecisionResult:
        current = request_view(repo, repo.get(row.id) or row, self.config)
        return DecisionResult(Outcome.ALREADY_DECIDED, state_sentence(current), current)

    def _view(self, request_id: int) -> RequestView | None:
        with self.sessions() as session:
            repo = Repository(session)
            row = repo.get(request_id)
            return request_view(repo, row, self.config) if row else None

    def _after(self, result: DecisionResult, actor: str, request_id: int) -> DecisionResult:
        """After the commit: update the approval message, tell the requester, hand off."""
        view = self._view(request_id)
        if view is None:  # pragma: no cover - rows are never deleted
            return result
        self.notifier.request_updated(view)
        if result.outcome is Outcome.APPROVED:
            self.notifier.tell_requester(
                view,
                f"Your request #{view.id} for *{escape(view.profile)}* was approved by "
                f"<@{actor}>. Your IAM user is being created; the one-time link to your "
                "credentials will arrive here.",
            )
            try:
                self.on_approved(view.id)
            except Exception:  # the row is approved; the recovery sweep picks it up
                log.exception("could not hand request #%s to provisioning", view.id)
        elif result.outcome is Outcome.DENIED:
            because = f" Reason: {escape(view.deny_reason)}" if view.deny_reason else ""
            self.notifier.tell_requester(
                view,
                f"Your request #{view.id} for *{escape(view.profile)}* was denied by "
                f"<@{actor}>.{because}",
            )
        return DecisionResult(result.outcome, result.message, view)


def _sentence(reason: str) -> str:
    text = reason[:1].upper() + reason[1:]
    return text if text.endswith(".") else text + "."
