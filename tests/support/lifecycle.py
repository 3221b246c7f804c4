"""Helpers for the reminder/expiry tests: the config, and requests seeded through the
store's operations as the Slack flow would have left them (the recording Notifier is
tests/support/notifier.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.events import Event
from bot.domain.requests import MessageRef
from bot.domain.states import Status
from bot.settings import BotConfig
from bot.store import Stores, build_stores
from tests.support import requests
from tests.support.configs import DEVELOPER, bot_config, config_toml, profile
from tests.support.notifier import RecordingNotifier

REMINDERS = {"every": "4h", "remind_after": "1h", "expire_after": "7d"}
PROD = profile(
    "prod",
    "Production, two owners must agree",
    groups=["prod"],
    console=True,
    programmatic=False,
    approvals_required=2,
)


def lifecycle_config(**reminders: str) -> BotConfig:
    """Three owners, no [aws]; `developer` (one approval) and `prod` (two); REMINDERS
    with `reminders` changed."""
    toml = config_toml(
        DEVELOPER,
        PROD,
        owners=("U0OWNER1", "U0OWNER2", "U0OWNER3"),
        aws=None,
        reminders={**REMINDERS, **reminders},
    )
    return bot_config(toml, "test")


# The config seed_request freezes rules from when the caller gives none.
_SEED_CONFIG = lifecycle_config()


def approval_ts(request_id: int) -> str:
    """Where seed_request says the approval message was posted."""
    return f"1700000{request_id:03d}.000100"


def _stores(stores: Stores | sessionmaker[Session]) -> Stores:
    return stores if isinstance(stores, Stores) else build_stores(stores)


def seed_request(
    stores: Stores | sessionmaker[Session],
    *,
    created_at: datetime,
    requester_id: str | None = None,
    profile: str = "developer",
    iam_user_name: str = "alice",
    reason: str = "debug the billing job",
    posted: bool = True,
    config: BotConfig | None = None,
) -> int:
    """A pending request submitted at `created_at` (rules frozen from the lifecycle
    config) whose approval message was posted. Each IAM name gets its own requester
    (U0ALICE for "alice") unless one is given: a requester has one open request per
    profile."""
    stores = _stores(stores)
    config = config or _SEED_CONFIG
    profile_config = config.profile(profile)
    assert profile_config is not None
    view = requests.submit(
        stores,
        config,
        now=created_at,
        requester_id=requester_id or f"U0{iam_user_name.upper()}",
        profile=profile,
        iam_user_name=iam_user_name,
        reason=reason,
        console=True,
        programmatic=profile_config.programmatic,
    )
    if posted:
        stores.requests.set_approval_message(
            view.id, MessageRef("C0APPROVALS", approval_ts(view.id))
        )
    return view.id


def decide(
    stores: Stores | sessionmaker[Session],
    request_id: int,
    new: Status,
    by: str,
    now: datetime,
) -> bool:
    """An owner's decision through the store: deny, or the approval that completes the
    request (as the last one it needs). False when it was no longer pending."""
    stores = _stores(stores)
    if new is Status.DENIED:
        return stores.requests.deny(request_id, by, "", now) is not None
    assert new is Status.APPROVED, new
    result = stores.requests.approve(request_id, by, 1, now)
    return result.count is not None and result.request.status is Status.APPROVED


def approve_once(
    stores: Stores | sessionmaker[Session], request_id: int, owner: str, now: datetime
) -> None:
    """One of several required approvals (the request stays pending)."""
    stores = _stores(stores)
    view = stores.requests.get(request_id)
    assert view is not None
    result = stores.requests.approve(request_id, owner, view.approvals_required, now)
    assert result.request.status is Status.PENDING, result


def ids_of(notifier: RecordingNotifier, kind: type[Event]) -> list[int]:
    """The request ids of one kind of event, in the order they were told."""
    return [event.request.id for event in notifier.of(kind)]  # type: ignore[attr-defined]
