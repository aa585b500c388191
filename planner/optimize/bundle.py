"""The bundle method's side of the price search (prices.py): the cuts the accounts' LP solutions give, summed by
group of consecutive accounts, and the box-step master LP over them.

Each account's LP at the prices lam gives a cut theta_a >= c_a y_a - (A_K y_a)' lam (`Solved`). `Cuts` keeps each
account's distinct solutions once and sums them into one cut per group per iteration; its `recover` mixes the
solutions by the master's duals into an approximate LP-relaxation plan. `Master` is the LP

    minimise  sum_k s_k + sum_g theta_g   s.t. the cuts, s_k >= U_k lam_k, s_k >= L_k lam_k,
              |lam_k - centre_k| <= box_k

whose optimum gives the next prices to try (prices.py's docstring has the method).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from planner.optimize.highs import new_highs

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Solved:
    """An account's LP under the prices: its term of L, its solution, and its cut's intercept and gradient."""

    term: float
    """max (c - A_K' lam)_a y_a over the account's hull."""
    values: np.ndarray
    """y_a, the account's columns' values."""
    intercept: float
    """c_a y_a."""
    gradient: np.ndarray
    """A_K y_a: the account's activity on each coupling row."""



class Cuts:
    """The cuts the master has, by group of accounts. Each account's distinct LP solutions are kept once (their
    nonzeros, for the recovery; a solution whose cut the account gave before is that one); a group's cut at an
    iteration is the sum of its accounts' cuts, theta_g >= sum_a (c_a y_a - g_a' lam), added unless the group
    gave the same cut before (every account's solution one it gave together before)."""

    def __init__(self, columns: Sequence[IntArray], groups: int) -> None:
        count = len(columns)
        self.columns = columns
        self.groups = groups
        self.edges = np.arange(groups + 1) * count // groups
        """Group g is the accounts edges[g] to edges[g + 1] - 1."""
        self.known: list[dict[bytes, int]] = [{} for _ in range(count)]
        """Per account: its cut (rounded) -> the number of the solution that first gave it."""
        self.solutions: list[list[tuple[IntArray, np.ndarray]]] = [[] for _ in range(count)]
        """Per account: its distinct LP solutions' nonzeros (its columns in the model, their values)."""
        self.cut: list[list[tuple[float, np.ndarray]]] = [[] for _ in range(count)]
        """Per account: each distinct solution's cut (intercept c_a y_a, gradient A_K y_a)."""
        self.given: set[bytes] = set()
        self.rows: list[tuple[int, IntArray]] = []
        """Each cut row of the master in order: its group and which solution of each of the group's accounts."""

    def add(self, solved: list[Solved]) -> tuple[IntArray, np.ndarray, np.ndarray]:
        """The new group cuts of an iteration's accounts' LPs: (their groups, intercepts, gradients), in group order."""
        chosen = np.empty(len(solved), dtype=np.intp)
        for position, account in enumerate(solved):
            key = np.array([account.intercept, *account.gradient]).round(9).tobytes()
            number = self.known[position].get(key)
            if number is None:
                number = self.known[position][key] = len(self.solutions[position])
                nonzero = np.flatnonzero(account.values)
                self.solutions[position].append((self.columns[position][nonzero], account.values[nonzero]))
                self.cut[position].append((account.intercept, account.gradient))
            chosen[position] = number
        new: list[int] = []
        for group, (first, last) in enumerate(itertools.pairwise(self.edges.tolist())):
            key = np.append(group, chosen[first:last]).tobytes()
            if key not in self.given:
                self.given.add(key)
                self.rows.append((group, chosen[first:last]))
                new.append(group)
        intercepts = np.zeros(len(new))
        gradients = np.zeros((len(new), len(solved[0].gradient) if solved else 0))
        for row, group in enumerate(new):
            for position in range(self.edges[group], self.edges[group + 1]):
                intercept, gradient = self.cut[position][chosen[position]]
                intercepts[row] += intercept
                gradients[row] += gradient
        return np.array(new, dtype=np.intp), intercepts, gradients

    def recover(self, weights: np.ndarray, columns: int) -> np.ndarray:
        """The mix of each account's LP solutions by the master's duals on its group's cuts (they sum to one)."""
        mixed = np.zeros(columns)
        for weight, (group, chosen) in zip(weights.tolist(), self.rows):
            if weight > 0:
                for position, number in zip(range(self.edges[group], self.edges[group + 1]), chosen.tolist()):
                    index, values = self.solutions[position][number]
                    mixed[index] += weight * values
        return mixed


class Master:
    """The box-step master LP: columns lam (m), s (m), theta (one per group of accounts); rows: s_k >= U_k lam_k
    and s_k >= L_k lam_k where finite, then the cuts in the order added."""

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
        self.seconds = 0.0
        """Wall seconds in its solves so far."""

    def add(self, groups: IntArray, intercepts: np.ndarray, gradients: np.ndarray) -> None:
        """theta_group + gradient' lam >= intercept for each, in one call: the gradients' nonzeros, then theta."""
        if not len(groups):
            return
        rows, columns = np.nonzero(gradients)  # row by row, each row's columns in order
        ends = np.cumsum(np.bincount(rows, minlength=len(groups)) + 1)  # each row's entries end with its theta
        index = np.empty(int(ends[-1]), dtype=np.int32)
        value = np.empty(len(index))
        at = np.arange(len(rows)) + rows  # the rows before row r each have one entry more: their theta
        index[at], value[at] = columns, gradients[rows, columns]
        index[ends - 1], value[ends - 1] = 2 * self.m + groups, 1.0
        starts = np.concatenate(([0], ends[:-1]))
        self.highs.addRows(len(groups), intercepts, np.full(len(groups), highspy.kHighsInf), len(index),
                           starts.astype(np.int32), index, value)

    def solve(self, centre: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, float] | None:
        """The prices minimising the model within the box, and the model's value there."""
        lower = np.maximum(self.low, centre - box)
        upper = np.minimum(self.high, centre + box)
        self.highs.changeColsBounds(self.m, np.arange(self.m, dtype=np.int32), lower, upper)
        started = time.perf_counter()
        self.highs.run()
        self.seconds += time.perf_counter() - started
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = self.highs.getSolution()
        return np.array(solution.col_value[: self.m]), float(self.highs.getObjectiveValue())

    def inside(self, lam: np.ndarray, centre: np.ndarray, box: np.ndarray) -> bool:
        """Whether `lam` is off every side of the box that is not also a sign limit of the price."""
        slack = box * 1e-7
        below = (lam <= centre - box + slack) & (centre - box > self.low)
        above = (lam >= centre + box - slack) & (centre + box < self.high)
        return not (below | above).any()

    def weights(self) -> np.ndarray:
        """The master's duals on the cuts, in the order added: per group, weights summing to one."""
        duals: np.ndarray = np.abs(np.array(self.highs.getSolution().row_dual[self.first_cut:]))
        return duals
