"""Issue 12, items 2 and 5 (Slack's part) on the real `aws-access-bot run` process: what
Slack must deliver is retried by the outbox until Slack takes it
(docs/architecture.md, "Deliveries (outbox)").

The process's SLACK_API_URL points at a FaultProxy in front of the Slack stand-in, and
its AWS_ENDPOINT_URL at another in front of moto server (signatures checked). The proxy
answers a faulted call itself (500, 429 with Retry-After) without forwarding it, so the
stand-in records exactly what Slack accepted. `[reminders] every = "1s"` makes the
delivery sweep run every second, and SLACK_API_TIMEOUT=1 makes a held call time out.

Every test counts what matters: requests lost 0, messages lost 0, duplicates 0, links
and keys orphaned 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.slack.surfaces.app_home import CANCEL_ACTION
from bot.store.db import make_engine, make_sessionmaker
from bot.store.models import AccessRequest, CredentialLink
from tests.e2e.conftest import SECRET, SlackDriver
from tests.e2e.support import ALICE, APPROVALS, add_users, dm_links, iam_user_state, texts_of
from tests.faults.proxies import FaultProxy
from tests.support import slack_payloads as payloads
from tests.support.configs import S3_READ_ONLY, config_toml, profile
from tests.support.databases import DATABASES, database_url
from tests.support.moto import unique
from tests.support.polling import wait_until
from tests.support.processes import BotProcess, run_env, running_bot
from tests.support.slack_api import SlackApiStub
from tests.support.vault import reveal_over_http

GOT_A_LINK = "the requester got a link"
# How the approval message's text starts: faults aimed at it spare the pending summary,
# which a 1 s reminder period may post first (the request is stored before it is posted).
APPROVAL_POST = "Access request #"
DELIVERING = "delivering the link"


@dataclass
class Faulted:
    """A running bot whose Slack and AWS calls pass through fault proxies."""

    process: BotProcess
    bot: SlackDriver
    slack: FaultProxy
    aws: FaultProxy
    api: SlackApiStub
    iam: Any

    def count(self, model: type, *where: Any) -> int:
        with self.bot.sessions() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def undelivered(self) -> int:
        """Outbox rows not sent (pending or given up): messages lost or still owed."""
        from bot.store.models import DeliveryRecord  # (imported here: the pre-fix tree has none)

        return self.count(DeliveryRecord, DeliveryRecord.status != "sent")

    def approval_updates(self, ts: str) -> list[tuple[int, str]]:
        """(position among all recorded calls, text) of each update of message `ts`."""
        return [
            (i, texts_of(c.params))
            for i, c in enumerate(self.api.calls)
            if c.method == "chat.update" and c.params.get("ts") == ts
        ]

    def events_after_delivery(self, request_id: int) -> list[str]:
        """The request's audit events, once the outbox recorded a delivery as sent (it
        does so just after Slack took it)."""
        return wait_until(
            lambda: "delivery_sent" in (kinds := self.bot.events(request_id)) and kinds,
            what="the delivery recorded as sent",
        )

    def dms_to(self, user: str) -> list[str]:
        """The DMs to `user` (not the replies in their threads, such as "opened")."""
        channel = "D" + user.lstrip("UW")
        return [
            texts_of(c)
            for c in self.api.calls_to("chat.postMessage")
            if c["channel"] == channel and not c.get("thread_ts")
        ]


@contextmanager
def faulted_bot(
    database: str, tmp_path: Path, moto_server: Any, api: SlackApiStub, **env: str
) -> Iterator[Faulted]:
    add_users(api)
    db_url = database_url(database, tmp_path)
    iam = moto_server.client("iam")
    group = unique("faults-slack")
    iam.create_group(GroupName=group)
    config = tmp_path / "bot.toml"
    config.write_text(
        config_toml(
            profile(
                "developer",
                "Read/write on dev resources",
                groups=[group],
                policies=[S3_READ_ONLY],
                console=True,
                programmatic=True,
                approvals_required=1,
            ),
            aws={"iam_path": "/faults/"},
            # The delivery sweep runs as often as the reminders when that is shorter.
            reminders={"every": "1s", "remind_after": "1h", "expire_after": "7d"},
        )
    )
    slack = FaultProxy(api.base_url).start()
    aws = FaultProxy(moto_server.endpoint).start()
    engine = make_engine(db_url)
    try:
        variables = run_env(
            config,
            db_url,
            slack_api_url=f"{slack.endpoint}/api/",
            signing_secret=SECRET,
            **{**moto_server.env(), "AWS_ENDPOINT_URL": aws.endpoint, **env},
        )
        with running_bot(["run"], variables, tmp_path) as process:
            bot = SlackDriver(process.url, api, make_sessionmaker(engine))
            yield Faulted(process, bot, slack, aws, api, iam)
            assert process.stop() == 0
    finally:
        aws.stop()
        slack.stop()
        engine.dispose()


# --- the approval post -----------------------------------------------------------------


@pytest.mark.parametrize("database", DATABASES)
def test_an_approval_post_answered_500_is_posted_by_the_sweep(
    database, tmp_path, moto_server, slack_stub
) -> None:
    with faulted_bot(database, tmp_path, moto_server, slack_stub) as run:
        run.slack.fail("chat.postMessage", status=500, text=APPROVAL_POST)
        # SlackDriver.request waits for the approval message's ref to be stored.
        request_id = run.bot.request(ALICE, "developer", unique("gina"))

        row = run.bot.row(request_id)
        # Posted once (duplicates 0); the channel's other posts are the pending summary,
        # which a 1 s reminder period posts every second.
        posts = [
            c
            for c in run.api.calls_to("chat.postMessage")
            if c["channel"] == APPROVALS and c["text"].startswith(f"Access request #{request_id} ")
        ]
        assert len(posts) == 1
        # The approval post failed once, then went through (the summaries pass untouched).
        assert [s.fault for s in run.slack.calls("chat.postMessage")].count("fail") == 1
        assert row.approval_channel == APPROVALS and row.approval_ts  # its ref is stored
        [waiting] = wait_until(lambda: run.dms_to(ALICE), what="the requester's DM")
        assert "waiting for the account owners" in waiting  # once, after the post
        events = run.events_after_delivery(request_id)
        assert events == ["requested", "delivery_failed", "delivery_sent"]
        # The stored ref works: a decision updates that very message.
        run.bot.approve(request_id)
        wait_until(lambda: run.approval_updates(row.approval_ts), what="the update")
        assert run.count(AccessRequest) == 1  # requests lost 0, none doubled
        assert run.undelivered() == 0


@pytest.mark.parametrize("database", DATABASES)
def test_a_post_whose_answer_is_lost_is_posted_twice_never_zero_times(
    database, tmp_path, moto_server, slack_stub
) -> None:
    """The documented at-least-once edge: Slack took the post, its answer was lost, so
    the retry posts again. Both messages exist; the bot updates the one it heard of."""
    with faulted_bot(database, tmp_path, moto_server, slack_stub) as run:
        run.slack.drop_answer("chat.postMessage", text=APPROVAL_POST)
        request_id = run.bot.request(ALICE, "developer", unique("lena"))
        posts = [
            c
            for c in run.api.calls_to("chat.postMessage")
            if c["channel"] == APPROVALS and c["text"].startswith(f"Access request #{request_id} ")
        ]
        assert len(posts) == 2  # duplicates: 1, the documented edge; lost: 0
        [waiting] = wait_until(lambda: run.dms_to(ALICE), what="the requester's DM")
        assert "waiting for the account owners" in waiting
        approval_ts = run.bot.row(request_id).approval_ts
        run.bot.approve(request_id)
        wait_until(lambda: run.approval_updates(approval_ts), what="the known message updated")
        assert run.count(AccessRequest) == 1


# --- the credentials DM ------------------------------------------------------------------


def _fail_once(proxy: FaultProxy) -> None:
    proxy.fail("chat.postMessage", status=500)


def _rate_limit_past_the_client(proxy: FaultProxy) -> None:
    # The WebClient retries a 429 twice (after Retry-After); the third one reaches the bot.
    proxy.throttle("chat.postMessage", times=3, retry_after=1)


@pytest.mark.parametrize("fault", [_fail_once, _rate_limit_past_the_client], ids=["500", "429x3"])
@pytest.mark.parametrize("database", DATABASES)
def test_a_lost_credentials_dm_is_reissued_until_a_working_link_arrives(
    database, fault, tmp_path, moto_server, slack_stub
) -> None:
    with faulted_bot(database, tmp_path, moto_server, slack_stub) as run:
        name = unique("hugo")
        request_id = run.bot.request(ALICE, "developer", name)
        approval_ts = run.bot.row(request_id).approval_ts
        # Hold provisioning at CreateUser: the "approved" DM has gone by then, so the
        # next chat.postMessage is the credentials DM.
        run.aws.hold("CreateUser")
        run.bot.approve(request_id)
        assert run.aws.held.wait(timeout=20), "provisioning never reached CreateUser"
        fault(run.slack)
        run.aws.release()

        [(link_dm, url)] = wait_until(
            lambda: dm_links(run.api, ALICE), timeout=40, what="a credentials DM Slack took"
        )
        wait_until(lambda: run.bot.row(request_id).requester_dm_ts, what="the DM's ref")
        row = run.bot.row(request_id)
        assert row.status == "provisioned"

        # The approval message never claimed the link went before Slack took the DM.
        dm_at = next(i for i, c in enumerate(run.api.calls) if c.params is link_dm)
        wait_until(
            lambda: any(GOT_A_LINK in text for _, text in run.approval_updates(approval_ts)),
            what="the approval message to say the link went",
        )
        updates = run.approval_updates(approval_ts)
        assert all(at > dm_at for at, text in updates if GOT_A_LINK in text)
        assert any(DELIVERING in text for at, text in updates if at < dm_at)

        # Exactly one key in IAM, the one in the DMed link, and it works.
        [key] = iam_user_state(run.iam, name)["keys"]
        assert row.access_key_id == key
        assert (
            run.count(
                CredentialLink,
                CredentialLink.request_id == request_id,
                CredentialLink.purged_at.is_(None),
            )
            == 1
        )  # one live link
        status, credentials = reveal_over_http(url)
        assert status == 200 and credentials is not None
        assert credentials.access_key_id == key
        sts = moto_server.client("sts", credentials.access_key_id, credentials.secret_access_key)
        assert sts.get_caller_identity()["Arn"].endswith(f"/{name}")

        events = run.events_after_delivery(request_id)
        assert events.count("delivery_failed") == 1 and events.count("delivery_sent") == 1
        assert events.count("credentials_reissued") == 1  # the bot's own re-issue
        dms = run.dms_to(ALICE)  # waiting, approved, the link: each once
        assert len(dms) == 3 and sum("/credentials/" in text for text in dms) == 1
        assert run.undelivered() == 0
    assert credentials.secret_access_key not in run.process.text()


# --- an update that times out ------------------------------------------------------------


@pytest.mark.parametrize("database", DATABASES)
def test_a_timed_out_update_is_made_by_the_sweep(
    database, tmp_path, moto_server, slack_stub
) -> None:
    with faulted_bot(database, tmp_path, moto_server, slack_stub, SLACK_API_TIMEOUT="1") as run:
        request_id = run.bot.request(ALICE, "developer", unique("ines"))
        approval_ts = run.bot.row(request_id).approval_ts
        # Slack holds the update past the client's timeout (1 s) and never answers it.
        run.slack.hold("chat.update")
        body = payloads.block_action(
            ALICE, CANCEL_ACTION, str(request_id), channel=APPROVALS, message_ts=approval_ts
        )
        assert run.bot.post(body)[0] == 200
        assert run.bot.wait_status(request_id, "cancelled") == "cancelled"

        [(_, text)] = wait_until(
            lambda: run.approval_updates(approval_ts), timeout=20, what="the message updated"
        )
        assert "cancelled by <@U0ALICE>" in text
        assert "approve_request" not in text  # the buttons are gone
        assert [s.fault for s in run.slack.calls("chat.update")][:2] == ["hold", None]
        events = run.events_after_delivery(request_id)
        assert events[-2:] == ["delivery_failed", "delivery_sent"]
        run.slack.release()  # (the held call reaches Slack late: the at-least-once edge)
