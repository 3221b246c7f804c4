"""AES-256-GCM sealing of credentials: round trip, and every tampering fails."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from bot import crypto
from bot.domain.credentials import IssuedLink
from tests.support.vault import sample_credentials

LINK = crypto.new_link_id()


def test_round_trip_restores_every_field() -> None:
    credentials = sample_credentials()
    key = crypto.new_key()
    box = crypto.seal(crypto.credentials_payload(credentials), key, LINK.encode())
    assert crypto.credentials_from_payload(crypto.open_box(box, key, LINK.encode())) == credentials


def test_ciphertext_holds_no_secret_and_carries_the_gcm_tag() -> None:
    credentials = sample_credentials()
    payload = crypto.credentials_payload(credentials)
    box = crypto.seal(payload, crypto.new_key(), LINK.encode())
    assert len(box.nonce) == 12
    assert len(box.ciphertext) == len(payload) + 16
    assert credentials.password.encode() not in box.ciphertext
    assert credentials.secret_access_key.encode() not in box.ciphertext


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda box, key, aad: (flip(box.ciphertext, 0), box.nonce, key, aad), id="body"
        ),
        pytest.param(
            lambda box, key, aad: (flip(box.ciphertext, -1), box.nonce, key, aad), id="tag"
        ),
        pytest.param(
            lambda box, key, aad: (box.ciphertext, flip(box.nonce, 3), key, aad), id="nonce"
        ),
        pytest.param(
            lambda box, key, aad: (box.ciphertext, box.nonce, flip(key, 5), aad), id="key"
        ),
        pytest.param(
            lambda box, key, aad: (box.ciphertext, box.nonce, key, crypto.new_link_id().encode()),
            id="other-link-id",
        ),
        pytest.param(lambda box, key, aad: (box.ciphertext[:-1], box.nonce, key, aad), id="cut"),
    ],
)
def test_any_tampering_fails_to_decrypt(tamper) -> None:
    key = crypto.new_key()
    aad = LINK.encode()
    box = crypto.seal(b'{"user_name":"alice"}', key, aad)
    ciphertext, nonce, used_key, used_aad = tamper(box, key, aad)
    with pytest.raises(InvalidTag):
        crypto.open_box(crypto.SealedBox(ciphertext, nonce), used_key, used_aad)


def test_keys_nonces_and_link_ids_are_fresh_and_long() -> None:
    keys = {crypto.new_key() for _ in range(200)}
    ids = {crypto.new_link_id() for _ in range(200)}
    nonces = {crypto.seal(b"x", crypto.new_key(), b"a").nonce for _ in range(200)}
    assert len(keys) == len(ids) == len(nonces) == 200
    assert all(len(k) == 32 for k in keys)
    # token_urlsafe(24): 32 characters of 6 bits = 192 bits >= the 128 required.
    assert all(len(i) == 32 and crypto.from_b64url(i) for i in ids)


def test_key_check_is_a_labelled_digest_not_the_key() -> None:
    key = crypto.new_key()
    check = crypto.key_check(key)
    assert len(check) == 32 and check != key and key not in check
    assert crypto.key_check(key) == check and crypto.key_check(flip(key, 0)) != check


@pytest.mark.parametrize("text", ["a+bc", "a/bc", "abc=", "éabc", "abcde", 7])
def test_b64url_rejects_other_alphabets(text: str) -> None:
    with pytest.raises(ValueError):
        crypto.from_b64url(text)


def test_b64url_round_trip_without_padding() -> None:
    for size in range(0, 40):
        data = bytes(range(size))
        encoded = crypto.b64url(data)
        assert "=" not in encoded
        assert crypto.from_b64url(encoded) == data


def test_secrets_stay_out_of_reprs() -> None:
    credentials = sample_credentials()
    link = IssuedLink("abc", "http://x/credentials/abc#KEYMATERIAL")
    assert credentials.password not in repr(credentials)
    assert credentials.secret_access_key not in repr(credentials)
    assert "KEYMATERIAL" not in repr(link)
