"""HiGHS on the model's arrays: one run, read back in solver-independent terms (linopy's habit).

Callers never see a solver string: a `Run` has a `Status`, objective, best bound and the column values. A run
stopped by its time limit keeps the best plan found, with status TIME_LIMIT.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from planner.optimize.matrix import Problem
from planner.optimize.progress import Clock

SOLVER_OPTIONS: dict[str, Any] = {"mip_heuristic_run_rens": False}
"""HiGHS options of every MILP solve. With the rebate tiers' tight relaxation the root bound is within a few tenths
of a percent, and HiGHS's RENS sub-MIP at the root was much of the time on the demo's models. RINS stays: on the
1,000-account benchmark model it is what finds a plan within 0.1 % (without RINS and RENS HiGHS stops at its 60 s
limit 0.12 % short, with either one it proves 0.1 % in 36-38 s). Measured in benchmarks/README.md ("HiGHS options
on the demo's models" and "Optimize")."""


class Status(str, enum.Enum):
    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    """Stopped by the time limit with a feasible plan: the gap says how far from proven optimal."""
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    """Stopped before any feasible plan was found."""


_CONSTRUCTING = threading.Lock()


def new_highs() -> highspy.Highs:
    """A HiGHS instance that prints nothing. highspy (1.16) prints its banner to the process's standard output
    while it is constructed, before `output_flag` can be set, which would corrupt `--format json` on stdout; so
    file descriptor 1 points at the null device for the construction only (one thread at a time: the
    descriptor is the process's).

    One thread per HiGHS: the planner runs many small solves side by side (the executor's threads or processes),
    and HiGHS's own worker threads only contended for the same cores (an account's MILP took 13.3-13.5 ms of CPU
    with HiGHS's default, 8.6-8.8 ms with one thread, the same objectives; 300 accounts). HiGHS's scheduler is one
    per process and keeps the thread count of its first run (a later run asking for another count gets no
    solution), so every HiGHS of the process must be made here."""
    with _CONSTRUCTING:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    return h


@dataclass
class Run:
    """What one HiGHS run gave, in solver-independent terms."""

    status: Status
    objective: float
    bound: float
    values: np.ndarray
    """Column values (empty without a feasible solution)."""
    duals: np.ndarray
    """Row duals (empty when HiGHS has none, e.g. after a MILP)."""

    @classmethod
    def of(cls, h: highspy.Highs) -> Run:
        model_status, info = h.getModelStatus(), h.getInfo()
        feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if model_status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return cls.without_plan(Status.INFEASIBLE)
        if not feasible:
            return cls.without_plan(Status.NO_SOLUTION)
        optimal = model_status == highspy.HighsModelStatus.kOptimal
        objective = float(info.objective_function_value)
        is_lp = info.mip_node_count == -1
        bound = (objective if optimal else float("nan")) if is_lp else float(info.mip_dual_bound)
        solution = h.getSolution()
        duals = np.array(solution.row_dual) if solution.dual_valid else np.zeros(0)
        return cls(Status.OPTIMAL if optimal else Status.TIME_LIMIT, objective, bound, np.array(solution.col_value),
                   duals)

    @classmethod
    def without_plan(cls, status: Status) -> Run:
        nan = float("nan")
        return cls(status, nan, nan, np.zeros(0), np.zeros(0))

    @property
    def has_plan(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.TIME_LIMIT)


def run(h: highspy.Highs, time_limit: float | None, gap: float | None, options: dict[str, Any],
        start: np.ndarray | None = None, clock: Clock | None = None) -> Run:
    """Run what `h` holds, for `time_limit` seconds and no longer than `clock` allows (which can also stop it
    early: Ctrl-C). `start`: a plan (every column's value) to begin from; HiGHS takes it as its first incumbent
    when it is feasible and ignores it otherwise."""
    if clock is not None:
        clock = clock.within(time_limit)
        time_limit = clock.left()
    if start is not None and len(start):
        h.setSolution(len(start), np.arange(len(start), dtype=np.int32), np.asarray(start, dtype=float))
    h.setOptionValue("time_limit", float("inf") if time_limit is None else max(float(time_limit), 0.0))
    if gap is not None:
        h.setOptionValue("mip_rel_gap", float(gap))
    for name, value in options.items():
        h.setOptionValue(name, value)
    if clock is None:
        h.run()
    else:
        with clock.watching(h):
            h.run()
    return Run.of(h)


def run_problem(problem: Problem, time_limit: float | None, gap: float | None, start: np.ndarray | None = None,
                options: dict[str, Any] | None = None, clock: Clock | None = None) -> Run:
    """Solve a `Problem` (the model's arrays) with a HiGHS of its own, with the planner's options unless
    `options` are given; `clock` as in `run`. Nothing is solved once the clock is over."""
    if clock is not None and clock.over:
        return Run.without_plan(Status.NO_SOLUTION)
    h = new_highs()
    problem.pass_to(h)
    return run(h, time_limit, gap, SOLVER_OPTIONS if options is None else options, start, clock)
