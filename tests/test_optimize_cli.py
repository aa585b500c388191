"""`planner optimize` on a tiny world: the JSON contract, the plan file round trip through `planner simulate
--plan`, the MILP's profit against the simulator's, the re-check of every rule, the diagnosis of an infeasible
scenario, the budget frontier and time limits.

The world is 2 accounts x 2 product groups x 12 weeks (96 options), so every solve takes well under a second;
the demo's numbers (docs/optimizer.md) are measured by the commands given there, not here.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from tiny_world import write_tiny_world

from planner.cli import main
from planner.optimize.constraints import FAMILIES
from planner.optimize.highs import Status
from planner.optimize.run import OptimizeResult
from planner.report.optimization import render_optimization, status_line

CONTRACT = {"scenario", "status", "objective", "bound", "gap", "time", "budget_dual", "duals", "predicted_profit",
            "simulated_profit", "difference", "plan", "vividness", "accounts", "versus", "violations", "frontier",
            "conflicts", "method"}
TOLERANCE = 1e-3
"""Predicted (MILP) vs simulated gross profit: the stated tolerance (docs/optimizer.md). The tiny world measures
-0.021% (its volume rebate), the demo 0.058%."""
VIVIDNESS_AS_WRITTEN = 10 * 100 + 5 * 1500 + 2 * 300
"""Shelf targets (points above today's share x cost per point) and coolers, as the rules offer them."""
INFEASIBLE = ("--set", "budgets.total.max=3000", "--allow-findings")
"""Two accounts must each spend at least 2,000 while the total may not pass 3,000. The checker says so up front
(PP410) and refuses the run; `--allow-findings` lets the optimizer's own diagnosis be tested."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_world(tmp_path_factory.mktemp("tiny"))


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def optimized(*args: str | Path, code: int = 0) -> dict[str, Any]:
    result = run("optimize", *args, "--format", "json")
    assert result.exit_code == code, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture(scope="module")
def plan(world: Path) -> dict[str, Any]:
    return optimized(world)


# --- the JSON contract --------------------------------------------------------------------------------------


def test_json_holds_the_contract(plan: dict[str, Any]) -> None:
    assert CONTRACT <= set(plan)
    assert (plan["scenario"], plan["status"], plan["exit_code"]) == ("tiny", "optimal", 0)
    assert plan["bound"] >= plan["objective"] - 1e-6 * abs(plan["objective"])
    assert plan["gap"] <= plan["gap_target"] + 1e-9
    assert {"build", "solve"} <= set(plan["time"])
    assert plan["method"] in {"account split", "account split, repaired", "whole model",
                              "whole model, started from the account split's plan"}
    assert plan["plan"] and {"id", "account", "product_group", "mechanic", "weeks"} <= set(plan["plan"][0])
    assert [item["id"] for item in plan["accounts"]] == ["hyper-a", "conv-b"]
    assert {"id", "promo_spend", "promo_roi", "gross_profit"} <= set(plan["accounts"][0])
    assert set(plan["versus"]) == {"no_promotions", "scenario_calendar"}
    assert (plan["violations"], plan["frontier"], plan["conflicts"]) == ([], [], [])


def test_stdout_is_only_the_json_document(world: Path) -> None:
    """In a real process (CliRunner captures Python's stdout, not the file descriptor a C library writes to):
    nothing but the document reaches stdout, so `planner optimize --format json | jq` works."""
    done = subprocess.run([sys.executable, "-m", "planner.cli", "optimize", str(world), "--format", "json"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "optimal"


def test_the_plan_beats_doing_nothing_by_what_the_simulator_says(plan: dict[str, Any]) -> None:
    nothing = plan["versus"]["no_promotions"]
    assert nothing["gain"] == pytest.approx(plan["simulated_profit"] - nothing["gross_profit"])
    assert nothing["gain"] > 0
    assert nothing["budget_used"] == pytest.approx(VIVIDNESS_AS_WRITTEN)  # no promotions, vividness as the rules say


def test_predicted_profit_matches_the_simulator_within_the_stated_tolerance(plan: dict[str, Any]) -> None:
    assert plan["tolerance"] == TOLERANCE and plan["prediction_ok"]
    assert abs(plan["predicted_profit"] - plan["simulated_profit"]) <= TOLERANCE * abs(plan["simulated_profit"])
    assert plan["difference"] == pytest.approx((plan["predicted_profit"] - plan["simulated_profit"])
                                               / abs(plan["simulated_profit"]))


def test_budget_duals_in_the_users_terms(plan: dict[str, Any]) -> None:
    """The total budget binds: one more unit of it is worth a positive profit, reported on its row as a max."""
    assert plan["budget_dual"] > 0
    total = [dual for dual in plan["duals"] if dual["rule"] == "total"]
    assert total and total[0]["limit"] == "max" and total[0]["family"] == "budget"
    assert total[0]["dual"] == pytest.approx(plan["budget_dual"])
    for dual in plan["duals"]:
        assert (dual["dual"] > 0) == (dual["limit"] == "max")


def test_text_report_says_status_and_recheck(world: Path) -> None:
    result = run("optimize", world)
    assert result.exit_code == 0, result.output
    assert "status: optimal" in result.stdout
    assert "the plan keeps every rule" in result.stdout
    assert "Predicted (MILP) vs simulated gross profit" in result.stdout


# --- files and the round trip -------------------------------------------------------------------------------


def test_plan_file_round_trips_through_simulate(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "optimized"
    result = run("optimize", world, "--out", out, "--format", "json", "--frontier", "2")
    assert result.exit_code == 0, result.output
    reported = json.loads(result.stdout)
    assert {"plan.yaml", "optimization.json", "frontier.csv", "totals.csv", "accounts.csv", "policy.csv",
            "simulation.xlsx"} <= {item.name for item in out.iterdir()}
    assert json.loads((out / "optimization.json").read_text(encoding="utf-8")) == reported
    header = (out / "accounts.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("account,account_name,account_name_zh,")  # display names beside ids, as simulate's
    simulated = run("simulate", world, "--plan", out / "plan.yaml", "--format", "json")
    assert simulated.exit_code == 0, simulated.output
    totals = json.loads(simulated.stdout)["totals"]
    assert math.isclose(totals["gross_profit"], reported["simulated_profit"], rel_tol=1e-12)
    assert not any(check["ok"] is False for check in json.loads(simulated.stdout)["policy"])
    decided = {(p["item"], p["account"]): p["bought"] for p in reported["vividness"]}
    assert decided == {("st-sparkling", "hyper-a"): True, ("st-water", "hyper-a"): False, ("cooler-b", "conv-b"): True}
    assert "vividness:" in (out / "plan.yaml").read_text(encoding="utf-8")
    assert math.isclose(totals["vividness"], sum(p["fee"] for p in reported["vividness"] if p["bought"]), rel_tol=1e-9)


def test_out_refuses_a_folder_with_other_files(world: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("mine", encoding="utf-8")
    result = run("optimize", world, "--out", tmp_path)
    assert result.exit_code == 2
    assert "notes.md" in result.output
    assert (tmp_path / "notes.md").read_text(encoding="utf-8") == "mine"


# --- infeasible: which rules conflict -----------------------------------------------------------------------


def test_infeasible_names_the_conflicting_rules(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "nothing"
    report = optimized(world, *INFEASIBLE, "--out", out, code=1)
    assert report["status"] == "infeasible" and report["plan"] == []
    conflicts = {item["rule"]: item for item in report["conflicts"]}
    assert set(conflicts) == {"total", "per-account"}
    assert {item["family"] for item in conflicts.values()} == {"budget"}
    relaxed = [item for item in report["conflicts"] if item["role"] == "relaxed"]
    assert relaxed and all(item["violated_by"] > 0 for item in relaxed)
    assert {row["account"] for row in conflicts["per-account"]["rows"]} == {"hyper-a", "conv-b"}
    assert {row["limit"] for row in conflicts["per-account"]["rows"]} == {"min"}
    assert conflicts["total"]["rows"][0]["limit"] == "max" and conflicts["total"]["rows"][0]["bound"] == 3000
    assert not out.exists()


def test_infeasible_text_explains_itself(world: Path) -> None:
    result = run("optimize", world, *INFEASIBLE)
    assert result.exit_code == 1
    assert "INFEASIBLE" in result.stdout
    assert "total" in result.stdout and "per-account" in result.stdout and "relaxed" in result.stdout


def test_the_checker_refuses_the_conflict_before_building(world: Path) -> None:
    result = run("optimize", world, *INFEASIBLE[:-1])
    assert result.exit_code == 1 and result.stdout == ""
    assert "error PP410" in result.stderr and "build:" not in result.stderr


# --- honesty: a rule the model leaves out is caught by the re-check -----------------------------------------


def test_a_rule_missing_from_the_model_is_reported_loudly(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the budgets family the MILP spends what pays (about 26,000); the simulator's re-check must catch
    the 10,000 budget it overspends."""
    monkeypatch.delitem(FAMILIES, "budgets")
    report = optimized(world, "--set", "budgets.total.max=10000", code=1)
    broken = {(item["rule"], item["kind"]) for item in report["violations"]}
    assert ("total", "budget_max") in broken
    result = run("optimize", world, "--set", "budgets.total.max=10000")
    assert result.exit_code == 1 and "RULES BROKEN" in result.stdout


# --- the frontier -------------------------------------------------------------------------------------------


def test_frontier_never_falls_as_the_budget_grows(world: Path) -> None:
    report = optimized(world, "--frontier", "5")
    points = report["frontier"]
    assert [point["share"] for point in points] == pytest.approx([0.5, 0.75, 1.0, 1.25, 1.5])
    assert [point["budget"] for point in points] == pytest.approx([10000, 15000, 20000, 25000, 30000])
    assert report["frontier_check"]["monotone"] and report["frontier_check"]["budget"] == "total"
    for lower, higher in itertools.pairwise(points):
        assert higher["objective"] >= lower["objective"] * (1 - report["gap_target"]) - 1e-6
    for point in points:
        assert point["spend"] <= point["budget"] + 1e-6
        assert abs(point["profit"] - point["simulated_profit"]) <= TOLERANCE * abs(point["simulated_profit"])
    middle = points[2]
    assert (middle["objective"], middle["bound"]) == (report["objective"], report["bound"])  # the plan already solved


# --- options and time limits --------------------------------------------------------------------------------


def test_a_tiny_time_limit_never_crashes(world: Path) -> None:
    result = run("optimize", world, "--time-limit", "0.001", "--format", "json")
    report = json.loads(result.stdout)
    assert report["status"] in ("optimal", "time_limit", "no_solution"), report["status"]
    assert result.exit_code == (2 if report["status"] == "no_solution" else 0), result.output
    if report["status"] == "time_limit":
        assert "STOPPED AT THE TIME LIMIT" in report["status_text"] and report["plan"]


def test_volume_objective_keeps_the_profit_floor(world: Path, plan: dict[str, Any]) -> None:
    report = optimized(world, "--objective", "volume")
    assert report["objective_kind"] == "volume"
    nothing = report["versus"]["no_promotions"]
    assert report["totals"]["volume"] >= plan["totals"]["volume"] - 1e-6
    assert report["simulated_profit"] >= nothing["gross_profit"] * (1 - TOLERANCE)


def test_scenario_errors_stop_before_solving(world: Path) -> None:
    result = run("optimize", world, "--set", "budgets.no-such-budget.max=1")
    assert result.exit_code == 2  # a --set that names no budget: the command cannot run
    assert "no-such-budget" in result.output and result.stdout == ""


def test_a_time_limited_plan_is_marked_clearly() -> None:
    """Whatever the solver does with a tiny limit on a loaded machine, the status a time-limited plan gets reads
    as such in both formats."""
    result = OptimizeResult("s", "", "CNY", "profit", 5.0, 0.001, Status.TIME_LIMIT, 100.0, 103.0, 0.03)
    assert status_line(result).startswith("STOPPED AT THE TIME LIMIT (5 s): best plan found, gap 3.00%")
    assert result.has_plan and result.exit_code == 0
    assert json.loads(render_optimization(result, "json"))["status"] == "time_limit"
    assert "STOPPED AT THE TIME LIMIT" in render_optimization(result, "text")
