"""The README stays true: generated config reference, pictures, scopes, commands."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.dom.minidom

import pytest

from bot.slack.manifest import BOT_SCOPES
from tests.support.processes import REPO

README = (REPO / "README.md").read_text()


# The configuration reference section: tests/unit/test_config_reference.py.


def test_flow_diagram_is_checked_in_and_linked() -> None:
    assert "](docs/flow.svg)" in README
    svg = xml.dom.minidom.parse(str(REPO / "docs" / "flow.svg")).documentElement
    assert svg.tagName == "svg"


def test_readme_states_the_manifest_scopes_and_docker_run() -> None:
    listed = re.search(r"exactly the bot scopes the code uses[^\n]*\n([^\n]+)", README).group(1)
    assert set(re.findall(r"`([a-z.:]+)`", listed)) == set(BOT_SCOPES)
    docker_run = README.split("docker run -d", 1)[1].split("```", 1)[0]
    for needed in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PUBLIC_URL", "DATABASE_URL"):
        assert needed in docker_run
    assert ":/app/config/bot.toml:ro" in docker_run


def test_credential_page_screenshots_are_checked_in_and_shown() -> None:
    from tests.support.png import png_size

    for name in ("credential-page-before.png", "credential-page-after.png"):
        assert f"](docs/{name})" in README
        path = REPO / "docs" / name
        width, height = png_size(path)
        assert width == 900 and height >= 300  # scripts/screenshots.py's viewport
        assert path.stat().st_size > 10_000
    script = (REPO / "scripts" / "screenshots.py").read_text()
    assert "credential-page-before.png" in script and "credential-page-after.png" in script
    assert "scripts/screenshots.py" in README


def _troubleshooting_messages() -> list[str]:
    section = README.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    messages = []
    for row in re.findall(r"^\| (.+?) \| .+ \|$", section, re.M)[2:]:  # after the header
        spans = re.findall(r"``\s?(.+?)\s?``|`([^`]+)`|\"([^\"]+)\"", row)
        messages += [next(part for part in span if part) for span in spans]
    return messages


def test_troubleshooting_quotes_messages_the_code_really_prints() -> None:
    source = "\n".join(p.read_text() for p in (REPO / "bot").rglob("*.py"))
    source += "\n".join(p.read_text() for p in (REPO / "bot" / "web" / "static").glob("*.js"))
    messages = _troubleshooting_messages()
    assert len(messages) >= 20
    for message in messages:
        for fragment in message.split("…"):
            fragment = fragment.strip(" ()")
            if len(fragment) >= 3 and fragment not in ("dispatch_failed", "operation_timeout"):
                assert fragment in source, f"README troubleshooting quotes {message!r}"


# --- the rewritten README's sections (issue 17) ----------------------------------------


def _section(title: str) -> str:
    return README.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def _subparsers(parser) -> dict[str, object]:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_command_line_table_has_every_subcommand_and_option() -> None:
    from bot.cli import _parser

    table = _section("Command line")
    rows = re.findall(r"^\| `([^`]+)`", table, re.M)
    for name, sub in _subparsers(_parser()).items():
        nested = _subparsers(sub)
        commands = [f"{name} {n}" for n in nested] if name == "db" else [name]
        if name == "requests":
            commands += [f"{name} {n}" for n in nested]
        for command in commands:
            assert any(row.startswith(command) for row in rows), f"no row for `{command}`"
        for parser in (sub, *nested.values()):
            for action in parser._actions:
                for option in action.option_strings:
                    if option.startswith("--") and option != "--help":
                        assert option in table, f"`{name}` option {option} is not in the table"
    assert "--version" in table


def test_every_slack_picture_is_shown_and_buttons_named_exist() -> None:
    from tests.unit.test_slack_screens import SCREENS

    using = _section("Using the bot")
    for name in SCREENS:
        assert f"](docs/screens/{name}.png)" in using, name
    source = "\n".join(p.read_text() for p in (REPO / "bot").rglob("*.py"))
    source += "\n".join(p.read_text() for p in (REPO / "bot" / "web" / "static").glob("*.js"))
    labels = set(re.findall(r"\*\*([^*]+)\*\*", using)) - {"Home", "App Home"}
    assert {"Approve", "Deny", "Retry", "Roll back", "Re-issue credentials", "Revoke"} <= labels
    assert {"Cancel", "Request extension", "Rotate my key", "Extend", "Keep"} <= labels
    for label in labels:
        assert f'"{label}"' in source or f">{label}<" in source, f"no button {label!r}"


def test_slash_command_keywords_in_the_readme_exist() -> None:
    import tomllib

    from bot.config_file import parse_config
    from bot.slack.surfaces.request_modal import help_text

    example = tomllib.loads((REPO / "config" / "bot.example.toml").read_text())
    text = help_text(parse_config(example, "example").profiles)
    for keyword in ("status", "help"):
        assert f"`/request-aws-access {keyword}`" in README
        assert f"/request-aws-access {keyword}" in text


def test_make_targets_in_the_readme_exist() -> None:
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    named = set(re.findall(r"`make ([a-z][\w-]*)", README)) | set(
        re.findall(r"^make ([a-z][\w-]*)", README, re.M)
    )
    assert {"run", "check", "sandbox", "test", "screenshots", "bench", "lock"} <= named
    assert named <= targets, named - targets
    test_recipe = makefile.split("\ntest:", 1)[1] + makefile.split("\nlint:", 1)[1]
    for tool in ("ruff check", "ruff format --check", "lint-imports", "pytest"):
        assert tool in test_recipe


def test_code_blocks_run_the_cli_one_way() -> None:
    from bot.cli import _parser
    from tests.integration.test_readme_commands import fenced_blocks

    subcommands = "|".join(_subparsers(_parser()))
    for _, body in fenced_blocks(README):
        for match in re.finditer(rf"(\S*)aws-access-bot ({subcommands})\b", body):
            assert match.group(1).endswith(".venv/bin/"), f"bare CLI in a code block: {match[0]}"


def test_tests_section_says_what_ci_run_does() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    for needed in ("pg_isready", "TEST_DATABASE_URL", "/usr/bin/chromium", "apt-get", "make test"):
        assert needed in ci
    tests = _section("Tests")
    for claim in ("TEST_DATABASE_URL", "CHROMIUM", "`.ci/run`", "`make test`"):
        assert claim in tests


def test_benchmark_figures_are_those_of_results_json() -> None:
    bench = _section("Benchmarks")
    assert "bench/results.json" in bench and "](bench/README.md)" in bench
    summary = json.loads((REPO / "bench" / "results.json").read_text())["summary"]
    for figure in (
        f"{summary['slash_to_modal_p99_ratio']:.2f}x; **{summary['slash_to_modal_over_3s']}**",
        f"{summary['click_to_update_p99_ratio']:.1f}x; **{summary['click_to_update_over_3s']}** of",
        f"{summary['submit_ack_p99_ratio']:.1f}x",
        f"| **{summary['ack_over_3s_at_200']}** of 4,000",
        f"| {summary['ack_p99_ratio']:.1f}x |",
        f"{summary['approve_to_dm_p99_ratio_at_10']:.1f}x",
        f"{summary['rss_ratio_to_floor']:.2f}x",
        f"{summary['iam_calls_cold']} cold",
    ):
        assert figure in bench, figure


def test_bench_results_are_of_the_bot_code_on_this_commit() -> None:
    """results.json names the commit it measured; no file under bot/ has changed since
    (a change there needs a new `make bench`)."""
    commit = json.loads((REPO / "bench" / "results.json").read_text())["summary"]["git_commit"]
    assert not commit.endswith("+dirty"), "measured with uncommitted changes under bot/"
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    changed = subprocess.run(
        ["git", "diff", "--name-only", commit, "HEAD", "--", "bot/"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert changed == [], f"bot/ changed since the bench's commit {commit[:10]}: {changed}"


def test_environment_section_names_what_the_sdk_reads() -> None:
    aws = _section("AWS: credentials, region and the bot's IAM policy")
    assert "`AWS_DEFAULT_REGION`, else `AWS_REGION`" in aws
    assert "-e AWS_DEFAULT_REGION=" in README
