"""Access reviews end to end: signed Slack requests through the real Bolt app, the Web
API stand-in, moto (server mode) for IAM, and an injected clock.

A review is posted with each grant's last key use; Keep and Revoke work (owners only;
two owners clicking one grant decide it once); reminders follow until every grant is
decided; at the deadline what nobody decided is kept or revoked per
`[reviews] unreviewed`; `aws-access-bot audit --review ID` prints the outcome.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import pytest

from bot.aws.calls import Backoff
from bot.aws.iam import IamProvisioner
from bot.aws.revoke import AccountRevokers
from bot.aws.usage import IamGrantUsage
from bot.container import Container, build_iam_directory, build_services
from bot.domain.reviews import Decision, ReviewStatus
from bot.domain.states import Status
from bot.review_report import print_review
from bot.services.reviews import AccessReviews
from bot.services.revoke import RevokeService
from bot.slack.client import build_web_client
from bot.slack.review_notifier import SlackReviewNotifier
from bot.slack.surfaces.review_message import KEEP_ACTION, REVOKE_ACTION
from tests.slack.conftest import ALICE, BOB, OWNER1, OWNER2, SECRET
from tests.support import requests as seed
from tests.support import slack_payloads as payloads
from tests.support.configs import bot_config, config_toml, container_on, profile
from tests.support.moto import unique
from tests.support.slack_api import SlackApiStub, post_signed
from tests.support.wsgi import serve_slack_app

REVIEWED = profile(
    "reviewed",
    "Console and keys, nothing attached",
    groups=[],
    policies=[],
    console=True,
    programmatic=True,
    approvals_required=1,
)


def config_text(unreviewed: str = "keep") -> str:
    reviews = f'[reviews]\nevery = "90d"\ndeadline = "14d"\nunreviewed = "{unreviewed}"\n'
    return config_toml(REVIEWED, reminders={"every": "4h"}, extra=reviews)


class MotoGaps:
    """The moto IAM client, except for the one call the revoker makes that moto answers
    with a 500 (ListServiceSpecificCredentials): none exist for a bot-made user."""

    def __init__(self, iam: Any) -> None:
        self._iam = iam

    def list_service_specific_credentials(self, **_kw: Any) -> dict[str, Any]:
        return {"ServiceSpecificCredentials": []}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._iam, name)


@dataclass
class ReviewBot:
    url: str
    api: SlackApiStub
    container: Container
    reviews: AccessReviews

    def click(self, user: str, action: str, item_id: int) -> int:
        body = payloads.block_action(user, action, str(item_id))
        status, _, _ = post_signed(self.url, body, SECRET)
        return status

    def sweep(self):
        return self.reviews.sweep(self.container.clock.now())

    def state(self, review_id: int):
        return self.container.stores.reviews.get_review(review_id)

    def status(self, request_id: int) -> Status:
        view = self.container.stores.requests.get(request_id)
        assert view is not None
        return view.status


@pytest.fixture
def make_review_bot(engine, sessions, clock, slack_api, moto_server):
    iam = moto_server.client("iam")

    @contextmanager
    def make(unreviewed: str = "keep") -> Iterator[ReviewBot]:
        container = container_on(
            engine,
            sessions,
            clock,
            slack_bot_token="xoxb-test",  # noqa: S106 - a test value
            slack_signing_secret=SECRET,
            slack_api_url=slack_api.base_url,
            config=bot_config(config_text(unreviewed)),
        )
        settings, config, stores = container.settings, container.settings.bot, container.stores
        client = build_web_client(settings)
        services = build_services(container, client, build_iam_directory(iam))
        revoke = RevokeService(
            stores.revocations,
            stores.requests,
            AccountRevokers(lambda _account: MotoGaps(iam), config.aws),
            services.notifier,
            clock,
            config,
        )
        reviews = AccessReviews(
            stores.reviews,
            stores.requests,
            IamGrantUsage(lambda _account: iam),
            SlackReviewNotifier(client),
            revoke,
            config,
            clock,
            sweep_every=config.reminders.every,
        )
        services.revoke, services.reviews = revoke, reviews
        with serve_slack_app(settings, services, client) as events:
            yield ReviewBot(events, slack_api, container, reviews)

    return make


def grant(bot: ReviewBot, moto_server, requester: str, *, use_key: bool = False) -> int:
    """A provisioned request whose IAM user really exists in moto (made by the bot's own
    provisioner); `use_key`: the user's access key is then used once."""
    container = bot.container
    config, now = container.settings.bot, container.clock.now()
    iam = moto_server.client("iam")
    view = seed.approved(
        container.stores,
        config,
        now=now,
        requester_id=requester,
        profile="reviewed",
        iam_user_name=unique(requester.lower()),
    )
    provisioner = IamProvisioner(
        iam,
        lambda key_id, secret: moto_server.client("sts", key_id, secret),
        config.aws,
        sleep=lambda _s: None,
        step_backoff=Backoff(2, 0, 0),
    )
    credentials = provisioner.provision(view)
    seed.provision(container.stores, config, view.id, credentials, now=now)
    if use_key:
        key_id, secret = credentials.access_key_id, credentials.secret_access_key
        own = moto_server.client("iam", key_id, secret)
        with pytest.raises(Exception):  # noqa: B017 - denied, but the key was used
            own.list_users()
    return view.id


def last_key_use(iam: Any, user_name: str):
    (key,) = iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    return used["LastUsedDate"].astimezone(UTC)


def keep_first(bot: ReviewBot, review_id: int) -> None:
    """OWNER1 keeps the first grant; returns once the click's work is done (the message
    updated), so the test's clock moves only after it."""
    updates = len(bot.api.calls_to("chat.update"))
    bot.click(OWNER1, KEEP_ACTION, bot.state(review_id).items[0].id)
    wait_until(lambda: bot.state(review_id).items[0].decision is Decision.KEEP)
    bot.api.wait_for("chat.update", updates + 1)


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition never held")


def review_posts(api: SlackApiStub) -> list[dict[str, Any]]:
    return [c for c in api.calls_to("chat.postMessage") if "Access review" in str(c.get("text"))]


def thread_replies(api: SlackApiStub, ts: str) -> list[str]:
    return [c["text"] for c in api.calls_to("chat.postMessage") if c.get("thread_ts") == ts]


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element["value"])
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_a_review_is_posted_and_keep_and_revoke_work(make_review_bot, moto_server) -> None:
    with make_review_bot() as bot:
        kept_id = grant(bot, moto_server, ALICE, use_key=True)
        revoked_id = grant(bot, moto_server, BOB)
        result = bot.sweep()
        assert len(result.opened) == 1 and result.posted == 1
        review_id = result.opened[0]

        # Posted once, in the approval channel, naming both grants with their last use.
        (post,) = review_posts(bot.api)
        assert post["channel"] == "C0APPROVALS"
        text = str(post["blocks"])
        assert f"<@{ALICE}>" in text and f"<@{BOB}>" in text
        assert f"<@{OWNER1}> <@{OWNER2}>" in text
        state = bot.state(review_id)
        kept_item, revoked_item = state.items
        iam = moto_server.client("iam")
        for item in state.items:
            # What IAM says of the user's key (moto records each use), and no console use.
            assert item.usage.known and item.usage.last_console_use is None
            assert item.usage.last_key_use == last_key_use(iam, item.iam_user_name)
        assert "never" in text  # no console sign-in yet
        assert buttons(post["blocks"]) == [
            (KEEP_ACTION, str(kept_item.id)),
            (REVOKE_ACTION, str(kept_item.id)),
            (KEEP_ACTION, str(revoked_item.id)),
            (REVOKE_ACTION, str(revoked_item.id)),
        ]
        # A second sweep (or replica) posts nothing more.
        assert bot.sweep().opened == [] and len(review_posts(bot.api)) == 1

        # Someone who is not an owner is told so; nothing changes.
        ephemeral = len(bot.api.calls_to("chat.postEphemeral"))
        assert bot.click(ALICE, KEEP_ACTION, kept_item.id) == 200
        bot.api.wait_for("chat.postEphemeral", ephemeral + 1)
        refusal = bot.api.calls_to("chat.postEphemeral")[-1]
        assert refusal["user"] == ALICE and "review your own access" in refusal["text"]
        assert bot.state(review_id).items[0].decision is None

        # Keep: the message is updated in place, without that grant's buttons.
        updates = len(bot.api.calls_to("chat.update"))
        assert bot.click(OWNER1, KEEP_ACTION, kept_item.id) == 200
        wait_until(lambda: bot.state(review_id).items[0].decision is Decision.KEEP)
        bot.api.wait_for("chat.update", updates + 1)
        updated = bot.api.calls_to("chat.update")[-1]
        assert updated["ts"] == bot.state(review_id).review.message.ts
        assert buttons(updated["blocks"]) == [
            (KEEP_ACTION, str(revoked_item.id)),
            (REVOKE_ACTION, str(revoked_item.id)),
        ]
        assert "Kept by" in str(updated["blocks"])
        # A second owner clicking the decided grant is told it was decided.
        ephemeral = len(bot.api.calls_to("chat.postEphemeral"))
        bot.click(OWNER2, REVOKE_ACTION, kept_item.id)
        bot.api.wait_for("chat.postEphemeral", ephemeral + 1)
        assert "already reviewed" in bot.api.calls_to("chat.postEphemeral")[-1]["text"]
        assert bot.status(kept_id) is Status.PROVISIONED

        # Revoke: through the revoke use case, cause review; the IAM user loses its access.
        assert bot.click(OWNER2, REVOKE_ACTION, revoked_item.id) == 200
        wait_until(lambda: bot.status(revoked_id) is Status.REVOKED)
        request = bot.container.stores.requests.get(revoked_id)
        assert (request.revoke_cause, request.revoked_by) == ("review", OWNER2)
        keys = iam.list_access_keys(UserName=request.iam_user_name)["AccessKeyMetadata"]
        assert keys and all(key["Status"] == "Inactive" for key in keys)

        # Every grant decided: the review closes, and says so in its thread.
        wait_until(lambda: bot.state(review_id).review.status is ReviewStatus.CLOSED)
        wait_until(
            lambda: any(
                "is closed" in t
                for t in thread_replies(bot.api, bot.state(review_id).review.message.ts)
            )
        )
        assert bot.container.stores.requests.audit_of(kept_id)[-1].kind == "review_kept"
        assert "review_revoked" in [
            e.kind for e in bot.container.stores.requests.audit_of(revoked_id)
        ]

        # The report.
        out = io.StringIO()
        assert print_review(bot.container, review_id, out) == 0
        report = out.getvalue()
        assert f"Access review #{review_id}" in report
        assert f"kept by {OWNER1}" in report and f"revoked by {OWNER2}" in report
        for kind in ("review_opened", "review_kept", "review_revoked", "review_closed"):
            assert kind in report


def test_reminders_until_decided_then_the_deadline_keeps(make_review_bot, moto_server, clock):
    with make_review_bot("keep") as bot:
        first = grant(bot, moto_server, ALICE)
        second = grant(bot, moto_server, BOB)
        review_id = bot.sweep().opened[0]
        ts = bot.state(review_id).review.message.ts
        # Not yet: reminders go out at most once a day.
        clock.advance(hours=4)
        assert bot.sweep().reminded == 0
        clock.advance(hours=20)
        assert bot.sweep().reminded == 1
        assert bot.sweep().reminded == 0  # the same period: once
        reminders = thread_replies(bot.api, ts)
        assert len(reminders) == 1 and "2 of 2 grants" in reminders[0]
        assert f"<@{OWNER1}>" in reminders[0]
        # One decided: the next reminder counts one.
        keep_first(bot, review_id)
        clock.advance(days=1)
        assert bot.sweep().reminded == 1
        assert "1 of 2 grants" in thread_replies(bot.api, ts)[-1]
        # The deadline: the undecided grant is kept by the policy, and the review closes.
        clock.advance(days=13)
        result = bot.sweep()
        assert (result.kept_by_policy, result.revoked_by_policy, result.closed) == (1, 0, 1)
        state = bot.state(review_id)
        assert state.review.status is ReviewStatus.CLOSED
        assert state.items[1].decision is Decision.KEEP and state.items[1].automatic
        assert bot.status(first) is Status.PROVISIONED and bot.status(second) is Status.PROVISIONED
        assert "is closed" in thread_replies(bot.api, ts)[-1]
        # Closed: no more reminders.
        clock.advance(days=1)
        assert bot.sweep().reminded == 0


def test_the_deadline_revokes_what_nobody_decided(make_review_bot, moto_server, clock) -> None:
    with make_review_bot("revoke") as bot:
        kept = grant(bot, moto_server, ALICE)
        unreviewed = grant(bot, moto_server, BOB)
        review_id = bot.sweep().opened[0]
        keep_first(bot, review_id)
        clock.advance(days=14)
        result = bot.sweep()
        assert (result.kept_by_policy, result.revoked_by_policy, result.closed) == (0, 1, 1)
        assert bot.status(kept) is Status.PROVISIONED
        assert bot.status(unreviewed) is Status.REVOKED
        request = bot.container.stores.requests.get(unreviewed)
        assert request.revoke_cause == "review" and "not reviewed by the deadline" in (
            request.revoke_reason or ""
        )
        # A click after the deadline is told the review is closed.
        ephemeral = len(bot.api.calls_to("chat.postEphemeral"))
        bot.click(OWNER2, KEEP_ACTION, bot.state(review_id).items[1].id)
        bot.api.wait_for("chat.postEphemeral", ephemeral + 1)
        assert "is closed" in bot.api.calls_to("chat.postEphemeral")[-1]["text"]
        out = io.StringIO()
        assert print_review(bot.container, review_id, out) == 0
        assert "revoked by deadline policy" in out.getvalue()
