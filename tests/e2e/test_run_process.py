"""The real `aws-access-bot run` process, killed mid-provisioning and restarted.

The bot's AWS_ENDPOINT_URL points at a proxy in front of moto that holds the first
CreateAccessKey: the request is provably `provisioning` when the process gets SIGKILL.
The held call then reaches moto anyway (a key whose secret died with the process). A new
process's recovery sweep must finish the request once the (short) lease has run out,
leaving one user with exactly one working key. Both processes log at DEBUG; their logs,
the database and every Slack call are then scanned for the credentials.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.store.db import make_engine, make_sessionmaker
from bot.store.models import AccessRequest
from tests.e2e.conftest import SECRET, SlackDriver
from tests.e2e.support import (
    ALICE,
    dm_links,
    iam_user_state,
    render_config,
    slack_bodies,
)
from tests.faults.proxies import FaultProxy
from tests.support.databases import database_url
from tests.support.moto import unique
from tests.support.polling import wait_until
from tests.support.processes import BotProcess, free_port, run_env
from tests.support.secrets import all_rows, find_secrets
from tests.support.vault import reveal_over_http

LEASE = '\n[provisioning]\nlease = "2s"\n'


@pytest.fixture
def proxy(moto_server):
    proxy = FaultProxy(moto_server.endpoint).start()
    yield proxy
    proxy.stop()


@pytest.mark.parametrize(("database", "log_format"), [("sqlite", "text"), ("postgresql", "json")])
def test_killed_while_provisioning_then_resumed_by_a_new_process(
    database, log_format, tmp_path, moto_server, proxy, slack_api
) -> None:
    db_url = database_url(database, tmp_path, "run.db")
    iam = moto_server.client("iam")
    group = unique("e2e-run")
    iam.create_group(GroupName=group)
    config = tmp_path / "bot.toml"
    config.write_text(render_config(group, unique("e2e-missing"), extra=LEASE))
    port = free_port()
    aws_through_the_proxy = {**moto_server.env(), "AWS_ENDPOINT_URL": proxy.endpoint}
    env = run_env(
        config,
        db_url,
        slack_api_url=slack_api.base_url,
        bot_token="xoxb-e2e-run",
        signing_secret=SECRET,
        **aws_through_the_proxy,
        PORT=str(port),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="DEBUG",
        LOG_FORMAT=log_format,
    )
    proxy.hold("CreateAccessKey")
    first = BotProcess(["run"], env, tmp_path, "first")
    first.wait_ready()
    engine = make_engine(db_url)
    second = None
    try:
        bot = SlackDriver(first.url, slack_api, make_sessionmaker(engine))
        name = unique("erin")
        request_id = bot.request(ALICE, "developer", name)
        bot.approve(request_id)

        assert proxy.held.wait(timeout=20), "provisioning never reached CreateAccessKey"
        assert bot.row(request_id).status == "provisioning"
        first.kill()
        proxy.release()  # the dead process's CreateAccessKey still lands in IAM
        assert proxy.forwarded.wait(timeout=10)
        [orphan] = iam_user_state(iam, name)["keys"]
        assert dm_links(slack_api, ALICE) == []

        second = BotProcess(["run"], env, tmp_path, "second")
        second.wait_ready()
        assert bot.wait_status(request_id, "provisioned", "failed", timeout=30) == "provisioned"
        assert "provisioning_resumed" in bot.events(request_id)

        # One user, one key (not the orphan), joined and attached once; the DMed link
        # (from the second process) holds that key, and it works.
        state = iam_user_state(iam, name)
        assert state is not None and state["groups"] == [group]
        [key] = state["keys"]
        assert key != orphan and bot.row(request_id).access_key_id == key
        [(_, url)] = wait_until(lambda: dm_links(slack_api, ALICE), what="the credentials DM")
        status, credentials = reveal_over_http(url)
        assert status == 200 and credentials is not None and credentials.access_key_id == key
        sts = moto_server.client("sts", credentials.access_key_id, credentials.secret_access_key)
        assert sts.get_caller_identity()["Arn"].endswith(f"/{name}")
        with bot.sessions() as session:
            assert session.scalar(select(func.count()).select_from(AccessRequest)) == 1
    finally:
        if second is not None:
            assert second.stop() == 0
        first.stop()
        engine.dispose()

    # --- nothing secret in the logs (DEBUG, this format), the database or Slack ----
    secrets = {"password": credentials.password, "secret key": credentials.secret_access_key}
    logs = first.log.read_text() + second.log.read_text()
    lines = [line for line in logs.splitlines() if line.strip()]
    assert any("CreateLoginProfile" in line for line in lines)  # AWS bodies were logged
    assert any("chat.postMessage" in line for line in lines)  # and Slack's
    if log_format == "json":
        assert all(json.loads(line)["level"] for line in lines)
    assert not find_secrets(logs, secrets), "in the bot's logs"
    assert not find_secrets(slack_bodies(slack_api), secrets), "in a Slack Web API call"
    engine = make_engine(db_url)
    try:
        assert not find_secrets(all_rows(engine), secrets), "in a table row"
    finally:
        engine.dispose()
    if database == "sqlite":
        db_file = tmp_path / "run.db"
        for path in db_file.parent.glob(db_file.name + "*"):
            assert not find_secrets(path.read_bytes(), secrets), path.name
