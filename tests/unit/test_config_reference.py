"""The configuration reference cannot drift: bot/config_reference.py's one table of keys
is checked against the loader itself (every key it accepts is documented and nothing
else; "required" keys are; defaults are the ones it applies; every variable settings.py
reads is listed), and README.md's marked section is exactly the generator's output."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import tomllib

import pytest

from bot import config_reference as ref
from bot.config_file import SettingsError, parse_config
from tests.support.processes import REPO

README = (REPO / "README.md").read_text()
UNKNOWN = "zz_not_a_key"


def _problems(doc: dict) -> list[str]:
    try:
        parse_config(doc, "probe")
    except SettingsError as exc:
        return exc.problems
    return []


def _accepted(problems: list[str], where: str) -> set[str] | None:
    for line in problems:
        match = re.search(
            rf"{re.escape(where)} is not a known setting \(expected one of: ([^)]*)\)", line
        )
        if match:
            return {name.strip() for name in match.group(1).split(",")}
    return None


def accepted_keys() -> dict[str, set[str]]:
    """table -> the keys the parser accepts, asked of the parser with an unknown key."""
    tables = _accepted(_problems({UNKNOWN: 1}), UNKNOWN)
    assert tables, "the parser no longer names the tables it accepts"
    found: dict[str, set[str]] = {}
    for table in tables:
        keys = _accepted(_problems({table: {UNKNOWN: 1}}), f"{table}.{UNKNOWN}")
        if keys is None:  # an array of tables: [[table]]
            keys = _accepted(_problems({table: [{UNKNOWN: 1}]}), f"{table}[0].{UNKNOWN}")
        assert keys is not None, f"cannot tell which keys [{table}] accepts"
        found[table] = keys
    return found


def documented() -> dict[str, set[str]]:
    return {table: {k.name for k in keys} for table, keys in ref.tables(ref.CONFIG_FILE).items()}


def test_readme_section_is_the_generators_output() -> None:
    if ref.START not in README:  # the final README must keep the markers
        pytest.fail(f"README.md has no {ref.START} ... {ref.END} section")
    assert ref.updated_readme(README) == README, "run `python -m bot.config_reference --write`"
    result = subprocess.run(
        [sys.executable, "-m", "bot.config_reference", "--check"], cwd=REPO, capture_output=True
    )
    assert result.returncode == 0, result.stderr
    script = subprocess.run(
        [sys.executable, "scripts/config_reference.py"], cwd=REPO, capture_output=True, text=True
    )
    assert script.stdout == ref.reference()


def test_every_key_the_loader_accepts_is_documented_and_nothing_else() -> None:
    accepted, docs = accepted_keys(), documented()
    for table, keys in accepted.items():
        missing = keys - docs.get(table, set())
        assert not missing, (
            f"[{table}] {sorted(missing)} have no row in bot/config_reference.py CONFIG_FILE"
        )
    for table, keys in docs.items():
        extra = keys - accepted.get(table, set())
        assert not extra, f"bot/config_reference.py documents [{table}] {sorted(extra)}"


def test_each_key_has_one_row() -> None:
    rows = [(k.table, k.name) for k in (*ref.ENVIRONMENT, *ref.CONFIG_FILE)]
    assert len(rows) == len(set(rows)), sorted(r for r in rows if rows.count(r) > 1)


def test_every_variable_settings_reads_is_documented() -> None:
    source = (REPO / "bot" / "settings.py").read_text()
    read = set(re.findall(r'get\("([A-Z_]+)"\)', source))
    assert read, "settings.py no longer reads variables with get(...)"
    assert read == {k.name for k in ref.ENVIRONMENT}


EXAMPLE_TEXT = (REPO / "config" / "bot.example.toml").read_text()
EXAMPLE = tomllib.loads(EXAMPLE_TEXT)
# The example with every commented-out setting turned on: the optional tables it shows
# ("# [reviews]", "# [[accounts]]") and keys ("# account = ...", "# max_duration = ...").
# Prose comments stay comments; "# # ..." inside a commented table becomes "# ...".
FULL_EXAMPLE = tomllib.loads(
    re.sub(r"(?m)^# ([a-z_]+ = .+|\[\[?[a-z_]+\]\]?)$", r"\1", EXAMPLE_TEXT)
)
# Keys that are optional on their own but required once another table is there:
# key -> that table. Leaving the key out must then be named as missing.
REQUIRED_WITH = {("reviews", "every"): "reviews", ("profiles", "account"): "accounts"}


def _holder(doc: dict, table: str) -> dict | None:
    holder = doc.get(table)
    if isinstance(holder, list):
        holder = holder[0] if holder else None
    return holder if isinstance(holder, dict) else None


def _without(doc: dict, table: str, key: str) -> dict:
    doc = copy.deepcopy(doc)
    holder = _holder(doc, table)
    assert holder is not None and key in holder
    del holder[key]
    return doc


def _shown_in(key: ref.Key) -> dict:
    """The example that has the key: as it is, else with its commented lines turned on."""
    for doc in (EXAMPLE, FULL_EXAMPLE):
        if key.name in (_holder(doc, key.table) or {}):
            return doc
    pytest.fail(f"config/bot.example.toml shows no {key.table}.{key.name}, not even commented out")


def _named(problems: list[str], key: ref.Key) -> list[str]:
    return [p for p in problems if re.search(rf"\b{key.table}(\[\d+\])?\.{key.name} ", p)]


def test_the_example_is_valid_as_is_and_with_its_commented_settings_on() -> None:
    assert not _problems(EXAMPLE), "config/bot.example.toml must be valid"
    assert not _problems(FULL_EXAMPLE), "its commented-out settings, turned on, must be valid"
    assert {"reviews", "accounts"} <= FULL_EXAMPLE.keys() - EXAMPLE.keys()


@pytest.mark.parametrize("key", ref.CONFIG_FILE, ids=lambda k: f"{k.table}.{k.name}")
def test_required_and_defaults_are_what_the_loader_does(key: ref.Key) -> None:
    example = _shown_in(key)
    doc = _without(example, key.table, key.name)
    problems = _problems(doc)
    named = _named(problems, key)
    if key.required:
        assert any("is missing" in p for p in named), f"{key.name} is not required: {problems}"
        return
    if (key.table, key.name) in REQUIRED_WITH:
        assert any("is missing" in p for p in named), problems
        # ... and not required without the table that asks for it.
        doc.pop(REQUIRED_WITH[key.table, key.name])
        holders = doc.get(key.table, {})
        for holder in holders if isinstance(holders, list) else [holders]:
            holder.pop(key.name, None)
        assert not _problems(doc)
        return
    assert not problems, problems
    if key.default is None:
        return
    config = parse_config(doc, "probe")
    holder = getattr(config, key.table)
    if isinstance(holder, tuple):
        holder = holder[0]
    assert ref.toml(getattr(holder, key.name)) == key.default.strip("`")


def test_a_stale_section_is_detected() -> None:
    stale = README.replace("How often the reminder and expiry sweeps run.", "How often.")
    assert ref.updated_readme(stale) == README
    assert stale != README
