"""Off-invoice discount stacking, vectorised over account x product x week.

This is the only implementation of the stacking semantics (docs/rules.md, "Stacking"); the simulator, the
optimizer's candidate pricing and the checker's worst-case price floor all call it.

Symbols: D discounts in application order (priority, then file order); for discount d its block B_d (the cells
its scope and dates cover); `stopped` marks cells where an earlier live discount has `stop: true`.

    live_d     = B_d and not stopped                       (stop-after discards later discounts)
    first_ex   = the first live exclusive discount of a cell (-1 when none)
    kept_d     = live_d and (first_ex = -1 or first_ex = d) (an exclusive discount stands alone)
    kept_d    &= d is the best kept member of its best_of group (value per case at the banded list price)
    price     <- price x (1 - percent_d)  or  max(price - per_case_d, 0), in order, where kept_d
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from planner.compile.index import Cell, Mask, Positions, block

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DiscountTable:
    """Per-case discounts compiled to blocks, already in application order."""

    ids: tuple[str, ...]
    accounts: tuple[Positions | None, ...]
    products: tuple[Positions | None, ...]
    weeks: tuple[slice, ...]
    percent: FloatArray
    per_case: FloatArray
    stacking: tuple[str, ...]
    group: tuple[str, ...]
    stop: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, d: int) -> tuple[Any, ...]:
        return block(self.accounts[d], self.products[d], self.weeks[d])

    def cell(self, d: int, local: tuple[int, int, int]) -> Cell:
        """Global cell of a position inside discount d's block."""
        accounts, products = self.accounts[d], self.products[d]
        return Cell(
            int(local[0] if accounts is None else accounts[local[0]]),
            int(local[1] if products is None else products[local[1]]),
            int(self.weeks[d].start + local[2]),
        )

    def local(self, d: int, cell: Cell) -> tuple[int, int, int] | None:
        """Position of a global cell inside discount d's block, or None when the block does not cover it."""
        accounts, products, weeks = self.accounts[d], self.products[d], self.weeks[d]
        if not weeks.start <= cell.week < weeks.stop:
            return None
        i = _find(accounts, cell.account)
        j = _find(products, cell.product)
        if i is None or j is None:
            return None
        return i, j, cell.week - weeks.start


def _find(positions: Positions | None, value: int) -> int | None:
    if positions is None:
        return value
    at = int(np.searchsorted(positions, value))
    return at if at < len(positions) and positions[at] == value else None


@dataclass
class Stack:
    """The outcome of stacking: invoice price per cell, and what each discount did."""

    invoice: FloatArray
    live: list[Mask] = field(default_factory=list)
    """Per discount, over its block: scope and dates match and no earlier stop rule discarded it."""
    applied: list[Mask] = field(default_factory=list)
    """Per discount, over its block: it changed (or would change) the price."""
    exclusive_clashes: list[tuple[int, int, Cell]] = field(default_factory=list)
    """(first exclusive, second exclusive, an example cell) for exclusives live together."""

    def applied_at(self, table: DiscountTable, cell: Cell) -> list[str]:
        """Ids of the discounts applied at one cell, in application order (for examples and explanations)."""
        out = []
        for d in range(len(table)):
            local = table.local(d, cell)
            if local is not None and self.applied[d][local]:
                out.append(table.ids[d])
        return out


def stack_discounts(band_price: FloatArray, table: DiscountTable, weeks: int) -> Stack:
    """Apply the discounts to the banded list price (accounts x products) for every week."""
    accounts, products = band_price.shape
    shape = (accounts, products, weeks)
    stopped = np.zeros(shape, dtype=bool)
    first_exclusive = np.full(shape, -1, dtype=np.int32)
    result = Stack(invoice=np.repeat(band_price[:, :, None], weeks, axis=2))
    for d in range(len(table)):
        at = table.index(d)
        live = ~stopped[at]
        result.live.append(live)
        if table.stacking[d] == "exclusive":
            taken = first_exclusive[at]
            clash = live & (taken >= 0)
            if clash.any():
                local = tuple(int(i) for i in np.argwhere(clash)[0])
                result.exclusive_clashes.append((int(taken[local]), d, table.cell(d, local)))  # type: ignore[arg-type]
            first_exclusive[at] = np.where(live & (taken < 0), d, taken)
        if table.stop[d]:
            stopped[at] |= live
    kept = [result.live[d] & np.isin(first_exclusive[table.index(d)], (-1, d)) for d in range(len(table))]
    _best_of(band_price, table, kept, shape)
    price = result.invoice
    for d in range(len(table)):
        at = table.index(d)
        if table.percent[d]:
            price[at] = np.where(kept[d], price[at] * (1.0 - table.percent[d]), price[at])
        if table.per_case[d]:
            price[at] = np.where(kept[d], np.maximum(price[at] - table.per_case[d], 0.0), price[at])
    result.applied = kept
    return result


def _best_of(band_price: FloatArray, table: DiscountTable, kept: list[Mask], shape: tuple[int, int, int]) -> None:
    """Within each best_of group keep, per cell, only the member worth most per case at the banded list price."""
    groups: dict[str, list[int]] = {}
    for d in range(len(table)):
        if table.stacking[d] == "best_of":
            groups.setdefault(table.group[d], []).append(d)
    if not groups:
        return
    best_value = np.full(shape, -np.inf)
    best = np.full(shape, -1, dtype=np.int32)
    for members in groups.values():
        for d in members:
            at = table.index(d)
            value = _value_per_case(band_price, table, d)
            better = kept[d] & (value > best_value[at])
            best_value[at] = np.where(better, value, best_value[at])
            best[at] = np.where(better, d, best[at])
        for d in members:
            at = table.index(d)
            kept[d] = kept[d] & (best[at] == d)
        for d in members:  # reset only the touched blocks, so many groups cost no more than their blocks
            at = table.index(d)
            best_value[at] = -np.inf
            best[at] = -1


def _value_per_case(band_price: FloatArray, table: DiscountTable, d: int) -> FloatArray:
    accounts, products = table.accounts[d], table.products[d]
    prices = band_price if accounts is None else band_price[accounts]
    prices = prices if products is None else prices[:, products]
    span = table.weeks[d].stop - table.weeks[d].start
    value = prices * table.percent[d] + table.per_case[d]
    return np.repeat(value[:, :, None], span, axis=2)
