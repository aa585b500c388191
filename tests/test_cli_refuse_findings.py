"""`simulate`, `compare`, `optimize`, `plan submit` and `report` refuse a scenario with error findings, as
`planner validate` judges it (exit 1, the findings on stderr as validate prints them, nothing written), and
`--allow-findings` runs a deliberate what-if anyway. `optimize` stops before building its model on a calendar the
checker proves infeasible (PP420). Run as subprocesses: the exit code, stdout and stderr a user sees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLANNER = [sys.executable, "-m", "planner.cli"]

FLOOR_BREACH = """\
scenario:
  id: floor-breach
  name: Sparkling floor at COGS + 60% (every worst-case stack breaks it)
  extends: base.yaml
  options: {draws: 0}
  overrides:
    price_floors.pf-sparkling.min_markup: 60%
"""

CALENDAR_INFEASIBLE = """\
scenario:
  id: calendar-infeasible
  name: Carrefour must promote 60 weeks of a 52-week year
  extends: base.yaml
  options: {draws: 0}
  add:
    calendar_rules:
      - {id: cr-carrefour-60-weeks, kind: event_count, applies_to: {account: carrefour}, min: 60}
"""


def planner(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLANNER_USER": "alice", "PLANNER_DB": str(cwd / "plans.db")}
    env.pop("PLANNER_ROLES", None)
    return subprocess.run([*PLANNER, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the demo rules and scenarios, with the two broken scenarios beside them."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    (tmp_path / "scenarios" / "floor-breach.yaml").write_text(FLOOR_BREACH, encoding="utf-8")
    (tmp_path / "scenarios" / "calendar-infeasible.yaml").write_text(CALENDAR_INFEASIBLE, encoding="utf-8")
    return tmp_path


def findings_block(validate_stdout: str) -> str:
    """validate's text report without its summary line (the files it names differ: validate counts the scenario)."""
    return "\n".join(validate_stdout.strip().splitlines()[:-1])


def test_validate_calls_both_scenarios_broken(project: Path) -> None:
    floor = planner("validate", "scenarios/floor-breach.yaml", cwd=project)
    assert floor.returncode == 1 and "error PP320" in floor.stdout, floor.stdout + floor.stderr
    calendar = planner("validate", "scenarios/calendar-infeasible.yaml", cwd=project)
    assert calendar.returncode == 1 and "error PP420" in calendar.stdout, calendar.stdout + calendar.stderr


def test_simulate_refuses_and_writes_nothing(project: Path) -> None:
    result = planner("simulate", "scenarios/floor-breach.yaml", "--out", "results", cwd=project)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "error PP320" in result.stderr and "price floor 'pf-sparkling'" in result.stderr
    assert "rules/policy.yaml:40:5: error PP320" in result.stderr
    assert "related: scenarios/floor-breach.yaml:1:1" in result.stderr
    assert "--allow-findings" in result.stderr
    assert not (project / "results").exists()


def test_simulate_prints_the_findings_as_validate_does(project: Path) -> None:
    result = planner("simulate", "scenarios/floor-breach.yaml", cwd=project)
    validate = planner("validate", "scenarios/floor-breach.yaml", cwd=project)
    expected = findings_block(validate.stdout)
    assert "(under scenario floor-breach)" in expected
    assert expected and expected in result.stderr


def test_simulate_with_allow_findings_runs_and_writes(project: Path) -> None:
    result = planner("simulate", "scenarios/floor-breach.yaml", "--out", "results", "--allow-findings", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "error PP320" in result.stderr  # still shown: a what-if is deliberate, not blind
    assert "running despite 1 error finding(s)" in result.stderr
    assert (project / "results" / "totals.csv").is_file()
    assert "floor-breach" in result.stdout


def test_allow_findings_does_not_excuse_a_broken_reference(project: Path) -> None:
    (project / "scenarios" / "unknown.yaml").write_text(
        "scenario:\n  id: unknown\n  name: Unknown account\n  extends: base.yaml\n  add:\n    calendar_rules:\n"
        "      - {id: cr-x, kind: event_count, applies_to: {account: no-such-account}, min: 1}\n", encoding="utf-8")
    result = planner("simulate", "scenarios/unknown.yaml", "--allow-findings", "--out", "results", cwd=project)
    assert result.returncode == 1 and "error PP201" in result.stderr, result.stderr
    assert not (project / "results").exists()


def test_warnings_never_block(project: Path) -> None:
    (project / "scenarios" / "never.yaml").write_text(
        "scenario:\n  id: never\n  name: A discount that never applies\n  extends: base.yaml\n"
        "  options: {draws: 0}\n  add:\n    discounts:\n"
        "      - {id: d-never, applies_to: {account: carrefour}, per_case: 1, valid: {from: 2030-01-01, "
        "to: 2030-12-31}}\n", encoding="utf-8")
    assert planner("validate", "scenarios/never.yaml", cwd=project).returncode == 0
    result = planner("simulate", "scenarios/never.yaml", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr


def test_compare_refuses_when_one_scenario_is_broken(project: Path) -> None:
    result = planner("compare", "scenarios/base.yaml", "scenarios/floor-breach.yaml", "--draws", "0", cwd=project)
    assert result.returncode == 1 and "error PP320" in result.stderr and result.stdout == ""
    allowed = planner("compare", "scenarios/base.yaml", "scenarios/floor-breach.yaml", "--draws", "0",
                      "--allow-findings", cwd=project)
    assert allowed.returncode == 0, allowed.stderr


def test_optimize_stops_before_building_with_the_calendar_finding(project: Path) -> None:
    result = planner("optimize", "scenarios/calendar-infeasible.yaml", "--time-limit", "60", "--out", "plan",
                     cwd=project)
    assert result.returncode == 1, result.stderr
    assert "error PP420" in result.stderr and "cr-carrefour-60-weeks" in result.stderr
    assert "build:" not in result.stderr and "options:" not in result.stderr  # no model was built
    assert result.stdout == ""
    assert not (project / "plan").exists()


def test_optimize_refuses_a_floor_breach(project: Path) -> None:
    result = planner("optimize", "scenarios/floor-breach.yaml", "--time-limit", "60", "--out", "plan", cwd=project)
    assert result.returncode == 1 and "error PP320" in result.stderr, result.stderr
    assert "build:" not in result.stderr
    assert not (project / "plan").exists()


def test_plan_submit_refuses_and_stores_nothing(project: Path) -> None:
    result = planner("plan", "submit", "scenarios/floor-breach.yaml", "--as", "alice", cwd=project)
    assert result.returncode == 1 and "error PP320" in result.stderr, result.stderr
    assert "submitted" not in result.stdout
    assert not (project / "plans.db").exists()


def test_report_of_a_scenario_file_refuses(project: Path) -> None:
    result = planner("report", "scenarios/floor-breach.yaml", "--out", "pack", cwd=project)
    assert result.returncode == 1 and "error PP320" in result.stderr, result.stderr
    assert not (project / "pack").exists()


@pytest.mark.parametrize("command", [["simulate"], ["compare"], ["optimize"], ["plan", "submit"], ["report"]])
def test_allow_findings_is_documented(command: list[str], project: Path) -> None:
    result = planner(*command, "--help", cwd=project)
    assert result.returncode == 0
    assert "--allow-findings" in result.stdout
    assert "--allow-findings" in result.stdout.split("Options:")[0]  # an example or a sentence in the help text
