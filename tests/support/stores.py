"""Helpers for the store tests (tests/integration/test_store*.py): requests with frozen
rules and sealed links without real crypto (their thread race is
tests/support/concurrency.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.credentials import SealedBox, SealedLink
from bot.domain.requests import RequestView
from bot.domain.rules import FrozenRules
from bot.domain.states import Status
from bot.domain.storage import Lease, NewRequest
from bot.store import Stores

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)
OWNERS = ("U0OWNER1", "U0OWNER2", "U0OWNER3")

RULES = FrozenRules(
    account="prod-account",
    groups=("admins", "auditors"),
    policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
    console=True,
    programmatic=False,
    permissions_boundary="arn:aws:iam::123456789012:policy/Boundary",
    max_duration=timedelta(hours=8),
    approvals_required=2,
)


def new_request(
    *,
    requester_id: str = "U0ALICE",
    profile: str = "admin",
    iam_user_name: str = "alice",
    rules: FrozenRules = RULES,
) -> NewRequest:
    return NewRequest(requester_id, profile, iam_user_name, "incident 42", rules)


def submitted(stores: Stores, now: datetime = NOW, **kwargs: object) -> RequestView:
    return stores.requests.submit(new_request(**kwargs), now)  # type: ignore[arg-type]


def approved(stores: Stores, now: datetime = NOW, **kwargs: object) -> RequestView:
    request = submitted(stores, now, **kwargs)
    result = stores.requests.approve(request.id, OWNERS[0], 1, now)
    assert result.request.status is Status.APPROVED
    return result.request


def claimed(stores: Stores, now: datetime = NOW, **kwargs: object) -> Lease:
    request = approved(stores, now, **kwargs)
    lease = stores.provisioning.claim_provisioning(
        request.id, sources=(Status.APPROVED,), actor="bot", now=now, until=now + LEASE
    )
    assert isinstance(lease, Lease), lease
    return lease


def sealed(
    link_id: str = "link-1", *, expires_at: datetime = NOW + timedelta(days=1)
) -> SealedLink:
    return SealedLink(
        link_id, SealedBox(b"ciphertext" + link_id.encode(), b"n" * 12), b"k" * 32, expires_at
    )


def provisioned(
    stores: Stores, now: datetime = NOW, *, link_id: str = "link-1", **kwargs: object
) -> RequestView:
    lease = claimed(stores, now, **kwargs)
    view = stores.provisioning.finish_provisioning(
        lease, sealed(link_id), access_key_id="AKIAFIRST", console=True, now=now
    )
    assert view is not None and view.status is Status.PROVISIONED
    return view
