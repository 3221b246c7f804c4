"""Secrets pushed through every logging path never come out of the configured handler.

Besides hand-made records (message, %-args, extra=, exc_info, stack_info), real
libraries log real traffic at DEBUG: botocore talking to moto (the response body holds
the new secret access key, the request body the console password) and slack_sdk
talking to the Slack stand-in (a DM carrying a one-time credentials link).
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from slack_sdk import WebClient

from bot.logs import MASK, configure_logging, redact
from tests.support.moto import unique
from tests.support.slack_api import SlackApiStub

PASSWORD = "Zq8!mR2#vL5@xT9$"  # noqa: S105 - a fake generated console password
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40 chars, AWS's documented example
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"  # noqa: S105
APP_TOKEN = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef"  # noqa: S105
USER_TOKEN = "xoxp-1111-2222-3333-abcdef"  # noqa: S105
LINK_KEY = "q3N9vX1bZr7T0yLh2WcKfM8pAsDeUjGo5iR4nB6tEk"
LINK = f"https://bot.example.com/credentials/42#{LINK_KEY}"

SECRETS = [PASSWORD, SECRET_KEY, BOT_TOKEN, APP_TOKEN, USER_TOKEN, LINK_KEY]


@pytest.fixture
def captured(request: pytest.FixtureRequest):
    """configure_logging into a buffer; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()

    def configure(fmt: str, level: str = "DEBUG") -> io.StringIO:
        configure_logging(level, fmt, stream=buffer)
        return buffer

    yield configure
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def assert_clean(output: str) -> None:
    assert output, "nothing was logged"
    for secret in SECRETS:
        assert secret not in output, f"{secret[:6]}… leaked"
    # Fragments of the secrets (e.g. a url-encoded password) must not leak either.
    assert "Zq8" not in output
    assert "wJalrXUtnFEMI" not in output


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_hand_made_records_on_every_path(captured, fmt: str) -> None:
    out = captured(fmt)
    log = logging.getLogger("bot.test")
    log.info(f"message: password={PASSWORD} key {SECRET_KEY} token {BOT_TOKEN} link {LINK}")
    log.info("args: password=%s %s %s %s", PASSWORD, SECRET_KEY, APP_TOKEN, LINK)
    log.info("dict arg: %s", {"UserName": "alice", "Password": PASSWORD, "token": USER_TOKEN})
    log.info(
        "extra",
        extra={
            "request_id": "r-1",
            "slack_user": "U0ALICE",
            "action": "approve",
            "password": PASSWORD,
            "credentials": {"SecretAccessKey": SECRET_KEY, "AccessKeyId": ACCESS_KEY_ID},
            "link": LINK,
            "slack": [BOT_TOKEN, APP_TOKEN],
        },
    )
    try:
        raise RuntimeError(f"password={PASSWORD!r} rejected for {LINK} ({SECRET_KEY})")
    except RuntimeError:
        log.exception("exc_info with %s", BOT_TOKEN)
    secret_in_frame = SECRET_KEY  # noqa: F841 - stack_info shows source lines, not locals
    log.info("stack %s", LINK, stack_info=True)
    for library in ("slack_sdk.web.base_client", "botocore.endpoint", "waitress", "urllib3"):
        logging.getLogger(library).debug("lib %s body=%s", library, f"password={PASSWORD}")
    output = out.getvalue()
    assert_clean(output)
    lines = output.splitlines()
    assert len(lines) == 4 + 1 + 1 + 4  # one line per event, tracebacks included
    # What is not secret survives: ids, the link's request id, the context fields.
    assert ACCESS_KEY_ID in output
    assert "/credentials/42#***" in output
    assert "xoxb-***" in output
    if fmt == "json":
        events = [json.loads(line) for line in lines]
        extra = events[3]
        assert {k: extra[k] for k in ("request_id", "slack_user", "action")} == {
            "request_id": "r-1",
            "slack_user": "U0ALICE",
            "action": "approve",
        }
        assert extra["password"] == MASK
        assert extra["credentials"] == {"SecretAccessKey": MASK, "AccessKeyId": ACCESS_KEY_ID}
        assert {"ts", "level", "logger", "message"} <= set(events[0])
        assert events[4]["level"] == "ERROR" and "RuntimeError" in events[4]["exc"]
        assert "stack" in events[5]
    else:
        assert "request_id=r-1 slack_user=U0ALICE action=approve" in lines[3]
        assert "Traceback" in lines[4]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_botocore_debug_traffic_with_moto(captured, moto_server, fmt: str) -> None:
    iam = moto_server.client("iam")
    name = unique("log-alice")
    out = captured(fmt)
    iam.create_user(UserName=name, Path="/onboarding/")
    iam.create_login_profile(UserName=name, Password=PASSWORD, PasswordResetRequired=True)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    output = out.getvalue()
    assert "CreateLoginProfile" in output  # botocore really logged the request
    assert key["SecretAccessKey"] not in output
    assert moto_server.secret_access_key not in output
    assert key["AccessKeyId"] in output
    assert PASSWORD not in output
    assert "Zq8" not in output  # not even url-encoded
    assert_clean(output)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_slack_sdk_debug_traffic(captured, fmt: str) -> None:
    with SlackApiStub() as stub:
        out = captured(fmt)
        client = WebClient(token=BOT_TOKEN, base_url=stub.base_url)
        client.chat_postMessage(channel="D0ALICE", text=f"Your credentials: <{LINK}|open once>")
        client.chat_postMessage(
            channel="D0ALICE",
            text="link",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": LINK}}],
        )
    output = out.getvalue()
    assert "chat.postMessage" in output
    assert stub.calls[0].token == BOT_TOKEN  # the real token was sent, just not logged
    assert_clean(output)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"password={PASSWORD}", "password=***"),
        (f'{{"password": "{PASSWORD}"}}', '{"password": ***}'),
        (f"{{'Password': '{PASSWORD}', 'X': 1}}", "{'Password': ***, 'X': 1}"),
        ("Action=CreateLoginProfile&Password=a%21b&UserName=x", "Password=***&UserName=x"),
        ("PasswordResetRequired=true", "PasswordResetRequired=true"),
        (f"see {LINK}.", "see https://bot.example.com/credentials/42#***."),
        (f"enc %2Fcredentials%2F42%23{LINK_KEY}&x", "enc %2Fcredentials%2F42%23***&x"),
        (f"<SecretAccessKey>{SECRET_KEY}</SecretAccessKey>", "<SecretAccessKey>***</"),
        (f"id {ACCESS_KEY_ID} ok", f"id {ACCESS_KEY_ID} ok"),
        (f"Bearer {BOT_TOKEN}", "Bearer xoxb-***"),
        (APP_TOKEN, "xapp-***"),
        ("request 42 approved by U0OWNER", "request 42 approved by U0OWNER"),
    ],
)
def test_redact_table(text: str, expected: str) -> None:
    assert expected in redact(text)
