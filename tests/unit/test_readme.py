"""The README stays true: generated config reference, pictures, scopes, commands."""

from __future__ import annotations

import re
import xml.dom.minidom

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
