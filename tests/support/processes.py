"""Helpers for tests that run the real `aws-access-bot` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bot_env(extra: Mapping[str, str]) -> dict[str, str]:
    """A clean environment: only what the bot is told, plus PATH and the like."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    return {**keep, **extra}


def run_cli(args: list[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=bot_env(env),
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_bot(args: list[str], env: Mapping[str, str], cwd: Path, log_path: Path):
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=bot_env(env),
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> int:
    """Poll until `url` answers; returns its status. Fails if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s")
