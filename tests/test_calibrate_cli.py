"""`planner calibrate` end to end, as a subprocess: the files it writes, what it prints, its exit codes, and that
a calibrated file dropped into the demo's rules is valid and simulates (with Monte Carlo draws).

The history is three of the demo's accounts from history/demo-sales.csv (the synthetic demo history), so the fit
stays a few seconds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
ACCOUNTS = ("carrefour", "seven-eleven", "jd")


def planner(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "planner", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.read_csv(REPO / "history" / "demo-sales.csv")
    path = tmp_path_factory.mktemp("history") / "sales.csv"
    frame[frame["account"].isin(ACCOUNTS)].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def calibrated(history: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("run") / "calibration"
    result = planner("calibrate", "rules", str(history), "--holdout", "13", "--out", str(out), "--format", "json")
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout)


def test_json_report_and_files(calibrated: tuple[Path, dict[str, Any]]) -> None:
    out, report = calibrated
    backtest = report["backtest"]
    assert {"wape", "wape_promo", "wape_nonpromo", "bias", "rows"} <= set(backtest)
    assert backtest["rows"] > 0 and 0 < backtest["wape"] < backtest["naive"]["wape"]
    assert abs(backtest["bias"]) < 0.1
    assert set(backtest["by_account"]) == set(ACCOUNTS)
    assert any(name.startswith("elasticity[") for name in report["parameters"])
    assert all({"value", "se", "low", "high"} <= set(p) for p in report["parameters"].values())
    assert sorted(p.name for p in out.iterdir()) == ["backtest.json", "calibrated.yaml", "worst_series.png"]
    assert json.loads((out / "backtest.json").read_text())["backtest"]["wape"] == backtest["wape"]
    header = (out / "calibrated.yaml").read_text().splitlines()[:6]
    assert any("sha256" in line for line in header) and any(line.startswith("# window:") for line in header)


def test_calibrated_file_replaces_the_demos_demand_and_simulates(calibrated: tuple[Path, dict[str, Any]],
                                                                 tmp_path: Path) -> None:
    out, _ = calibrated
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copytree(REPO / "scenarios", tmp_path / "scenarios")
    shutil.copy(out / "calibrated.yaml", tmp_path / "rules" / "calibrated.yaml")  # in place of the demo's own
    checked = planner("validate", "rules", "--format", "json", cwd=tmp_path)
    errors = [f for f in json.loads(checked.stdout)["findings"] if f["severity"] == "error"]
    assert errors == [], checked.stdout
    simulated = planner("simulate", "scenarios/base.yaml", "--draws", "20", "--format", "json", cwd=tmp_path)
    assert simulated.returncode == 0, simulated.stderr
    totals = json.loads(simulated.stdout)["totals"]
    assert totals["volume"] > 0


def test_text_report(history: Path) -> None:
    result = planner("calibrate", "rules", str(history), "--holdout", "8")
    assert result.returncode == 0, result.stderr
    assert "WAPE" in result.stdout and "promoted weeks" in result.stdout and "account jd" in result.stdout


def test_history_problems_are_located_and_nothing_is_written(history: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv"
    lines = history.read_text().splitlines()
    fields = lines[5].split(",")
    fields[7] = "lots"  # cases
    lines[5] = ",".join(fields)
    broken.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    result = planner("calibrate", "rules", str(broken), "--out", str(out))
    assert result.returncode == 1
    assert "broken.csv:6" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_unknown_account_is_a_history_problem(history: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(history)
    frame.loc[frame.index[:3], "account"] = "carrefor"
    path = tmp_path / "unknown.csv"
    frame.to_csv(path, index=False)
    result = planner("calibrate", "rules", str(path))
    assert result.returncode == 1 and "carrefor" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [
    ("--holdout", "60"),
    ("--holdout", "40", "--origins", "5"),
    ("--origins", "0"),
])
def test_impossible_backtests_cannot_run(history: Path, args: tuple[str, ...]) -> None:
    result = planner("calibrate", "rules", str(history), *args)
    assert result.returncode == 2 and result.stderr.startswith("planner calibrate:"), result.stderr


def test_missing_history_and_unsafe_out_cannot_run(history: Path, tmp_path: Path) -> None:
    assert planner("calibrate", "rules", str(tmp_path / "absent.csv")).returncode == 2
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    result = planner("calibrate", "rules", str(history), "--out", str(project))
    assert result.returncode == 2 and "notes.txt" in result.stderr
    assert sorted(p.name for p in project.iterdir()) == ["notes.txt"]
