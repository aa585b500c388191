"""Where each option reaches: what an option or variant changes cell by cell (Reach), and the look-up from an
option's key to its number (OptionNumbers). Options are valued in planner.optimize.options."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.compile.index import FloatArray

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class ReachChunk:
    """What some columns change cell by cell, one entry per column and product it changes: the products where
    every measure of options.SCOPED of the column is zero at every week it reaches are not kept."""

    columns: IntArray
    """(n,) column numbers."""
    entry: npt.NDArray[np.int32]
    """(E,) the row in `columns` of each entry; a column's entries are consecutive, by product."""
    product: npt.NDArray[np.int32]
    """(E,) product position of each entry."""
    cells: dict[str, FloatArray]
    """options.SCOPED measure -> (E, stride) change at the column's account, the entry's product, week t + k."""

    def nbytes(self) -> int:
        return self.columns.nbytes + self.entry.nbytes + self.product.nbytes + sum(c.nbytes for c in self.cells.values())


@dataclass(frozen=True)
class Reach:
    """What each option and variant changes cell by cell (options.SCOPED measures), as entries per column and product.

    A column reaches only its group's products and their category siblings that its account carries (13 of 100
    products on average in bench_review's world): kept densely over the products of a whole batch (every account)
    most entries were zeros, 10.5 MB per account at 100 products."""

    columns: int
    products: int
    stride: int
    chunks: tuple[ReachChunk, ...] = ()

    def cells(self, measure: str, column: int) -> FloatArray:
        """(P, stride) the column's change of `measure` at every product (zero where it has no entry)."""
        out = np.zeros((self.products, self.stride))
        for chunk in self.chunks:
            rows = np.flatnonzero(chunk.columns == column)
            if len(rows):
                at = chunk.entry == rows[0]
                out[chunk.product[at]] = chunk.cells[measure][at]
                break
        return out

    def nbytes(self) -> int:
        return sum(chunk.nbytes() for chunk in self.chunks)


class OptionNumbers:
    """(account, group position, week, mechanic) -> option number, read from `Options.batch_options` (a dict of
    every option's key cost about 200 bytes per option)."""

    def __init__(self, batch_options: dict[tuple[int, int, int], IntArray], stride: int) -> None:
        self.batch_options = batch_options
        self.stride = stride

    def get(self, key: tuple[int, int, int, int]) -> int | None:
        account, group, week, mechanic = key
        numbers = self.batch_options.get((mechanic, group, week % self.stride))
        if numbers is None or not (0 <= account < numbers.shape[0] and 0 <= week < numbers.shape[1]):
            return None
        number = int(numbers[account, week])
        return None if number < 0 else number

    def __getitem__(self, key: tuple[int, int, int, int]) -> int:
        number = self.get(key)
        if number is None:
            raise KeyError(key)
        return number
