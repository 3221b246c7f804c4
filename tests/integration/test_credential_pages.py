"""The credential pages over real HTTP (waitress): preview-safe GET, once-only reveal,
404/410 pages, headers, rate limit. Plus the Slack side of flow 4 against the stand-in."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient

from bot import crypto
from bot.domain.credentials import IssuedLink
from bot.domain.events import CredentialsIssued
from bot.services.vault import CredentialLinks
from bot.slack.notifier import SlackNotifier
from bot.slack.surfaces.approval_message import REISSUE_ACTION
from bot.store import Stores
from bot.web.credentials import RateLimiter, credential_routes
from bot.web.router import Router
from tests.support.configs import bot_config
from tests.support.notifier import RecordingNotifier
from tests.support.processes import run_env, running_bot
from tests.support.vault import (
    credential_links,
    issue,
    key_of,
    proof_of,
    sample_credentials,
)
from tests.support.wsgi import serve_wsgi

CONFIG = bot_config()


@pytest.fixture
def links(stores, clock) -> CredentialLinks:
    return credential_links(stores, RecordingNotifier(), clock)


@pytest.fixture
def limiter(clock) -> RateLimiter:
    return RateLimiter(clock, limit=5, window=timedelta(minutes=1))


@pytest.fixture
def base(links, clock, limiter):
    router = Router()
    credential_routes(router, links, clock, limiter=limiter)
    with serve_wsgi(router) as url:
        yield url


def sealed(stores: Stores, clock) -> IssuedLink:
    """The link of a request provisioned now (through the store's operations)."""
    return issue(stores, clock.now()).link


def http(url: str, method: str = "GET", body: bytes | None = None, ctype: str | None = None):
    headers = {"Content-Type": ctype} if ctype else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def reveal(base: str, link, proof: bytes | None = None):
    body = json.dumps({"proof": crypto.b64url(proof or proof_of(link))}).encode()
    return http(f"{base}/credentials/{link.link_id}/reveal", "POST", body, "application/json")


def assert_locked_down(headers: dict[str, str]) -> None:
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Robots-Tag"].startswith("noindex")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


def test_get_shows_the_button_never_the_secret_and_does_not_burn(base, stores, clock) -> None:
    link = sealed(stores, clock)
    credentials = sample_credentials()
    for _ in range(3):  # previewers, scanners and the person themselves
        status, headers, page = http(f"{base}/credentials/{link.link_id}")
        assert status == 200
        assert_locked_down(headers)
        assert headers["Content-Type"].startswith("text/html")
        assert b"Reveal credentials" in page
        for secret in (credentials.password, credentials.secret_access_key):
            assert secret.encode() not in page
        assert b"http://" not in page and b"https://" not in page  # no external resource
    head = urllib.request.Request(f"{base}/credentials/{link.link_id}", method="HEAD")
    with urllib.request.urlopen(head, timeout=10) as response:
        assert response.status == 200
    status, _, body = reveal(base, link)
    assert status == 200 and set(json.loads(body)) == {"ciphertext", "nonce"}


def test_reveal_once_then_410_json_and_page(base, stores, clock) -> None:
    link = sealed(stores, clock)
    status, headers, body = reveal(base, link)
    assert status == 200
    assert_locked_down(headers)
    data = json.loads(body)
    key = key_of(link)
    box = crypto.SealedBox(
        crypto.from_b64url(data["ciphertext"]), crypto.from_b64url(data["nonce"])
    )
    assert (
        crypto.credentials_from_payload(crypto.open_box(box, key, link.link_id.encode()))
        == sample_credentials()
    )

    status, headers, body = reveal(base, link)
    assert status == 410 and json.loads(body)["error"] == "revealed"
    assert_locked_down(headers)
    status, headers, page = http(f"{base}/credentials/{link.link_id}")
    assert status == 410 and b"already revealed" in page
    assert_locked_down(headers)


def test_reveal_without_the_key_proof_is_refused_and_the_link_stays_usable(
    base, stores, clock
) -> None:
    """The contract (docs/architecture.md, "Credentials"): POST /credentials/<id>/reveal
    hands out the ciphertext once, and only with the key check. The link id is in the
    audit table, so a POST without the proof (no body, `{}`) or with a wrong one is
    refused (403) without using the link up; the holder of the whole link still can."""
    link = sealed(stores, clock)
    url = f"{base}/credentials/{link.link_id}/reveal"
    for body in (b"", b"{}"):  # five attempts a minute: see the `limiter` fixture
        status, headers, answer = http(url, "POST", body, "application/json")
        assert status == 403, f"POST {body!r} answered {status}"
        assert json.loads(answer)["error"] == "no_proof"
        assert_locked_down(headers)
    status, _, answer = reveal(base, link, proof=crypto.key_check(crypto.new_key()))
    assert (status, json.loads(answer)["error"]) == (403, "wrong_key")
    assert http(f"{base}/credentials/{link.link_id}")[0] == 200  # still available
    status, _, answer = reveal(base, link)
    assert status == 200 and set(json.loads(answer)) == {"ciphertext", "nonce"}
    assert reveal(base, link)[0] == 410


def test_expired_link_gets_410_page(base, stores, clock) -> None:
    link = sealed(stores, clock)
    clock.advance(hours=24)
    status, _, page = http(f"{base}/credentials/{link.link_id}")
    assert status == 410 and b"expired" in page
    status, _, body = reveal(base, link)
    assert status == 410 and json.loads(body)["error"] == "expired"


@pytest.mark.parametrize("path", ["A" * 32, "short", "a/b/c", "%3Cscript%3E"])
def test_unknown_links_get_a_404_page_with_the_same_headers(base, path: str) -> None:
    status, headers, page = http(f"{base}/credentials/{path}")
    assert status == 404 and b"No such credentials link" in page
    assert_locked_down(headers)
    proof = json.dumps({"proof": crypto.b64url(crypto.key_check(crypto.new_key()))}).encode()
    status, headers, body = http(
        f"{base}/credentials/{path}/reveal", "POST", proof, "application/json"
    )
    assert status == 404 and json.loads(body)["error"] == "unknown"


def test_bad_reveal_bodies_are_refused_without_burning(base, stores, clock) -> None:
    link = sealed(stores, clock)
    url = f"{base}/credentials/{link.link_id}/reveal"
    assert http(url, "POST", b"proof=x", "application/x-www-form-urlencoded")[0] == 400
    assert http(url, "POST", b"{not json", "application/json")[0] == 400
    assert (
        http(url, "POST", json.dumps({"proof": "x" * 2000}).encode(), "application/json")[0] == 400
    )
    status, _, body = reveal(base, link, proof=crypto.key_check(crypto.new_key()))
    assert status == 403 and json.loads(body)["error"] == "wrong_key"
    assert reveal(base, link)[0] == 200


def test_reveal_attempts_are_rate_limited_per_client(base, stores, clock) -> None:
    link = sealed(stores, clock)
    wrong = crypto.key_check(crypto.new_key())
    statuses = [reveal(base, link, proof=wrong)[0] for _ in range(5)]
    assert statuses == [403] * 5
    status, headers, body = reveal(base, link)  # even the right key must wait now
    assert status == 429 and json.loads(body)["error"] == "rate_limited"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert http(f"{base}/credentials/{link.link_id}")[0] == 200  # GETs are not limited
    clock.advance(seconds=61)
    assert reveal(base, link)[0] == 200


def test_rate_limiter_counts_each_address_separately(clock) -> None:
    limiter = RateLimiter(clock, limit=2, window=timedelta(seconds=10))
    assert limiter.allow("a") == (True, 0) and limiter.allow("a") == (True, 0)
    allowed, retry = limiter.allow("a")
    assert not allowed and 1 <= retry <= 11
    assert limiter.allow("b") == (True, 0)
    clock.advance(seconds=10)
    assert limiter.allow("a") == (True, 0)


def test_static_assets_are_served_locked_down(base) -> None:
    status, headers, script = http(f"{base}/credentials/static/credentials.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert_locked_down(headers)
    assert b"crypto.subtle.decrypt" in script and b"User name,Password" not in script
    assert http(f"{base}/credentials/static/credentials.css")[0] == 200
    assert http(f"{base}/credentials/static/nope.js")[0] == 404


# --- the Slack side ---------------------------------------------------------------


def test_dm_carries_the_link_without_unfurling_and_keeps_it_out_of_the_fallback(
    slack_stub, stores, clock, caplog
) -> None:
    caplog.set_level("DEBUG")
    notifier = SlackNotifier(WebClient(token="xoxb-test", base_url=slack_stub.base_url), CONFIG)
    links = credential_links(stores, notifier, clock)
    issued = issue(stores, clock.now())
    link = issued.link
    ref = notifier.notify(CredentialsIssued(issued.request, link))
    assert ref is not None
    [dm] = slack_stub.calls_to("chat.postMessage")
    assert dm["channel"] == "D0REQUESTER"
    assert str(dm["unfurl_links"]).lower() == "false" and str(dm["unfurl_media"]).lower() == "false"
    assert link.url not in dm["text"]
    blocks = json.dumps(dm["blocks"])
    assert link.url in blocks and "works *once*" in blocks
    assert f"<!date^{int(link.expires_at.timestamp())}^" in blocks
    # Our own log lines never carry the link. (slack_sdk's DEBUG request log does show
    # the message body; the root handler's redacting filter masks /credentials/…#key.)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert not any(urlsplit(link.url).fragment in line for line in ours)

    slack_stub.clear()
    links.reveal(link.link_id, clock.now(), proof=proof_of(link))
    replies = slack_stub.calls_to("chat.postMessage")
    threads = {(r["channel"], r["thread_ts"]) for r in replies}
    assert threads == {
        ("D0REQUESTER", "1700000000.000002"),
        ("C0APPROVALS", "1700000000.000001"),
    }
    assert all("was opened" in r["text"] for r in replies)


def test_expired_link_offers_owners_a_reissue_button(slack_stub, stores, clock) -> None:
    notifier = SlackNotifier(WebClient(token="xoxb-test", base_url=slack_stub.base_url), CONFIG)
    links = credential_links(stores, notifier, clock)
    request = issue(stores, clock.now()).request
    assert links.purge_expired(clock.advance(days=2)) == 1
    posts = slack_stub.calls_to("chat.postMessage")
    [offer] = [p for p in posts if p["channel"] == "C0APPROVALS"]
    assert offer["thread_ts"] == "1700000000.000001"
    [button] = [e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == REISSUE_ACTION and button["value"] == str(request.id)
    assert any(p["channel"] == "D0REQUESTER" and "expired" in p["text"] for p in posts)


def test_run_serves_the_credential_pages(tmp_path, config_file) -> None:
    """`aws-access-bot run` mounts the routes (bot.runtime.mount_web_routes)."""
    env = run_env(config_file, f"sqlite:///{tmp_path / 'run.db'}")
    with running_bot(["run", "--no-scheduler"], env, tmp_path) as bot:
        status, headers, page = http(f"{bot.url}/credentials/{'B' * 32}")
        assert status == 404 and b"No such credentials link" in page
        assert_locked_down(headers)
        status, _, script = http(f"{bot.url}/credentials/static/credentials.js")
        assert status == 200 and b"crypto.subtle" in script  # shipped as package data
        assert bot.stop() == 0
