"""The submit use case on both databases: concurrent submits store one request."""

from __future__ import annotations

import threading
import tomllib

from sqlalchemy import func, select

from bot.aws.directory import Boto3IamDirectory
from bot.services.submit import RequestForm, SubmitRequest
from bot.settings import parse_config
from bot.store.models import AccessRequest, AuditEvent
from tests.slack.conftest import CONFIG
from tests.support.moto import unique


class _Silent:
    """A Notifier that only counts (submit() itself never notifies)."""

    def __init__(self) -> None:
        self.submitted = 0

    def request_submitted(self, request):  # noqa: ANN001, ANN201
        self.submitted += 1


def test_concurrent_identical_submits_store_one(sessions, clock, moto_server) -> None:
    config = parse_config(tomllib.loads(CONFIG), "test.toml")
    service = SubmitRequest(
        sessions, config, clock, Boto3IamDirectory(moto_server.client("iam")), _Silent()
    )
    name = unique("race")
    forms = [
        RequestForm(user, "developer", name if i % 2 else name.upper(), True, False, "why")
        for i, user in enumerate(["U0ALICE"] * 4 + ["U0BOB"] * 4)
    ]
    barrier = threading.Barrier(len(forms))
    results = []

    def submit(form: RequestForm) -> None:
        barrier.wait()
        results.append(service.submit(form))

    threads = [threading.Thread(target=submit, args=(f,)) for f in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [r for r in results if r.ok]
    assert len(stored) == 1
    assert all(set(r.errors) <= {"profile", "iam_user_name"} for r in results if not r.ok)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AccessRequest)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1
