"""Time-bound access end to end, on the real `aws-access-bot run` process: a profile with
`max_duration = "5s"` is requested and approved through signed Slack requests, the
process provisions the IAM user in moto server (signatures checked), and its own
scheduler revokes the grant when the five seconds are up ([offboarding] mode
"disable": no console password, keys deactivated, the user kept). The sweeps run every
second because `[reminders] every = "1s"` (lifecycle sweeps run at least that often).
"""

from __future__ import annotations

import pytest

from bot.store.db import make_engine, make_sessionmaker
from tests.e2e.conftest import SECRET, SlackDriver
from tests.e2e.support import ALICE, add_users, iam_user_state
from tests.support.configs import S3_READ_ONLY, config_toml, profile
from tests.support.databases import DATABASES, database_url
from tests.support.moto import unique
from tests.support.polling import wait_until
from tests.support.processes import run_env, running_bot


@pytest.mark.parametrize("database", DATABASES)
def test_a_five_second_grant_is_revoked_by_the_running_process(
    database, tmp_path, moto_server, slack_stub
) -> None:
    add_users(slack_stub)
    db_url = database_url(database, tmp_path)
    iam = moto_server.client("iam")
    group = unique("tb-run")
    iam.create_group(GroupName=group)
    config = tmp_path / "bot.toml"
    config.write_text(
        config_toml(
            profile(
                "developer",
                "Five seconds of dev access",
                groups=[group],
                policies=[S3_READ_ONLY],
                console=True,
                programmatic=True,
                approvals_required=1,
                max_duration="5s",
            ),
            aws={"iam_path": "/e2e/"},
            reminders={"every": "1s", "remind_after": "1h", "expire_after": "7d"},
            extra='[offboarding]\nmode = "disable"\n',
        )
    )
    env = run_env(
        config,
        db_url,
        slack_api_url=slack_stub.base_url,
        signing_secret=SECRET,
        **moto_server.env(),
    )
    engine = make_engine(db_url)
    try:
        with running_bot(["run"], env, tmp_path) as process:
            bot = SlackDriver(process.url, slack_stub, make_sessionmaker(engine))
            name = unique("brief")
            request_id = bot.request(ALICE, "developer", name)
            bot.approve(request_id)
            assert bot.wait_status(request_id, "provisioned", "failed", timeout=30) in (
                "provisioned",
                "revoking",
                "revoked",
            )
            row = bot.row(request_id)
            assert row.access_expires_at is not None and row.provisioned_at is not None
            assert (row.access_expires_at - row.provisioned_at).total_seconds() == 5

            assert bot.wait_status(request_id, "revoked", timeout=30) == "revoked"
            row = bot.row(request_id)
            assert (row.revoke_cause, row.revoke_mode) == ("expiry", "disable")
            state = wait_until(lambda: iam_user_state(iam, name), what="the IAM user")
            assert state["login_profile"] is False  # disable: the user is kept
            keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            assert [k["Status"] for k in keys] == ["Inactive"]
            assert state["groups"] == [] and state["policies"] == []
            assert "revoked" in bot.events(request_id)
            assert process.stop() == 0
    finally:
        engine.dispose()
