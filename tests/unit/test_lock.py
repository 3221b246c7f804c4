"""requirements.lock (what the Dockerfile installs) matches pyproject.toml: every direct
runtime dependency is pinned there, at a version its specifier allows, with hashes.
After changing [project] dependencies: `make lock`."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.processes import REPO

LOCK = REPO / "requirements.lock"
STALE = "requirements.lock is stale: run `make lock` and commit it"


def pins(text: str) -> dict[str, tuple[Version, list[str]]]:
    """name -> (pinned version, its hashes) from a pip-compile style lock."""
    found: dict[str, tuple[Version, list[str]]] = {}
    name = None
    for line in text.splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line):
            name = canonicalize_name(match.group(1))
            found[name] = (Version(match.group(2)), [])
        elif name and (digest := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            found[name][1].append(digest.group(1))
    return found


def direct_dependencies() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


def test_every_direct_dependency_is_pinned_within_its_specifier() -> None:
    locked = pins(LOCK.read_text())
    for requirement in direct_dependencies():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements.lock: {STALE}"
        version, hashes = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, outside {requirement}: {STALE}"
        )
        assert hashes, f"{name} has no --hash in requirements.lock"
        if "binary" in requirement.extras and name == "psycopg":
            assert "psycopg-binary" in locked, STALE  # the extra's package is locked too


def test_every_pin_is_hashed_and_exact() -> None:
    locked = pins(LOCK.read_text())
    assert len(locked) >= len(direct_dependencies())
    assert all(hashes for _, hashes in locked.values())
    text = LOCK.read_text()
    assert "uv pip compile pyproject.toml" in text  # made from pyproject.toml (`make lock`)
    assert not re.search(r"^[A-Za-z0-9_.\-]+\s*(>=|<=|~=|>|<)", text, re.M)


def test_pins_match_this_environment() -> None:
    # The suite runs against what the image installs: a lock that drifted from the
    # virtualenv the tests ran in would ship untested versions.
    from importlib.metadata import PackageNotFoundError, version

    for name, (pinned, _) in pins(LOCK.read_text()).items():
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            continue  # a platform-specific package this environment does not need
        assert installed == pinned, f"{name}: installed {installed}, locked {pinned}"


def test_a_dependency_missing_from_the_lock_is_caught() -> None:
    locked = pins("slack-bolt==1.30.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    assert "boto3" not in locked and canonicalize_name("slack_bolt") in locked
