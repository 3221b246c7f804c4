"""Use cases: one per module, each over the store ports. No Bolt, boto3 or SQL here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.config import BotConfig
    from bot.domain.ports import Clock, Notifier
    from bot.services.deactivation import Deactivations
    from bot.services.decide import Decisions
    from bot.services.deliveries import Deliveries
    from bot.services.queries import RequestQueries
    from bot.services.reviews import AccessReviews
    from bot.services.revoke import RevokeService
    from bot.services.rotation import KeyRotations
    from bot.services.submit import SubmitRequest
    from bot.services.time_bound import TimeBoundAccess
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
    # flow 6: take access back (/revoke-aws-access, Revoke buttons, App Home, the CLI)
    revoke: RevokeService | None = None
    # flow 6: key rotation ("Rotate my key", key ages in App Home)
    rotation: KeyRotations | None = None
    # access reviews: Keep / Revoke on each grant under review
    reviews: AccessReviews | None = None
    # flow 6: time-bound access (Extend, Request extension) and Slack deactivation
    time_bound: TimeBoundAccess | None = None
    deactivations: Deactivations | None = None
