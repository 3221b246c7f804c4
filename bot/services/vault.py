"""Flow 4: the one-time credentials link: its state, the single reveal, expiry, re-issue.

The store keeps ciphertext only (bot/crypto.py seals it under a key that exists only
in the link's URL fragment) and hands it out at most once with a compare-and-set.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot import crypto
from bot.domain.config import BotConfig
from bot.domain.credentials import IssuedLink, LinkState, LinkStatus, Reveal, RevealStatus
from bot.domain.errors import DomainError, ProvisioningError, RequestNotFound
from bot.domain.events import CredentialsExpired, CredentialsIssued, CredentialsOpened
from bot.domain.policy import Action, Refusal
from bot.domain.ports import Clock, Notifier, Provisioner
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.domain.storage import Lease, LinkStore, LockRefusal, ProvisioningStore, RequestStore
from bot.services.authority import lock_refusal_text, permission

__all__ = ["CredentialLinks", "LinkState", "LinkStatus", "ReissueRefused", "RevealStatus"]

log = logging.getLogger(__name__)

# How long one re-issue may hold the request before another may try again.
REISSUE_LEASE = timedelta(minutes=5)
# Who the audit log names for a re-issue the outbox made (a lost credentials DM).
BOT_ACTOR = "aws-access-bot"


class ReissueRefused(DomainError):
    """Re-issue is not allowed (not an owner, wrong state, already running)."""


class CredentialLinks:
    """Use cases of flow 4: show a link's state, reveal it, purge, re-issue."""

    def __init__(
        self,
        links: LinkStore,
        requests: RequestStore,
        provisioning: ProvisioningStore,
        notifier: Notifier,
        config: BotConfig,
        *,
        public_url: str,
        provisioner: Provisioner | None = None,
        clock: Clock,
    ) -> None:
        self.links = links
        self.requests = requests
        self.provisioning = provisioning
        self.notifier = notifier
        self.config = config
        self.public_url = public_url
        self.provisioner = provisioner
        self.clock = clock

    def state(self, link_id: str, now: datetime) -> LinkState:
        return self.links.link_state(link_id, now)

    def reveal(self, link_id: str, now: datetime, *, proof: bytes, client: str = "") -> Reveal:
        """Hand out the ciphertext once, to a caller whose `proof` (the key check) matches;
        then tell the requester and the owners. A missing or wrong proof is WRONG_KEY and
        leaves the link usable."""
        result = self.links.take_link(link_id, now, proof=proof, client=client)
        if result.status is not RevealStatus.REVEALED or result.request_id is None:
            return result
        log.info("credentials link of request #%s revealed", result.request_id)
        if (view := self.requests.get(result.request_id)) is not None:
            self.notifier.notify(CredentialsOpened(view, now))
        return result

    def purge_expired(self, now: datetime) -> int:
        """Delete expired ciphertext; offer owners a re-issue for each request that is
        left without a usable link. Returns how many links were purged."""
        purged, to_offer = self.links.purge_expired_links(now)
        if purged:
            log.info("purged %d expired credentials link(s)", purged)
        for view in to_offer:
            self.notifier.notify(CredentialsExpired(view))
        return purged

    def reissue(self, request_id: int, actor: str) -> IssuedLink:
        """An owner asks for new credentials: rotate them in AWS, void the old links,
        seal and DM a new one. Raises ReissueRefused, RequestNotFound, ProvisioningError."""
        if self.provisioner is None:  # pragma: no cover - wiring error
            raise RuntimeError("CredentialLinks was built without a provisioner")
        request = self.requests.get(request_id)
        if request is None:
            raise RequestNotFound(request_id)
        allowed = permission(self.config, Action.REISSUE, actor, request)
        if not allowed.allowed:
            if allowed.refusal is Refusal.STATE:
                raise ReissueRefused(_not_provisioned(request_id, request.status))
            raise ReissueRefused(allowed.reason)
        now = self.clock.now()
        locked = self.provisioning.lock_for_reissue(request_id, now=now, until=now + REISSUE_LEASE)
        if isinstance(locked, LockRefusal):
            if locked.request is not None and locked.held_by is None:
                raise ReissueRefused(_not_provisioned(request_id, locked.request.status))
            raise ReissueRefused(lock_refusal_text(request_id, locked, "provisioned"))
        link = self._rotate_and_seal(locked, actor)
        if link is None:
            # Revoked while AWS rotated: the new key belongs to a user being removed.
            raise ReissueRefused(f"request #{request_id} is no longer provisioned")
        view, issued = link
        log.info("credentials of request #%s re-issued by %s", request_id, actor)
        dm = self.notifier.notify(CredentialsIssued(view, issued, reissued_by=actor))
        if dm is not None:  # "opened" notices reply under the newest link's DM
            self.requests.set_requester_dm(request_id, dm)
        return issued

    def redeliver(self, request_id: int, notifier: Notifier) -> bool:
        """The outbox's retry of a lost credentials DM
        (docs/architecture.md, "Deliveries (outbox)"). The link's key existed only in
        the lost URL and is never stored, so the bot re-issues: rotate the credentials
        (the old key is deleted), void the old link, seal a new one and DM it through
        `notifier`, the Slack notifier itself, whose DeliveryFailed the outbox retries.
        Only while the request is provisioned, no link of it was revealed and no DM of
        its current link was accepted; False (nothing done) otherwise. Raises
        ReissueRefused while another re-issue runs."""
        if self.provisioner is None:  # pragma: no cover - wiring error
            raise RuntimeError("CredentialLinks was built without a provisioner")
        request = self.requests.get(request_id)
        if request is None or request.status is not Status.PROVISIONED:
            return False
        if request.requester_dm_ts or self.links.any_revealed(request_id):
            return False
        now = self.clock.now()
        locked = self.provisioning.lock_for_reissue(request_id, now=now, until=now + REISSUE_LEASE)
        if isinstance(locked, LockRefusal):
            if locked.held_by is None:  # no longer provisioned
                return False
            raise ReissueRefused(lock_refusal_text(request_id, locked, "provisioned"))
        sealed = self._rotate_and_seal(locked, BOT_ACTOR)
        if sealed is None:
            return False
        view, link = sealed
        log.info("credentials of request #%s re-issued to deliver a lost link", request_id)
        dm = notifier.notify(CredentialsIssued(view, link))
        if dm is not None:
            self.requests.set_requester_dm(request_id, dm)
        return True

    def _rotate_and_seal(self, locked: Lease, actor: str) -> tuple[RequestView, IssuedLink] | None:
        """Under the re-issue lock: new credentials in AWS (old key deleted), the old
        links voided and the new one stored. None when the request stopped being
        provisioned meanwhile. Raises ProvisioningError (the lock released)."""
        if self.provisioner is None:  # pragma: no cover - wiring error
            raise RuntimeError("CredentialLinks was built without a provisioner")
        request_id = locked.request.id
        try:
            credentials = self.provisioner.rotate_credentials(locked.request)
        except Exception as exc:
            # Release the lock so an owner can retry at once; AWS's error code (never a
            # secret) goes to the audit log.
            error = exc.code or exc.message if isinstance(exc, ProvisioningError) else None
            self.provisioning.reissue_failed(
                locked, actor=actor, error=error or type(exc).__name__, now=self.clock.now()
            )
            raise
        now = self.clock.now()
        sealed, link = crypto.seal_link(
            credentials, public_url=self.public_url, expires_at=now + self.config.links.ttl
        )
        view = self.provisioning.finish_reissue(
            locked, sealed, access_key_id=credentials.access_key_id, actor=actor, now=now
        )
        if view is None:
            log.warning("request #%s stopped being provisioned during a re-issue", request_id)
            return None
        return view, link


def _not_provisioned(request_id: int, status: Status) -> str:
    return (
        f"request #{request_id} is {status.value}: only provisioned requests can get new "
        "credentials"
    )
