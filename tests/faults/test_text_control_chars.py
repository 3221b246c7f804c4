"""Issue 12, item 5: free text with NUL or other control characters, signed like Slack
sends it, through the real Bolt app behind waitress, on SQLite and PostgreSQL.

PostgreSQL refuses NUL in text columns: before the fix the request form answered 500
there (and stored the NUL on SQLite), and a deny reason with a NUL failed after the ack,
so the owner saw nothing and the request stayed pending. Now the form refuses the text
inline and stores nothing; a deny reason is cleaned and the request is denied.
"""

from __future__ import annotations

import pytest

from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import ALICE, OWNER2, Bot
from tests.support import slack_payloads as payloads
from tests.support.moto import unique

# The real Bolt app over waitress on the shared `engine` (SQLite and PostgreSQL).
slack_api = slack_fixtures.slack_api
iam = slack_fixtures.iam
make_bot = slack_fixtures.make_bot
bot = slack_fixtures.bot

BAD_REASONS = [
    pytest.param("need logs\x00 now", id="nul"),
    pytest.param("esc\x1b[31m red\x07", id="escape-and-bell"),
    pytest.param("lone \ud800 surrogate", id="surrogate"),
]


@pytest.mark.parametrize("reason", BAD_REASONS)
def test_form_with_control_characters_is_refused_inline_and_nothing_stored(
    bot: Bot, reason: str
) -> None:
    status, answer = bot.submit(ALICE, payloads.request_values("developer", "alice", reason=reason))
    assert status == 200
    assert answer is not None and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"reason"}
    assert "control characters" in answer["errors"]["reason"]
    assert bot.count_requests() == 0
    assert bot.api.calls_to("chat.postMessage") == []


def test_iam_user_name_with_nul_is_refused_inline(bot: Bot) -> None:
    status, answer = bot.submit(ALICE, payloads.request_values("developer", "ali\x00ce"))
    assert status == 200
    assert answer is not None and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"iam_user_name"}
    assert bot.count_requests() == 0


def test_windows_line_breaks_are_ordinary_text(bot: Bot) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"), reason="line one\r\nline two")
    assert bot.row(request_id).reason == "line one\nline two"


@pytest.mark.parametrize("reason", BAD_REASONS)
def test_deny_reason_with_control_characters_is_cleaned_and_the_request_denied(
    bot: Bot, reason: str
) -> None:
    request_id = bot.request(ALICE, "developer", unique("alice"))
    assert bot.click(OWNER2, "deny_request", request_id) == 200
    [opened] = bot.api.wait_for("views.open")
    status, raw = bot.post(
        payloads.view_submission(OWNER2, opened["view"], payloads.deny_values(reason + "\nbye"))
    )
    assert (status, raw) == (200, b"")
    [update] = bot.api.wait_for("chat.update")  # the owner sees the decision
    row = bot.row(request_id)
    assert (row.status, row.decided_by) == ("denied", OWNER2)
    expected = "".join(c for c in reason if c.isprintable()) + "\nbye"
    assert row.deny_reason == expected
    assert bot.events(request_id) == ["requested", "denied"]
    assert bot.api.calls_to("chat.postEphemeral") == []
