"""`make bench` / `python -m bench`: every figure, one run, ratios against same-run baselines.

    python -m bench [--quick] [--only latency,submit,provision,growth]

PostgreSQL figures use BENCH_DATABASE_URL (default: the local `test_bench` database);
set BENCH_DATABASE_URL=none to skip them. Prints the table and the summary, writes
bench/results.json (bench/README.md says what each figure is).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import growth, latency, provision, submit
from bench.harness import RESULTS, Report, git_commit
from bench.seed import ensure_database
from bench.servers import PROFILE, start_moto, start_slack_stub, stop_process

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test_bench"
SECTIONS = ("latency", "submit", "provision", "growth")
SUMMARY_KEYS = (
    "slash_to_modal_p99_ratio",
    "slash_to_modal_over_3s",
    "click_to_update_p99_ratio",
    "click_to_update_over_3s",
    "submit_ack_p99_ratio",
    "ack_over_3s_at_200",
    "ack_p99_ratio",
    "approve_to_dm_p99_ratio_at_10",
    "rss_ratio_to_floor",
    "iam_calls_cold",
    "git_commit",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record each bot process with py-spy into DIR (bench/profile.py reads them); "
        "results.json is not written, since sampling slows the bot",
    )
    args = parser.parse_args(argv)
    PROFILE["dir"] = args.profile
    only = set(args.only.split(","))
    pg = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG)
    pg = None if pg.lower() in ("", "none") else pg
    if pg:
        ensure_database(pg)
    # 32 and 200 clients against 8 server threads queue by design; waitress says so.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    quick = args.quick
    counts = {
        "acks": 200 if quick else 1250,  # per kind, per server, per database (32 clients)
        "at200": 400 if quick else 2000,  # per server, per database (200 clients)
        "iam_users": 1000 if quick else 10_000,
        "submissions": 40 if quick else 200,  # per server
        "rounds_at_10": 2 if quick else 6,
        "throughput_rounds": 2 if quick else 4,
        "per_round": 16 if quick else 64,
        "sizes": (1_000, 10_000) if quick else growth.SIZES,
    }
    commit = git_commit()
    report = Report()
    facts: dict[str, object] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        api_url, stub = start_slack_stub(workdir)
        try:
            if "latency" in only:
                print("latency: the bot vs the bare Bolt app, 32 then 200 clients", flush=True)
                targets = [("SQLite", f"sqlite:///{workdir / 'latency.db'}")]
                targets += [("PostgreSQL", pg)] if pg else []
                for label, url in targets:
                    latency.measure(
                        report,
                        facts,
                        workdir,
                        label=label,
                        database_url=url,
                        slack_api_url=api_url,
                        count=counts["acks"],
                        at200=counts["at200"],
                        memory=label == "SQLite",
                    )
            if "submit" in only:
                print(f"submit: form submission ack, {counts['iam_users']:,} IAM users", flush=True)
                endpoint, moto = start_moto(workdir, counts["iam_users"])
                try:
                    submit.measure(
                        report,
                        facts,
                        workdir,
                        slack_api_url=api_url,
                        moto_endpoint=endpoint,
                        iam_users=counts["iam_users"],
                        count=counts["submissions"],
                    )
                finally:
                    stop_process(moto)
            if "provision" in only:
                print("provision: approvals to credentials DMs on moto", flush=True)
                endpoint, moto = start_moto(workdir)
                try:
                    provision.measure(
                        report,
                        facts,
                        workdir,
                        slack_api_url=api_url,
                        moto_endpoint=endpoint,
                        rounds_at_10=counts["rounds_at_10"],
                        throughput_rounds=counts["throughput_rounds"],
                        per_round=counts["per_round"],
                    )
                finally:
                    stop_process(moto)
            if "growth" in only:
                print("growth: sweep and listing vs history size", flush=True)
                growth.measure(
                    report, "SQLite", f"sqlite:///{workdir / 'growth.db'}", counts["sizes"]
                )
                if pg:
                    growth.measure(report, "PostgreSQL", pg, counts["sizes"])
        finally:
            stop_process(stub)
    elapsed = time.perf_counter() - started
    report.summary = summary(facts, commit)
    print()
    print(report.table())
    print('\nsummary (bench/README.md, "Summary"):')
    print(json.dumps(report.summary, indent=2))
    if args.profile is not None:
        print(f"\n{len(report.figures)} figures in {elapsed:.0f} s; profiles in {args.profile}")
        print("(results.json not written: a profiled run's figures are not quoted)")
        return 0
    print(f"\n{len(report.figures)} figures in {elapsed:.0f} s; written to {RESULTS}")
    report.write()
    return 0


def summary(facts: dict[str, object], commit: str) -> dict[str, object]:
    """The issue's table: ratios are the worst over the databases measured; counts are
    summed over them. A section not run leaves its keys None."""

    def worst(prefix: str) -> float | None:
        values = [float(v) for k, v in facts.items() if k.startswith(prefix)]  # type: ignore[arg-type]
        return round(max(values), 3) if values else None

    def total(prefix: str) -> int | None:
        values = [int(v) for k, v in facts.items() if k.startswith(prefix)]  # type: ignore[call-overload]
        return sum(values) if values else None

    submit_ratio = facts.get("submit_ack_p99")
    dm_ratio = facts.get("approve_to_dm_p99_ratio_at_10")
    out: dict[str, object] = {
        "slash_to_modal_p99_ratio": worst("slash_to_modal_p99:"),
        "slash_to_modal_over_3s": total("slash_to_modal_over:"),
        "click_to_update_p99_ratio": worst("click_to_update_p99:"),
        "click_to_update_over_3s": total("click_to_update_over:"),
        "submit_ack_p99_ratio": round(float(submit_ratio), 3) if submit_ratio else None,  # type: ignore[arg-type]
        "ack_over_3s_at_200": total("over200:"),
        "ack_p99_ratio": worst("ack_p99:"),
        "approve_to_dm_p99_ratio_at_10": round(float(dm_ratio), 3) if dm_ratio else None,  # type: ignore[arg-type]
        "rss_ratio_to_floor": worst("rss:"),
        "iam_calls_cold": facts.get("iam_calls_cold"),
        "git_commit": commit,
    }
    assert tuple(out) == SUMMARY_KEYS
    return out


if __name__ == "__main__":
    sys.exit(main())
