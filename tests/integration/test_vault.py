"""The credential links on SQLite and PostgreSQL: sealing, once-only reveal under
concurrency, expiry, purge and re-issue (and the re-issue's own lock)."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest

from bot import crypto
from bot.domain.credentials import Credentials, LinkStatus, RevealStatus
from bot.domain.errors import ProvisioningError, RequestNotFound
from bot.domain.events import CredentialsExpired, CredentialsIssued, CredentialsOpened
from bot.domain.requests import RequestView
from bot.services.vault import CredentialLinks, ReissueRefused
from bot.store import Stores
from tests.support.concurrency import race
from tests.support.configs import bot_config
from tests.support.fakes import ScriptedProvisioner
from tests.support.notifier import RecordingNotifier
from tests.support.requests import (
    APPROVED,
    approved,
    audit_kinds,
    link_row,
    links_of,
    provisioning_service,
    row,
    submit,
)
from tests.support.vault import (
    APPROVAL_MESSAGE,
    OWNER,
    REQUESTER,
    REQUESTER_DM,
    credential_links,
    decrypt,
    issue,
    key_of,
    proof_of,
    sample_credentials,
)

CONFIG = bot_config()
PUBLIC_URL = "https://bot.example.com/"  # a trailing slash is not doubled
OWNER2 = "U0OWNER2"


class RotatingProvisioner:
    """The Provisioner port's rotate step as AWS would answer it: fresh secrets each
    call, or a scripted AWS error.

    `release` gates every rotation (set by default) so a test can hold a re-issue
    inside "AWS"; `entered` is set when a rotation arrives."""

    def __init__(self) -> None:
        self.rotated: list[int] = []
        self.fail_with: ProvisioningError | None = None
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def rotate_credentials(self, request: RequestView) -> Credentials:
        self.entered.set()
        self.release.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        self.rotated.append(request.id)
        return sample_credentials(request.iam_user_name, n=len(self.rotated))

    def provision(self, request: RequestView) -> Credentials:  # pragma: no cover - unused
        raise NotImplementedError

    def roll_back(self, request: RequestView) -> None:
        pass


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def provisioner() -> RotatingProvisioner:
    return RotatingProvisioner()


@pytest.fixture
def links(stores, notifier, provisioner, clock) -> CredentialLinks:
    return credential_links(
        stores, notifier, clock, config=CONFIG, public_url=PUBLIC_URL, provisioner=provisioner
    )


def issued(stores: Stores, clock, user_name: str = "alice"):  # noqa: ANN201
    return issue(stores, clock.now(), user_name=user_name, public_url=PUBLIC_URL)


def test_provisioning_seals_ciphertext_only_and_the_key_rides_in_the_fragment(
    sessions, stores, clock
) -> None:
    """The provisioning use case seals the credentials it got from AWS into the link."""
    credentials = sample_credentials()
    notifier = RecordingNotifier()
    service = provisioning_service(
        stores, ScriptedProvisioner(credentials), notifier, clock, CONFIG, public_url=PUBLIC_URL
    )
    request_id = approved(stores, CONFIG, now=clock.now(), requester_id=REQUESTER).id
    assert service.process(request_id) is not None
    [event] = notifier.of(CredentialsIssued)
    link = event.link

    parts = urlsplit(link.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"https://bot.example.com/credentials/{link.link_id}"
    )
    key = key_of(link)
    assert len(key) == 32
    assert link.expires_at == clock.now() + CONFIG.links.ttl
    stored = link_row(sessions, link.link_id)
    assert stored.request_id == request_id and stored.revealed_at is None
    assert stored.expires_at == link.expires_at
    assert key not in stored.ciphertext and stored.key_check == crypto.key_check(key)
    assert credentials.password.encode() not in stored.ciphertext
    assert credentials.secret_access_key.encode() not in stored.ciphertext
    [sealed] = [e for e in stores.requests.audit_of(request_id) if e.kind == "credentials_sealed"]
    assert link.link_id not in str(sealed.detail)
    for record in stores.requests.audit_of(request_id):
        assert crypto.b64url(key) not in str(record.detail)
        assert credentials.password not in str(record.detail)


def test_reveal_hands_out_once_then_gone(sessions, stores, links, notifier, clock) -> None:
    made = issued(stores, clock)
    link = made.link
    assert links.state(link.link_id, clock.now()).status is LinkStatus.AVAILABLE

    first = links.reveal(
        link.link_id, clock.advance(minutes=5), proof=proof_of(link), client="10.0.0.1"
    )
    assert first.status is RevealStatus.REVEALED and first.request_id == made.request.id
    assert decrypt(first, link) == sample_credentials()
    stored = link_row(sessions, link.link_id)
    assert stored.ciphertext is None and stored.nonce is None and stored.key_check is None
    assert stored.revealed_at == clock.now()

    second = links.reveal(link.link_id, clock.now(), proof=proof_of(link))
    assert second.status is RevealStatus.GONE and second.box is None
    assert second.state.status is LinkStatus.REVEALED
    assert links.state(link.link_id, clock.now()).status is LinkStatus.REVEALED
    [opened] = notifier.of(CredentialsOpened)
    assert notifier.kinds() == ["CredentialsOpened"]
    assert opened.request.id == made.request.id and opened.at == clock.now()
    # The notice replies under the approval message and the link's DM.
    assert (opened.request.approval_channel, opened.request.approval_ts) == (
        APPROVAL_MESSAGE.channel,
        APPROVAL_MESSAGE.ts,
    )
    assert (opened.request.requester_dm_channel, opened.request.requester_dm_ts) == (
        REQUESTER_DM.channel,
        REQUESTER_DM.ts,
    )
    assert audit_kinds(stores, made.request.id) == [
        *APPROVED,
        "provisioning_started",
        "credentials_sealed",
        "provisioned",
        "credentials_revealed",
    ]
    [revealed] = [
        e for e in stores.requests.audit_of(made.request.id) if e.kind == "credentials_revealed"
    ]
    assert revealed.detail == {"client": "10.0.0.1"}


def test_wrong_key_does_not_burn_the_link(stores, links, notifier, clock) -> None:
    link = issued(stores, clock).link
    wrong = links.reveal(link.link_id, clock.now(), proof=crypto.key_check(crypto.new_key()))
    assert wrong.status is RevealStatus.WRONG_KEY and wrong.box is None
    assert notifier.events == []
    right = links.reveal(link.link_id, clock.now(), proof=proof_of(link))
    assert right.status is RevealStatus.REVEALED


def test_unknown_link(links, notifier, clock) -> None:
    assert links.state("x" * 32, clock.now()).status is LinkStatus.UNKNOWN
    assert links.reveal("x" * 32, clock.now(), proof=b"k" * 32).status is RevealStatus.UNKNOWN
    assert notifier.events == []


def test_expired_link_is_gone_even_before_the_purge(sessions, stores, links, clock) -> None:
    link = issued(stores, clock).link
    at_expiry = clock.advance(seconds=CONFIG.links.ttl.total_seconds())
    result = links.reveal(link.link_id, at_expiry, proof=proof_of(link))
    assert result.status is RevealStatus.GONE
    assert result.state.status is LinkStatus.EXPIRED
    assert link_row(sessions, link.link_id).ciphertext is not None  # left for the purge


def test_twenty_concurrent_reveals_hand_out_the_ciphertext_exactly_once(
    stores, links, notifier, clock
) -> None:
    link = issued(stores, clock).link
    proof = proof_of(link)
    # A crash in any of them fails the race too.
    results = race(20, lambda _: links.reveal(link.link_id, clock.now(), proof=proof))
    assert len(results) == 20
    winners = [r for r in results if r.status is RevealStatus.REVEALED]
    assert len(winners) == 1
    assert decrypt(winners[0], link) == sample_credentials()
    assert all(r.status is RevealStatus.GONE and r.box is None for r in results if r not in winners)
    assert len(notifier.of(CredentialsOpened)) == 1


def test_purge_deletes_expired_ciphertext_and_offers_reissue_once(
    sessions, stores, links, notifier, clock
) -> None:
    expired = issued(stores, clock, "bob")
    revealed = issued(stores, clock, "carol").link
    links.reveal(revealed.link_id, clock.now(), proof=proof_of(revealed))
    clock.advance(hours=20)
    fresh = issued(stores, clock, "dave").link
    notifier.clear()

    assert links.purge_expired(clock.now()) == 0
    later = clock.advance(hours=5)  # the first links are 25h old, the fresh one 5h
    assert links.purge_expired(later) == 1
    gone = link_row(sessions, expired.link.link_id)
    assert gone.ciphertext is None and gone.nonce is None and gone.key_check is None
    assert gone.purged_at == later
    assert link_row(sessions, fresh.link_id).ciphertext is not None
    assert link_row(sessions, revealed.link_id).purged_at is None
    [offered] = notifier.of(CredentialsExpired)
    assert notifier.kinds() == ["CredentialsExpired"]
    assert offered.request.id == expired.request.id and offered.request.iam_user_name == "bob"
    assert audit_kinds(stores, expired.request.id)[-1] == "credentials_expired"
    # A second sweep (or another replica) finds nothing left to do.
    assert links.purge_expired(clock.advance(minutes=1)) == 0
    assert len(notifier.of(CredentialsExpired)) == 1
    assert links.state(expired.link.link_id, clock.now()).status is LinkStatus.EXPIRED


def test_reissue_rotates_voids_old_links_and_sends_a_new_one(
    sessions, stores, links, notifier, provisioner, clock
) -> None:
    made = issued(stores, clock)
    request_id = made.request.id
    clock.advance(hours=30)
    assert links.purge_expired(clock.now()) == 1
    notifier.clear()

    new = links.reissue(request_id, OWNER)
    assert provisioner.rotated == [request_id]
    assert new.link_id != made.link.link_id
    assert new.url.startswith(f"https://bot.example.com/credentials/{new.link_id}#")
    [sent] = notifier.of(CredentialsIssued)
    assert notifier.kinds() == ["CredentialsIssued"]
    assert sent.link == new and sent.reissued_by == OWNER
    assert sent.request.requester_id == REQUESTER
    # The new link's DM is where "opened" notices now reply (the notifier's answer).
    after = row(sessions, request_id)
    assert (after.requester_dm_channel, after.requester_dm_ts) == (
        "D0REQUESTER",
        f"2{request_id}.000200",
    )
    result = links.reveal(new.link_id, clock.now(), proof=proof_of(new))
    assert decrypt(result, new) == sample_credentials("alice", n=1)
    assert after.access_key_id == "AKIATESTKEY000000001"
    assert after.status == "provisioned"
    assert (after.lease_expires_at, after.reissue_lock_until, after.rollback_lock_until) == (
        None,
        None,
        None,
    )
    [event] = [e for e in stores.requests.audit_of(request_id) if e.kind == "credentials_reissued"]
    assert event.actor == OWNER and event.detail["access_key_id"] == "AKIATESTKEY000000001"
    assert [link.id for link in links_of(sessions, request_id)] == [
        made.link.link_id,
        new.link_id,
    ]


def test_reissue_voids_a_still_valid_link(sessions, stores, links, clock) -> None:
    made = issued(stores, clock)
    links.reissue(made.request.id, OWNER)
    lost = made.link
    result = links.reveal(lost.link_id, clock.now(), proof=proof_of(lost))
    assert result.status is RevealStatus.GONE and result.state.status is LinkStatus.EXPIRED
    assert link_row(sessions, lost.link_id).ciphertext is None
    [event] = [
        e for e in stores.requests.audit_of(made.request.id) if e.kind == "credentials_reissued"
    ]
    assert event.detail["voided_links"] == 1


def test_only_owners_may_reissue(stores, links, provisioner, notifier, clock) -> None:
    request_id = issued(stores, clock).request.id
    with pytest.raises(ReissueRefused, match="cannot re-issue the credentials of your own"):
        links.reissue(request_id, REQUESTER)
    with pytest.raises(ReissueRefused, match="only the AWS account owners"):
        links.reissue(request_id, "U0STRANGER")
    assert provisioner.rotated == []
    assert notifier.events == []


def test_reissue_needs_a_provisioned_request(stores, links, provisioner, clock) -> None:
    pending = submit(stores, CONFIG, now=clock.now(), requester_id=REQUESTER).id
    with pytest.raises(ReissueRefused, match=f"request #{pending} is pending"):
        links.reissue(pending, OWNER)
    with pytest.raises(RequestNotFound):
        links.reissue(999_999, OWNER)
    assert provisioner.rotated == []


def test_aws_failure_during_reissue_keeps_the_old_link_and_releases_the_lock(
    sessions, stores, links, provisioner, notifier, clock
) -> None:
    made = issued(stores, clock)
    request_id = made.request.id
    provisioner.fail_with = ProvisioningError("Throttling", "Rate exceeded", permanent=False)
    with pytest.raises(ProvisioningError):
        links.reissue(request_id, OWNER)
    assert links.state(made.link.link_id, clock.now()).status is LinkStatus.AVAILABLE
    assert row(sessions, request_id).reissue_lock_until is None
    assert notifier.events == []
    [failed] = [
        e for e in stores.requests.audit_of(request_id) if e.kind == "credentials_reissue_failed"
    ]
    assert (failed.actor, failed.detail) == (OWNER, {"error": "Throttling"})
    provisioner.fail_with = None
    links.reissue(request_id, OWNER)  # not blocked by a stale lock
    assert audit_kinds(stores, request_id)[-1] == "credentials_reissued"


def test_concurrent_reissue_clicks_rotate_once(sessions, stores, links, provisioner, clock) -> None:
    request_id = issued(stores, clock).request.id
    provisioner.release.clear()  # the first re-issue waits inside AWS
    first = threading.Thread(target=links.reissue, args=(request_id, OWNER))
    first.start()
    assert provisioner.entered.wait(10)
    with pytest.raises(ReissueRefused) as refused:
        links.reissue(request_id, OWNER2)
    assert str(refused.value) == f"a re-issue of request #{request_id} is already running"
    provisioner.release.set()
    first.join(10)
    assert provisioner.rotated == [request_id]
    live = [link for link in links_of(sessions, request_id) if link.purged_at is None]
    assert len(live) == 1


def test_reissue_holds_its_own_lock_and_a_roll_back_names_it(
    sessions, stores, links, provisioner, clock
) -> None:
    """While a re-issue runs, a Roll back is refused naming the re-issue (not "being
    rolled back"), and the provisioning lease column is left alone."""
    request_id = issued(stores, clock).request.id
    provisioner.release.clear()  # the re-issue waits inside AWS
    roll_backs = provisioning_service(
        stores, provisioner, RecordingNotifier(), clock, CONFIG, public_url=PUBLIC_URL
    )
    first = threading.Thread(target=links.reissue, args=(request_id, OWNER))
    first.start()
    assert provisioner.entered.wait(10)
    held = row(sessions, request_id)
    assert (held.status, held.lease_expires_at, held.rollback_lock_until) == (
        "provisioned",
        None,
        None,
    )
    assert held.reissue_lock_until is not None
    result = roll_backs.roll_back(request_id, OWNER2)
    provisioner.release.set()
    first.join(10)
    assert (result.ok, result.message) == (
        False,
        f"a re-issue of request #{request_id} is already running",
    )
    assert row(sessions, request_id).status == "provisioned"
    # Once the re-issue is done, the roll back goes through.
    assert roll_backs.roll_back(request_id, OWNER2).ok
    assert row(sessions, request_id).status == "revoked"


def test_reissue_of_a_request_revoked_meanwhile_stores_no_link(
    sessions, stores, links, provisioner, notifier, clock
) -> None:
    """If the request stops being provisioned while AWS rotates, nothing is sealed."""
    request_id = issued(stores, clock).request.id
    original = provisioner.rotate_credentials

    def rotate_then_lose_the_lock(request: RequestView) -> Credentials:
        credentials = original(request)
        # The re-issue's lock ran out mid-call and an owner rolled the request back.
        later = clock.advance(minutes=10)
        lock = stores.provisioning.lock_for_rollback(
            request_id, now=later, until=later + CONFIG.provisioning.lease
        )
        assert stores.provisioning.finish_rollback(lock, actor=OWNER2, now=later) is not None
        return credentials

    provisioner.rotate_credentials = rotate_then_lose_the_lock  # type: ignore[method-assign]
    with pytest.raises(ReissueRefused, match="no longer provisioned"):
        links.reissue(request_id, OWNER)
    assert row(sessions, request_id).status == "revoked"
    assert len(links_of(sessions, request_id)) == 1  # only the first issue's
    assert notifier.of(CredentialsIssued) == []
