"""`planner sweep` (planner/sweep/): grids read as --set reads values, one row per point whose KPIs are those
`planner simulate` / `planner optimize` give for the same --set entries, the same table on a LocalCluster of 2,
and bad grids stopped before any point runs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from tiny_world import write_tiny_world

from planner.cli import main
from planner.sweep import BadGrid, read_grid


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_world(tmp_path_factory.mktemp("tiny"))


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


GRID = ("--grid", "budgets.total.max=15k,20,000,25000", "--grid", "products.cola-can.list_price=60,66")


def test_grid_values_are_read_as_set_reads_them() -> None:
    axis = read_grid("budgets.total.max=4,500,000,5M, 100,12%")
    assert axis.values == (4_500_000, 5_000_000, 100, 0.12)
    assert axis.entries[0] == "budgets.total.max=4,500,000"
    assert read_grid("options.objective=profit,volume").values == ("profit", "volume")
    for bad in ("budgets.total.max", "=1,2", "budgets.total.max=1,,2"):
        with pytest.raises(BadGrid, match="--grid"):
            read_grid(bad)


def test_each_row_is_what_simulate_gives_for_the_same_set_entries(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep.parquet"
    result = run("sweep", world, *GRID, "--out", out)
    assert result.exit_code == 0, result.output
    assert "sweep: 6 points of 3 x 2" in result.stderr and "points 6/6" in result.stderr
    table = pd.read_parquet(out)
    assert list(table["budgets.total.max"]) == [15000, 15000, 20000, 20000, 25000, 25000]
    assert list(table["products.cola-can.list_price"]) == [60, 66] * 3
    for row in table.iloc[[1, 4]].itertuples(index=False):
        budget, price = row[0], row[1]
        simulated = run("simulate", world, "--set", f"budgets.total.max={budget}", "--set",
                        f"products.cola-can.list_price={price}", "--format", "json")
        totals = json.loads(simulated.stdout)["totals"]
        assert row.gross_profit == totals["gross_profit"] and row.volume == totals["volume"]
    assert (table["error"] == "").all()
    assert table["gross_profit"].nunique() == 2  # the price matters, the budget (not binding) does not


def test_a_cluster_of_two_gives_the_same_table(world: Path) -> None:
    here, there = run("sweep", world, *GRID), run("sweep", world, *GRID, "--workers", "2")
    assert here.exit_code == there.exit_code == 0, there.output
    assert here.stdout == there.stdout
    assert len(pd.read_csv(io.StringIO(here.stdout))) == 6


def test_optimized_points_carry_the_optimizer_s_status_and_gap(world: Path) -> None:
    result = run("sweep", world, "--grid", "budgets.total.max=12k,20k", "--optimize", "--time-limit", "30")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table["status"]) == ["optimal", "optimal"]
    assert (table["gap"] <= 1e-4).all()
    assert table["objective"].iloc[0] <= table["objective"].iloc[1]  # more budget never lowers the optimum
    assert (table["budget_used"] <= table["budgets.total.max"] + 1e-6).all()
    assert (table["policy_failures"] == 0).all()


@pytest.mark.parametrize(("grid", "said"), [
    ("budgets.totl.max=1,2", "--grid value budgets.totl.max=1"),
    ("budgets.total.max=lots,2", "--grid value budgets.total.max=lots"),
    ("budgets.total.max", "expected KEY=V1,V2"),
])
def test_a_bad_grid_stops_before_any_point_runs(world: Path, tmp_path: Path, grid: str, said: str) -> None:
    out = tmp_path / "sweep.csv"
    result = run("sweep", world, "--grid", grid, "--out", out)
    assert result.exit_code == 2
    assert said in result.output and "points" not in result.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_key_given_twice_is_a_usage_error(world: Path) -> None:
    result = run("sweep", world, "--grid", "budgets.total.max=1k", "--grid", "budgets.total.max=2k")
    assert result.exit_code == 2 and "given twice" in result.output
