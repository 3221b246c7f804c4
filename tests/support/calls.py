"""Find the AWS and Slack API methods the bot's code calls, by reading its source (AST).

`self.iam.create_user(...)`, `iam.get_paginator("list_access_keys")`, `sts.get_caller_identity()`
-> IAM/STS operation names; `client.chat_postMessage(...)`, `self.client.users_info(...)`
-> Slack Web API methods. Tests compare these with the IAM policy and the manifest's scopes,
so a call added anywhere under bot/ must be granted there too.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
AWS_RECEIVERS = {
    "iam": "iam",
    "iam_client": "iam",
    "iam_once": "iam",  # retries off: bot/aws/keys.py
    "sts": "sts",
    "sts_client": "sts",
}
SLACK_RECEIVERS = {"client", "web_client", "slack_client"}
# boto3 client helpers that are not API operations themselves.
BOTO_HELPERS = {"can_paginate", "close", "generate_presigned_url", "get_paginator", "get_waiter"}
BOTO_ATTRIBUTES = {"exceptions", "meta", "waiter_names"}
# Web API method families (users_info -> users.info); other client attributes are not calls.
SLACK_FAMILIES = {
    "admin",
    "apps",
    "assistant",
    "auth",
    "bookmarks",
    "bots",
    "calls",
    "canvases",
    "chat",
    "conversations",
    "dialog",
    "dnd",
    "emoji",
    "files",
    "functions",
    "oauth",
    "openid",
    "pins",
    "reactions",
    "reminders",
    "rtm",
    "search",
    "stars",
    "team",
    "usergroups",
    "users",
    "views",
    "workflows",
}
# Waiters poll one operation each.
WAITER_OPERATIONS = {"user_exists": "get_user", "policy_exists": "get_policy"}


@dataclass(frozen=True)
class Call:
    service: str  # "iam", "sts" or "slack"
    method: str  # snake_case as written: create_user, chat_postMessage
    where: str  # file:line, for failure messages


def _receiver(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _first_string(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def scan_source(source: str, filename: str = "<source>") -> list[Call]:
    """Every API method referenced on an IAM/STS/Slack client: called directly, or
    passed along as a bound method (`self._call(..., self.client.chat_update, ...)`)."""
    found: list[Call] = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = _receiver(node.func.value)
            method = node.func.attr
            if receiver in AWS_RECEIVERS and method in ("get_paginator", "get_waiter"):
                name = _first_string(node)
                if name is None:
                    raise AssertionError(f"{where}: {method} with a non-literal name")
                name = WAITER_OPERATIONS.get(name, name) if method == "get_waiter" else name
                found.append(Call(AWS_RECEIVERS[receiver], name, where))
        if not isinstance(node, ast.Attribute):
            continue
        receiver = _receiver(node.value)
        method = node.attr
        if receiver in AWS_RECEIVERS:
            if method not in BOTO_HELPERS | BOTO_ATTRIBUTES and not method.startswith("_"):
                found.append(Call(AWS_RECEIVERS[receiver], method, where))
        elif receiver in SLACK_RECEIVERS and method.partition("_")[0] in SLACK_FAMILIES:
            found.append(Call("slack", method, where))
    return found


# AWS calls here only ever reach the in-process moto of `run --sandbox` (it seeds the
# profiles' groups and policies there): the bot's real IAM policy must not grant them.
MOTO_ONLY = {"bot/sandbox.py"}


def scan_bot(root: Path = BOT) -> list[Call]:
    calls: list[Call] = []
    for path in sorted(root.rglob("*.py")):
        name = str(path.relative_to(root.parent))
        found = scan_source(path.read_text(encoding="utf-8"), name)
        if name in MOTO_ONLY:
            found = [c for c in found if c.service not in AWS_RECEIVERS.values()]
        calls += found
    return calls


def iam_action(call: Call) -> str:
    """create_user -> iam:CreateUser, list_mfa_devices -> iam:ListMFADevices.

    boto3 method names are botocore's operation names in snake case; the service model
    maps them back exactly (plain capitalisation gets acronyms like MFA wrong).
    """
    operations = _operations(call.service)
    return f"{call.service}:" + operations.get(
        call.method, "".join(part.capitalize() for part in call.method.split("_"))
    )


@functools.cache
def _operations(service: str) -> dict[str, str]:
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def slack_method(call: Call) -> str:
    """chat_postMessage -> chat.postMessage."""
    family, _, rest = call.method.partition("_")
    return f"{family}.{rest}"
