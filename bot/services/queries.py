"""Read-only views of requests for Slack (status command, App Home)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import BotConfig
from bot.store.repository import Repository
from bot.store.views import request_view


class RequestQueries:
    def __init__(self, sessions: sessionmaker[Session], config: BotConfig) -> None:
        self.sessions = sessions
        self.config = config

    def of_requester(self, requester_id: str, limit: int = 20) -> list[RequestView]:
        """The requester's newest requests, newest first."""
        with self.sessions() as session:
            repo = Repository(session)
            rows = repo.list_requests(requester_id=requester_id, limit=limit)
            return [request_view(repo, row, self.config) for row in rows]

    def pending(self, limit: int = 20) -> list[RequestView]:
        """The oldest pending requests first: the owners' queue."""
        with self.sessions() as session:
            repo = Repository(session)
            rows = repo.list_requests(statuses=[Status.PENDING], limit=limit, newest_first=False)
            return [request_view(repo, row, self.config) for row in rows]

    def is_owner(self, user_id: str) -> bool:
        return user_id in self.config.slack.owners
