"""Retry / Roll back / Re-issue clicks: signed block_actions through a real Bolt App
(dispatch, as bolt-python's own tests do) whose WebClient talks to the local Slack
stand-in, over the real stores and provisioning worker with a scripted provisioner.
The full HTTP path through `run` is tests/e2e/test_failure_and_reissue.py."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from bot.domain.credentials import Credentials
from bot.domain.errors import ProvisioningError
from bot.domain.requests import RequestView
from bot.domain.rules import freeze
from bot.domain.states import Status
from bot.domain.storage import NewRequest
from bot.services.provision import ProvisioningService
from bot.services.worker import ProvisioningWorker
from bot.slack.after_ack import AfterAck
from bot.slack.listeners import NOT_A_REQUEST, provisioning
from bot.slack.notifier import SlackNotifier
from bot.slack.surfaces.approval_message import PROVISION_RETRY, PROVISION_ROLLBACK
from bot.store import build_stores
from tests.support.configs import bot_config
from tests.support.slack_api import dispatch_signed, form

SECRET = "signing-secret"  # noqa: S105 - test value
OWNER, REQUESTER, OTHER = "U0OWNER1", "U0REQ", "U0OTHER"
CONFIG = bot_config()


class ScriptedProvisioner:
    """Fails the first provisioning with `error`, then succeeds; records every call."""

    def __init__(self, error: ProvisioningError) -> None:
        self.errors = [error]
        self.calls: list[tuple[str, int]] = []

    def provision(self, request: RequestView) -> Credentials:
        self.calls.append(("provision", request.id))
        if self.errors:
            raise self.errors.pop(0)
        return Credentials(
            user_name=request.iam_user_name,
            console_url="https://123456789012.signin.aws.amazon.com/console",
            password="pw-for-test",  # noqa: S106 - a test value
            access_key_id="AKIATESTTESTTESTTEST",
            secret_access_key="test-secret-key",
        )

    def rotate_credentials(self, request: RequestView) -> Credentials:  # pragma: no cover
        raise AssertionError("not used here")

    def roll_back(self, request: RequestView) -> None:
        self.calls.append(("roll_back", request.id))


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
    return dispatch_signed(app, form(payload=payload), SECRET)


@pytest.fixture
def setup(stub, sessions, clock):
    stores = build_stores(sessions)
    client = WebClient(token="xoxb-test", base_url=stub.base_url)
    provisioner = ScriptedProvisioner(ProvisioningError("NoSuchEntity", "no group", permanent=True))
    service = ProvisioningService(
        stores.provisioning,
        stores.requests,
        provisioner,
        SlackNotifier(client, CONFIG),
        clock,
        CONFIG,
        public_url="http://bot.test",
    )
    worker = ProvisioningWorker(service)
    app = App(client=client, signing_secret=SECRET, token_verification_enabled=False)
    after_ack = AfterAck()
    provisioning.register(app, SimpleNamespace(provisioning_worker=worker), after_ack)
    profile = CONFIG.profiles[0]
    stored = stores.requests.submit(
        NewRequest(
            requester_id=REQUESTER,
            profile=profile.name,
            iam_user_name="alice",
            reason="deploys",
            rules=freeze(profile, CONFIG, console=True, programmatic=False),
        ),
        clock.now(),
    )
    stores.requests.approve(stored.id, OWNER, 1, clock.now())
    service.process(stored.id)
    assert status_of(stores, stored.id) is Status.FAILED
    stub.clear()
    yield app, stores, stored.id, provisioner
    after_ack.shutdown(wait=True)
    worker.shutdown(wait=True)


def status_of(stores, request_id: int) -> Status:  # noqa: ANN001
    request = stores.requests.get(request_id)
    assert request is not None
    return request.status


def wait_for_status(stores, request_id: int, status: Status) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 10
    while status_of(stores, request_id) is not status:
        assert time.monotonic() < deadline, status_of(stores, request_id)
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("user", "action", "refusal"),
    [
        (OTHER, PROVISION_RETRY, "only the account owners can retry or roll back provisioning"),
        (OTHER, PROVISION_ROLLBACK, "only the account owners can retry or roll back provisioning"),
        (REQUESTER, PROVISION_RETRY, "you cannot retry provisioning of your own request"),
        (REQUESTER, PROVISION_ROLLBACK, "you cannot roll back your own request"),
    ],
)
def test_a_refused_click_gets_an_ephemeral_and_changes_nothing(
    setup, stub, user: str, action: str, refusal: str
) -> None:
    app, stores, request_id, provisioner = setup
    assert click(app, action, str(request_id), user) == 200
    [ephemeral] = stub.wait_for("chat.postEphemeral")
    assert (ephemeral["user"], ephemeral["channel"]) == (user, "C0APPROVALS")
    assert refusal in ephemeral["text"].lower()
    time.sleep(0.1)
    assert status_of(stores, request_id) is Status.FAILED
    assert provisioner.calls == [("provision", request_id)]


def test_owner_retry_provisions_in_the_background(setup, stub) -> None:
    app, stores, request_id, _ = setup
    assert click(app, PROVISION_RETRY, str(request_id), OWNER) == 200
    wait_for_status(stores, request_id, Status.PROVISIONED)
    assert stub.calls_to("chat.postEphemeral") == []


def test_owner_roll_back_revokes(setup, stub) -> None:
    app, stores, request_id, provisioner = setup
    assert click(app, PROVISION_ROLLBACK, str(request_id), OWNER) == 200
    wait_for_status(stores, request_id, Status.REVOKED)
    assert ("roll_back", request_id) in provisioner.calls
    assert stub.calls_to("chat.postEphemeral") == []


@pytest.mark.parametrize("value", ["", "1; DROP TABLE", "-1", "²"])
def test_a_garbled_button_value_is_answered_not_worked_on(setup, stub, value: str) -> None:
    app, stores, request_id, provisioner = setup
    assert click(app, PROVISION_RETRY, value, OWNER) == 200
    [ephemeral] = stub.wait_for("chat.postEphemeral")
    assert ephemeral["text"] == NOT_A_REQUEST
    assert status_of(stores, request_id) is Status.FAILED
    assert provisioner.calls == [("provision", request_id)]


def test_a_click_on_a_request_that_does_not_exist(setup, stub) -> None:
    app, *_ = setup
    assert click(app, PROVISION_ROLLBACK, "999", OWNER) == 200
    [ephemeral] = stub.wait_for("chat.postEphemeral")
    assert "#999" in ephemeral["text"] and "does not exist" in ephemeral["text"]


def test_unsigned_click_is_rejected(setup) -> None:
    app, stores, request_id, _ = setup
    body = form(payload={"type": "block_actions", "user": {"id": OWNER}, "actions": []})
    response = app.dispatch(BoltRequest(body=body, headers={}))
    assert response.status == 401
    assert status_of(stores, request_id) is Status.FAILED
