"""docs/architecture.md stays true: the layering contracts hold (and catch a bad import),
the state diagram is the state machine, the flows are numbered one way everywhere, and
code cites the repository's own docs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import xml.dom.minidom
from pathlib import Path

from bot.domain.states import TRANSITIONS, Status
from tests.support.processes import REPO

ARCHITECTURE = (REPO / "docs" / "architecture.md").read_text()
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
SOURCES = ("bot", "tests", "bench", "scripts", "migrations")

FLOWS = {
    1: "Request",
    2: "Route / decide",
    3: "Provision",
    4: "Deliver",
    5: "Remind / expire",
    6: "Take it back",
    7: "Accounts",
}


def _python_files() -> list[Path]:
    return [p for folder in SOURCES for p in (REPO / folder).rglob("*.py")]


def _lint_imports(root: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True
    )


# --- layers ------------------------------------------------------------------------


def test_the_layering_contracts_hold() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_service_importing_sqlalchemy_breaks_a_contract(tmp_path: Path) -> None:
    shutil.copytree(REPO / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    services = tmp_path / "bot" / "services" / "__init__.py"
    services.write_text(services.read_text() + "\nimport sqlalchemy  # noqa\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # the copy shadows the installed bot
    result = _lint_imports(tmp_path, env)
    assert result.returncode == 1
    assert "services: no SQL, Slack, AWS or wiring (ports only) BROKEN" in result.stdout
    assert "bot.services is not allowed to import sqlalchemy" in result.stdout


def test_every_contract_is_described_in_the_architecture_doc() -> None:
    contracts = PYPROJECT["tool"]["importlinter"]["contracts"]
    assert len(contracts) == 4
    for contract in contracts:
        assert f"*{contract['name']}*" in ARCHITECTURE, contract["name"]
        for module in contract["forbidden_modules"]:
            if module != "bot.*":
                assert f"`{module}`" in ARCHITECTURE, (contract["name"], module)


def test_every_package_is_installed() -> None:
    """A package missing from [tool.setuptools] packages is missing from the wheel and
    from the Docker image, while the source tree still works."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "bot").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - listed == set()


# --- states ------------------------------------------------------------------------


def test_the_state_diagram_is_the_state_machine() -> None:
    diagram = ARCHITECTURE.split("```mermaid", 1)[1].split("```", 1)[0]
    edges = {
        (Status(a), Status(b))
        for a, b in re.findall(r"^\s*(\w+) --> (\w+):", diagram, re.M)
        if a != "[*]"
    }
    machine = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert edges == machine
    table = ARCHITECTURE.split("## Request states", 1)[1].split("\n## ", 1)[0]
    for status in Status:
        assert status.value in table, status


# --- flows -------------------------------------------------------------------------


def test_flows_are_numbered_the_same_in_the_doc_the_picture_and_the_readme() -> None:
    section = ARCHITECTURE.split("## Flows", 1)[1]
    doc = {int(n): t for n, t in re.findall(r"^(\d)\. \*\*(.+?)\.\*\*", section, re.M)}
    assert {n: t.split(" (")[0] for n, t in doc.items()} == FLOWS

    svg = xml.dom.minidom.parse(str(REPO / "docs" / "flow.svg"))
    titles = [
        node.firstChild.data
        for node in svg.getElementsByTagName("text")
        if node.getAttribute("class") == "title"
    ]
    numbered = {int(t[0]): t[3:] for t in titles if re.match(r"\d\. ", t)}
    assert {n: t.split(" (")[0] for n, t in numbered.items()} == FLOWS

    readme = (REPO / "README.md").read_text()
    listed = ", ".join(f"{n} {title}" for n, title in FLOWS.items())
    assert listed in " ".join(readme.split()).replace(" (one-time link)", "")


def test_code_comments_cite_flows_that_exist() -> None:
    cited = re.compile(r"[Ff]lows? (\d)(?:\s*(?:-|,|and|->)\s*(\d))*")
    for path in _python_files():
        for match in cited.finditer(path.read_text()):
            numbers = [int(n) for n in re.findall(r"\d", match.group(0))]
            assert all(n in FLOWS for n in numbers), f"{path}: {match.group(0)}"


# --- citations ---------------------------------------------------------------------


def test_code_cites_the_repository_docs_only() -> None:
    outside = ("DESIGN" + ".md", "../" + "shared")
    for path in _python_files():
        text = path.read_text()
        for name in outside:
            assert name not in text, f"{path.relative_to(REPO)} cites {name}"


def test_cited_sections_exist() -> None:
    headings = set(re.findall(r"^## (.+)$", ARCHITECTURE, re.M))
    for path in _python_files():
        for section in re.findall(r'architecture\.md, "([^"]+)"', path.read_text()):
            assert section in headings, f"{path.relative_to(REPO)} cites {section!r}"
