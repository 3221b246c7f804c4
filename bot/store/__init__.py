"""Persistence: the store ports of bot/domain/storage.py over SQLAlchemy 2.0.

bot/store owns every SQL statement of the bot; services call the named operations of
`Stores` and get domain snapshots back, never a session or a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.store.deactivations import SqlDeactivationStore
from bot.store.deliveries import SqlDeliveryStore
from bot.store.links import SqlLinkStore
from bot.store.provisioning import SqlProvisioningStore
from bot.store.requests import SqlRequestStore
from bot.store.reviews import SqlReviewStore
from bot.store.revocations import SqlRevocationStore
from bot.store.rotations import SqlRotationStore
from bot.store.sweeps import SqlSweepStore
from bot.store.time_bound import SqlTimeBoundStore


@dataclass(frozen=True)
class Stores:
    requests: SqlRequestStore
    provisioning: SqlProvisioningStore
    links: SqlLinkStore
    sweeps: SqlSweepStore
    deliveries: SqlDeliveryStore
    revocations: SqlRevocationStore
    rotations: SqlRotationStore
    reviews: SqlReviewStore
    time_bound: SqlTimeBoundStore
    deactivations: SqlDeactivationStore


def build_stores(sessions: sessionmaker[Session]) -> Stores:
    return Stores(
        requests=SqlRequestStore(sessions),
        provisioning=SqlProvisioningStore(sessions),
        links=SqlLinkStore(sessions),
        sweeps=SqlSweepStore(sessions),
        deliveries=SqlDeliveryStore(sessions),
        revocations=SqlRevocationStore(sessions),
        rotations=SqlRotationStore(sessions),
        reviews=SqlReviewStore(sessions),
        time_bound=SqlTimeBoundStore(sessions),
        deactivations=SqlDeactivationStore(sessions),
    )


__all__ = [
    "SqlDeactivationStore",
    "SqlDeliveryStore",
    "SqlLinkStore",
    "SqlProvisioningStore",
    "SqlRequestStore",
    "SqlRevocationStore",
    "SqlRotationStore",
    "SqlSweepStore",
    "SqlTimeBoundStore",
    "Stores",
    "build_stores",
]
