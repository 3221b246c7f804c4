"""Use cases: one per module, each over the store ports. No Bolt, boto3 or SQL here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.config import BotConfig
    from bot.domain.ports import Clock, Notifier
    from bot.services.decide import Decisions
    from bot.services.deliveries import Deliveries
    from bot.services.queries import RequestQueries
    from bot.services.submit import SubmitRequest
    from bot.services.vault import CredentialLinks
    from bot.services.worker import ProvisioningWorker


@dataclass
class Services:
    """What the Slack app (and the other adapters) call. Built by container.build_services;
    each capability adds its own fields."""

    config: BotConfig
    clock: Clock
    notifier: Notifier
    # flows 1-2
    submit: SubmitRequest
    decisions: Decisions
    queries: RequestQueries
    # flows 3 and 6: Retry / Roll back buttons (None where a test wires only flows 1-2)
    provisioning_worker: ProvisioningWorker | None = None
    # flow 4: Re-issue button
    credential_links: CredentialLinks | None = None
    # the outbox: what could not be delivered, for the owners' App Home
    deliveries: Deliveries | None = None
