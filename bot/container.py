"""Builds the object graph from Settings: engine, sessions, clients, services. No globals."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ports import Clock, SystemClock
from bot.settings import Settings
from bot.store.db import make_engine, make_sessionmaker


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock

    def close(self) -> None:
        self.engine.dispose()


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    engine = make_engine(settings.database_url)
    return Container(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
    )
