"""Flow 1 -> 4 through the fully wired bot: a signed slash command, the modal, an owner's
Approve, provisioning against moto in the background, the DM with the one-time link, a
real browser revealing it, and the credentials working against AWS. Then nothing secret
is left in the database, the logs or anything sent to Slack."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.slack.surfaces.approval_message import APPROVE_ACTION, DENY_ACTION, REISSUE_ACTION
from bot.slack.surfaces.revoke_messages import REVOKE_ACTION
from tests.e2e.support import (
    ALICE,
    POLICY,
    buttons,
    dm_links,
    iam_user_state,
    last_update,
    slack_bodies,
    texts_of,
)
from tests.support.moto import unique
from tests.support.polling import wait_until
from tests.support.secrets import all_rows, find_secrets
from tests.support.vault import http_status

FIELDS = ("user_name", "password", "access_key_id", "secret_access_key", "console_url")


@pytest.mark.browser
def test_request_approve_provision_reveal_in_a_browser(wired, browser, bot_logs) -> None:
    api, name = wired.api, unique("alice")

    request_id = wired.request(ALICE, "developer", name)
    [announced] = [c for c in api.calls_to("chat.postMessage") if c.get("channel") == "C0APPROVALS"]
    assert set(buttons(announced)) == {APPROVE_ACTION, DENY_ACTION}
    approval_ts = wired.row(request_id).approval_ts

    wired.approve(request_id)
    assert wired.wait_status(request_id, "provisioned", "failed") == "provisioned"

    # IAM: the user under the path, tagged, in the group, with the policy, one key and
    # a login profile.
    state = iam_user_state(wired.iam, name)
    assert state is not None
    assert state["path"] == "/e2e/"
    assert state["tags"] == {
        "aws-access-bot:request-id": str(request_id),
        "aws-access-bot:slack-user": ALICE,
    }
    assert state["groups"] == [wired.group]
    assert state["policies"] == [POLICY]
    assert len(state["keys"]) == 1 and state["login_profile"]
    assert wired.row(request_id).access_key_id == state["keys"][0]

    # The DM with the link, never unfurled; the approval message says what happened.
    [(dm, url)] = wait_until(lambda: dm_links(api, ALICE), what="the credentials DM")
    assert dm["unfurl_links"] in (False, "false", "0") and dm["unfurl_media"] in (
        False,
        "false",
        "0",
    )
    assert "#" in url and url.startswith(wired.base + "/credentials/")
    final = wait_until(
        lambda: "created" in texts_of(m := last_update(api, approval_ts)) and m,
        what="the approval message to say the user was created",
    )
    assert "provisioned" in texts_of(final).lower()
    # Re-issue for a lost link; Revoke to take the access back.
    assert buttons(final) == {REISSUE_ACTION: str(request_id), REVOKE_ACTION: str(request_id)}

    # Link previewers GET the page: the link survives them.
    assert http_status(url) == 200 and http_status(url.split("#")[0]) == 200

    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    assert page.title() == "Your AWS credentials"
    page.locator("#reveal").click()
    page.locator("#result").wait_for(state="visible")
    shown = {f: page.locator(f"#field-{f}").text_content() or "" for f in FIELDS}
    assert shown["user_name"] == name
    assert shown["access_key_id"] == state["keys"][0]
    assert shown["console_url"].endswith(".signin.aws.amazon.com/console")

    # The key the browser showed works, and AWS says whose it is (moto checks signatures).
    sts = wired.moto.client("sts", shown["access_key_id"], shown["secret_access_key"])
    assert sts.get_caller_identity()["Arn"].endswith(f":user/e2e/{name}")

    response = page.reload()
    assert response is not None and response.status == 410
    assert "already revealed" in page.content()
    assert shown["password"] not in page.content()
    context.close()
    assert http_status(url) == 410

    # The requester's DM thread and the approval thread hear that the link was opened.
    def opened_notices() -> list[dict]:
        found = [
            c
            for c in api.calls_to("chat.postMessage")
            if c.get("thread_ts") and "was opened" in texts_of(c)
        ]
        return found if len(found) >= 2 else []

    opened = wait_until(opened_notices, what="the 'opened' notices")
    assert {(c["channel"], c["thread_ts"]) for c in opened} == {
        ("C0APPROVALS", approval_ts),
        (dm["channel"], wired.row(request_id).requester_dm_ts),
    }
    assert wired.row(request_id).requester_dm_ts is not None
    assert wired.events(request_id)[-1] == "credentials_revealed"

    # --- the secrets scan after the whole flow -------------------------------------
    secrets = {"password": shown["password"], "secret key": shown["secret_access_key"]}
    assert not find_secrets(all_rows(wired.container.engine), secrets), "in a table row"
    logged = bot_logs.getvalue()
    # DEBUG records of the whole flow were captured, AWS's and Slack's bodies included.
    assert "provisioned IAM user" in logged and "CreateLoginProfile" in logged
    assert "chat.postMessage" in logged
    assert not find_secrets(logged, secrets), "in a log record"
    assert not find_secrets(slack_bodies(api), secrets), "in a Slack Web API call"
    url_key = url.split("#", 1)[1]
    assert url_key not in logged and url_key not in all_rows(wired.container.engine)
    if wired.container.engine.dialect.name == "sqlite":
        db_file = Path(wired.container.engine.url.database or "")
        wired.runtime.close()
        wired.container.engine.dispose()  # checkpoint the WAL into the file
        for path in db_file.parent.glob(db_file.name + "*"):
            assert not find_secrets(path.read_bytes(), secrets), path.name
