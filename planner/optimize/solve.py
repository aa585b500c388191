"""Build and solve the promotion MILP with HiGHS; results in solver-independent types (linopy's habit).

`solve` solves the model account by account under prices on the rows that couple accounts, and the whole model
only when that does not prove the gap (split.py); the plan is read back from the run's column values (arrays, no
walk over model objects) as events and vividness.
Callers never see a solver string: `Solution.status` is one of `Status`, with objective, best bound, gap, times
and how the plan was found. A run stopped by its time limit returns the best plan found with its gap and status
TIME_LIMIT, clearly marked. An infeasible model is diagnosed in the user's terms by `diagnose.py`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.compile.calendar import runs as calendar_runs
from planner.compile.model import Compiled
from planner.execute import Executor
from planner.optimize import split
from planner.optimize.highs import SOLVER_OPTIONS, Run, Status, new_highs, run, run_problem
from planner.optimize.investments import bought_in
from planner.optimize.model import Model, RowLabel
from planner.optimize.options import Options
from planner.optimize.progress import Clock
from planner.rules.schema import Event, RuleSet
from planner.rules.vividness import Bought


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
    vividness: Bought | None = None
    """Item id -> accounts it is bought at, for every vividness item the optimizer decided (None: none decided)."""
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """The value of every column of the model's matrix (empty without a plan): a MIP start for a re-solve."""
    method: str = split.Method.WHOLE
    """How the plan was found: by the account split, or by solving the whole model (split.Method)."""

    @property
    def has_plan(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.TIME_LIMIT)


def build(rules: RuleSet, compiled: Compiled, options: Options, objective: str = "profit",
          min_profit: float | None = None, elastic: bool = False, pyomo: bool = False) -> Model:
    """The model's matrix, written by every constraint family (model.py). `pyomo`: build the readable Pyomo model
    beside it (readable.PyomoModel, for tests and reading; `planner optimize` builds the matrix only)."""
    from planner.optimize.constraints import FAMILIES

    kind = Model
    if pyomo:
        from planner.optimize.readable import PyomoModel

        kind = PyomoModel
    model = kind(rules, compiled, options, objective=objective, min_profit=min_profit, elastic=elastic)
    for add in FAMILIES.values():
        add(model)
    rebate_vars = [v for group in model.rebates.values() for v in group]
    profit = model.total("gross_profit", less=rebate_vars)
    model.set_profit(profit)
    if elastic:
        model.set_objective(model.expression([1.0 / scale for _, _, scale in model.slacks],
                                             [s for _, s, _ in model.slacks]), maximise=False)
        return model
    if objective == "profit":
        model.set_objective(profit)
    else:
        floor = options.written_profit if min_profit is None else min_profit
        model.row(RowLabel("profit_floor", "min_profit", detail=f"{floor:,.0f}"), profit, lower=floor)
        model.set_objective(model.total("volume") if objective == "volume" else
                            model.total("net_sales", less=rebate_vars))
    return model


class Highs:
    """A persistent HiGHS: the model's matrix (Model.matrix) is passed once; solving the same model again sends
    HiGHS only the row bounds that changed since (a what-if on a budget), as Pyomo's persistent interface did,
    without Pyomo's walk over every expression at hand-over (planner/optimize/matrix.py)."""

    def __init__(self) -> None:
        self.highs = new_highs()
        self._loaded: tuple[Model, int] | None = None
        self._bounds = (np.zeros(0), np.zeros(0))

    def load(self, model: Model) -> None:
        matrix = model.matrix
        lower, upper = np.array(matrix.row_lower), np.array(matrix.row_upper)
        loaded = self._loaded
        if loaded is not None and loaded[0] is model and loaded[1] == matrix.columns \
                and len(lower) == len(self._bounds[0]):
            changed = np.flatnonzero((lower != self._bounds[0]) | (upper != self._bounds[1]))
            if len(changed):
                self.highs.changeRowsBounds(  # type: ignore[attr-defined]
                    len(changed), changed.astype(np.int32), lower[changed], upper[changed])
        else:
            matrix.pass_to(self.highs)
            self._loaded = (model, matrix.columns)
        self._bounds = (lower, upper)

    def run(self, time_limit: float | None, gap: float | None, options: dict[str, Any],
            start: np.ndarray | None = None, clock: Clock | None = None) -> Run:
        """Solve what was loaded. `start`: a plan (every column's value) to begin from; HiGHS takes it as its
        first incumbent when it is feasible and ignores it otherwise. `clock`: a deadline and stop (Ctrl-C)."""
        return run(self.highs, time_limit, gap, options, start, clock)


def highs() -> Highs:
    """A persistent HiGHS interface: solving the same model again sends HiGHS only what changed."""
    return Highs()


def solve(model: Model, time_limit: float | None = 60.0, gap: float = 1e-3, duals: bool = True,
          start: np.ndarray | None = None, whole: bool = False, solver: Highs | None = None,
          clock: Clock | None = None, relaxation_seconds: float = split.RELAXATION_SECONDS,
          executor: Executor | None = None) -> Solution:
    """Solve the model: its LP relaxation, then account by account, then the whole model only if the accounts'
    plans do not prove `gap` (split.py). `whole`: the whole model alone, in `solver` when given (a persistent
    HiGHS from `highs()`, which re-solves after `Model.set_bounds` without a new hand-over): the monolithic MILP
    the benchmarks compare with. `start` (a `Solution.values`) is a plan to begin the whole model from.
    `duals`: report the LP relaxation's duals of the business rows. The time limit is for all of it, and no
    longer than `clock` allows (its deadline and stop: Ctrl-C; progress by stage goes to it), but for the LP
    relaxation, which gets at least `relaxation_seconds` (split.solve). The accounts' MILPs run on `executor`
    (default: threads of this process)."""
    started = time.perf_counter()
    clock = (clock or Clock()).within(time_limit)
    if whole:
        solver = highs() if solver is None else solver
        solver.load(model)
        solution = solution_of(model, solver.run(None, gap, SOLVER_OPTIONS, start, clock),
                               time.perf_counter() - started)
        if duals and solution.has_plan:
            read_duals(model, solution, relaxation(model, None, clock).duals)
        return solution
    problem = model.matrix.problem()
    outcome = split.solve(problem, split.blocks(problem, model.options.column_account), None, gap, start, executor,
                          memo=model.memo, clock=clock, relaxation_seconds=relaxation_seconds)
    solution = solution_of(model, outcome.run, outcome.seconds, outcome.method)
    solution.bound = outcome.bound if not solution.has_plan else solution.bound
    if duals and solution.has_plan and len(outcome.relaxation.duals):
        read_duals(model, solution, outcome.relaxation.duals.tolist())
    return solution


def solution_of(model: Model, run: Run, seconds: float, method: str = split.Method.WHOLE) -> Solution:
    """Read a run of `model` back as a plan, from the run's column values: the options that run, the vividness
    packages bought, the plan's profit and rebates."""
    if not run.has_plan:
        return Solution(run.status, float("nan"), float("nan"), float("nan"), 0.0, seconds, method=method)
    values = run.values
    objective = run.objective
    bound = run.bound if not np.isnan(run.bound) else objective
    gap_now = abs(bound - objective) / max(1.0, abs(objective))
    chosen = np.flatnonzero(model.runs(values) > 0.5).astype(np.intp)
    rebates = sum((float(values[model.column(v)]) for group in model.rebates.values() for v in group), 0.0)
    return Solution(run.status, objective, bound, gap_now, 0.0, seconds, plan_events(model, chosen), chosen,
                    model.value(model.profit, values), rebates, vividness=plan_vividness(model, values),
                    values=values, method=method)


@dataclass
class Relaxation:
    """The LP relaxation of a model: status, objective and the dual of every row (aligned with Model.labels)."""

    status: Status
    objective: float
    duals: list[float]


def relaxation(model: Model, time_limit: float | None = None, clock: Clock | None = None) -> Relaxation:
    """Solve the LP relaxation (binaries in [0, 1]) of the model; the model itself is not touched."""
    run = run_problem(model.matrix.problem().relaxed(), time_limit, None, options={}, clock=clock)
    if run.status is not Status.OPTIMAL:
        return Relaxation(run.status, float("nan"), [])
    duals = run.duals.tolist() if len(run.duals) else [0.0] * len(model.labels)
    return Relaxation(run.status, run.objective, [float(d) for d in duals])


def read_duals(model: Model, solution: Solution, duals: list[float]) -> None:
    """The LP relaxation's duals (one per row) as the marginal objective of each business row's bound (budgets,
    floors): every binding row but the definitions, and the total budget's as `budget_dual`."""
    for value, label in zip(duals, model.labels):
        if abs(value) > 1e-9 and label.family not in ("choice", "rebate", "vividness"):
            solution.row_duals[label] = value
    budget = [abs(duals[i]) for i in model.budget_rows]
    solution.budget_dual = max(budget) if budget else None


def plan_vividness(model: Model, values: np.ndarray) -> Bought | None:
    """The package bought at each account at the column values `values`, as item id -> accounts (None when no
    investment was a decision)."""
    options = model.options
    if not options.investments:
        return None
    packages = {int(options.column_account[c]): int(options.column_bought[c])
                for c in options.packages.tolist() if values[c] > 0.5}
    return bought_in(options.investments, model.rules, packages)


def plan_events(model: Model, chosen: np.ndarray) -> list[Event]:
    """The chosen options as plan events. A locked event of the rules whose weeks were all chosen is kept as
    written (its id, depth and funding), so the plan passes `check_plan` even when the optimizer promotes the
    same line in the weeks around it; the other chosen weeks form one event per run of consecutive weeks of one
    mechanic on one line."""
    options, index = model.options, model.compiled.index
    year = index.calendar.weeks
    taken = {(index.accounts[options.lines[int(options.line[o])][0]].id, options.lines[int(options.line[o])][1],
              options.mechanics[int(options.mechanic[o])].id, int(options.week[o]) + 1) for o in chosen.tolist()}
    events: list[Event] = []
    for event in model.rules.events:
        kept = {(event.account, event.product_group, event.mechanic, w) for w in event.weeks if w <= year}
        if event.locked and kept and kept <= taken:
            events.append(event)
            taken -= kept
    runs: dict[tuple[str, str, str], list[int]] = {}
    for account, group, mechanic, week in taken:
        runs.setdefault((account, group, mechanic), []).append(week)
    for (account, group, mechanic), weeks in sorted(runs.items()):
        for first, last in calendar_runs(weeks):
            events.append(Event(id=f"opt-{account}-{group}-{mechanic}-w{first}", account=account,
                                product_group=group, mechanic=mechanic, weeks=tuple(range(first, last + 1))))
    return events
