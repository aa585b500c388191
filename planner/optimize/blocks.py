"""The model's arrays cut by account: which account (block) each column and row belongs to, each block as a
problem of its own, and the problem left when some columns are fixed (split.py's accounts, price search and
repair).

Blocks are found from the arrays, not from rule kinds: a column of an option, variant or package belongs to its
account; any other column (a rebate's tier binaries, payout, margin) to the account of the rows it shares with
those (propagated until nothing changes); a row is coupling when its columns lie in more than one block. Each
step groups the rows and columns by block once (a stable sort), so it is linear in the model's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.optimize.matrix import Problem

IntArray = npt.NDArray[np.intp]
COUPLING = -2
"""Block of a row whose columns lie in more than one block."""
TOLERANCE = 1e-6
"""Relative slack on a row's limit when plans are checked against it (solver tolerance): a row of fixed columns
only here, the coupling rows under the accounts' plans together in split.py."""


@dataclass(frozen=True)
class Blocks:
    """Which block (account position; -1: no account) each column and row belongs to."""

    column: IntArray
    row: IntArray
    """The block of each row, or COUPLING."""

    @property
    def coupling(self) -> npt.NDArray[np.bool_]:
        return np.equal(self.row, COUPLING)

    @property
    def count(self) -> int:
        return len(np.unique(self.column))


def blocks(problem: Problem, column_account: IntArray) -> Blocks:
    """Blocks of the model's arrays: `column_account` gives the account of the first columns (options, variants,
    packages); every other column joins the block of the rows it shares with them."""
    n = len(problem.cost)
    row_of = problem.row_of()
    column = np.full(n, -1, dtype=np.intp)
    column[: len(column_account)] = column_account
    while True:
        low, high = _row_range(problem, row_of, column)
        local = (low == high) & (low >= 0)
        take = local[row_of] & (column[problem.index] < 0)
        if not take.any():
            break
        column[problem.index[take]] = low[row_of[take]]
    low, high = _row_range(problem, row_of, column, assigned_only=False)
    return Blocks(column, np.where(low == high, low, COUPLING).astype(np.intp))


def _row_range(problem: Problem, row_of: IntArray, column: IntArray,
               assigned_only: bool = True) -> tuple[IntArray, IntArray]:
    """Least and greatest block among each row's columns (of the assigned columns only, or of all; -1 counts
    as a block of its own). A row without such columns gets (big, -big), never equal."""
    rows = len(problem.row_lower)
    block = column[problem.index]
    chosen = block >= 0 if assigned_only else np.ones(len(block), dtype=bool)
    big = np.iinfo(np.intp).max
    low = np.full(rows, big, dtype=np.intp)
    high = np.full(rows, -big, dtype=np.intp)
    np.minimum.at(low, row_of[chosen], block[chosen])
    np.maximum.at(high, row_of[chosen], block[chosen])
    return low, high


def block_problems(problem: Problem, blocks: Blocks, cost: np.ndarray) -> list[tuple[IntArray, Problem]]:
    """Each block as a problem of its own (maximised, with `cost`): its columns and its rows, largest first.
    Columns and rows are grouped by block once (a stable sort each), so this is linear in the model's size, not
    a scan of every row per block."""
    ends = np.append(problem.starts.astype(np.intp), len(problem.index))
    lengths = np.diff(ends)
    column_order = np.argsort(blocks.column, kind="stable")
    sorted_columns = blocks.column[column_order]
    row_order = np.argsort(blocks.row, kind="stable")
    sorted_rows = blocks.row[row_order]
    names = np.unique(blocks.column)
    column_edges = np.searchsorted(sorted_columns, np.append(names, np.iinfo(np.intp).max), "left")
    row_edges = np.searchsorted(sorted_rows, np.append(names, np.iinfo(np.intp).max), "left")
    local = np.empty(len(problem.cost), dtype=np.intp)
    local[column_order] = np.arange(len(column_order)) - np.repeat(column_edges[:-1], np.diff(column_edges))
    parts = []
    for number in range(len(names)):
        columns = column_order[column_edges[number]:column_edges[number + 1]]
        rows = row_order[row_edges[number]:row_edges[number + 1]]
        sizes = lengths[rows]
        first = np.cumsum(sizes) - sizes
        entries = np.repeat(ends[rows] - first, sizes) + np.arange(int(sizes.sum()))
        parts.append((columns, Problem(
            cost[columns], 0.0, True, problem.column_lower[columns], problem.column_upper[columns],
            problem.row_lower[rows], problem.row_upper[rows], first.astype(np.int32),
            local[problem.index[entries]].astype(np.int32), problem.value[entries], problem.integrality[columns])))
    return sorted(parts, key=lambda part: -len(part[1].value))


def fixing(problem: Problem, fixed: npt.NDArray[np.bool_], at: np.ndarray) -> tuple[Problem, IntArray] | None:
    """`problem` with the columns `fixed` at their values in `at`: the other columns (returned too, in order), the
    rows that hold any of them, their limits less the fixed columns' part, and the fixed columns' worth in the
    objective's constant; so its plans, with the fixed columns added, are the plans of `problem` that keep them
    there, worth the same. None when a row of fixed columns only breaks its limits (no such plan)."""
    rows = len(problem.row_lower)
    row_of = problem.row_of()
    x = np.where(fixed, at, 0.0)
    activity = np.bincount(row_of, weights=problem.value * x[problem.index], minlength=rows)
    free_entry = ~fixed[problem.index]
    holds_free = np.bincount(row_of[free_entry], minlength=rows) > 0
    room = TOLERANCE * np.maximum(1.0, np.abs(activity))
    if (~holds_free & ((activity < problem.row_lower - room) | (activity > problem.row_upper + room))).any():
        return None
    kept = np.flatnonzero(holds_free)
    free = np.flatnonzero(~fixed)
    column = np.full(len(problem.cost), -1, dtype=np.intp)
    column[free] = np.arange(len(free))
    row = np.full(rows, -1, dtype=np.intp)
    row[kept] = np.arange(len(kept))
    entries = np.flatnonzero(free_entry & holds_free[row_of])  # in row order, as A is stored
    starts = np.zeros(len(kept), dtype=np.int32)
    np.cumsum(np.bincount(row[row_of[entries]], minlength=len(kept))[:-1], out=starts[1:])
    return Problem(problem.cost[free], problem.offset + float(problem.cost @ x), problem.maximise,
                   problem.column_lower[free], problem.column_upper[free], problem.row_lower[kept] - activity[kept],
                   problem.row_upper[kept] - activity[kept], starts, column[problem.index[entries]].astype(np.int32),
                   problem.value[entries], problem.integrality[free]), free


def groups(problem: Problem, column_group: IntArray, count: int) -> list[tuple[IntArray, IntArray, Problem]]:
    """`problem` cut into `count` groups of columns (`column_group`: each column's group, 0 to count - 1): each
    group's columns, the rows that hold any of them and the problem of those rows over those columns only (the
    rows' own limits; a row shared with other groups is the caller's to share out). The entries are grouped once
    (a stable sort), so this is linear in the problem's size, however many groups."""
    row_of = problem.row_of()
    entry_group = column_group[problem.index]
    entry_order = np.argsort(entry_group, kind="stable")  # within a group, in row order as A is stored
    entry_edges = np.searchsorted(entry_group[entry_order], np.arange(count + 1), "left")
    column_order = np.argsort(column_group, kind="stable")
    column_edges = np.searchsorted(column_group[column_order], np.arange(count + 1), "left")
    local = np.empty(len(problem.cost), dtype=np.intp)
    local[column_order] = np.arange(len(column_order)) - np.repeat(column_edges[:-1], np.diff(column_edges))
    parts = []
    for group in range(count):
        columns = column_order[column_edges[group]:column_edges[group + 1]]
        entries = entry_order[entry_edges[group]:entry_edges[group + 1]]
        entry_rows = row_of[entries]
        first = np.flatnonzero(np.append(True, entry_rows[1:] != entry_rows[:-1])) if len(entries) else \
            np.zeros(0, dtype=np.intp)
        rows = entry_rows[first]
        parts.append((columns, rows, Problem(
            problem.cost[columns], 0.0, problem.maximise, problem.column_lower[columns],
            problem.column_upper[columns], problem.row_lower[rows], problem.row_upper[rows], first.astype(np.int32),
            local[problem.index[entries]].astype(np.int32), problem.value[entries], problem.integrality[columns])))
    return parts
