"""Use cases: one per module/function, one transaction each. No Bolt, no boto3 here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from bot.domain.ports import Clock, Notifier
    from bot.services.decide import Decisions
    from bot.services.provision import ProvisioningWorker
    from bot.services.queries import RequestQueries
    from bot.services.submit import SubmitRequest
    from bot.services.vault import CredentialLinks
    from bot.settings import BotConfig


@dataclass
class Services:
    """What the Slack app (and the other adapters) call. Built by container.build_services;
    each capability adds its own fields."""

    config: BotConfig
    clock: Clock
    sessions: sessionmaker[Session]
    notifier: Notifier
    # flows 1-2
    submit: SubmitRequest
    decisions: Decisions
    queries: RequestQueries
    # flow 3: Retry / Roll back buttons (None where a test wires only flows 1-2)
    provisioning_worker: ProvisioningWorker | None = None
    # flow 4: Re-issue button
    credential_links: CredentialLinks | None = None
