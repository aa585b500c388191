"""The budget -> profit frontier: the best plan at each size of the total annual budget.

Only one number of the model changes from point to point, the limit of the total budget's row

    base_spend + sum_o spend_o x_o  <=  B_k        B_k = share_k x the scenario's max, share_k = 50% ... 150%

so the model is built once, the row's limit is set to B_k, and the same persistent HiGHS interface re-solves it
(`Model.set_bounds`; HiGHS gets the one changed row bound). Each point is exactly `planner optimize SCENARIO --set
budgets.<id>.max=B_k`, which reproduces it. Points are solved from the smallest budget up: the point at the
scenario's own budget is the plan `planner optimize` already solved (not solved twice), and every point starts
from the best plan found at a smaller budget, which fits its larger budget too (a MIP start: HiGHS begins with
that plan as its incumbent and has only to improve on it and prove its bound).

A plan that fits a budget fits every larger one, so optimal profit never falls as the budget grows. Points are
solved to a gap, not to optimality, so the check allows what the gap allows and no more: the best bound at a
larger budget must reach every plan found at a smaller one. A profit that falls by more than that is flagged (it
would mean a wrong row or a wrong solver answer); a dip the gap explains is noted as such.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from planner.optimize.model import Model
from planner.optimize.solve import Solution, Status, highs, solve
from planner.rules.scenario import ScenarioOptions
from planner.rules.schema import RuleSet
from planner.rules.vividness import buy
from planner.simulate import simulate

LOWEST, HIGHEST = 0.5, 1.5
"""Default range of the frontier, as shares of the scenario's total budget max."""
TOLERANCE = 1e-6
"""Relative slack on the comparisons: solver tolerances, not business numbers."""


@dataclass(frozen=True)
class FrontierPoint:
    budget: float
    share: float
    """budget / the scenario's max."""
    status: Status
    objective: float
    bound: float
    gap: float
    profit: float
    """Gross profit as the MILP computes it (the objective when the objective is profit)."""
    simulated_profit: float
    """Gross profit of the point's plan as the simulator evaluates it."""
    spend: float
    """Spend of the plan against this budget."""
    seconds: float
    """Solving this point; at the scenario's own budget, the seconds of the solve whose plan it is."""


@dataclass
class Frontier:
    budget: str
    """Id of the budget whose max is varied."""
    scenario_max: float
    points: list[FrontierPoint] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    """Points where profit falls as the budget grows by more than the gaps allow."""
    notes: list[str] = field(default_factory=list)
    """Dips the gaps explain."""
    seconds: float = 0.0

    @property
    def monotone(self) -> bool:
        return not self.flags


def budget_row(model: Model) -> int | None:
    """The row of the total annual budget (the one the budget dual is about); the tightest if there are several."""
    rows = list(model.pyomo.rows.values())
    limits = [(float(pyo.value(rows[i].upper)), i) for i in model.budget_rows]
    return min(limits)[1] if limits else None


def shares(points: int, lowest: float = LOWEST, highest: float = HIGHEST) -> list[float]:
    return [1.0] if points == 1 else [float(share) for share in np.linspace(lowest, highest, points)]


def trace(model: Model, rules: RuleSet, options: ScenarioOptions, points: int, time_limit: float, gap: float,
          lowest: float = LOWEST, highest: float = HIGHEST, solved: Solution | None = None) -> Frontier:
    """Re-solve `model` at `points` budget sizes from `lowest` to `highest` times the scenario's max. `solved`:
    the model's solution at the scenario's own budget, used as that point and as a start for larger budgets. The
    model is left as it was given."""
    started = time.perf_counter()
    position = budget_row(model)
    if position is None:
        return Frontier("", 0.0, flags=["no total annual budget with a max: there is no frontier to trace"])
    row = list(model.pyomo.rows.values())[position]
    label = model.labels[position]
    original = float(pyo.value(row.upper))
    floor = None if not row.has_lb() else float(pyo.value(row.lower))
    frontier = Frontier(label.rule, original)
    solver = highs()
    deterministic = options.model_copy(update={"draws": 0})
    start: Solution | None = None
    try:
        for share in sorted(shares(points, lowest, highest)):
            budget = share * original
            point_started = time.perf_counter()
            if floor is not None and budget < floor:
                frontier.points.append(_infeasible(budget, share, 0.0))
                continue
            if solved is not None and budget == original and len(solved.values):
                solution, seconds = solved, solved.solve_seconds
            else:
                model.set_bounds(position, floor, budget)
                solution = solve(model, time_limit, gap, duals=False, solver=solver,
                                 start=None if start is None else start.values)
                seconds = time.perf_counter() - point_started
            if solution.status not in (Status.OPTIMAL, Status.TIME_LIMIT):
                frontier.points.append(_infeasible(budget, share, seconds, solution.status))
                continue
            if start is None or solution.objective > start.objective:
                start = solution
            simulated = simulate(buy(rules, solution.vividness or {}), deterministic,
                                 events=solution.events).totals.gross_profit
            frontier.points.append(FrontierPoint(budget, share, solution.status, solution.objective, solution.bound,
                                                 solution.gap, solution.predicted_profit, simulated,
                                                 model.matrix.activity(position, solution.values), seconds))
    finally:
        model.set_bounds(position, floor, original)
    check(frontier)
    frontier.seconds = time.perf_counter() - started
    return frontier


def check(frontier: Frontier) -> None:
    """Flag every point whose best bound falls short of a plan found at a smaller budget (the optimum cannot);
    note a point whose plan is worse than a smaller budget's while its bound is not."""
    best: FrontierPoint | None = None
    for point in sorted(frontier.points, key=lambda item: item.budget):
        if best is not None:
            slack = TOLERANCE * max(1.0, abs(best.objective))
            if point.status not in (Status.OPTIMAL, Status.TIME_LIMIT):
                frontier.flags.append(f"no plan at budget {point.budget:,.0f} although budget {best.budget:,.0f} "
                                      f"has one ({point.status.value})")
                continue
            if point.bound < best.objective - slack:
                frontier.flags.append(f"objective falls from {best.objective:,.0f} at budget {best.budget:,.0f} to a "
                                      f"best bound of {point.bound:,.0f} at budget {point.budget:,.0f}")
            elif point.objective < best.objective - slack:
                frontier.notes.append(f"the plan at budget {point.budget:,.0f} ({point.objective:,.0f}) is below the "
                                      f"one at {best.budget:,.0f} ({best.objective:,.0f}), within its gap "
                                      f"{point.gap:.2%}")
        if point.status in (Status.OPTIMAL, Status.TIME_LIMIT) and (best is None or point.objective > best.objective):
            best = point


def _infeasible(budget: float, share: float, seconds: float, status: Status = Status.INFEASIBLE) -> FrontierPoint:
    nan = float("nan")
    return FrontierPoint(budget, share, status, nan, nan, nan, nan, nan, nan, seconds)
