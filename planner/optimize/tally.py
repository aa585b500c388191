"""The 'accounts solved k/N' progress line of the account split (split.py): L(prices) over the blocks' runs so
far and the gap of their plans to it, kept up to date run by run."""

from __future__ import annotations

import numpy as np

from planner.optimize.highs import Run, Status
from planner.optimize.progress import Clock


class Tally:
    """The blocks' runs so far, for the 'accounts solved k/N' line: L(prices) with the best bound of each block
    solved and the LP term of each other block (`relaxed`), and the gap of the blocks' plans so far to it (the
    others counted at their LP term). Kept up to date run by run, so a line costs the same however many blocks
    there are (summing every block's run at each line grew as blocks x lines, and the lines with the run's time)."""

    def __init__(self, runs: list[Run], sense: float, constant: float, relaxed: list[float]) -> None:
        self.sense, self.constant, self.relaxed = sense, constant, relaxed
        self.count = len(runs)
        self.terms = np.array(relaxed, dtype=float)
        self.plans = self.terms.copy()
        self.runs = [Run.without_plan(Status.NO_SOLUTION)] * len(runs)
        self.waiting = len(runs)
        """Blocks without a run yet (NO_SOLUTION): counted down as runs come (the last one always reports)."""
        self.solved = 0
        for position, run in enumerate(runs):
            self.keep(position, run)

    def keep(self, position: int, run: Run) -> None:
        before = self.runs[position]
        self.runs[position] = run
        self.waiting += (run.status is Status.NO_SOLUTION) - (before.status is Status.NO_SOLUTION)
        self.solved += is_solved(run) - is_solved(before)
        self.terms[position] = run.bound if run.has_plan else self.relaxed[position]
        self.plans[position] = run.objective if run.has_plan else self.relaxed[position]

    def report(self, clock: Clock) -> None:
        solved = self.solved
        line = f"accounts solved {solved}/{self.count}"
        if clock.over and solved < self.count:
            line += (f" ({self.count - solved} stopped or not started: "
                     f"{'Ctrl-C' if clock.stop.interrupted else 'time limit'})")
        terms, plans = float(self.terms.sum()), float(self.plans.sum())
        if not (np.isnan(terms) or np.isnan(plans)):
            bound = self.sense * (self.constant + terms)
            line += f": best bound {bound:,.0f}, gap {abs(terms - plans) / max(1.0, abs(bound)):.3%}"
        clock.say(line)


def is_solved(run: Run) -> bool:
    """A block counts as solved with a plan, or proven infeasible."""
    return run.has_plan or run.status is Status.INFEASIBLE
