"""Retry / Roll back clicks: signed block_actions through a real Bolt App (dispatch, as
bolt-python's own tests do) whose WebClient talks to the local Slack stand-in. The full
HTTP path through build_app is tested after the merge with the Slack branch."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from bot.domain.errors import ProvisioningError
from bot.services.provision import ProvisioningWorker
from bot.slack.after_ack import AfterAck
from bot.slack.blocks import PROVISION_RETRY, PROVISION_ROLLBACK
from bot.slack.listeners import provisioning
from bot.slack.notifier import SlackNotifier
from tests.integration.test_provision_service import (
    OWNER,
    ScriptedProvisioner,
    approved,
    bot_config,
    row_of,
    service,
)
from tests.support.slack_api import SlackApiStub, form, sign

SECRET = "signing-secret"  # noqa: S105 - test value


@pytest.fixture
def stub():
    stub = SlackApiStub()
    stub.start()
    yield stub
    stub.stop()


def click(app: App, action_id: str, value: str, user: str) -> int:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T0TEAM"},
        "channel": {"id": "C0APPROVALS"},
        "container": {"type": "message", "channel_id": "C0APPROVALS", "message_ts": "1.1"},
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
        "response_url": "https://hooks.slack.invalid/actions",
        "trigger_id": "1.2.3",
    }
    body = form(payload=payload)
    ts = int(time.time())
    response = app.dispatch(
        BoltRequest(
            body=body,
            headers={
                "content-type": ["application/x-www-form-urlencoded"],
                "x-slack-request-timestamp": [str(ts)],
                "x-slack-signature": [sign(SECRET, body, ts)],
            },
        )
    )
    return response.status


def wait_for_status(sessions, request_id: int, status: str) -> None:
    deadline = time.monotonic() + 10
    while row_of(sessions, request_id).status != status:
        assert time.monotonic() < deadline, row_of(sessions, request_id).status
        time.sleep(0.02)


@pytest.fixture
def setup(stub, sessions, clock):
    provisioner = ScriptedProvisioner(ProvisioningError("NoSuchEntity", "no group", permanent=True))
    svc = service(sessions, clock, provisioner)
    worker = ProvisioningWorker(svc)
    app = App(
        client=WebClient(token="xoxb-test", base_url=stub.base_url),
        signing_secret=SECRET,
        token_verification_enabled=False,
    )
    after_ack = AfterAck()
    provisioning.register(app, SimpleNamespace(provisioning_worker=worker), after_ack)
    request_id = approved(sessions, clock)
    svc.process(request_id)
    assert row_of(sessions, request_id).status == "failed"
    yield app, request_id, provisioner
    after_ack.shutdown(wait=True)
    worker.shutdown(wait=True)


def test_non_owner_gets_an_ephemeral_refusal(setup, stub, sessions) -> None:
    app, request_id, _ = setup
    assert click(app, PROVISION_RETRY, str(request_id), "U0REQ") == 200
    [ephemeral] = stub.wait_for("chat.postEphemeral")
    assert ephemeral["user"] == "U0REQ" and "only the account owners" in ephemeral["text"]
    assert row_of(sessions, request_id).status == "failed"


def test_owner_retry_provisions_in_the_background(setup, sessions) -> None:
    app, request_id, _ = setup
    assert click(app, PROVISION_RETRY, str(request_id), OWNER) == 200
    wait_for_status(sessions, request_id, "provisioned")


def test_owner_roll_back_revokes(setup, sessions, stub) -> None:
    app, request_id, provisioner = setup
    assert click(app, PROVISION_ROLLBACK, str(request_id), OWNER) == 200
    wait_for_status(sessions, request_id, "revoked")
    assert ("roll_back", request_id) in provisioner.calls
    assert stub.calls_to("chat.postEphemeral") == []


def test_unsigned_click_is_rejected(setup, sessions) -> None:
    app, request_id, _ = setup
    body = form(payload={"type": "block_actions", "user": {"id": OWNER}, "actions": []})
    response = app.dispatch(BoltRequest(body=body, headers={}))
    assert response.status == 401
    assert row_of(sessions, request_id).status == "failed"


def test_notifier_tells_owners_in_the_approval_thread(stub, sessions, clock) -> None:
    from dataclasses import replace

    from bot.store.repository import Repository
    from bot.store.views import request_view

    request_id = approved(sessions, clock)
    with sessions() as session:
        repo = Repository(session)
        view = request_view(repo, repo.get(request_id), bot_config())
    view = replace(
        view, approval_channel="C0APPROVALS", approval_ts="1.1", last_error="AccessDenied: no"
    )
    notifier = SlackNotifier(WebClient(token="xoxb-test", base_url=stub.base_url), bot_config())
    assert notifier.provisioning_failed(view) is not None
    [post] = stub.calls_to("chat.postMessage")
    assert post["channel"] == "C0APPROVALS" and post["thread_ts"] == "1.1"
    assert "AccessDenied: no" in post["text"]
    assert json.dumps(post).count("Retry") == 1
