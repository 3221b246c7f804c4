"""The README works as written (issue 17).

Every shell command in README.md's fenced code blocks (```sh/```bash/```shell blocks,
and `$ `-prompted lines in any block) runs, in order, in a fresh copy of the repository
after the quickstart's first step (config/bot.toml copied from the example), with a clean
environment: PATH without the virtualenv, so a bare `aws-access-bot` fails here just as
it does for a newcomer. A command that cannot run offline (it starts a server, needs
Slack, AWS, Docker, or runs the suite) must match NOT_OFFLINE below, with the reason;
anything else that exits non-zero fails the test.

And the README's claims hold: `.env` is read by `check`, `AWS_REGION` alone sets the
region, and the credential-page pictures are described as what the script really uses.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import NO_SLACK, REPO

README = (REPO / "README.md").read_text()
VENV = Path(sys.executable).parent.parent

# (pattern at the start of a command, why it cannot run here). Keep it short: a command
# only belongs here when running it needs something a test machine does not have.
NOT_OFFLINE: tuple[tuple[str, str], ...] = (
    (r"make (run|sandbox)\b", "starts the bot and serves until stopped"),
    (r"make test\b", "runs the whole suite (this test is part of it)"),
    (r"make (bench|screenshots|lock)\b", "minutes of benchmarks / a browser / the index"),
    (r"(\.venv/bin/)?aws-access-bot run\b", "starts the bot and serves until stopped"),
    (r"(make check|(\.venv/bin/)?aws-access-bot check)\b", "needs Slack and AWS credentials"),
    (r"(\.venv/bin/)?aws-access-bot (remind|revoke|audit)\b", "needs Slack/AWS and data"),
    (r"aws ", "the AWS CLI, against a real account"),
    (r"docker ", "needs Docker and a registry"),
    (r"curl ", "needs a running bot"),
    (r"git clone\b", "needs the network"),
)
SHELL_LANGUAGES = ("sh", "bash", "shell", "console")


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, indented ones (in lists) too."""
    blocks = []
    pattern = re.compile(r"^([ \t]*)```([\w-]*)[^\n]*\n(.*?)^\1```", re.M | re.S)
    for match in pattern.finditer(markdown):
        indent = match.group(1)
        body = "\n".join(
            line[len(indent) :] if line.startswith(indent) else line
            for line in match.group(3).splitlines()
        )
        blocks.append((match.group(2).lower(), body))
    return blocks


def _logical_lines(body: str) -> list[str]:
    lines, current = [], ""
    for raw in body.splitlines():
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        lines.append(current + raw)
        current = ""
    if current:
        lines.append(current)
    return lines


def shell_commands(markdown: str) -> list[str]:
    """Every command, in README order. In a shell block each non-comment line is one
    (continuations joined); in any block a `$ ` line is one (its output is not)."""
    commands = []
    for language, body in fenced_blocks(markdown):
        for line in _logical_lines(body):
            stripped = line.strip()
            if stripped.startswith("$ "):
                commands.append(stripped[2:].strip())
            elif language in SHELL_LANGUAGES and stripped and not stripped.startswith("#"):
                if language == "console":
                    continue  # a console block's commands are its `$ ` lines
                commands.append(stripped)
    return commands


def not_offline(command: str) -> str | None:
    for pattern, why in NOT_OFFLINE:
        if re.match(pattern, command):
            return why
    return None


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """The repository as a newcomer has it (no .venv state, no .env, no database),
    with the virtualenv `make` would have made, and quickstart step 1 done."""
    clone = tmp_path / "clone"
    shutil.copytree(
        REPO,
        clone,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "__pycache__",
            "*.db",
            "*.db-*",
            ".env",
            ".pytest_cache",
            ".ruff_cache",
            "*.egg-info",
            "bot.toml",
            "node_modules",
        ),
    )
    (clone / ".venv").symlink_to(VENV)
    shutil.copy(clone / "config" / "bot.example.toml", clone / "config" / "bot.toml")
    return clone


def _env(home: Path) -> dict[str, str]:
    # PATH without the virtualenv: commands say `.venv/bin/...` or use make.
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if not p.startswith(str(VENV))
    )
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "SLACK_API_URL": NO_SLACK}


def test_the_readme_has_commands_to_check() -> None:
    commands = shell_commands(README)
    assert len(commands) >= 5
    runnable = [c for c in commands if not_offline(c) is None]
    assert any("manifest" in c for c in runnable)


def test_the_extractor_reads_blocks_prompts_and_continuations() -> None:
    text = (
        "```sh\nmake run   # starts\n# a comment\nfoo \\\n  --bar\n```\n"
        "```\n$ tool check\n✓ output line\n```\n"
        "- item\n\n  ```sh\n  indented --yes\n  ```\n"
    )
    assert shell_commands(text) == [
        "make run   # starts",
        "foo    --bar",
        "tool check",
        "indented --yes",
    ]
    assert not_offline("make run") and not_offline("docker run -d x") is not None
    assert not_offline(".venv/bin/aws-access-bot manifest --socket-mode") is None


def test_every_offline_readme_command_runs(fresh_clone: Path, tmp_path: Path) -> None:
    env = _env(tmp_path)
    ran = []
    for command in shell_commands(README):
        if not_offline(command) is not None:
            continue
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=fresh_clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (
            f"README command failed ({result.returncode}): {command}\n{result.stderr[-2000:]}"
        )
        ran.append(command)
    assert ran, "no README command could run offline"


# --- the README's claims ---------------------------------------------------------------


def _bot(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV / "bin" / "aws-access-bot"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_claim_check_reads_tokens_from_dotenv(fresh_clone: Path, tmp_path: Path) -> None:
    assert ".env" in README and "check" in README
    (fresh_clone / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=from-dotenv\n"
    )
    result = _bot(["check"], fresh_clone, _env(tmp_path))
    assert "SLACK_BOT_TOKEN is not set" not in result.stdout
    assert "SLACK_SIGNING_SECRET is not set" not in result.stdout
    assert "✓ config: config/bot.toml is valid" in result.stdout
    # The quickstart's order: a database that `run` will create is not a failure.
    assert "⚠ database:" in result.stdout


def test_claim_aws_region_alone_sets_the_region(tmp_path: Path) -> None:
    if "AWS_REGION" not in README:
        pytest.skip("the README no longer mentions AWS_REGION")
    code = (
        "from bot.aws.clients import sts_client; from bot.aws.region import new_session;"
        "print(new_session().region_name, sts_client().meta.region_name)"
    )
    env = {**_env(tmp_path), "AWS_REGION": "eu-west-3", "AWS_CONFIG_FILE": "/nonexistent"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["eu-west-3", "eu-west-3"]


def test_claim_screenshot_wording_matches_the_script() -> None:
    script = (REPO / "scripts" / "screenshots.py").read_text()
    for text in (README, script):
        assert "documentation example credentials" not in text
        assert "documented example credentials" not in text
        assert "AKIAIOSFODNN7EXAMPLE" not in text  # AWS's documentation example key id
    # What the README says instead is what the script does: fresh random credentials.
    assert "made up at random" in README
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import screenshots
    finally:
        sys.path.remove(str(REPO / "scripts"))
    first, second = screenshots.sample_credentials(), screenshots.sample_credentials()
    assert first.access_key_id != second.access_key_id
    assert first.secret_access_key != second.secret_access_key
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", first.access_key_id)
