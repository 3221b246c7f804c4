"""The Slack surfaces' pure builders and parsers: shape, escaping, Slack's limits, and
the one request-id parser."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.config import Profile
from bot.domain.credentials import IssuedLink
from bot.domain.requests import RequestView
from bot.domain.rules import PROFILE_GONE
from bot.domain.states import Status
from bot.services.submit import RequestForm
from bot.slack.surfaces import app_home, dms, request_modal
from bot.slack.surfaces import approval_message as approval
from bot.slack.surfaces import blockkit as b

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
    text, blocks = approval.build(view(approvers=("U0OWNER1",)))
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
    _, blocks = approval.build(decided)
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
    _, blocks = approval.build(request)
    within_limits(blocks, b.MAX_MESSAGE_BLOCKS)
    assert all(len(f["text"]) <= b.MAX_FIELD for x in blocks for f in x.get("fields", []))
    assert "<&>" not in json.dumps(blocks)


def test_home_view_limits_with_long_queues() -> None:
    many = [view(id=i, reason="&" * 1000) for i in range(200)]
    home = app_home.home_view(many, many, notice="hello")
    within_limits(home["blocks"], b.MAX_VIEW_BLOCKS)
    assert home["type"] == "home"
    assert "…and 180 more" in json.dumps(home, ensure_ascii=False)


def test_home_view_for_non_owner_has_no_queue() -> None:
    home = app_home.home_view([view()], None)
    flat = json.dumps(home)
    assert "Waiting for you" not in flat and "approve_request" not in flat
    assert "cancel_request" in flat


def test_status_message_limits() -> None:
    _, blocks = app_home.status_message([view(id=i) for i in range(500)])
    within_limits(blocks, b.MAX_MESSAGE_BLOCKS)
    assert "…and 480 older" in json.dumps(blocks, ensure_ascii=False)
    assert app_home.status_message([])[0] == "You have no access requests."


def test_request_modal_limits_and_prefill() -> None:
    modal = request_modal.build(PROFILES, profile="p3", iam_user_name="x" * 99, reason="r" * 5000)
    within_limits(modal["blocks"], b.MAX_VIEW_BLOCKS)
    elements = {x["block_id"]: x["element"] for x in modal["blocks"]}
    assert len(elements["profile"]["options"]) == 100  # Slack's static_select maximum
    assert elements["profile"]["initial_option"]["value"] == "p3"
    assert len(elements["iam_user_name"]["initial_value"]) == 64
    assert len(elements["reason"]["initial_value"]) == request_modal.MAX_REASON_INPUT
    assert [o["value"] for o in elements["access"]["initial_options"]] == ["console"]
    assert all(len(t) <= 75 for t in texts(elements["profile"]["options"]))
    assert len(modal["title"]["text"]) <= 24


def test_modal_block_ids_are_the_form_fields() -> None:
    """The service's inline errors are keyed by RequestForm fields: they must be block ids."""
    # With a time-bound profile the form asks for a duration (flow 6).
    brief = replace(DEV, name="brief", max_duration=timedelta(days=1))
    modal = request_modal.build((DEV, brief))
    block_ids = {x["block_id"] for x in modal["blocks"]}
    form_fields = {f.name for f in fields(RequestForm)} - {
        "requester_id",
        "console",
        "programmatic",
        "extends_request_id",  # a Request extension's form carries it in private_metadata
    }
    assert form_fields | {"access"} == block_ids
    assert "duration" not in {x["block_id"] for x in request_modal.build((DEV,))["blocks"]}


def test_deny_modal_and_help() -> None:
    modal = approval.deny_modal(123456, approval.Origin(channel="C0APPROVALS"))
    assert len(modal["title"]["text"]) <= 24
    assert modal["blocks"][0]["optional"] is True
    assert len(request_modal.help_text(PROFILES)) <= b.MAX_TEXT


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
    assert request_modal.parse_arguments(text, (DEV, READONLY)) == expected


def test_form_parse_tolerates_missing_values() -> None:
    form = request_modal.parse("U1", {})
    assert form == RequestForm("U1", "", "", False, False, "")
    values = {
        "profile": {"profile": {"selected_option": {"value": "developer"}}},
        "access": {"access": {"selected_options": [{"value": "programmatic"}]}},
        "iam_user_name": {"iam_user_name": {"value": None}},
    }
    form = request_modal.parse("U1", values)
    assert (form.profile, form.console, form.programmatic, form.iam_user_name) == (
        "developer",
        False,
        True,
        "",
    )


# --- a request whose profile left the config ------------------------------------


def test_pending_request_whose_profile_is_gone_offers_deny_only_and_says_why() -> None:
    text, blocks = approval.build(view(profile_available=False))
    [actions] = [x for x in blocks if x["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [approval.DENY_ACTION]
    flat = json.dumps(blocks)
    assert approval.APPROVE_ACTION not in flat
    assert f"cannot be approved: {PROFILE_GONE}" in flat
    # The same request while its profile exists shows no such line.
    assert PROFILE_GONE not in json.dumps(approval.build(view())[1])


def test_home_queue_of_a_request_whose_profile_is_gone() -> None:
    home = app_home.home_view([], [view(profile_available=False), view(id=8)])
    actions = {x["block_id"]: x["elements"] for x in home["blocks"] if x["type"] == "actions"}
    assert [e["action_id"] for e in actions["decision-7"]] == [approval.DENY_ACTION]
    assert [e["action_id"] for e in actions["decision-8"]] == [
        approval.APPROVE_ACTION,
        approval.DENY_ACTION,
    ]
    assert PROFILE_GONE in json.dumps(home)


def test_a_decided_request_whose_profile_is_gone_shows_only_its_outcome() -> None:
    denied = view(profile_available=False, status=Status.DENIED, decided_by="U0OWNER1")
    _, blocks = approval.build(denied)
    assert not any(x["type"] == "actions" for x in blocks)
    assert PROFILE_GONE not in json.dumps(blocks)


# --- the one request-id parser ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7),
        ("123456789", 123456789),
        (42, 42),
        # missing
        (None, None),
        ("", None),
        # garbled
        (" 7", None),
        ("7 ", None),
        ("7.0", None),
        ("0x7", None),
        ("-7", None),
        ("+7", None),
        ("0", None),
        ("1e3", None),
        ("seven", None),
        # forged
        ("1; DROP TABLE", None),
        ("1 OR 1=1", None),
        ("²", None),  # str.isdigit() says yes, int() says no
        ("٣", None),  # an Arabic-Indic three: a digit to Python, not an id to us
        ("9" * 30, None),  # beyond any stored id
        (True, None),
        (7.0, None),
        (["7"], None),
        ({"id": 7}, None),
    ],
)
def test_parse_request_id(value: object, expected: int | None) -> None:
    assert approval.parse_request_id(value) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"actions": [{"action_id": "approve_request", "value": "12"}]}, 12),
        ({"actions": [{"action_id": "approve_request"}]}, None),
        ({"actions": []}, None),
        ({"actions": None}, None),
        ({"actions": "12"}, None),
        ({"actions": ["12"]}, None),
        ({}, None),
    ],
)
def test_request_id_of_a_block_action(body: dict, expected: int | None) -> None:
    assert approval.request_id_of(body) == expected


@pytest.mark.parametrize(
    "origin", [approval.Origin(channel="C0APPROVALS"), approval.Origin(home=True)]
)
def test_deny_modal_round_trip(origin: approval.Origin) -> None:
    modal = approval.deny_modal(31, origin)
    values = {"deny_reason": {"deny_reason": {"type": "plain_text_input", "value": "no <b>"}}}
    submitted = approval.parse_deny({**modal, "state": {"values": values}})
    assert submitted == approval.DenySubmission(31, "no <b>", origin)
    empty = approval.parse_deny({**modal, "state": {"values": {}}})
    assert (empty.request_id, empty.reason) == (31, "")


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        "not json",
        "[31]",
        '{"request_id": "31; DROP"}',
        '{"request_id": null}',
        '{"channel": "C0APPROVALS"}',
    ],
)
def test_deny_modal_with_garbled_metadata_names_no_request(metadata: str) -> None:
    submitted = approval.parse_deny({"private_metadata": metadata})
    assert submitted.request_id is None and submitted.reason == ""


# --- DMs ------------------------------------------------------------------------------


def test_credentials_link_is_in_the_blocks_only() -> None:
    link = IssuedLink("abc", "https://bot.example/c/abc#s3cr3t-key", WHEN)
    text, blocks = dms.credentials_link_message(view(), link)
    assert "s3cr3t" not in text and "https://" not in text
    assert "<https://bot.example/c/abc#s3cr3t-key|" in json.dumps(blocks)
    assert "<!date^1795856400^" in json.dumps(blocks)


def test_decision_dms_escape_user_text() -> None:
    request = view(profile="dev<ops>", deny_reason="<!here> & no")
    assert "*dev&lt;ops&gt;*" in dms.approved_text(request, "U0OWNER1")
    assert "approved by <@U0OWNER1>" in dms.approved_text(request, "U0OWNER1")
    denied = dms.denied_text(request, "U0OWNER2")
    assert "denied by <@U0OWNER2>. Reason: &lt;!here&gt; &amp; no" in denied
    assert "Reason" not in dms.denied_text(view(), "U0OWNER2")
    delayed = dms.delayed_text(view(iam_user_name="<@U1>"))
    assert "#7" in delayed and "&lt;@U1&gt;" in delayed
