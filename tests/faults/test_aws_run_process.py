"""Issue 12, item 1 on the real `aws-access-bot run` process: CreateAccessKey's answer is
lost in the network.

The process's AWS_ENDPOINT_URL points at a FaultProxy in front of moto server
(signatures checked); the Slack Web API is the stand-in. The proxy forwards the first
CreateAccessKey to moto (a key is made) and hangs up instead of answering. The user
must still end with exactly one key, the one in the requester's link, and it works.
"""

from __future__ import annotations

import pytest

from bot.store.db import make_engine, make_sessionmaker
from tests.e2e.conftest import SECRET, SlackDriver
from tests.e2e.support import ALICE, add_users, dm_links, iam_user_state, render_config
from tests.faults.proxies import FaultProxy
from tests.support.databases import DATABASES, database_url
from tests.support.moto import unique
from tests.support.polling import wait_until
from tests.support.processes import run_env, running_bot
from tests.support.vault import reveal_over_http


@pytest.fixture
def proxy(moto_server):
    proxy = FaultProxy(moto_server.endpoint).start()
    yield proxy
    proxy.stop()


@pytest.mark.parametrize("database", DATABASES)
def test_lost_create_access_key_answer_leaves_one_key_and_a_working_link(
    database, tmp_path, moto_server, proxy, slack_stub
) -> None:
    add_users(slack_stub)
    db_url = database_url(database, tmp_path)
    iam = moto_server.client("iam")
    group = unique("faults-run")
    iam.create_group(GroupName=group)
    config = tmp_path / "bot.toml"
    config.write_text(render_config(group, unique("faults-missing")))
    env = run_env(
        config,
        db_url,
        slack_api_url=slack_stub.base_url,
        signing_secret=SECRET,
        **{**moto_server.env(), "AWS_ENDPOINT_URL": proxy.endpoint},
    )
    proxy.drop_answer("CreateAccessKey")
    engine = make_engine(db_url)
    try:
        with running_bot(["run"], env, tmp_path) as process:
            bot = SlackDriver(process.url, slack_stub, make_sessionmaker(engine))
            name = unique("frank")
            request_id = bot.request(ALICE, "developer", name)
            bot.approve(request_id)
            assert bot.wait_status(request_id, "provisioned", "failed", timeout=30) == "provisioned"

            # The dropped call reached moto: it made a key whose secret the bot never got.
            assert [s.fault for s in proxy.calls("CreateAccessKey")] == ["drop", None]
            [key] = iam_user_state(iam, name)["keys"]
            assert bot.row(request_id).access_key_id == key
            [(_, url)] = wait_until(lambda: dm_links(slack_stub, ALICE), what="the credentials DM")
            status, credentials = reveal_over_http(url)
            assert status == 200 and credentials is not None
            assert credentials.access_key_id == key
            sts = moto_server.client(
                "sts", credentials.access_key_id, credentials.secret_access_key
            )
            assert sts.get_caller_identity()["Arn"].endswith(f"/{name}")
            assert process.stop() == 0
    finally:
        engine.dispose()
    assert credentials.secret_access_key not in process.text()
