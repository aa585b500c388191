"""docs/approval.md's walkthrough runs as written on the demo, with the exit codes it states."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_store_support import ROOT, copy_demo, db_url_fixture, grant_logins, user_url  # noqa: F401 - fixtures

from planner.cli import main
from planner.store.database import open_store

DOC = ROOT / "docs" / "approval.md"


def walkthrough() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = text[text.index("<!-- walkthrough -->"):text.index("<!-- /walkthrough -->")]
    return [line.strip() for line in block.splitlines() if line.strip().startswith("planner ")]


def test_the_walkthrough_runs_with_the_documented_exit_codes(db_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    roles = ROOT / ".planner" / "roles.yaml"
    assert roles.is_file(), ("the demo's roles file .planner/roles.yaml is missing; the root .gitignore ignores "
                             "'.planner/', so commit it with: git add -f .planner/roles.yaml .planner/.gitignore")
    demo = copy_demo(tmp_path / "demo")
    shutil.copy(roles, demo / ".planner" / "roles.yaml")  # the demo's own roles
    monkeypatch.chdir(demo)
    monkeypatch.setenv("PLANNER_DB", db_url)
    if "://" in db_url:  # a shared store: the administrator creates it and imports the roles; each user logs in
        open_store(db_url).close()
        grant_logins(db_url)
        imported = CliRunner().invoke(main, ["role", "import", ".planner/roles.yaml", "--as", "dana",
                                             "--db", user_url(db_url, "dana")])
        assert imported.exit_code == 0, imported.output
    lines = walkthrough()
    assert len(lines) >= 10
    outputs = {}
    for line in lines:
        expected = 1 if "# exit 1" in line else 0
        words = shlex.split(line, comments=True)[1:]
        user = words[words.index("--as") + 1] if "--as" in words else None
        if user and "://" in db_url:
            monkeypatch.setenv("PLANNER_DB", user_url(db_url, user))
        result = CliRunner().invoke(main, words)
        assert result.exit_code == expected, f"{line}\n{result.output}"
        outputs[line] = result.output
    assert "audit trail intact" in outputs["planner audit verify"]
    assert "approval 1 of 2 recorded" in outputs[next(line for line in lines if "within the summer fund" in line)]
    assert "carrefour: Trade spend +" in outputs["planner plan diff base-2027"]
