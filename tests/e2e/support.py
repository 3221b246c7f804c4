"""Helpers for the end-to-end tests: driving the bot as Slack and a person would, and
reading what it left behind (Slack calls, IAM, the database)."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, inspect, select, table, text

from bot import crypto
from bot.domain.credentials import Credentials
from tests.support.slack_api import SlackApiStub

OWNER1, OWNER2, ALICE, MALLORY = "U0OWNER1", "U0OWNER2", "U0ALICE", "U0MALLORY"
APPROVALS = "C0APPROVALS"
POLICY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"

CONFIG = """
[slack]
approval_channel = "C0APPROVALS"
owners = ["U0OWNER1", "U0OWNER2"]

[aws]
iam_path = "/e2e/"

[reminders]
every = "4h"
remind_after = "1h"
expire_after = "7d"
{extra}
[[profiles]]
name = "developer"
description = "Read/write on dev resources"
groups = ["{group}"]
policies = ["{policy}"]
console = true
programmatic = true
approvals_required = 1

[[profiles]]
name = "broken"
description = "Names a group that does not exist in IAM (yet)"
groups = ["{missing_group}"]
policies = []
console = true
programmatic = true
approvals_required = 1
"""


def render_config(group: str, missing_group: str, extra: str = "") -> str:
    return CONFIG.format(group=group, missing_group=missing_group, policy=POLICY, extra=extra)


def add_users(api: SlackApiStub) -> None:
    for user, email in (
        (ALICE, "alice@example.com"),
        (MALLORY, "mallory@example.com"),
        (OWNER1, "owner1@example.com"),
        (OWNER2, "owner2@example.com"),
    ):
        api.add_user(user, email)


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


# --- what Slack was told -----------------------------------------------------------


def texts_of(call: dict[str, Any]) -> str:
    """Everything a person would read in one chat.* call: text and every block's text."""
    return (call.get("text") or "") + " " + json.dumps(call.get("blocks") or [])


def dm_links(api: SlackApiStub, user: str) -> list[tuple[dict[str, Any], str]]:
    """(call, url) for every credentials link DMed to `user` (D + id without the U)."""
    channel = "D" + user.lstrip("UW")
    found = []
    for call in api.calls_to("chat.postMessage"):
        if call.get("channel") != channel:
            continue
        for match in re.finditer(r"<(https?://[^|>]+/credentials/[^|>]+)\|", texts_of(call)):
            found.append((call, match.group(1)))
    return found


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """action_id -> value for every button in a chat.update/postMessage call."""
    return {
        element["action_id"]: element.get("value", "")
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    }


def last_update(api: SlackApiStub, ts: str) -> dict[str, Any]:
    updates = [c for c in api.calls_to("chat.update") if c.get("ts") == ts]
    assert updates, f"the approval message {ts} was never updated"
    return updates[-1]


# --- the one-time link, as a browser's script would use it --------------------------


def http_get(url: str) -> int:
    """A link previewer: a plain GET (urllib drops the fragment, as browsers do)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def reveal(url: str) -> tuple[int, Credentials | None]:
    """What the page's script does: POST the key check, decrypt with the fragment key."""
    parts = urlsplit(url)
    key = crypto.from_b64url(parts.fragment)
    link_id = parts.path.rsplit("/", 1)[-1]
    body = json.dumps({"proof": crypto.b64url(crypto.key_check(key))}).encode()
    request = urllib.request.Request(  # noqa: S310
        f"{parts.scheme}://{parts.netloc}{parts.path}/reveal",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            sealed = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    box = crypto.SealedBox(
        crypto.from_b64url(sealed["ciphertext"]), crypto.from_b64url(sealed["nonce"])
    )
    return 200, crypto.credentials_from_payload(crypto.open_box(box, key, link_id.encode()))


# --- IAM -----------------------------------------------------------------------------


def iam_user_state(iam: Any, name: str) -> dict[str, Any] | None:
    """Everything IAM holds for `name`, or None when the user does not exist."""
    try:
        user = iam.get_user(UserName=name)["User"]
    except iam.exceptions.NoSuchEntityException:
        return None
    try:
        iam.get_login_profile(UserName=name)
        login_profile = True
    except iam.exceptions.NoSuchEntityException:
        login_profile = False
    return {
        "path": user["Path"],
        "tags": {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]},
        "groups": sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]),
        "policies": sorted(
            p["PolicyArn"]
            for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
        ),
        "keys": sorted(
            k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        ),
        "login_profile": login_profile,
    }


# --- secrets scan --------------------------------------------------------------------


def encodings(secret: str) -> set[str]:
    """The secret raw, inside JSON, base64 (both alphabets), url-quoted and hex."""
    from urllib.parse import quote, quote_plus

    raw = secret.encode()
    return {
        secret,
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode(),
        crypto.b64url(raw),
        raw.hex(),
        quote(secret, safe=""),
        quote_plus(secret),
    }


def find_secrets(haystack: str | bytes, secrets: dict[str, str]) -> list[str]:
    """Which secrets (in which form) occur in `haystack`; empty when none does."""
    found = []
    for what, secret in secrets.items():
        for form in encodings(secret):
            needle: str | bytes = form.encode() if isinstance(haystack, bytes) else form
            if needle in haystack:
                found.append(f"{what} as {form!r}")
    return found


def all_rows(engine: Engine) -> str:
    """Every row of every table, as text."""
    dump = []
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            columns = [c["name"] for c in inspect(conn).get_columns(name)]
            query = select(*[text(f'"{c}"') for c in columns]).select_from(table(name))
            dump += [" ".join(str(value) for value in row) for row in conn.execute(query)]
    return "\n".join(dump)


def slack_bodies(api: SlackApiStub) -> str:
    return "\n".join(json.dumps(c.params) for c in api.calls)
