"""The submit use case on both databases: concurrent submits store one request, the
stored request carries its frozen rules, and announcing it remembers its message."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.aws.directory import Boto3IamDirectory
from bot.domain.events import RequestSubmitted
from bot.services.submit import RequestForm, SubmitRequest
from bot.store.models import AccessRequest, AuditEvent
from tests.slack.conftest import CONFIG as SLACK_CONFIG
from tests.support.concurrency import race
from tests.support.configs import bot_config
from tests.support.fakes import NoNamesTaken
from tests.support.moto import unique
from tests.support.notifier import RecordingNotifier
from tests.support.requests import audit_kinds, row

CONFIG = bot_config(SLACK_CONFIG)


def test_concurrent_identical_submits_store_one(sessions, stores, clock, moto_server) -> None:
    notifier = RecordingNotifier()
    service = SubmitRequest(
        stores.requests, CONFIG, clock, Boto3IamDirectory(moto_server.client("iam")), notifier
    )
    name = unique("race")
    forms = [
        RequestForm(user, "developer", name if i % 2 else name.upper(), True, False, "why")
        for i, user in enumerate(["U0ALICE"] * 4 + ["U0BOB"] * 4)
    ]
    results = race(len(forms), lambda i: service.submit(forms[i]))
    stored = [r for r in results if r.ok]
    assert len(stored) == 1
    assert all(set(r.errors) <= {"profile", "iam_user_name"} for r in results if not r.ok)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AccessRequest)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    assert notifier.events == []  # submit() stores; announce() tells people


def test_submit_freezes_the_profile_rules_and_announce_remembers_the_message(
    sessions, stores, clock
) -> None:
    notifier = RecordingNotifier()
    service = SubmitRequest(stores.requests, CONFIG, clock, NoNamesTaken(), notifier)
    result = service.submit(RequestForm("U0ALICE", " prod ", " alice ", True, False, " on-call "))
    assert result.ok, result.errors
    request = result.request
    assert request is not None
    assert (request.profile, request.iam_user_name, request.reason) == ("prod", "alice", "on-call")
    assert (request.groups, request.policies, request.approvals_required) == (
        ("prod-admins",),
        (),
        2,
    )
    stored = row(sessions, request.id)
    assert (stored.groups, stored.policies, stored.approvals_required) == (["prod-admins"], [], 2)
    assert stored.rules_frozen_at == clock.now()
    assert (stored.console, stored.programmatic) == (True, False)
    assert audit_kinds(stores, request.id) == ["requested"]
    assert notifier.events == []

    ref = service.announce(request)
    [announced] = notifier.of(RequestSubmitted)
    assert announced.request == request
    assert ref is not None
    stored = row(sessions, request.id)
    assert (stored.approval_channel, stored.approval_ts) == (ref.channel, ref.ts)


def test_a_failed_announcement_keeps_the_request(sessions, stores, clock) -> None:
    notifier = RecordingNotifier(deliver=False)  # Slack refused the post
    service = SubmitRequest(stores.requests, CONFIG, clock, NoNamesTaken(), notifier)
    request = service.submit(
        RequestForm("U0ALICE", "developer", "alice", True, False, "deploys")
    ).request
    assert request is not None
    assert service.announce(request) is None
    assert notifier.kinds() == ["RequestSubmitted"]
    stored = row(sessions, request.id)
    assert (stored.status, stored.approval_ts) == ("pending", None)
    # The requester's open request still blocks a duplicate.
    again = service.submit(RequestForm("U0ALICE", "developer", "alice2", True, False, "x"))
    assert not again.ok and f"#{request.id}" in again.errors["profile"]
