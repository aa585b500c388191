"""The command line's contract: exit codes CI can rely on, reports on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

import planner.validate
from planner.cli import main
from planner.rules.findings import TIER_GAP, Location, finding
from planner.validate import Report

VALID = "company: {name: X}\ncalendar: {year: 2027, start: 2027-01-04}\n"
BROKEN = VALID + "discounts:\n  - id: spring\n    percnt: 3%\n"


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding `good/rules.yaml` (clean) and `bad/rules.yaml` (one unknown key)."""
    for folder, text in (("good", VALID), ("bad", BROKEN)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "rules.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_clean_rules_exit_0(rules: Path) -> None:
    result = run("validate", "good")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "no findings in 1 file (0 rules)"


def test_a_scenario_counts_the_files_and_rules_it_was_checked_with() -> None:
    """`planner validate SCENARIO` checks the scenario's rules folder too, and its summary counts them (it used to
    say '1 file (0 rules)'); several scenarios on one folder count each rule object once."""
    from planner.rules.scenario import resolve

    root = Path(__file__).resolve().parents[1]
    base, summer = root / "scenarios" / "base.yaml", root / "scenarios" / "summer-push.yaml"
    one, both = resolve(base), resolve(summer)
    files = len(set(one.chain) | set(one.rules.files))
    report = planner.validate.validate([base])
    assert report.findings == [] and len(report.files) == files > 1
    assert report.rule_count == one.rules.rule_count > 0
    pair = planner.validate.validate([base, summer])
    assert both.rules.rule_count > one.rules.rule_count  # summer-push adds rules of its own
    assert pair.rule_count == both.rules.rule_count
    assert len(pair.files) == len(set(one.chain) | set(both.chain) | set(one.rules.files) | set(both.rules.files))


def test_error_findings_exit_1_with_the_location_and_fix(rules: Path) -> None:
    result = run("validate", "bad")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "bad/rules.yaml:5:5: error PP110 unknown key 'percnt'; did you mean 'percent'?"
    assert lines[1] == "    fix: rename it to 'percent'"
    assert lines[-1] == "1 error in 1 file (0 rules)"


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_print_only_json_to_stdout(rules: Path, fmt: str) -> None:
    result = run("validate", "bad/rules.yaml", "--format", fmt)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    if fmt == "json":
        [item] = document["findings"]
        assert (item["code"], item["file"], item["line"], item["path"]) == (
            "PP110", "bad/rules.yaml", 5, "discounts[0].percnt")
        assert document["summary"]["errors"] == 1
    else:
        [result_item] = document["runs"][0]["results"]
        assert result_item["ruleId"] == "PP110"
        assert result_item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad/rules.yaml"


def test_junit_marks_the_broken_file_failed_and_the_clean_one_passed(rules: Path) -> None:
    (rules / "split").mkdir()
    (rules / "split" / "base.yaml").write_text(VALID, encoding="utf-8")
    (rules / "split" / "discounts.yaml").write_text(BROKEN.removeprefix(VALID), encoding="utf-8")
    result = run("validate", "split", "--format", "junit")
    assert result.exit_code == 1
    root = ElementTree.fromstring(result.stdout)
    cases = {case.get("classname"): case for case in root.iter("testcase")}
    assert set(cases) == {"split/base.yaml", "split/discounts.yaml"}
    assert cases["split/base.yaml"].find("failure") is None
    assert [failure.get("type") for failure in cases["split/discounts.yaml"].iter("failure")] == ["PP110"]
    assert (root.get("tests"), root.get("failures")) == ("2", "1")


def test_github_format_annotates_the_finding(rules: Path) -> None:
    result = run("validate", "bad", "--format", "github")
    assert result.stdout.startswith("::error file=bad/rules.yaml,line=5,col=5,title=PP110::unknown key")


@pytest.fixture
def warning_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """validate() answers with a single warning, whatever it is given (the checks that warn live elsewhere)."""
    gap = finding(TIER_GAP, "tiers leave a gap", Location("rules.yaml", 3, 5))
    monkeypatch.setattr(planner.validate, "validate", lambda paths: Report([gap], ["rules.yaml"], 1))


@pytest.mark.usefixtures("rules", "warning_only")
def test_warnings_pass_unless_fail_on_warn() -> None:
    assert run("validate", "good").exit_code == 0
    strict = run("validate", "good", "--fail-on-warn", "--format", "junit")
    assert strict.exit_code == 1
    assert ElementTree.fromstring(strict.stdout).get("failures") == "1"


def test_a_missing_path_cannot_run(rules: Path) -> None:
    result = run("validate", "good", "missing-folder")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == "Error: path does not exist: missing-folder"


@pytest.mark.parametrize("args", [["validate"], ["validate", "good", "--format", "xml"], ["nonsense"]])
def test_usage_errors_exit_2(rules: Path, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert "Usage:" in result.stderr


def _explode(paths: list[Path]) -> Report:
    raise RuntimeError("boom\nsecond line")


def test_an_unexpected_exception_is_one_line_and_exit_2(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANNER_DEBUG", raising=False)
    monkeypatch.setattr(planner.validate, "validate", _explode)
    result = run("validate", "good")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: internal error: RuntimeError: boom second line")
    assert "Traceback" not in result.output


def test_planner_debug_lets_the_traceback_through(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_DEBUG", "1")
    monkeypatch.setattr(planner.validate, "validate", _explode)
    result = run("validate", "good")
    assert isinstance(result.exception, RuntimeError)


def test_schema_describes_rule_files() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$id"] and schema["title"] == "Promo Planner rule file"
    assert "discounts" in schema["properties"]
    assert schema["additionalProperties"] is False


def test_schema_scenario_describes_scenario_files() -> None:
    schema = json.loads(run("schema", "--scenario").stdout)
    assert schema["title"] == "Promo Planner scenario file"
    assert schema["$id"] != json.loads(run("schema").stdout)["$id"]
    assert schema["required"] == ["scenario"]
    scenario = schema["$defs"]["ScenarioSpec"]
    assert {"id", "extends", "overrides"} <= set(scenario["properties"])


def test_python_dash_m_planner_runs_validate(rules: Path) -> None:
    command = [sys.executable, "-m", "planner", "validate", "bad", "--format", "json"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 1, completed.stderr
    assert json.loads(completed.stdout)["summary"]["errors"] == 1


def test_validate_does_not_import_the_solver_stack(rules: Path) -> None:
    """A fresh interpreter (other tests' imports must not count): validate leaves pyomo, highspy, openpyxl out."""
    script = textwrap.dedent("""
        import sys
        from click.testing import CliRunner
        from planner.cli import main
        result = CliRunner().invoke(main, ["validate", "good", "bad"])
        assert result.exit_code == 1, result.output
        heavy = {"pyomo", "highspy", "openpyxl"}
        print(sorted({name.split(".")[0] for name in sys.modules} & heavy))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
