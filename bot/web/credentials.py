"""The one-time credentials pages: GET shows state (never a secret), POST reveals once.

Link previewers and mail scanners only GET, so they cannot use a link up; the reveal is
a JSON POST the page's own script makes (a cross-site form cannot send JSON without a
CORS preflight, which this server never grants). Every response is uncacheable,
unindexed, sends no referrer and allows no external resource.
"""

from __future__ import annotations

import html
import json
import logging
import math
import threading
from collections import deque
from datetime import datetime, timedelta
from importlib import resources

from bot import crypto
from bot.domain.credentials import LinkState, LinkStatus, RevealStatus
from bot.domain.ports import Clock
from bot.services.vault import CredentialLinks
from bot.web.router import Environ, Response, Router

log = logging.getLogger(__name__)

LINK_ID = r"(?P<link_id>[A-Za-z0-9_-]{16,64})"
MAX_BODY = 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CSP,
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
STATIC = {
    "credentials.js": "text/javascript; charset=utf-8",
    "credentials.css": "text/css; charset=utf-8",
}


class RateLimiter:
    """At most `limit` attempts per client address in any sliding `window`.

    In memory, per process: enough to make guessing or hammering pointless (link ids
    carry 192 bits, keys 256); replicas each enforce their own budget.
    """

    def __init__(self, clock: Clock, *, limit: int = 10, window: timedelta | None = None):
        self.clock = clock
        self.limit = limit
        self.window = window or timedelta(minutes=5)
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> tuple[bool, int]:
        """Count an attempt; (allowed, seconds until the next attempt would be allowed)."""
        now = self.clock.now()
        with self._lock:
            if len(self._hits) > 10_000:  # forget idle clients so memory stays bounded
                self._hits = {
                    k: v for k, v in self._hits.items() if v and v[-1] > now - self.window
                }
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = math.ceil((hits[0] + self.window - now).total_seconds())
                return False, max(retry, 1)
            hits.append(now)
            return True, 0


def _response(status: int, body: bytes, content_type: str, **extra: str) -> Response:
    return Response(status, body, content_type, headers={**SECURITY_HEADERS, **extra})


def _json(status: int, **body: str) -> Response:
    return _response(status, json.dumps(body).encode(), "application/json")


def _iso(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else ""


def _page(status: int, title: str, body: str) -> Response:
    document = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="static/credentials.css">
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""
    return _response(status, document.encode(), "text/html; charset=utf-8")


def available_page(link_id: str, state: LinkState) -> Response:
    when = html.escape(_iso(state.expires_at))
    stamp = html.escape(state.expires_at.isoformat()) if state.expires_at else ""
    link = html.escape(link_id)
    return _page(
        200,
        "Your AWS credentials",
        f"""<div id="vault" data-link-id="{link}" data-reveal-url="{link}/reveal">
<h1>Your AWS credentials</h1>
<p>This link shows your AWS sign-in password and access key <strong>once</strong>.
Reveal them when you are ready to save them; after that the link stops working.</p>
<p class="muted expiry">Unopened, the link expires <time datetime="{stamp}">{when}</time>.</p>
<p><button id="reveal" class="primary" type="button" disabled>Reveal credentials</button></p>
<p id="status" role="status"></p>
<noscript><p>Revealing needs JavaScript: the credentials are decrypted in your browser.</p>
</noscript>
<section id="result" hidden>
<dl id="fields"></dl>
<p><button id="download" type="button">Download credentials.csv</button></p>
<p class="muted">Sign in to the console with the user name and password; you will be asked
to choose a new password. Keep the access key in a password manager, never in code.</p>
</section>
</div>
<script src="static/credentials.js"></script>""",
    )


def gone_page(state: LinkState) -> Response:
    if state.status is LinkStatus.REVEALED:
        return _page(
            410,
            "Credentials already revealed",
            f"""<h1>These credentials were already revealed</h1>
<p>This one-time link was opened on {html.escape(_iso(state.revealed_at))} and cannot show
them again.</p>
<p>If that was not you, tell an AWS account owner right away: they can re-issue the
credentials, which deletes the old access key.</p>""",
        )
    return _page(
        410,
        "Credentials link expired",
        """<h1>This credentials link has expired</h1>
<p>It was not opened in time, or it was replaced by a newer link; the encrypted
credentials are deleted.</p>
<p>Ask an AWS account owner to re-issue your credentials from the approval message in
Slack.</p>""",
    )


def not_found_page() -> Response:
    return _page(
        404,
        "Credentials link not found",
        """<h1>No such credentials link</h1>
<p>Check that you opened the whole link from your Slack message.</p>""",
    )


_GONE_MESSAGES = {
    LinkStatus.REVEALED: "These credentials were already revealed; the link works once.",
    LinkStatus.EXPIRED: "This link has expired; ask an AWS account owner to re-issue it.",
}


def _client(environ: Environ) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled; with TRUSTED_PROXY set,
    # waitress has already replaced REMOTE_ADDR with the proxy's view of the client.
    return str(environ.get("REMOTE_ADDR") or "unknown")


NO_PROOF = b""


def _read_proof(environ: Environ) -> bytes | None:
    """The key check the page sends (32 bytes); `NO_PROOF` when the POST carries none
    (no body, or JSON without `proof`), which is refused like a wrong one; None for a
    body that is not understood."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length == 0:
        return NO_PROOF
    content_type = str(environ.get("CONTENT_TYPE") or "")
    if not content_type.startswith("application/json") or length > MAX_BODY:
        return None
    try:
        body = json.loads(environ["wsgi.input"].read(length))
        if not isinstance(body, dict):
            return None
        if "proof" not in body:
            return NO_PROOF
        proof = crypto.from_b64url(body["proof"])
    except (ValueError, TypeError):
        return None
    return proof if len(proof) == 32 else None


def credential_routes(
    router: Router,
    links: CredentialLinks,
    clock: Clock,
    *,
    limiter: RateLimiter | None = None,
) -> None:
    """Add the credential pages, the reveal endpoint and their static files to `router`."""
    limiter = limiter or RateLimiter(clock)
    static_dir = resources.files("bot.web") / "static"

    def static(environ: Environ, name: str) -> Response:
        if name not in STATIC:
            return _response(404, b"not found\n", "text/plain; charset=utf-8")
        return _response(200, (static_dir / name).read_bytes(), STATIC[name])

    def page(environ: Environ, link_id: str) -> Response:
        state = links.state(link_id, clock.now())
        if state.status is LinkStatus.AVAILABLE:
            return available_page(link_id, state)
        if state.status is LinkStatus.UNKNOWN:
            return not_found_page()
        return gone_page(state)

    def reveal(environ: Environ, link_id: str) -> Response:
        allowed, retry_after = limiter.allow(_client(environ))
        if not allowed:
            response = _json(
                429,
                error="rate_limited",
                message=f"Too many attempts from your address; try again in {retry_after}s.",
            )
            response.headers["Retry-After"] = str(retry_after)
            return response
        proof = _read_proof(environ)
        if proof is None:
            return _json(400, error="bad_request", message="Expected a JSON key check.")
        # No reveal without the key check: a missing or wrong one is refused (403) and
        # the link stays usable, so knowing a link id (it is in the audit table) is not
        # enough to use it up (docs/architecture.md, "Credentials").
        result = links.reveal(link_id, clock.now(), proof=proof, client=_client(environ))
        if result.status is RevealStatus.REVEALED and result.box is not None:
            return _json(
                200,
                ciphertext=crypto.b64url(result.box.ciphertext),
                nonce=crypto.b64url(result.box.nonce),
            )
        if result.status is RevealStatus.UNKNOWN:
            return _json(404, error="unknown", message="No such credentials link.")
        if result.status is RevealStatus.WRONG_KEY and proof == NO_PROOF:
            return _json(
                403,
                error="no_proof",
                message="Open the whole link from your Slack message: this page needs its key.",
            )
        if result.status is RevealStatus.WRONG_KEY:
            return _json(
                403,
                error="wrong_key",
                message="This link is damaged: open the whole link from your Slack message.",
            )
        status = result.state.status
        return _json(410, error=status.value, message=_GONE_MESSAGES[status])

    def unknown_page(environ: Environ, rest: str = "") -> Response:
        return not_found_page()

    def unknown_reveal(environ: Environ, rest: str = "") -> Response:
        return _json(404, error="unknown", message="No such credentials link.")

    router.add(["GET"], r"/credentials/static/(?P<name>[a-z.]+)", static)
    router.add(["GET"], f"/credentials/{LINK_ID}", page)
    router.add(["POST"], f"/credentials/{LINK_ID}/reveal", reveal)
    # Anything else under /credentials/ gets the same headers and a human 404.
    router.add(["POST"], r"/credentials/(?P<rest>.*)/reveal", unknown_reveal)
    router.add(["GET"], r"/credentials/(?P<rest>.*)", unknown_page)
