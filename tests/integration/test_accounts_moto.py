"""Working in two AWS accounts (flow 7) against moto in server mode: the bot's own
account (main) and prod, reached only through a signed AssumeRole of prod's role
(tests/support/moto_accounts.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.aws.accounts import AccountDirectory, AccountProvisioners, AccountSessions
from bot.aws.calls import Backoff
from bot.aws.errors import AccountAccessError
from bot.domain.errors import ProvisioningError
from bot.domain.requests import RequestView
from bot.domain.states import Status
from tests.conftest import FakeClock
from tests.support.configs import bot_config
from tests.support.moto import REGION, unique
from tests.support.moto_accounts import (
    MAIN_ID,
    PROD_ID,
    PROD_ROLE,
    TwoAccounts,
    accounts_toml,
)
from tests.support.processes import run_cli

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CONFIG = bot_config(accounts_toml(main_owner="U0MAINOWNER", prod_owner="U0PRODOWNER"))
FAST = Backoff(3, 0, 0)


@pytest.fixture
def two(two_accounts: TwoAccounts) -> TwoAccounts:
    return two_accounts


def sessions_for(two: TwoAccounts, clock: FakeClock, config=CONFIG, **base: Any) -> AccountSessions:
    return AccountSessions(
        config,
        two.base_session(**base),
        now=clock.now,
        client_kwargs={"endpoint_url": two.endpoint},
    )


def provisioners(sessions: AccountSessions, sleeps: list[float] | None = None):
    record = sleeps.append if sleeps is not None else (lambda _s: None)
    return AccountProvisioners(
        sessions, sessions.config, sleep=record, backoff=FAST, step_backoff=Backoff(2, 0, 0)
    )


def request_in(account: str, group: str, **overrides: Any) -> RequestView:
    values: dict[str, Any] = {
        "id": 7,
        "requester_id": "U0ALICE",
        "profile": "deploy" if account == "prod" else "developer",
        "iam_user_name": unique("alice"),
        "console": True,
        "programmatic": True,
        "reason": "deploys",
        "status": Status.PROVISIONING,
        "created_at": NOW,
        "groups": (group,),
        "account": account,
    }
    values.update(overrides)
    return RequestView(**values)


def user_exists(iam: Any, name: str) -> bool:
    try:
        iam.get_user(UserName=name)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchEntity"
        return False
    return True


def test_a_prod_request_makes_its_user_in_prod_only(two: TwoAccounts, clock: FakeClock) -> None:
    sessions = sessions_for(two, clock)
    request = request_in("prod", "prod-deployers")

    credentials = provisioners(sessions).provision(request)

    prod, main = two.prod_iam(), two.main_iam()
    name = request.iam_user_name
    assert user_exists(prod, name) and not user_exists(main, name)
    assert prod.get_user(UserName=name)["User"]["Arn"].startswith(f"arn:aws:iam::{PROD_ID}:")
    groups = [g["GroupName"] for g in prod.list_groups_for_user(UserName=name)["Groups"]]
    assert groups == ["prod-deployers"]
    # The revealed key is prod's: GetCallerIdentity, signed with it, says so.
    sts = two.client(
        two.base_session(credentials.access_key_id, credentials.secret_access_key), "sts"
    )
    identity = sts.get_caller_identity()
    assert identity["Account"] == PROD_ID
    assert identity["Arn"] == f"arn:aws:iam::{PROD_ID}:user/onboarding/{name}"
    # No alias in prod: the sign-in URL names the account id.
    assert credentials.console_url == f"https://{PROD_ID}.signin.aws.amazon.com/console"


def test_a_main_request_stays_in_main(two: TwoAccounts, clock: FakeClock) -> None:
    sessions = sessions_for(two, clock)
    request = request_in("main", "developers")

    credentials = provisioners(sessions).provision(request)

    assert user_exists(two.main_iam(), request.iam_user_name)
    assert not user_exists(two.prod_iam(), request.iam_user_name)
    assert credentials.console_url == f"https://{MAIN_ID}.signin.aws.amazon.com/console"


def test_sign_in_urls_use_each_accounts_alias(two: TwoAccounts, clock: FakeClock) -> None:
    prod = two.prod_iam()
    prod.create_account_alias(AccountAlias="acme-prod")
    try:
        sessions = sessions_for(two, clock)
        made = provisioners(sessions)
        in_prod = made.provision(request_in("prod", "prod-deployers"))
        in_main = made.provision(request_in("main", "developers", id=8))
    finally:
        prod.delete_account_alias(AccountAlias="acme-prod")
    assert in_prod.console_url == "https://acme-prod.signin.aws.amazon.com/console"
    assert in_main.console_url == f"https://{MAIN_ID}.signin.aws.amazon.com/console"


def test_one_session_per_account_assumed_once_and_refreshed_before_expiry(
    two: TwoAccounts, clock: FakeClock
) -> None:
    sessions = sessions_for(two, clock)
    made = provisioners(sessions)
    directory = AccountDirectory(sessions)
    made.provision(request_in("prod", "prod-deployers"))
    made.provision(request_in("prod", "prod-deployers", id=9))
    assert directory.name_taken(unique("free"), "U0ALICE", account="prod") is False
    made.provision(request_in("main", "developers", id=10))

    # One Session per account (main's is the bot's own), one AssumeRole so far.
    assert sessions.session("prod") is sessions.session("prod")
    assert sessions.session("main") is sessions.base
    assert list(sessions.sessions()) == ["(own credentials)", "prod"]
    assert sessions.iam("prod") is sessions.iam("prod")
    assert sessions.assumed == {"prod": 1}
    first = sessions.session("prod").get_credentials().get_frozen_credentials().access_key

    # 50 minutes on, the one-hour session has 10 left: botocore asks again before expiry.
    clock.advance(minutes=50)
    made.provision(request_in("prod", "prod-deployers", id=11))
    assert sessions.assumed == {"prod": 2}
    second = sessions.session("prod").get_credentials().get_frozen_credentials().access_key
    assert second != first
    assert sessions.identity("prod")["Account"] == PROD_ID


@pytest.fixture(scope="module")
def no_assume_key(two_accounts: TwoAccounts) -> tuple[str, str]:
    """A main-account user that may do anything in IAM but not sts:AssumeRole."""
    iam = two_accounts.main_iam()
    iam.create_user(UserName="bot-without-assume")
    iam.put_user_policy(
        UserName="bot-without-assume",
        PolicyName="iam-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["iam:*", "sts:GetCallerIdentity"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="bot-without-assume")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_access_denied_on_assume_role_is_one_clear_line(
    two: TwoAccounts, clock: FakeClock, no_assume_key: tuple[str, str]
) -> None:
    key_id, secret = no_assume_key
    sessions = sessions_for(two, clock, key_id=key_id, secret=secret)

    with pytest.raises(AccountAccessError) as caught:
        sessions.identity("prod")

    line = caught.value.message
    assert "\n" not in line
    assert line == (
        f"account prod: AccessDenied on sts:AssumeRole of {PROD_ROLE}: the role's trust policy "
        f"does not let arn:aws:iam::{MAIN_ID}:user/bot-without-assume assume it, or "
        "accounts[1].external_id does not match its sts:ExternalId condition"
    )
    assert secret not in line


def test_a_role_that_cannot_be_assumed_is_a_retried_transient_failure(
    two: TwoAccounts, clock: FakeClock, no_assume_key: tuple[str, str]
) -> None:
    key_id, secret = no_assume_key
    sessions = sessions_for(two, clock, key_id=key_id, secret=secret)
    sleeps: list[float] = []
    request = request_in("prod", "prod-deployers")

    with pytest.raises(ProvisioningError) as caught:
        provisioners(sessions, sleeps).provision(request)

    error = caught.value
    assert (error.code, error.permanent, error.step) == ("AccessDenied", False, "assume_role")
    assert error.message.startswith("account prod: AccessDenied on sts:AssumeRole")
    assert len(sleeps) == FAST.attempts - 1  # tried again with backoff first
    assert not user_exists(two.prod_iam(), request.iam_user_name)
    assert not user_exists(two.main_iam(), request.iam_user_name)


def test_own_credentials_of_another_account_make_nothing(
    two: TwoAccounts, clock: FakeClock
) -> None:
    toml = accounts_toml(main_owner="U0MAINOWNER", prod_owner="U0PRODOWNER").replace(
        f'id = "{MAIN_ID}"', 'id = "222222222222"'
    )
    sessions = sessions_for(two, clock, config=bot_config(toml))
    request = request_in("main", "developers")

    with pytest.raises(ProvisioningError) as caught:
        provisioners(sessions).provision(request)

    assert caught.value.code == "WrongAccount"
    assert caught.value.message == (
        f"account main: the bot's own credentials (arn:aws:iam::{MAIN_ID}:user/moto-admin) are "
        f"in account {MAIN_ID}, not 222222222222: set its role_arn, or run the bot with "
        "credentials of 222222222222"
    )
    assert not user_exists(two.main_iam(), request.iam_user_name)


# --- `aws-access-bot check` and `iam-policy`, as processes -------------------------------


def cli_env(two: TwoAccounts, config: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **two.moto.env(),
        "AWS_DEFAULT_REGION": REGION,
        "BOT_CONFIG": str(config),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        **extra,
    }


def aws_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if " AWS: " in line]


def test_check_names_every_account_when_all_is_well(two: TwoAccounts, tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(accounts_toml(main_owner="U0MAINOWNER", prod_owner="U0PRODOWNER"))

    done = run_cli(["check"], cli_env(two, config, tmp_path))

    assert aws_lines(done.stdout) == [
        f"✓ AWS: account main ({MAIN_ID}): the bot's own credentials, identity "
        f"arn:aws:iam::{MAIN_ID}:user/moto-admin is in account {MAIN_ID}",
        "✓ AWS: account main: group developers exists",
        "✓ AWS: account main: every IAM user under /onboarding/ was made by the bot",
        f"✓ AWS: account prod ({PROD_ID}): assumed {PROD_ROLE}, identity "
        f"arn:aws:sts::{PROD_ID}:assumed-role/aws-access-bot/aws-access-bot is in account "
        f"{PROD_ID}",
        "✓ AWS: account prod: group prod-deployers exists",
        "✓ AWS: account prod: every IAM user under /onboarding/ was made by the bot",
    ]


def test_check_gives_one_line_per_broken_account(
    two: TwoAccounts, tmp_path: Path, no_assume_key: tuple[str, str]
) -> None:
    """The bot's credentials may not assume prod's role; main's id is wrong; a profile's
    group is missing in main."""
    key_id, secret = no_assume_key
    toml = accounts_toml(
        main_owner="U0MAINOWNER",
        prod_owner="U0PRODOWNER",
        extra_profiles='\n[[profiles]]\nname = "ops"\ngroups = ["no-such-group"]\n'
        'account = "main"\n',
    )
    config = tmp_path / "bot.toml"
    config.write_text(toml)

    env = cli_env(two, config, tmp_path, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret)
    done = run_cli(["check"], env)
    config.write_text(toml.replace(f'id = "{MAIN_ID}"', 'id = "222222222222"'))
    wrong_id = run_cli(["check"], env)

    assert done.returncode == 1
    lines = aws_lines(done.stdout)
    assert lines[0] == (
        f"✓ AWS: account main ({MAIN_ID}): the bot's own credentials, identity "
        f"arn:aws:iam::{MAIN_ID}:user/bot-without-assume is in account {MAIN_ID}"
    )
    assert "✓ AWS: account main: group developers exists" in lines
    assert any(
        line.startswith("✗ AWS: account main: group no-such-group (profile ops) is not usable: ")
        for line in lines
    )
    assert lines[-1] == (
        f"✗ AWS: account prod: AccessDenied on sts:AssumeRole of {PROD_ROLE}: the role's trust "
        f"policy does not let arn:aws:iam::{MAIN_ID}:user/bot-without-assume assume it, or "
        "accounts[1].external_id does not match its sts:ExternalId condition"
    )
    assert aws_lines(wrong_id.stdout)[0] == (
        f"✗ AWS: account main: the bot's own credentials (arn:aws:iam::{MAIN_ID}:user/"
        f"bot-without-assume) are in account {MAIN_ID}, not 222222222222: set its role_arn, "
        "or run the bot with credentials of 222222222222"
    )
    assert secret not in done.stdout + done.stderr + wrong_id.stdout + wrong_id.stderr


def test_iam_policy_for_an_account_and_its_trust_policy(two: TwoAccounts, tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(accounts_toml(main_owner="U0MAINOWNER", prod_owner="U0PRODOWNER"))
    env = cli_env(two, config, tmp_path)

    prod = run_cli(["iam-policy", "--account", "prod"], env)
    main = run_cli(["iam-policy", "--account", "main"], env)
    trust = run_cli(["iam-policy", "--account", "prod", "--trust"], env)
    unknown = run_cli(["iam-policy", "--account", "staging"], env)

    assert prod.returncode == 0, prod.stderr
    statements = {s["Sid"]: s for s in json.loads(prod.stdout)["Statement"]}
    assert statements["ManageOnboardedUsers"]["Resource"] == (
        f"arn:aws:iam::{PROD_ID}:user/onboarding/*"
    )
    assert statements["ProfileGroups"]["Resource"] == [
        f"arn:aws:iam::{PROD_ID}:group/prod-deployers",
        f"arn:aws:iam::{PROD_ID}:group/*/prod-deployers",
    ]
    assert "AssumeAccountRoles" not in statements
    main_statements = {s["Sid"]: s for s in json.loads(main.stdout)["Statement"]}
    assert main_statements["AssumeAccountRoles"]["Resource"] == [PROD_ROLE]
    assert main_statements["ProfileGroups"]["Resource"][0] == (
        f"arn:aws:iam::{MAIN_ID}:group/developers"
    )
    assert json.loads(trust.stdout) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AwsAccessBot",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{MAIN_ID}:user/moto-admin"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "prod-external-id"}},
            }
        ],
    }
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "--account 'staging' is not in [[accounts]] (known: main, prod)"
    )
