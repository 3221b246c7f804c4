"""Flow 6 through signed Slack requests: Slack deactivation (`user_change`) and
time-bound access (the expiry warning's Request extension, the owners' Extend).

The REAL wiring (`build_runtime` + `build_app`, as `run` assembles it) served over HTTP,
talking to the Slack Web API stand-in and to moto server (signatures checked): grants
are provisioned in IAM for real and revoked through the one revoke use case. The clock
is injected, so the time-bound sweep is run at chosen moments.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.container import build_runtime
from bot.slack.app import build_app, http_handler
from bot.slack.surfaces.request_modal import DURATION_BLOCK
from bot.slack.surfaces.time_bound import EXTEND_ACTION, REQUEST_EXTENSION_ACTION
from bot.store.models import AccessRequest, AuditEvent
from bot.web.router import Router
from tests.e2e.conftest import SECRET, SlackDriver
from tests.e2e.support import ALICE, APPROVALS, MALLORY, OWNER1, add_users, texts_of
from tests.support import slack_payloads as payloads
from tests.support.configs import S3_READ_ONLY, bot_config, config_toml, profile
from tests.support.moto import unique
from tests.support.polling import wait_until
from tests.support.slack_api import SlackApiStub, sign
from tests.support.wsgi import serve_wsgi


def _config(group: str, on_deactivation: str = "revoke") -> str:
    common = {
        "groups": [group],
        "policies": [S3_READ_ONLY],
        "console": True,
        "programmatic": True,
        "approvals_required": 1,
    }
    return config_toml(
        profile("developer", "Time-bound dev access", max_duration="30d", **common),
        profile("ops", "Lasts until revoked", **common),
        aws={"iam_path": "/timebound/"},
        reminders={"every": "4h", "remind_after": "1h", "expire_after": "7d"},
        extra=f'[offboarding]\nmode = "disable"\non_deactivation = "{on_deactivation}"\n',
    )


class Bot(SlackDriver):
    runtime: Any
    iam: Any

    def event(self, user: dict[str, Any], event_id: str, retry: int | None = None) -> int:
        """A signed `user_change` event callback; `retry` sends X-Slack-Retry-Num."""
        body = json.dumps(
            {
                "token": "legacy-token",
                "team_id": "T0TEAM",
                "api_app_id": "A0APP",
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "event": {"type": "user_change", "user": user, "event_ts": f"{time.time():.6f}"},
            }
        )
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(SECRET, body, ts),
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        request = urllib.request.Request(  # noqa: S310 - the local test server
            f"{self.base}/slack/events", data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def grant(self, user: str, profile_name: str) -> int:
        """Request, approve and wait until provisioned in IAM; the request id."""
        request_id = self.request(user, profile_name, unique("tb"))
        self.approve(request_id)
        assert self.wait_status(request_id, "provisioned", "failed") == "provisioned"
        return request_id

    def count(self, request_id: int, kind: str) -> int:
        with self.sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.request_id == request_id, AuditEvent.kind == kind)
                )
                or 0
            )

    def idle(self) -> None:
        """Every listener's after-ack work and the worker's jobs are done."""
        wait_until(lambda: self.runtime.after_ack.backlog() == 0, what="after-ack work")


@pytest.fixture
def make_bot(engine, sessions, clock, slack_stub: SlackApiStub, moto_server, monkeypatch):
    for name, value in moto_server.env().items():
        monkeypatch.setenv(name, value)
    add_users(slack_stub)
    iam = moto_server.client("iam")
    group = unique("tb-devs")
    iam.create_group(GroupName=group)

    @contextmanager
    def make(on_deactivation: str = "revoke") -> Iterator[Bot]:
        from tests.support.configs import container_on

        router = Router()
        with serve_wsgi(router) as base:
            container = container_on(
                engine,
                sessions,
                clock,
                public_url=base,
                slack_bot_token="xoxb-tb",  # noqa: S106 - a test value
                slack_signing_secret=SECRET,
                slack_api_url=slack_stub.base_url,
                config=bot_config(_config(group, on_deactivation), "tb.toml"),
            )
            runtime = build_runtime(container, aws_session=moto_server.session())
            app = build_app(
                container.settings, runtime.services, runtime.client, after_ack=runtime.after_ack
            )
            router.mount("/slack/events", http_handler(app))
            bot = Bot(base, slack_stub, sessions)
            bot.runtime, bot.iam = runtime, iam
            try:
                yield bot
            finally:
                runtime.close()

    return make


def _login_profile(iam: Any, name: str) -> bool:
    try:
        iam.get_login_profile(UserName=name)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def _keys(iam: Any, name: str) -> list[str]:
    return [k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]]


def _posts(api: SlackApiStub, channel: str, has: Callable[[str], bool]) -> list[dict]:
    return [
        c
        for c in api.calls_to("chat.postMessage")
        if c.get("channel") == channel and has(texts_of(c))
    ]


# --- Slack deactivation -----------------------------------------------------------------


def test_user_change_deleted_revokes_every_grant_once_even_when_redelivered(
    make_bot, slack_stub
) -> None:
    with make_bot() as bot:
        grants = [bot.grant(ALICE, "developer"), bot.grant(ALICE, "ops")]
        other = bot.grant(MALLORY, "ops")
        names = [bot.row(g).iam_user_name for g in grants]
        assert all(_login_profile(bot.iam, n) for n in names)

        # Slack says Alice is gone; the event arrives, then Slack delivers it again.
        slack_stub.add_user(ALICE, "alice@example.com", deleted=True)
        alice = {"id": ALICE, "name": "alice", "deleted": True}
        assert bot.event(alice, "EvGONE1") == 200
        assert bot.event(alice, "EvGONE1", retry=1) == 200
        for request_id in grants:
            assert bot.wait_status(request_id, "revoked") == "revoked"
        bot.idle()

        for request_id, name in zip(grants, names, strict=True):
            row = bot.row(request_id)
            assert (row.revoke_cause, row.revoke_mode) == ("deactivation", "disable")
            assert bot.count(request_id, "deactivation_seen") == 1
            assert bot.count(request_id, "revoke_started") == 1
            assert bot.count(request_id, "revoked") == 1
            # disable: no console password, keys deactivated, the user kept.
            assert not _login_profile(bot.iam, name)
            assert _keys(bot.iam, name) == ["Inactive"]
        assert bot.row(other).status == "provisioned"  # someone else's grant: untouched
        infos = [c for c in slack_stub.calls_to("users.info") if c.get("user") == ALICE]
        assert infos, "the event alone is trusted: users.info was never asked"

        # Re-activated: nothing is granted back, nothing new is requested.
        slack_stub.add_user(ALICE, "alice@example.com", deleted=False)
        before = _count_requests(bot)
        assert bot.event({"id": ALICE, "deleted": False}, "EvBACK1") == 200
        bot.idle()
        assert [bot.row(g).status for g in grants] == ["revoked", "revoked"]
        assert _count_requests(bot) == before


def test_a_user_change_slack_does_not_confirm_revokes_nothing(make_bot, slack_stub) -> None:
    with make_bot() as bot:
        request_id = bot.grant(ALICE, "developer")
        # A forged or stale event: users.info says Alice is active.
        assert bot.event({"id": ALICE, "deleted": True}, "EvFORGED") == 200
        bot.idle()
        wait_until(
            lambda: any(c.get("user") == ALICE for c in slack_stub.calls_to("users.info")),
            what="users.info",
        )
        bot.idle()
        assert bot.row(request_id).status == "provisioned"
        assert bot.count(request_id, "deactivation_seen") == 0


def test_on_deactivation_notify_tells_the_owners_once_and_revokes_nothing(
    make_bot, slack_stub
) -> None:
    with make_bot(on_deactivation="notify") as bot:
        request_id = bot.grant(ALICE, "developer")
        slack_stub.add_user(ALICE, "alice@example.com", deleted=True)
        assert bot.event({"id": ALICE, "deleted": True}, "EvN1") == 200
        assert bot.event({"id": ALICE, "deleted": True}, "EvN1", retry=2) == 200

        def deactivation_notes() -> list[dict]:
            return _posts(slack_stub, APPROVALS, lambda t: "was deactivated in Slack" in t)

        wait_until(deactivation_notes, what="the owners' note")
        bot.idle()
        [note] = deactivation_notes()
        assert f"<@{ALICE}>" in texts_of(note) and f"#{request_id}" in texts_of(note)
        assert "nothing was revoked" in texts_of(note)
        row = bot.row(request_id)
        assert row.status == "provisioned" and row.revoke_cause is None
        assert _login_profile(bot.iam, row.iam_user_name)
        assert bot.count(request_id, "deactivation_seen") == 1
        assert bot.count(request_id, "revoke_started") == 0


def test_the_reconcile_sweep_catches_a_missed_deactivation(make_bot, slack_stub, clock) -> None:
    with make_bot() as bot:
        request_id = bot.grant(ALICE, "ops")
        slack_stub.add_user(ALICE, "alice@example.com", deleted=True)  # no event arrives
        result = bot.runtime.services.deactivations.reconcile(clock.now())
        assert (result.deactivated, result.revoked) == (1, 1)
        assert bot.row(request_id).status == "revoked"
        assert bot.runtime.services.deactivations.reconcile(clock.now()).deactivated == 0
        assert bot.count(request_id, "revoke_started") == 1


# --- time-bound access: warning, Request extension, Extend -------------------------------


def test_request_extension_from_the_warning_makes_a_new_request_that_extends_on_approval(
    make_bot, slack_stub, clock
) -> None:
    with make_bot() as bot:
        start = clock.now()
        grant = bot.grant(ALICE, "developer")
        row = bot.row(grant)
        assert row.access_expires_at == start + timedelta(days=30)
        name = row.iam_user_name

        # A day before the end the sweep warns Alice, with Request extension.
        clock.advance(days=29, minutes=1)
        assert bot.runtime.services.time_bound.sweep(clock.now()).warned == 1
        assert bot.runtime.services.time_bound.sweep(clock.now()).warned == 0  # once
        dm = "D" + ALICE.lstrip("U")
        [warning] = _posts(slack_stub, dm, lambda t: REQUEST_EXTENSION_ACTION in t)
        assert f"request #{grant}" in texts_of(warning)

        # Alice clicks it: the request form opens prefilled for an extension, on the modal
        # lane (her trigger_id dies 3 s after the click): never behind other clicks' work.
        opened = len(slack_stub.calls_to("views.open"))
        click = payloads.block_action(ALICE, REQUEST_EXTENSION_ACTION, str(grant), channel=dm)
        lanes, gate = bot.runtime.after_ack, threading.Event()
        for _ in range(lanes.workers):
            lanes(gate.wait, 30)
        try:
            assert bot.post(click)[0] == 200
            view = slack_stub.wait_for("views.open", opened + 1)[opened]["view"]
        finally:
            gate.set()
        assert json.loads(view["private_metadata"]) == {"extends_request_id": grant}
        blocks = {b.get("block_id"): b for b in view["blocks"]}
        assert blocks["profile"]["element"]["initial_option"]["value"] == "developer"
        assert blocks["iam_user_name"]["element"]["initial_value"] == name
        assert DURATION_BLOCK in blocks

        # A duration over the profile's maximum is refused inline.
        values = payloads.request_values("developer", name, programmatic=True, reason="more")
        values[DURATION_BLOCK] = {DURATION_BLOCK: {"type": "plain_text_input", "value": "31d"}}
        status, raw = bot.post(payloads.view_submission(ALICE, view, values))
        assert status == 200 and DURATION_BLOCK in json.loads(raw)["errors"]

        values[DURATION_BLOCK][DURATION_BLOCK]["value"] = "10d"
        assert bot.post(payloads.view_submission(ALICE, view, values)) == (200, b"")
        extension = wait_until(lambda: _extension_of(bot, grant), what="the extension request")
        wait_until(lambda: bot.row(extension).approval_ts, what="its approval message")
        assert bot.row(extension).status == "pending"  # it needs approval like any other
        assert bot.count(grant, "extension_requested") == 1

        # Approved: the grant now ends 10 days after the approval; nothing new in IAM.
        approved_at = clock.now()
        bot.approve(extension)
        assert bot.wait_status(extension, "extended", "failed") == "extended"
        bot.idle()
        row = bot.row(grant)
        assert row.status == "provisioned"
        assert row.access_expires_at == approved_at + timedelta(days=10)
        assert row.expiry_warnings == 0 and row.expiry_warn_at is not None
        assert _keys(bot.iam, name) == ["Active"]
        assert bot.count(grant, "extended") == 1
        # The requester and the owners (in the grant's approval thread) are told.
        wait_until(lambda: _posts(slack_stub, dm, lambda t: "was extended" in t), what="the DM")
        wait_until(
            lambda: _posts(slack_stub, APPROVALS, lambda t: "was extended" in t),
            what="the owners' note",
        )


def test_owners_extend_from_the_message_and_the_requester_cannot(make_bot, clock) -> None:
    with make_bot() as bot:
        grant = bot.grant(ALICE, "developer")
        clock.advance(days=20)
        assert bot.click(ALICE, EXTEND_ACTION, grant) == 200  # her own: refused
        bot.idle()
        assert bot.count(grant, "extended") == 0
        assert bot.click(OWNER1, EXTEND_ACTION, grant) == 200
        wait_until(lambda: bot.count(grant, "extended") == 1, what="the extension")
        assert bot.row(grant).access_expires_at == clock.now() + timedelta(days=30)


def _count_requests(bot: Bot) -> int:
    with bot.sessions() as session:
        return session.scalar(select(func.count()).select_from(AccessRequest)) or 0


def _extension_of(bot: Bot, grant: int) -> int | None:
    with bot.sessions() as session:
        return session.scalars(
            select(AccessRequest.id).where(AccessRequest.extends_request_id == grant)
        ).first()
