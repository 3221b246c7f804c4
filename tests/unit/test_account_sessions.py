"""What moto cannot check about AssumeRole (botocore Stubber): the ExternalId sent, the
message for AccessDenied without an external id, a role answering from another account,
and the refresh driven by the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from bot.aws.accounts import OWN, AccountSessions
from bot.aws.errors import AccountAccessError
from tests.support.configs import bot_config

ROLE = "arn:aws:iam::111111111111:role/aws-access-bot"


def config(external_id: str = "", *, own_account: bool = False):
    """prod, reached through its role; `own_account`: also main, served with the bot's
    own credentials."""
    extra = f'external_id = "{external_id}"\n' if external_id else ""
    main = '[[accounts]]\nname = "main"\nid = "222222222222"\n' if own_account else ""
    return bot_config(
        f"""
[slack]
approval_channel = "C0MAIN"
owners = ["U0MAIN"]

{main}
[[accounts]]
name = "prod"
id = "111111111111"
role_arn = "{ROLE}"
{extra}
[[profiles]]
name = "deploy"
account = "prod"
"""
    )


class Clock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


def sessions_with_stub(external_id: str = "") -> tuple[AccountSessions, Stubber, Clock]:
    base = boto3.Session(
        aws_access_key_id="AKIABOTBOTBOTBOTBOT0",
        aws_secret_access_key="bot-secret",  # noqa: S106 - a test value
        region_name="us-east-1",
    )
    clock = Clock()
    sessions = AccountSessions(config(external_id), base, now=clock.now)
    stub = Stubber(sessions.own_sts())
    stub.activate()
    return sessions, stub, clock


def assumed(account: str = "111111111111", key: str = "ASIAPROD0000000001") -> dict:
    return {
        "Credentials": {
            "AccessKeyId": key,
            "SecretAccessKey": "prod-secret",
            "SessionToken": "prod-token",
            "Expiration": datetime(2030, 1, 1, tzinfo=UTC),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROAPROD:aws-access-bot",
            "Arn": f"arn:aws:sts::{account}:assumed-role/aws-access-bot/aws-access-bot",
        },
    }


def test_the_external_id_is_sent_and_the_session_refreshed_before_it_expires() -> None:
    sessions, stub, clock = sessions_with_stub("ext-123")
    expected = {
        "RoleArn": ROLE,
        "RoleSessionName": "aws-access-bot",
        "DurationSeconds": 3600,
        "ExternalId": "ext-123",
    }
    stub.add_response("assume_role", assumed(key="ASIAPROD0000000001"), expected)
    stub.add_response("assume_role", assumed(key="ASIAPROD0000000002"), expected)

    assert sessions.identity("prod")["Account"] == "111111111111"
    credentials = sessions.session("prod").get_credentials()
    assert credentials.get_frozen_credentials().access_key == "ASIAPROD0000000001"
    clock.current += timedelta(minutes=44)  # 16 minutes left: nothing to do yet
    assert credentials.get_frozen_credentials().access_key == "ASIAPROD0000000001"
    clock.current += timedelta(minutes=2)  # 14 left: asked again, ahead of expiry
    assert credentials.get_frozen_credentials().access_key == "ASIAPROD0000000002"
    assert sessions.assumed == {"prod": 2}
    stub.assert_no_pending_responses()


def test_access_denied_without_an_external_id_says_what_to_check() -> None:
    sessions, stub, _ = sessions_with_stub()
    stub.add_client_error(
        "assume_role",
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/bot is not authorized to perform: sts:AssumeRole",
        http_status_code=403,
    )
    stub.add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/bot", "UserId": "A"},
    )

    with pytest.raises(AccountAccessError) as caught:
        sessions.identity("prod")

    assert caught.value.message == (
        f"account prod: AccessDenied on sts:AssumeRole of {ROLE}: the role's trust policy does "
        "not let arn:aws:iam::123456789012:user/bot assume it (print one with `aws-access-bot "
        "iam-policy --account prod --trust`), or it requires an external id "
        "(accounts[0].external_id is empty)"
    )
    assert caught.value.permanent is False


def test_another_refusal_names_its_code() -> None:
    sessions, stub, _ = sessions_with_stub()
    stub.add_client_error(
        "assume_role", "RegionDisabledException", "STS is not activated in this region"
    )

    with pytest.raises(AccountAccessError) as caught:
        sessions.identity("prod")

    assert caught.value.message == (
        f"account prod: sts:AssumeRole of {ROLE} failed: RegionDisabledException: "
        "STS is not activated in this region"
    )


def test_a_role_answering_from_another_account_is_refused() -> None:
    sessions, stub, _ = sessions_with_stub()
    stub.add_response("assume_role", assumed(account="999999999999"))

    with pytest.raises(AccountAccessError) as caught:
        sessions.identity("prod")

    assert caught.value.code == "WrongAccount"
    assert caught.value.permanent is True
    assert caught.value.message == (
        f"account prod: assuming {ROLE} gave arn:aws:sts::999999999999:assumed-role/"
        "aws-access-bot/aws-access-bot, in account 999999999999, not 111111111111"
    )
    assert "prod-secret" not in str(caught.value)


def test_an_account_that_left_the_config_is_a_permanent_error() -> None:
    sessions, _, _ = sessions_with_stub()
    with pytest.raises(AccountAccessError) as caught:
        sessions.session("staging")
    assert (caught.value.code, caught.value.permanent) == ("UnknownAccount", True)
    assert caught.value.message == "account staging: not in the config's [[accounts]] any more"


class RecordingSession(boto3.Session):
    """A boto3 Session that records which clients it was asked to make."""

    def __init__(self) -> None:
        super().__init__(
            aws_access_key_id="AKIABOTBOTBOTBOTBOT0",
            aws_secret_access_key="bot-secret",  # noqa: S106 - a test value
            region_name="us-east-1",
        )
        self.made: list[str] = []

    def client(self, service_name: str, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        self.made.append(service_name)
        return super().client(service_name, *args, **kwargs)


def test_prepare_makes_the_own_credentials_iam_client_once_and_assumes_nothing() -> None:
    base = RecordingSession()
    # An endpoint nothing answers: a call to AWS would fail the test.
    sessions = AccountSessions(
        config(own_account=True),
        base,
        client_kwargs={"endpoint_url": "http://127.0.0.1:9"},
    )
    sessions.prepare()
    assert base.made == ["iam"]
    assert list(sessions.sessions()) == [OWN]  # no AssumeRole for prod at start-up
    prepared = sessions.iam("main")
    assert base.made == ["iam"]  # the first name check reuses it
    assert sessions.iam("main") is prepared
