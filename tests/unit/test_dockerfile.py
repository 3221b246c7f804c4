"""The Dockerfile's contract, checked by parsing it (no Docker engine runs in CI), and its
HEALTHCHECK command run for real against a local /healthz."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.processes import REPO, free_port

Instruction = tuple[str, str]


def parse(text: str) -> list[Instruction]:
    """Dockerfile -> [(INSTRUCTION, arguments)], continuation lines joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def resolve_args(instructions: list[Instruction], value: str) -> str:
    defaults = dict(args.split("=", 1) for kw, args in instructions if kw == "ARG" and "=" in args)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), value)


def env_of(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for kw, args in stage:
        if kw == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse((REPO / "Dockerfile").read_text())


def test_multi_stage_from_a_pinned_slim_python(dockerfile) -> None:
    images = [resolve_args(dockerfile, args.split()[0]) for kw, args in dockerfile if kw == "FROM"]
    assert len(images) >= 2
    for image in images:
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-bookworm)?", image), image


def test_final_stage_runs_as_non_root_without_build_tools(dockerfile) -> None:
    final = stages(dockerfile)[-1]
    users = [args for kw, args in final if kw == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    runs = " ".join(args for kw, args in final if kw == "RUN")
    for tool in ("apt-get install", "apk add", "gcc", "build-essential", "pip install", "make"):
        assert tool not in runs, tool
    copies = [args for kw, args in final if kw == "COPY"]
    assert "--from=build /opt/venv /opt/venv" in copies  # only the built virtualenv
    for args in copies:
        sources = [a for a in args.split() if not a.startswith("--")][:-1]
        assert all(s.startswith(("config/", "/opt/venv")) for s in sources), args


def test_install_is_from_pyproject_like_make_run(dockerfile) -> None:
    build = stages(dockerfile)[0]
    assert any(kw == "COPY" and "pyproject.toml" in args for kw, args in build)
    # Pinned, hash-checked dependencies first (tests/unit/test_lock.py), then the bot.
    assert ("RUN", "/opt/venv/bin/pip install --require-hashes -r requirements.lock") in build
    assert ("RUN", "/opt/venv/bin/pip install --no-deps .") in build
    makefile = (REPO / "Makefile").read_text()
    assert "pip install --quiet -e ." in makefile  # both install the same pyproject


def test_cmd_env_and_port(dockerfile) -> None:
    final = stages(dockerfile)[-1]
    [cmd] = [json.loads(args) for kw, args in final if kw == "CMD"]
    assert cmd == ["aws-access-bot", "run"]
    env = env_of(final)
    assert env["HOST"] == "0.0.0.0"
    assert ("EXPOSE", env["PORT"]) in final
    assert env["PATH"].startswith("/opt/venv/bin:")


def test_copied_sources_exist_and_are_not_docker_ignored(dockerfile) -> None:
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for must in (".env", ".git", ".venv", "config/bot.toml", "*.db"):
        assert must in ignored, must
    for kw, args in dockerfile:
        if kw != "COPY" or "--from=" in args:
            continue
        for source in [a for a in args.split() if not a.startswith("--")][:-1]:
            assert (REPO / source).exists(), source
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_healthcheck_probes_healthz_with_python(dockerfile) -> None:
    [probe] = [args for kw, args in stages(dockerfile)[-1] if kw == "HEALTHCHECK"]
    assert "curl" not in probe and "wget" not in probe
    command = json.loads(probe[probe.index("CMD") + 3 :])
    assert command[:2] == ["python", "-c"] and "/healthz" in command[2]

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ, "PORT": str(server.server_address[1])}

    def probe_exit() -> int:
        return subprocess.run(
            [sys.executable, *command[1:]], env=env, capture_output=True, timeout=20
        ).returncode

    try:
        assert probe_exit() == 0
        _Health.status = 503
        assert probe_exit() != 0
    finally:
        _Health.status = 200
        server.shutdown()
        server.server_close()
    env["PORT"] = str(free_port())  # nothing listening
    assert probe_exit() != 0
