"""The budget -> profit frontier: the best plan at each size of the total annual budget.

Only one number of the model changes from point to point, the limit of the total budget's row

    base_spend + sum_o spend_o x_o  <=  B_k        B_k = share_k x the scenario's max, share_k = 50% ... 150%

so the model is built once and only that row's limit differs between the copies solved (`Matrix.problem`,
arrays only). Each point is exactly `planner optimize SCENARIO --set budgets.<id>.max=B_k`, which reproduces it,
and is solved the same way (`split.solve`: account by account, the whole model only when that does not prove the
gap). The point at the scenario's own budget is the plan `planner optimize` already solved (not solved twice);
every larger budget starts from that plan, which fits it too (a MIP start, used if the whole model is solved).
The budget's row couples accounts, so each account's problem changes only through the budget's price; where the
budget does not bind (price 0) an account's problem is the one already solved, and its plan is reused
(`Model.memo`).

A plan that fits a budget fits every larger one, so optimal profit never falls as the budget grows. Points are
solved to a gap, not to optimality, so the check allows what the gap allows and no more: the best bound at a
larger budget must reach every plan found at a smaller one. A profit that falls by more than that is flagged (it
would mean a wrong row or a wrong solver answer); a dip the gap explains is noted as such.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from planner.execute import Executor
from planner.optimize import split
from planner.optimize.highs import Status
from planner.optimize.model import Model
from planner.optimize.progress import Clock, seconds
from planner.optimize.solve import Solution, solution_of
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
    method: str = ""
    """How the point's plan was found (split.Method)."""


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
    limits = [(float(model.matrix.written[i][1]), i) for i in model.budget_rows]  # type: ignore[arg-type]
    return min(limits)[1] if limits else None


def shares(points: int, lowest: float = LOWEST, highest: float = HIGHEST) -> list[float]:
    return [1.0] if points == 1 else [float(share) for share in np.linspace(lowest, highest, points)]


def trace(model: Model, rules: RuleSet, options: ScenarioOptions, points: int, time_limit: float | None, gap: float,
          lowest: float = LOWEST, highest: float = HIGHEST, solved: Solution | None = None,
          clock: Clock | None = None, executor: Executor | None = None) -> Frontier:
    """Solve `model` at `points` budget sizes from `lowest` to `highest` times the scenario's max. `solved`: the
    model's solution at the scenario's own budget, used as that point and as the start of larger budgets. The
    model is left as it was given. `time_limit` (and `clock`'s deadline) is for all the points together; a
    point not reached in time is reported without a plan (status no_solution) and noted, not flagged. Each
    point's accounts are solved on `executor` (split.py)."""
    started = time.perf_counter()
    clock = (clock or Clock()).within(time_limit)
    position = budget_row(model)
    if position is None:
        return Frontier("", 0.0, flags=["no total annual budget with a max: there is no frontier to trace"])
    label = model.labels[position]
    floor, limit = model.matrix.written[position]
    original = float(limit)  # type: ignore[arg-type]
    floor = None if floor is None else float(floor)
    frontier = Frontier(label.rule, original)
    reused = solved if solved is not None and len(solved.values) else None
    budgets = [(share, share * original) for share in sorted(shares(points, lowest, highest))]
    to_solve = [(share, budget) for share, budget in budgets
                if not (floor is not None and budget < floor) and not (reused is not None and budget == original)]
    problem = model.matrix.problem()
    copies, starts = [], []
    try:
        for _, budget in to_solve:
            model.set_bounds(position, floor, budget)
            copies.append(problem.with_row_bounds(model.matrix.row_lower, model.matrix.row_upper))
            starts.append(reused.values if reused is not None and budget > original else None)
    finally:
        model.set_bounds(position, floor, original)
    blocks = split.blocks(problem, model.options.column_account)
    solutions: dict[float, Solution] = {}
    for number, ((share, budget), copy, start) in enumerate(zip(to_solve, copies, starts), start=1):
        if clock.over:
            why = "stopped by Ctrl-C" if clock.stop.interrupted else "the time limit came first"
            frontier.notes.append(f"budget {budget:,.0f} not solved: {why}")
            nan = float("nan")
            solutions[budget] = Solution(Status.NO_SOLUTION, nan, nan, nan, 0.0, 0.0)
            continue
        outcome = split.solve(copy, blocks, None, gap, start, executor, memo=model.memo, clock=clock)
        solutions[budget] = solution_of(model, outcome.run, outcome.seconds, outcome.method)
        clock.say(f"frontier point {number}/{len(to_solve)}: budget {budget:,.0f} ({share:.0%}), "
                  + (f"objective {outcome.run.objective:,.0f}" if outcome.run.has_plan else outcome.run.status.value)
                  + f" ({seconds(outcome.seconds)})")
    if reused is not None:
        solutions[original] = reused
    deterministic = options.model_copy(update={"draws": 0})
    for share, budget in budgets:
        if budget not in solutions:  # below the budget's own minimum
            frontier.points.append(_infeasible(budget, share, 0.0))
            continue
        solution = solutions[budget]
        if solution.status not in (Status.OPTIMAL, Status.TIME_LIMIT):
            frontier.points.append(_infeasible(budget, share, solution.solve_seconds, solution.status))
            continue
        simulated = simulate(buy(rules, solution.vividness or {}), deterministic,
                             events=solution.events).totals.gross_profit
        frontier.points.append(FrontierPoint(budget, share, solution.status, solution.objective, solution.bound,
                                             solution.gap, solution.predicted_profit, simulated,
                                             model.matrix.activity(position, solution.values),
                                             solution.solve_seconds, solution.method))
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
            if point.status is Status.NO_SOLUTION:
                continue  # not solved in time: noted by `trace`, no evidence either way
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
