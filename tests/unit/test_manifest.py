"""The Slack app manifest asks for exactly the scopes the code needs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from bot.slack.manifest import PLACEHOLDER_URL, ManifestError, manifest, render_manifest, to_yaml
from tests.support.calls import BOT, scan_bot, slack_method
from tests.support.processes import REPO, run_cli

# Web API method -> bot scopes it needs (api.slack.com/methods/<method>).
METHOD_SCOPES: dict[str, set[str]] = {
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.delete": {"chat:write"},
    "chat.getPermalink": set(),
    "conversations.open": {"im:write"},
    "conversations.info": {"channels:read", "groups:read"},
    "users.info": {"users:read"},
    "users.lookupByEmail": {"users:read.email"},
    "views.open": set(),
    "views.update": set(),
    "views.push": set(),
    "views.publish": set(),
    "auth.test": set(),
}


def reads_email(root: Path = BOT) -> list[str]:
    """Places that read a user's e-mail (`profile["email"]`, `.get("email")`): users.info
    returns it only with users:read.email."""
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            key = None
            if isinstance(node, ast.Subscript):
                key = node.slice
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                key = node.args[0] if node.func.attr == "get" and node.args else None
            if isinstance(key, ast.Constant) and key.value == "email":
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def needed_scopes() -> set[str]:
    scopes = {"commands"}  # the slash command
    for call in scan_bot():
        if call.service != "slack":
            continue
        method = slack_method(call)
        assert method in METHOD_SCOPES, (
            f"{call.where} calls {method}: add its scopes to METHOD_SCOPES in this test "
            "(see api.slack.com/methods) and to BOT_SCOPES in bot/slack/manifest.py"
        )
        scopes |= METHOD_SCOPES[method]
    if reads_email():
        scopes.add("users:read.email")
    return scopes


def test_manifest_scopes_equal_what_the_code_calls() -> None:
    declared = set(
        yaml.safe_load(render_manifest(PLACEHOLDER_URL))["oauth_config"]["scopes"]["bot"]
    )
    needed = needed_scopes()
    assert declared == needed, (
        f"missing from BOT_SCOPES in bot/slack/manifest.py: {sorted(needed - declared)}; "
        f"not used by the code: {sorted(declared - needed)} "
        "(then regenerate config/manifest.yml)"
    )


def test_http_manifest_points_everything_at_slack_events() -> None:
    doc = yaml.safe_load(render_manifest("https://bot.example.com/"))
    url = "https://bot.example.com/slack/events"
    [command, revoke] = doc["features"]["slash_commands"]
    assert (command["command"], command["url"]) == ("/request-aws-access", url)
    # Flow 6: owners revoke by mention; Slack escapes it to the member's id.
    assert (revoke["command"], revoke["url"]) == ("/revoke-aws-access", url)
    assert revoke["should_escape"] is True
    assert doc["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    assert doc["settings"]["event_subscriptions"] == {
        "bot_events": ["app_home_opened", "user_change"],
        "request_url": url,
    }
    assert doc["features"]["app_home"]["home_tab_enabled"] is True
    assert doc["features"]["app_home"]["messages_tab_enabled"] is True
    assert doc["settings"]["socket_mode_enabled"] is False


def test_socket_mode_manifest_has_no_request_urls() -> None:
    doc = manifest(None, socket_mode=True)
    assert doc["settings"]["socket_mode_enabled"] is True
    assert all("url" not in c for c in doc["features"]["slash_commands"])
    assert "request_url" not in doc["settings"]["interactivity"]
    assert "request_url" not in doc["settings"]["event_subscriptions"]


@pytest.mark.parametrize("url", [None, "", "bot.example.com", "ftp://bot.example.com"])
def test_http_manifest_needs_a_url(url) -> None:
    with pytest.raises(ManifestError):
        manifest(url)


def test_checked_in_template_is_generated() -> None:
    assert (REPO / "config" / "manifest.yml").read_text() == render_manifest(PLACEHOLDER_URL), (
        f"regenerate: aws-access-bot manifest --url {PLACEHOLDER_URL} > config/manifest.yml"
    )


@pytest.mark.parametrize(
    "value",
    [
        {"a": "colon: and # hash", "b": ["x", {"c": True, "d": [1, 2]}], "e": {}},
        {"quotes": 'say "hi" it\'s', "unicode": "café ✓", "empty": [], "none": None},
        [{"k": "v", "n": {"deep": ["1", "2"]}}, "yes", "no", "on", "null", "123"],
    ],
)
def test_yaml_emitter_round_trips(value) -> None:
    assert yaml.safe_load(to_yaml(value)) == value


def test_manifest_command(tmp_path: Path) -> None:
    result = run_cli(["manifest", "--url", "https://bot.example.com"], {}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == manifest("https://bot.example.com")
    socket = run_cli(["manifest", "--socket-mode"], {}, cwd=tmp_path)
    assert yaml.safe_load(socket.stdout)["settings"]["socket_mode_enabled"] is True
    bad = run_cli(["manifest"], {}, cwd=tmp_path)
    assert bad.returncode == 1
    assert "--url is required" in bad.stderr
