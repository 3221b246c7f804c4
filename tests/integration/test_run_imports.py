"""What `run` loads (bench/README.md, "Memory"): on a database already at the newest
revision it checks that with plain SQL and never imports Alembic, nothing
sandbox-only (moto) is loaded outside `run --sandbox`, and the AES-GCM sealing's
OpenSSL bindings wait for the first credentials. Checked in a fresh interpreter,
where sys.modules shows exactly what the start-up imported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from bot.store.db import at_head, make_engine, migration_heads, upgrade
from tests.support.processes import REPO

START = textwrap.dedent(
    """
    import json, sys, tomllib
    from bot.settings import Settings, parse_config
    from bot.runtime import start_bot

    config = parse_config(tomllib.loads(sys.argv[2]), "bot.toml")
    settings = Settings(
        database_url=sys.argv[1],
        slack_bot_token="xoxb-test",
        slack_signing_secret="test-secret",
        slack_api_url="http://127.0.0.1:9/api/",
        config=config,
    )
    process = start_bot(settings, sandbox=False, scheduler_enabled=True)
    try:
        print(json.dumps(sorted(sys.modules)))
    finally:
        process.close()
    """
)

CONFIG = """
[slack]
approval_channel = "C0APPROVALS"
owners = ["U0OWNER1"]

[[profiles]]
name = "developer"
description = "dev"
groups = ["developers"]
policies = []
console = true
programmatic = false
approvals_required = 1
"""


def loaded_by_run(url: str, tmp_path: Path) -> set[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-c", START, url, CONFIG],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_run_on_a_migrated_database_imports_neither_alembic_nor_moto_nor_openssl(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    assert at_head(engine)
    engine.dispose()
    loaded = roots(loaded_by_run(url, tmp_path))
    assert "alembic" not in loaded
    assert "moto" not in loaded
    # OpenSSL's bindings (8.6 MB) load when credentials are first sealed or opened.
    assert "cryptography" not in loaded
    assert {"slack_bolt", "sqlalchemy", "boto3", "apscheduler"} <= loaded  # it did start


def test_run_on_an_empty_database_migrates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    assert "alembic" in roots(loaded_by_run(url, tmp_path))
    engine = make_engine(url)
    assert at_head(engine)
    engine.dispose()


def test_the_head_is_read_from_the_scripts_as_alembic_sees_it() -> None:
    from alembic.script import ScriptDirectory

    from bot.store.db import alembic_config

    assert migration_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())
