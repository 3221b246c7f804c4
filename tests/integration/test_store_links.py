"""The LinkStore (bot/store/links.py): a link's ciphertext is handed out once, ever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.domain.credentials import LinkStatus, RevealStatus
from bot.domain.states import Status
from bot.store.models import CredentialLink
from tests.support.concurrency import race
from tests.support.stores import NOW, provisioned, sealed

EXPIRES = sealed().expires_at
PROOF = b"k" * 32  # the key check tests/support/stores.sealed() stores


def stored(sessions, link_id: str = "link-1") -> CredentialLink:  # noqa: ANN001
    with sessions() as session:
        return session.scalars(select(CredentialLink).where(CredentialLink.id == link_id)).one()


def test_a_link_is_revealed_once(stores, sessions) -> None:
    request = provisioned(stores)
    assert stores.links.link_state("link-1", NOW).status is LinkStatus.AVAILABLE
    reveal = stores.links.take_link("link-1", NOW, proof=PROOF, client="Firefox")
    assert reveal.status is RevealStatus.REVEALED
    assert reveal.box == sealed().box and reveal.request_id == request.id
    assert (reveal.state.status, reveal.state.revealed_at) == (LinkStatus.REVEALED, NOW)
    row = stored(sessions)
    assert (row.ciphertext, row.nonce, row.key_check, row.revealed_at) == (None, None, None, NOW)
    event = stores.requests.audit_of(request.id)[-1]
    assert (event.actor, event.kind, event.detail) == (
        "link",
        "credentials_revealed",
        {"client": "Firefox"},
    )
    again = stores.links.take_link("link-1", NOW, proof=PROOF, client="")
    assert (again.status, again.box, again.state.status) == (
        RevealStatus.GONE,
        None,
        LinkStatus.REVEALED,
    )


def test_ten_concurrent_takes_reveal_once(stores) -> None:
    request = provisioned(stores)
    results = race(10, lambda _: stores.links.take_link("link-1", NOW, proof=PROOF, client=""))
    assert sorted(r.status.value for r in results) == ["gone"] * 9 + ["revealed"]
    assert all(r.box is None for r in results if r.status is RevealStatus.GONE)
    kinds = [e.kind for e in stores.requests.audit_of(request.id)]
    assert kinds.count("credentials_revealed") == 1


def test_a_wrong_or_missing_key_leaves_the_link_as_it_was(stores, sessions) -> None:
    provisioned(stores)
    for proof in (b"x" * 32, b""):  # no proof is no reveal (docs/architecture.md, flow 4)
        wrong = stores.links.take_link("link-1", NOW, proof=proof, client="")
        assert (wrong.status, wrong.box) == (RevealStatus.WRONG_KEY, None)
    assert stored(sessions).ciphertext == sealed().box.ciphertext
    assert stores.links.take_link("link-1", NOW, proof=PROOF, client="").box == sealed().box


def test_unknown_and_expired_links(stores) -> None:
    provisioned(stores)
    assert stores.links.link_state("nope", NOW).status is LinkStatus.UNKNOWN
    assert stores.links.take_link("nope", NOW, proof=PROOF, client="").status is (
        RevealStatus.UNKNOWN
    )
    late = stores.links.take_link("link-1", EXPIRES, proof=PROOF, client="")
    assert (late.status, late.state.status) == (RevealStatus.GONE, LinkStatus.EXPIRED)


def test_purge_deletes_expired_ciphertext_and_offers_a_reissue(stores, sessions) -> None:
    lonely = provisioned(stores, link_id="link-1")
    opened = provisioned(stores, link_id="link-2", requester_id="U0BOB", iam_user_name="bob")
    stores.links.take_link("link-2", NOW, proof=PROOF, client="")
    assert stores.links.purge_expired_links(EXPIRES - timedelta(seconds=1)) == (0, [])

    purged, offers = stores.links.purge_expired_links(EXPIRES)

    assert purged == 1
    assert [(v.id, v.status) for v in offers] == [(lonely.id, Status.PROVISIONED)]
    row = stored(sessions, "link-1")
    assert (row.purged_at, row.ciphertext, row.nonce, row.key_check) == (EXPIRES, None, None, None)
    assert stores.links.link_state("link-1", EXPIRES).status is LinkStatus.EXPIRED
    event = stores.requests.audit_of(lonely.id)[-1]
    assert (event.actor, event.kind) == ("scheduler", "credentials_expired")
    assert stores.requests.audit_of(opened.id)[-1].kind == "credentials_revealed"
    assert stores.links.purge_expired_links(EXPIRES) == (0, [])  # each link purged once
