"""The lock (requirements.lock) and pyproject.toml agree, and the suite runs with the locked versions.

pyproject.toml keeps loose ranges for library users; requirements.lock pins the exact versions the suite passes
with, and the README's install command and .ci/run install through it (`pip install -c requirements.lock ...`).
A dependency added to pyproject.toml without refreshing the lock, or a range that excludes the locked version,
fails here, with the command that refreshes it (README, "Dependencies").
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
REFRESH = "uv pip compile pyproject.toml --extra dev --python-version 3.11 --annotation-style line -o requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for number, line in enumerate((ROOT / "requirements.lock").read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        match = PIN.match(text)
        assert match, f"requirements.lock:{number}: not a 'name==version' pin: {line!r}"
        pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["dev"]]


def test_the_lock_records_how_to_refresh_it() -> None:
    assert REFRESH in (ROOT / "requirements.lock").read_text(), "regenerate the lock with the documented command"
    assert REFRESH in (ROOT / "README.md").read_text(), "the README documents how to refresh the lock"


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_every_declared_dependency_is_locked_inside_its_range(requirement: Requirement) -> None:
    pins = locked()
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement} is in pyproject.toml but not in requirements.lock: run {REFRESH}"
    assert requirement.specifier.contains(pins[name], prereleases=True), (
        f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {requirement}: run {REFRESH}")


def test_the_suite_runs_with_the_locked_versions() -> None:
    """The environment was installed through the lock (README / .ci/run), so what passes here is what is locked."""
    wrong = []
    for name, version in sorted(locked().items()):
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: locked {version}, not installed")
            continue
        if installed != version:
            wrong.append(f"{name}: locked {version}, installed {installed}")
    assert not wrong, ("the environment differs from requirements.lock (reinstall with the README's command): "
                       + "; ".join(wrong))
