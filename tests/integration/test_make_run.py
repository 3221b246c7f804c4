"""`make run` on a fresh clone (no .env, no config, no tokens) says what to set, exit 1.

The clone is the Makefile, pyproject.toml and requirements.lock in an empty directory;
its virtualenv is this one (linked, marked installed) so the test does not reinstall
anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_without_env_prints_setup_steps(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(REPO / name, tmp_path / name)
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "bin").symlink_to(Path(sys.executable).parent)
    (venv / ".installed").touch()  # newer than the copied pyproject.toml and lock
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = subprocess.run(
        ["make", "--no-print-directory", "run", f"VENV={venv}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "BOT_CONFIG: config file config/bot.toml does not exist" in result.stderr
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "aws-access-bot manifest --url" in result.stderr
    assert "Error 1" in result.stderr  # make reports the bot's exit status 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "Makefile",
        "pyproject.toml",
        "requirements.lock",
        "venv",
    ]
