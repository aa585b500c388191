"""Broken history fixtures: every kind of problem a history file can have, each with exactly the problems it
must give (file, row, column, text), in tests/fixtures/history/expected.yaml.

The habit of tests/test_broken_fixtures.py for rule files: one small file per problem. For every fixture
`load_history` must report exactly the declared problems (none missing, none extra), and `planner init` must
print each of them located (in process, through click's runner), write nothing and exit 1 (2 when the column map itself is wrong). A new wrong_*.csv
without an entry in expected.yaml, or an entry without its file, fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from planner.cli import main
from planner.history import HistoryError, load_history
from planner.rules.load import load_rules

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
HISTORY = FIXTURES / "history"
EXPECTED: dict[str, Any] = yaml.safe_load((HISTORY / "expected.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Case:
    name: str
    problems: tuple[dict[str, Any], ...]
    rules: str | None

    @property
    def path(self) -> Path:
        return HISTORY / self.name

    @property
    def columns(self) -> Path | None:
        candidate = self.path.with_suffix(".columns.yaml")
        return candidate if candidate.exists() else None

    def file_of(self, expected: dict[str, Any]) -> str:
        return f"tests/fixtures/history/{expected.get('file', self.name)}"


def cases() -> list[Case]:
    out = []
    for name, entry in sorted(EXPECTED.items()):
        if isinstance(entry, dict):
            out.append(Case(name, tuple(entry["problems"]), entry.get("rules")))
        else:
            out.append(Case(name, tuple(entry), None))
    return out


CASES = cases()


def test_every_broken_fixture_has_its_expectations_and_every_expectation_its_file() -> None:
    files = {p.name for p in HISTORY.glob("wrong_*.csv")}
    assert files == set(EXPECTED), (sorted(files - set(EXPECTED)), sorted(set(EXPECTED) - files))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_gives_exactly_its_problems(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # problems name files relative to the working directory
    rules = load_rules([FIXTURES / case.rules]).rules if case.rules else None
    with pytest.raises(HistoryError) as raised:
        load_history(case.path.relative_to(REPO), case.columns.relative_to(REPO) if case.columns else None,
                     rules=rules)
    got = raised.value.problems
    shown = "\n".join(str(p) for p in got)
    assert len(got) == len(case.problems), shown
    for expected in case.problems:
        assert any(p.file == case.file_of(expected) and p.row == expected["row"]
                   and p.column == expected["column"] and expected["text"] in p.message
                   and expected.get("fix", "") in p.fix for p in got), f"missing {expected}\ngot:\n{shown}"
    assert all(p.fix for p in got), "every problem says how to fix it"


CLI_CASES = [c for c in CASES if c.rules is None]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_planner_init_reports_the_problems_located_and_writes_nothing(case: Case, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "repo"
    arguments = ["init", str(out), "--from-history", str(case.path.relative_to(REPO))]
    if case.columns:
        arguments += ["--columns", str(case.columns.relative_to(REPO))]
    result = CliRunner().invoke(main, arguments)
    in_map = any("file" in e for e in case.problems)
    assert result.exit_code == (2 if in_map else 1), result.output
    for expected in case.problems:
        assert f"{case.file_of(expected)}:{expected['row']}" in result.stderr, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()
