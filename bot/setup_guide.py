"""What `aws-access-bot run` prints when it cannot start: every problem at once, one line
each, and on a first run (no config file yet) the steps that set the bot up."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from bot.settings import Settings, SettingsError, load_config, load_settings

_STEPS = """\

To set the bot up:
  1. Config file: cp config/bot.example.toml config/bot.toml (or point BOT_CONFIG at
     yours) and set slack.approval_channel, slack.owners and the [[profiles]].
  2. Slack app: run `{prog} manifest --url https://<your public URL>` (add
     --socket-mode to run without a public URL), paste the output at
     https://api.slack.com/apps -> Create New App -> From an app manifest, install the
     app to your workspace and /invite it to the approval channel.
  3. Tokens, in .env (every command reads it; the environment wins) or the environment:
       SLACK_BOT_TOKEN=xoxb-...     OAuth & Permissions -> Bot User OAuth Token
       SLACK_SIGNING_SECRET=...     Basic Information -> App Credentials -> Signing Secret
     or, for Socket Mode instead of the signing secret:
       SLACK_APP_TOKEN=xapp-...     Basic Information -> App-Level Tokens (connections:write)
"""
_AWS_STEP = """\
  {n}. AWS: give the bot an IAM identity with the policy from `{prog} iam-policy`
     and its credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY) and
     a region (AWS_REGION or AWS_DEFAULT_REGION).
"""
_CHECK_STEP = """\
  {n}. Run `{prog} check{sandbox}`{make}, then start again."""


def command_name(env: Mapping[str, str] | None = None) -> str:
    """How to run the CLI here: `aws-access-bot` when it is on PATH, else the
    virtualenv's (`.venv/bin/aws-access-bot`, which `make` creates)."""
    env = os.environ if env is None else env
    if shutil.which("aws-access-bot", path=env.get("PATH")):
        return "aws-access-bot"
    if Path(".venv/bin/aws-access-bot").exists():
        return ".venv/bin/aws-access-bot"
    return "aws-access-bot"


def first_run_guide(prog: str = "aws-access-bot", *, sandbox: bool = False) -> str:
    """The set-up steps; a sandbox needs no AWS step (AWS is faked in-process)."""
    guide = _STEPS.format(prog=prog)
    if not sandbox:
        guide += _AWS_STEP.format(n=4, prog=prog)
    return guide + _CHECK_STEP.format(
        n=4 if sandbox else 5,
        prog=prog,
        sandbox=" --sandbox" if sandbox else "",
        make="" if sandbox else " (or `make check`)",
    )


FIRST_RUN_GUIDE = first_run_guide()


def startup_problems(env: Mapping[str, str]) -> tuple[list[str], bool]:
    """(every problem with the environment, config file and Slack tokens; is it a first
    run, i.e. is the config file missing?). Empty problems means `run` can load its
    settings."""
    try:
        settings = load_settings(env, need_config=False)
    except SettingsError as exc:
        return exc.problems, False
    problems: list[str] = []
    first_run = False
    try:
        load_config(settings.config_path)
    except SettingsError as exc:
        first_run = any(line.startswith("BOT_CONFIG:") for line in exc.problems)
        if not first_run:
            # A config file with mistakes: exactly its lines, nothing else to distract.
            return exc.problems, False
        problems += exc.problems
    try:
        load_settings(env, need_config=False, need_slack=True)
    except SettingsError as exc:
        # With a config file in place this is not a first run: each missing or malformed
        # token is its own line, which already says where to get it.
        problems += exc.problems
    return problems, first_run


def settings_for_run(env: Mapping[str, str], *, sandbox: bool = False) -> Settings:
    """`run`'s settings, or SettingsError with every problem (and, on a first run, the
    set-up steps after them: without the AWS step for `run --sandbox`)."""
    problems, first_run = startup_problems(env)
    if problems:
        guide = first_run_guide(command_name(env), sandbox=sandbox)
        raise SettingsError(problems + ([guide] if first_run else []))
    return load_settings(env, need_config=True, need_slack=True)
