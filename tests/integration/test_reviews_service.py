"""The access review use case (bot/services/reviews.py) over the real store, on SQLite
and PostgreSQL: replicas sweeping at once open and post one review; grants that ended
otherwise need no decision; reviews are off without `[reviews] every`; and
`aws-access-bot audit --review ID` prints the report (exit 1 for an unknown id)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bot.cli import main
from bot.domain.config import BotConfig
from bot.domain.requests import MessageRef, RequestView
from bot.domain.reviews import (
    Decision,
    GrantUsage,
    ReviewChanged,
    ReviewClosed,
    ReviewPosted,
    ReviewStatus,
)
from bot.domain.revocation import RevokeOutcome
from bot.services.reviews import AccessReviews
from bot.store import Stores
from tests.support.concurrency import race
from tests.support.configs import DEVELOPER, bot_config, config_toml
from tests.support.requests import approved, provision
from tests.support.vault import sample_credentials

OWNERS = ("U0OWNER1", "U0OWNER2")


def config(reviews: str = 'every = "90d"\ndeadline = "14d"') -> BotConfig:
    extra = f"[reviews]\n{reviews}\n" if reviews else ""
    return bot_config(config_toml(DEVELOPER, owners=OWNERS, extra=extra))


@dataclass
class Recorded:
    """The review notifier port, recording; each page gets a message ref."""

    events: list[object] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notify(self, event):  # noqa: ANN001, ANN201 - the port's signature
        with self.lock:
            self.events.append(event)
            if isinstance(event, ReviewPosted):
                return [
                    MessageRef("C0APPROVALS", f"17.{len(self.events)}.{i}")
                    for i, _ in enumerate(event.pages)
                ]
        return None

    def of(self, kind: type) -> list:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]


class FixedUsage:
    def usage(self, request: RequestView) -> GrantUsage:
        return GrantUsage(last_key_use=None, last_console_use=None)


def reviews_over(stores: Stores, cfg: BotConfig, clock, notifier: Recorded) -> AccessReviews:
    return AccessReviews(
        stores.reviews,
        stores.requests,
        FixedUsage(),
        notifier,
        None,
        cfg,
        clock,
        sweep_every=timedelta(hours=4),
    )


def granted(stores: Stores, cfg: BotConfig, clock, name: str) -> int:
    view = approved(
        stores, cfg, now=clock.now(), requester_id=f"U0{name.upper()}", iam_user_name=name
    )
    provision(stores, cfg, view.id, sample_credentials(name), now=clock.now())
    return view.id


def test_replicas_sweeping_at_once_open_and_post_one_review(stores: Stores, clock) -> None:
    cfg = config()
    for name in ("alice", "bob", "carol"):
        granted(stores, cfg, clock, name)
    notifier = Recorded()
    replicas = [reviews_over(stores, cfg, clock, notifier) for _ in range(4)]
    results = race(4, lambda i: replicas[i].sweep(clock.now()))
    assert sum(len(r.opened) for r in results) == 1
    assert sum(r.posted for r in results) == 1
    (posted,) = notifier.of(ReviewPosted)
    assert [item.iam_user_name for page in posted.pages for item in page] == [
        "alice",
        "bob",
        "carol",
    ]
    assert posted.owners == OWNERS
    # Later sweeps (any replica) neither open nor post again.
    clock.advance(hours=4)
    assert replicas[0].sweep().opened == [] and len(notifier.of(ReviewPosted)) == 1
    assert stores.reviews.count_reviews() == 1


def test_a_grant_that_ended_otherwise_needs_no_decision(stores: Stores, clock) -> None:
    cfg = config()
    kept = granted(stores, cfg, clock, "alice")
    ended = granted(stores, cfg, clock, "bob")
    notifier = Recorded()
    reviews = reviews_over(stores, cfg, clock, notifier)
    review_id = reviews.sweep().opened[0]
    # Bob's access is taken back another way (an owner's Roll back) while the review is open.
    lease = stores.provisioning.lock_for_rollback(
        ended, now=clock.now(), until=clock.now() + timedelta(minutes=5)
    )
    stores.provisioning.finish_rollback(lease, actor="U0OWNER2", now=clock.now())
    state = stores.reviews.get_review(review_id)
    bob = next(i for i in state.items if i.request_id == ended)
    answer = reviews.keep(bob.id, "U0OWNER1")
    assert not answer.changed and "already revoked: nothing to review" in answer.message
    assert stores.reviews.item(bob.id).decision is Decision.GONE
    # Keeping Alice's decides the last grant: the review closes at once.
    alice = next(i for i in state.items if i.request_id == kept)
    assert reviews.keep(alice.id, "U0OWNER1").changed
    state = stores.reviews.get_review(review_id)
    assert state.review.status is ReviewStatus.CLOSED
    assert notifier.of(ReviewChanged) and notifier.of(ReviewClosed)
    # A click once the review closed changes nothing.
    assert "is closed" in reviews.keep(alice.id, "U0OWNER2").message


def test_members_cannot_review_their_own_access(stores: Stores, clock) -> None:
    cfg = config()
    granted(stores, cfg, clock, "alice")
    reviews = reviews_over(stores, cfg, clock, Recorded())
    review_id = reviews.sweep().opened[0]
    (item,) = stores.reviews.get_review(review_id).items
    assert reviews.keep(item.id, "U0ALICE").message == "You cannot review your own access."
    assert reviews.revoke(item.id, "U0STRANGER").message == (
        "Only the account owners can review access."
    )
    assert stores.reviews.item(item.id).decision is None
    assert not reviews.keep(999999, "U0OWNER1").changed


def test_reviews_are_off_without_every(stores: Stores, clock) -> None:
    cfg = config(reviews="")
    granted(stores, cfg, clock, "alice")
    result = reviews_over(stores, cfg, clock, Recorded()).sweep()
    assert result.opened == [] and stores.reviews.count_reviews() == 0


def test_the_review_report_from_the_command_line(
    stores: Stores, clock, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config()
    granted(stores, cfg, clock, "alice")
    reviews = reviews_over(stores, cfg, clock, Recorded())
    review_id = reviews.sweep().opened[0]
    (item,) = stores.reviews.get_review(review_id).items
    reviews.keep(item.id, "U0OWNER1")
    assert main(["audit", "--review", str(review_id)], env={"DATABASE_URL": db_url}) == 0
    out = capsys.readouterr().out
    assert f"Access review #{review_id} of account default" in out
    assert "kept by U0OWNER1" in out
    for kind in ("review_opened", "review_kept", "review_closed"):
        assert kind in out
    assert main(["audit", "--review", "424242"], env={"DATABASE_URL": db_url}) == 1
    assert "no access review #424242" in capsys.readouterr().err


class FlakyRevoke:
    """The revoke use case's port as the review sees it: the first call fails before
    anything began (as a crash would); later calls take the access back (here through
    the store's roll back, standing in for the IAM steps)."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.calls: list[tuple[int, str, str]] = []

    def revoke(self, request_id: int, *, actor: str, reason: str, cause, now):  # noqa: ANN001, ANN201
        self.calls.append((request_id, actor, cause.value))
        if len(self.calls) == 1:
            raise RuntimeError("the process was stopping")
        lease = self.stores.provisioning.lock_for_rollback(
            request_id, now=now, until=now + timedelta(minutes=5)
        )
        view = self.stores.provisioning.finish_rollback(lease, actor=actor, now=now)
        return RevokeOutcome(view, True, f"revoked request #{request_id} (disable)")


def test_a_revoke_that_could_not_start_is_started_again(stores: Stores, clock) -> None:
    cfg = config()
    request_id = granted(stores, cfg, clock, "alice")
    revoke = FlakyRevoke(stores)
    reviews = AccessReviews(
        stores.reviews,
        stores.requests,
        FixedUsage(),
        Recorded(),
        revoke,  # type: ignore[arg-type]
        cfg,
        clock,
        sweep_every=timedelta(hours=4),
    )
    review_id = reviews.sweep().opened[0]
    (item,) = stores.reviews.get_review(review_id).items
    answer = reviews.revoke(item.id, "U0OWNER1")
    assert not answer.changed and "will retry" in answer.message
    assert stores.reviews.item(item.id).decision is Decision.REVOKE
    # Every grant is decided, but the revoke has not begun: the review stays open.
    assert stores.reviews.get_review(review_id).review.status is ReviewStatus.OPEN
    clock.advance(hours=4)
    result = reviews.sweep()
    assert revoke.calls == [(request_id, "U0OWNER1", "review")] * 2
    assert stores.requests.get(request_id).status.value == "revoked"
    assert result.closed == 1
