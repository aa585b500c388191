"""The budget -> profit frontier: the best plan at each size of the total annual budget.

Only one number of the model changes from point to point, the limit of the total budget's row

    base_spend + sum_o spend_o x_o  <=  B_k        B_k = share_k x the scenario's max, share_k = 50% ... 150%

so the model is built once and only that row's limit differs between the copies HiGHS is given
(`Matrix.problem`, arrays only). Each point is exactly `planner optimize SCENARIO --set budgets.<id>.max=B_k`,
which reproduces it. The point at the scenario's own budget is the plan `planner optimize` already solved (not
solved twice); every larger budget starts from that plan, which fits it too (a MIP start: HiGHS begins with the
plan as its incumbent and has only to improve on it and prove its bound). The points are independent of each
other, so they are solved at once, one HiGHS per process, on as many processes as there are CPUs (`workers`);
each point's answer does not depend on how many there are.

A plan that fits a budget fits every larger one, so optimal profit never falls as the budget grows. Points are
solved to a gap, not to optimality, so the check allows what the gap allows and no more: the best bound at a
larger budget must reach every plan found at a smaller one. A profit that falls by more than that is flagged (it
would mean a wrong row or a wrong solver answer); a dip the gap explains is noted as such.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np
import pyomo.environ as pyo

from planner.optimize.matrix import Problem
from planner.optimize.model import Model
from planner.optimize.solve import Run, Solution, Status, run_problem, solution_of
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
          lowest: float = LOWEST, highest: float = HIGHEST, solved: Solution | None = None,
          workers: int | None = None) -> Frontier:
    """Solve `model` at `points` budget sizes from `lowest` to `highest` times the scenario's max. `solved`: the
    model's solution at the scenario's own budget, used as that point and as the start of larger budgets.
    `workers`: processes solving points at once (default: the CPUs this process may use). The model is left as
    it was given."""
    started = time.perf_counter()
    position = budget_row(model)
    if position is None:
        return Frontier("", 0.0, flags=["no total annual budget with a max: there is no frontier to trace"])
    row = list(model.pyomo.rows.values())[position]
    label = model.labels[position]
    original = float(pyo.value(row.upper))
    floor = None if not row.has_lb() else float(pyo.value(row.lower))
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
    runs = _solve_all(copies, starts, time_limit, gap, workers)
    solutions = {budget: solution_of(model, run, seconds) for (_, budget), (run, seconds) in zip(to_solve, runs)}
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
                                             solution.solve_seconds))
    check(frontier)
    frontier.seconds = time.perf_counter() - started
    return frontier


def _solve_all(problems: list[Problem], starts: list[np.ndarray | None], time_limit: float, gap: float,
               workers: int | None) -> list[tuple[Run, float]]:
    """Each problem solved by `solve.run_problem`: in this process when one worker suffices, else in a pool of
    fresh processes (spawned, not forked: HiGHS's threads do not survive a fork)."""
    workers = min(len(problems), workers or _cpus())
    if workers <= 1:
        return [run_problem(problem, time_limit, gap, start) for problem, start in zip(problems, starts)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(run_problem, problems, [time_limit] * len(problems), [gap] * len(problems), starts))


def _cpus() -> int:
    """The CPUs this process may run on (all of the machine's where the system cannot say)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


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
