"""Pictures of the bot's Slack surfaces for the README, from its REAL Block Kit.

Every picture is built by the bot's own Block Kit builders (bot/slack/surfaces/) for a
sample request, turned into HTML by a small Block Kit renderer that looks like Slack
(sections, fields, context, buttons, inputs, header, divider; mrkdwn, mentions, dates,
emoji), and captured with headless Chromium (Playwright). A button or block another
change adds to a builder shows up the next time this runs:

    python scripts/slack_screens.py                # writes docs/screens/*.png
    python scripts/slack_screens.py --out /tmp/x   # somewhere else
    python scripts/slack_screens.py --html /tmp/h  # the HTML only (no browser needed)

`make screenshots` runs this and scripts/screenshots.py (the credential page).
Chromium: $CHROMIUM, else chromium on PATH, else /usr/bin/chromium. Emoji need a colour
emoji font (Debian: apt-get install fonts-noto-color-emoji).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bot.domain.credentials import IssuedLink  # noqa: E402
from bot.domain.requests import RequestView  # noqa: E402
from bot.domain.reviews import (  # noqa: E402
    Decision,
    GrantUsage,
    Review,
    ReviewItem,
    ReviewState,
    ReviewStatus,
)
from bot.domain.revocation import RevokePlan  # noqa: E402
from bot.domain.rotation import KeyAge  # noqa: E402
from bot.domain.states import Status  # noqa: E402
from bot.settings import BotConfig, parse_config  # noqa: E402
from bot.slack.surfaces import (  # noqa: E402
    app_home,
    approval_message,
    dms,
    key_rotation,
    request_modal,
    review_message,
    revoke_modal,
    time_bound,
)

# The sample story: Alice asks for developer access; Dana (an owner) approves.
NOW = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
USERS = {
    "U0ALICE": "alice",
    "U0DANA": "dana",
    "U0SAM": "sam",
    "U0OWNER": "dana",
    "U0123OWNER": "dana",
}
BOT_NAME = "AWS Access"
WIDTH = 760
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

EMOJI = {
    "key": "🔑",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "white_check_mark": "✅",
    "gear": "⚙️",
    "no_entry": "⛔",
    "heavy_multiplication_x": "✖️",
    "warning": "⚠️",
    "wastebasket": "🗑️",
    "lock": "🔒",
    "test_tube": "🧪",
    "x": "❌",
    "bell": "🔔",
    "arrows_counterclockwise": "🔄",
    "repeat": "🔁",
    "alarm_clock": "⏰",
    "mag": "🔍",
    "clipboard": "📋",
    "calendar": "📅",
    "heavy_minus_sign": "➖",
}


def chromium_path() -> str:
    given = os.environ.get("CHROMIUM", "").strip()
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium"


# --- mrkdwn -> HTML --------------------------------------------------------------------


def _date(seconds: int, fmt: str) -> str:
    when = datetime.fromtimestamp(seconds, UTC)
    ago = NOW - when
    if ago < timedelta(minutes=1):
        ago_text = "just now"
    elif ago < timedelta(hours=1):
        ago_text = f"{int(ago.total_seconds() // 60)} minutes ago"
    elif ago < timedelta(days=1):
        ago_text = f"{int(ago.total_seconds() // 3600)} hours ago"
    else:
        ago_text = f"{ago.days} days ago"
    day = "Today" if when.date() == NOW.date() else when.strftime("%b %-d")
    if when.date() == (NOW + timedelta(days=1)).date():
        day = "Tomorrow"
    return (
        fmt.replace("{date_short_pretty}", day)
        .replace("{date_short}", when.strftime("%b %-d, %Y"))
        .replace("{date}", when.strftime("%B %-d, %Y"))
        .replace("{time}", when.strftime("%H:%M"))
        .replace("{ago}", ago_text)
    )


def _token(match: re.Match[str]) -> str:
    inner = html.unescape(match.group(1))  # e.g. <@U0ALICE>, <!date^...>, <url|label>
    if inner.startswith("@"):
        name = USERS.get(inner[1:].split("|")[0], inner[1:])
        return f'<span class="mention">@{html.escape(name)}</span>'
    if inner.startswith("#"):
        return f'<span class="mention">#{html.escape(inner[1:].split("|")[-1])}</span>'
    if inner.startswith("!date^"):
        parts = inner.split("|")[0].split("^")
        return html.escape(_date(int(parts[1]), parts[2] if len(parts) > 2 else "{date}"))
    if inner.startswith("!"):
        return f'<span class="mention">@{html.escape(inner[1:].split("|")[0])}</span>'
    url, _, label = inner.partition("|")
    return f'<a href="#">{html.escape(label or url)}</a>'


def mrkdwn(text: str) -> str:
    # Slack's own escaping is &amp; &lt; &gt;: a literal "<" in the text is "&lt;", and
    # a real "<...>" is a mention, a link or a date.
    tokens: list[str] = []

    def token(match: re.Match[str]) -> str:
        tokens.append(_token(match))
        return f"\x01{len(tokens) - 1}\x01"

    out = re.sub(r"<([^<>]+)>", token, text)
    out = html.escape(html.unescape(out), quote=False)
    codes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        codes.append(match.group(1))
        return f"\x00{len(codes) - 1}\x00"

    out = re.sub(r"```(.+?)```", lambda m: f"<pre>{m.group(1)}</pre>", out, flags=re.S)
    out = re.sub(r"`([^`\n]+)`", keep, out)
    out = re.sub(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])", r"<i>\1</i>", out)
    out = re.sub(r"(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])", r"<s>\1</s>", out)
    out = re.sub(r":([a-z0-9_+-]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), out)
    out = re.sub(r"\x00(\d+)\x00", lambda m: f"<code>{codes[int(m.group(1))]}</code>", out)
    out = re.sub(r"\x01(\d+)\x01", lambda m: tokens[int(m.group(1))], out)
    return out.replace("\n", "<br>")


def text_of(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(obj.get("text", ""))
    plain = html.escape(obj.get("text", ""))
    if obj.get("emoji", True):
        plain = re.sub(r":([a-z0-9_+-]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), plain)
    return plain


# --- Block Kit -> HTML -----------------------------------------------------------------


def element(el: dict[str, Any]) -> str:
    kind = el.get("type")
    if kind == "button":
        style = el.get("style", "")
        return f'<span class="button {style}">{text_of(el.get("text"))}</span>'
    if kind in ("static_select", "users_select", "conversations_select", "external_select"):
        chosen = el.get("initial_option") or {}
        label = text_of(chosen.get("text")) if chosen else text_of(el.get("placeholder"))
        return f'<span class="select">{label or "Select"}<span class="caret">⌄</span></span>'
    if kind == "overflow":
        return '<span class="button">⋯</span>'
    if kind == "plain_text_input":
        value = html.escape(el.get("initial_value", "")) or (
            f'<span class="placeholder">{text_of(el.get("placeholder"))}</span>'
        )
        cls = "textarea" if el.get("multiline") else "textinput"
        return f'<div class="{cls}">{value}</div>'
    if kind in ("checkboxes", "radio_buttons"):
        chosen = {o.get("value") for o in el.get("initial_options", [])}
        if el.get("initial_option"):
            chosen.add(el["initial_option"].get("value"))
        mark = "☑" if kind == "checkboxes" else "◉"
        empty = "☐" if kind == "checkboxes" else "○"
        rows = []
        for option in el.get("options", []):
            box = mark if option.get("value") in chosen else empty
            desc = option.get("description")
            rows.append(
                f'<div class="option"><span class="box">{box}</span> {text_of(option["text"])}'
                + (f'<div class="hint">{text_of(desc)}</div>' if desc else "")
                + "</div>"
            )
        return "".join(rows)
    if kind == "image":
        return '<span class="image"></span>'
    if kind in ("mrkdwn", "plain_text"):
        return f"<span>{text_of(el)}</span>"
    if kind == "datepicker":
        return f'<span class="select">{html.escape(el.get("initial_date", "date"))}</span>'
    return f'<span class="unknown">[{html.escape(str(kind))}]</span>'


def block(b: dict[str, Any]) -> str:
    kind = b.get("type")
    if kind == "section":
        body = f'<div class="text">{text_of(b.get("text"))}</div>' if b.get("text") else ""
        if b.get("fields"):
            body += '<div class="fields">'
            body += "".join(f'<div class="field">{text_of(f)}</div>' for f in b["fields"])
            body += "</div>"
        accessory = b.get("accessory")
        side = f'<div class="accessory">{element(accessory)}</div>' if accessory else ""
        return f'<div class="block section"><div class="main">{body}</div>{side}</div>'
    if kind == "context":
        parts = " ".join(element(e) for e in b.get("elements", []))
        return f'<div class="block context">{parts}</div>'
    if kind == "actions":
        parts = " ".join(element(e) for e in b.get("elements", []))
        return f'<div class="block actions">{parts}</div>'
    if kind == "header":
        return f'<div class="block header">{text_of(b.get("text"))}</div>'
    if kind == "divider":
        return '<hr class="block divider">'
    if kind == "input":
        optional = ' <span class="hint">(optional)</span>' if b.get("optional") else ""
        hint = f'<div class="hint">{text_of(b.get("hint"))}</div>' if b.get("hint") else ""
        return (
            f'<div class="block input"><div class="label">{text_of(b.get("label"))}'
            f"{optional}</div>{element(b.get('element', {}))}{hint}</div>"
        )
    if kind == "rich_text":
        return '<div class="block">[rich text]</div>'
    return f'<div class="block unknown">[{html.escape(str(kind))} block]</div>'


def blocks_html(blocks: list[dict[str, Any]]) -> str:
    return "".join(block(b) for b in blocks)


def message(blocks: list[dict[str, Any]] | None, text: str = "", when: str = "10:30") -> str:
    body = blocks_html(blocks) if blocks else f'<div class="block">{mrkdwn(text)}</div>'
    return (
        '<div class="message"><div class="avatar">🔑</div><div class="content">'
        f'<div class="meta"><b>{BOT_NAME}</b> <span class="app">APP</span> '
        f'<span class="time">{when}</span></div>{body}</div></div>'
    )


def modal(view: dict[str, Any]) -> str:
    submit = text_of(view.get("submit")) if view.get("submit") else ""
    close = text_of(view.get("close")) if view.get("close") else "Close"
    buttons = f'<span class="button">{close}</span>'
    if submit:
        buttons += f' <span class="button primary">{submit}</span>'
    return (
        f'<div class="modal"><div class="modal-title">{text_of(view.get("title"))}'
        '<span class="x">✕</span></div>'
        f'<div class="modal-body">{blocks_html(view.get("blocks", []))}</div>'
        f'<div class="modal-footer">{buttons}</div></div>'
    )


def channel(title: str, inner: str, tab: str = "") -> str:
    tabs = f'<div class="tabs">{tab}</div>' if tab else ""
    return f'<div class="pane"><div class="pane-title">{title}</div>{tabs}{inner}</div>'


CSS = """
body { margin: 0; background: #f8f8f8; font: 15px/1.46668 -apple-system, "Segoe UI",
  "Noto Sans", "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1d1c1d; }
.pane { background: #fff; margin: 12px; border: 1px solid #ddd; border-radius: 8px;
  overflow: hidden; }
.pane-title { font-weight: 800; padding: 12px 20px; border-bottom: 1px solid #ddd; }
.tabs { padding: 6px 20px; border-bottom: 1px solid #ddd; color: #616061; font-size: 13px; }
.tabs b { color: #1d1c1d; border-bottom: 2px solid #1264a3; padding-bottom: 4px; }
.message { display: flex; padding: 10px 20px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #232f3e; color: #fff;
  display: flex; align-items: center; justify-content: center; margin-right: 10px;
  flex: none; }
.content { flex: 1; min-width: 0; }
.meta .app { font-size: 10px; background: #e8e8e8; color: #616061; padding: 1px 3px;
  border-radius: 2px; font-weight: 700; }
.meta .time { color: #616061; font-size: 12px; }
.block { margin: 4px 0; }
.section { display: flex; gap: 12px; }
.section .main { flex: 1; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin-top: 6px; }
.context { color: #616061; font-size: 13px; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 8px; }
.header { font-size: 18px; font-weight: 900; margin-top: 12px; }
.divider { border: 0; border-top: 1px solid #ddd; margin: 14px 0; }
.button { display: inline-block; border: 1px solid #bbb; border-radius: 4px;
  padding: 3px 12px; font-weight: 700; font-size: 14px; background: #fff; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.danger { background: #fff; border-color: #e01e5a; color: #e01e5a; }
.select { display: inline-block; border: 1px solid #bbb; border-radius: 4px;
  padding: 5px 10px; min-width: 240px; }
.caret { float: right; color: #616061; }
.textinput, .textarea { border: 1px solid #bbb; border-radius: 4px; padding: 7px 10px; }
.textarea { min-height: 60px; }
.placeholder { color: #8d8d8d; }
.label { font-weight: 700; margin: 12px 0 6px; }
.hint { color: #616061; font-size: 13px; margin-top: 4px; }
.option { margin: 4px 0; } .box { font-size: 17px; color: #1264a3; }
code { font: 12px Monaco, Menlo, monospace; color: #e01e5a; background: #f6f6f6;
  border: 1px solid #ddd; border-radius: 3px; padding: 1px 3px; }
pre { font: 12px Monaco, Menlo, monospace; background: #f6f6f6; padding: 8px; }
a { color: #1264a3; text-decoration: none; }
.mention { color: #1264a3; background: #e8f5fa; border-radius: 3px; padding: 0 2px; }
.unknown { color: #e01e5a; }
.modal { width: 520px; margin: 16px auto; background: #fff; border-radius: 8px;
  box-shadow: 0 4px 16px rgba(0,0,0,.25); }
.modal-title { font-size: 22px; font-weight: 900; padding: 18px 24px;
  border-bottom: 1px solid #ddd; }
.modal-title .x { float: right; color: #616061; font-weight: 400; }
.modal-body { padding: 4px 24px 16px; }
.modal-footer { text-align: right; padding: 14px 24px; border-top: 1px solid #ddd; }
"""


def page(inner: str, width: int = WIDTH) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{CSS}</style></head>'
        f'<body style="width:{width}px">{inner}</body></html>'
    )


# --- the screens, from the bot's builders --------------------------------------------


def sample_config() -> BotConfig:
    text = (ROOT / "config" / "bot.example.toml").read_text(encoding="utf-8")
    return parse_config(tomllib.loads(text), "config/bot.example.toml")


def sample_request(config: BotConfig, **changes: Any) -> RequestView:
    profile = config.profiles[0]
    base = RequestView(
        id=42,
        requester_id="U0ALICE",
        profile=profile.name,
        iam_user_name="alice",
        console=profile.console,
        programmatic=profile.programmatic,
        reason="Deploy the billing service to staging this sprint.",
        status=Status.PENDING,
        created_at=NOW - timedelta(hours=2, minutes=5),
        approvals_required=profile.approvals_required,
        groups=profile.groups,
        policies=profile.policies,
    )
    return replace(base, **changes)


def _approved(config: BotConfig, status: Status, **changes: Any) -> RequestView:
    return sample_request(
        config,
        status=status,
        approvers=("U0DANA",),
        decided_by="U0DANA",
        decided_at=NOW - timedelta(minutes=3),
        **changes,
    )


def screens(config: BotConfig) -> dict[str, str]:
    """name -> HTML page, each from the bot's own builders."""
    pending = sample_request(config)
    approved = _approved(config, Status.APPROVED)
    # Time-bound (a profile's max_duration): the message then has Extend too.
    provisioned = _approved(
        config,
        Status.PROVISIONED,
        provisioned_at=NOW - timedelta(minutes=2),
        requester_dm_channel="D0ALICE",
        requester_dm_ts="1.0",
        max_duration=timedelta(days=30),
        access_expires_at=NOW + timedelta(days=30, minutes=-2),
    )
    failed = _approved(
        config,
        Status.FAILED,
        last_error="AccessDenied: iam:CreateUser on arn:aws:iam::123456789012:user/...",
    )
    channel_name = "# aws-approvals"

    def approval(request: RequestView) -> str:
        text, blocks = approval_message.build(request)
        return page(channel(channel_name, message(blocks, text, "08:25")))

    link = IssuedLink(
        "sample",
        "https://bot.example.com/credentials/sample#key",
        expires_at=NOW + timedelta(hours=24),
    )
    link_text, link_blocks = dms.credentials_link_message(provisioned, link)
    conversation = "".join(
        [
            message(None, dms.submitted_text(pending), "08:25"),
            message(None, dms.approved_text(approved, "U0DANA"), "10:27"),
            message(link_blocks, link_text, "10:28"),
        ]
    )
    # Later: the time-bound grant nears its end; an older grant's key is due for rotation.
    ending = replace(provisioned, access_expires_at=NOW + timedelta(hours=23))
    warn_text, warn_blocks = time_bound.warning_message(ending, NOW)
    old_grant = replace(
        provisioned,
        id=17,
        profile=config.profiles[-1].name,
        max_duration=None,
        access_expires_at=None,
        provisioned_at=NOW - timedelta(days=95),
    )
    nudge_text, nudge_blocks = key_rotation.nudge_message(
        old_grant,
        "AKIA-EXAMPLE-0017",
        NOW - timedelta(days=95),
        NOW,
        config.offboarding.rotation_grace,
    )
    later = "".join(
        [message(warn_blocks, warn_text, "10:30"), message(nudge_blocks, nudge_text, "10:31")]
    )
    own = [pending, replace(provisioned, id=17, created_at=NOW - timedelta(days=20))]
    sam = replace(pending, id=43, requester_id="U0SAM", iam_user_name="sam")
    sam_grant = replace(
        old_grant, id=12, requester_id="U0SAM", iam_user_name="sam", profile=pending.profile
    )
    home = app_home.home_view(
        own,
        [pending, sam],
        active=[provisioned, sam_grant],
        key_ages={
            provisioned.id: KeyAge(provisioned.id, "AKIA-EXAMPLE-0042", NOW - timedelta(2)),
            sam_grant.id: KeyAge(sam_grant.id, "AKIA-EXAMPLE-0012", NOW - timedelta(95)),
        },
        now=NOW,
    )
    plan = RevokePlan(
        user_name="sam",
        groups=sam_grant.groups,
        policies=sam_grant.policies,
        access_keys=("AKIA-EXAMPLE-0012",),
        console=True,
    )
    revoke_view = revoke_modal.confirm_modal(
        [(sam_grant, plan, "")], mode=config.offboarding.mode, reason="Left the team."
    )
    review = Review(
        id=3,
        account="default",
        period_start=NOW - timedelta(days=1),
        opened_at=NOW - timedelta(days=1),
        deadline_at=NOW + timedelta(days=13),
        status=ReviewStatus.OPEN,
        channel="C0123APPROVALS",
    )
    items = (
        ReviewItem(
            1, 3, 12, "U0SAM", sam_grant.profile, "sam", sam_grant.provisioned_at,
            GrantUsage(NOW - timedelta(days=61), None),
        ),
        ReviewItem(
            2, 3, 42, "U0ALICE", provisioned.profile, "alice", provisioned.provisioned_at,
            GrantUsage(NOW - timedelta(hours=3), NOW - timedelta(days=1)),
            decision=Decision.KEEP, decided_by="U0DANA", decided_at=NOW - timedelta(hours=1),
        ),
    )  # fmt: skip
    review_text, review_blocks = review_message.page(
        ReviewState(review, items), items, config.slack.owners
    )
    return {
        "request-modal": page(
            modal(
                request_modal.build(
                    config.profiles,
                    profile=pending.profile,
                    iam_user_name="alice",
                    reason=pending.reason,
                )
            ),
            600,
        ),
        "approval-pending": approval(pending),
        "approval-approved": approval(approved),
        "approval-provisioned": approval(provisioned),
        "approval-failed": approval(failed),
        "requester-dms": page(channel(BOT_NAME, conversation, "<b>Messages</b> · Home")),
        "requester-later": page(channel(BOT_NAME, later, "<b>Messages</b> · Home")),
        "app-home": page(
            channel(
                BOT_NAME,
                f'<div style="padding:8px 20px">{blocks_html(home["blocks"])}</div>',
                "Messages · <b>Home</b>",
            )
        ),
        "revoke-modal": page(modal(revoke_view), 600),
        "access-review": page(channel(channel_name, message(review_blocks, review_text, "09:00"))),
    }


def write_html(out: Path, pages: dict[str, str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in pages.items():
        path = out / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def capture(out: Path, pages: dict[str, str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            for name, text in pages.items():
                tab = browser.new_page(viewport={"width": WIDTH + 40, "height": 200})
                tab.set_content(text, wait_until="load")
                body = tab.locator("body")
                path = out / f"{name}.png"
                body.screenshot(path=str(path))
                tab.close()
                paths.append(path)
        finally:
            browser.close()
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "screens", help="where the PNGs go"
    )
    parser.add_argument("--html", type=Path, help="write the HTML pages here instead")
    args = parser.parse_args(argv)
    pages = screens(sample_config())
    paths = write_html(args.html, pages) if args.html else capture(args.out, pages)
    for path in paths:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
