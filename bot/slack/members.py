"""The MemberDirectory port over the Slack Web API (flow 6): is this member deactivated?
Asked with users.info, because a `user_change` event alone is not trusted."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.slack.calls import slack_call


class SlackMembers:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def deactivated(self, user_id: str) -> bool | None:
        """users.info's `deleted`; None when Slack could not be asked (logged)."""
        response = slack_call("users.info", self.client.users_info, user=user_id)
        if not response:
            return None
        user = response.get("user")
        if not isinstance(user, dict) or user.get("id") not in (None, user_id):
            return None
        return user.get("deleted") is True
