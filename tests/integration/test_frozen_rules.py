"""A request keeps the rules it was submitted under; a config edit never loosens them.

Submitted under one config, decided under another: the services are built twice over
the same database, as a restart with an edited config.toml would.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text

from bot.container import build_container, build_services
from bot.domain.events import RequestApproved
from bot.services.decide import Outcome
from bot.services.freeze import freeze_legacy_requests
from bot.services.submit import RequestForm
from bot.settings import Settings
from bot.store.db import alembic_config, make_engine, upgrade
from tests.support.configs import ADMINISTRATOR, bot_config, config_toml, profile
from tests.support.fakes import NoNamesTaken
from tests.support.notifier import RecordingNotifier

OWNERS = ("U0OWNER1", "U0OWNER2")
REQUESTER = "U0ALICE"


def config_text(*, admin_approvals: int | None = 2) -> str:
    """The developer profile and, unless `admin_approvals` is None (the profile was
    removed), the admin profile needing that many approvals."""
    developer = profile(
        "developer", "Read/write on dev resources", groups=["developers"], approvals_required=1
    )
    if admin_approvals is None:
        return config_toml(developer)
    admin = profile(
        "admin",
        "Administrator",
        groups=["admins"],
        policies=[ADMINISTRATOR],
        approvals_required=admin_approvals,
    )
    return config_toml(developer, admin)


def services_for(db_url: str, clock, toml: str):
    settings = Settings(database_url=db_url, config=bot_config(toml, "test"))
    container = build_container(settings, clock=clock)
    notifier = RecordingNotifier()
    approved: list[int] = []
    services = build_services(
        container, None, NoNamesTaken(), notifier=notifier, on_approved=approved.append
    )
    return container, services, notifier, approved


@pytest.fixture
def bots(db_url: str, engine, clock):
    built = []

    def start(toml: str):
        container, services, notifier, approved = services_for(db_url, clock, toml)
        built.append(container)
        return services, notifier, approved

    yield start
    for container in built:
        container.close()


def submit_admin(services) -> int:
    result = services.submit.submit(
        RequestForm(REQUESTER, "admin", "alice", True, True, "incident")
    )
    assert result.ok, result.errors
    return result.request.id


def test_lowering_approvals_required_does_not_lower_a_waiting_request(bots) -> None:
    before, _, _ = bots(config_text(admin_approvals=2))
    request_id = submit_admin(before)

    after, notifier, handed_off = bots(config_text(admin_approvals=1))
    first = after.decisions.approve(request_id, OWNERS[0])

    assert first.outcome is Outcome.RECORDED
    assert "1 of 2 approvals" in first.message
    assert first.request.status.value == "pending"
    assert handed_off == [] and notifier.of(RequestApproved) == []

    second = after.decisions.approve(request_id, OWNERS[1])
    assert second.outcome is Outcome.APPROVED
    assert handed_off == [request_id]


def test_raising_approvals_required_raises_a_waiting_request(bots) -> None:
    before, _, _ = bots(config_text(admin_approvals=1))
    request_id = submit_admin(before)
    after, _, handed_off = bots(config_text(admin_approvals=2))
    assert after.decisions.approve(request_id, OWNERS[0]).outcome is Outcome.RECORDED
    assert handed_off == []


def test_removing_the_profile_refuses_approve_but_deny_works(bots) -> None:
    before, _, _ = bots(config_text(admin_approvals=2))
    request_id = submit_admin(before)

    after, notifier, handed_off = bots(config_text(admin_approvals=None))
    refused = after.decisions.approve(request_id, OWNERS[0])

    assert refused.outcome is Outcome.REFUSED
    assert "no longer in the bot's config" in refused.message
    assert after.queries.pending()[0].approvers == ()  # nothing was counted
    assert not after.queries.pending()[0].profile_available
    denied = after.decisions.deny(request_id, OWNERS[0], "profile retired")
    assert denied.outcome is Outcome.DENIED
    assert handed_off == []


def test_a_removed_profile_can_still_be_cancelled(bots) -> None:
    before, _, _ = bots(config_text(admin_approvals=2))
    request_id = submit_admin(before)
    after, _, _ = bots(config_text(admin_approvals=None))
    assert after.decisions.cancel(request_id, REQUESTER).outcome is Outcome.CANCELLED


# --- rows stored before rules were frozen (database revision 0001) ---------------------

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
COLUMNS = (
    "id, requester_id, profile, iam_user_name, console, programmatic, reason, status, "
    "created_at, updated_at, reminder_count, provision_attempts, last_error, access_key_id, "
    "lease_expires_at, decided_by"
)
LEGACY_ROWS = [
    # id, requester, profile, user, console, programmatic, reason, status, attempts,
    # last_error, access key, lease, decided_by
    (1, "U0ALICE", "admin", "alice", True, True, "incident", "pending", 0, None, None, None, None),
    (2, "U0BOB", "retired", "bob", True, False, "old", "pending", 0, None, None, None, None),
    (
        3,
        "U0CAROL",
        "developer",
        "carol",
        True,
        True,
        "dev",
        "provisioned",
        1,
        None,
        "AKIAOLDKEY",
        datetime(2026, 11, 1, 9, 20, tzinfo=UTC),
        "U0OWNER1",
    ),
    (
        4,
        "U0DAN",
        "developer",
        "dan",
        False,
        True,
        "dev",
        "failed",
        3,
        "NoSuchEntity: group developers",
        None,
        None,
        "U0OWNER2",
    ),
]


def seed_0001(db_url: str) -> None:
    engine = make_engine(db_url)
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        for row in LEGACY_ROWS:
            (
                id_,
                who,
                profile,
                user,
                console,
                prog,
                reason,
                status,
                attempts,
                error,
                key,
                lease,
                decided_by,
            ) = row
            conn.execute(
                text(
                    f"INSERT INTO access_requests ({COLUMNS}) VALUES (:id, :who, :profile, "
                    ":user, :console, :prog, :reason, :status, :t0, :t0, 0, :attempts, "
                    ":error, :key, :lease, :decided_by)"
                ),
                {
                    "id": id_,
                    "who": who,
                    "profile": profile,
                    "user": user,
                    "console": console,
                    "prog": prog,
                    "reason": reason,
                    "status": status,
                    "t0": T0.replace(tzinfo=None) if db_url.startswith("sqlite") else T0,
                    "attempts": attempts,
                    "error": error,
                    "key": key,
                    "lease": (
                        lease.replace(tzinfo=None)
                        if lease and db_url.startswith("sqlite")
                        else lease
                    ),
                    "decided_by": decided_by,
                },
            )
        conn.execute(
            text(
                "INSERT INTO approvals (request_id, approver_id, created_at) "
                "VALUES (3, 'U0OWNER1', :t0)"
            ),
            {"t0": T0.replace(tzinfo=None) if db_url.startswith("sqlite") else T0},
        )
    engine.dispose()


@pytest.fixture
def legacy_db(db_url: str) -> str:
    seed_0001(db_url)
    engine = make_engine(db_url)
    upgrade(engine)  # 0001 -> head
    engine.dispose()
    return db_url


def test_upgrading_0001_rows_freezes_them_and_loses_nothing(legacy_db: str, clock) -> None:
    container, services, _, _ = services_for(legacy_db, clock, config_text(admin_approvals=2))
    try:
        report = freeze_legacy_requests(container.stores.requests, services.config, clock)
        assert sorted(report.frozen) == [1, 3, 4]
        assert report.profile_gone == [2]

        views = {v.id: v for v in container.stores.requests.list()}
        assert sorted(views) == [1, 2, 3, 4]  # nothing lost
        for id_, who, profile, user, console, prog, reason, status, *_ in LEGACY_ROWS:
            view = views[id_]
            assert (view.requester_id, view.profile, view.iam_user_name) == (who, profile, user)
            assert (view.console, view.programmatic, view.reason) == (console, prog, reason)
            assert view.status.value == status
            assert view.created_at == T0
        assert views[3].approvers == ("U0OWNER1",)
        assert views[3].decided_by == "U0OWNER1"

        admin = views[1]
        assert admin.rules_frozen and admin.approvals_required == 2
        assert admin.groups == ("admins",)
        assert admin.policies == ("arn:aws:iam::aws:policy/AdministratorAccess",)
        assert views[3].groups == ("developers",) and views[4].groups == ("developers",)
        # The failed request keeps the access it asked for, not the profile's default.
        assert (views[4].console, views[4].programmatic) == (False, True)

        # The pending request whose profile is gone was never given a default of 1.
        gone = views[2]
        assert not gone.rules_frozen
        refused = services.decisions.approve(2, "U0OWNER1")
        assert refused.outcome is Outcome.REFUSED
        assert services.decisions.deny(2, "U0OWNER1", "profile retired").outcome is Outcome.DENIED

        # The admin request needs its two approvals.
        assert services.decisions.approve(1, "U0OWNER1").outcome is Outcome.RECORDED
        assert services.decisions.approve(1, "U0OWNER2").outcome is Outcome.APPROVED

        # Freezing happens once: a second start changes nothing.
        again = freeze_legacy_requests(container.stores.requests, services.config, clock)
        assert again.frozen == []
    finally:
        container.close()
