"""The IAM name check against moto in server mode (real boto3 over HTTP, signed)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from bot.aws.directory import SLACK_USER_TAG, Boto3IamDirectory
from tests.support.moto import unique


@pytest.fixture
def directory(moto_server) -> Boto3IamDirectory:
    return Boto3IamDirectory(moto_server.client("iam"))


def test_free_name(directory: Boto3IamDirectory) -> None:
    assert directory.name_taken(unique("nobody"), "U0ALICE") is False


def test_existing_name_in_any_case_and_path(directory, moto_server) -> None:
    name = unique("Carol")
    moto_server.client("iam").create_user(UserName=name, Path="/elsewhere/")
    assert directory.name_taken(name, "U0ALICE") is True
    assert directory.name_taken(name.lower(), "U0ALICE") is True
    assert directory.name_taken(name.upper(), "U0ALICE") is True


def test_own_tagged_user_is_not_taken_for_its_requester(directory, moto_server) -> None:
    name = unique("dave")
    moto_server.client("iam").create_user(
        UserName=name, Tags=[{"Key": SLACK_USER_TAG, "Value": "U0DAVE"}, {"Key": "x", "Value": "y"}]
    )
    assert directory.name_taken(name.upper(), "U0DAVE") is False
    assert directory.name_taken(name, "U0EVE") is True


def test_many_users_are_paginated(directory, moto_server) -> None:
    iam = moto_server.client("iam")
    prefix = unique("page")
    for i in range(105):  # more than one ListUsers page (100)
        iam.create_user(UserName=f"{prefix}-{i}")
    assert directory.name_taken(f"{prefix}-104".upper(), "U0ALICE") is True


def test_wrong_credentials_raise_rather_than_answer(moto_server) -> None:
    bad = Boto3IamDirectory(moto_server.client("iam", "AKIAWRONG", "wrong"))
    with pytest.raises(ClientError):
        bad.name_taken(unique("x"), "U0ALICE")
