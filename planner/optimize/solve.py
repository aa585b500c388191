"""Build and solve the promotion MILP with HiGHS; results in solver-independent types (linopy's habit).

Callers never see a solver string: `Solution.status` is one of `Status`, with objective, best bound, gap and
times. A run stopped by its time limit returns the best plan found with its gap and status TIME_LIMIT, clearly
marked. An infeasible model is diagnosed in the user's terms by `diagnose.py`.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo

from planner.compile.model import Compiled
from planner.optimize.model import Model, RowLabel
from planner.optimize.options import Options
from planner.rules.schema import Event, RuleSet


SOLVER_OPTIONS: dict[str, Any] = {}


class Status(str, enum.Enum):
    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    """Stopped by the time limit with a feasible plan: the gap says how far from proven optimal."""
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    """Stopped before any feasible plan was found."""


@dataclass
class Solution:
    status: Status
    objective: float
    bound: float
    gap: float
    build_seconds: float
    solve_seconds: float
    events: list[Event] = field(default_factory=list)
    chosen: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    predicted_profit: float = 0.0
    """Gross profit of the plan as the MILP computes it (rebates included)."""
    rebates: float = 0.0
    row_duals: dict[RowLabel, float] = field(default_factory=dict)
    """LP-relaxation duals of the binding business rows (marginal objective per unit of the row's bound)."""
    budget_dual: float | None = None


def build(rules: RuleSet, compiled: Compiled, options: Options, objective: str = "profit",
          min_profit: float | None = None, elastic: bool = False) -> Model:
    from planner.optimize.constraints import FAMILIES

    model = Model(rules, compiled, options, objective=objective, min_profit=min_profit, elastic=elastic)
    for add in FAMILIES.values():
        add(model)
    m = model.pyomo
    rebate_vars = [v for group in model.rebates.values() for v in group]
    profit = model.total("gross_profit") - model.expression([1.0] * len(rebate_vars), rebate_vars)
    m.profit = pyo.Expression(expr=profit)
    if elastic:
        penalty = model.expression([1.0 / scale for _, _, scale in model.slacks], [s for _, s, _ in model.slacks])
        m.objective = pyo.Objective(expr=penalty, sense=pyo.minimize)
        return model
    if objective == "profit":
        m.objective = pyo.Objective(expr=m.profit, sense=pyo.maximize)
    else:
        floor = float(options.base.gross_profit.sum()) if min_profit is None else min_profit
        model.row(RowLabel("profit_floor", "min_profit", detail=f"{floor:,.0f}"), m.profit, lower=floor)
        measure = model.total("volume") if objective == "volume" else \
            model.total("net_sales") - model.expression([1.0] * len(rebate_vars), rebate_vars)
        m.objective = pyo.Objective(expr=measure, sense=pyo.maximize)
    return model


def solve(model: Model, time_limit: float = 60.0, gap: float = 1e-3, duals: bool = True) -> Solution:
    from pyomo.contrib.solver.common.factory import SolverFactory

    started = time.perf_counter()
    solver = SolverFactory("highs")
    result = solver.solve(model.pyomo, time_limit=time_limit, rel_gap=gap, load_solutions=False, solver_options=SOLVER_OPTIONS,
                          raise_exception_on_nonoptimal_result=False)
    seconds = time.perf_counter() - started
    status = _status(result)
    if status in (Status.INFEASIBLE, Status.NO_SOLUTION):
        return Solution(status, float("nan"), float("nan"), float("nan"), 0.0, seconds)
    result.solution_loader.load_vars()
    objective = float(result.incumbent_objective)
    bound = float(result.objective_bound) if result.objective_bound is not None else objective
    gap_now = abs(bound - objective) / max(1.0, abs(objective))
    x = model.pyomo.x
    chosen = np.array([o for o in range(len(model.options)) if pyo.value(x[o]) > 0.5], dtype=np.intp)
    rebates = sum(pyo.value(v) for group in model.rebates.values() for v in group)
    solution = Solution(status, objective, bound, gap_now, 0.0, seconds, plan_events(model, chosen), chosen,
                        float(pyo.value(model.pyomo.profit)), float(rebates))
    if duals:
        _relaxation_duals(model, solution)
    return solution


def _status(result: Any) -> Status:
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    if result.termination_condition in (TerminationCondition.provenInfeasible,
                                        TerminationCondition.locallyInfeasible,
                                        TerminationCondition.infeasibleOrUnbounded):
        return Status.INFEASIBLE
    if result.solution_status not in (SolutionStatus.optimal, SolutionStatus.feasible):
        return Status.NO_SOLUTION
    if result.termination_condition == TerminationCondition.convergenceCriteriaSatisfied:
        return Status.OPTIMAL
    return Status.TIME_LIMIT


def _relaxation_duals(model: Model, solution: Solution) -> None:
    """Duals of the LP relaxation: the marginal objective of each business row's bound (budget, floors)."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    relaxed = model.pyomo.clone()
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(relaxed)
    result = SolverFactory("highs").solve(relaxed, load_solutions=False, raise_exception_on_nonoptimal_result=False)
    if _status(result) is not Status.OPTIMAL:
        return
    try:
        duals = result.solution_loader.get_duals()
    except Exception:  # noqa: BLE001 - duals are a report extra; a solver that cannot give them gives none
        return
    rows = list(relaxed.rows.values())
    for row, label in zip(rows, model.labels):
        value = float(duals.get(row, 0.0))
        if abs(value) > 1e-9 and label.family not in ("choice", "rebate"):
            solution.row_duals[label] = value
    budget = [abs(float(duals.get(rows[i], 0.0))) for i in model.budget_rows]
    solution.budget_dual = max(budget) if budget else None


def plan_events(model: Model, chosen: np.ndarray) -> list[Event]:
    """The chosen options as plan events: consecutive weeks of one mechanic on one line form one event."""
    options, index = model.options, model.compiled.index
    locked = {(e.account, e.product_group, e.mechanic, w) for e in model.rules.events if e.locked for w in e.weeks}
    runs: dict[tuple[int, int], list[int]] = {}
    for o in chosen.tolist():
        runs.setdefault((int(options.line[o]), int(options.mechanic[o])), []).append(int(options.week[o]))
    events = []
    for (line, m), weeks in sorted(runs.items()):
        account, group = options.lines[line]
        mechanic = options.mechanics[m].id
        weeks.sort()
        start = 0
        for i in range(1, len(weeks) + 1):
            if i == len(weeks) or weeks[i] != weeks[i - 1] + 1:
                span = tuple(w + 1 for w in weeks[start:i])
                account_id = index.accounts[account].id
                is_locked = all((account_id, group, mechanic, w) in locked for w in span)
                events.append(Event(id=f"opt-{account_id}-{group}-{mechanic}-w{span[0]}", account=account_id,
                                    product_group=group, mechanic=mechanic, weeks=span, locked=is_locked))
                start = i
    return events
