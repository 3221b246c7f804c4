"""The credential vault on SQLite and PostgreSQL: sealing, once-only reveal under
concurrency, expiry, purge and re-issue."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bot import crypto
from bot.domain.credentials import Credentials
from bot.domain.errors import ProvisioningError, RequestNotFound
from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.services.vault import (
    CredentialLinks,
    CredentialVault,
    LinkStatus,
    ReissueRefused,
    RevealStatus,
)
from bot.store.models import CredentialLink
from bot.store.repository import Repository
from tests.support.vault import (
    OWNER,
    REQUESTER,
    RecordingNotifier,
    bot_config,
    provisioned_request,
    sample_credentials,
)

CONFIG = bot_config()


class RotatingProvisioner:
    """The Provisioner port's rotate step as AWS would answer it: fresh secrets each
    call, or a scripted AWS error."""

    def __init__(self) -> None:
        self.rotated: list[int] = []
        self.fail_with: ProvisioningError | None = None

    def rotate_credentials(self, request: RequestView) -> Credentials:
        if self.fail_with is not None:
            raise self.fail_with
        self.rotated.append(request.id)
        return sample_credentials(request.iam_user_name, n=len(self.rotated))

    def provision(self, request: RequestView) -> Credentials:  # pragma: no cover - unused
        raise NotImplementedError

    def roll_back(self, request: RequestView) -> None:  # pragma: no cover - unused
        raise NotImplementedError


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def provisioner() -> RotatingProvisioner:
    return RotatingProvisioner()


@pytest.fixture
def links(sessions, notifier, provisioner, clock) -> CredentialLinks:
    vault = CredentialVault(CONFIG, "https://bot.example.com/")
    return CredentialLinks(sessions, vault, notifier, CONFIG, provisioner=provisioner, clock=clock)


def seal(links: CredentialLinks, request_id: int, now, credentials=None):
    with links.sessions.begin() as session:
        return links.vault.seal(session, request_id, credentials or sample_credentials(), now)


def key_of(link) -> bytes:
    return crypto.from_b64url(urlsplit(link.url).fragment)


def decrypt(reveal, link) -> Credentials:
    plain = crypto.open_box(reveal.box, key_of(link), link.link_id.encode())
    return crypto.credentials_from_payload(plain)


def kinds_of(sessions, request_id: int) -> list[str]:
    with sessions() as session:
        return [e.kind for e in Repository(session).events(request_id)]


def row(sessions, link_id: str) -> CredentialLink:
    with sessions() as session:
        return session.get(CredentialLink, link_id)


def test_seal_stores_ciphertext_only_and_the_key_rides_in_the_fragment(
    sessions, links, clock
) -> None:
    request_id = provisioned_request(sessions, clock.now())
    credentials = sample_credentials()
    link = seal(links, request_id, clock.now(), credentials)

    parts = urlsplit(link.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"https://bot.example.com/credentials/{link.link_id}"
    )
    key = key_of(link)
    assert len(key) == 32
    assert link.expires_at == clock.now() + CONFIG.links.ttl
    stored = row(sessions, link.link_id)
    assert stored.request_id == request_id and stored.revealed_at is None
    assert key not in stored.ciphertext and stored.key_check == crypto.key_check(key)
    assert credentials.password.encode() not in stored.ciphertext
    with sessions() as session:
        [event] = Repository(session).events(request_id)
    assert event.kind == "credentials_sealed" and link.link_id not in str(event.detail)


def test_reveal_hands_out_once_then_gone(sessions, links, notifier, clock) -> None:
    request_id = provisioned_request(sessions, clock.now())
    link = seal(links, request_id, clock.now())
    proof = crypto.key_check(key_of(link))
    assert links.state(link.link_id, clock.now()).status is LinkStatus.AVAILABLE

    first = links.reveal(link.link_id, clock.advance(minutes=5), proof=proof, client="10.0.0.1")
    assert first.status is RevealStatus.REVEALED
    assert decrypt(first, link) == sample_credentials()
    stored = row(sessions, link.link_id)
    assert stored.ciphertext is None and stored.nonce is None and stored.key_check is None
    assert stored.revealed_at == clock.now()

    second = links.reveal(link.link_id, clock.now(), proof=proof)
    assert second.status is RevealStatus.GONE and second.box is None
    assert second.state.status is LinkStatus.REVEALED
    [(view, at)] = notifier.named("credentials_opened")
    assert view.id == request_id and view.approval_ts and at == clock.now()
    kinds = kinds_of(sessions, request_id)
    assert kinds == ["credentials_sealed", "credentials_revealed"]


def test_wrong_key_does_not_burn_the_link(sessions, links, clock) -> None:
    link = seal(links, provisioned_request(sessions, clock.now()), clock.now())
    wrong = links.reveal(link.link_id, clock.now(), proof=crypto.key_check(crypto.new_key()))
    assert wrong.status is RevealStatus.WRONG_KEY and wrong.box is None
    right = links.reveal(link.link_id, clock.now(), proof=crypto.key_check(key_of(link)))
    assert right.status is RevealStatus.REVEALED


def test_unknown_link(links, clock) -> None:
    assert links.state("x" * 32, clock.now()).status is LinkStatus.UNKNOWN
    assert links.reveal("x" * 32, clock.now()).status is RevealStatus.UNKNOWN


def test_expired_link_is_gone_even_before_the_purge(sessions, links, clock) -> None:
    link = seal(links, provisioned_request(sessions, clock.now()), clock.now())
    at_expiry = clock.advance(seconds=CONFIG.links.ttl.total_seconds())
    result = links.reveal(link.link_id, at_expiry, proof=crypto.key_check(key_of(link)))
    assert result.status is RevealStatus.GONE
    assert result.state.status is LinkStatus.EXPIRED
    assert row(sessions, link.link_id).ciphertext is not None  # left for the purge


def test_twenty_concurrent_reveals_hand_out_the_ciphertext_exactly_once(
    sessions, links, notifier, clock
) -> None:
    link = seal(links, provisioned_request(sessions, clock.now()), clock.now())
    proof = crypto.key_check(key_of(link))
    start = threading.Barrier(20)
    results = []
    errors = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            start.wait()
            outcome = links.reveal(link.link_id, clock.now(), proof=proof)
            with lock:
                results.append(outcome)
        except Exception as exc:  # collected: a crash is a failure too
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 20
    winners = [r for r in results if r.status is RevealStatus.REVEALED]
    assert len(winners) == 1
    assert decrypt(winners[0], link) == sample_credentials()
    assert all(r.status is RevealStatus.GONE and r.box is None for r in results if r not in winners)
    assert len(notifier.named("credentials_opened")) == 1


def test_purge_deletes_expired_ciphertext_and_offers_reissue_once(
    sessions, links, notifier, clock
) -> None:
    now = clock.now()
    expired_request = provisioned_request(sessions, now, "bob")
    expired = seal(links, expired_request, now)
    revealed = seal(links, provisioned_request(sessions, now), now)
    links.reveal(revealed.link_id, now, proof=crypto.key_check(key_of(revealed)))
    fresh = seal(links, provisioned_request(sessions, now), clock.advance(hours=20))

    assert links.purge_expired(clock.now()) == 0
    later = clock.advance(hours=5)  # the first links are 25h old, the fresh one 5h
    assert links.purge_expired(later) == 1
    gone = row(sessions, expired.link_id)
    assert gone.ciphertext is None and gone.nonce is None and gone.purged_at == later
    assert row(sessions, fresh.link_id).ciphertext is not None
    assert row(sessions, revealed.link_id).purged_at is None
    [offered] = notifier.named("credentials_expired")
    assert offered.id == expired_request and offered.iam_user_name == "bob"
    # A second sweep (or another replica) finds nothing left to do.
    assert links.purge_expired(clock.advance(minutes=1)) == 0
    assert len(notifier.named("credentials_expired")) == 1
    assert links.state(expired.link_id, clock.now()).status is LinkStatus.EXPIRED


def test_reissue_rotates_voids_old_links_and_sends_a_new_one(
    sessions, links, notifier, provisioner, clock
) -> None:
    request_id = provisioned_request(sessions, clock.now())
    old = seal(links, request_id, clock.now())
    clock.advance(hours=30)
    assert links.purge_expired(clock.now()) == 1

    new = links.reissue(request_id, OWNER)
    assert provisioner.rotated == [request_id]
    assert new.link_id != old.link_id
    [(view, sent)] = notifier.named("credentials_ready")
    assert sent == new and view.requester_id == REQUESTER
    assert notifier.named("credentials_reissued")[0][1] == OWNER
    result = links.reveal(new.link_id, clock.now(), proof=crypto.key_check(key_of(new)))
    assert decrypt(result, new) == sample_credentials("alice", n=1)
    with sessions() as session:
        repo = Repository(session)
        request = repo.get(request_id)
        assert request.access_key_id == "AKIATESTKEY000000001"
        assert request.status == Status.PROVISIONED.value
        assert request.lease_expires_at is None
        [event] = [e for e in repo.events(request_id) if e.kind == "credentials_reissued"]
        assert event.actor == OWNER and event.detail["access_key_id"] == "AKIATESTKEY000000001"


def test_reissue_voids_a_still_valid_link(sessions, links, clock) -> None:
    request_id = provisioned_request(sessions, clock.now())
    lost = seal(links, request_id, clock.now())
    links.reissue(request_id, OWNER)
    result = links.reveal(lost.link_id, clock.now(), proof=crypto.key_check(key_of(lost)))
    assert result.status is RevealStatus.GONE and result.state.status is LinkStatus.EXPIRED
    assert row(sessions, lost.link_id).ciphertext is None


def test_only_owners_may_reissue(sessions, links, provisioner, clock) -> None:
    request_id = provisioned_request(sessions, clock.now())
    for actor in (REQUESTER, "U0STRANGER"):
        with pytest.raises(ReissueRefused, match="only the AWS account owners"):
            links.reissue(request_id, actor)
    assert provisioner.rotated == []


def test_reissue_needs_a_provisioned_request(sessions, links, provisioner, clock) -> None:
    with sessions.begin() as session:
        pending = (
            Repository(session)
            .add_request(
                requester_id=REQUESTER,
                profile="developer",
                iam_user_name="carol",
                console=True,
                programmatic=False,
                reason="",
                now=clock.now(),
            )
            .id
        )
    with pytest.raises(ReissueRefused, match="is pending"):
        links.reissue(pending, OWNER)
    with pytest.raises(RequestNotFound):
        links.reissue(999_999, OWNER)
    assert provisioner.rotated == []


def test_aws_failure_during_reissue_keeps_the_old_link_and_releases_the_claim(
    sessions, links, provisioner, clock
) -> None:
    request_id = provisioned_request(sessions, clock.now())
    old = seal(links, request_id, clock.now())
    provisioner.fail_with = ProvisioningError("Throttling", "Rate exceeded", permanent=False)
    with pytest.raises(ProvisioningError):
        links.reissue(request_id, OWNER)
    assert links.state(old.link_id, clock.now()).status is LinkStatus.AVAILABLE
    provisioner.fail_with = None
    links.reissue(request_id, OWNER)  # not blocked by a stale claim
    kinds = kinds_of(sessions, request_id)
    assert "credentials_reissue_failed" in kinds and kinds[-1] == "credentials_reissued"


def test_concurrent_reissue_clicks_rotate_once(sessions, links, provisioner, clock) -> None:
    request_id = provisioned_request(sessions, clock.now())
    entered = threading.Event()
    release = threading.Event()
    original = provisioner.rotate_credentials

    def slow_rotate(request: RequestView) -> Credentials:
        entered.set()
        release.wait(10)
        return original(request)

    provisioner.rotate_credentials = slow_rotate  # type: ignore[method-assign]
    first = threading.Thread(target=links.reissue, args=(request_id, OWNER))
    first.start()
    assert entered.wait(10)
    with pytest.raises(ReissueRefused, match="already running"):
        links.reissue(request_id, "U0OWNER2")
    release.set()
    first.join(10)
    assert provisioner.rotated == [request_id]
    with sessions() as session:
        live = session.scalars(
            select(CredentialLink).where(
                CredentialLink.request_id == request_id, CredentialLink.purged_at.is_(None)
            )
        ).all()
    assert len(live) == 1
