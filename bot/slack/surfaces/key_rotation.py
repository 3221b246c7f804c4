"""Key rotation's messages (flow 6): the requester's nudge with "Rotate my key", the DM
with the new key's one-time link, what the nudge turns into once clicked, and a key's
age as the owners' App Home shows it.

The link's URL carries the decryption key (docs/architecture.md, "Credentials"): it is
in the blocks only, never the notification text, and the notifier posts it with
unfurling off.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.credentials import IssuedLink
from bot.domain.requests import RequestView
from bot.domain.rotation import KeyAge, days_old
from bot.settings import format_duration
from bot.slack.surfaces.blockkit import Block, button, context, escape, mrkdwn, slack_date

ROTATE_KEY_ACTION = "rotate_key"


def nudge_message(
    request: RequestView, key_id: str, key_created_at: datetime, now: datetime, grace: timedelta
) -> tuple[str, list[Block]]:
    """The requester's key is older than `[offboarding] key_max_age`."""
    age = days_old(now - key_created_at)
    text = f"Your AWS access key for request #{request.id} is {age} old: please rotate it"
    blocks = [
        mrkdwn(
            f":arrows_counterclockwise: *Time to rotate your AWS access key.* Key `{key_id}` "
            f"of IAM user `{escape(request.iam_user_name)}` (request #{request.id}, "
            f"*{escape(request.profile)}*) is {age} old."
        ),
        {
            "type": "actions",
            "block_id": f"rotate-{request.id}",
            "elements": [
                button("Rotate my key", ROTATE_KEY_ACTION, str(request.id), "primary"),
            ],
        },
        context(
            "You get a new key through a one-time link, like the first one. The old key "
            "keeps working until you use the new one, or for "
            f"{format_duration(grace)} at most; then it is turned off, and deleted a day later."
        ),
    ]
    return text, blocks


def rotated_message(
    request: RequestView,
    link: IssuedLink,
    old_key_id: str,
    new_key_id: str,
    grace_ends: datetime | None,
) -> tuple[str, list[Block]]:
    """The new key's one-time link. The notification text leaves the URL out."""
    text = f"Your new AWS access key for request #{request.id} is ready (one-time link)"
    until = f"until {slack_date(grace_ends)} at most" if grace_ends else "for a while"
    blocks = [
        mrkdwn(
            f":key: *Your new AWS access key is ready* (request #{request.id}, IAM user "
            f"`{escape(request.iam_user_name)}`, key `{new_key_id}`)."
        ),
        mrkdwn(f"<{link.url}|Open your one-time link to the new key>"),
        context(
            "The link works *once* and expires "
            f"{slack_date(link.expires_at)}. Switch your tools to the new key: the old key "
            f"`{old_key_id}` keeps working until the new one has been used, or {until}; "
            "then it is turned off, and deleted a day later. Don't forward the link."
        ),
    ]
    return text, blocks


def clicked_message(request: RequestView) -> tuple[str, list[Block]]:
    """What the nudge becomes once its button was used (no second click)."""
    text = f"You rotated the AWS access key of request #{request.id}"
    return text, [
        mrkdwn(
            f":white_check_mark: You rotated the access key of request #{request.id} "
            f"(IAM user `{escape(request.iam_user_name)}`): the link to the new key is below."
        )
    ]


def key_age_text(key: KeyAge | None, now: datetime) -> str:
    """The key's age for App Home's active access ("" without a bot-made key)."""
    if key is None:
        return ""
    return f" · key `{key.key_id}` {days_old(key.age(now))} old"
