"""`make bench` / `python -m bench`: every figure, one run, ratios against same-run baselines.

    python -m bench [--quick] [--only ack,memory,throughput,growth]

PostgreSQL figures use BENCH_DATABASE_URL (default: the local `test_bench` database);
set BENCH_DATABASE_URL=none to skip them. Prints the table, writes bench/results.json.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import ack, growth, throughput
from bench.harness import RESULTS, Report
from bench.servers import start_slack_stub, stop_process

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test_bench"
SECTIONS = ("ack", "throughput", "growth")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    pg = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG)
    pg = None if pg.lower() in ("", "none") else pg
    # 32 clients against 8 server threads queue by design; waitress says so per request.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    acks = 400 if args.quick else 5000  # per kind, per server, per database
    approvals = 20 if args.quick else 150
    sizes = (1_000, 10_000) if args.quick else growth.SIZES

    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        api_url, stub = start_slack_stub(workdir)
        try:
            if "ack" in only:
                print("ack latency and memory: the bot vs the bare Bolt app", flush=True)
                dead_aws = {  # the clicks measured here never reach AWS
                    "AWS_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": "bench",
                    "AWS_SECRET_ACCESS_KEY": "bench",
                    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                }
                targets = [("SQLite", f"sqlite:///{workdir / 'ack.db'}")]
                targets += [("PostgreSQL", pg)] if pg else []
                for label, url in targets:
                    ack.measure(
                        report,
                        workdir,
                        label=label,
                        database_url=url,
                        slack_api_url=api_url,
                        aws_env=dead_aws,
                        count=acks,
                        memory=True,
                    )
            if "throughput" in only:
                print("throughput: approvals provisioned against moto server", flush=True)
                throughput.measure(report, workdir, api_url, approvals)
            if "growth" in only:
                print("growth: sweep and listing vs history size", flush=True)
                growth.measure(report, "SQLite", f"sqlite:///{workdir / 'growth.db'}", sizes)
                if pg:
                    growth.measure(report, "PostgreSQL", pg, sizes)
        finally:
            stop_process(stub)
    elapsed = time.perf_counter() - started
    print()
    print(report.table())
    print(f"\n{len(report.figures)} figures in {elapsed:.0f} s; written to {RESULTS}")
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
