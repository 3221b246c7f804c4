"""Take the README's screenshots of the one-time credential page, before and after reveal.

The real page: the bot's credential routes served by waitress over a throwaway SQLite
vault holding one sealed link with AWS's documented example credentials (nothing real).
Headless Chromium (Playwright, the Debian /usr/bin/chromium) opens the link as the
requester would from Slack, screenshots it, clicks "Reveal credentials", screenshots again.

    python scripts/screenshots.py                # writes docs/credential-page-*.png
    python scripts/screenshots.py --out /tmp/x   # somewhere else
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import string
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing


from bot.aws.passwords import PasswordPolicy, generate_password  # noqa: E402
from bot.domain.credentials import Credentials  # noqa: E402
from bot.domain.ports import SystemClock  # noqa: E402
from bot.domain.states import Status  # noqa: E402
from bot.services.vault import CredentialLinks, CredentialVault  # noqa: E402
from bot.settings import parse_config  # noqa: E402
from bot.store.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from bot.store.repository import Repository  # noqa: E402
from bot.web.credentials import credential_routes  # noqa: E402
from bot.web.router import Router  # noqa: E402
from bot.web.server import serving  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
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
    """Nobody to tell: the page calls credentials_opened after the reveal."""

    def __getattr__(self, name: str):  # every Notifier method is a no-op here
        return lambda *args, **kwargs: None


def sealed_sample_link(sessions, config, public_url: str) -> str:
    """A provisioned request with one sealed link; returns the link (key in the fragment)."""
    vault = CredentialVault(config, public_url)
    sample = sample_credentials()
    now = datetime.now(UTC)
    with sessions.begin() as session:
        repo = Repository(session)
        row = repo.add_request(
            requester_id="U0ALICE",
            profile=config.profiles[0].name,
            iam_user_name=sample.user_name,
            console=True,
            programmatic=True,
            reason="deploy the billing service",
            now=now,
        )
        for old, new in (
            (Status.PENDING, Status.APPROVED),
            (Status.APPROVED, Status.PROVISIONING),
            (Status.PROVISIONING, Status.PROVISIONED),
        ):
            repo.transition(row.id, old, new, now=now)
        return vault.seal(session, row.id, sample, now).url


@contextlib.contextmanager
def credential_pages(database: Path) -> Iterator[tuple[str, str]]:
    """Serve the credential routes; yields (base URL, a fresh sample link)."""
    config = parse_config(tomllib.loads((ROOT / "config/bot.example.toml").read_text()), "example")
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = SystemClock()
    links = CredentialLinks(
        sessions, CredentialVault(config, ""), QuietNotifier(), config, clock=clock
    )
    router = Router()
    credential_routes(router, links, clock)
    try:
        with serving(router, threads=4) as base:
            yield base, sealed_sample_link(sessions, config, base)
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
