"""`aws-access-bot audit` (docs/audit.md): OCSF JSON lines or CSV, filtered by time and
account, streamed (memory does not grow with the log); `[audit] log` is validated."""

from __future__ import annotations

import csv
import io
import json
import tomllib
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bench.audit_export import seed_events
from bot.audit_export import export
from bot.cli import main
from bot.config_file import SettingsError, parse_config
from bot.store.audit import AuditQuery, SqlAuditLog
from tests.support.configs import MINIMAL_CONFIG
from tests.support.stores import NOW, OWNERS, RULES, new_request, submitted

DAY1 = NOW
DAY2 = NOW + timedelta(days=1)


def audit_cli(db_url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["audit", *args], env={"DATABASE_URL": db_url})
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def two_days_two_accounts(stores) -> None:  # noqa: ANN001
    first = submitted(stores, DAY1)
    stores.requests.deny(first.id, OWNERS[0], "not needed", DAY1)
    staging = replace(RULES, account="staging")
    second = stores.requests.submit(
        new_request(requester_id="U0BOB", iam_user_name="bob", rules=staging), DAY2
    )
    stores.requests.cancel(second.id, "U0BOB", DAY2 + timedelta(hours=1))


def test_jsonl_is_ocsf_account_change(stores, db_url, capsys) -> None:
    two_days_two_accounts(stores)
    status, out = audit_cli(db_url, capsys)
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["metadata"]["event_code"] for line in lines] == [
        "requested",
        "denied",
        "requested",
        "cancelled",
    ]
    denied = lines[1]
    assert (denied["class_uid"], denied["category_uid"], denied["type_uid"]) == (3001, 3, 300199)
    assert denied["actor"]["user"] == {"uid": OWNERS[0], "type_id": 1, "type": "User"}
    assert denied["user"]["name"] == "alice"
    assert denied["user"]["account"]["name"] == "prod-account"
    assert denied["cloud"] == {"provider": "AWS", "account": {"name": "prod-account"}}
    assert denied["authorizations"] == [{"decision": "Denied"}]
    assert denied["status_detail"] == "not needed"
    assert denied["time"] == int(DAY1.timestamp() * 1000)
    assert denied["metadata"]["sequence"] == 2
    assert denied["unmapped"]["prev_hash"] == lines[0]["unmapped"]["hash"]
    assert denied["unmapped"]["rules"]["approvals_required"] == 2


def test_filters_by_time_and_account(stores, db_url, capsys) -> None:
    two_days_two_accounts(stores)

    def codes(*args: str) -> list[str]:
        status, out = audit_cli(db_url, capsys, *args)
        assert status == 0, out
        return [json.loads(line)["metadata"]["event_code"] for line in out.splitlines()]

    day1, day2 = DAY1.date().isoformat(), DAY2.date().isoformat()
    assert codes("--until", day1) == ["requested", "denied"]  # the whole of day 1
    assert codes("--since", day2) == ["requested", "cancelled"]
    assert codes("--since", day2, "--until", f"{day2}T09:30:00Z") == ["requested"]
    assert codes("--account", "staging") == ["requested", "cancelled"]
    assert codes("--account", "staging", "--until", day1) == []
    assert codes("--account", "nowhere") == []


def test_csv_has_one_row_per_event(stores, db_url, capsys) -> None:
    two_days_two_accounts(stores)
    status, out = audit_cli(db_url, capsys, "--format", "csv", "--account", "prod-account")
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["seq"], r["kind"], r["actor"], r["reason"]) for r in rows] == [
        ("1", "requested", "U0ALICE", "incident 42"),
        ("2", "denied", OWNERS[0], "not needed"),
    ]
    assert rows[0]["iam_user"] == "alice" and rows[0]["account"] == "prod-account"
    assert json.loads(rows[0]["rules"])["groups"] == ["admins", "auditors"]
    assert rows[1]["prev_hash"] == rows[0]["hash"]


def test_bad_dates_are_refused_with_one_line(db_url, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "--since", "yesterday"], env={"DATABASE_URL": db_url})
    assert exit_.value.code == 2
    assert "expected a date like 2026-12-01" in capsys.readouterr().err


def test_an_unmigrated_database_is_not_exported(tmp_path, capsys) -> None:
    status, out = audit_cli(f"sqlite:///{tmp_path / 'empty.db'}", capsys, "verify")
    assert status == 1 and "db upgrade" in out


def test_export_streams_in_flat_memory(engine, sessions) -> None:
    """10x the events, about the same peak Python memory: rows are streamed `batch` at
    a time, never all held (the 1,000,000-event figures are bench/audit_export.py's)."""
    log = SqlAuditLog(sessions)

    def peak_exporting() -> tuple[int, int]:
        tracemalloc.start()
        try:
            count = export(log, AuditQuery(), "jsonl", _NullSink(), batch=100)
            return count, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    seed_events(engine, 300, start=datetime(2026, 1, 1, tzinfo=UTC))
    small_count, small_peak = peak_exporting()
    seed_events(engine, 2_700, start=datetime(2026, 2, 1, tzinfo=UTC))
    large_count, large_peak = peak_exporting()
    assert (small_count, large_count) == (300, 3_000)
    assert large_peak < small_peak * 1.5
    assert log.verify() == (3_000, None)


class _NullSink(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('[audit]\nlog = "yes"\n', "bot.toml: audit.log must be true or false (got 'yes')"),
        ("[audit]\nshipper = true\n", "bot.toml: audit.shipper is not a known setting"),
    ],
)
def test_audit_config_is_validated(toml: str, problem: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_config(tomllib.loads(MINIMAL_CONFIG + "\n" + toml), "bot.toml")
    [line] = error.value.problems
    assert line.startswith(problem)


def test_audit_log_defaults_off_and_turns_on() -> None:
    assert parse_config(tomllib.loads(MINIMAL_CONFIG), "bot.toml").audit.log is False
    on = parse_config(tomllib.loads(MINIMAL_CONFIG + "\n[audit]\nlog = true\n"), "bot.toml")
    assert on.audit.log is True
