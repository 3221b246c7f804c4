"""When a grant's IAM user last used its access, for access reviews (the UsageReader
port, bot/domain/reviews.py): the most recent use of any of its access keys
(ListAccessKeys + GetAccessKeyLastUsed) and its last console sign-in (GetUser's
PasswordLastUsed). Read only; the IAM client of the grant's account is handed in
(`iam_for(account)`), never made here.

A user IAM cannot answer for (it is gone, or the bot may not read it) is reported as
unknown rather than failing the review: owners still decide, and the message says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.errors import AccountAccessError
from bot.domain.requests import RequestView
from bot.domain.reviews import GrantUsage

log = logging.getLogger("bot.aws.usage")


class IamGrantUsage:
    def __init__(self, iam_for: Callable[[str], Any]) -> None:
        self._iam_for = iam_for

    def usage(self, request: RequestView) -> GrantUsage:
        try:
            iam = self._iam_for(request.account)
            user = iam.get_user(UserName=request.iam_user_name)["User"]
            last_key = None
            paginator = iam.get_paginator("list_access_keys")
            for page in paginator.paginate(UserName=request.iam_user_name):
                for key in page.get("AccessKeyMetadata", []):
                    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
                    when = (used.get("AccessKeyLastUsed") or {}).get("LastUsedDate")
                    last_key = _latest(last_key, when)
            return GrantUsage(last_key_use=last_key, last_console_use=user.get("PasswordLastUsed"))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            log.warning("usage of request #%s unknown: IAM said %s", request.id, code)
        except (BotoCoreError, OSError, AccountAccessError) as exc:
            log.warning("usage of request #%s unknown: %s", request.id, type(exc).__name__)
        return GrantUsage(known=False)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
