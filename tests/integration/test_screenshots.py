"""scripts/screenshots.py is what makes the README's credential-page pictures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import HAVE_CHROMIUM, NO_CHROMIUM
from tests.support.png import png_size
from tests.support.processes import REPO

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM),
]


def test_the_script_takes_both_screenshots_of_the_real_page(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/screenshots.py", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    before = tmp_path / "credential-page-before.png"
    after = tmp_path / "credential-page-after.png"
    assert result.stdout.split() == [str(before), str(after)]
    (bw, bh), (aw, ah) = png_size(before), png_size(after)
    assert bw == aw == 900
    # After the reveal the page holds five fields, a download button and advice.
    assert 300 <= bh < ah < 2000
    assert before.stat().st_size > 10_000 and after.stat().st_size > before.stat().st_size
    assert "Traceback" not in result.stderr
