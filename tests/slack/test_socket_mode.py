"""The real `aws-access-bot run` in Socket Mode: events arrive over a WebSocket.

The bot's own slack_sdk Socket Mode client asks the Web API stand-in for a URL
(apps.connections.open with the app token), connects to the local Socket Mode stand-in,
and everything Slack would send comes as envelopes over that socket; the stand-in
records the acks. AWS is the shared moto server, so an approval provisions for real.
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.slack.surfaces.approval_message import APPROVE_ACTION
from bot.store.db import make_engine
from bot.store.models import AccessRequest
from tests.conftest import PG_SKIP_REASON, postgres_url, reset_postgres
from tests.e2e.support import dm_links
from tests.support import slack_payloads as payloads
from tests.support.moto import MotoServer, unique
from tests.support.processes import free_port, start_bot, wait_http
from tests.support.slack_api import SlackApiStub, post_signed
from tests.support.socket_mode import SocketModeStub, socket_payload

APP_TOKEN = "xapp-1-A0APP-1-socket-test-token"  # noqa: S105 - a test value
BOT_TOKEN = "xoxb-socket-test-token"  # noqa: S105 - a test value
OWNER1, OWNER2, ALICE = "U0OWNER1", "U0OWNER2", "U0ALICE"
APPROVALS = "C0APPROVALS"

CONFIG = """
[slack]
approval_channel = "C0APPROVALS"
owners = ["U0OWNER1", "U0OWNER2"]

[aws]
iam_path = "/socket/"

[[profiles]]
name = "ops"
description = "Two owners must agree"
groups = ["{group}"]
policies = ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
console = true
programmatic = true
approvals_required = 2
"""


@pytest.fixture
def slack() -> Iterator[tuple[SlackApiStub, SocketModeStub]]:
    api, socket = SlackApiStub(), SocketModeStub()
    api.start()
    api.socket_url = socket.start()
    for user, email in ((ALICE, "alice@example.com"), (OWNER1, None), (OWNER2, None)):
        api.add_user(user, email)
    yield api, socket
    socket.stop()
    api.stop()


def _wait(condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_socket_mode_request_to_provisioned(
    database: str,
    tmp_path: Path,
    slack: tuple[SlackApiStub, SocketModeStub],
    moto_server: MotoServer,
) -> None:
    api, socket = slack
    if database == "sqlite":
        db_url = f"sqlite:///{tmp_path / 'socket.db'}"
    else:
        db_url = postgres_url() or pytest.skip(PG_SKIP_REASON)
        reset_postgres(db_url)
    group = unique("socket")
    moto_server.client("iam").create_group(GroupName=group)
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG.format(group=group))
    port = free_port()
    env = {
        **moto_server.env(),
        "BOT_CONFIG": str(config),
        "DATABASE_URL": db_url,
        "PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,  # and no SLACK_SIGNING_SECRET: Socket Mode needs none
        "SLACK_API_URL": api.base_url,
        "LOG_LEVEL": "DEBUG",  # the chattiest the SDKs get must still leak nothing
    }
    log = tmp_path / "bot.log"
    proc = start_bot(["run", "--no-scheduler"], env, tmp_path, log)
    engine = make_engine(db_url)

    def status(request_id: int) -> str:
        with engine.connect() as conn:
            return conn.scalar(select(AccessRequest.status).where(AccessRequest.id == request_id))

    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_http(f"{base}/healthz", proc=proc) == 200
        socket.wait_connected()
        [opened] = [c for c in api.calls if c.method == "apps.connections.open"]
        assert opened.token == APP_TOKEN

        # Nothing Slack-shaped is served over HTTP, signed or not.
        body = payloads.slash_command(ALICE, "ops need logs")
        assert post_signed(f"{base}/slack/events", body, "any-secret")[0] == 404
        assert post_signed(f"{base}/slack/events", body, None)[0] == 404
        assert api.calls_to("views.open") == []

        # The slash command is acked by envelope id and opens the prefilled modal.
        envelope = socket.slash_command(socket_payload(body))
        assert socket.wait_ack(envelope).get("payload") in (None, {})
        [form] = api.wait_for("views.open")
        assert form["view"]["callback_id"] == "request_form"
        assert form["trigger_id"] == socket_payload(body)["trigger_id"]

        # A bad name is answered inline, in the ack's payload; nothing is stored.
        bad = payloads.view_submission(
            ALICE, form["view"], payloads.request_values("ops", "no spaces allowed")
        )
        answer = socket.wait_ack(socket.interactive(socket_payload(bad)))["payload"]
        assert answer["response_action"] == "errors"
        assert "iam_user_name" in answer["errors"]

        name = unique("alice")
        good = payloads.view_submission(
            ALICE,
            form["view"],
            payloads.request_values("ops", name, programmatic=True, reason="<!channel> logs"),
        )
        assert socket.wait_ack(socket.interactive(socket_payload(good))).get("payload") is None
        posts = api.wait_for("chat.postMessage", 2)
        [announced] = [p for p in posts if p["channel"] == APPROVALS]
        assert "&lt;!channel&gt;" in str(announced["blocks"])
        with engine.connect() as conn:
            request_id, approval_ts = conn.execute(
                select(AccessRequest.id, AccessRequest.approval_ts).where(
                    AccessRequest.iam_user_name == name
                )
            ).one()
        assert status(request_id) == "pending"
        approval_ts = approval_ts or _wait(
            lambda: _approval_ts(engine, request_id), "the approval message"
        )

        # Live: /healthz keeps answering while the socket carries the events.
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310
            assert response.status == 200

        # The first owner's Approve click: acked, counted, the message says so.
        click = payloads.block_action(
            OWNER1, APPROVE_ACTION, str(request_id), message_ts=approval_ts
        )
        socket.wait_ack(socket.interactive(socket_payload(click)))
        [update] = api.wait_for("chat.update")
        assert update["ts"] == approval_ts
        assert "1 of 2 approvals" in str(update["blocks"])
        assert status(request_id) == "pending"

        # The second owner's click approves; provisioning runs against moto and the
        # requester is DMed their one-time link.
        click = payloads.block_action(
            OWNER2, APPROVE_ACTION, str(request_id), message_ts=approval_ts
        )
        socket.wait_ack(socket.interactive(socket_payload(click)))
        _wait(lambda: status(request_id) == "provisioned", "provisioned")
        [(_, link)] = _wait(lambda: dm_links(api, ALICE), "the credentials link DM")
        assert moto_server.client("iam").get_user(UserName=name)["User"]["Path"] == "/socket/"

        # An Events API callback over the socket: App Home is published.
        socket.wait_ack(socket.event(socket_payload(payloads.app_home_opened(ALICE))))
        [home] = api.wait_for("views.publish")
        assert home["user_id"] == ALICE

        # Every envelope was acked exactly once.
        acked = [a["envelope_id"] for a in socket.acks()]
        assert len(acked) == len(set(acked)) == 6
    finally:
        exit_code = _stop(proc)
        engine.dispose()

    text = log.read_text()
    assert exit_code == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    link_key = link.partition("#")[2]
    assert link_key
    for secret in (APP_TOKEN, BOT_TOKEN, moto_server.secret_access_key, link_key):
        assert secret not in text
    # The socket was closed by the stop, and the bot did not reconnect on its way out.
    [session] = socket.wait_closed()
    assert session.closed_at is not None
    assert api.methods().count("apps.connections.open") == 1


def _approval_ts(engine, request_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.scalar(select(AccessRequest.approval_ts).where(AccessRequest.id == request_id))


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _minimal_env(tmp_path: Path, api: SlackApiStub, port: int) -> dict[str, str]:
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG.format(group="unused"))
    return {
        "BOT_CONFIG": str(config),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'socket.db'}",
        "PORT": str(port),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": api.base_url,
    }


def test_socket_mode_follows_slacks_refresh_to_a_new_connection(
    tmp_path: Path, slack: tuple[SlackApiStub, SocketModeStub]
) -> None:
    api, socket = slack
    port = free_port()
    log = tmp_path / "bot.log"
    proc = start_bot(["run", "--no-scheduler"], _minimal_env(tmp_path, api, port), tmp_path, log)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc) == 200
        first = socket.wait_connected()
        socket.refresh()
        second = socket.wait_connected(2)
        _wait(lambda: first.closed_at is not None, "the old connection to close")
        assert second.closed_at is None
        assert api.methods().count("apps.connections.open") == 2

        # Events on the new connection are handled as before.
        envelope = socket.slash_command(socket_payload(payloads.slash_command(ALICE)))
        socket.wait_ack(envelope)
        assert [m["envelope_id"] for m in second.received] == [envelope]
        api.wait_for("views.open")
    finally:
        exit_code = _stop(proc)
    assert exit_code == 0
    assert "Traceback" not in log.read_text()


def test_socket_mode_refused_app_token_is_one_clear_line(
    tmp_path: Path, slack: tuple[SlackApiStub, SocketModeStub]
) -> None:
    api, socket = slack
    api.fail("apps.connections.open", "invalid_auth")
    port = free_port()
    log = tmp_path / "bot.log"
    proc = start_bot(["run", "--no-scheduler"], _minimal_env(tmp_path, api, port), tmp_path, log)
    assert proc.wait(timeout=20) == 1
    text = log.read_text()
    assert "Slack refused to open a Socket Mode connection (invalid_auth)" in text
    assert "SLACK_APP_TOKEN" in text
    assert "Traceback" not in text and APP_TOKEN not in text
    assert socket.sessions == []
