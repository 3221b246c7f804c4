"""Headless Chromium (the machine's own, nothing downloaded) driven by Playwright.

Found through `CHROMIUM` (a path), else `chromium` / `chromium-browser` / `google-chrome`
on PATH, else /usr/bin/chromium. Without one, browser tests are skipped with NO_CHROMIUM
as the reason, and the run's summary says so in one line (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
NAMES_ON_PATH = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_CHROMIUM = (
    "no Chromium for the browser tests: set CHROMIUM=/path/to/chromium or put chromium "
    "on PATH (Debian/Ubuntu: apt-get install chromium)"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium(env: dict[str, str] | None = None) -> Path | None:
    env = dict(os.environ) if env is None else env
    if given := env.get("CHROMIUM", "").strip():
        path = Path(given)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    for name in NAMES_ON_PATH:
        if found := shutil.which(name, path=env.get("PATH")):
            return Path(found)
    return DEBIAN_CHROMIUM if DEBIAN_CHROMIUM.exists() else None


# The path tests launch (DEBIAN_CHROMIUM when none is found: `.exists()` is then False).
CHROMIUM = find_chromium() or DEBIAN_CHROMIUM
HAVE_CHROMIUM = find_chromium() is not None


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """A launched Playwright Browser; closed on the way out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
