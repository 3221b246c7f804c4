"""scripts/slack_screens.py renders the bot's REAL Block Kit: each README picture's HTML
comes from bot/slack/surfaces/ builders, so a button a builder adds shows up in it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.support.png import png_size
from tests.support.processes import REPO

SCREENS = (
    "request-modal",
    "approval-pending",
    "approval-approved",
    "approval-provisioned",
    "approval-failed",
    "requester-dms",
    "requester-later",
    "app-home",
    "revoke-modal",
    "access-review",
)


def _script():
    spec = importlib.util.spec_from_file_location(
        "slack_screens", REPO / "scripts" / "slack_screens.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def screens() -> dict[str, str]:
    script = _script()
    return script.screens(script.sample_config())


def _buttons(page: str) -> list[str]:
    return re.findall(r'<span class="button[^"]*">([^<]+)</span>', page)


def test_every_screen_is_rendered(screens: dict[str, str]) -> None:
    assert tuple(screens) == SCREENS
    for name, page in screens.items():
        assert "unknown" not in re.sub(r"\.unknown \{[^}]*\}", "", page), name
        assert "&lt;@" not in page and "<!date" not in page, name  # mrkdwn was rendered


def test_buttons_come_from_the_builders(screens: dict[str, str]) -> None:
    script = _script()
    from bot.slack.surfaces import approval_message

    config = script.sample_config()
    for name, status in (("approval-pending", "pending"), ("approval-failed", "failed")):
        request = script.sample_request(config)
        if status == "failed":
            request = script._approved(config, script.Status.FAILED, last_error="x")
        _, blocks = approval_message.build(request)
        labels = [
            element["text"]["text"]
            for block in blocks
            if block["type"] == "actions"
            for element in block["elements"]
            if element["type"] == "button"
        ]
        assert labels and _buttons(screens[name]) == labels
    assert _buttons(screens["approval-pending"]) == ["Approve", "Deny"]
    # The README's "Using the bot" names these buttons; each picture shows them.
    assert _buttons(screens["approval-provisioned"]) == ["Re-issue credentials", "Revoke", "Extend"]
    assert _buttons(screens["approval-failed"]) == ["Retry", "Roll back"]
    assert {"Cancel", "Approve", "Deny", "Revoke"} <= set(_buttons(screens["app-home"]))
    assert "Active access" in screens["app-home"] and " days old" in screens["app-home"]
    assert _buttons(screens["requester-later"]) == ["Request extension", "Rotate my key"]
    assert _buttons(screens["access-review"]) == ["Keep", "Revoke"]
    assert _buttons(screens["request-modal"]) == ["Cancel", "Request"]
    assert _buttons(screens["revoke-modal"]) == ["Cancel", "Revoke"]


def test_mrkdwn() -> None:
    mrkdwn = _script().mrkdwn
    assert mrkdwn("*bold* _it_ `code` <@U0ALICE> <https://x.test|link>") == (
        '<b>bold</b> <i>it</i> <code>code</code> <span class="mention">@alice</span> '
        '<a href="#">link</a>'
    )
    assert mrkdwn("a &lt;b&gt; & c\nd") == "a &lt;b&gt; &amp; c<br>d"
    assert mrkdwn(":key: x") == "🔑 x"


def test_pictures_are_checked_in() -> None:
    readme_dir = REPO / "docs" / "screens"
    for name in SCREENS:
        path = readme_dir / f"{name}.png"
        assert path.exists(), f"run `make screenshots` ({path} is missing)"
        width, height = png_size(path)
        assert width >= 500 and height >= 100


def test_html_mode_writes_every_page(tmp_path: Path) -> None:
    paths = _script().main(["--html", str(tmp_path)])
    assert paths == 0
    assert sorted(p.stem for p in tmp_path.glob("*.html")) == sorted(SCREENS)
