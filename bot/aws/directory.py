"""Looks up IAM user names for the request form (boto3, injected IAM client).

IAM user names are unique case-insensitively, so "Alice" is taken when "alice"
exists. A name counts as the requester's own when the user carries our Slack tag
for them: asking again for your own earlier user is allowed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from bot.domain.iam_names import same_user_name

log = logging.getLogger(__name__)

SLACK_USER_TAG = "aws-access-bot:slack-user"
# How long the full check may reuse one paged ListUsers. A burst of submissions costs
# one listing, not one each (IAM throttles ListUsers; 10,000 users are 10 pages). A user
# made outside the bot in another case within this window is missed here, and its
# provisioning then fails with AWS's EntityAlreadyExists, shown to the owners.
LISTING_TTL = 60.0


class Boto3IamDirectory:
    def __init__(
        self,
        iam: Any,
        *,
        tag_key: str = SLACK_USER_TAG,
        listing_ttl: float = LISTING_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.iam = iam
        self.tag_key = tag_key
        self.listing_ttl = listing_ttl
        self._monotonic = monotonic
        self._listing_lock = threading.Lock()  # one ListUsers at a time; others reuse it
        self._listing: dict[str, str] | None = None
        self._listed_at = 0.0

    def name_taken(self, user_name: str, requester_id: str, account: str = "") -> bool:
        """The full check: every IAM user, compared ignoring case (paged ListUsers, so
        its time grows with the account: it runs after the form's ack)."""
        existing = self._find(user_name)
        if existing is None:
            return False
        return self._slack_owner(existing) != requester_id

    def name_taken_quick(self, user_name: str, requester_id: str, account: str = "") -> bool:
        """The bounded check inside the form's 3-second ack: GetUser for the name as typed
        and in lower case (at most 2 calls, plus ListUserTags for a user found), whatever
        the size of the account. A user differing in another mix of case is found by
        `name_taken` after the ack."""
        existing = self._get(user_name)
        if existing is None and user_name.lower() != user_name:
            existing = self._get(user_name.lower())
        if existing is None:
            return False
        return self._slack_owner(existing) != requester_id

    def _get(self, user_name: str) -> str | None:
        try:
            return self.iam.get_user(UserName=user_name)["User"]["UserName"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise
        return None

    def _find(self, user_name: str) -> str | None:
        """The exact stored name of the IAM user matching `user_name`, if any."""
        if (exact := self._get(user_name)) is not None:
            return exact
        # GetUser may match exactly only; IAM still refuses "Alice" next to "alice".
        listed = self._listed().get(user_name.casefold())
        if listed is None or not same_user_name(listed, user_name):
            return None
        return self._get(listed)  # still there (the listing may be LISTING_TTL old)

    def _listed(self) -> dict[str, str]:
        """Every IAM user name, case-folded -> as stored; at most `listing_ttl` old."""
        with self._listing_lock:
            now = self._monotonic()
            if self._listing is None or now - self._listed_at >= self.listing_ttl:
                # Pages of IAM's maximum, 1,000 users.
                pages = self.iam.get_paginator("list_users").paginate(
                    PaginationConfig={"PageSize": 1000}
                )
                self._listing = {
                    user["UserName"].casefold(): user["UserName"]
                    for page in pages
                    for user in page["Users"]
                }
                self._listed_at = now
            return self._listing

    def _slack_owner(self, user_name: str) -> str | None:
        tags: list[dict[str, str]] = []
        for page in self.iam.get_paginator("list_user_tags").paginate(UserName=user_name):
            tags.extend(page["Tags"])
        return next((t["Value"] for t in tags if t["Key"] == self.tag_key), None)
