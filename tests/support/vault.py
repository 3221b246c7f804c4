"""Helpers for the credential vault tests: a provisioned request, a recording Notifier,
the real WSGI router served by waitress on an ephemeral port."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.credentials import Credentials, IssuedLink
from bot.domain.requests import MessageRef, RequestView
from bot.domain.states import Status
from bot.settings import BotConfig, parse_config
from bot.store.repository import Repository
from tests.conftest import MINIMAL_CONFIG

OWNER = "U0OWNER1"
REQUESTER = "U0REQUESTER"


def bot_config() -> BotConfig:
    return parse_config(tomllib.loads(MINIMAL_CONFIG), "test")


def provisioned_request(sessions, now: datetime, user_name: str = "alice") -> int:
    """A request that went the whole way to `provisioned`, with its Slack messages."""
    with sessions.begin() as session:
        repo = Repository(session)
        row = repo.add_request(
            requester_id=REQUESTER,
            profile="developer",
            iam_user_name=user_name,
            console=True,
            programmatic=True,
            reason="deploys",
            now=now,
        )
        repo.set_fields(
            row.id,
            approval_channel="C0APPROVALS",
            approval_ts="1700000000.000001",
            requester_dm_channel="D0REQUESTER",
            requester_dm_ts="1700000000.000002",
        )
        for old, new in (
            (Status.PENDING, Status.APPROVED),
            (Status.APPROVED, Status.PROVISIONING),
            (Status.PROVISIONING, Status.PROVISIONED),
        ):
            assert repo.transition(row.id, old, new, now=now)
        return row.id


def sample_credentials(user_name: str = "alice", n: int = 0) -> Credentials:
    return Credentials(
        user_name=user_name,
        console_url="https://123456789012.signin.aws.amazon.com/console",
        password=f'Pw-{n}-q7#Vx,"z!',  # comma and quote: the CSV must quote them
        access_key_id=f"AKIATESTKEY{n:09d}",
        secret_access_key=f"secret/{n}/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
    )


@dataclass
class RecordingNotifier:
    """Implements the Notifier port by recording what people would have been told."""

    calls: list[tuple[str, Any]] = field(default_factory=list)

    def request_submitted(self, request: RequestView) -> MessageRef | None:
        self.calls.append(("request_submitted", request))
        return None

    def request_updated(self, request: RequestView) -> None:
        self.calls.append(("request_updated", request))

    def tell_requester(self, request: RequestView, text: str) -> None:
        self.calls.append(("tell_requester", (request, text)))

    def credentials_ready(self, request: RequestView, link: IssuedLink) -> MessageRef | None:
        self.calls.append(("credentials_ready", (request, link)))
        return MessageRef("D0REQUESTER", "1700000000.000009")

    def credentials_opened(self, request: RequestView, at: datetime) -> None:
        self.calls.append(("credentials_opened", (request, at)))

    def credentials_expired(self, request: RequestView) -> None:
        self.calls.append(("credentials_expired", request))

    def credentials_reissued(self, request: RequestView, by: str) -> None:
        self.calls.append(("credentials_reissued", (request, by)))

    def named(self, name: str) -> list[Any]:
        return [args for kind, args in self.calls if kind == name]
