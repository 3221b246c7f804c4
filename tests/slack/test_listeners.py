"""The one listener wrapper (bot.slack.listeners): ack at once, work after the ack on the
after-ack pool, a failure logged without its text, and the one request-id parser in
front of every button that names a request."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.after_ack import AfterAck
from bot.slack.listeners import NOT_A_REQUEST, on_action, on_button, on_view
from tests.support import slack_payloads as payloads
from tests.support.slack_api import SlackApiStub, dispatch_signed

SECRET = "signing-secret"  # noqa: S105 - test value


@pytest.fixture
def app_and_pool(stub: SlackApiStub):
    app = App(
        client=WebClient(token="xoxb-test", base_url=stub.base_url),
        signing_secret=SECRET,
        token_verification_enabled=False,
    )
    after_ack = AfterAck()
    yield app, after_ack
    after_ack.shutdown(wait=True)


def test_the_ack_does_not_wait_for_the_work(app_and_pool) -> None:
    app, after_ack = app_and_pool
    release, done = threading.Event(), threading.Event()
    seen: list[str] = []

    def slow(body: dict, client: WebClient) -> None:
        release.wait(10)
        seen.append(body["actions"][0]["value"])
        done.set()

    on_action(app, after_ack, "slow_action", slow)
    body = payloads.block_action("U0OWNER1", "slow_action", "v1")
    assert dispatch_signed(app, body, SECRET) == 200  # answered while the work waits
    assert seen == []
    release.set()
    assert done.wait(10) and seen == ["v1"]


def test_a_failing_work_is_logged_by_type_only(app_and_pool, caplog) -> None:  # noqa: ANN001
    app, after_ack = app_and_pool

    def broken(body: dict, client: WebClient) -> None:
        raise RuntimeError("payload said xoxb-secret-token")

    on_view(app, after_ack, "some_form", broken)
    body = payloads.view_submission("U0ALICE", {"type": "modal", "callback_id": "some_form"}, {})
    with caplog.at_level(logging.ERROR, logger="bot.slack"):
        assert dispatch_signed(app, body, SECRET) == 200
        after_ack.shutdown(wait=True)
    assert "slack listener work failed: RuntimeError" in caplog.text
    assert "xoxb-secret-token" not in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"), [("12", 12), ("", None), ("12; DROP", None), ("-3", None)]
)
def test_a_button_hands_over_the_parsed_request_id(
    app_and_pool, stub: SlackApiStub, value: str, expected: int | None
) -> None:
    app, after_ack = app_and_pool
    got: list[int] = []

    def work(request_id: int, body: dict, client: WebClient) -> None:
        got.append(request_id)

    on_button(app, SimpleNamespace(), after_ack, "some_button", work)
    assert dispatch_signed(app, payloads.block_action("U0BOB", "some_button", value), SECRET) == 200
    after_ack.shutdown(wait=True)
    if expected is not None:
        assert got == [expected] and stub.calls_to("chat.postEphemeral") == []
    else:
        assert got == []
        [ephemeral] = stub.calls_to("chat.postEphemeral")
        assert (ephemeral["user"], ephemeral["text"]) == ("U0BOB", NOT_A_REQUEST)
