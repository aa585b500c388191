"""The documentation stays true to the code."""

import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.rules.findings import CODES
from planner.rules.reference import BEGIN, END, reference_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_rules_reference_matches_schema() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    embedded = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert embedded == reference_markdown(), "docs/rules.md is stale: regenerate with `planner schema --markdown`"


def test_every_finding_code_is_documented() -> None:
    text = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    missing = [code for code in CODES if code not in text]
    assert not missing, f"docs/checks.md does not describe {missing}"


SCENARIOS_DOC = ROOT / "docs" / "scenarios.md"


def _fenced(text: str, after: str, language: str) -> str:
    """The first ```language block after the marker `after`."""
    start = text.index(f"```{language}\n", text.index(after)) + len(language) + 4
    return text[start:text.index("```", start)]


def test_the_scenarios_guide_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/scenarios.md's example file validates next to the demo's rules and scenarios, every command on the page
    exits as its comment says (0 unless '# exit N'), and its Python example resolves."""
    for folder in ("rules", "scenarios"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    text = SCENARIOS_DOC.read_text(encoding="utf-8")
    marker = re.search(r"<!-- example: (\S+) -->", text)
    assert marker, "docs/scenarios.md lost its <!-- example: FILE --> marker"
    (tmp_path / marker[1]).write_text(_fenced(text, marker[0], "yaml"), encoding="utf-8")
    commands = [line.strip() for line in _fenced(text, "<!-- commands -->", "bash").splitlines()
                if line.strip().startswith("planner ")]
    assert len(commands) >= 5 and any(marker[1] in line for line in commands)
    for line in commands:
        expected = re.search(r"# exit (\d)", line)
        result = CliRunner().invoke(main, shlex.split(line, comments=True)[1:])
        assert result.exit_code == (int(expected[1]) if expected else 0), f"{line}\n{result.output}"
        assert "Traceback" not in result.output
    near = CliRunner().invoke(main, shlex.split(next(line for line in commands if "did you mean" in line),
                                                comments=True)[1:])
    assert "unknown budget id 'bud-totl-2027'; did you mean 'bud-total-2027'?" in near.stderr
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_fenced(text, "`resolve` returns", "python"), "docs/scenarios.md", "exec"), {})  # noqa: S102 - the page's own example
    assert printed.getvalue().startswith("budgets.bud-total-2027.max = 4200000 (written 4.2M) (command line")
