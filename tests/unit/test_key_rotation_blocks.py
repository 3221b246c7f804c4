"""Key rotation's Slack surfaces (bot/slack/surfaces/key_rotation.py) and the key ages on
the owners' App Home: pure builders of domain values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.domain.credentials import IssuedLink
from bot.domain.requests import RequestView
from bot.domain.rotation import KeyAge
from bot.domain.states import Status
from bot.slack.surfaces import key_rotation
from bot.slack.surfaces.app_home import home_view

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
URL = "https://bot.example.com/credentials/link-1#c2VjcmV0LWtleQ"


def view(request_id: int = 7, **kw: object) -> RequestView:
    return RequestView(
        id=request_id,
        requester_id="U0ALICE",
        profile="developer",
        iam_user_name="alice",
        console=False,
        programmatic=True,
        reason="debug",
        status=Status.PROVISIONED,
        created_at=NOW - timedelta(days=100),
        provisioned_at=NOW - timedelta(days=93),
        **kw,  # type: ignore[arg-type]
    )


def test_the_nudge_has_the_button_and_says_how_old_the_key_is() -> None:
    text, blocks = key_rotation.nudge_message(
        view(), "AKIAOLD", NOW - timedelta(days=93), NOW, timedelta(days=7)
    )
    assert "93 days old" in text
    [actions] = [b for b in blocks if b["type"] == "actions"]
    [button] = actions["elements"]
    assert (button["action_id"], button["value"]) == (key_rotation.ROTATE_KEY_ACTION, "7")
    assert button["text"]["text"] == "Rotate my key"
    said = json.dumps(blocks)
    assert "AKIAOLD" in said and "7d" in said


def test_the_new_link_is_in_the_blocks_only() -> None:
    link = IssuedLink("link-1", URL, NOW + timedelta(hours=24))
    text, blocks = key_rotation.rotated_message(
        view(), link, "AKIAOLD", "AKIANEW", NOW + timedelta(days=7)
    )
    assert URL not in text and "c2VjcmV0LWtleQ" not in text
    said = json.dumps(blocks)
    assert URL in said and "AKIAOLD" in said and "AKIANEW" in said


def test_owners_see_key_ages_in_active_access() -> None:
    with_key, console_only = view(7), view(8)
    ages = {7: KeyAge(7, "AKIAOLD", NOW - timedelta(days=93))}
    home = home_view([], [], active=[with_key, console_only], key_ages=ages, now=NOW)
    lines = [b["text"]["text"] for b in home["blocks"] if b.get("type") == "section"]
    [seven] = [line for line in lines if line.startswith("*#7*")]
    [eight] = [line for line in lines if line.startswith("*#8*")]
    assert "key `AKIAOLD` 93 days old" in seven
    assert "key" not in eight.split("·", 3)[-1]  # no bot-made key, no age
