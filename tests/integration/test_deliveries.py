"""The outbox's use cases (bot/services/deliveries.py) over the real stores, SQLite and
PostgreSQL: DurableNotifier records what Slack did not accept, the delivery sweep
renders it again from the request and retries with backoff until Slack takes it, and
a lost credentials DM is re-issued by the bot
(docs/architecture.md, "Deliveries (outbox)")."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bot.domain.credentials import IssuedLink, LinkStatus
from bot.domain.errors import DeliveryFailed, DeliveryKind
from bot.domain.events import (
    CredentialsIssued,
    DeliveryGivenUp,
    Event,
    ReminderDue,
    RequestApproved,
    RequestChanged,
    RequesterOutcome,
    RequestSubmitted,
)
from bot.domain.requests import MessageRef
from bot.domain.states import Status
from bot.services.deliveries import Deliveries, DurableNotifier, next_attempt
from bot.services.listing import list_requests
from bot.services.vault import CredentialLinks
from tests.support.configs import bot_config
from tests.support.fakes import ScriptedProvisioner
from tests.support.stores import provisioned, submitted

EVERY = timedelta(seconds=30)
POST = DeliveryKind.APPROVAL_POST
UPDATE = DeliveryKind.APPROVAL_UPDATE
OUTCOME = DeliveryKind.REQUESTER_OUTCOME
LINK = DeliveryKind.CREDENTIALS


@dataclass
class FlakySlack:
    """The Slack notifier's contract: a message it must deliver raises DeliveryFailed
    while a failure is scripted for its event type; otherwise it is "posted"."""

    events: list[Event] = field(default_factory=list)
    failures: list[list] = field(default_factory=list)  # [event type, kinds, times, wait]
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, kind: type, *kinds: DeliveryKind, times: int = 1, retry_after=None) -> None:  # noqa: ANN001
        self.failures.append([kind, kinds, times, retry_after])

    def notify(self, event: Event) -> MessageRef | None:
        with self._lock:
            self.events.append(event)
            n = len(self.events)
            for failure in self.failures:
                if isinstance(event, failure[0]) and failure[2] > 0:
                    failure[2] -= 1
                    raise DeliveryFailed(failure[1], error="fatal_error", retry_after=failure[3])
        if isinstance(event, RequestSubmitted):
            return MessageRef("C0APPROVALS", f"1700000000.{n:06d}")
        if isinstance(event, CredentialsIssued):
            return MessageRef("D0ALICE", f"1700000001.{n:06d}")
        return None

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def config():
    return bot_config()


@pytest.fixture
def slack() -> FlakySlack:
    return FlakySlack()


@pytest.fixture
def provisioner() -> ScriptedProvisioner:
    return ScriptedProvisioner()


@pytest.fixture
def links(stores, slack, config, clock, provisioner) -> CredentialLinks:  # noqa: ANN001
    durable = DurableNotifier(slack, stores.deliveries, clock, every=EVERY)
    return CredentialLinks(
        stores.links,
        stores.requests,
        stores.provisioning,
        durable,
        config,
        public_url="https://bot.example",
        provisioner=provisioner,
        clock=clock,
    )


@pytest.fixture
def notifier(stores, slack, clock) -> DurableNotifier:  # noqa: ANN001
    return DurableNotifier(slack, stores.deliveries, clock, every=EVERY)


@pytest.fixture
def sweep(stores, slack, config, clock, links) -> Deliveries:  # noqa: ANN001
    return Deliveries(
        stores.deliveries, stores.requests, slack, config, clock, links=links, every=EVERY
    )


def audit_kinds(stores, request_id: int) -> list[str]:  # noqa: ANN001
    return [e.kind for e in stores.requests.audit_of(request_id) if e.kind.startswith("deliv")]


# --- DurableNotifier -----------------------------------------------------------------


def test_a_refused_approval_post_is_posted_by_the_sweep(
    stores, slack, notifier, sweep, clock
) -> None:  # noqa: ANN001
    request = submitted(stores)
    slack.fail(RequestSubmitted, POST)
    assert notifier.notify(RequestSubmitted(request)) is None  # as if Slack said nothing
    assert sweep.sweep() == 0  # not due before one period
    clock.advance(seconds=30)
    assert sweep.sweep() == 1
    posted = stores.requests.get(request.id)
    assert posted.approval_ts is not None  # its ref is stored: later changes update it
    assert len(slack.of(RequestSubmitted)) == 2
    clock.advance(hours=1)
    assert sweep.sweep() == 0  # posted once
    assert audit_kinds(stores, request.id) == ["delivery_failed", "delivery_sent"]


def test_only_the_parts_that_failed_are_queued(stores, slack, notifier, sweep, clock) -> None:  # noqa: ANN001
    request = stores.requests.approve(submitted(stores).id, "U0OWNER1", 1, clock.now()).request
    slack.fail(RequestApproved, OUTCOME, retry_after=90)
    notifier.notify(RequestApproved(request, "U0OWNER1"))
    assert stores.deliveries.undelivered_kinds([request.id]) == {
        request.id: ["requester_outcome (pending)"]
    }
    clock.advance(seconds=60)
    assert sweep.sweep() == 0  # Slack's Retry-After (90 s) beats the 30 s backoff
    clock.advance(seconds=30)
    assert sweep.sweep() == 1
    [outcome] = slack.of(RequesterOutcome)
    assert outcome.request.status is Status.APPROVED and outcome.request.decided_by == "U0OWNER1"


def test_a_later_message_that_gets_through_settles_the_row(
    stores, slack, notifier, sweep, clock
) -> None:  # noqa: ANN001
    request = submitted(stores)
    stores.requests.set_approval_message(request.id, MessageRef("C0APPROVALS", "1.1"))
    request = stores.requests.get(request.id)
    slack.fail(RequestChanged, UPDATE)
    notifier.notify(RequestChanged(request))
    notifier.notify(RequestChanged(request))  # the next change's update went through
    clock.advance(minutes=5)
    assert sweep.sweep() == 0
    assert audit_kinds(stores, request.id) == ["delivery_failed", "delivery_settled"]


def test_best_effort_events_touch_no_table(stores, slack, notifier, clock) -> None:  # noqa: ANN001
    request = submitted(stores)
    notifier.notify(ReminderDue(request, ("U0OWNER1",), 1, clock.now()))
    assert audit_kinds(stores, request.id) == []


# --- the sweep -----------------------------------------------------------------------


def test_backoff_doubles_then_the_owners_are_told(
    stores, slack, notifier, sweep, clock, config
) -> None:  # noqa: ANN001
    request = submitted(stores)
    stores.requests.set_approval_message(request.id, MessageRef("C0APPROVALS", "1.1"))
    slack.fail(RequestChanged, UPDATE, times=99)
    notifier.notify(RequestChanged(stores.requests.get(request.id)))
    tried_at = []
    for _ in range(40):
        clock.advance(seconds=30)
        before = len(slack.of(RequestChanged))
        sweep.sweep()
        if len(slack.of(RequestChanged)) > before:
            tried_at.append(clock.now())
    gaps = [int((b - a).total_seconds()) for a, b in zip(tried_at, tried_at[1:], strict=False)]
    assert gaps == [60, 120, 240, 480]  # after the first retry (30 s): doubling
    assert len(tried_at) == 5  # 6 attempts with the first, then given up
    [told] = slack.of(DeliveryGivenUp)
    assert (told.kind, told.attempts, told.error) == (UPDATE, 6, "fatal_error")
    [(view, delivery)] = sweep.undelivered("U0OWNER1")
    assert view.id == request.id and delivery.kind is UPDATE
    assert sweep.undelivered("U0ALICE") == []  # not an owner
    [row] = list_requests(stores.requests, deliveries=stores.deliveries)
    assert row.undelivered == ("approval_update (given_up)",)  # `aws-access-bot requests`
    assert audit_kinds(stores, request.id)[-1] == "delivery_given_up"


def test_next_attempt_caps_and_honours_retry_after(clock) -> None:  # noqa: ANN001
    now = clock.now()
    assert next_attempt(now, 1, EVERY) == now + EVERY
    assert next_attempt(now, 3, EVERY) == now + 4 * EVERY
    assert next_attempt(now, 20, EVERY) == now + timedelta(minutes=15)
    assert next_attempt(now, 1, EVERY, retry_after=120) == now + timedelta(minutes=2)


def test_an_update_of_a_message_not_posted_yet_is_not_needed(
    stores, notifier, sweep, slack, clock
) -> None:  # noqa: ANN001
    request = submitted(stores)
    stores.deliveries.queue(
        request.id, UPDATE, error="x", next_attempt_at=clock.now(), now=clock.now()
    )
    assert sweep.sweep() == 0
    assert slack.events == []
    assert audit_kinds(stores, request.id)[-1] == "delivery_not_needed"


def test_a_post_decided_on_its_way_queues_its_update(stores, slack, sweep, clock) -> None:  # noqa: ANN001
    request = submitted(stores)
    stores.deliveries.queue(
        request.id, POST, error="x", next_attempt_at=clock.now(), now=clock.now()
    )
    posted = []

    def decide_meanwhile(event: Event) -> MessageRef | None:
        ref = FlakySlack.notify(slack, event)
        if isinstance(event, RequestSubmitted):
            stores.requests.deny(request.id, "U0OWNER1", "no", clock.now())
            posted.append(ref)
        return ref

    slack.notify = decide_meanwhile  # type: ignore[method-assign]
    assert sweep.sweep() == 1  # the post (pending, with buttons)...
    assert sweep.sweep() == 1  # ...then its update to "denied"
    [changed] = slack.of(RequestChanged)
    assert changed.request.status is Status.DENIED and changed.request.approval_ts


# --- a lost credentials DM --------------------------------------------------------------


def test_a_lost_link_is_reissued_by_the_bot(
    stores, slack, links, sweep, clock, provisioner
) -> None:  # noqa: ANN001
    request = provisioned(stores, clock.now())
    slack.fail(CredentialsIssued, LINK, times=2)
    # The worker's first DM is lost: the link's key existed only in that URL.
    links.notifier.notify(CredentialsIssued(request, _a_link(clock)))
    clock.advance(seconds=30)
    assert sweep.sweep() == 0  # the re-issue's DM is lost too; retried later
    clock.advance(seconds=60)
    assert sweep.sweep() == 1
    assert provisioner.kinds() == ["rotate", "rotate"]  # one rotation per attempt
    now = stores.requests.get(request.id)
    assert now.requester_dm_ts is not None  # the DM that went is the current link's
    assert now.status is Status.PROVISIONED
    # Exactly one live link, holding the last rotation's key; the others are void.
    issued = slack.of(CredentialsIssued)
    assert len(issued) == 3
    states = [stores.links.link_state(e.link.link_id, clock.now()).status for e in issued[1:]]
    assert states == [LinkStatus.EXPIRED, LinkStatus.AVAILABLE]
    assert stores.links.link_state("link-1", clock.now()).status is LinkStatus.EXPIRED
    row_key = provisioner.issued[-1].access_key_id
    reissues = [e for e in stores.requests.audit_of(request.id) if e.kind == "credentials_reissued"]
    assert [(e.actor, e.detail["access_key_id"]) for e in reissues][-1] == (
        "aws-access-bot",
        row_key,
    )
    assert audit_kinds(stores, request.id) == [
        "delivery_failed",
        "delivery_failed",
        "delivery_sent",
    ]


def test_no_reissue_once_a_link_was_revealed(
    stores, slack, links, sweep, clock, provisioner
) -> None:  # noqa: ANN001
    request = provisioned(stores, clock.now())
    stores.links.take_link("link-1", clock.now(), proof=b"k" * 32, client="test")
    stores.deliveries.queue(
        request.id, LINK, error="x", next_attempt_at=clock.now(), now=clock.now()
    )
    assert sweep.sweep() == 0
    assert provisioner.calls == [] and slack.events == []
    assert audit_kinds(stores, request.id)[-1] == "delivery_not_needed"


def test_no_reissue_once_the_current_link_was_dmed(
    stores, slack, links, sweep, clock, provisioner
) -> None:  # noqa: ANN001
    request = provisioned(stores, clock.now())
    stores.requests.set_requester_dm(request.id, MessageRef("D0ALICE", "5.5"))
    stores.deliveries.queue(
        request.id, LINK, error="x", next_attempt_at=clock.now(), now=clock.now()
    )
    assert sweep.sweep() == 0
    assert provisioner.calls == []


def test_an_owners_reissue_clears_the_delivered_mark_until_its_dm_goes(
    stores, slack, links, clock
) -> None:  # noqa: ANN001
    request = provisioned(stores, clock.now())
    stores.requests.set_requester_dm(request.id, MessageRef("D0ALICE", "5.5"))
    slack.fail(CredentialsIssued, LINK)
    links.reissue(request.id, "U0OWNER1")
    after = stores.requests.get(request.id)
    assert after.requester_dm_ts is None  # the message must not say "got a link"
    assert stores.deliveries.undelivered_kinds([request.id]) == {
        request.id: ["credentials (pending)"]
    }


def _a_link(clock) -> IssuedLink:  # noqa: ANN001
    """The link `provisioned` stored ("link-1"), as the worker would have DMed it."""
    return IssuedLink("link-1", "https://bot.example/credentials/link-1#k", clock.now())
