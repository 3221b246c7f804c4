"""Flow 4: the credential vault and its use cases.

`CredentialVault` is the storage side (the `CredentialSink` port): it seals credentials
into a one-time link inside the caller's transaction and hands the ciphertext out once.
`CredentialLinks` holds the use cases around it (reveal, purge, re-issue), one
transaction each, telling people through the Notifier port.

The link's key exists only in the URL fragment; this module forgets it as soon as the
IssuedLink is built. Nothing here logs a link id, a URL, a key or a credential.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import crypto
from bot.domain.credentials import Credentials, IssuedLink
from bot.domain.errors import DomainError, ProvisioningError, RequestNotFound
from bot.domain.ports import Clock, Notifier, Provisioner
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.settings import BotConfig
from bot.store.models import AccessRequest, CredentialLink
from bot.store.repository import Repository
from bot.store.views import request_view

log = logging.getLogger(__name__)

# How long one re-issue may hold the request before another may try again.
REISSUE_LEASE = timedelta(minutes=5)


class LinkStatus(StrEnum):
    AVAILABLE = "available"
    REVEALED = "revealed"
    EXPIRED = "expired"  # past its TTL, purged, or replaced by a re-issue
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LinkState:
    status: LinkStatus
    expires_at: datetime | None = None
    revealed_at: datetime | None = None


class RevealStatus(StrEnum):
    REVEALED = "revealed"  # this caller got the ciphertext (the only one who ever will)
    GONE = "gone"  # revealed before, expired or replaced: see `state`
    UNKNOWN = "unknown"
    WRONG_KEY = "wrong_key"  # the key check did not match; the link is left as it was


@dataclass(frozen=True)
class Reveal:
    status: RevealStatus
    state: LinkState
    box: crypto.SealedBox | None = field(default=None, repr=False)
    request: RequestView | None = None


class ReissueRefused(DomainError):
    """Re-issue is not allowed (not an owner, wrong state, already running)."""


def _state_of(row: CredentialLink | None, now: datetime) -> LinkState:
    if row is None:
        return LinkState(LinkStatus.UNKNOWN)
    if row.revealed_at is not None:
        status = LinkStatus.REVEALED
    elif row.purged_at is not None or row.ciphertext is None or row.expires_at <= now:
        status = LinkStatus.EXPIRED
    else:
        status = LinkStatus.AVAILABLE
    return LinkState(status, row.expires_at, row.revealed_at)


class CredentialVault:
    """Implements `CredentialSink`; every method runs inside the caller's session."""

    def __init__(self, config: BotConfig, public_url: str) -> None:
        self.ttl = config.links.ttl
        self.public_url = public_url.rstrip("/")

    def seal(
        self, session: Session, request_id: int, credentials: Credentials, now: datetime
    ) -> IssuedLink:
        link_id = crypto.new_link_id()
        key = crypto.new_key()
        box = crypto.seal(crypto.credentials_payload(credentials), key, aad=link_id.encode("ascii"))
        expires_at = now + self.ttl
        session.add(
            CredentialLink(
                id=link_id,
                request_id=request_id,
                ciphertext=box.ciphertext,
                nonce=box.nonce,
                key_check=crypto.key_check(key),
                created_at=now,
                expires_at=expires_at,
            )
        )
        session.flush()
        Repository(session).record(
            request_id,
            actor="bot",
            kind="credentials_sealed",
            now=now,
            expires_at=expires_at.isoformat(),
        )
        url = f"{self.public_url}/credentials/{link_id}#{crypto.b64url(key)}"
        return IssuedLink(link_id=link_id, url=url, expires_at=expires_at)

    def state(self, session: Session, link_id: str, now: datetime) -> LinkState:
        return _state_of(self._row(session, link_id), now)

    def take(
        self, session: Session, link_id: str, now: datetime, *, proof: bytes | None = None
    ) -> Reveal:
        """Hand the ciphertext out at most once, ever (compare-and-set, then deleted).

        The conditional UPDATE is the arbiter: of any number of concurrent callers
        exactly one changes the row; the others see rowcount 0 (PostgreSQL re-checks
        the WHERE clause after the winner commits; SQLite serialises writers).
        """
        row = self._row(session, link_id)
        state = _state_of(row, now)
        if row is None:
            return Reveal(RevealStatus.UNKNOWN, state)
        if state.status is not LinkStatus.AVAILABLE:
            return Reveal(RevealStatus.GONE, state)
        if proof is not None and not hmac.compare_digest(proof, row.key_check or b""):
            return Reveal(RevealStatus.WRONG_KEY, state)
        box = crypto.SealedBox(row.ciphertext, row.nonce)  # type: ignore[arg-type]
        claimed = session.execute(
            update(CredentialLink)
            .where(
                CredentialLink.id == link_id,
                CredentialLink.revealed_at.is_(None),
                CredentialLink.purged_at.is_(None),
                CredentialLink.ciphertext.is_not(None),
                CredentialLink.expires_at > now,
            )
            .values(revealed_at=now, ciphertext=None, nonce=None, key_check=None)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            # Lost the race: someone else revealed it between our read and our update.
            return Reveal(RevealStatus.GONE, self.state(session, link_id, now))
        return Reveal(
            RevealStatus.REVEALED, LinkState(LinkStatus.REVEALED, row.expires_at, now), box
        )

    def invalidate(self, session: Session, request_id: int, now: datetime) -> int:
        """Void every unopened link of a request (a re-issue replaces them)."""
        result = session.execute(
            update(CredentialLink)
            .where(
                CredentialLink.request_id == request_id,
                CredentialLink.revealed_at.is_(None),
                CredentialLink.purged_at.is_(None),
            )
            .values(purged_at=now, ciphertext=None, nonce=None, key_check=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    def purge(self, session: Session, now: datetime) -> list[int]:
        """Delete the ciphertext of every unopened link past its TTL; claim each once.

        Returns the request id of each purged link. Two replicas running this at the
        same time each get disjoint rows (the WHERE re-checks `purged_at IS NULL`).
        """
        rows = session.execute(
            update(CredentialLink)
            .where(
                CredentialLink.purged_at.is_(None),
                CredentialLink.revealed_at.is_(None),
                CredentialLink.expires_at <= now,
            )
            .values(purged_at=now, ciphertext=None, nonce=None, key_check=None)
            .returning(CredentialLink.request_id)
            .execution_options(synchronize_session=False)
        ).all()
        return [request_id for (request_id,) in rows]

    def live_link_count(self, session: Session, request_id: int, now: datetime) -> int:
        rows = session.scalars(
            select(CredentialLink.id).where(
                CredentialLink.request_id == request_id,
                CredentialLink.revealed_at.is_(None),
                CredentialLink.purged_at.is_(None),
                CredentialLink.expires_at > now,
            )
        ).all()
        return len(rows)

    @staticmethod
    def _row(session: Session, link_id: str) -> CredentialLink | None:
        return session.scalars(
            select(CredentialLink)
            .where(CredentialLink.id == link_id)
            .execution_options(populate_existing=True)
        ).first()


class CredentialLinks:
    """Use cases of flow 4: show a link's state, reveal it, purge, re-issue."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: CredentialVault,
        notifier: Notifier,
        config: BotConfig,
        *,
        provisioner: Provisioner | None = None,
        clock: Clock,
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.notifier = notifier
        self.config = config
        self.provisioner = provisioner
        self.clock = clock

    def state(self, link_id: str, now: datetime) -> LinkState:
        with self.sessions() as session:
            return self.vault.state(session, link_id, now)

    def reveal(
        self, link_id: str, now: datetime, *, proof: bytes | None = None, client: str = ""
    ) -> Reveal:
        """Hand out the ciphertext once; then tell the requester and the owners."""
        with self.sessions.begin() as session:
            result = self.vault.take(session, link_id, now, proof=proof)
            if result.status is not RevealStatus.REVEALED:
                return result
            repo = Repository(session)
            request_id = session.scalar(
                select(CredentialLink.request_id).where(CredentialLink.id == link_id)
            )
            repo.record(
                request_id, actor="link", kind="credentials_revealed", now=now, client=client
            )
            row = repo.get(request_id)  # type: ignore[arg-type]
            view = request_view(repo, row, self.config) if row else None
        log.info("credentials link of request #%s revealed", request_id)
        if view is not None:
            self.notifier.credentials_opened(view, now)
        return Reveal(result.status, result.state, result.box, view)

    def purge_expired(self, now: datetime) -> int:
        """Delete expired ciphertext; offer owners a re-issue for each request that is
        left without a usable link. Returns how many links were purged."""
        with self.sessions.begin() as session:
            repo = Repository(session)
            request_ids = self.vault.purge(session, now)
            to_offer: list[RequestView] = []
            for request_id in sorted(set(request_ids)):
                repo.record(request_id, actor="scheduler", kind="credentials_expired", now=now)
                row = repo.get(request_id)
                if (
                    row is not None
                    and row.status == Status.PROVISIONED.value
                    and self.vault.live_link_count(session, request_id, now) == 0
                ):
                    to_offer.append(request_view(repo, row, self.config))
        if request_ids:
            log.info("purged %d expired credentials link(s)", len(request_ids))
        for view in to_offer:
            self.notifier.credentials_expired(view)
        return len(request_ids)

    def reissue(self, request_id: int, actor: str) -> IssuedLink:
        """An owner asks for new credentials: rotate them in AWS, void the old links,
        seal and DM a new one. Raises ReissueRefused, RequestNotFound, ProvisioningError."""
        if actor not in self.config.slack.owners:
            raise ReissueRefused("only the AWS account owners can re-issue credentials")
        if self.provisioner is None:  # pragma: no cover - wiring error
            raise RuntimeError("CredentialLinks was built without a provisioner")
        now = self.clock.now()
        view = self._claim_for_reissue(request_id, now)
        try:
            credentials = self.provisioner.rotate_credentials(view)
        except Exception as exc:
            # Release the claim so an owner can retry at once; AWS's error code (never
            # a secret) goes to the audit log.
            error = exc.code or exc.message if isinstance(exc, ProvisioningError) else None
            with self.sessions.begin() as session:
                repo = Repository(session)
                repo.set_fields(request_id, lease_expires_at=None)
                repo.record(
                    request_id,
                    actor=actor,
                    kind="credentials_reissue_failed",
                    now=self.clock.now(),
                    error=error or type(exc).__name__,
                )
            raise
        now = self.clock.now()
        with self.sessions.begin() as session:
            repo = Repository(session)
            if not repo.guard(request_id, Status.PROVISIONED, now=now):
                # Revoked while AWS rotated: the new key belongs to a user being removed.
                repo.set_fields(request_id, lease_expires_at=None)
                raise ReissueRefused(f"request #{request_id} is no longer provisioned")
            voided = self.vault.invalidate(session, request_id, now)
            link = self.vault.seal(session, request_id, credentials, now)
            repo.set_fields(
                request_id, access_key_id=credentials.access_key_id, lease_expires_at=None
            )
            repo.record(
                request_id,
                actor=actor,
                kind="credentials_reissued",
                now=now,
                access_key_id=credentials.access_key_id,
                voided_links=voided,
            )
            view = request_view(repo, repo.get(request_id), self.config)  # type: ignore[arg-type]
        log.info("credentials of request #%s re-issued by %s", request_id, actor)
        dm = self.notifier.credentials_ready(view, link)
        if dm is not None:  # "opened" notices reply under the newest link's DM
            with self.sessions.begin() as session:
                Repository(session).set_fields(
                    request_id, requester_dm_channel=dm.channel, requester_dm_ts=dm.ts
                )
        self.notifier.credentials_reissued(view, actor)
        return link

    def _claim_for_reissue(self, request_id: int, now: datetime) -> RequestView:
        with self.sessions.begin() as session:
            repo = Repository(session)
            row = repo.get(request_id)
            if row is None:
                raise RequestNotFound(request_id)
            if row.status != Status.PROVISIONED.value:
                raise ReissueRefused(
                    f"request #{request_id} is {row.status}: only provisioned requests "
                    "can get new credentials"
                )
            # One re-issue at a time per request: two owners clicking at once must not
            # rotate twice. The lease column is free while a request is provisioned.
            claimed = session.execute(
                update(AccessRequest)
                .where(
                    AccessRequest.id == request_id,
                    AccessRequest.status == Status.PROVISIONED.value,
                    (AccessRequest.lease_expires_at.is_(None))
                    | (AccessRequest.lease_expires_at <= now),
                )
                .values(lease_expires_at=now + REISSUE_LEASE)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                raise ReissueRefused(f"a re-issue of request #{request_id} is already running")
            return request_view(repo, repo.get(request_id), self.config)  # type: ignore[arg-type]
