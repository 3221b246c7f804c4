"""Filtering requests by the account they are for (flow 7): an owner's queue, one
channel's pending summary."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, or_

from bot.domain.config import DEFAULT_ACCOUNT
from bot.store.models import AccessRequest


def in_accounts(accounts: Collection[str]) -> ColumnElement[bool]:
    """Requests of these accounts; rows stored before the account was frozen (NULL)
    belong to the default account."""
    names = list(accounts)
    condition = AccessRequest.account.in_(names)
    if DEFAULT_ACCOUNT in names:
        condition = or_(condition, AccessRequest.account.is_(None))
    return condition
