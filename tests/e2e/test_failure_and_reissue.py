"""Failure, recovery and re-issue through Slack: the owners' Retry, Roll back and
Re-issue buttons, clicked as signed block_actions against the fully wired bot."""

from __future__ import annotations

from bot.slack.surfaces.approval_message import PROVISION_RETRY, PROVISION_ROLLBACK, REISSUE_ACTION
from bot.slack.surfaces.revoke_messages import REVOKE_ACTION
from tests.e2e.support import (
    ALICE,
    MALLORY,
    OWNER1,
    OWNER2,
    buttons,
    dm_links,
    iam_user_state,
    last_update,
    texts_of,
)
from tests.support.moto import unique
from tests.support.polling import wait_until
from tests.support.vault import http_status, reveal_over_http


def ephemerals_to(api, user: str) -> list[str]:
    return [c["text"] for c in api.calls_to("chat.postEphemeral") if c.get("user") == user]


def failed_request(wired, name: str) -> int:
    """A request for the profile whose group is missing in IAM, approved and failed."""
    request_id = wired.request(ALICE, "broken", name)
    wired.approve(request_id)
    assert wired.wait_status(request_id, "failed", "provisioned") == "failed"
    return request_id


def test_missing_group_fails_then_owner_retries_after_fixing_iam(wired) -> None:
    api, name = wired.api, unique("bob")
    request_id = failed_request(wired, name)
    row = wired.row(request_id)
    assert row.last_error and row.last_error.startswith("NoSuchEntity")

    # The approval message shows AWS's error and the owners' buttons; the owners hear
    # it in the thread and the requester is told it is delayed.
    message = wait_until(
        lambda: PROVISION_RETRY in buttons(m := last_update(api, row.approval_ts)) and m,
        what="the failed approval message",
    )
    assert buttons(message) == {
        PROVISION_RETRY: str(request_id),
        PROVISION_ROLLBACK: str(request_id),
    }
    assert "NoSuchEntity" in texts_of(message) and wired.missing_group in texts_of(message)
    wait_until(
        lambda: any(
            c.get("thread_ts") == row.approval_ts and "failed" in texts_of(c)
            for c in api.calls_to("chat.postMessage")
        ),
        what="the owners' thread reply",
    )
    wait_until(
        lambda: any("hit a problem" in texts_of(c) for c in api.calls_to("chat.postMessage")),
        what="the requester's 'delayed' DM",
    )
    assert dm_links(api, ALICE) == []

    # A non-owner's Retry and Roll back are refused to them alone; nothing changes.
    events = wired.events(request_id)
    assert wired.click(MALLORY, PROVISION_RETRY, request_id) == 200
    assert wired.click(MALLORY, PROVISION_ROLLBACK, request_id) == 200
    refusals = wait_until(
        lambda: len(ephemerals_to(api, MALLORY)) >= 2 and ephemerals_to(api, MALLORY)
    )
    assert all("only the account owners" in text for text in refusals)
    assert wired.row(request_id).status == "failed"
    assert wired.events(request_id) == events
    user = iam_user_state(wired.iam, name)
    assert user is not None and user["groups"] == []  # made before the failing step

    # The owner fixes IAM and retries: provisioning resumes and the link is DMed.
    wired.iam.create_group(GroupName=wired.missing_group)
    assert wired.click(OWNER1, PROVISION_RETRY, request_id) == 200
    # The retry runs after the click's ack: until it starts the request is still `failed`.
    wait_until(
        lambda: wired.events(request_id).count("provisioning_started") == 2,
        what="the retry to start",
    )
    assert wired.wait_status(request_id, "provisioned", "failed") == "provisioned"
    [(_, url)] = wait_until(lambda: dm_links(api, ALICE), what="the credentials DM")
    user = iam_user_state(wired.iam, name)
    assert user is not None
    assert user["groups"] == [wired.missing_group] and len(user["keys"]) == 1
    status, credentials = reveal_over_http(url)
    assert status == 200 and credentials is not None
    assert credentials.access_key_id == user["keys"][0]
    final = wait_until(
        lambda: "created" in texts_of(m := last_update(api, row.approval_ts)) and m,
        what="the approval message to say the user was created",
    )
    assert buttons(final) == {REISSUE_ACTION: str(request_id), REVOKE_ACTION: str(request_id)}
    assert ephemerals_to(api, OWNER1) == []


def test_owner_rolls_back_a_failed_request(wired) -> None:
    api, name = wired.api, unique("carol")
    request_id = failed_request(wired, name)
    assert iam_user_state(wired.iam, name) is not None  # the user was made before the failure

    assert wired.click(OWNER2, PROVISION_ROLLBACK, request_id) == 200
    assert wired.wait_status(request_id, "revoked") == "revoked"
    assert iam_user_state(wired.iam, name) is None  # nothing of the user is left
    assert wired.events(request_id)[-1] == "rolled_back"
    ts = wired.row(request_id).approval_ts
    message = wait_until(
        lambda: "rolled back" in texts_of(m := last_update(api, ts)) and m,
        what="the approval message to say it was rolled back",
    )
    assert buttons(message) == {}
    # A second Roll back (or a Retry) on a revoked request is refused, to the clicker.
    assert wired.click(OWNER2, PROVISION_RETRY, request_id) == 200
    assert wait_until(lambda: ephemerals_to(api, OWNER2))[0].endswith("is revoked, not failed")


def test_owner_reissues_credentials(wired) -> None:
    api, name = wired.api, unique("dave")
    request_id = wired.request(ALICE, "developer", name)
    wired.approve(request_id)
    assert wired.wait_status(request_id, "provisioned", "failed") == "provisioned"
    [(_, old_url)] = wait_until(lambda: dm_links(api, ALICE), what="the first link")
    [old_key] = iam_user_state(wired.iam, name)["keys"]
    # The owners' Re-issue button is on the approval message of a provisioned request.
    message = wait_until(
        lambda: (
            REISSUE_ACTION in buttons(m := last_update(api, wired.row(request_id).approval_ts))
            and m
        ),
        what="the Re-issue button",
    )
    assert buttons(message)[REISSUE_ACTION] == str(request_id)

    # Only owners may re-issue: a non-owner's click changes nothing.
    assert wired.click(MALLORY, REISSUE_ACTION, request_id) == 200
    assert "only the AWS account owners" in wait_until(lambda: ephemerals_to(api, MALLORY))[0]
    assert iam_user_state(wired.iam, name)["keys"] == [old_key]

    assert wired.click(OWNER1, REISSUE_ACTION, request_id) == 200
    links = wait_until(lambda: len(dm_links(api, ALICE)) == 2 and dm_links(api, ALICE))
    new_url = links[1][1]
    assert new_url != old_url
    [new_key] = wait_until(
        lambda: (keys := iam_user_state(wired.iam, name)["keys"]) != [old_key] and keys
    )
    assert wired.row(request_id).access_key_id == new_key

    # The old link is dead (410 for the page and the reveal); the new one works, and the
    # key it holds works against AWS while the old key is gone.
    assert http_status(old_url) == 410
    assert reveal_over_http(old_url)[0] == 410
    status, credentials = reveal_over_http(new_url)
    assert status == 200 and credentials is not None
    assert credentials.access_key_id == new_key and credentials.password
    sts = wired.moto.client("sts", credentials.access_key_id, credentials.secret_access_key)
    assert sts.get_caller_identity()["Arn"].endswith(f"/{name}")
    assert any(
        "re-issued" in texts_of(c) and c.get("thread_ts") == wired.row(request_id).approval_ts
        for c in api.calls_to("chat.postMessage")
    )
