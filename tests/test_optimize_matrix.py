"""The matrix HiGHS receives (planner/optimize/matrix.py) is the Pyomo model, row for row.

The model builder records each row as arrays while it writes the Pyomo row, so the two can only disagree through a
bug in that recording. On the demo (every rule kind: rebates of both methods, floors, caps, budgets, calendar
rules, locked events), for the profit and volume objectives and for the elastic diagnosis model, each Pyomo row
read back by `pyomo.repn.generate_standard_repn` must equal the matrix row, with the same bounds; each variable
the column with the same bounds and integrality; the objective the cost vector. A bound changed by
`Model.set_bounds` (the frontier's budget) must change both, and a persistent re-solve must equal a fresh one (on a tiny world: the demo takes
HiGHS 20 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyomo.repn import generate_standard_repn
from test_optimize_families import RICH, optimize, plan_cells

from planner.compile.model import compile_rules
from planner.optimize.frontier import trace
from planner.optimize.highs import Status
from planner.optimize.model import Model
from planner.optimize.options import build_options
from planner.optimize.solve import build, highs, solve
from planner.rules.load import load_rules
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import Budget, RuleSet

RULES = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture(scope="module")
def demo() -> tuple[RuleSet, object, object]:
    rules = load_rules([RULES]).rules
    compiled = compile_rules(rules)
    return rules, compiled, build_options(rules, compiled)


def dense(model: Model, variables: list[object], coefficients: list[float]) -> np.ndarray:
    out = np.zeros(len(model.matrix.variables))
    np.add.at(out, model.matrix.columns_of(variables), np.array(coefficients, dtype=float))
    return out


def assert_same(model: Model) -> None:
    matrix = model.matrix
    starts, index, value = matrix.rows()
    ends = np.r_[starts[1:], len(index)]
    rows = list(model.pyomo.rows.values())
    assert len(rows) == len(matrix.row_lower) == len(model.labels)
    for r, row in enumerate(rows):
        repn = generate_standard_repn(row.body, compute_values=True, quadratic=False)
        recorded = np.zeros(len(matrix.variables))
        recorded[index[starts[r]:ends[r]]] = value[starts[r]:ends[r]]
        assert np.allclose(dense(model, list(repn.linear_vars), list(repn.linear_coefs)), recorded), model.labels[r]
        constant = float(repn.constant)
        lower = -np.inf if row.lower is None else float(row.lower) - constant
        upper = np.inf if row.upper is None else float(row.upper) - constant
        assert (matrix.row_lower[r], matrix.row_upper[r]) == pytest.approx((lower, upper)), model.labels[r]
    for column, variable in enumerate(matrix.variables):
        lower = -np.inf if variable.lb is None else variable.lb
        upper = np.inf if variable.ub is None else variable.ub
        assert (matrix.column_lower[column], matrix.column_upper[column]) == (lower, upper)
        assert matrix.integer[column] == variable.is_integer()
    objective = model.pyomo.objective
    repn = generate_standard_repn(objective.expr, compute_values=True, quadratic=False)
    columns, values, offset = matrix.objective
    assert np.allclose(dense(model, list(repn.linear_vars), list(repn.linear_coefs)),
                       np.bincount(columns, weights=values, minlength=len(matrix.variables)))
    assert offset == pytest.approx(float(repn.constant))
    assert matrix.maximise == (objective.sense < 0)


@pytest.mark.parametrize(("objective", "elastic"), [("profit", False), ("volume", False), ("profit", True)])
def test_matrix_is_the_pyomo_model(demo: tuple[RuleSet, object, object], objective: str, elastic: bool) -> None:
    model = build(*demo, objective=objective, elastic=elastic)  # type: ignore[arg-type]
    assert {label.family for label in model.labels} >= ({"rebate", "budget", "margin_floor", "choice"})
    assert_same(model)


def test_set_bounds_changes_both_and_a_persistent_resolve_equals_a_fresh_one() -> None:
    free, compiled, options = optimize(RICH)
    spend = plan_cells(RICH, compiled, free).budget_spend.sum()
    rules = RICH.replace(budgets=(Budget(id="b", max=0.8 * spend),))
    model = build(rules, compiled, options)
    row = model.budget_rows[0]
    solver = highs()
    first = solve(model, time_limit=30, gap=1e-9, duals=False, whole=True, solver=solver)
    model.set_bounds(row, None, 0.5 * spend)
    assert float(model.pyomo.rows[row + 1].upper) == pytest.approx(0.5 * spend)
    assert_same(model)
    again = solve(model, time_limit=30, gap=1e-9, duals=False, whole=True, solver=solver)
    fresh = solve(model, time_limit=30, gap=1e-9, duals=False)
    assert first.status is again.status is fresh.status is Status.OPTIMAL
    assert again.objective == pytest.approx(fresh.objective, rel=1e-9) and again.objective < first.objective
    assert plan_cells(rules, compiled, again).budget_spend.sum() <= 0.5 * spend + 1e-6


def test_a_start_is_taken_as_the_first_plan_and_activity_reads_a_row() -> None:
    """The frontier starts each larger budget from the plan of a smaller one: HiGHS must take it as its incumbent,
    so even a run stopped before any search of its own returns at least that plan."""
    free, compiled, options = optimize(RICH)
    spend = plan_cells(RICH, compiled, free).budget_spend.sum()
    rules = RICH.replace(budgets=(Budget(id="b", max=0.5 * spend),))
    model = build(rules, compiled, options)
    row = model.budget_rows[0]
    small = solve(model, time_limit=30, gap=1e-9, duals=False)
    assert small.status is Status.OPTIMAL
    assert model.matrix.activity(row, small.values) == pytest.approx(
        plan_cells(rules, compiled, small).budget_spend.sum(), rel=1e-9)
    model.set_bounds(row, None, 0.8 * spend)
    started = solve(model, time_limit=1e-6, gap=1e-9, duals=False, start=small.values, whole=True)
    assert started.status in (Status.OPTIMAL, Status.TIME_LIMIT)
    assert started.objective >= small.objective - 1e-6 * abs(small.objective)


def test_each_frontier_point_is_the_whole_model_at_its_budget() -> None:
    """The frontier solves copies of the model's arrays (`Matrix.problem`) with the budget changed, account by
    account and reusing blocks solved before (`Model.memo`); each point must be the whole model solved at its
    budget, and the model must come back with its own budget."""
    free, compiled, options = optimize(RICH)
    spend = plan_cells(RICH, compiled, free).budget_spend.sum()
    rules = RICH.replace(budgets=(Budget(id="b", max=0.6 * spend),))
    model = build(rules, compiled, options)
    row = model.budget_rows[0]
    limit = model.matrix.row_upper[row]
    solved = solve(model, time_limit=30, gap=1e-9, duals=False)
    frontier = trace(model, rules, ScenarioOptions(), 5, 30, 1e-9, solved=solved)
    assert frontier.monotone and model.matrix.row_upper[row] == limit
    assert frontier.points[2].objective == solved.objective  # the scenario's own budget: the plan solved
    for point in frontier.points:
        model.set_bounds(row, None, point.budget)
        alone = solve(model, time_limit=30, gap=1e-9, duals=False, whole=True)
        assert point.objective == pytest.approx(alone.objective, rel=1e-9)
        assert point.spend <= point.budget + 1e-6
