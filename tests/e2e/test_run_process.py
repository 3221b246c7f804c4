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
import signal
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.db import make_engine, make_sessionmaker
from bot.store.models import AccessRequest
from tests.conftest import PG_SKIP_REASON, postgres_url, reset_postgres
from tests.e2e.conftest import SECRET, SlackDriver
from tests.e2e.stall_proxy import StallProxy
from tests.e2e.support import (
    ALICE,
    all_rows,
    dm_links,
    find_secrets,
    iam_user_state,
    render_config,
    reveal,
    slack_bodies,
    wait_until,
)
from tests.support.moto import unique
from tests.support.processes import free_port, start_bot, wait_http

LEASE = '\n[provisioning]\nlease = "2s"\n'


class BotProcess:
    def __init__(self, name: str, env: dict[str, str], tmp_path: Path) -> None:
        self.log = tmp_path / f"{name}.log"
        self.proc = start_bot(["run"], env, tmp_path, self.log)
        assert wait_http(f"http://127.0.0.1:{env['PORT']}/healthz", proc=self.proc) == 200

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture
def proxy(moto_server):
    proxy = StallProxy(moto_server.endpoint).start()
    yield proxy
    proxy.stop()


@pytest.mark.parametrize(("database", "log_format"), [("sqlite", "text"), ("postgresql", "json")])
def test_killed_while_provisioning_then_resumed_by_a_new_process(
    database, log_format, tmp_path, moto_server, proxy, slack_api
) -> None:
    if database == "sqlite":
        db_url = f"sqlite:///{tmp_path / 'run.db'}"
    else:
        db_url = postgres_url() or pytest.skip(PG_SKIP_REASON)
        reset_postgres(db_url)
    iam = moto_server.client("iam")
    group = unique("e2e-run")
    iam.create_group(GroupName=group)
    config = tmp_path / "bot.toml"
    config.write_text(render_config(group, unique("e2e-missing"), extra=LEASE))
    port = free_port()
    env = {
        **moto_server.env(),
        "AWS_ENDPOINT_URL": proxy.endpoint,
        "BOT_CONFIG": str(config),
        "DATABASE_URL": db_url,
        "PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SLACK_BOT_TOKEN": "xoxb-e2e-run",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api.base_url,
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": log_format,
    }
    proxy.hold("CreateAccessKey")
    first = BotProcess("first", env, tmp_path)
    engine = make_engine(db_url)
    second = None
    try:
        bot = SlackDriver(f"http://127.0.0.1:{port}", slack_api, make_sessionmaker(engine))
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

        second = BotProcess("second", env, tmp_path)
        assert bot.wait_status(request_id, "provisioned", "failed", timeout=30) == "provisioned"
        assert "provisioning_resumed" in bot.events(request_id)

        # One user, one key (not the orphan), joined and attached once; the DMed link
        # (from the second process) holds that key, and it works.
        state = iam_user_state(iam, name)
        assert state is not None and state["groups"] == [group]
        [key] = state["keys"]
        assert key != orphan and bot.row(request_id).access_key_id == key
        [(_, url)] = wait_until(lambda: dm_links(slack_api, ALICE), what="the credentials DM")
        status, credentials = reveal(url)
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
