"""The requester's "Rotate my key" (flow 6, key rotation): signed block_actions over HTTP
through the real Bolt app (built by build_app with the rotation service wired, as `run`
wires it), its WebClient talking to the local Slack stand-in, IAM being moto in server
mode. The nudge comes from the scheduler's "rotate-keys" job with an injected clock."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.aws.calls import Backoff
from bot.aws.iam import IamProvisioner
from bot.aws.revoke import AccountRevokers
from bot.aws.rotation import IamKeyRotator
from bot.container import Container, build_iam_directory, build_services, durable_notifier
from bot.domain.credentials import IssuedLink
from bot.domain.requests import RequestView
from bot.scheduler import ROTATE_KEYS_JOB, lifecycle_jobs, run_job
from bot.services.revoke import RevokeService
from bot.services.rotation import KeyRotations
from bot.slack.client import build_web_client
from bot.slack.surfaces.key_rotation import ROTATE_KEY_ACTION
from tests.support import requests
from tests.support import slack_payloads as payloads
from tests.support.configs import DEVELOPER, bot_config, config_toml, container_on
from tests.support.moto import unique
from tests.support.slack_api import SlackApiStub, post_signed
from tests.support.vault import open_link
from tests.support.wsgi import serve_slack_app

SECRET = "rotation-signing-secret"  # noqa: S105 - a test value
OWNER, ALICE = "U0OWNER1", "U0ALICE"
PUBLIC_URL = "https://bot.example.com"
CONFIG = bot_config(
    config_toml(
        {**DEVELOPER, "groups": []},
        extra='[offboarding]\nkey_max_age = "90d"\nrotation_grace = "7d"\n',
    )
)


@dataclass
class RotationBot:
    url: str
    api: SlackApiStub
    container: Container
    rotations: KeyRotations

    def click(self, user: str, request_id: int, *, channel: str, message_ts: str) -> int:
        body = payloads.block_action(
            user, ROTATE_KEY_ACTION, str(request_id), channel=channel, message_ts=message_ts
        )
        status, _raw, _headers = post_signed(self.url, body, SECRET)
        return status

    def sweep(self) -> Any:
        jobs = lifecycle_jobs(
            CONFIG.reminders,
            remind=lambda _n: 0,
            expire=lambda _n: 0,
            rotate_keys=self.rotations.sweep,
        )
        [job] = [job for job in jobs if job.id == ROTATE_KEYS_JOB]
        outcome = run_job(job, self.container.clock)
        assert outcome.ok, outcome.error
        return outcome.result


@pytest.fixture
def iam(moto_server):
    return moto_server.client("iam")


@pytest.fixture
def rotation_bot(engine, sessions, clock, slack_api, iam) -> Iterator[RotationBot]:
    container = container_on(
        engine,
        sessions,
        clock,
        slack_bot_token="xoxb-test",  # noqa: S106 - a test value
        slack_signing_secret=SECRET,
        slack_api_url=slack_api.base_url,
        public_url=PUBLIC_URL,
        config=CONFIG,
    )
    settings = container.settings
    client = build_web_client(settings)
    notifier = durable_notifier(container, client)
    rotations = KeyRotations(
        container.stores.rotations,
        container.stores.requests,
        IamKeyRotator(iam, CONFIG.aws, sleep=lambda _s: None, step_backoff=Backoff(2, 0, 0)),
        notifier,
        CONFIG,
        public_url=settings.public_url,
        clock=clock,
    )
    # The owners' "Active access" on App Home comes from the revoke use case.
    revoke = RevokeService(
        container.stores.revocations,
        container.stores.requests,
        AccountRevokers(lambda _account: iam, CONFIG.aws),
        notifier,
        clock,
        CONFIG,
    )
    services = build_services(
        container,
        client,
        build_iam_directory(iam),
        notifier=notifier,
        revoke=revoke,
        rotation=rotations,
    )
    with serve_slack_app(settings, services, client) as events:
        yield RotationBot(events, slack_api, container, rotations)


def provisioned(bot: RotationBot, moto_server, iam) -> RequestView:
    """Alice's request, provisioned in moto by the bot's provisioner."""
    stores, clock = bot.container.stores, bot.container.clock
    view = requests.approved(
        stores,
        CONFIG,
        now=clock.now(),
        requester_id=ALICE,
        iam_user_name=unique("alice"),
        console=False,
    )
    provisioner = IamProvisioner(
        iam,
        lambda key_id, secret: moto_server.client("sts", key_id, secret),
        CONFIG.aws,
        sleep=lambda _s: None,
        step_backoff=Backoff(2, 0, 0),
    )
    view, _ = requests.provision(
        stores, CONFIG, view.id, provisioner.provision(view), now=clock.now()
    )
    return view


def keys(iam, name: str) -> set[str]:
    return {k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}


def link_in(blocks: list[dict[str, Any]]) -> str:
    text = "\n".join(str(block.get("text", {}).get("text", "")) for block in blocks)
    found = re.search(r"<(https://bot\.example\.com/credentials/[^|>]+)\|", text)
    assert found, text
    return found.group(1)


def test_rotate_my_key_dms_a_new_one_time_link(rotation_bot, moto_server, iam) -> None:
    bot = rotation_bot
    api = bot.api
    request = provisioned(bot, moto_server, iam)
    name = request.iam_user_name
    [old_key] = keys(iam, name)
    bot.container.clock.advance(days=91)

    # The sweep nudges Alice in a DM, with the button.
    assert bot.sweep().nudged == 1
    [nudge] = api.wait_for("chat.postMessage")
    dm_channel = nudge["channel"]
    assert dm_channel == "D0ALICE"  # conversations.open with Alice
    assert "91 days old" in nudge["text"]
    [button] = [
        element
        for block in nudge["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
    ]
    assert (button["action_id"], button["value"]) == (ROTATE_KEY_ACTION, str(request.id))
    assert old_key in str(nudge["blocks"])
    api.clear()

    # Someone else's click (a forged payload: only Alice sees her DM) changes nothing.
    assert bot.click(OWNER, request.id, channel=dm_channel, message_ts="1700000001.000100") == 200
    [refusal] = api.wait_for("chat.postEphemeral")
    assert refusal["user"] == OWNER
    assert "only the requester can rotate" in refusal["text"].lower()
    time.sleep(0.2)
    assert keys(iam, name) == {old_key}
    assert "chat.postMessage" not in api.methods()
    api.clear()

    # Alice's click: a new key, its new one-time link in a DM of its own.
    assert bot.click(ALICE, request.id, channel=dm_channel, message_ts="1700000001.000100") == 200
    [link_dm] = api.wait_for("chat.postMessage")
    assert link_dm["channel"] == dm_channel
    assert str(link_dm["unfurl_links"]).lower() == "false"
    assert str(link_dm["unfurl_media"]).lower() == "false"
    url = link_in(link_dm["blocks"])
    assert url not in link_dm["text"]  # never in the notification text
    [update] = api.wait_for("chat.update")  # the nudge loses its button
    assert (update["channel"], update["ts"]) == (dm_channel, "1700000001.000100")
    assert "actions" not in str(update["blocks"])

    [new_key] = keys(iam, name) - {old_key}
    assert keys(iam, name) == {old_key, new_key}  # the old key keeps working for now
    assert new_key in str(link_dm["blocks"]) and old_key in str(link_dm["blocks"])
    link_id = urlsplit(url).path.rsplit("/", 1)[-1]
    credentials = open_link(
        bot.container.stores, IssuedLink(link_id, url), bot.container.clock.now()
    )
    assert credentials.access_key_id == new_key
    assert credentials.secret_access_key and credentials.password is None
    kinds = requests.audit_kinds(bot.container.stores, request.id)
    assert "key_rotated" in kinds and kinds[-1] == "credentials_revealed"
    assert credentials.secret_access_key not in str(api.calls)  # only sealed, in the link


def test_the_requester_clicking_twice_gets_one_new_key(rotation_bot, moto_server, iam) -> None:
    bot = rotation_bot
    request = provisioned(bot, moto_server, iam)
    bot.container.clock.advance(days=91)
    bot.sweep()
    bot.api.clear()
    for _ in range(2):
        assert bot.click(ALICE, request.id, channel="D0ALICE", message_ts="1.2") == 200
    bot.api.wait_for("chat.postMessage")
    [said] = bot.api.wait_for("chat.postEphemeral")
    assert "already" in said["text"] or "being made" in said["text"]
    time.sleep(0.2)
    assert len(bot.api.calls_to("chat.postMessage")) == 1
    assert len(keys(iam, request.iam_user_name)) == 2


def test_owners_see_key_ages_in_app_home(rotation_bot, moto_server, iam) -> None:
    bot = rotation_bot
    request = provisioned(bot, moto_server, iam)
    [key] = keys(iam, request.iam_user_name)
    bot.container.clock.advance(days=93)
    status, _raw, _headers = post_signed(bot.url, payloads.app_home_opened(OWNER), SECRET)
    assert status == 200
    [published] = bot.api.wait_for("views.publish")
    lines = [
        block["text"]["text"]
        for block in published["view"]["blocks"]
        if block.get("type") == "section"
    ]
    [grant] = [line for line in lines if line.startswith(f"*#{request.id}*")]
    assert f"key `{key}` 93 days old" in grant
