"""The Slack stand-in answers the real slack_sdk WebClient like Slack does."""

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.support.slack_api import SlackApiStub


def test_records_calls_and_decodes_blocks(slack_stub: SlackApiStub) -> None:
    client = WebClient(token="xoxb-test", base_url=slack_stub.base_url)
    response = client.chat_postMessage(channel="C1", text="hi", blocks=[{"type": "divider"}])
    assert response["ts"]
    [call] = slack_stub.calls_to("chat.postMessage")
    assert call["blocks"] == [{"type": "divider"}]
    assert slack_stub.calls[0].token == "xoxb-test"


def test_scripted_errors_and_rate_limits(slack_stub: SlackApiStub) -> None:
    slack_stub.add_user("U1", "alice@example.com")
    client = WebClient(token="xoxb-test", base_url=slack_stub.base_url)
    assert client.users_info(user="U1")["user"]["profile"]["email"] == "alice@example.com"
    slack_stub.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C404", text="x")
    assert info.value.response["error"] == "channel_not_found"
    slack_stub.rate_limit("chat.postMessage", retry_after=0)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    assert client.chat_postMessage(channel="C1", text="again")["ok"]
    assert len(slack_stub.calls_to("chat.postMessage")) == 3
