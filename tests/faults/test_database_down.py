"""Issue 12, item 5 (the database's part): every click gets an answer.

On the real `aws-access-bot run` process, PostgreSQL sits behind a TcpProxy
(DATABASE_URL points at it). While the proxy refuses connections (the database is
down), an owner's Approve is answered ephemerally ("not recorded, try again"), the
approval message keeps its buttons, and the request stays pending; the slash command
and the request form answer instead of failing with a 500. Once the database is back,
the same click works. The store's translation of driver errors (bot/store/db.py) is
checked in process on SQLite too.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.slack.surfaces.approval_message import APPROVE_ACTION
from bot.slack.surfaces.request_modal import CALLBACK_ID, REASON_BLOCK
from bot.store import build_stores
from bot.store.db import make_engine, make_sessionmaker
from bot.store.models import AccessRequest, Approval
from tests.e2e.conftest import SECRET, SlackDriver
from tests.e2e.support import ALICE, APPROVALS, OWNER1, add_users, render_config
from tests.faults.proxies import TcpProxy
from tests.support import slack_payloads as payloads
from tests.support.databases import PG_SKIP_REASON, postgres_url, reset_postgres
from tests.support.moto import unique
from tests.support.polling import wait_until
from tests.support.processes import run_env, running_bot
from tests.support.stores import NOW
from tests.support.wsgi import serve_slack_app

NOT_RECORDED = "Not recorded: the bot could not reach its database. Please try again."


@pytest.fixture
def pg_proxy():
    url = postgres_url() or pytest.skip(PG_SKIP_REASON)
    reset_postgres(url)
    parsed = make_url(url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
    proxied = parsed.set(host="127.0.0.1", port=proxy.port)
    yield url, proxied.render_as_string(hide_password=False), proxy
    proxy.stop()


def test_a_click_while_the_database_is_down_is_answered_and_can_be_repeated(
    tmp_path: Path, moto_server, slack_stub, pg_proxy
) -> None:
    direct_url, proxied_url, proxy = pg_proxy
    add_users(slack_stub)
    group = unique("faults-db")
    moto_server.client("iam").create_group(GroupName=group)
    config = tmp_path / "bot.toml"
    config.write_text(render_config(group, unique("faults-missing")))
    env = run_env(
        config,
        proxied_url,
        slack_api_url=slack_stub.base_url,
        signing_secret=SECRET,
        **moto_server.env(),
    )
    direct = make_engine(direct_url)  # the test reads the database around the proxy
    try:
        with running_bot(["run"], env, tmp_path) as process:
            bot = SlackDriver(process.url, slack_stub, make_sessionmaker(direct))
            request_id = bot.request(ALICE, "developer", unique("jane"))
            approval_ts = bot.row(request_id).approval_ts

            proxy.refuse(True)  # the database is down
            assert bot.click(OWNER1, APPROVE_ACTION, request_id) == 200
            [answer] = slack_stub.wait_for("chat.postEphemeral")
            assert (answer["channel"], answer["user"]) == (APPROVALS, OWNER1)
            assert answer["text"] == NOT_RECORDED
            # The slash command and the request form answer too, never with a 500.
            status, raw = bot.post(payloads.slash_command(ALICE, "status"))
            assert status == 200 and json.loads(raw)["text"] == NOT_RECORDED
            form = {"type": "modal", "callback_id": CALLBACK_ID}
            values = payloads.request_values("developer", unique("kim"), reason="db down")
            status, raw = bot.post(payloads.view_submission(ALICE, form, values))
            assert status == 200
            assert json.loads(raw) == {
                "response_action": "errors",
                "errors": {REASON_BLOCK: NOT_RECORDED},
            }
            # Nothing touched the approval message: its buttons stay for the next click.
            assert not [u for u in slack_stub.calls_to("chat.update") if u["ts"] == approval_ts]
            assert bot.row(request_id).status == "pending"

            proxy.refuse(False)  # back
            bot.approve(request_id)
            assert bot.wait_status(request_id, "approved", "provisioning", "provisioned")
            wait_until(
                lambda: [u for u in slack_stub.calls_to("chat.update") if u["ts"] == approval_ts],
                what="the approval message updated",
            )
            with bot.sessions() as session:
                # Requests lost 0, none made by the refused form; the approval counted once.
                assert session.scalar(select(func.count()).select_from(AccessRequest)) == 1
                assert session.scalar(select(func.count()).select_from(Approval)) == 1
            assert bot.events(request_id).count("approval") == 1
            assert len(slack_stub.calls_to("chat.postEphemeral")) == 1
            assert process.stop() == 0
        logs = process.text()
        assert "Traceback" not in logs
        assert "StoreUnavailable" in logs or "not recorded" in logs
    finally:
        direct.dispose()


def test_every_click_and_form_is_answered_while_the_store_is_down(tmp_path, slack_stub) -> None:  # noqa: ANN001
    """In process, on SQLite: the stores' sessions point at a database that cannot be
    opened. A click in the channel is answered there, a click on App Home (which needs
    the database to be drawn) by DM, the deny form where its button was; the command
    and the request form answer in their ack."""
    from bot.container import build_services
    from bot.slack.client import build_web_client
    from bot.slack.surfaces.approval_message import DENY_CALLBACK, Origin, deny_modal
    from tests.conftest import FakeClock
    from tests.support.configs import bot_config, container_on
    from tests.support.fakes import NoNamesTaken
    from tests.support.slack_api import post_signed

    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    down = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'bot.db'}")
    container = container_on(
        engine,
        make_sessionmaker(engine),
        FakeClock(),
        slack_bot_token="xoxb-test",  # noqa: S106 - a test value
        slack_signing_secret=SECRET,
        slack_api_url=slack_stub.base_url,
        config=bot_config(),
    )
    for store in vars(container.stores).values():
        store.sessions = make_sessionmaker(down)
    client = build_web_client(container.settings)
    services = build_services(container, client, NoNamesTaken())
    try:
        with serve_slack_app(container.settings, services, client) as events:

            def post(body: str) -> tuple[int, bytes]:
                status, raw, _ = post_signed(events, body, SECRET)
                return status, raw

            assert post(payloads.block_action(OWNER1, APPROVE_ACTION, "1"))[0] == 200
            [ephemeral] = slack_stub.wait_for("chat.postEphemeral")
            assert (ephemeral["user"], ephemeral["text"]) == (OWNER1, NOT_RECORDED)
            assert post(payloads.block_action(OWNER1, APPROVE_ACTION, "1", home=True))[0] == 200
            [dm] = slack_stub.wait_for("chat.postMessage")
            assert (dm["channel"], dm["text"]) == (OWNER1, NOT_RECORDED)
            deny = deny_modal(1, Origin(channel="C0ELSEWHERE"))
            assert deny["callback_id"] == DENY_CALLBACK
            values = payloads.deny_values("no")
            assert post(payloads.view_submission(OWNER1, deny, values)) == (200, b"")
            answers = slack_stub.wait_for("chat.postEphemeral", 2)
            assert (answers[1]["channel"], answers[1]["text"]) == ("C0ELSEWHERE", NOT_RECORDED)
            status, raw = post(payloads.slash_command(ALICE, "status"))
            assert status == 200 and json.loads(raw)["text"] == NOT_RECORDED
            form = {"type": "modal", "callback_id": CALLBACK_ID}
            values = payloads.request_values("developer", "kim", reason="db down")
            status, raw = post(payloads.view_submission(ALICE, form, values))
            assert status == 200
            assert json.loads(raw)["errors"] == {REASON_BLOCK: NOT_RECORDED}
            assert slack_stub.calls_to("chat.update") == []  # the buttons stay
    finally:
        engine.dispose()
        down.dispose()


def test_the_store_raises_store_unavailable_without_the_drivers_text(tmp_path, caplog) -> None:  # noqa: ANN001
    """On SQLite: a database file that cannot be opened is "unavailable", and neither the
    error nor the log line carries the driver's message (the path, SQL, parameters)."""
    from bot.domain.errors import StoreUnavailable

    engine = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'bot.db'}")
    stores = build_stores(make_sessionmaker(engine))
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(StoreUnavailable) as raised:
            stores.requests.get(1)
        assert str(raised.value) == "the bot could not reach its database"
        assert raised.value.__cause__ is None and raised.value.__suppress_context__
        with pytest.raises(StoreUnavailable):
            stores.deliveries.claim_due(NOW, until=NOW, limit=1)
        assert "missing-dir" not in caplog.text and "unable to open" not in caplog.text
        assert "database unreachable in SqlRequestStore.get: OperationalError" in caplog.text
    finally:
        engine.dispose()
