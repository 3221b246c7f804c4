"""Where people wait (bot/slack/after_ack.py, bot/services/submit.py): signed requests
through the real Bolt app to the Slack Web API stand-in, with FaultProxy holds in front
of Slack or IAM to fix the order of events. Causality, not timings:

- the modal's views.open is not queued behind 200 pending Approve jobs;
- the form's submission is acked before any IAM pagination (ListUsers held);
- a name the full check finds taken (another mix of case) never reaches the owners and
  the requester is told by DM.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.container import build_iam_directory, build_services
from bot.domain.requests import MessageRef
from bot.domain.rules import freeze
from bot.domain.states import Status
from bot.domain.storage import NewRequest
from bot.slack.after_ack import AfterAck
from bot.slack.client import build_web_client
from bot.slack.surfaces.approval_message import APPROVE_ACTION
from tests.faults.proxies import FaultProxy
from tests.slack.conftest import ALICE, CONFIG, OWNER1, SECRET, Bot
from tests.support import slack_payloads as payloads
from tests.support.configs import bot_config, container_on
from tests.support.moto import unique
from tests.support.wsgi import serve_slack_app

PENDING_APPROVALS = 200


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def proxied_bot(
    engine, sessions, clock, slack_api, moto_server, after_ack: AfterAck
) -> Iterator[tuple[Bot, FaultProxy, FaultProxy]]:  # noqa: ANN001
    """A bot whose Slack and IAM calls pass through FaultProxies."""
    slack = FaultProxy(slack_api.base_url).start()
    aws = FaultProxy(moto_server.endpoint).start()
    container = container_on(
        engine,
        sessions,
        clock,
        slack_bot_token="xoxb-test",  # noqa: S106 - a test value
        slack_signing_secret=SECRET,
        slack_api_url=f"{slack.endpoint}/api/",
        config=bot_config(CONFIG),
    )
    client = build_web_client(container.settings)
    iam = moto_server.session().client("iam", endpoint_url=aws.endpoint)
    services = build_services(container, client, build_iam_directory(iam), on_approved=None)
    try:
        with serve_slack_app(container.settings, services, client, after_ack) as events:
            yield Bot(events, slack_api, container), slack, aws
    finally:
        slack.release()
        aws.release()
        after_ack.shutdown(wait=True)
        slack.stop()
        aws.stop()


def seed_announced(bot: Bot, count: int) -> list[tuple[int, str]]:
    """`count` pending prod requests (two approvals needed) with an approval message."""
    config = bot.container.settings.bot
    profile = config.profile("prod")
    assert profile is not None
    store = bot.container.stores.requests
    seeded = []
    for i in range(count):
        view = store.submit(
            NewRequest(
                requester_id=f"U{i:06d}",
                profile="prod",
                iam_user_name=f"seed{i}",
                reason="load",
                rules=freeze(profile, config, console=True, programmatic=False),
            ),
            bot.container.clock.now(),
        )
        ts = f"1700000000.{i:06d}"
        store.set_approval_message(view.id, MessageRef("C0APPROVALS", ts))
        seeded.append((view.id, ts))
    return seeded


def test_the_modal_opens_while_200_approve_jobs_wait(
    engine, sessions, clock, slack_api, moto_server
) -> None:
    # One worker on the default lane, and the first approval's chat.update held: every
    # later Approve job queues behind it.
    after_ack = AfterAck(1)
    with proxied_bot(engine, sessions, clock, slack_api, moto_server, after_ack) as (
        bot,
        slack,
        _,
    ):
        seeded = seed_announced(bot, PENDING_APPROVALS)
        slack.hold("chat.update")
        for request_id, ts in seeded:
            status, _ = bot.post(
                payloads.block_action(OWNER1, APPROVE_ACTION, str(request_id), message_ts=ts)
            )
            assert status == 200  # acked, work queued
        assert slack.held.wait(10), "the first Approve job never reached chat.update"
        # Each listener hands its job over just after its ack: wait for the last one.
        wait_for(
            lambda: after_ack.default_backlog() == PENDING_APPROVALS, "200 queued Approve jobs"
        )

        status, _ = bot.command(ALICE)
        assert status == 200
        opened = slack_api.wait_for("views.open", 1)

        # The modal opened while every Approve job was still queued or held (the modal's
        # own job may still be finishing on its lane: only the default lane is counted).
        assert after_ack.default_backlog() == PENDING_APPROVALS
        assert slack_api.calls_to("chat.update") == []
        assert opened[0]["trigger_id"]
        assert [c.name for c in slack.calls("chat.update")] == ["chat.update"]

        slack.release()  # then every approval is processed, in order
        wait_for(lambda: after_ack.backlog() == 0, "the Approve jobs to drain", timeout=120)
        updated = [c["ts"] for c in slack_api.calls_to("chat.update")]
        assert sorted(updated) == sorted(ts for _, ts in seeded)


def test_the_form_is_acked_before_any_iam_pagination(
    engine, sessions, clock, slack_api, moto_server
) -> None:
    after_ack = AfterAck()
    with proxied_bot(engine, sessions, clock, slack_api, moto_server, after_ack) as (
        bot,
        _,
        aws,
    ):
        aws.hold("ListUsers")
        name = unique("dana")
        status, answer = bot.submit(ALICE, payloads.request_values("developer", name))
        # Acked (request stored, no errors) while no ListUsers has been answered: a
        # ListUsers before the ack would have been held, and the ack with it.
        assert (status, answer) == (200, None)
        assert not aws.forwarded.is_set()
        assert aws.held.wait(10), "the full check (ListUsers) never started"
        assert {c.name for c in aws.seen} == {"GetUser", "ListUsers"}
        assert slack_api.calls_to("chat.postMessage") == []  # announced after the check
        aws.release()
        posts = slack_api.wait_for("chat.postMessage", 2)
        assert any(p["channel"] == "C0APPROVALS" for p in posts)
        wait_for(lambda: after_ack.backlog() == 0, "the announcement")


def test_a_name_taken_in_another_case_is_withdrawn_and_the_requester_told(
    engine, sessions, clock, slack_api, moto_server
) -> None:
    after_ack = AfterAck()
    existing = unique("Carol")
    moto_server.client("iam").create_user(UserName=existing)
    typed = existing.swapcase()  # neither as stored nor lower case: GetUser misses it
    with proxied_bot(engine, sessions, clock, slack_api, moto_server, after_ack) as (
        bot,
        _,
        aws,
    ):
        status, answer = bot.submit(ALICE, payloads.request_values("developer", typed))
        assert (status, answer) == (200, None)
        dm = slack_api.wait_for("chat.postMessage", 1)[0]
        wait_for(lambda: after_ack.backlog() == 0, "the full check")
        assert "withdrawn" in dm["text"] and "already exists" in dm["text"]
        assert dm["channel"] != "C0APPROVALS"
        assert [c["channel"] for c in slack_api.calls_to("chat.postMessage")] == [dm["channel"]]
        (request_id,) = [r.id for r in bot.container.stores.requests.list()]
        assert bot.row(request_id).status == Status.CANCELLED.value
        assert "ListUsers" in [c.name for c in aws.seen]


@pytest.mark.parametrize("workers", [1, 3])
def test_a_full_lane_waits_for_room_and_backlog_counts_queued_and_running(workers) -> None:
    import threading

    gate = threading.Event()
    lane = AfterAck(workers, interactive_workers=1, max_pending=2)
    # `workers` running, 2 queued: the lane is full.
    futures = [lane(gate.wait, 10) for _ in range(workers + 2)]
    assert lane.backlog() == workers + 2
    blocked = threading.Thread(target=lambda: futures.append(lane(lambda: "late")))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()  # no room: the hand-off waits, memory does not grow
    assert lane.interactive(lambda: "modal").result(5) == "modal"  # its own lane
    gate.set()
    blocked.join(5)
    assert futures[-1].result(5) == "late"
    lane.shutdown(wait=True)
    assert lane.backlog() == 0
