"""The code stays linted and typed: ruff and mypy (strict, pyproject.toml) run as part of the test command, so CI
fails on a new finding instead of it piling up unseen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing_in_the_package() -> None:
    result = run("mypy", "planner")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
