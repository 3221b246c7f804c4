"""`aws-access-bot audit`: export the audit log, and `audit verify` its hash chain
(docs/audit.md).

Export streams the events from the database (bot/store/audit.py, `SqlAuditLog.events`)
and writes each as it comes, as one OCSF JSON line (bot/domain/ocsf.py) or one CSV
row, so memory stays flat however long the log is. Verify walks the whole chain
and names the first event that does not match.

Other reports of the log (e.g. `audit --review ID`) add their option in bot/cli.py's
`audit` parser and a branch at the top of `run_audit`, before the export.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from bot import runtime
from bot.domain.ocsf import StoredEvent, to_ocsf
from bot.settings import Settings
from bot.store.audit import STREAM_BATCH, AuditQuery, SqlAuditLog

FORMATS = ("jsonl", "csv")
CSV_COLUMNS = (
    "id",
    "seq",
    "time",
    "request_id",
    "account",
    "iam_user",
    "actor",
    "kind",
    "reason",
    "rules",
    "detail",
    "prev_hash",
    "hash",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=["verify"],
        help="verify: check the hash chain (exit 1 naming the first broken event)",
    )
    parser.add_argument(
        "--since",
        type=since_value,
        metavar="DATE",
        help="events at or after DATE (YYYY-MM-DD, or an ISO time; UTC unless a zone is given)",
    )
    parser.add_argument(
        "--until",
        type=until_value,
        metavar="DATE",
        help="events before DATE (a bare YYYY-MM-DD includes that whole day)",
    )
    parser.add_argument("--account", metavar="NAME", help="only events of this AWS account")
    parser.add_argument(
        "--format", choices=FORMATS, default="jsonl", help="jsonl (OCSF, default) or csv"
    )


def _parse_time(text: str, *, end: bool) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date like 2026-12-01 or a time like 2026-12-01T08:00:00Z (got {text!r})"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def since_value(text: str) -> datetime:
    return _parse_time(text, end=False)


def until_value(text: str) -> datetime:
    return _parse_time(text, end=True)


def run_audit(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """The `audit` command: verify, or export. Its exit status."""
    with runtime.opened(settings) as container:
        runtime.require_migrated(container)
        log = SqlAuditLog(container.sessions)
        if args.action == "verify":
            return verify(log, out)
        if getattr(args, "review", None) is not None:
            from bot.review_report import print_review

            return print_review(container, args.review, out)
        query = AuditQuery(since=args.since, until=args.until, account=args.account)
        try:
            export(log, query, args.format, out)
        except BrokenPipeError:
            # The reader stopped reading (`| head`): not a failure of the export.
            if out is sys.stdout:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def verify(log: SqlAuditLog, out: TextIO) -> int:
    count, broken = log.verify()
    if broken is not None:
        out.write(f"audit chain broken at {broken} ({count} events before it verify)\n")
        return 1
    out.write(f"audit chain verified: {count} events\n")
    return 0


def export(
    log: SqlAuditLog, query: AuditQuery, fmt: str, out: TextIO, *, batch: int = STREAM_BATCH
) -> int:
    """Write every matching event to `out` as it is read (`batch` rows at a time from
    the database); how many."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for stored in log.events(query, batch=batch):
            writer.writerow(csv_row(stored))
            count += 1
        return count
    for stored in log.events(query, batch=batch):
        out.write(json_line(stored))
        out.write("\n")
        count += 1
    return count


def json_line(stored: StoredEvent) -> str:
    return json.dumps(to_ocsf(stored), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def csv_row(stored: StoredEvent) -> list[object]:
    event = stored.event
    reason = event.detail.get("reason")
    return [
        stored.id,
        event.seq,
        event.time.isoformat(timespec="microseconds"),
        event.request_id if event.request_id is not None else "",
        event.account or "",
        event.iam_user or "",
        _cell(event.actor),
        event.kind,
        _cell(str(reason)) if reason else "",
        json.dumps(event.rules, sort_keys=True) if event.rules is not None else "",
        _cell(json.dumps(event.detail, sort_keys=True, ensure_ascii=False)),
        event.prev,
        stored.hash,
    ]


def _cell(text: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
