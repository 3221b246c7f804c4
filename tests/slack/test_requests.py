"""/request-aws-access and the request modal, through the real Bolt app (signed HTTP)."""

from __future__ import annotations

import json
import time

import pytest

from bot.aws.directory import SLACK_USER_TAG
from tests.slack.conftest import ALICE, BOB, SECRET, Bot
from tests.support import slack_payloads as payloads
from tests.support.moto import unique


def _texts(blocks: list[dict]) -> str:
    return json.dumps(blocks)


def test_command_opens_prefilled_modal(bot: Bot) -> None:
    view = bot.open_form(ALICE, "readonly need to read CloudWatch logs")
    assert view["callback_id"] == "request_form"
    blocks = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert blocks["profile"]["initial_option"]["value"] == "readonly"
    # users.info e-mail local part, cleaned to IAM's alphabet (the apostrophe goes).
    assert blocks["iam_user_name"]["initial_value"] == "Alice.ONeil"
    assert blocks["reason"]["initial_value"] == "need to read CloudWatch logs"
    # readonly grants console only, so only console is preselected.
    assert [o["value"] for o in blocks["access"]["initial_options"]] == ["console"]
    assert bot.api.calls_to("users.info")[0]["user"] == ALICE


def test_command_without_a_known_profile_keeps_text_as_reason(bot: Bot) -> None:
    view = bot.open_form(BOB, "please let me deploy")
    blocks = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert "initial_option" not in blocks["profile"]
    assert blocks["reason"]["initial_value"] == "please let me deploy"
    assert blocks["iam_user_name"]["initial_value"] == "bob"


def test_help_and_status_answer_ephemerally(bot: Bot) -> None:
    status, raw = bot.command(ALICE, "help")
    assert status == 200
    assert "/request-aws-access status" in json.loads(raw)["text"]
    status, raw = bot.command(ALICE, "status")
    assert json.loads(raw)["text"] == "You have no access requests."
    request_id = bot.request(ALICE, "developer", unique("alice"))
    status, raw = bot.command(ALICE, "status")
    answer = json.loads(raw)
    assert f"*#{request_id}* `developer`" in _texts(answer["blocks"])
    assert "pending" in _texts(answer["blocks"])
    assert bot.api.calls_to("views.open") == []


def test_submit_stores_announces_and_confirms(bot: Bot) -> None:
    name = unique("alice")
    request_id = bot.request(ALICE, "developer", name, programmatic=True)
    row = bot.row(request_id)
    assert (row.status, row.requester_id, row.iam_user_name) == ("pending", ALICE, name)
    assert (row.console, row.programmatic) == (True, True)
    assert bot.events(request_id) == ["requested"]
    approval, dm = bot.api.calls_to("chat.postMessage")
    assert approval["channel"] == "C0APPROVALS"
    assert row.approval_channel == "C0APPROVALS" and row.approval_ts
    text = _texts(approval["blocks"])
    for expected in (
        f"Access request #{request_id}*",
        f"<@{ALICE}>",
        "`developer`",
        "`developers`",
        "`AmazonS3ReadOnlyAccess`",
        "console + programmatic",
        "fix the build",
        "0 of 1 approvals",
        "<!date^",
    ):
        assert expected in text, expected
    actions = [b for b in approval["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [(a["action_id"], a["value"]) for a in actions] == [
        ("approve_request", str(request_id)),
        ("deny_request", str(request_id)),
    ]
    assert bot.api.calls_to("conversations.open")[0]["users"] == ALICE
    assert dm["channel"] == "D0ALICE"
    assert f"#{request_id}" in dm["text"]


def test_reason_and_names_are_escaped(bot: Bot) -> None:
    reason = "<!channel> read <https://evil.example|the docs> & <@U0OWNER1>"
    request_id = bot.request(ALICE, "developer", unique("alice"), reason=reason)
    approval = bot.api.calls_to("chat.postMessage")[0]
    text = _texts(approval["blocks"])
    assert (
        "&lt;!channel&gt; read &lt;https://evil.example|the docs&gt; &amp; &lt;@U0OWNER1&gt;"
        in text
    )
    assert "<!channel>" not in text and "<https://evil" not in text
    assert bot.row(request_id).reason == reason  # stored as typed; escaped when shown


@pytest.mark.parametrize(
    ("case", "block", "fragment"),
    [
        ("invalid name", "iam_user_name", "may contain only letters"),
        ("name in IAM", "iam_user_name", "already exists"),
        ("name in IAM, other case", "iam_user_name", "already exists"),
        ("other requester's user", "iam_user_name", "already exists"),
        ("open request", "profile", "You already have request #"),
        ("unknown profile", "profile", "Choose one of the access profiles"),
        ("access the profile lacks", "access", "does not grant programmatic access"),
    ],
)
def test_inline_modal_errors_store_nothing(
    bot: Bot, iam, case: str, block: str, fragment: str
) -> None:
    name, profile, programmatic = unique("alice"), "developer", False
    if case == "invalid name":
        name = "alice smith!"
    elif case == "name in IAM":
        iam.create_user(UserName=name)
    elif case == "name in IAM, other case":
        iam.create_user(UserName=name)
        name = name.upper()
    elif case == "other requester's user":
        iam.create_user(UserName=name, Tags=[{"Key": SLACK_USER_TAG, "Value": BOB}])
    elif case == "open request":
        bot.request(ALICE, "developer", unique("alice"))
    elif case == "unknown profile":
        profile = "root"
    elif case == "access the profile lacks":
        profile, programmatic = "readonly", True
    before = bot.count_requests()
    posts = len(bot.api.calls_to("chat.postMessage"))
    status, answer = bot.submit(
        ALICE, payloads.request_values(profile, name, programmatic=programmatic)
    )
    assert status == 200
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [block]
    assert fragment in answer["errors"][block]
    assert bot.count_requests() == before
    time.sleep(0.2)  # nothing is posted after the ack either
    assert len(bot.api.calls_to("chat.postMessage")) == posts


def test_own_earlier_iam_user_may_be_requested_again(bot: Bot, iam) -> None:
    name = unique("alice")
    iam.create_user(UserName=name, Tags=[{"Key": SLACK_USER_TAG, "Value": ALICE}])
    request_id = bot.request(ALICE, "developer", name.upper())
    assert bot.row(request_id).iam_user_name == name.upper()


def test_name_already_asked_for_by_another_open_request(bot: Bot) -> None:
    name = unique("shared")
    bot.request(ALICE, "developer", name)
    status, answer = bot.submit(BOB, payloads.request_values("developer", name.upper()))
    assert answer["response_action"] == "errors"
    assert "already asks for an IAM user with this name" in answer["errors"]["iam_user_name"]


@pytest.mark.parametrize(
    "how", ["wrong secret", "no signature", "stale timestamp", "future timestamp"]
)
def test_bad_signatures_get_401_and_change_nothing(bot: Bot, how: str) -> None:
    body = payloads.view_submission(
        ALICE,
        {"type": "modal", "callback_id": "request_form"},
        payloads.request_values("developer", unique("alice")),
    )
    kwargs = {
        "wrong secret": {"secret": "not-the-secret"},
        "no signature": {"secret": None},
        "stale timestamp": {"timestamp": int(time.time()) - 6 * 60},
        "future timestamp": {"timestamp": int(time.time()) + 6 * 60},
    }[how]
    status, _ = bot.post(body, **kwargs)
    assert status == 401
    status, _ = bot.post(payloads.slash_command(ALICE, "developer"), **kwargs)
    assert status == 401
    time.sleep(0.2)
    assert bot.count_requests() == 0
    assert bot.api.methods() == []


def test_a_good_signature_still_passes_alongside(bot: Bot) -> None:
    # The same body signed correctly is accepted: the 401s above are about the signature.
    status, _ = bot.post(payloads.slash_command(ALICE, "help"), secret=SECRET)
    assert status == 200


def test_failed_announcement_keeps_the_request_and_queues_the_post(bot: Bot) -> None:
    bot.api.fail("chat.postMessage", "channel_not_found")
    status, answer = bot.submit(ALICE, payloads.request_values("developer", unique("alice")))
    assert (status, answer) == (200, None)
    bot.api.wait_for("chat.postMessage", 1)  # the approval post failed
    deadline = time.monotonic() + 10
    while "delivery_failed" not in bot.events(1) and time.monotonic() < deadline:
        time.sleep(0.02)
    row = bot.row(1)
    assert row.status == "pending" and row.approval_ts is None
    # The outbox retries the post (and then DMs the requester, once).
    assert bot.events(1) == ["requested", "delivery_failed"]
    assert len(bot.api.calls_to("chat.postMessage")) == 1


def test_rate_limited_post_is_retried(bot: Bot) -> None:
    bot.api.rate_limit("chat.postMessage", retry_after=1)
    request_id = bot.request(ALICE, "developer", unique("alice"))
    assert bot.row(request_id).approval_ts is not None
    assert len(bot.api.calls_to("chat.postMessage")) == 3  # 429, retry, DM
