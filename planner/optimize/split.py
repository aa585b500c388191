"""The account split: the plan solved account by account, the rows that couple accounts priced (Lagrangian
relaxation), with a certified bound; the whole model only when the split cannot prove the gap.

Nearly every row of the model holds the columns of one account: choice, vividness, every calendar rule, the
rebate tiers, per-account budgets and floors. A few couple accounts: the total, quarterly and pool budgets, the
channel and total margin floors and trade-spend caps (13 of the demo's 24,651 rows). With K those rows, A_K
their coefficients, [L_k, U_k] their limits, c the objective (maximised; a minimisation is its negative) and Y_a
the plans of account a that keep a's own rows, every plan y of the whole model has lam' A_K y <= sum_k h_k(lam_k)
for any prices lam, where h_k(lam) = lam U_k if lam >= 0 else lam L_k (lam_k >= 0 only on a finite U_k,
<= 0 only on a finite L_k). So

    c y + offset  <=  L(lam)  =  offset + sum_k h_k(lam_k) + sum_a max { (c - A_K' lam)_a y_a : y_a in Y_a }

and each account's term is a MILP of its own, a few thousand binaries on the demo, solved independently: side
by side in threads, as HiGHS lets go of Python's lock while it solves. With each term's best bound, L(lam) is a
certified bound on every plan of the whole model.

Prices: below `PRICE_SEARCH_COLUMNS`, the duals of the whole model's LP relaxation on K (solved first; the duals
report reuses it); from it, the price search over the accounts' own LPs (prices.py), whose L(lam) with LP terms
is a certified bound by construction and tends to the LP optimum, without the whole LP. The LP's
gap to the MILP comes from the rebate tiers (a retroactive tier pays in steps, the LP takes their convex
envelope), which are rows of one account each: the accounts' MILPs close it, while the coupling rows keep the
LP's prices. With the LP's own values as subproblems L(lam) is the LP optimum (strong duality, tested).

The plan is every account's plan together. When it keeps every coupling row it is a plan of the whole model and
(L(lam) - its objective) / max(1, |its objective|) its certified gap; each account's MILP stops at an absolute
gap of gap x |LP optimum| / (2 x blocks), leaving half of the target for the prices' complementary slack
(lam_k x the room the plan leaves on row k). When the plan breaks a coupling row (the accounts' plans together
overspend a budget the LP's price only just held), or its gap is over the target, `repair` decides again, in the
whole model, only the columns where the accounts' plans and the LP relaxation disagree (repair.py: in groups of
whole accounts, the coupling rows' room shared out); with its plan and L(lam) the gap is checked again. Only then is the whole model solved, started from the best plan so far; its best
bound is then the smaller of HiGHS's and L(lam).

The blocks, each block's own problem and the repair's smaller problem are cut from the model's arrays by
blocks.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from planner.execute import Executor
from planner.optimize.blocks import TOLERANCE as FEASIBILITY
from planner.optimize.blocks import Blocks, block_problems, blocks, fixing
from planner.optimize.highs import SOLVER_OPTIONS, Run, Status, run_problem
from planner.optimize.matrix import Problem
from planner.optimize.prices import NoBound, search
from planner.optimize.progress import Clock, seconds
from planner.optimize.repair import repair
from planner.optimize.tally import Tally

__all__ = ["BLOCK_OPTIONS", "FEASIBILITY", "INTERIOR_POINT_COLUMNS", "PRICE_SEARCH_COLUMNS", "RELAXATION_SECONDS",
           "REPORT_EVERY", "Blocks", "Memo", "Method", "Outcome", "Split", "blocks", "cpus", "fixing", "prices",
           "relaxation_options", "repair", "searched", "solve", "split"]
"""The account split's names for its callers, `Blocks`, `blocks`, `fixing` and `FEASIBILITY` from blocks.py among them."""
IntArray = npt.NDArray[np.intp]
BLOCK_OPTIONS: dict[str, Any] = {**SOLVER_OPTIONS, "mip_heuristic_run_root_reduced_cost": False,
                                  "mip_allow_restart": False}
"""HiGHS options of each block's MILP: the planner's, and neither the root reduced-cost sub-MIP nor restarts,
which were much of a block's time (a block is small; its root LP and a few branches on the rebate tiers solve it).
Measured by benchmarks/bench_split.py (`--block-highs`)."""
REPORT_EVERY = 1.0
"""Seconds between two 'accounts solved k/N' lines (the first and the last block always report)."""
RELAXATION_SECONDS = 2.0
"""Least seconds the LP relaxation gets even when the deadline is nearer (not when the run was stopped): without
its bound no gap can be stated of any plan, the scenario's own calendar included. `planner optimize` gives it at
least as long as building the model took, too (`solve`'s `relaxation_seconds`), which scales with the model and
with how loaded the machine is. A time limit shorter than valuing and building the model is overrun by this."""


INTERIOR_POINT_COLUMNS = 500_000
"""From this many columns the LP relaxation is solved by HiGHS's interior-point method with crossover (a basic
solution, so its duals price the coupling rows as the simplex's do), below by its default dual simplex. Issue
19's measurements on the generated model: dual simplex grows as about n^2.1 (259 s at 5,000 accounts, 1.3
million columns; about 22 minutes estimated at 10,000), IPM + crossover 45.6 s at 5,000 and 178 s at 10,000
(CPU). Interior point without crossover, and PDLP, gave prices that break the budget row. Below the threshold
(the demo, 1,000 accounts) the default is kept, as measured in benchmarks/README.md."""


PRICE_SEARCH_COLUMNS = 50_000
"""From this many columns (and with blocks) the coupling rows' prices come from the search over the accounts' own
LPs (prices.py), not from the whole model's LP relaxation: its iterations are linear in the accounts, the whole
LP is not. Measured on the generated model (benchmarks/README.md, "Scale", `bench_scale --prices-only`), CPU
seconds: 100 accounts (26,000 columns) LP 0.29, search 0.47; 300 accounts (78,000) LP 1.69, search 1.24; 1,000
accounts (260,000) LP 17.7, search 4.3. Below it (the demo: 40,458 columns) the LP relaxation is kept: there it
is as quick, and it gives the dual of every business row for the report, where the search prices the coupling
rows only."""


def relaxation_options(problem: Problem) -> dict[str, Any]:
    """HiGHS options of the LP relaxation of `problem` (`INTERIOR_POINT_COLUMNS`)."""
    if len(problem.cost) < INTERIOR_POINT_COLUMNS:
        return {}
    return {"solver": "ipm", "run_crossover": "on"}


class Method:
    SPLIT = "account split"
    REPAIRED = "account split, repaired"
    """The accounts' plans, with the columns where they and the LP relaxation disagree decided again together
    (`repair`)."""
    WHOLE = "whole model"
    WHOLE_FROM_SPLIT = "whole model, started from the account split's plan"


@dataclass(frozen=True)
class Split:
    """The accounts' plans together, priced by `prices`, and the certified bound L(prices)."""

    bound: float
    """L(prices) with each block's best bound: no plan of the whole model does better (nan: a block had none)."""
    objective: float
    """Objective of the accounts' plans together (nan without a plan of every block)."""
    values: np.ndarray
    """Every column's value (empty without a plan of every block)."""
    broken: int
    """Coupling rows the plans together break (0: a plan of the whole model)."""
    status: Status
    """INFEASIBLE when a block has no plan at all (then neither has the whole model); TIME_LIMIT when a block
    stopped at the time limit; else OPTIMAL (every block within its gap)."""
    blocks: int
    reused: int
    """Blocks whose run came from the memo, not solved again."""
    seconds: float

    @property
    def feasible(self) -> bool:
        return len(self.values) > 0 and self.broken == 0


def prices(problem: Problem, blocks: Blocks, duals: np.ndarray) -> np.ndarray:
    """The LP relaxation's duals on the coupling rows, in the sense of maximising (lam_k >= 0 prices an upper
    limit), 0 on every other row and wherever the sign has no finite limit to pair with."""
    sense = 1.0 if problem.maximise else -1.0
    lam = np.where(blocks.coupling, sense * duals, 0.0)
    lam[(lam > 0) & ~np.isfinite(problem.row_upper)] = 0.0
    lam[(lam < 0) & ~np.isfinite(problem.row_lower)] = 0.0
    return lam


Memo = dict[bytes, Run]
"""Block runs by what was solved (`_key`): a block whose problem is the same as one solved before (the same
prices on its columns, the same limits; a frontier point where the budget does not bind) is not solved again."""


@dataclass(frozen=True)
class _Blocks:
    """What every block's task reads (planner.execute): sent once to each worker of a cluster."""

    parts: list[Problem]
    block_gap: float
    deadline: float | None
    """Wall-clock time (`time.time()`) at which a block stops (None: no limit): a cluster's workers have no
    `Clock` of this process, so they get the deadline itself."""
    clock: Clock | None
    """In this process: the caller's clock, whose stop (Ctrl-C) reaches the blocks' HiGHS at once."""


def _solve_block(blocks: _Blocks, position: int) -> Run:
    """One block's MILP, to an absolute gap of `block_gap`, stopped by the deadline (or this process's clock)."""
    clock = blocks.clock
    if clock is None:
        clock = Clock().within(None if blocks.deadline is None else blocks.deadline - time.time())
    return run_problem(blocks.parts[position], None, 0.0, options={**BLOCK_OPTIONS, "mip_abs_gap": blocks.block_gap},
                       clock=clock)


def split(problem: Problem, blocks: Blocks, lam: np.ndarray, time_limit: float | None, block_gap: float,
          executor: Executor | None = None, memo: Memo | None = None, clock: Clock | None = None,
          relaxed: np.ndarray | None = None) -> Split:
    """Solve every block under prices `lam` (from `prices`), each to an absolute gap of `block_gap`, on
    `executor` (default: threads of this process, one per CPU), and check their plans together against the
    coupling rows. `memo` keeps the blocks solved within their gap, and gives back the ones solved before.
    `clock`: the deadline and stop (progress.py), reported to as each block finishes ("accounts solved k/N"); a
    block not started when it is over is not solved. `relaxed`: the LP relaxation's values, whose part in a block
    not solved yet bounds that block's term in the progress line (it is optimal for the block's LP under the
    LP's prices). The blocks' runs, and so the plan, are the same wherever they were solved."""
    started = time.perf_counter()
    clock = (clock or Clock()).within(time_limit)
    executor = executor or Executor(threads=cpus())
    sense = 1.0 if problem.maximise else -1.0
    row_of = problem.row_of()
    priced = np.flatnonzero(lam)
    constant = sense * problem.offset + float(sum(
        lam[k] * (problem.row_upper[k] if lam[k] > 0 else problem.row_lower[k]) for k in priced.tolist()))
    cost = sense * problem.cost - np.bincount(problem.index, weights=problem.value * lam[row_of],
                                              minlength=len(problem.cost))
    own = block_problems(problem, blocks, cost)

    memo = {} if memo is None else memo
    keys = [_key(part, block_gap) for _, part in own]
    reused = sum(key in memo for key in keys)
    runs = [memo.get(key, Run.without_plan(Status.NO_SOLUTION)) for key in keys]
    lp_terms = [float(cost[columns] @ relaxed[columns]) if relaxed is not None and len(relaxed) else float("nan")
                for columns, _ in own]
    todo = [position for position, key in enumerate(keys) if key not in memo]
    left = clock.left()
    shared = _Blocks([part for _, part in own], block_gap, None if left is None else time.time() + left,
                     None if executor.distributed else clock)
    reported = [0.0]
    tally = Tally(runs, sense, constant, lp_terms)

    def keep(number: int, block_run: Run) -> None:
        position = todo[number]
        runs[position] = block_run
        tally.keep(position, block_run)
        if block_run.status in (Status.OPTIMAL, Status.INFEASIBLE):
            memo[keys[position]] = block_run
        if time.perf_counter() - reported[0] >= REPORT_EVERY or not tally.waiting:
            tally.report(clock)
            reported[0] = time.perf_counter()

    # Ctrl-C where no handler turns it into the stop: stop, keep what is done
    executor.map(_solve_block, todo, shared, on_result=keep, on_interrupt=lambda: clock.stop.pull(interrupted=True))
    if not todo and own:
        tally.report(clock)
    statuses = {r.status for r in runs}
    seconds = time.perf_counter() - started
    if Status.INFEASIBLE in statuses:
        return Split(float("nan"), float("nan"), np.zeros(0), 0, Status.INFEASIBLE, len(own), reused, seconds)
    bound = sense * (constant + sum(r.bound if not np.isnan(r.bound) else term for r, term in zip(runs, lp_terms)))
    status = Status.TIME_LIMIT if statuses - {Status.OPTIMAL} else Status.OPTIMAL
    if Status.NO_SOLUTION in statuses:
        return Split(bound, float("nan"), np.zeros(0), 0, status, len(own), reused, seconds)
    values = np.zeros(len(problem.cost))
    for (columns, _), block_run in zip(own, runs):
        values[columns] = block_run.values
    activity = np.bincount(row_of, weights=problem.value * values[problem.index], minlength=len(problem.row_lower))
    slack_low = activity - problem.row_lower
    slack_high = problem.row_upper - activity
    limit = FEASIBILITY * np.maximum(1.0, np.abs(activity))
    broken = int(np.count_nonzero(blocks.coupling & ((slack_low < -limit) | (slack_high < -limit))))
    objective = float(problem.cost @ values + problem.offset)
    return Split(bound, objective, values, broken, status, len(own), reused, seconds)


def _key(part: Problem, block_gap: float) -> bytes:
    digest = hashlib.sha1(np.float64(block_gap).tobytes())
    for array in (part.cost, part.column_lower, part.column_upper, part.row_lower, part.row_upper, part.starts,
                  part.index, part.value, part.integrality):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.digest()


@dataclass(frozen=True)
class Outcome:
    """How the model was solved: the plan's run, the LP relaxation's (duals), and the split when it ran."""

    run: Run
    relaxation: Run
    method: str
    split: Split | None
    seconds: float

    @property
    def bound(self) -> float:
        """The best bound known on every plan of the model, with or without a plan: the plan's run's, else
        L(prices) of the split, else the LP relaxation's optimum (nan: none known)."""
        if not np.isnan(self.run.bound):
            return self.run.bound
        if self.split is not None and not np.isnan(self.split.bound):
            return self.split.bound
        return self.relaxation.objective if self.relaxation.status is Status.OPTIMAL else float("nan")


def solve(problem: Problem, blocks: Blocks | None, time_limit: float | None, gap: float,
          start: np.ndarray | None = None, executor: Executor | None = None, memo: Memo | None = None,
          clock: Clock | None = None, relaxation_seconds: float = RELAXATION_SECONDS) -> Outcome:
    """The LP relaxation, then the account split (`blocks` None: none), then its repair, then the whole model, each
    only while the gap is not proven and the time lasts. `start`: a plan to begin the whole model from when the
    split has none. `memo`: block runs to reuse and keep (`split`). The time limit (and `clock`'s deadline, the
    sooner of the two) is for all of it; the LP relaxation gets at least `relaxation_seconds` unless stopped.
    Each stage is reported to `clock`'s progress."""
    started = time.perf_counter()
    clock = (clock or Clock()).within(time_limit)

    def done(run: Run, method: str) -> Outcome:
        return Outcome(run, relaxation, method, result, time.perf_counter() - started)

    hull: np.ndarray | None = None
    """With the price search: each account's LP solution under its prices (`split`'s `relaxed`)."""
    if blocks is not None and len(problem.cost) >= PRICE_SEARCH_COLUMNS:
        relaxation, hull = searched(problem, blocks, clock, relaxation_seconds, executor)
    else:
        relaxation = run_problem(problem.relaxed(), None, None, options=relaxation_options(problem),
                                 clock=clock.at_least(relaxation_seconds))
        clock.say("LP relaxation: " + (f"bound {relaxation.objective:,.0f}" if relaxation.status is Status.OPTIMAL
                                         else relaxation.status.value) + f" ({seconds(time.perf_counter() - started)})")
    result: Split | None = None
    if relaxation.status is Status.INFEASIBLE:
        return done(relaxation, Method.WHOLE)
    best: Run | None = None
    """The best plan of the whole model so far, with L(prices) as its bound."""
    found = Method.WHOLE
    """How `best` was found."""
    if blocks is not None and relaxation.status is Status.OPTIMAL and len(relaxation.duals) and not clock.over:
        block_gap = gap * max(1.0, abs(relaxation.objective)) / (2 * blocks.count)
        result = split(problem, blocks, prices(problem, blocks, relaxation.duals), None, block_gap, executor, memo,
                       clock, relaxation.values if hull is None else hull)
        if result.status is Status.INFEASIBLE:
            return done(Run.without_plan(Status.INFEASIBLE), Method.SPLIT)
        proven = Status.OPTIMAL if result.status is Status.OPTIMAL else Status.TIME_LIMIT
        if result.feasible:
            best, found = Run(proven, result.objective, result.bound, result.values, np.zeros(0)), Method.SPLIT
            # the plan's own objective: "accounts solved" gave the accounts' objectives at the prices (L(prices))
            clock.say(f"split plan: objective {best.objective:,.0f}, gap {_gap(problem, best.objective, best.bound):.3%}")
            if _gap(problem, best.objective, best.bound) <= gap:
                return done(best, found)
        if len(result.values) and not clock.over:
            mended = repair(problem, result.values, relaxation.values, None, gap / 2,
                            None if best is None else best.values, clock, _target(problem, result.bound, gap),
                            blocks, executor or Executor(threads=cpus()))
            if mended.has_plan and (best is None or _better(problem, mended.objective, best.objective)):
                best, found = Run(proven, mended.objective, result.bound, mended.values, np.zeros(0)), Method.REPAIRED
            clock.say("repair: " + ("no plan" if best is None else f"objective {best.objective:,.0f}, gap "
                                    f"{_gap(problem, best.objective, best.bound):.3%}")
                      + f" ({seconds(time.perf_counter() - started)})")
            if best is not None and _gap(problem, best.objective, best.bound) <= gap:
                return done(best, found)
    if clock.over:  # no time left for the whole model: the best plan so far, stopped by the time limit
        return done(Run.without_plan(Status.NO_SOLUTION) if best is None else
                    dataclasses.replace(best, status=Status.TIME_LIMIT), found)
    method = Method.WHOLE if best is None else Method.WHOLE_FROM_SPLIT
    whole = run_problem(problem, None, gap, start if best is None else best.values, clock=clock)
    clock.say("whole model: " + (f"objective {whole.objective:,.0f}" if whole.has_plan else whole.status.value)
              + f" ({seconds(time.perf_counter() - started)})")
    if best is not None and not whole.has_plan:
        return done(dataclasses.replace(best, status=Status.TIME_LIMIT), method)
    if result is not None and whole.has_plan and not np.isnan(result.bound):
        tighter = min if problem.maximise else max
        whole = dataclasses.replace(whole, bound=tighter(whole.bound, result.bound))
    return done(whole, method)


def searched(problem: Problem, blocks: Blocks, clock: Clock, relaxation_seconds: float,
             executor: Executor | None = None) -> tuple[Run, np.ndarray]:
    """The coupling rows' prices by the search over the accounts' LPs (prices.py), as the LP relaxation's run
    would give them: objective and bound L(prices) (certified; the LP optimum within the search's gap), values the
    search's mix of the accounts' LP solutions (for `repair`), duals the prices in HiGHS's sense (0 off the
    coupling rows). Also each account's LP solution under the prices (for `split`'s progress line). The search
    gets half of the time left, and at least `relaxation_seconds`: the accounts' MILPs need the rest. Its
    accounts' LPs run on `executor` (default: threads of this process, one per CPU), as the MILPs do."""
    started = time.perf_counter()
    left = clock.left()
    try:
        found = search(problem, block_problems(problem, blocks, (1.0 if problem.maximise else -1.0) * problem.cost),
                       blocks.coupling, clock.within(None if left is None else left / 2).at_least(relaxation_seconds),
                       executor=executor or Executor(threads=cpus()))
    except NoBound as error:
        clock.say(f"price search: {error}; the LP relaxation instead")
        relaxation = run_problem(problem.relaxed(), None, None, options=relaxation_options(problem),
                                 clock=clock.at_least(relaxation_seconds))
        clock.say(f"LP relaxation: {relaxation.status.value} ({seconds(time.perf_counter() - started)})")
        return relaxation, relaxation.values
    if found.status is Status.INFEASIBLE:
        clock.say(f"price search: infeasible ({seconds(time.perf_counter() - started)})")
        return Run.without_plan(Status.INFEASIBLE), found.hull
    clock.say(f"LP relaxation: bound {found.bound:,.0f} by the price search, {found.iterations} iterations, dual gap "
              f"{found.gap:.4%} ({seconds(time.perf_counter() - started)})")
    sense = 1.0 if problem.maximise else -1.0
    return Run(Status.OPTIMAL, found.bound, found.bound, found.recovered, sense * found.prices), found.hull


def _target(problem: Problem, bound: float, gap: float) -> float:
    """The objective at which a plan is within nine tenths of `gap` of the certified `bound` (L(prices)), which is
    what the split asks of the repair: at 1,000 accounts the repair's HiGHS found such a plan (0.051 %) in 1.1 s of
    CPU and then spent 3.3 s more proving half the gap against its own bound (0.009 % at 4.4 s)."""
    margin = 0.9 * gap * max(1.0, abs(bound))
    return bound - margin if problem.maximise else bound + margin


def _better(problem: Problem, objective: float, than: float) -> bool:
    return objective > than if problem.maximise else objective < than


def _gap(problem: Problem, objective: float, bound: float) -> float:
    difference = bound - objective if problem.maximise else objective - bound
    return max(0.0, difference) / max(1.0, abs(objective))


def cpus() -> int:
    """The CPUs this process may run on (all of the machine's where the system cannot say)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1
