"""The coupling rows' prices without the whole model's LP: a search over the accounts' own LPs (Lagrangian dual).

With K the rows that couple accounts (split.py), prices lam on them (lam_k >= 0 on a finite maximum, <= 0 on a
finite minimum, in the sense of maximising) and the LP hull P_a of each account's own rows,

    L(lam) = offset + sum_k h_k(lam_k) + sum_a max { (c - A_K' lam)_a y_a : y_a in P_a },
    h_k(lam) = max(lam U_k, lam L_k),

is an upper bound on every plan of the whole model for *any* such prices (weak duality), so the bound is
certified by construction whatever the search does; it only gets tighter as the search goes. Its least value
over lam is the whole model's LP optimum (strong duality), which the search approaches without ever building
that LP: each iteration is one small LP per account, warm-started from that account's last basis (HiGHS keeps
it valid when only the costs change). The accounts' LPs are independent tasks of the execution seam
(planner.execute): one after the other, in threads (HiGHS lets go of Python's lock; each thread has a HiGHS of
its own into which the accounts' LPs are passed in turn) or on a Dask cluster, the accounts sent to the workers
once for the whole search and only the prices with each task; their results are combined in account order, and
each LP starts from the basis of the same account's LP at the prices before (`_Bases`), so the search is the
same, byte for byte, wherever its LPs ran.

The search is a box-step bundle method (Marsten, Hogan and Blankenship, 1975; a proximal bundle method with the
infinity norm, so that its master problem is an LP HiGHS solves): every account's LP solution y_a gives a cut
theta_a >= c_a y_a - (A_K y_a)' lam under which its term lies for every lam. The master takes them summed over
groups of consecutive accounts, one cut per group per iteration (theta_g >= sum over the group's accounts; one
group per account up to `GROUPS` accounts: the model of L is much closer with few iterations than with their
sum over all accounts, and a bounded number of groups keeps the master's size, and its solves, the same however
many accounts there are):

    minimise  sum_k s_k + sum_g theta_g   s.t. the cuts, s_k >= U_k lam_k, s_k >= L_k lam_k,
              |lam_k - centre_k| <= box_k

gives the next prices to try. They become the centre when L falls by at least a tenth of what the model
predicted (a serious step; the box doubles when the step reached its side), else only their cuts are kept (a
null step). The master's optimum, when it lies inside the box, is the least value of a model below L: a lower
bound on the LP optimum, so (L(centre) - that) / |L(centre)| is the dual gap, and the search stops once it is
within `tolerance` (or the time is up: the centre is still a certified bound, only less tight).

The master's duals on each group's cuts are weights summing to one; the same mix of each of its accounts' LP
solutions is an approximate LP-relaxation plan (Lagrangian primal recovery), which the split's repair uses as the LP's
values where the accounts' MILP plans break a coupling row.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from planner.execute import Executor, Sent
from planner.optimize.bundle import Cuts, Master, Solved
from planner.optimize.highs import Status, new_highs
from planner.optimize.matrix import Problem
from planner.optimize.progress import Clock

IntArray = npt.NDArray[np.intp]
TOLERANCE = 1e-5
"""Relative dual gap at which the search stops: L(centre) within this of the least value of L (the LP optimum).
A tenth of the split's usual 0.1 % target, so the prices leave the accounts' MILPs most of it."""
MAX_ITERATIONS = 200
SERIOUS = 0.1
"""A step is serious (the centre moves) when L falls by at least this share of the fall the model predicted."""
FIRST_BOX = 1.0
"""Half-width of the first box around the centre, in each price's own units (profit per unit of the row)."""
GROUPS = 10_000
"""At most this many cuts per iteration in the master: one per group of consecutive accounts (one account each up
to this many accounts), the sum of its accounts' cuts. With a cut per account the master grew with the accounts
and each of its solves about with their square (0.18 s wall at 1,000 accounts, 4.8 s at 5,000, 13,968 cut
rows); with a bounded number of groups it stays the size it has at 10,000 accounts however many there are. Not
fewer: summed cuts make a coarser model of L and more iterations, each every account's LP (6 iterations with up
to 5 accounts a group, 7 with 8 to 25, 8 with 50; benchmarks/README.md, "Scale", `bench_scale --search-only`)."""


@dataclass(frozen=True)
class Search:
    """Prices of the coupling rows found by the search, and what they certify."""

    prices: np.ndarray
    """One price per row of the model, in the sense of maximising (as `split.prices`); 0 off the coupling rows."""
    bound: float
    """L(prices) with the accounts' LP hulls, in the model's own sense and units: no plan does better."""
    lower: float
    """Least value of the model of L the search proved (-inf/+inf: none yet): the LP optimum lies between it and
    `bound`."""
    hull: np.ndarray
    """Every column's value in its account's LP under `prices` (each account's term of `bound`)."""
    recovered: np.ndarray
    """The master's mix of the accounts' LP solutions: an approximate LP-relaxation plan."""
    status: Status
    """OPTIMAL: within the tolerance; TIME_LIMIT: stopped by the time or the iteration limit; INFEASIBLE: an
    account's own rows have no LP solution, so the whole model has none."""
    iterations: int
    seconds: float
    master_seconds: float = 0.0
    """Of `seconds`, those in the master LP's solves (the rest: the accounts' LPs, and the cuts made of them)."""
    cuts: int = 0
    """The master's cut rows at the end: one per group of accounts per iteration at most (`GROUPS`)."""

    @property
    def gap(self) -> float:
        """(bound - lower) / max(1, |bound|): how far `bound` may be above the LP optimum."""
        return abs(self.bound - self.lower) / max(1.0, abs(self.bound))


@dataclass(frozen=True)
class _Accounts:
    """What every account's LP task reads (planner.execute), sent once for the whole search: on a cluster
    scattered to every worker before the first iteration, not once per iteration."""

    parts: list[Problem]
    """Each account's LP hull: its own rows, maximised with the model's objective in the sense of maximising."""
    coupling: list[tuple[IntArray, IntArray, np.ndarray]]
    """Each account's entries in the coupling rows: its own column, the coupling row's number (0..m-1), the
    coefficient."""
    rows: int
    """m: how many coupling rows are priced."""
    search: str
    """Which search this is: the bases a process keeps (`_Bases`) belong to one search."""
    deadline: float | None
    """Wall-clock time (`time.time()`) after which an account's LP of a stoppable iteration is not started (None:
    no limit): a cluster's workers have no `Clock` of this process."""
    clock: Clock | None
    """In this process: the caller's clock, whose stop (Ctrl-C) is seen between two accounts."""

    def over(self) -> bool:
        if self.clock is not None:
            return self.clock.over
        return self.deadline is not None and time.time() > self.deadline


@dataclass(frozen=True)
class _Task:
    """One account's LP at the latest prices: the item of a map (small; it travels with every task)."""

    position: int
    tried: tuple[np.ndarray, ...]
    """Every price vector the accounts were solved at in this search, the one to solve at last."""
    stoppable: bool
    """Whether the task may be skipped when the clock is over (not on the first iteration, which gives the bound)."""


INFEASIBLE, STOPPED = "infeasible", "stopped"
"""What an account's task gives instead of a `Solved`: its own rows have no LP solution; or the clock was over
before it started."""


class _Bases:
    """The basis each account's last LP ended with, in this process (a worker of a cluster keeps its own), for one
    search at a time: the next LP of the account starts from it (HiGHS keeps a basis valid when only the costs
    change). A warm start may end at another optimal vertex than a cold one, so the LP at the k-th prices is
    always started from the basis of the account's LP at the (k-1)-th prices, and a process that does not hold
    that basis (another worker solved the account last time; a worker was lost) first solves the account's LPs
    at the earlier prices again, in order (`_Task.tried`): the result is the same wherever the task runs."""

    def __init__(self) -> None:
        self.search = ""
        self.kept: dict[int, tuple[int, highspy.HighsBasis]] = {}
        """account position -> (how many of the search's prices it was solved at, the basis it ended with)"""
        self.lock = threading.Lock()

    def take(self, search: str, position: int) -> tuple[int, highspy.HighsBasis | None]:
        with self.lock:
            if search != self.search:  # a new search: the last one's bases are of no use
                self.search, self.kept = search, {}
            return self.kept.pop(position, (0, None))

    def keep(self, search: str, position: int, solved: int, basis: highspy.HighsBasis) -> None:
        with self.lock:
            if search == self.search:
                self.kept[position] = (solved, basis)

    def forget(self, search: str) -> None:
        with self.lock:
            if search == self.search:
                self.search, self.kept = "", {}


_BASES = _Bases()


class _Highs(threading.local):
    """A HiGHS per thread, made on first use, into which the accounts' LPs are passed in turn: a HiGHS per account
    held about 0.3 MB each between iterations (0.32 GB at 1,000 accounts). Without presolve: an account's LP is a
    few hundred columns started from its last basis, and presolving it cost more than it saved (the search at
    1,000 accounts, in one process: 6.2 s of CPU with presolve, 5.5 s without; the same iterations and bound)."""

    def get(self) -> highspy.Highs:
        highs: highspy.Highs | None = getattr(self, "highs", None)
        if highs is None:
            highs = self.highs = new_highs()
            highs.setOptionValue("presolve", "off")
        return highs


_THREAD_HIGHS = _Highs()


def _solve_account(accounts: _Accounts, task: _Task) -> Solved | str:
    """The account's LP at the last of `task.tried`, started from the basis of its LP at the prices before (solved
    again here when this process does not hold it)."""
    if task.stoppable and accounts.over():
        return STOPPED
    part = accounts.parts[task.position]
    columns, rows, coefficients = accounts.coupling[task.position]
    highs = _THREAD_HIGHS.get()
    solved, basis = _BASES.take(accounts.search, task.position)
    if solved >= len(task.tried):  # not this search's prefix: start again
        solved, basis = 0, None
    result: tuple[float, np.ndarray] | None = None
    for lam in task.tried[solved:]:
        cost = part.cost - np.bincount(columns, weights=coefficients * lam[rows], minlength=len(part.cost))
        result, basis = _solve_hull(part, cost, basis, highs)
        if result is None:
            return INFEASIBLE
    assert result is not None and basis is not None
    _BASES.keep(accounts.search, task.position, len(task.tried), basis)
    term, values = result
    return Solved(term, values, float(part.cost @ values),
                   np.bincount(rows, weights=coefficients * values[columns], minlength=accounts.rows))


def _solve_hull(part: Problem, cost: np.ndarray, basis: highspy.HighsBasis | None,
                highs: highspy.Highs) -> tuple[tuple[float, np.ndarray] | None, highspy.HighsBasis | None]:
    """max cost y over the account's hull from `basis`: ((its value, y), the basis it ended with), or (None, None)
    when the hull is empty. `part`'s arrays go to HiGHS with `cost`, maximised, without a copy of `part` with
    another cost (`Problem.pass_to`): the copies were 4 % of the search's profiled time at 1,000 accounts."""
    highs.passModel(len(cost), len(part.row_lower), len(part.value), 2, -1, 0.0, cost, part.column_lower,
                    part.column_upper, part.row_lower, part.row_upper, part.starts, part.index, part.value,
                    part.integrality)
    if basis is not None:
        highs.setBasis(basis)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal and basis is not None:
        highs.clearSolver()  # a basis left by a failed run is not a start; solve once more from nothing
        highs.run()
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None, None
    if status != highspy.HighsModelStatus.kOptimal:
        raise NoBound(f"an account's LP under the prices ended {highs.modelStatusToString(status)}")
    value = float(highs.getObjectiveValue())  # not getInfo(), which copies every figure of the run (15 us)
    return (value, np.array(highs.getSolution().col_value)), highs.getBasis()


class _Stopped(Exception):
    """The clock was over between two accounts' LPs of an iteration."""


class NoBound(RuntimeError):
    """An account's LP had no optimum under some prices (unbounded, or HiGHS gave up): the search cannot go on,
    and the caller prices the coupling rows another way (`split.searched`: the whole model's LP relaxation)."""


def search(problem: Problem, parts: Sequence[tuple[IntArray, Problem]], coupling: npt.NDArray[np.bool_],
           clock: Clock | None = None, tolerance: float = TOLERANCE, executor: Executor | None = None,
           max_iterations: int = MAX_ITERATIONS, groups: int = GROUPS) -> Search:
    """The coupling rows' prices by the box-step bundle method over the accounts' LP hulls. `parts`: each
    account's columns and its own rows as a problem, maximised with the model's objective in the sense of
    maximising (`blocks.block_problems`; their costs are replaced here); `coupling`: which rows of `problem` couple
    accounts; `executor`: where each iteration's accounts' LPs run (planner.execute; default: one after the other
    here), the accounts sent once for the whole search and their results combined in account order, so the
    search is the same wherever they ran; `groups`: at most this many cuts per iteration (`GROUPS`). Stops within
    `tolerance`, at `max_iterations`, or when `clock` is over (after at least one iteration, which gives the
    bound). Raises `NoBound` when an account's LP has no optimum
    for a reason other than having no solution at all."""
    started = time.perf_counter()
    clock = clock or Clock()
    executor = executor or Executor()
    sense = 1.0 if problem.maximise else -1.0
    base = sense * problem.cost
    rows = np.flatnonzero(coupling & (np.isfinite(problem.row_upper) | np.isfinite(problem.row_lower)))
    m, count = len(rows), len(parts)
    upper, lower = problem.row_upper[rows], problem.row_lower[rows]
    low = np.where(np.isfinite(lower), -np.inf, 0.0)  # a price < 0 needs a finite minimum
    high = np.where(np.isfinite(upper), np.inf, 0.0)  # a price > 0 a finite maximum
    left = clock.left()
    accounts = _Accounts([part.relaxed() for _, part in parts], _coupling_entries(problem, parts, rows), m,
                         uuid.uuid4().hex, None if left is None else time.time() + left,
                         None if executor.distributed else clock)
    cuts = Cuts([columns for columns, _ in parts], min(count, max(1, groups)))
    master = Master(cuts.groups, upper, lower, low, high)
    tried: list[np.ndarray] = []

    def evaluate(lam: np.ndarray, sent: Sent[_Accounts], stoppable: bool = True) -> _Evaluated | None:
        """L(lam) in the sense of maximising and every account's LP under `lam`, or None when an account's hull
        is empty. `stoppable`: raise `_Stopped` when the clock was over before every account was solved (not on
        the first iteration, which gives the bound)."""
        tried.append(lam)
        tasks = [_Task(position, tuple(tried), stoppable) for position in range(count)]
        solved = executor.map(_solve_account, tasks, sent, on_interrupt=lambda: clock.stop.pull(interrupted=True))
        if INFEASIBLE in solved:
            return None
        if STOPPED in solved:
            raise _Stopped
        accounts_solved = [result for result in solved if isinstance(result, Solved)]
        y = np.zeros(len(base))
        for (columns, _), result in zip(parts, accounts_solved):
            y[columns] = result.values
        limits = np.where(lam > 0, lam * np.where(lam > 0, upper, 0.0), lam * np.where(lam < 0, lower, 0.0))
        value = sense * problem.offset + float(limits.sum()) + sum(result.term for result in accounts_solved)
        return _Evaluated(value, y, accounts_solved)

    with executor.sending(accounts) as sent:
        try:
            centre = np.zeros(m)
            box = np.full(m, FIRST_BOX)
            first = evaluate(centre, sent, stoppable=False)
            if first is None:
                return _infeasible(problem, started)
            best, hull = first.value, first.values
            recovered = hull.copy()
            master.add(*cuts.add(first.accounts))
            proven, status, iterations, rounds = -np.inf, Status.TIME_LIMIT, 1, 0
            while iterations < max_iterations and rounds < 4 * max_iterations and not clock.over:
                rounds += 1
                planned = master.solve(centre, box)
                if planned is None:
                    break
                lam, model = planned[0], planned[1] + sense * problem.offset
                proven_here = model if master.inside(lam, centre, box) else -np.inf
                proven = max(proven, proven_here)
                if best - proven <= tolerance * max(1.0, abs(best)):
                    status = Status.OPTIMAL
                    recovered = cuts.recover(master.weights(), len(base))
                    break
                predicted = best - model
                if predicted <= tolerance * max(1.0, abs(best)) * 1e-3:  # the box holds no better model point
                    box *= 2.0
                    continue
                try:
                    tried_here = evaluate(lam, sent)
                except _Stopped:  # the time limit or Ctrl-C in the middle of an iteration: the centre stays
                    break
                iterations += 1
                if tried_here is None:
                    return _infeasible(problem, started)
                master.add(*cuts.add(tried_here.accounts))
                if best - tried_here.value >= SERIOUS * predicted:
                    reached = np.abs(lam - centre) >= box * (1 - 1e-9)
                    box[reached] *= 2.0
                    centre, best, hull = lam, tried_here.value, tried_here.values
        finally:
            _BASES.forget(accounts.search)
    if status is not Status.OPTIMAL and master.solve(centre, box) is not None:
        recovered = cuts.recover(master.weights(), len(base))  # the master again: its duals must cover every cut
    lam_rows = np.zeros(len(problem.row_lower))
    lam_rows[rows] = centre
    return Search(lam_rows, sense * best, sense * proven, hull, recovered, status, iterations,
                  time.perf_counter() - started, master.seconds, master.highs.getNumRow() - master.first_cut)


@dataclass(frozen=True)
class _Evaluated:
    """L at some prices (in the sense of maximising), every column's value in its account's LP, and each account's
    LP in account order."""

    value: float
    values: np.ndarray
    accounts: list[Solved]


def _coupling_entries(problem: Problem, parts: Sequence[tuple[IntArray, Problem]],
                      rows: IntArray) -> list[tuple[IntArray, IntArray, np.ndarray]]:
    """Each account's entries in the coupling rows `rows`: (its own column, the row's number in `rows`, the
    coefficient), grouped by account once (a stable sort), not scanned per account."""
    number = np.full(len(problem.row_lower), -1, dtype=np.intp)
    number[rows] = np.arange(len(rows))
    local = np.full(len(problem.cost), -1, dtype=np.intp)
    block_of = np.full(len(problem.cost), -1, dtype=np.intp)
    for position, (columns, _) in enumerate(parts):
        local[columns] = np.arange(len(columns))
        block_of[columns] = position
    row_of = problem.row_of()
    entries = np.flatnonzero((number[row_of] >= 0) & (block_of[problem.index] >= 0))
    column = problem.index[entries].astype(np.intp)
    order = np.argsort(block_of[column], kind="stable")
    entries, column = entries[order], column[order]
    edges = np.searchsorted(block_of[column], np.arange(len(parts) + 1), "left")
    row = number[row_of[entries]]
    return [(local[column[a:b]], row[a:b], problem.value[entries[a:b]])
            for a, b in itertools.pairwise(edges.tolist())]


def _infeasible(problem: Problem, started: float) -> Search:
    nothing = np.zeros(0)
    return Search(np.zeros(len(problem.row_lower)), float("nan"), float("nan"), nothing, nothing, Status.INFEASIBLE,
                  1, time.perf_counter() - started)
