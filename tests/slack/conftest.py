"""A real Bolt app behind waitress, talking to the Slack Web API stand-in and moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.container import Container, build_iam_directory, build_services
from bot.slack.client import build_web_client
from bot.store.models import AccessRequest, AuditEvent
from tests.support import slack_payloads as payloads
from tests.support.configs import (
    DEVELOPER,
    READ_ONLY,
    S3_READ_ONLY,
    bot_config,
    config_toml,
    container_on,
    profile,
)
from tests.support.slack_api import SlackApiStub, post_signed
from tests.support.wsgi import serve_slack_app

SECRET = "test-signing-secret"  # noqa: S105 - a test value
OWNER1, OWNER2, ALICE, BOB = "U0OWNER1", "U0OWNER2", "U0ALICE", "U0BOB"

# developer (one approval, S3 read), prod (two approvals), readonly (console only).
CONFIG = config_toml(
    {**DEVELOPER, "policies": [S3_READ_ONLY]},
    profile(
        "prod",
        "Production admin",
        groups=["prod-admins"],
        policies=[],
        console=True,
        programmatic=True,
        approvals_required=2,
    ),
    profile(
        "readonly",
        "Look, don't touch",
        groups=[],
        policies=[READ_ONLY],
        console=True,
        programmatic=False,
        approvals_required=1,
    ),
)


@dataclass
class Bot:
    url: str
    api: SlackApiStub
    container: Container
    approved: list[int] = field(default_factory=list)

    def post(self, body: str, **kw: Any) -> tuple[int, bytes]:
        kw.setdefault("secret", SECRET)
        secret = kw.pop("secret")
        status, raw, _ = post_signed(self.url, body, secret, **kw)
        return status, raw

    def command(self, user: str, text: str = "") -> tuple[int, bytes]:
        return self.post(payloads.slash_command(user, text))

    def open_form(self, user: str, text: str = "") -> dict[str, Any]:
        before = len(self.api.calls_to("views.open"))
        status, _ = self.command(user, text)
        assert status == 200
        return self.api.wait_for("views.open", before + 1)[before]["view"]

    def submit(self, user: str, values: dict[str, Any], view: dict | None = None):
        status, raw = self.post(
            payloads.view_submission(
                user, view or {"type": "modal", "callback_id": "request_form"}, values
            )
        )
        return status, (json.loads(raw) if raw else None)

    def request(self, user: str, profile: str, name: str, **kw: Any) -> int:
        """Submit a request and wait until it is announced; returns its id."""
        posts = len(self.api.calls_to("chat.postMessage"))
        status, answer = self.submit(user, payloads.request_values(profile, name, **kw))
        assert (status, answer) == (200, None), answer
        self.api.wait_for("chat.postMessage", posts + 2)
        with self.container.sessions() as session:
            request_id = session.scalars(
                select(AccessRequest.id).order_by(AccessRequest.id.desc())
            ).first()
        self.wait_announced(request_id)
        return request_id

    def wait_announced(self, request_id: int) -> None:
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.row(request_id).approval_ts:
                return
            time.sleep(0.02)
        raise AssertionError(f"request #{request_id} was never announced")

    def wait_handed_off(self, request_id: int) -> list[int]:
        """The hand-off to provisioning follows the commit and the Slack updates."""
        import time

        deadline = time.monotonic() + 10
        while request_id not in self.approved and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.approved

    def click(self, user: str, action: str, request_id: int, **kw: Any) -> int:
        status, _ = self.post(payloads.block_action(user, action, str(request_id), **kw))
        return status

    def row(self, request_id: int) -> AccessRequest:
        with self.container.sessions() as session:
            row = session.get(AccessRequest, request_id)
            assert row is not None
            return row

    def count_requests(self) -> int:
        with self.container.sessions() as session:
            return session.scalar(select(func.count()).select_from(AccessRequest)) or 0

    def events(self, request_id: int) -> list[str]:
        with self.container.sessions() as session:
            return list(
                session.scalars(
                    select(AuditEvent.kind)
                    .where(AuditEvent.request_id == request_id)
                    .order_by(AuditEvent.id)
                )
            )


@pytest.fixture
def slack_api(slack_stub: SlackApiStub) -> SlackApiStub:
    """The Slack stand-in, knowing Alice, Bob and both owners."""
    for user, email in (
        (ALICE, "Alice.O'Neil@example.com"),
        (BOB, "bob@example.com"),
        (OWNER1, "owner1@example.com"),
        (OWNER2, "owner2@example.com"),
    ):
        slack_stub.add_user(user, email)
    return slack_stub


@pytest.fixture(scope="module")
def module_slack_stub() -> Iterator[SlackApiStub]:
    """One stand-in for a whole test module: stopping one waits out serve_forever's
    poll, once per module rather than once per test."""
    with SlackApiStub() as stub:
        yield stub


@pytest.fixture
def stub(module_slack_stub: SlackApiStub) -> SlackApiStub:
    """The module's Slack stand-in, the calls earlier tests made cleared."""
    module_slack_stub.clear()
    return module_slack_stub


@pytest.fixture
def iam(moto_server):
    return moto_server.client("iam")


@pytest.fixture
def make_bot(engine, sessions, clock, slack_api, iam):
    """Bots over one database and one Slack stand-in, each with its own config (as a
    restart after a config edit would be)."""

    @contextmanager
    def make(config: str = CONFIG) -> Iterator[Bot]:
        container = container_on(
            engine,
            sessions,
            clock,
            slack_bot_token="xoxb-test",  # noqa: S106 - a test value
            slack_signing_secret=SECRET,
            slack_api_url=slack_api.base_url,
            config=bot_config(config),
        )
        settings = container.settings
        client = build_web_client(settings)
        approved: list[int] = []
        services = build_services(
            container, client, build_iam_directory(iam), on_approved=approved.append
        )
        with serve_slack_app(settings, services, client) as events:
            yield Bot(events, slack_api, container, approved)

    return make


@pytest.fixture
def bot(make_bot):
    with make_bot() as bot:
        yield bot


def without_profile(config: str, name: str) -> str:
    """`config` with the profile `name` removed."""
    head, *profiles = config.split("[[profiles]]")
    kept = [p for p in profiles if f'name = "{name}"' not in p]
    return "[[profiles]]".join([head, *kept])
