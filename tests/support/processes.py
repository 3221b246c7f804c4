"""Helpers for tests that run the real `aws-access-bot` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Nothing listens on the discard port: a bot that never needs Slack is pointed there.
NO_SLACK = "http://127.0.0.1:9/api/"


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


def run_env(
    config: Path,
    database_url: str,
    *,
    slack_api_url: str | None = NO_SLACK,
    bot_token: str = "xoxb-test",
    signing_secret: str | None = "secret",  # noqa: S107 - a test value
    **extra: str,
) -> dict[str, str]:
    """The environment of an `aws-access-bot` command: its config file, its database, the
    Slack bot token and signing secret (left out when None) and where the Slack Web API
    is (left out when None), plus `extra` variables (PORT=..., SLACK_APP_TOKEN=...)."""
    env = {"BOT_CONFIG": str(config), "DATABASE_URL": database_url, "SLACK_BOT_TOKEN": bot_token}
    if signing_secret is not None:
        env["SLACK_SIGNING_SECRET"] = signing_secret
    if slack_api_url is not None:
        env["SLACK_API_URL"] = slack_api_url
    return {**env, **extra}


class BotProcess:
    """One real `aws-access-bot` process (`args`, e.g. ["run"]), serving on the PORT of
    `env` or a free one, its output in `cwd`/<name>.log."""

    def __init__(self, args: list[str], env: Mapping[str, str], cwd: Path, name: str = "bot"):
        self.port = int(env["PORT"]) if "PORT" in env else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"{name}.log"
        self.proc = start_bot(args, {**env, "PORT": str(self.port)}, cwd, self.log)

    def wait_ready(self) -> None:
        assert wait_http(f"{self.url}/healthz", proc=self.proc) == 200

    def stop(self) -> int:
        """SIGTERM, as a deployment stops it; the exit code (or the code it already
        exited with). Killed, and the timeout raised, if it does not stop in 20s."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def kill(self) -> None:
        """SIGKILL if it still runs: a crash, or the clean-up after a failed test."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def text(self) -> str:
        """Everything it logged so far."""
        return self.log.read_text()


@contextmanager
def running_bot(
    args: list[str], env: Mapping[str, str], cwd: Path, name: str = "bot"
) -> Iterator[BotProcess]:
    """A BotProcess that answers /healthz; killed on the way out unless the test stopped it."""
    bot = BotProcess(args, env, cwd, name)
    try:
        bot.wait_ready()
        yield bot
    finally:
        bot.kill()
