"""`aws-access-bot run --sandbox`: the real process, the Slack stand-in, no AWS env at all.

The whole flow (request -> approve -> DM link -> reveal) must work against the
in-process moto, and everything the bot sends to Slack must say "sandbox".
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from bot.cli import main
from bot.sandbox import INSTALL_HINT, SANDBOX_ACCOUNT
from bot.slack.surfaces.approval_message import APPROVE_ACTION, PROVISION_RETRY
from bot.slack.surfaces.sandbox_marks import SANDBOX_BLOCK_ID, SANDBOX_NOTE, SANDBOX_PREFIX
from tests.slack.conftest import ALICE, BOB, CONFIG, OWNER1, SECRET
from tests.support import slack_payloads as payloads
from tests.support.processes import BotProcess, run_env
from tests.support.slack_api import SlackApiStub, post_signed
from tests.support.vault import reveal_over_http

MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral")
VIEW_METHODS = ("views.open", "views.publish", "views.update", "views.push")


def _has_note(blocks: list[dict]) -> bool:
    return any(
        b.get("block_id") == SANDBOX_BLOCK_ID and SANDBOX_NOTE in json.dumps(b, ensure_ascii=False)
        for b in blocks
    )


def test_sandbox_runs_the_whole_flow_with_no_aws_and_marks_every_message(
    tmp_path: Path, slack_api: SlackApiStub, db_url: str
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG)
    # No AWS_* variable at all: the sandbox must not need (or use) any.
    env = run_env(config, db_url, slack_api_url=slack_api.base_url, signing_secret=SECRET)
    bot = BotProcess(["run", "--sandbox", "--no-scheduler"], env, tmp_path)
    url = f"{bot.url}/slack/events"
    try:
        bot.wait_ready()

        # The listeners' own answers: an ack with text, a modal.
        status, raw, _ = post_signed(url, payloads.slash_command(ALICE, "help"), SECRET)
        assert status == 200
        help_answer = json.loads(raw)
        assert help_answer["text"].startswith(SANDBOX_PREFIX)
        status, _, _ = post_signed(url, payloads.slash_command(ALICE, "developer"), SECRET)
        [opened] = slack_api.wait_for("views.open")
        assert opened["view"]["callback_id"] == "request_form"

        values = payloads.request_values("developer", "alice", console=True, programmatic=True)
        status, raw, _ = post_signed(
            url, payloads.view_submission(ALICE, opened["view"], values), SECRET
        )
        assert (status, raw) == (200, b"")
        slack_api.wait_for("chat.postMessage", 2)  # approval message + confirmation DM

        # A non-owner's click: an ephemeral from a listener, nothing changes.
        post_signed(url, payloads.block_action(BOB, APPROVE_ACTION, "1"), SECRET)
        slack_api.wait_for("chat.postEphemeral")
        post_signed(url, payloads.block_action(OWNER1, APPROVE_ACTION, "1"), SECRET)

        # Provisioned in the sandbox: the requester gets the one-time link.
        deadline = time.monotonic() + 30
        link = None
        while link is None and time.monotonic() < deadline:
            for call in slack_api.calls_to("chat.postMessage"):
                found = re.search(r"<(http[^|>]+/credentials/[^|>]+)\|", json.dumps(call))
                if found:
                    link = found.group(1)
            time.sleep(0.05)
        assert link, f"no credentials link was sent; calls: {slack_api.methods()}"
        status, revealed = reveal_over_http(link)
        assert status == 200 and revealed is not None
        assert revealed.user_name == "alice"
        assert revealed.access_key_id.startswith(("AKIA", "ASIA"))
        assert revealed.password and revealed.secret_access_key
        assert SANDBOX_ACCOUNT in revealed.console_url
        slack_api.wait_for("chat.postMessage", 4)  # "opened" notices follow the reveal

        # Retry on a provisioned request: the Retry listener is wired in `run`; it refuses.
        ephemerals = len(slack_api.calls_to("chat.postEphemeral"))
        post_signed(url, payloads.block_action(OWNER1, PROVISION_RETRY, "1"), SECRET)
        slack_api.wait_for("chat.postEphemeral", ephemerals + 1)
    finally:
        assert bot.stop() == 0
    output = bot.text()
    assert "Traceback" not in output
    assert "sandbox mode" in output

    sent = [(c.method, c.params) for c in slack_api.calls if c.method in MESSAGE_METHODS]
    assert {m for m, _ in sent} == set(MESSAGE_METHODS)
    for method, params in sent:
        assert params["text"].startswith(SANDBOX_PREFIX), (method, params["text"])
        if params.get("blocks"):
            assert _has_note(params["blocks"]), (method, params["blocks"])
    views = [c.params["view"] for c in slack_api.calls if c.method in VIEW_METHODS]
    assert views and all(_has_note(view["blocks"]) for view in views)
    # Marked once, even where the notifier and the client both could.
    assert all(p["text"].count(SANDBOX_PREFIX) == 1 for _, p in sent)


def test_sandbox_without_the_extra_says_how_to_install_it(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)  # what `import moto` sees without it
    assert main(["run", "--sandbox"], env={}) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [INSTALL_HINT]
    assert "pip install 'aws-access-bot[sandbox]'" in INSTALL_HINT
