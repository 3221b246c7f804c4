"""The moto harness itself: it checks signatures, so 'credentials work' means something."""

import pytest
from botocore.exceptions import ClientError

from tests.support.moto import unique


def test_admin_key_works_and_wrong_secret_is_refused(moto_server) -> None:
    identity = moto_server.client("sts").get_caller_identity()
    assert identity["Arn"].endswith(":user/moto-admin")
    with pytest.raises(ClientError) as info:
        moto_server.client("sts", moto_server.access_key_id, "not-the-secret").get_caller_identity()
    assert info.value.response["Error"]["Code"] in ("InvalidClientTokenId", "SignatureDoesNotMatch")


def test_new_users_key_identifies_as_that_user(moto_server) -> None:
    iam = moto_server.client("iam")
    name = unique("harness")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = moto_server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
