"""`aws-access-bot revoke (REQUEST_ID | --user IAM_USER_NAME) [--reason TEXT]` as a user
runs it (a real subprocess): IAM in moto server mode, Slack the Web API stand-in."""

from __future__ import annotations

from pathlib import Path

from botocore.exceptions import ClientError

from bot.aws.iam import REQUEST_TAG, SLACK_USER_TAG
from bot.domain.credentials import Credentials
from bot.domain.requests import MessageRef
from bot.store import build_stores
from bot.store.db import make_engine, make_sessionmaker
from tests.conftest import FakeClock
from tests.support.configs import MINIMAL_CONFIG, bot_config
from tests.support.moto import unique
from tests.support.processes import run_cli
from tests.support.requests import approved, audit_kinds, get, provision

APPROVAL = MessageRef("C0APPROVALS", "1700000000.000100")


def test_revoke_from_the_terminal(tmp_path: Path, moto_server, slack_stub) -> None:
    config_file = tmp_path / "bot.toml"
    config_file.write_text(MINIMAL_CONFIG)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    env = {
        "BOT_CONFIG": str(config_file),
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": slack_stub.base_url,
        **moto_server.env(),
    }
    assert run_cli(["db", "upgrade"], env, cwd=tmp_path).returncode == 0

    # A provisioned grant, and its IAM user as provisioning made it.
    engine = make_engine(url)
    stores = build_stores(make_sessionmaker(engine))
    config, now = bot_config(), FakeClock().now()
    name = unique("leaver")
    view = approved(stores, config, now=now, iam_user_name=name, approval_message=APPROVAL)
    credentials = Credentials(name, "https://console", "pw-for-test", "AKIATEST", "secret")
    provision(stores, config, view.id, credentials, now=now)
    iam = moto_server.client("iam")
    iam.create_user(
        UserName=name,
        Path="/onboarding/",
        Tags=[
            {"Key": REQUEST_TAG, "Value": str(view.id)},
            {"Key": SLACK_USER_TAG, "Value": view.requester_id},
        ],
    )
    iam.create_login_profile(UserName=name, Password="Initial-Passw0rd!")
    iam.create_access_key(UserName=name)

    result = run_cli(["revoke", str(view.id), "--reason", "left the company"], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"revoked request #{view.id} (disable)\n"
    revoked = get(stores, view.id)
    assert (revoked.status.value, revoked.revoke_cause, revoked.revoke_reason) == (
        "revoked",
        "cli",
        "left the company",
    )
    assert (revoked.revoked_by or "").startswith("cli:")
    assert audit_kinds(stores, view.id)[-2:] == ["revoke_started", "revoked"]
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert {k["Status"] for k in keys} == {"Inactive"}
    try:
        iam.get_login_profile(UserName=name)
        raise AssertionError("the console password survived")
    except ClientError:
        pass
    # The requester and the owners were told in Slack; the approval message updated.
    posts = slack_stub.calls_to("chat.postMessage")
    assert any(p["channel"] == "D0REQ" and "was revoked by" in p["text"] for p in posts)
    assert any(
        p["channel"] == APPROVAL.channel and p.get("thread_ts") == APPROVAL.ts for p in posts
    )
    assert slack_stub.calls_to("chat.update")[-1]["ts"] == APPROVAL.ts

    # By IAM user name, again: already done (exit 0), nothing repeated.
    again = run_cli(["revoke", "--user", name.upper()], env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"request #{view.id} is already revoked\n"
    assert audit_kinds(stores, view.id).count("revoked") == 1

    # What cannot be done is one clear line and exit 1.
    missing = run_cli(["revoke", "424242"], env, cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (1, "revoke: request #424242 does not exist\n")
    nobody = run_cli(["revoke", "--user", "nobody-here"], env, cwd=tmp_path)
    assert (nobody.returncode, nobody.stderr) == (
        1,
        "revoke: no request holds IAM user nobody-here\n",
    )
    neither = run_cli(["revoke"], env, cwd=tmp_path)
    assert (neither.returncode, neither.stderr) == (
        1,
        "revoke: give either REQUEST_ID or --user IAM_USER_NAME\n",
    )
    engine.dispose()
