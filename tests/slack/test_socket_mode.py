"""The real `aws-access-bot run` in Socket Mode: events arrive over a WebSocket.

The bot's own slack_sdk Socket Mode client asks the Web API stand-in for a URL
(apps.connections.open with the app token), connects to the local Socket Mode stand-in,
and everything Slack would send comes as envelopes over that socket; the stand-in
records the acks. AWS is the shared moto server, so an approval provisions for real.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.slack.surfaces.approval_message import APPROVE_ACTION
from bot.store.db import make_engine
from bot.store.models import AccessRequest
from tests.e2e.support import dm_links
from tests.support import slack_payloads as payloads
from tests.support.configs import S3_READ_ONLY, config_toml, profile
from tests.support.moto import MotoServer, unique
from tests.support.polling import wait_until
from tests.support.processes import BotProcess, free_port, run_env
from tests.support.slack_api import SlackApiStub, post_signed
from tests.support.socket_mode import SocketModeStub, socket_payload

APP_TOKEN = "xapp-1-A0APP-1-socket-test-token"  # noqa: S105 - a test value
BOT_TOKEN = "xoxb-socket-test-token"  # noqa: S105 - a test value
OWNER1, OWNER2, ALICE = "U0OWNER1", "U0OWNER2", "U0ALICE"
APPROVALS = "C0APPROVALS"


def socket_config(group: str) -> str:
    """One profile, `ops`, joining the IAM group `group`; two owners must agree."""
    ops = profile(
        "ops",
        "Two owners must agree",
        groups=[group],
        policies=[S3_READ_ONLY],
        console=True,
        programmatic=True,
        approvals_required=2,
    )
    return config_toml(ops, aws={"iam_path": "/socket/"})


def socket_env(config: Path, db_url: str, api: SlackApiStub, **extra: str) -> dict[str, str]:
    """A Socket Mode bot's environment: the app token, and no signing secret (Socket Mode
    needs none)."""
    return run_env(
        config,
        db_url,
        slack_api_url=api.base_url,
        bot_token=BOT_TOKEN,
        signing_secret=None,
        SLACK_APP_TOKEN=APP_TOKEN,
        **extra,
    )


@pytest.fixture
def slack(slack_stub: SlackApiStub) -> Iterator[tuple[SlackApiStub, SocketModeStub]]:
    """The Web API stand-in, whose apps.connections.open hands out the Socket Mode
    stand-in's URL."""
    socket = SocketModeStub()
    slack_stub.socket_url = socket.start()
    for user, email in ((ALICE, "alice@example.com"), (OWNER1, None), (OWNER2, None)):
        slack_stub.add_user(user, email)
    yield slack_stub, socket
    socket.stop()


def test_socket_mode_request_to_provisioned(
    db_url: str,
    tmp_path: Path,
    slack: tuple[SlackApiStub, SocketModeStub],
    moto_server: MotoServer,
) -> None:
    api, socket = slack
    group = unique("socket")
    moto_server.client("iam").create_group(GroupName=group)
    config = tmp_path / "bot.toml"
    config.write_text(socket_config(group))
    port = free_port()
    env = socket_env(
        config,
        db_url,
        api,
        PORT=str(port),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="DEBUG",  # the chattiest the SDKs get must still leak nothing
        **moto_server.env(),
    )
    bot = BotProcess(["run", "--no-scheduler"], env, tmp_path)
    engine = make_engine(db_url)

    def status(request_id: int) -> str:
        with engine.connect() as conn:
            return conn.scalar(select(AccessRequest.status).where(AccessRequest.id == request_id))

    try:
        base = bot.url
        bot.wait_ready()
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
        approval_ts = approval_ts or wait_until(
            lambda: _approval_ts(engine, request_id), 15, "the approval message"
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
        wait_until(lambda: status(request_id) == "provisioned", 15, "provisioned")
        [(_, link)] = wait_until(lambda: dm_links(api, ALICE), 15, "the credentials link DM")
        assert moto_server.client("iam").get_user(UserName=name)["User"]["Path"] == "/socket/"

        # An Events API callback over the socket: App Home is published.
        socket.wait_ack(socket.event(socket_payload(payloads.app_home_opened(ALICE))))
        [home] = api.wait_for("views.publish")
        assert home["user_id"] == ALICE

        # Every envelope was acked exactly once.
        acked = [a["envelope_id"] for a in socket.acks()]
        assert len(acked) == len(set(acked)) == 6
    finally:
        exit_code = bot.stop()
        engine.dispose()

    text = bot.text()
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


def _minimal_env(tmp_path: Path, api: SlackApiStub) -> dict[str, str]:
    config = tmp_path / "bot.toml"
    config.write_text(socket_config("unused"))
    return socket_env(config, f"sqlite:///{tmp_path / 'socket.db'}", api)


def test_socket_mode_follows_slacks_refresh_to_a_new_connection(
    tmp_path: Path, slack: tuple[SlackApiStub, SocketModeStub]
) -> None:
    api, socket = slack
    bot = BotProcess(["run", "--no-scheduler"], _minimal_env(tmp_path, api), tmp_path)
    try:
        bot.wait_ready()
        first = socket.wait_connected()
        socket.refresh()
        second = socket.wait_connected(2)
        wait_until(lambda: first.closed_at is not None, 15, "the old connection to close")
        assert second.closed_at is None
        assert api.methods().count("apps.connections.open") == 2

        # Events on the new connection are handled as before.
        envelope = socket.slash_command(socket_payload(payloads.slash_command(ALICE)))
        socket.wait_ack(envelope)
        assert [m["envelope_id"] for m in second.received] == [envelope]
        api.wait_for("views.open")
    finally:
        exit_code = bot.stop()
    assert exit_code == 0
    assert "Traceback" not in bot.text()


def test_socket_mode_refused_app_token_is_one_clear_line(
    tmp_path: Path, slack: tuple[SlackApiStub, SocketModeStub]
) -> None:
    api, socket = slack
    api.fail("apps.connections.open", "invalid_auth")
    bot = BotProcess(["run", "--no-scheduler"], _minimal_env(tmp_path, api), tmp_path)
    assert bot.proc.wait(timeout=20) == 1
    text = bot.text()
    assert "Slack refused to open a Socket Mode connection (invalid_auth)" in text
    assert "SLACK_APP_TOKEN" in text
    assert "Traceback" not in text and APP_TOKEN not in text
    assert socket.sessions == []
