"""When a grant was last used (bot/aws/usage.py): key use through moto in server mode
(it records each use of a key); console sign-in (PasswordLastUsed) through botocore's
Stubber, because moto never signs anyone in to the console."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bot.aws.usage import IamGrantUsage
from bot.domain.requests import RequestView
from bot.domain.reviews import GrantUsage
from bot.domain.states import Status
from tests.support.moto import unique


def grant(user_name: str, account: str = "default") -> RequestView:
    return RequestView(
        id=7,
        requester_id="U0ALICE",
        profile="developer",
        iam_user_name=user_name,
        console=True,
        programmatic=True,
        reason="",
        status=Status.PROVISIONED,
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        account=account,
    )


def test_the_latest_use_of_any_key_and_no_console_use(moto_server) -> None:
    iam = moto_server.client("iam")
    name = unique("usage")
    iam.create_user(UserName=name, Path="/onboarding/")
    unused = iam.create_access_key(UserName=name)["AccessKey"]
    used = iam.create_access_key(UserName=name)["AccessKey"]
    asked: list[str] = []

    def iam_for(account: str):
        asked.append(account)
        return iam

    reader = IamGrantUsage(iam_for)
    before = reader.usage(grant(name, "prod"))
    assert before == GrantUsage(last_key_use=None, last_console_use=None, known=True)
    assert asked == ["prod"]  # the grant's own account's client
    # The key is used once (the call is refused, but the key was used to sign it).
    own = moto_server.client("iam", used["AccessKeyId"], used["SecretAccessKey"])
    with pytest.raises(ClientError):  # denied: only the use matters
        own.list_users()
    after = reader.usage(grant(name))
    recorded = iam.get_access_key_last_used(AccessKeyId=used["AccessKeyId"])
    assert after.known and after.last_console_use is None
    assert after.last_key_use == recorded["AccessKeyLastUsed"]["LastUsedDate"].astimezone(UTC)
    assert unused["AccessKeyId"] != used["AccessKeyId"]


def test_a_user_iam_does_not_know_is_unknown_not_an_error(moto_server) -> None:
    reader = IamGrantUsage(lambda _account: moto_server.client("iam"))
    assert reader.usage(grant(unique("gone"))) == GrantUsage(known=False)


def test_console_sign_in_and_several_keys(caplog) -> None:
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-secret",  # noqa: S106 - never sent: stubbed
    )
    signed_in = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    older, newer = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)
    user = {
        "Path": "/onboarding/",
        "UserName": "alice",
        "UserId": "AIDAEXAMPLEEXAMPLE1",
        "Arn": "arn:aws:iam::123456789012:user/onboarding/alice",
        "CreateDate": datetime(2026, 11, 1, tzinfo=UTC),
        "PasswordLastUsed": signed_in,
    }
    keys = [
        {"UserName": "alice", "AccessKeyId": f"AKIA{n}EXAMPLEEXAMPLE", "Status": "Active"}
        for n in (1, 2)
    ]
    with Stubber(iam) as stub:
        stub.add_response("get_user", {"User": user}, {"UserName": "alice"})
        stub.add_response("list_access_keys", {"AccessKeyMetadata": keys}, {"UserName": "alice"})
        for key, when in zip(keys, (newer, older), strict=True):
            stub.add_response(
                "get_access_key_last_used",
                {
                    "UserName": "alice",
                    "AccessKeyLastUsed": {
                        "LastUsedDate": when,
                        "ServiceName": "s3",
                        "Region": "us-east-1",
                    },
                },
                {"AccessKeyId": key["AccessKeyId"]},
            )
        usage = IamGrantUsage(lambda _account: iam).usage(grant("alice"))
        stub.assert_no_pending_responses()
    assert usage == GrantUsage(last_key_use=newer, last_console_use=signed_in)
    with Stubber(iam) as stub:
        stub.add_client_error("get_user", "AccessDenied", "not allowed", 403)
        assert IamGrantUsage(lambda _account: iam).usage(grant("alice")) == GrantUsage(known=False)
    assert "IAM said AccessDenied" in caplog.text
