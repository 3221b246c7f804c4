"""Pure Block Kit builders: shape, escaping, and Slack's limits."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, datetime

import pytest

from bot.domain.requests import RequestView
from bot.domain.states import Status
from bot.services.submit import RequestForm
from bot.settings import Profile
from bot.slack import blocks as b
from bot.slack.listeners.requests import form_from_view, parse_arguments

WHEN = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
PROFILES = tuple(
    Profile(f"p{i}", "x" * 200, ("g",) * 30, (), True, i % 2 == 0, 1) for i in range(120)
)
DEV = Profile("developer", "Dev", ("developers",), (), True, True, 1)
READONLY = Profile(
    "readonly", "RO", (), ("arn:aws:iam::aws:policy/ReadOnlyAccess",), True, False, 1
)


def view(**kw) -> RequestView:
    base = RequestView(
        id=7,
        requester_id="U0ALICE",
        profile="developer",
        iam_user_name="alice",
        console=True,
        programmatic=False,
        reason="fix the build",
        status=Status.PENDING,
        created_at=WHEN,
        approvals_required=2,
        groups=("developers",),
        approval_channel="C0APPROVALS",
        approval_ts="1.2",
    )
    return replace(base, **kw)


def texts(obj) -> list[str]:
    """Every text string in a Block Kit structure."""
    found: list[str] = []
    if isinstance(obj, dict):
        if obj.get("type") in ("mrkdwn", "plain_text") and isinstance(obj.get("text"), str):
            found.append(obj["text"])
        for value in obj.values():
            found += texts(value)
    elif isinstance(obj, list):
        for value in obj:
            found += texts(value)
    return found


def within_limits(blocks: list, limit: int) -> None:
    assert len(blocks) <= limit
    assert all(len(t) <= b.MAX_TEXT for t in texts(blocks))


def test_escape_within_never_splits_an_entity() -> None:
    escaped = b.escape_within("&" * 2000, 3000)
    assert len(escaped) <= 3000
    assert escaped.endswith("&amp;…")
    assert b.escape_within("<!channel>", 100) == "&lt;!channel&gt;"


def test_pending_approval_message() -> None:
    text, blocks = b.approval_message(view(approvers=("U0OWNER1",)))
    flat = json.dumps(blocks)
    assert "#7" in text
    assert "1 of 2 approvals: <@U0OWNER1>" in flat
    assert "<!date^1795856400^" in flat and "{ago}" in flat
    [actions] = [x for x in blocks if x["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["approve_request", "deny_request"]
    within_limits(blocks, b.MAX_MESSAGE_BLOCKS)


@pytest.mark.parametrize(
    ("status", "verb"),
    [(Status.APPROVED, "approved"), (Status.DENIED, "denied"), (Status.CANCELLED, "cancelled")],
)
def test_decided_message_has_no_buttons(status: Status, verb: str) -> None:
    decided = view(status=status, decided_by="U0OWNER2", decided_at=WHEN, deny_reason="<b> & c")
    _, blocks = b.approval_message(decided)
    assert not any(x["type"] == "actions" for x in blocks)
    # The outcome line; an approved request's provisioning progress may follow it.
    outcome = [x for x in blocks if x["type"] == "section"][-1]["text"]["text"]
    assert f"{verb} by <@U0OWNER2> <!date^" in outcome
    assert "&lt;b&gt; &amp; c" in outcome


def test_huge_user_text_stays_within_limits() -> None:
    request = view(
        reason="<&>" * 1000,
        iam_user_name="a" * 64,
        groups=tuple(f"group-{i}" for i in range(300)),
        policies=tuple(f"arn:aws:iam::aws:policy/P{i}" for i in range(300)),
        approvers=tuple(f"U{i:08d}" for i in range(200)),
        status=Status.DENIED,
        decided_by="U0OWNER1",
        decided_at=WHEN,
        deny_reason="&" * 3000,
    )
    _, blocks = b.approval_message(request)
    within_limits(blocks, b.MAX_MESSAGE_BLOCKS)
    assert all(len(f["text"]) <= b.MAX_FIELD for x in blocks for f in x.get("fields", []))
    assert "<&>" not in json.dumps(blocks)


def test_home_view_limits_with_long_queues() -> None:
    many = [view(id=i, reason="&" * 1000) for i in range(200)]
    home = b.home_view(many, many, notice="hello")
    within_limits(home["blocks"], b.MAX_VIEW_BLOCKS)
    assert home["type"] == "home"
    assert "…and 180 more" in json.dumps(home, ensure_ascii=False)


def test_home_view_for_non_owner_has_no_queue() -> None:
    home = b.home_view([view()], None)
    flat = json.dumps(home)
    assert "Waiting for you" not in flat and "approve_request" not in flat
    assert "cancel_request" in flat


def test_status_message_limits() -> None:
    _, blocks = b.status_message([view(id=i) for i in range(500)])
    within_limits(blocks, b.MAX_MESSAGE_BLOCKS)
    assert "…and 480 older" in json.dumps(blocks, ensure_ascii=False)
    assert b.status_message([])[0] == "You have no access requests."


def test_request_modal_limits_and_prefill() -> None:
    modal = b.request_modal(PROFILES, profile="p3", iam_user_name="x" * 99, reason="r" * 5000)
    within_limits(modal["blocks"], b.MAX_VIEW_BLOCKS)
    elements = {x["block_id"]: x["element"] for x in modal["blocks"]}
    assert len(elements["profile"]["options"]) == 100  # Slack's static_select maximum
    assert elements["profile"]["initial_option"]["value"] == "p3"
    assert len(elements["iam_user_name"]["initial_value"]) == 64
    assert len(elements["reason"]["initial_value"]) == b.MAX_REASON_INPUT
    assert [o["value"] for o in elements["access"]["initial_options"]] == ["console"]
    assert all(len(t) <= 75 for t in texts(elements["profile"]["options"]))
    assert len(modal["title"]["text"]) <= 24


def test_modal_block_ids_are_the_form_fields() -> None:
    """The service's inline errors are keyed by RequestForm fields: they must be block ids."""
    modal = b.request_modal((DEV,))
    block_ids = {x["block_id"] for x in modal["blocks"]}
    form_fields = {f.name for f in fields(RequestForm)} - {
        "requester_id",
        "console",
        "programmatic",
    }
    assert form_fields | {"access"} == block_ids


def test_deny_modal_and_help() -> None:
    modal = b.deny_modal(123456, '{"request_id": 123456}')
    assert len(modal["title"]["text"]) <= 24
    assert modal["blocks"][0]["optional"] is True
    assert len(b.help_text(PROFILES)) <= b.MAX_TEXT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (None, "")),
        ("developer", ("developer", "")),
        ("Developer need logs", ("developer", "need logs")),
        ("need developer logs", (None, "need developer logs")),
        ("readonly   spaced  reason ", ("readonly", "spaced  reason")),
    ],
)
def test_parse_arguments(text: str, expected: tuple) -> None:
    assert parse_arguments(text, (DEV, READONLY)) == expected


def test_form_from_view_tolerates_missing_values() -> None:
    form = form_from_view("U1", {})
    assert form == RequestForm("U1", "", "", False, False, "")
    values = {
        "profile": {"profile": {"selected_option": {"value": "developer"}}},
        "access": {"access": {"selected_options": [{"value": "programmatic"}]}},
        "iam_user_name": {"iam_user_name": {"value": None}},
    }
    form = form_from_view("U1", values)
    assert (form.profile, form.console, form.programmatic, form.iam_user_name) == (
        "developer",
        False,
        True,
        "",
    )
