"""Access reviews (bot/domain/reviews.py): every `[reviews] every` each account's owners
get the list of its active grants, with when each was last used, and Keep / Revoke each
one; reminders follow until every grant is decided; at `[reviews] deadline` what
nobody decided is kept or revoked per `[reviews] unreviewed`.

`sweep` is a scheduler job (bot/scheduler.py) safe on several replicas: a review is
opened once per account and period (the store's unique key), posted under a claim,
reminded under a claim, and each grant decided by a compare-and-set. Revoking goes
through RevokeService with cause REVIEW, like every other way access is taken back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.config import BotConfig, ReviewsConfig, Unreviewed
from bot.domain.policy import Action, Refusal
from bot.domain.ports import Clock
from bot.domain.reviews import (
    REVIEW_BOT,
    Decision,
    ReviewChanged,
    ReviewClosed,
    ReviewItem,
    ReviewNotifier,
    ReviewPosted,
    ReviewReminder,
    ReviewState,
    ReviewStatus,
    UsageReader,
    decision_text,
    pages_of,
    period_start,
    reminder_due,
    reminder_interval,
    reopen_too_soon,
)
from bot.domain.revocation import RevokeCause
from bot.domain.states import Status
from bot.domain.storage import RequestStore, ReviewStore
from bot.services.authority import permission, sentence

if TYPE_CHECKING:
    from bot.services.revoke import RevokeService

log = logging.getLogger(__name__)

# How long one sweep may take to post a review before another may try.
POSTING_CLAIM = timedelta(minutes=5)
# How long past the deadline a review stays open for revokes that could not start.
REVOKE_RETRY_GRACE = timedelta(days=1)
# Reminder timing for a review still open after [reviews] was removed from the config.
_NO_REVIEWS = ReviewsConfig(every=timedelta(days=90))


@dataclass(frozen=True)
class ReviewSweepResult:
    opened: list[int]
    posted: int = 0
    reminded: int = 0
    kept_by_policy: int = 0
    revoked_by_policy: int = 0
    closed: int = 0


@dataclass(frozen=True)
class ReviewAnswer:
    """What a Keep / Revoke click led to: `changed` when this click decided the grant;
    `message` is said to the clicker when it did not (or when the revoke failed)."""

    changed: bool
    message: str


class AccessReviews:
    def __init__(
        self,
        store: ReviewStore,
        requests: RequestStore,
        usage: UsageReader,
        notifier: ReviewNotifier,
        revoke: RevokeService | None,
        config: BotConfig,
        clock: Clock,
        *,
        sweep_every: timedelta,
    ) -> None:
        self.store = store
        self.requests = requests
        self.usage = usage
        self.notifier = notifier
        self.revoke_service = revoke
        self.config = config
        self.clock = clock
        self.sweep_every = sweep_every

    # --- the sweep -----------------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> ReviewSweepResult:
        now = now or self.clock.now()
        opened = self._open_due(now)
        posted = reminded = kept = revoked = closed = 0
        for state in self.store.open_reviews():
            state = self._settle_gone(state, now)
            self._finish_revokes(state, now)
            if state.review.deadline_at <= now:
                k, r = self._apply_policy(state, now)
                kept, revoked = kept + k, revoked + r
                state = self.store.get_review(state.review.id) or state
            posted += self._post(state, now)
            state = self.store.get_review(state.review.id) or state
            if not state.undecided:
                closed += self._close(state, now)
            elif self._remind(state, now):
                reminded += 1
        return ReviewSweepResult(opened, posted, reminded, kept, revoked, closed)

    def _open_due(self, now: datetime) -> list[int]:
        reviews = self.config.reviews
        if reviews is None:
            return []
        opened = []
        for account in self.config.all_accounts():
            if reopen_too_soon(self.store.last_opened_at(account.name), now, reviews.every):
                continue
            state = self.store.open_review(
                account.name,
                period_start=period_start(now, reviews.every),
                channel=self.config.approval_channel_of(account.name),
                deadline_at=now + reviews.deadline,
                now=now,
            )
            if state is not None:
                log.info("access review opened", extra={"review": state.review.id})
                opened.append(state.review.id)
        return opened

    def _settle_gone(self, state: ReviewState, now: datetime) -> ReviewState:
        """Grants that ended some other way (revoked, rolled back) need no decision."""
        undecided = state.undecided
        if not undecided:
            return state
        statuses = self.store.request_statuses([item.request_id for item in undecided])
        gone = [item for item in undecided if statuses.get(item.request_id) != Status.PROVISIONED]
        for item in gone:
            self.store.decide(item.id, Decision.GONE, actor=REVIEW_BOT, now=now, automatic=True)
        return (self.store.get_review(state.review.id) or state) if gone else state

    def _finish_revokes(self, state: ReviewState, now: datetime) -> None:
        """A Revoke decided but never begun (the process died, or the revoke could not
        start): start it again. Revokes that began are RevokeService's to finish."""
        revoke = [item for item in state.items if item.decision is Decision.REVOKE]
        if not revoke:
            return
        statuses = self.store.request_statuses([item.request_id for item in revoke])
        for item in revoke:
            if statuses.get(item.request_id) == Status.PROVISIONED:
                self._revoke(
                    item,
                    actor=item.decided_by or REVIEW_BOT,
                    reason=f"access review #{item.review_id}",
                    now=now,
                )

    def _apply_policy(self, state: ReviewState, now: datetime) -> tuple[int, int]:
        """The deadline passed: undecided grants are kept or revoked per `unreviewed`."""
        reviews = self.config.reviews
        policy = reviews.unreviewed if reviews is not None else Unreviewed.KEEP
        decision = Decision.REVOKE if policy is Unreviewed.REVOKE else Decision.KEEP
        kept = revoked = 0
        for item in state.undecided:
            decided = self.store.decide(
                item.id, decision, actor=REVIEW_BOT, now=now, automatic=True
            )
            if decided is None:
                continue  # an owner (or another replica) got there first
            if decision is Decision.REVOKE:
                revoked += 1
                self._revoke(
                    item,
                    actor=REVIEW_BOT,
                    reason=f"access review #{item.review_id}: not reviewed by the deadline",
                    now=now,
                )
            else:
                kept += 1
        return kept, revoked

    def _post(self, state: ReviewState, now: datetime) -> int:
        unposted = [item for item in state.items if item.message is None]
        if not unposted or state.review.status is not ReviewStatus.OPEN:
            return 0
        if not self.store.claim_posting(state.review.id, now=now, until=now + POSTING_CLAIM):
            return 0
        for item in unposted:
            if item.usage is None:
                request = self.requests.get(item.request_id)
                if request is not None:
                    self.store.record_usage(item.id, self.usage.usage(request))
        state = self.store.get_review(state.review.id) or state
        pages = pages_of([item for item in state.items if item.message is None])
        refs = self.notifier.notify(ReviewPosted(state, pages, self._owners(state))) or []
        self.store.set_messages(
            state.review.id,
            [
                (tuple(item.id for item in page), ref)
                for page, ref in zip(pages, refs, strict=False)
            ],
        )
        return 1 if refs else 0

    def _remind(self, state: ReviewState, now: datetime) -> bool:
        interval = reminder_interval(self.config.reviews or _NO_REVIEWS, self.sweep_every)
        review = state.review
        if review.message is None or not reminder_due(review, now, interval):
            return False
        claimed = self.store.claim_reminder(review.id, seen=review.last_reminded_at, now=now)
        if claimed is None:
            return False
        self.notifier.notify(
            ReviewReminder(claimed, self._owners(claimed), claimed.review.reminder_count)
        )
        return True

    def _revokes_pending(self, state: ReviewState, now: datetime) -> bool:
        """A Revoke was decided but has not begun (it could not start): the review stays
        open so the next sweeps start it again, until a day past the deadline."""
        if now >= state.review.deadline_at + REVOKE_RETRY_GRACE:
            return False
        revoke = [item.request_id for item in state.items if item.decision is Decision.REVOKE]
        statuses = self.store.request_statuses(revoke) if revoke else {}
        return any(status == Status.PROVISIONED for status in statuses.values())

    def _close(self, state: ReviewState, now: datetime) -> int:
        if self._revokes_pending(state, now):
            return 0
        reviews = self.config.reviews
        policy = (reviews.unreviewed if reviews is not None else Unreviewed.KEEP).value
        closed = self.store.close(state.review.id, now=now, unreviewed=policy)
        if closed is None:
            return 0
        if closed.review.message is not None:
            self.notifier.notify(ReviewClosed(closed, policy))
        return 1

    # --- an owner's Keep / Revoke --------------------------------------------------

    def keep(self, item_id: int, actor: str) -> ReviewAnswer:
        return self.decide(item_id, actor, Decision.KEEP)

    def revoke(self, item_id: int, actor: str) -> ReviewAnswer:
        return self.decide(item_id, actor, Decision.REVOKE)

    def decide(self, item_id: int, actor: str, decision: Decision) -> ReviewAnswer:
        now = self.clock.now()
        item = self.store.item(item_id)
        state = self.store.get_review(item.review_id) if item is not None else None
        if item is None or state is None:
            return ReviewAnswer(False, "That button does not belong to an access review.")
        if state.review.status is ReviewStatus.CLOSED:
            return ReviewAnswer(False, f"Access review #{state.review.id} is closed.")
        if item.decision is not None:
            return ReviewAnswer(False, _already(item))
        request = self.requests.get(item.request_id)
        if request is None:
            return ReviewAnswer(False, f"Request #{item.request_id} does not exist.")
        action = Action.REVIEW_KEEP if decision is Decision.KEEP else Action.REVIEW_REVOKE
        allowed = permission(self.config, action, actor, request)
        if not allowed.allowed:
            if allowed.refusal is Refusal.STATE:
                # The grant ended meanwhile: nothing is left to decide.
                self.store.decide(item.id, Decision.GONE, actor=REVIEW_BOT, now=now, automatic=True)
                self._after_decision(item, now)
                return ReviewAnswer(
                    False,
                    f"Request #{request.id} is already {request.status.value}: nothing to review.",
                )
            return ReviewAnswer(False, sentence(allowed.reason))
        decided = self.store.decide(item.id, decision, actor=actor, now=now)
        if decided is None:
            again = self.store.item(item.id)
            return ReviewAnswer(False, _already(again or item))
        message, changed = f"Kept request #{request.id} ({request.iam_user_name}).", True
        if decision is Decision.REVOKE:
            changed, message = self._revoke(
                decided, actor=actor, reason=f"access review #{item.review_id}", now=now
            )
        self._after_decision(decided, now)
        return ReviewAnswer(changed, sentence(message))

    def _after_decision(self, item: ReviewItem, now: datetime) -> None:
        state = self.store.get_review(item.review_id)
        if state is None:
            return
        page = tuple(i for i in state.items if item.message and i.message == item.message)
        if page:
            self.notifier.notify(ReviewChanged(state, page))
        if not state.undecided:
            self._close(state, now)

    def _revoke(
        self, item: ReviewItem, *, actor: str, reason: str, now: datetime
    ) -> tuple[bool, str]:
        """(done, what to tell the clicker). A revoke that fails stays `revoking` and is
        retried by RevokeService's recovery sweep; the decision stands."""
        if self.revoke_service is None:
            log.error("access review cannot revoke: no revoke service")
            return False, f"request #{item.request_id} could not be revoked"
        try:
            outcome = self.revoke_service.revoke(
                item.request_id, actor=actor, reason=reason, cause=RevokeCause.REVIEW, now=now
            )
        except Exception as exc:  # the decision stands: the review sweep starts it again
            log.error(
                "access review revoke failed: %s",
                type(exc).__name__,
                extra={"request_id": item.request_id},
            )
            return False, f"request #{item.request_id} could not be revoked now: will retry"
        return outcome.done, outcome.message

    def _owners(self, state: ReviewState) -> tuple[str, ...]:
        return self.config.owners_of(state.review.account)


def _already(item: ReviewItem) -> str:
    return f"Request #{item.request_id} was already reviewed: {decision_text(item)}."
