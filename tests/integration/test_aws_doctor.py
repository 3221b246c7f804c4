"""`check`'s AWS part against moto server."""

from __future__ import annotations

from bot.aws.doctor import check_aws
from bot.settings import AwsConfig
from tests.integration.test_provision_service import bot_config
from tests.support.moto import unique


def test_all_present(moto_server) -> None:
    iam = moto_server.client("iam")
    group = unique("devs")
    iam.create_group(GroupName=group)
    results = check_aws(iam, moto_server.client("sts"), bot_config((group,)))
    assert all(r.ok for r in results), results
    assert any(f"group {group} exists" in r.line for r in results)


def test_one_line_per_problem(moto_server) -> None:
    iam = moto_server.client("iam")
    group = unique("missing")
    config = bot_config((group,))
    boundary = "arn:aws:iam::123456789012:policy/" + unique("boundary")
    config = type(config)(
        config.slack,
        AwsConfig("/onboarding/", boundary),
        config.reminders,
        config.links,
        config.profiles,
    )
    problems = [r.line for r in check_aws(iam, moto_server.client("sts"), config) if not r.ok]
    assert len(problems) == 2
    assert f"group {group} (profile developer)" in problems[0] and "NoSuchEntity" in problems[0]
    assert f"permissions boundary {boundary}" in problems[1]


def test_bad_credentials_is_one_clear_line(moto_server) -> None:
    sts = moto_server.client("sts", moto_server.access_key_id, "wrong-secret")
    [result] = check_aws(moto_server.client("iam"), sts, bot_config(("x",)))
    assert not result.ok
    assert result.line.startswith("AWS: sts:GetCallerIdentity failed (")
    assert "wrong-secret" not in result.line
