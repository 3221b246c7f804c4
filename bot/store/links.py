"""The LinkStore port (bot/domain/storage.py): one-time credential links.

The database keeps ciphertext only; the key lives in the link's URL fragment and never
reaches this module. A link is handed out at most once, ever: a compare-and-set on
`revealed_at` decides who gets it, and the ciphertext is deleted in the same UPDATE.
Nothing here logs or audits a link's ciphertext, key or key check.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.domain.credentials import (
    LinkState,
    LinkStatus,
    Reveal,
    RevealStatus,
    SealedBox,
    SealedLink,
)
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.store.db import SqlStore
from bot.store.models import CredentialLink
from bot.store.rows import audit, load, view_of

# Emptied columns of a link that was revealed, expired or replaced.
_EMPTIED = {"ciphertext": None, "nonce": None, "key_check": None}


class SqlLinkStore(SqlStore):
    def link_state(self, link_id: str, now: datetime) -> LinkState:
        with self.sessions() as session:
            return _state_of(_row(session, link_id), now)

    def take_link(self, link_id: str, now: datetime, *, proof: bytes, client: str) -> Reveal:
        """Of any number of concurrent callers exactly one changes the row; the others
        see a row count of 0 (PostgreSQL re-checks the WHERE clause after the winner
        commits; SQLite serialises writers) and are told the link is gone."""
        with self.sessions.begin() as session:
            row = _row(session, link_id)
            state = _state_of(row, now)
            if row is None:
                return Reveal(RevealStatus.UNKNOWN, state)
            if state.status is not LinkStatus.AVAILABLE:
                return Reveal(RevealStatus.GONE, state)
            # No proof, no reveal: an empty one never matches (a row always has its check).
            if not proof or not hmac.compare_digest(proof, row.key_check or b""):
                return Reveal(RevealStatus.WRONG_KEY, state)
            box = SealedBox(row.ciphertext, row.nonce)  # type: ignore[arg-type]
            claimed = session.execute(
                update(CredentialLink)
                .where(CredentialLink.id == link_id, *_available(now))
                .values(revealed_at=now, **_EMPTIED)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                # Lost the race: someone revealed it between our read and our update.
                return Reveal(RevealStatus.GONE, _state_of(_row(session, link_id), now))
            audit(
                session,
                row.request_id,
                actor="link",
                kind="credentials_revealed",
                now=now,
                client=client,
            )
            revealed = LinkState(LinkStatus.REVEALED, row.expires_at, now)
            return Reveal(RevealStatus.REVEALED, revealed, box, row.request_id)

    def purge_expired_links(self, now: datetime) -> tuple[int, list[RequestView]]:
        """Two replicas purging at once each get disjoint links (the WHERE re-checks
        `purged_at IS NULL`), so each request's expiry is audited once."""
        with self.sessions.begin() as session:
            request_ids = [
                request_id
                for (request_id,) in session.execute(
                    update(CredentialLink)
                    .where(
                        CredentialLink.purged_at.is_(None),
                        CredentialLink.revealed_at.is_(None),
                        CredentialLink.expires_at <= now,
                    )
                    .values(purged_at=now, **_EMPTIED)
                    .returning(CredentialLink.request_id)
                    .execution_options(synchronize_session=False)
                )
            ]
            to_offer: list[RequestView] = []
            for request_id in sorted(set(request_ids)):
                audit(session, request_id, actor="scheduler", kind="credentials_expired", now=now)
                row = load(session, request_id)
                if (
                    row is not None
                    and row.status == Status.PROVISIONED.value
                    and _live_link_count(session, request_id, now) == 0
                ):
                    to_offer.append(view_of(session, row))
            return len(request_ids), to_offer

    def any_revealed(self, request_id: int) -> bool:
        with self.sessions() as session:
            found = session.scalar(
                select(CredentialLink.id)
                .where(
                    CredentialLink.request_id == request_id,
                    CredentialLink.revealed_at.is_not(None),
                )
                .limit(1)
            )
            return found is not None


# --- used by the provisioning store, inside its transactions -------------------------


def store_link(session: Session, request_id: int, link: SealedLink, now: datetime) -> None:
    """Keep a sealed link (ciphertext and key check, never the key) and audit it."""
    session.add(
        CredentialLink(
            id=link.link_id,
            request_id=request_id,
            ciphertext=link.box.ciphertext,
            nonce=link.box.nonce,
            key_check=link.key_check,
            created_at=now,
            expires_at=link.expires_at,
        )
    )
    session.flush()
    audit(
        session,
        request_id,
        actor="bot",
        kind="credentials_sealed",
        now=now,
        expires_at=link.expires_at.isoformat(),
    )


def void_unopened_links(session: Session, request_id: int, now: datetime) -> int:
    """Void every unopened link of a request (a re-issue replaces them); how many."""
    result = session.execute(
        update(CredentialLink)
        .where(
            CredentialLink.request_id == request_id,
            CredentialLink.revealed_at.is_(None),
            CredentialLink.purged_at.is_(None),
        )
        .values(purged_at=now, **_EMPTIED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# --- helpers -------------------------------------------------------------------------


def _available(now: datetime) -> tuple:
    return (
        CredentialLink.revealed_at.is_(None),
        CredentialLink.purged_at.is_(None),
        CredentialLink.ciphertext.is_not(None),
        CredentialLink.expires_at > now,
    )


def _row(session: Session, link_id: str) -> CredentialLink | None:
    return session.get(CredentialLink, link_id, populate_existing=True)


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


def _live_link_count(session: Session, request_id: int, now: datetime) -> int:
    return session.scalar(
        select(func.count())
        .select_from(CredentialLink)
        .where(
            CredentialLink.request_id == request_id,
            CredentialLink.revealed_at.is_(None),
            CredentialLink.purged_at.is_(None),
            CredentialLink.expires_at > now,
        )
    )
