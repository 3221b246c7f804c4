"""The REAL wiring, served over HTTP: `build_runtime` + `build_app` + `mount_web_routes`
(/healthz and the credential pages) on one Router behind waitress on an ephemeral port,
talking to the Slack Web API stand-in and to the shared moto server (signatures checked)
as its admin.

This is what `aws-access-bot run` assembles (bot/runtime.py), minus the process:
tests drive it with signed Slack requests and a browser, and read the database, the
Slack calls and IAM afterwards.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.container import Container, Runtime, build_runtime
from bot.logs import make_handler
from bot.runtime import mount_web_routes
from bot.slack.app import build_app, http_handler
from bot.slack.surfaces.approval_message import APPROVE_ACTION
from bot.slack.surfaces.request_modal import CALLBACK_ID
from bot.store.models import AccessRequest, AuditEvent
from bot.web.router import Router
from tests.e2e.support import APPROVALS, OWNER1, add_users, render_config
from tests.support import slack_payloads as payloads
from tests.support.configs import bot_config, container_on
from tests.support.moto import MotoServer, unique
from tests.support.polling import wait_until
from tests.support.slack_api import SlackApiStub, post_signed
from tests.support.wsgi import serve_wsgi

SECRET = "e2e-signing-secret"  # noqa: S105 - a test value


@dataclass
class SlackDriver:
    """Drives a bot served at `base` as Slack does; reads its database back."""

    base: str
    api: SlackApiStub
    sessions: sessionmaker[Session]

    # --- as Slack -------------------------------------------------------------

    def post(self, body: str, secret: str | None = SECRET) -> tuple[int, bytes]:
        status, raw, _ = post_signed(f"{self.base}/slack/events", body, secret)
        return status, raw

    def request(
        self, user: str, profile: str, name: str, *, console: bool = True, programmatic: bool = True
    ) -> int:
        """/request-aws-access -> views.open -> view_submission -> announced; its id."""
        opened = len(self.api.calls_to("views.open"))
        assert self.post(payloads.slash_command(user, profile))[0] == 200
        view = self.api.wait_for("views.open", opened + 1)[opened]["view"]
        assert view["callback_id"] == CALLBACK_ID
        values = payloads.request_values(
            profile, name, console=console, programmatic=programmatic, reason="e2e"
        )
        status, raw = self.post(payloads.view_submission(user, view, values))
        assert (status, raw) == (200, b""), raw
        request_id = wait_until(lambda: self._newest_for(user, name), what="the stored request")
        wait_until(lambda: self.row(request_id).approval_ts, what="the approval message")
        return request_id

    def click(self, user: str, action: str, request_id: int) -> int:
        row = self.row(request_id)
        body = payloads.block_action(
            user, action, str(request_id), channel=APPROVALS, message_ts=row.approval_ts or ""
        )
        return self.post(body)[0]

    def approve(self, request_id: int, owner: str = OWNER1) -> None:
        assert self.click(owner, APPROVE_ACTION, request_id) == 200

    # --- reading back -----------------------------------------------------------

    def row(self, request_id: int) -> AccessRequest:
        with self.sessions() as session:
            row = session.get(AccessRequest, request_id)
            assert row is not None
            return row

    def wait_status(self, request_id: int, *statuses: str, timeout: float = 20.0) -> str:
        return wait_until(
            lambda: (s := self.row(request_id).status) in statuses and s,
            timeout,
            f"request #{request_id} to become {' or '.join(statuses)} "
            f"(events: {self.events(request_id)})",
        )

    def events(self, request_id: int) -> list[str]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AuditEvent.kind)
                    .where(AuditEvent.request_id == request_id)
                    .order_by(AuditEvent.id)
                )
            )

    def _newest_for(self, user: str, name: str) -> int | None:
        with self.sessions() as session:
            return session.scalars(
                select(AccessRequest.id)
                .where(AccessRequest.requester_id == user, AccessRequest.iam_user_name == name)
                .order_by(AccessRequest.id.desc())
            ).first()


@dataclass
class WiredBot(SlackDriver):
    container: Container
    runtime: Runtime
    moto: MotoServer
    iam: Any  # admin IAM client, to look at and arrange IAM
    group: str
    missing_group: str


@pytest.fixture
def slack_api(slack_stub: SlackApiStub) -> SlackApiStub:
    """The Slack stand-in, knowing Alice, Mallory and both owners."""
    add_users(slack_stub)
    return slack_stub


@pytest.fixture
def aws_env(moto_server, monkeypatch):
    """The bot's AWS SDK environment, as a deployment sets it: boto3 itself honours
    AWS_ENDPOINT_URL (also for the STS clients that check a new key with that key)."""
    for name, value in moto_server.env().items():
        monkeypatch.setenv(name, value)
    return moto_server


@pytest.fixture
def wired(engine, sessions, clock, slack_api, aws_env):
    moto = aws_env
    iam = moto.client("iam")
    group, missing_group = unique("e2e-devs"), unique("e2e-missing")
    iam.create_group(GroupName=group)
    config = bot_config(render_config(group, missing_group), "e2e.toml")

    router = Router()
    # Serve first (routes are added below): the settings need the server's own URL.
    with serve_wsgi(router) as base:
        container = container_on(
            engine,
            sessions,
            clock,
            public_url=base,
            slack_bot_token="xoxb-e2e",  # noqa: S106 - a test value
            slack_signing_secret=SECRET,
            slack_api_url=slack_api.base_url,
            config=config,
        )
        settings = container.settings
        # As bot.runtime.start_bot wires it, but with the moto admin's session handed in.
        runtime = build_runtime(container, aws_session=moto.session())
        slack_app = build_app(
            settings, runtime.services, runtime.client, after_ack=runtime.after_ack
        )
        mount_web_routes(router, container, runtime)
        router.mount("/slack/events", http_handler(slack_app))
        try:
            yield WiredBot(
                base, slack_api, sessions, container, runtime, moto, iam, group, missing_group
            )
        finally:
            runtime.close()


@pytest.fixture(params=["text", "json"])
def bot_logs(request):
    """Every log record (ours and every library's, DEBUG and up) through the bot's own
    redacting handler, as `run` installs it (bot.logs.configure_logging)."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler = make_handler(request.param, stream)
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)
