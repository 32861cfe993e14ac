"""Packaging: the metadata installs without warnings, and the test tools are pinned so that an
unchanged checkout gives the same verdict tomorrow (pyproject.toml, constraints.txt)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonical(name)] = pinned
    return pins


def test_the_license_is_an_spdx_expression_that_setuptools_reads() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    setuptools = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    assert setuptools == ["setuptools>=77"]  # the first to read an SPDX license string


def test_the_test_tools_are_pinned_exactly_and_installed_as_pinned() -> None:
    pins = constraints()
    tools = PYPROJECT["project"]["optional-dependencies"]["test"]
    names = set()
    for requirement in tools:
        match = REQUIREMENT.match(requirement)
        assert match, requirement
        name, _, spec = match.groups()
        assert spec.startswith("==") and "," not in spec, f"{requirement} is not an exact pin"
        names.add(canonical(name))
        assert pins.get(canonical(name)) == spec[2:], f"constraints.txt disagrees on {name}"
        assert version(name) == spec[2:], f"{name} {version(name)} installed; run scripts/setup.sh"
    assert {"ruff", "mypy", "pytest"} <= names


def test_every_dependency_has_a_version_in_the_constraints() -> None:
    pins = constraints()
    for requirement in PYPROJECT["project"]["dependencies"]:
        match = REQUIREMENT.match(requirement)
        assert match, requirement
        assert canonical(match.group(1)) in pins, f"constraints.txt lacks {match.group(1)}"
    assert "-c constraints.txt" in (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
