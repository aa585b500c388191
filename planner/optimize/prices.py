"""The coupling rows' prices without the whole model's LP: a search over the accounts' own LPs (Lagrangian dual).

With K the rows that couple accounts (split.py), prices lam on them (lam_k >= 0 on a finite maximum, <= 0 on a
finite minimum, in the sense of maximising) and the LP hull P_a of each account's own rows,

    L(lam) = offset + sum_k h_k(lam_k) + sum_a max { (c - A_K' lam)_a y_a : y_a in P_a },
    h_k(lam) = max(lam U_k, lam L_k),

is an upper bound on every plan of the whole model for *any* such prices (weak duality), so the bound is
certified by construction whatever the search does; it only gets tighter as the search goes. Its least value
over lam is the whole model's LP optimum (strong duality), which the search approaches without ever building
that LP: each iteration is one small LP per account, warm-started from that account's last basis (HiGHS keeps
it valid when only the costs change), in threads (HiGHS lets go of Python's lock), each thread with a HiGHS of
its own into which the accounts' LPs are passed in turn.

The search is a box-step bundle method (Marsten, Hogan and Blankenship, 1975; a proximal bundle method with the
infinity norm, so that its master problem is an LP HiGHS solves): every account's LP solution y_a gives a cut
theta_a >= c_a y_a - (A_K y_a)' lam under which its term lies for every lam (one cut per account, not their
sum: the model of L is much closer with few iterations), and the master

    minimise  sum_k s_k + sum_a theta_a   s.t. the cuts, s_k >= U_k lam_k, s_k >= L_k lam_k,
              |lam_k - centre_k| <= box_k

gives the next prices to try. They become the centre when L falls by at least a tenth of what the model
predicted (a serious step; the box doubles when the step reached its side), else only their cuts are kept (a
null step). The master's optimum, when it lies inside the box, is the least value of a model below L: a lower
bound on the LP optimum, so (L(centre) - that) / |L(centre)| is the dual gap, and the search stops once it is
within `tolerance` (or the time is up: the centre is still a certified bound, only less tight).

The master's duals on each account's cuts are weights summing to one; the same mix of the account's LP solutions
is an approximate LP-relaxation plan (Lagrangian primal recovery), which the split's repair uses as the LP's
values where the accounts' MILP plans break a coupling row.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

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

    @property
    def gap(self) -> float:
        """(bound - lower) / max(1, |bound|): how far `bound` may be above the LP optimum."""
        return abs(self.bound - self.lower) / max(1.0, abs(self.bound))


class _Hull:
    """One account's LP hull, and the basis its last solve ended with: each solve starts from it (HiGHS keeps the
    basis valid when only the costs change). The HiGHS that solves it is the thread's (`_Highs`), not the
    account's: a HiGHS per account held about 0.3 MB each between iterations (0.32 GB at 1,000 accounts)."""

    def __init__(self, part: Problem) -> None:
        self.part = part.relaxed()
        self.basis: highspy.HighsBasis | None = None

    def solve(self, cost: np.ndarray, highs: highspy.Highs) -> tuple[float, np.ndarray] | None:
        """max cost y over the hull: (its value, y), or None when the hull is empty."""
        dataclasses.replace(self.part, cost=cost).pass_to(highs)
        if self.basis is not None:
            highs.setBasis(self.basis)
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal and self.basis is not None:
            highs.clearSolver()  # a basis left by a failed run is not a start; solve once more from nothing
            highs.run()
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise NoBound(f"an account's LP under the prices ended {highs.modelStatusToString(status)}")
        self.basis = highs.getBasis()
        return float(highs.getInfo().objective_function_value), np.array(highs.getSolution().col_value)


class _Highs(threading.local):
    """A HiGHS per thread, made on first use."""

    def get(self) -> highspy.Highs:
        highs: highspy.Highs | None = getattr(self, "highs", None)
        if highs is None:
            highs = self.highs = new_highs()
        return highs


class _Stopped(Exception):
    """The clock was over between two accounts' LPs of an iteration."""


class NoBound(RuntimeError):
    """An account's LP had no optimum under some prices (unbounded, or HiGHS gave up): the search cannot go on,
    and the caller prices the coupling rows another way (`split.searched`: the whole model's LP relaxation)."""


@dataclass(frozen=True)
class _Coupling:
    """The coupling rows' entries, by account: entry e is coefficient `value[e]` of column `column[e]` in coupling
    row number `row[e]` (0..m-1), and the column lies in account `block[e]` (position in the parts)."""

    rows: IntArray
    """The model's row of each coupling row."""
    row: IntArray
    column: IntArray
    value: np.ndarray
    block: IntArray

    def activity(self, y: np.ndarray, blocks: int) -> np.ndarray:
        """(blocks, m): A_K y, account by account."""
        m = len(self.rows)
        return np.bincount(self.block * m + self.row, weights=self.value * y[self.column],
                           minlength=blocks * m).reshape(blocks, m)


def search(problem: Problem, parts: Sequence[tuple[IntArray, Problem]], coupling: npt.NDArray[np.bool_],
           clock: Clock | None = None, tolerance: float = TOLERANCE, threads: int = 1,
           max_iterations: int = MAX_ITERATIONS) -> Search:
    """The coupling rows' prices by the box-step bundle method over the accounts' LP hulls. `parts`: each
    account's columns and its own rows as a problem, maximised with the model's objective in the sense of
    maximising (`split._parts`; their costs are replaced here); `coupling`: which rows of `problem` couple
    accounts; `threads`: the accounts' LPs side by side. Stops within `tolerance`, at `max_iterations`, or when
    `clock` is over (after at least one iteration, which gives the bound). Raises `NoBound` when an account's LP
    has no optimum for a reason other than having no solution at all."""
    started = time.perf_counter()
    clock = clock or Clock()
    sense = 1.0 if problem.maximise else -1.0
    base = sense * problem.cost
    row_of = problem.row_of()
    rows = np.flatnonzero(coupling & (np.isfinite(problem.row_upper) | np.isfinite(problem.row_lower)))
    m, count = len(rows), len(parts)
    number = np.full(len(problem.row_lower), -1, dtype=np.intp)
    number[rows] = np.arange(m)
    block_of = np.full(len(problem.cost), -1, dtype=np.intp)
    for position, (columns, _) in enumerate(parts):
        block_of[columns] = position
    entries = np.flatnonzero(number[row_of] >= 0)
    couple = _Coupling(rows, number[row_of[entries]], problem.index[entries].astype(np.intp),
                       problem.value[entries], block_of[problem.index[entries]])
    upper, lower = problem.row_upper[rows], problem.row_lower[rows]
    low = np.where(np.isfinite(lower), -np.inf, 0.0)  # a price < 0 needs a finite minimum
    high = np.where(np.isfinite(upper), np.inf, 0.0)  # a price > 0 a finite maximum
    hulls = [_Hull(part) for _, part in parts]
    master = _Master(count, upper, lower, low, high)
    pool = ThreadPoolExecutor(max_workers=max(1, threads)) if threads > 1 else None

    def evaluate(lam: np.ndarray, stoppable: bool = True) -> tuple[float, np.ndarray, np.ndarray] | None:
        """L(lam) in the sense of maximising, every column's hull value, and each account's term. `stoppable`:
        raise `_Stopped` as soon as the clock is over, between two accounts (not on the first iteration, which
        gives the bound)."""
        cost = base - np.bincount(couple.column, weights=couple.value * lam[couple.row], minlength=len(base))
        tasks = [cost[columns] for columns, _ in parts]

        def one(hull: _Hull, task: np.ndarray) -> tuple[float, np.ndarray] | None:
            if stoppable and clock.over:
                raise _Stopped
            return _solve(hull, task)

        solved = list(pool.map(one, hulls, tasks) if pool is not None else map(one, hulls, tasks))
        if any(result is None for result in solved):
            return None
        y = np.zeros(len(base))
        terms = np.zeros(count)
        for position, ((columns, _), result) in enumerate(zip(parts, solved)):
            assert result is not None
            terms[position], y[columns] = result
        limits = np.where(lam > 0, lam * np.where(lam > 0, upper, 0.0), lam * np.where(lam < 0, lower, 0.0))
        value = sense * problem.offset + float(limits.sum()) + float(terms.sum())
        return value, y, terms

    try:
        centre = np.zeros(m)
        box = np.full(m, FIRST_BOX)
        first = evaluate(centre, stoppable=False)
        if first is None:
            return _infeasible(problem, started)
        best, hull, _ = first
        recovered = hull.copy()
        stored: list[tuple[int, IntArray, np.ndarray]] = []  # each cut's account, and its LP solution's nonzeros
        _add_cuts(master, stored, parts, couple, base, hull, count)
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
                recovered = master.recover(stored, len(base))
                break
            predicted = best - model
            if predicted <= tolerance * max(1.0, abs(best)) * 1e-3:  # the box holds no better model point
                box *= 2.0
                continue
            try:
                tried = evaluate(lam)
            except _Stopped:  # the time limit or Ctrl-C in the middle of an iteration: the centre stays
                break
            iterations += 1
            if tried is None:
                return _infeasible(problem, started)
            value, y, _ = tried
            _add_cuts(master, stored, parts, couple, base, y, count)
            if best - value >= SERIOUS * predicted:
                reached = np.abs(lam - centre) >= box * (1 - 1e-9)
                box[reached] *= 2.0
                centre, best, hull = lam, value, y
        if status is not Status.OPTIMAL and master.solve(centre, box) is not None:
            recovered = master.recover(stored, len(base))  # the master again: its duals must cover every cut
        lam_rows = np.zeros(len(problem.row_lower))
        lam_rows[rows] = centre
        return Search(lam_rows, sense * best, sense * proven, hull, recovered, status, iterations,
                      time.perf_counter() - started)
    finally:
        if pool is not None:
            pool.shutdown()


_THREAD_HIGHS = _Highs()


def _solve(hull: _Hull, cost: np.ndarray) -> tuple[float, np.ndarray] | None:
    return hull.solve(cost, _THREAD_HIGHS.get())


def _infeasible(problem: Problem, started: float) -> Search:
    nothing = np.zeros(0)
    return Search(np.zeros(len(problem.row_lower)), float("nan"), float("nan"), nothing, nothing, Status.INFEASIBLE,
                  1, time.perf_counter() - started)


def _add_cuts(master: _Master, stored: list[tuple[int, IntArray, np.ndarray]],
              parts: Sequence[tuple[IntArray, Problem]], couple: _Coupling, base: np.ndarray, y: np.ndarray,
              count: int) -> None:
    """One cut per account from its LP solution `y` (part of every column's): theta_a >= c_a y_a - g_a' lam
    with g_a = A_K y_a. A cut the master already has (the same solution again) is not added twice."""
    gradient = couple.activity(y, count)
    for position, (columns, _) in enumerate(parts):
        values = y[columns]
        intercept = float(base[columns] @ values)
        if master.add(position, intercept, gradient[position]):
            nonzero = np.flatnonzero(values)
            stored.append((position, columns[nonzero], values[nonzero]))


class _Master:
    """The box-step master LP: columns lam (m), s (m), theta (one per account); rows: s_k >= U_k lam_k and
    s_k >= L_k lam_k where finite, then the cuts in the order added."""

    def __init__(self, count: int, upper: np.ndarray, lower: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        m = len(upper)
        self.m, self.count, self.low, self.high = m, count, low, high
        self.highs = new_highs()
        h = self.highs
        inf = highspy.kHighsInf
        columns = 2 * m + count
        h.addVars(columns, np.full(columns, -inf), np.full(columns, inf))
        h.changeColsCost(columns - m, np.arange(m, columns, dtype=np.int32), np.ones(columns - m))
        h.changeObjectiveSense(highspy.ObjSense.kMinimize)
        for k in range(m):
            for limit in (upper[k], lower[k]):
                if np.isfinite(limit):  # s_k - limit lam_k >= 0
                    h.addRow(0.0, inf, 2, np.array([m + k, k], dtype=np.int32), np.array([1.0, -float(limit)]))
        self.first_cut = h.getNumRow()
        self.seen: set[bytes] = set()

    def add(self, position: int, intercept: float, gradient: np.ndarray) -> bool:
        """theta_position + gradient' lam >= intercept, unless the same cut is there already."""
        key = np.array([position, intercept, *gradient]).round(9).tobytes()
        if key in self.seen:
            return False
        self.seen.add(key)
        nonzero = np.flatnonzero(gradient)
        index = np.append(nonzero, 2 * self.m + position).astype(np.int32)
        self.highs.addRow(intercept, highspy.kHighsInf, len(index), index, np.append(gradient[nonzero], 1.0))
        return True

    def solve(self, centre: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, float] | None:
        """The prices minimising the model within the box, and the model's value there."""
        lower = np.maximum(self.low, centre - box)
        upper = np.minimum(self.high, centre + box)
        self.highs.changeColsBounds(self.m, np.arange(self.m, dtype=np.int32), lower, upper)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = self.highs.getSolution()
        return np.array(solution.col_value[: self.m]), float(self.highs.getInfo().objective_function_value)

    def inside(self, lam: np.ndarray, centre: np.ndarray, box: np.ndarray) -> bool:
        """Whether `lam` is off every side of the box that is not also a sign limit of the price."""
        slack = box * 1e-7
        below = (lam <= centre - box + slack) & (centre - box > self.low)
        above = (lam >= centre + box - slack) & (centre + box < self.high)
        return not (below | above).any()

    def recover(self, stored: list[tuple[int, IntArray, np.ndarray]], columns: int) -> np.ndarray:
        """The mix of each account's LP solutions by the master's duals on its cuts (they sum to one)."""
        duals = np.abs(np.array(self.highs.getSolution().row_dual[self.first_cut:]))
        mixed = np.zeros(columns)
        for weight, (_, index, values) in zip(duals.tolist(), stored):
            if weight > 0:
                mixed[index] += weight * values
        return mixed
