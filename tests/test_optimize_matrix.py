"""The matrix HiGHS receives (planner/optimize/matrix.py) is the readable Pyomo model, row for row, and the
matrix-only back end `planner optimize` builds writes exactly the same matrix.

The constraint families write every row through `Model` (model.py), which has two back ends: the matrix-only one
(expressions are arrays, no Pyomo object) and the readable one (readable.PyomoModel: the labelled Pyomo model,
whose matrix is recorded from the Pyomo expressions, read back by Pyomo where a family combined them with Pyomo
arithmetic). On the demo (every rule kind: rebates of both methods, floors, caps, budgets, calendar rules, locked
events) and on small worlds with vividness decisions, for the profit and volume objectives and for the elastic
diagnosis model:

- each Pyomo row read back by `pyomo.repn.generate_standard_repn` must equal the matrix row, with the same bounds;
  each variable the column with the same bounds and integrality; the objective the cost vector;
- the matrix-only back end's problem (`Matrix.problem`: every array HiGHS is given) must equal the readable back
  end's exactly, entry for entry, with the same labels;
- a plan read back from the column values in arrays (`solve.solution_of`) must equal what the Pyomo model says at
  those values (its profit to the last bit, its rebates, the options that run, the packages bought).

A bound changed by `Model.set_bounds` (the frontier's budget) must change both, and a persistent re-solve must
equal a fresh one (on a tiny world: the demo takes HiGHS 20 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyomo.repn import generate_standard_repn
from test_optimize_families import RICH, optimize, plan_cells, vivid

from planner.compile.model import compile_rules
from planner.optimize.frontier import trace
from planner.optimize.highs import Status
from planner.optimize.model import Model
from planner.optimize.options import build_options
from planner.optimize.readable import PyomoModel
from planner.optimize.solve import build, highs, solution_of, solve
from planner.rules.load import load_rules
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import Budget, MarginFloor, Rebate, RuleSet, TradeSpendCap

RULES = Path(__file__).resolve().parents[1] / "rules"
TOLERANCE = 1e-9
"""Pyomo's reading of a row against the recorded matrix: the same numbers but for the order of additions."""


@pytest.fixture(scope="module")
def demo() -> tuple[RuleSet, object, object]:
    rules = load_rules([RULES]).rules
    compiled = compile_rules(rules)
    return rules, compiled, build_options(rules, compiled)


def dense(model: PyomoModel, variables: list[object], coefficients: list[float]) -> np.ndarray:
    out = np.zeros(model.matrix.columns)
    np.add.at(out, np.array([model.column(v) for v in variables], dtype=np.intp), np.array(coefficients, dtype=float))
    return out


def sparse(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries keyed row x width + column, sorted by key, an entry named twice summed, zeros left out."""
    unique, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse, weights=values, minlength=len(unique))
    return unique[summed != 0], summed[summed != 0]


def assert_same(model: PyomoModel) -> None:
    matrix = model.matrix
    starts, index, value = matrix.rows()
    width = max(1, matrix.columns)
    ends = np.r_[starts[1:], len(index)]
    rows = list(model.pyomo.rows.values())
    assert len(rows) == len(matrix.row_lower) == len(model.labels)
    read_keys: list[int] = []
    read_values: list[float] = []
    lowers: list[float] = []
    uppers: list[float] = []
    for r, row in enumerate(rows):
        repn = generate_standard_repn(row.body, compute_values=True, quadratic=False)
        read_keys.extend(r * width + model.column(v) for v in repn.linear_vars)
        read_values.extend(float(c) for c in repn.linear_coefs)
        constant = float(repn.constant)
        lowers.append(-np.inf if row.lower is None else float(row.lower) - constant)
        uppers.append(np.inf if row.upper is None else float(row.upper) - constant)
    bounds_differ = ~(np.isclose(lowers, matrix.row_lower, rtol=TOLERANCE, atol=TOLERANCE)
                      & np.isclose(uppers, matrix.row_upper, rtol=TOLERANCE, atol=TOLERANCE))
    assert not bounds_differ.any(), [model.labels[r] for r in np.flatnonzero(bounds_differ)[:5]]
    read = sparse(np.array(read_keys, dtype=np.int64), np.array(read_values))
    recorded = sparse(np.repeat(np.arange(len(rows), dtype=np.int64), ends - starts) * width + index, value)
    assert np.array_equal(read[0], recorded[0])
    differ = ~np.isclose(read[1], recorded[1], rtol=TOLERANCE, atol=TOLERANCE)
    assert not differ.any(), [model.labels[int(k) // width] for k in read[0][differ][:5]]
    assert len(model.variables) == matrix.columns
    for column, variable in enumerate(model.variables):
        lower = -np.inf if variable.lb is None else variable.lb
        upper = np.inf if variable.ub is None else variable.ub
        assert (matrix.column_lower[column], matrix.column_upper[column]) == (lower, upper)
        assert matrix.integer[column] == variable.is_integer()
    objective = model.pyomo.objective
    repn = generate_standard_repn(objective.expr, compute_values=True, quadratic=False)
    columns, values, offset = matrix.objective
    assert np.allclose(dense(model, list(repn.linear_vars), list(repn.linear_coefs)),
                       np.bincount(columns, weights=values, minlength=matrix.columns))
    assert offset == pytest.approx(float(repn.constant))
    assert matrix.maximise == (objective.sense < 0)


PROBLEM = ("cost", "column_lower", "column_upper", "row_lower", "row_upper", "starts", "index", "value",
           "integrality")


def assert_same_problem(readable: PyomoModel, matrix_only: Model) -> None:
    """The two back ends give HiGHS exactly the same arrays (not approximately: the same numbers), rows in the
    same order with the same labels and written bounds."""
    assert type(matrix_only) is Model and not hasattr(matrix_only, "pyomo")
    ours, theirs = matrix_only.matrix.problem(), readable.matrix.problem()
    for name in PROBLEM:
        mine, other = getattr(ours, name), getattr(theirs, name)
        assert mine.dtype == other.dtype and np.array_equal(mine, other), name
    assert (ours.offset, ours.maximise) == (theirs.offset, theirs.maximise)
    assert matrix_only.labels == readable.labels and matrix_only.budget_rows == readable.budget_rows
    assert matrix_only.matrix.written == readable.matrix.written
    assert matrix_only.matrix.row_constant == readable.matrix.row_constant


def assert_read_back(readable: PyomoModel, values: np.ndarray) -> None:
    """`solution_of` reads a run from arrays; the Pyomo model, given the same column values, must say the same:
    the profit to the last bit (the same order of additions), the rebates, the options that run, the packages."""
    import pyomo.environ as pyo

    from planner.optimize.highs import Run

    solution = solution_of(readable, Run(Status.OPTIMAL, 0.0, 0.0, values, np.zeros(0)), 0.0)
    readable.load(values)
    assert solution.predicted_profit == float(pyo.value(readable.pyomo.profit))
    assert solution.rebates == pytest.approx(sum(pyo.value(v) for group in readable.rebates.values() for v in group),
                                             rel=1e-12, abs=1e-9)
    runs = [sum(pyo.value(readable.variables[c]) for c in readable.variants_of.get(o, [o]))
            for o in range(len(readable.options))]
    assert solution.chosen.tolist() == [o for o, ran in enumerate(runs) if ran > 0.5]
    w = readable.pyomo.w
    bought = {int(readable.options.column_account[c]) for k, c in enumerate(readable.options.packages.tolist())
              if pyo.value(w[k]) > 0.5 and readable.options.column_bought[c]}
    assert bought == {int(readable.options.column_account[c]) for c in readable.options.packages.tolist()
                      if values[c] > 0.5 and readable.options.column_bought[c]}


@pytest.mark.parametrize(("objective", "elastic"), [("profit", False), ("volume", False), ("profit", True)])
def test_matrix_is_the_pyomo_model(demo: tuple[RuleSet, object, object], objective: str, elastic: bool) -> None:
    readable = build(*demo, objective=objective, elastic=elastic, pyomo=True)  # type: ignore[arg-type]
    assert isinstance(readable, PyomoModel)
    assert {label.family for label in readable.labels} >= ({"rebate", "budget", "margin_floor", "choice"})
    assert_same(readable)
    assert_same_problem(readable, build(*demo, objective=objective, elastic=elastic))  # type: ignore[arg-type]


def small_worlds() -> dict[str, RuleSet]:
    """Small worlds the demo lacks: vividness decisions (variants substituted for their options, packages), and
    rebates of every method with a cap under floors and caps that read the rebates."""
    tiers = [{"from": 1000.0, "rate": 0.02}, {"from": 3000.0, "rate": 0.05}]
    rebates = tuple(Rebate.model_validate({"id": f"r-{method}-{basis}", "period": "quarter", "basis": basis,
                                           "method": method, "tiers": tiers, "cap": 500.0 if basis == "volume" else None})
                    for method in ("retroactive", "incremental") for basis in ("volume", "revenue"))
    money = RICH.replace(rebates=rebates,
                         margin_floors=(MarginFloor(id="mf", min_gross_margin=0.2, per="account"),),
                         trade_spend_caps=(TradeSpendCap(id="tc", max_share=0.3, per="total"),),
                         budgets=(Budget(id="b", max=1e6),))
    return {"vividness": vivid(3000.0, 800.0, 500.0), "money": money}


@pytest.mark.parametrize("name", ["vividness", "money"])
@pytest.mark.parametrize("elastic", [False, True])
def test_both_back_ends_write_the_same_matrix_on_small_worlds(name: str, elastic: bool) -> None:
    rules = small_worlds()[name]
    compiled = compile_rules(rules)
    options = build_options(rules, compiled)
    readable = build(rules, compiled, options, elastic=elastic, pyomo=True)
    assert isinstance(readable, PyomoModel)
    assert_same(readable)
    assert_same_problem(readable, build(rules, compiled, options, elastic=elastic))
    if not elastic:
        solved = solve(readable, time_limit=30, gap=1e-9, duals=False)
        assert solved.status is Status.OPTIMAL
        assert_read_back(readable, solved.values)


def test_set_bounds_changes_both_and_a_persistent_resolve_equals_a_fresh_one() -> None:
    free, compiled, options = optimize(RICH)
    spend = plan_cells(RICH, compiled, free).budget_spend.sum()
    rules = RICH.replace(budgets=(Budget(id="b", max=0.8 * spend),))
    model = build(rules, compiled, options, pyomo=True)
    row = model.budget_rows[0]
    solver = highs()
    first = solve(model, time_limit=30, gap=1e-9, duals=False, whole=True, solver=solver)
    model.set_bounds(row, None, 0.5 * spend)
    assert isinstance(model, PyomoModel) and float(model.pyomo.rows[row + 1].upper) == pytest.approx(0.5 * spend)
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
