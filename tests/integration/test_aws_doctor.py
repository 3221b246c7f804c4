"""`check`'s AWS part against moto server."""

from __future__ import annotations

from bot.aws.doctor import check_aws
from bot.aws.iam import REQUEST_TAG
from bot.doctor import mark
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


def _with_path(config, path: str):
    return type(config)(
        config.slack, AwsConfig(path), config.reminders, config.links, config.profiles
    )


def test_users_under_the_path_that_the_bot_did_not_create_are_a_warning(moto_server) -> None:
    """Issue 12, item 7: the bot's policy reaches every user under its path."""
    iam = moto_server.client("iam")
    group = unique("devs")
    iam.create_group(GroupName=group)
    path = f"/{unique('shared')}/"
    config = _with_path(bot_config((group,)), path)
    sts = moto_server.client("sts")

    [line] = [r for r in check_aws(iam, sts, config) if path in r.line]
    assert (line.ok, line.warning) == (True, False)
    assert line.line == f"AWS: every IAM user under {path} was made by the bot"

    ours = unique("ours")
    iam.create_user(
        UserName=ours, Path=path, Tags=[{"Key": REQUEST_TAG, "Value": "7"}]
    )  # made by the bot: carries a request tag
    strangers = [unique("admin"), unique("ci")]
    for name in strangers:
        iam.create_user(UserName=name, Path=path, Tags=[{"Key": "team", "Value": "ops"}])
    results = check_aws(iam, sts, config)
    [line] = [r for r in results if path in r.line]
    assert line.ok and line.warning  # ⚠, not ✗: `check` still exits 0 for it
    assert mark(line).startswith("⚠ AWS: 2 IAM users")
    assert line.line.startswith(f"AWS: 2 IAM users under {path} were not created by the bot (")
    assert all(name in line.line for name in strangers) and ours not in line.line
    assert all(r.ok for r in results)
