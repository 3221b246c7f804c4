"""Read-only views of requests for Slack (status command, App Home)."""

from __future__ import annotations

from bot.domain.config import BotConfig
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.storage import RequestStore
from bot.services.authority import current


class RequestQueries:
    def __init__(self, store: RequestStore, config: BotConfig) -> None:
        self.store = store
        self.config = config

    def of_requester(self, requester_id: str, limit: int = 20) -> list[RequestView]:
        """The requester's newest requests, newest first."""
        rows = self.store.list(requester_id=requester_id, limit=limit)
        return [current(view, self.config) for view in rows]

    def pending(self, owner_id: str | None = None, limit: int = 20) -> list[RequestView]:
        """The oldest pending requests first: the queue of the accounts `owner_id` owns
        (every account's when None)."""
        accounts = None if owner_id is None else self.config.accounts_owned_by(owner_id)
        if accounts == ():
            return []
        rows = self.store.list(
            statuses=[Status.PENDING], limit=limit, newest_first=False, accounts=accounts
        )
        return [
            current(view, self.config)
            for view in rows
            if owner_id is None or owner_id in self.config.owners_of(view.account)
        ]

    def is_owner(self, user_id: str) -> bool:
        return self.config.is_owner(user_id)
