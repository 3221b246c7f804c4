"""The processes a benchmark talks to: the real bot (`python -m bot run`), the bare Bolt
app, and the Slack Web API stand-in, each in its own process so the load generator's
threads never share a GIL with the server being measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import REPO, free_port, wait_http

SECRET = "bench-signing-secret"  # noqa: S105 - a bench value, never a real secret
# Obviously fake: the bench talks to the local Web API stand-in only.
BOT_TOKEN = "xoxb-bench"  # noqa: S105

REQUESTER = "U0ALICE"
OWNERS = ("U0OWNER1", "U0OWNER2")

# `developer` provisions on one approval; `prod` needs two, so a single Approve click
# records an approval and updates the message without calling AWS.
CONFIG = """
[slack]
approval_channel = "C0APPROVALS"
owners = ["U0OWNER1", "U0OWNER2"]

[aws]
iam_path = "/bench/"

[[profiles]]
name = "developer"
description = "Read/write on dev resources"
groups = ["bench-developers"]
policies = []
console = true
programmatic = true
approvals_required = 1

[[profiles]]
name = "prod"
description = "Production admin"
groups = ["bench-prod"]
policies = []
console = true
programmatic = true
approvals_required = 2
"""


# `python -m bench --profile DIR` (bench/profile.py): each bot process is recorded by
# py-spy into DIR. The sampling costs CPU, so a profiled run's figures are not quoted.
PROFILE: dict[str, Path | None] = {"dir": None}
PY_SPY_MODE = ["--gil"]  # the thread holding the GIL: where the process's CPU goes


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path
    profiler: subprocess.Popen | None = field(default=None)

    @property
    def events(self) -> str:
        return f"{self.url}/slack/events"

    def peak_rss_mb(self) -> float:
        """VmHWM: the resident set's high-water mark since the process started."""
        return _status_kb(self.process.pid, "VmHWM") / 1024

    def rss_mb(self) -> float:
        return _status_kb(self.process.pid, "VmRSS") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far (/proc/PID/stat)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def backlog(self) -> int:
        """Jobs the server still has queued or running after its acks (the bot's
        /healthz says; the bare app runs its work on the listener threads: 0)."""
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/healthz", timeout=10) as response:  # noqa: S310
            return int(json.load(response).get("backlog", 0))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.profiler is not None:  # py-spy writes its file when the process ends
            self.profiler.wait(timeout=60)


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG")
    return {k: v for k, v in os.environ.items() if k in keep} | {
        "PYTHONPATH": str(REPO),
        **extra,
    }


def _start(name: str, argv: list[str], env: Mapping[str, str], workdir: Path) -> Server:
    port = free_port()
    log_path = workdir / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, *argv],
        env=_env({**env, "PORT": str(port)}),
        cwd=workdir,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", timeout=60, proc=process)
    except AssertionError as exc:
        raise RuntimeError(f"{name} did not start: {exc}; see {log_path}") from None
    return Server(name, url, process, log_path)


def start_bot(
    workdir: Path, database_url: str, slack_api_url: str, aws_env: Mapping[str, str]
) -> Server:
    config = workdir / "bot.toml"
    config.write_text(CONFIG)
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api_url,
        "DATABASE_URL": database_url,
        "BOT_CONFIG": str(config),
        "LOG_LEVEL": "WARNING",
        **aws_env,
    }
    server = _start("bot", ["-m", "bot", "run"], env, workdir)
    if PROFILE["dir"] is not None:
        server.profiler = _py_spy(server.process.pid, PROFILE["dir"], database_url)
    return server


def _py_spy(pid: int, directory: Path, database_url: str) -> subprocess.Popen:
    directory.mkdir(parents=True, exist_ok=True)
    kind = database_url.split(":", 1)[0].split("+", 1)[0]
    out = directory / f"bot-{len(list(directory.glob('bot-*.txt'))) + 1:02d}-{kind}.txt"
    out.touch()  # claims the name for the next bot's count
    py_spy = Path(sys.executable).with_name("py-spy")
    argv = [str(py_spy), "record", "--pid", str(pid), "--rate", "100", "--threads"]
    argv += [*PY_SPY_MODE, "--format", "raw", "--output", str(out), "--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_bare(
    workdir: Path,
    slack_api_url: str,
    aws_env: Mapping[str, str],
    *,
    mode: str = "approve",
    iam_prefix: str = "bare",
) -> Server:
    env = {
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api_url,
        "BARE_MODE": mode,
        "BARE_IAM_PREFIX": iam_prefix,
        **aws_env,
    }
    return _start("bare", ["-m", "bench.bare_app"], env, workdir)


def start_moto(workdir: Path, iam_users: int = 0) -> tuple[str, subprocess.Popen]:
    """bench/moto_seeded.py in its own process; returns (endpoint, process)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.moto_seeded"],
        env=_env({"BENCH_IAM_USERS": str(iam_users)}),
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=(workdir / "moto.log").open("wb"),
        text=True,
    )
    assert process.stdout is not None
    endpoint = process.stdout.readline().strip()
    if not endpoint:
        raise RuntimeError(f"moto did not start; see {workdir / 'moto.log'}")
    return endpoint, process


def aws_env(endpoint: str, key: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": "bench",  # noqa: S105 - moto checks no signature here
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def get_json(url: str, *, post: bool = False) -> dict:
    import urllib.request

    request = urllib.request.Request(url, data=b"" if post else None)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def start_slack_stub(workdir: Path) -> tuple[str, subprocess.Popen]:
    """The Web API stand-in in its own process; returns (base URL, process)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.slack_stub"],
        env=_env({}),
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=(workdir / "slack_stub.log").open("wb"),
        text=True,
    )
    assert process.stdout is not None
    base = process.stdout.readline().strip()
    if not base:
        raise RuntimeError(f"the Slack stand-in did not start; see {workdir / 'slack_stub.log'}")
    return base, process


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
