"""Builds the object graph from Settings: engine, sessions, clients, services. No globals."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ports import Clock, Notifier, Provisioner, SystemClock
from bot.services.vault import CredentialLinks, CredentialVault
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


# --- credentials link (flow 4) ---------------------------------------------------


def build_credential_links(
    container: Container,
    *,
    notifier: Notifier | None = None,
    provisioner: Provisioner | None = None,
) -> CredentialLinks:
    """Flow 4's use cases. Without a notifier one is built from the Slack settings; a
    failed delivery is logged and never affects the link (Notifier contract)."""
    settings = container.settings
    if notifier is None:
        from slack_sdk import WebClient

        from bot.slack.notifier import SlackNotifier

        client = WebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url or WebClient.BASE_URL,
        )
        notifier = SlackNotifier(client, settings.bot)
    return CredentialLinks(
        container.sessions,
        CredentialVault(settings.bot, settings.public_url),
        notifier,
        settings.bot,
        provisioner=provisioner,
        clock=container.clock,
    )
