"""The repair: the accounts' plans, solved under the coupling rows' prices, mended where together they break a
coupling row or leave the gap over the target (split.py, step 4 of docs/optimizer.md "The account split").

Every integer column where the accounts' plans (`values`) and the LP relaxation (`relaxed`) agree is fixed there,
RINS's neighbourhood (Danna, Rothberg and Le Pape, 2005): only the columns they disagree on are decided again,
and HiGHS is given only those (`blocks.fixing`). Those columns grow with the accounts (2,215 binaries at 1,000
accounts of the benchmark's world), and one MILP over all of them grew faster than they do (13.5 s of CPU at
10,000 accounts, 413 s at 50,000). So with the model's blocks they are decided in groups of whole accounts of
about `GROUP_COLUMNS` columns each, every group a MILP of its own:

- a row of one group keeps its limits; a row shared by groups (a coupling row) is shared out. With a_g the LP
  relaxation's activity of group g's columns on it, a = sum_g a_g (within the row's limits [lo, up] less the
  fixed columns' part: the LP's values keep every row) and w_g group g's share of the columns, group g gets
  [a_g - w_g (a - lo), a_g + w_g (up - a)]. These add up to [lo, up], so the groups' plans together keep the
  row, and each group's part of the LP plan keeps its own: every group has an LP solution, worth its part V_g
  of the LP plan's worth;
- with a `target` T for the whole plan (split's `_target`: nine tenths of the gap target under L(prices)), the
  room D = F + sum_g V_g - T (F: the fixed columns' worth) is shared out the same way: group g stops at a plan
  worth V_g - w_g D, so the groups' plans together reach T when each reaches its own; each also stops when it
  is proven within w_g x `gap` x |F + sum_g V_g| of its own bound.

The groups are independent, so they run on the executor as the accounts' MILPs do, and come back in group
order: the plan is the same wherever they ran. A group with no plan (a shared-out limit its integer columns
cannot meet), or the groups' plans together short of the target, sends the repair back to one MILP over all
the columns left to decide, as without blocks (from the groups' plan, if any).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from planner.execute import Executor
from planner.optimize.blocks import Blocks, IntArray, fixing, groups
from planner.optimize.highs import SOLVER_OPTIONS, Run, Status, run_problem
from planner.optimize.matrix import Problem
from planner.optimize.progress import Clock

GROUP_COLUMNS = 2_000
"""About how many columns left to decide one group of the repair holds (whole accounts; `repair`)."""


@dataclass(frozen=True)
class _Groups:
    """What every group's task reads (planner.execute): sent once to each worker of a cluster."""

    parts: list[Problem]
    targets: list[float | None]
    """The objective at which each group's plan is good enough (None: no target)."""
    gaps: list[float]
    """The absolute gap to its own bound at which each group stops."""
    deadline: float | None
    """Wall-clock time (`time.time()`) at which a group stops (None: no limit)."""
    clock: Clock | None
    """In this process: the caller's clock, whose stop (Ctrl-C) reaches the groups' HiGHS at once."""


def _solve_group(shared: _Groups, position: int) -> Run:
    clock = shared.clock
    if clock is None:
        clock = Clock().within(None if shared.deadline is None else shared.deadline - time.time())
    target = shared.targets[position]
    options = {**SOLVER_OPTIONS, "mip_abs_gap": shared.gaps[position],
               **({} if target is None else {"objective_target": target})}
    return run_problem(shared.parts[position], None, 0.0, options=options, clock=clock)


def repair(problem: Problem, values: np.ndarray, relaxed: np.ndarray, time_limit: float | None, gap: float,
           start: np.ndarray | None, clock: Clock | None = None, target: float | None = None,
           blocks: Blocks | None = None, executor: Executor | None = None) -> Run:
    """The whole model with every integer column fixed where the accounts' plans (`values`) and the LP relaxation
    (`relaxed`) agree, the others decided again: a plan of the whole model; its bound is not one (the rest is
    fixed). `gap`: the relative gap at which it stops; `target`: an objective at which its plan is good enough,
    whatever its gap (HiGHS's objective_target). With `blocks`, the columns left to decide go to HiGHS in groups
    of whole accounts (the module's docstring), on `executor` (default: one thread); without, as one MILP."""
    clock = (clock or Clock()).within(time_limit)
    agree = (problem.integrality == 1) & (np.abs(relaxed - values) <= 1e-6)
    plan = np.where(agree, np.round(values), 0.0)
    reduced = fixing(problem, agree, plan)
    if reduced is None:
        return Run.without_plan(Status.INFEASIBLE)
    rest, free = reduced
    if target is not None and np.isnan(target):
        target = None
    begin = None if start is None or not len(start) else start[free]
    run: Run | None = None
    if blocks is not None and len(free) > GROUP_COLUMNS:
        run = in_groups(rest, blocks.column[free], relaxed[free], gap, target, clock, executor or Executor())
        sense = 1.0 if problem.maximise else -1.0
        if run is not None and target is not None and sense * (run.objective - target) < 0 and not clock.over:
            begin, run = run.values, None  # short of the target: all together, from the groups' plan
    if run is None:
        options = SOLVER_OPTIONS if target is None else {**SOLVER_OPTIONS, "objective_target": target}
        run = run_problem(rest, None, gap, begin, options, clock)
    if not run.has_plan:
        return run
    plan[free] = run.values
    return dataclasses.replace(run, values=plan, duals=np.zeros(0))


def in_groups(rest: Problem, account: IntArray, relaxed: np.ndarray, gap: float, target: float | None,
               clock: Clock, executor: Executor) -> Run | None:
    """`rest` (the columns left to decide, `account` the account of each, `relaxed` the LP's values on them)
    decided group by group, the shared rows and the target shared out (the module's docstring). None when a group
    has no plan."""
    _, inverse, sizes = np.unique(account, return_inverse=True, return_counts=True)
    before = np.cumsum(sizes) - sizes
    wanted = -(-len(account) // GROUP_COLUMNS)
    named, account_group = np.unique(before * wanted // len(account), return_inverse=True)  # none left empty
    count = len(named)
    column_group = account_group[inverse].astype(np.intp)
    parts = groups(rest, column_group, count)
    share = [len(columns) / len(account) for columns, _, _ in parts]
    activity = [np.bincount(part.row_of(), weights=part.value * relaxed[columns][part.index],
                            minlength=len(rows)) for columns, rows, part in parts]
    holders = np.bincount(np.concatenate([rows for _, rows, _ in parts]), minlength=len(rest.row_lower))
    total = np.zeros(len(rest.row_lower))
    for (_, rows, _), part_activity in zip(parts, activity):
        total[rows] += part_activity
    room_below = np.maximum(total - rest.row_lower, 0.0)
    room_above = np.maximum(rest.row_upper - total, 0.0)
    worth = [float(part.cost @ relaxed[columns]) for columns, _, part in parts]
    whole = rest.offset + sum(worth)
    sense = 1.0 if rest.maximise else -1.0
    spare = None if target is None else max(0.0, sense * (whole - target))
    shared_out = []
    for (_, rows, part), part_activity, weight in zip(parts, activity, share):
        split_row = holders[rows] > 1
        shared_out.append(dataclasses.replace(
            part, row_lower=np.where(split_row, part_activity - weight * room_below[rows], part.row_lower),
            row_upper=np.where(split_row, part_activity + weight * room_above[rows], part.row_upper)))
    left = clock.left()
    tasks = _Groups(shared_out, [None if spare is None else value - sense * weight * spare
                                 for value, weight in zip(worth, share)],
                    [gap * max(1.0, abs(whole)) * weight for weight in share],
                    None if left is None else time.time() + left, None if executor.distributed else clock)
    runs = executor.map(_solve_group, list(range(count)), tasks,
                        on_interrupt=lambda: clock.stop.pull(interrupted=True))
    if not all(run.has_plan for run in runs):
        return None
    values = np.zeros(len(rest.cost))
    for (columns, _, _), run in zip(parts, runs):
        values[columns] = run.values
    status = Status.OPTIMAL if all(run.status is Status.OPTIMAL for run in runs) else Status.TIME_LIMIT
    return Run(status, rest.offset + sum(run.objective for run in runs),
               rest.offset + sum(run.bound for run in runs), values, np.zeros(0))
