"""`python scripts/slack_screens.py` captures every Slack surface with headless Chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, HAVE_CHROMIUM, NO_CHROMIUM
from tests.support.png import png_size
from tests.support.processes import REPO
from tests.unit.test_slack_screens import SCREENS

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]


def test_the_script_captures_every_surface(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/slack_screens.py", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "CHROMIUM": str(CHROMIUM), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert [Path(line).stem for line in result.stdout.split()] == list(SCREENS)
    for name in SCREENS:
        width, height = png_size(tmp_path / f"{name}.png")
        assert width >= 500 and 100 <= height < 3000, name
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
