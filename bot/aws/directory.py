"""Looks up IAM user names for the request form (boto3, injected IAM client).

IAM user names are unique case-insensitively, so "Alice" is taken when "alice"
exists. A name counts as the requester's own when the user carries our Slack tag
for them: asking again for your own earlier user is allowed.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from bot.domain.iam_names import same_user_name

log = logging.getLogger(__name__)

SLACK_USER_TAG = "aws-access-bot:slack-user"


class Boto3IamDirectory:
    def __init__(self, iam: Any, *, tag_key: str = SLACK_USER_TAG) -> None:
        self.iam = iam
        self.tag_key = tag_key

    def name_taken(self, user_name: str, requester_id: str) -> bool:
        existing = self._find(user_name)
        if existing is None:
            return False
        return self._slack_owner(existing) != requester_id

    def _find(self, user_name: str) -> str | None:
        """The exact stored name of the IAM user matching `user_name`, if any."""
        try:
            return self.iam.get_user(UserName=user_name)["User"]["UserName"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise
        # GetUser may match exactly only; IAM still refuses "Alice" next to "alice".
        # This runs inside the modal's 3-second ack: pages of IAM's maximum, 1,000 users.
        pages = self.iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1000})
        for page in pages:
            for user in page["Users"]:
                if same_user_name(user["UserName"], user_name):
                    return user["UserName"]
        return None

    def _slack_owner(self, user_name: str) -> str | None:
        tags: list[dict[str, str]] = []
        for page in self.iam.get_paginator("list_user_tags").paginate(UserName=user_name):
            tags.extend(page["Tags"])
        return next((t["Value"] for t in tags if t["Key"] == self.tag_key), None)
