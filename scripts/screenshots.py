"""Take the README's screenshots of the one-time credential page, before and after reveal.

The real page: the bot's credential routes served by waitress over a throwaway SQLite
vault holding one sealed link with sample credentials made up fresh for each run, in
AWS's formats (random, belonging to no account). Headless Chromium (Playwright; $CHROMIUM,
else chromium on PATH, else /usr/bin/chromium) opens the link as the requester would
from Slack, screenshots it, clicks "Reveal credentials", screenshots again.

    python scripts/screenshots.py                # writes docs/credential-page-*.png
    python scripts/screenshots.py --out /tmp/x   # somewhere else
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import string
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing


from bot import crypto  # noqa: E402
from bot.aws.passwords import PasswordPolicy, generate_password  # noqa: E402
from bot.domain.credentials import Credentials  # noqa: E402
from bot.domain.events import Event  # noqa: E402
from bot.domain.ports import SystemClock  # noqa: E402
from bot.domain.requests import MessageRef  # noqa: E402
from bot.domain.rules import freeze  # noqa: E402
from bot.domain.states import Status  # noqa: E402
from bot.domain.storage import Lease, NewRequest  # noqa: E402
from bot.services.vault import CredentialLinks  # noqa: E402
from bot.settings import BotConfig, parse_config  # noqa: E402
from bot.store import Stores, build_stores  # noqa: E402
from bot.store.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from bot.web.credentials import credential_routes  # noqa: E402
from bot.web.router import Router  # noqa: E402
from bot.web.server import serving  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM") or next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))),
    "/usr/bin/chromium",
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BEFORE, AFTER = "credential-page-before.png", "credential-page-after.png"
VIEWPORT = {"width": 900, "height": 400}  # full_page grows it to the content
LEASE = timedelta(minutes=5)


def sample_credentials() -> Credentials:
    """Throwaway values in AWS's formats, made fresh for each run: nothing key-shaped is
    kept in the source, and no real account's credentials ever reach a picture."""
    key_alphabet = string.ascii_uppercase + "234567"
    secret_alphabet = string.ascii_letters + string.digits + "+/"
    return Credentials(
        user_name="alice",
        console_url="https://123456789012.signin.aws.amazon.com/console",
        password=generate_password(PasswordPolicy.from_aws(None)),
        access_key_id="AKIA" + "".join(secrets.choice(key_alphabet) for _ in range(16)),
        secret_access_key="".join(secrets.choice(secret_alphabet) for _ in range(40)),
    )


class QuietNotifier:
    """Nobody to tell: the page reports CredentialsOpened after the reveal."""

    def notify(self, event: Event) -> MessageRef | None:
        return None


def sealed_sample_link(stores: Stores, config: BotConfig, public_url: str) -> str:
    """A provisioned request with one sealed link; returns the link (key in the fragment)."""
    sample = sample_credentials()
    now = datetime.now(UTC)
    profile = config.profiles[0]
    stored = stores.requests.submit(
        NewRequest(
            requester_id="U0ALICE",
            profile=profile.name,
            iam_user_name=sample.user_name,
            reason="deploy the billing service",
            rules=freeze(profile, config, console=True, programmatic=True),
        ),
        now,
    )
    stores.requests.approve(stored.id, "U0OWNER", 1, now)
    lease = stores.provisioning.claim_provisioning(
        stored.id, sources=(Status.APPROVED,), actor="screenshots", now=now, until=now + LEASE
    )
    assert isinstance(lease, Lease), lease
    sealed, link = crypto.seal_link(
        sample, public_url=public_url, expires_at=now + config.links.ttl
    )
    provisioned = stores.provisioning.finish_provisioning(
        lease, sealed, access_key_id=sample.access_key_id, console=True, now=now
    )
    assert provisioned is not None and provisioned.status is Status.PROVISIONED
    return link.url


@contextlib.contextmanager
def credential_pages(database: Path) -> Iterator[tuple[str, str]]:
    """Serve the credential routes; yields (base URL, a fresh sample link)."""
    config = parse_config(tomllib.loads((ROOT / "config/bot.example.toml").read_text()), "example")
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    stores = build_stores(make_sessionmaker(engine))
    clock = SystemClock()
    links = CredentialLinks(
        stores.links,
        stores.requests,
        stores.provisioning,
        QuietNotifier(),
        config,
        public_url="",
        clock=clock,
    )
    router = Router()
    credential_routes(router, links, clock)
    try:
        with serving(router, threads=4) as base:
            yield base, sealed_sample_link(stores, config, base)
    finally:
        engine.dispose()


def take(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        credential_pages(Path(tmp) / "vault.db") as (_base, link),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            page.goto(link)
            page.locator("#reveal:enabled").wait_for()
            page.screenshot(path=str(out / BEFORE), full_page=True)
            page.locator("#reveal").click()
            page.locator("#result").wait_for(state="visible")
            page.locator("#field-secret_access_key").wait_for()
            page.screenshot(path=str(out / AFTER), full_page=True)
        finally:
            browser.close()
    return [out / BEFORE, out / AFTER]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    args = parser.parse_args(argv)
    for path in take(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
