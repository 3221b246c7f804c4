"""Persistence: the store ports of bot/domain/storage.py over SQLAlchemy 2.0.

bot/store owns every SQL statement of the bot; services call the named operations of
`Stores` and get domain snapshots back, never a session or a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.store.deliveries import SqlDeliveryStore
from bot.store.links import SqlLinkStore
from bot.store.provisioning import SqlProvisioningStore
from bot.store.requests import SqlRequestStore
from bot.store.sweeps import SqlSweepStore


@dataclass(frozen=True)
class Stores:
    requests: SqlRequestStore
    provisioning: SqlProvisioningStore
    links: SqlLinkStore
    sweeps: SqlSweepStore
    deliveries: SqlDeliveryStore


def build_stores(sessions: sessionmaker[Session]) -> Stores:
    return Stores(
        requests=SqlRequestStore(sessions),
        provisioning=SqlProvisioningStore(sessions),
        links=SqlLinkStore(sessions),
        sweeps=SqlSweepStore(sessions),
        deliveries=SqlDeliveryStore(sessions),
    )


__all__ = [
    "SqlDeliveryStore",
    "SqlLinkStore",
    "SqlProvisioningStore",
    "SqlRequestStore",
    "SqlSweepStore",
    "Stores",
    "build_stores",
]
