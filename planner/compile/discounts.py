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
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from planner.compile.index import Cell, FloatArray, Mask, Positions, block


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

    @cached_property
    def blocks(self) -> tuple[tuple[Any, ...], ...]:
        """Each discount's block as an index with runs of positions as slices (`_block`), made once."""
        return tuple(_block(*parts) for parts in zip(self.accounts, self.products, self.weeks, strict=True))

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
    """Per discount, over its block: scope and dates match and no earlier stop rule discarded it. Read-only (a block
    no stop rule reaches is one broadcast True)."""
    applied: list[Mask] = field(default_factory=list)
    """Per discount, over its block: it changed (or would change) the price. Read-only, as `live`."""
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
    """Apply the discounts to the banded list price (accounts x products) for every week.

    Work grows with the discounts' blocks, not with the whole grid per discount: the stop and exclusivity arrays
    exist only once a stop rule or an exclusive discount has been met (before that every cell of a block is live
    and no exclusive is taken), and each block of the price is gathered and written back once, or discounted in
    place when its accounts and its products are each one run of positions (`_block`)."""
    accounts, products = band_price.shape
    shape = (accounts, products, weeks)
    stopped: Mask | None = None
    stop_plane = np.zeros(shape[:2], dtype=bool)  # account x product pairs a stop rule's block covers
    first_exclusive: npt.NDArray[np.int32] | None = None
    result = Stack(invoice=np.repeat(band_price[:, :, None], weeks, axis=2))
    for d in range(len(table)):
        at = table.blocks[d]
        if stopped is None or not stop_plane[_plane(table, d)].any():  # no stop rule covers any of its cells
            live = np.broadcast_to(np.True_, _block_shape(table, d, shape))  # read-only, no memory per cell
        else:
            live = ~stopped[at]
        result.live.append(live)
        if table.stacking[d] == "exclusive":
            if first_exclusive is None:
                first_exclusive = np.full(shape, -1, dtype=np.int32)
            taken = first_exclusive[at]
            clash = live & (taken >= 0)
            if clash.any():
                local = tuple(int(i) for i in np.argwhere(clash)[0])
                result.exclusive_clashes.append((int(taken[local]), d, table.cell(d, local)))  # type: ignore[arg-type]
            first_exclusive[at] = np.where(live & (taken < 0), d, taken)
        if table.stop[d]:
            if stopped is None:
                stopped = np.zeros(shape, dtype=bool)
            stopped[at] |= live
            stop_plane[_plane(table, d)] = True
    kept = list(result.live)
    if first_exclusive is not None:
        _exclusives_alone(table, kept, first_exclusive)
    at_once = {group.members[-1]: group for group in _best_of(band_price, table, kept, shape)
               if _nothing_between(table, group, shape)}
    in_groups = {d for group in at_once.values() for d in group.members}
    price = result.invoice
    for d in range(len(table)):
        if d in at_once:
            at_once[d].apply(price, table)
            continue
        if d in in_groups or not (table.percent[d] or table.per_case[d]):
            continue
        at = table.blocks[d]
        block = price[at]
        if _everywhere(kept[d]):  # the usual case: in place, without a mask or a temporary block
            if table.percent[d]:
                np.multiply(block, 1.0 - table.percent[d], out=block)
            if table.per_case[d]:
                np.subtract(block, table.per_case[d], out=block)
                np.maximum(block, 0.0, out=block)
        else:
            if table.percent[d]:
                np.multiply(block, 1.0 - table.percent[d], out=block, where=kept[d])
            if table.per_case[d]:
                np.copyto(block, np.maximum(block - table.per_case[d], 0.0), where=kept[d])
        if not _is_view(at):
            price[at] = block
    result.applied = kept
    return result


def _everywhere(mask: Mask) -> bool:
    """A mask known to be all True without reading it: the read-only broadcast `live` of a block no stop rule
    reaches (no exclusive or best_of rule changed it)."""
    if mask.size == 0 or any(stride != 0 for stride in mask.strides):
        return False
    return bool(mask.flat[0])


def _block(accounts: Positions | None, products: Positions | None, weeks: slice) -> tuple[Any, ...]:
    """`block` with every run of consecutive positions as a slice: a block whose accounts and products are each one
    run (a single account, a range of products) is then a view, read and discounted in place without a gather or
    a write-back, and a block with one run on one axis is gathered with a single index array."""
    runs = (_run(accounts), _run(products))
    if isinstance(runs[0], np.ndarray) and isinstance(runs[1], np.ndarray):
        return runs[0][:, None], runs[1][None, :], weeks
    return (slice(None) if runs[0] is None else runs[0], slice(None) if runs[1] is None else runs[1], weeks)


def _is_view(at: tuple[Any, ...]) -> bool:
    """Whether indexing with `at` gives a view (every part a slice), so that writing it back is not needed."""
    return all(isinstance(part, slice) for part in at)


def _run(positions: Positions | None) -> Positions | slice | None:
    """`positions` as a slice when they are consecutive (None stays None: the whole axis)."""
    if positions is None or not len(positions) or positions[-1] - positions[0] + 1 != len(positions):
        return positions
    return slice(int(positions[0]), int(positions[-1]) + 1)


def _plane(table: DiscountTable, d: int) -> tuple[Any, ...]:
    """The account x product pairs of discount d's block, as an index into an (account, product) array."""
    return table.blocks[d][:2]


def _block_shape(table: DiscountTable, d: int, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    accounts, products, weeks = table.accounts[d], table.products[d], table.weeks[d]
    return (shape[0] if accounts is None else len(accounts), shape[1] if products is None else len(products),
            len(range(*weeks.indices(shape[2]))))


def _exclusives_alone(table: DiscountTable, kept: list[Mask], first_exclusive: npt.NDArray[np.int32]) -> None:
    """Keep a discount only where no exclusive discount is live in the cell, unless it is the first one.

    The cells where an exclusive is live are few: they are read from the exclusives' own blocks (not the whole
    grid), and each discount whose block holds some of them is found through their coordinates and loses just
    those cells, instead of reading its whole block."""
    cells = _exclusive_cells(table, first_exclusive)  # in grid order, so sorted by account
    first = first_exclusive[cells]
    exclusive_plane = np.zeros(first_exclusive.shape[:2], dtype=bool)
    exclusive_plane[cells[0], cells[1]] = True
    for d in range(len(table)):
        if not exclusive_plane[_plane(table, d)].any():  # no exclusive is live in any of its cells
            continue
        accounts = _run(table.accounts[d])
        if isinstance(accounts, slice):  # one run of accounts: its cells are one run of `cells` too
            near = slice(*np.searchsorted(cells[0], [accounts.start, accounts.stop]))
            local = [cells[0][near] - accounts.start]
        else:
            near = slice(None)
            local = [_local_positions(accounts, cells[0], first_exclusive.shape[0])]
        local.append(_local_positions(table.products[d], cells[1][near], first_exclusive.shape[1]))
        weeks, week = table.weeks[d], cells[2][near]
        inside = (local[0] >= 0) & (local[1] >= 0) & (week >= weeks.start) & (week < weeks.stop) & (first[near] != d)
        if inside.any():
            alone = np.array(kept[d], dtype=bool)  # a writable copy, also of a broadcast `live`
            alone[local[0][inside], local[1][inside], week[inside] - weeks.start] = False
            kept[d] = alone


def _exclusive_cells(table: DiscountTable, first_exclusive: npt.NDArray[np.int32]) -> tuple[Positions, ...]:
    """The cells where an exclusive discount is live (first_exclusive >= 0), in grid order: only an exclusive's
    block can hold one."""
    shape = first_exclusive.shape
    found = [np.zeros(0, dtype=np.intp)]
    for d in range(len(table)):
        if table.stacking[d] != "exclusive":
            continue
        local = np.nonzero(first_exclusive[table.blocks[d]] >= 0)
        accounts, products = table.accounts[d], table.products[d]
        found.append(np.ravel_multi_index(
            (local[0] if accounts is None else accounts[local[0]], local[1] if products is None else products[local[1]],
             local[2] + table.weeks[d].start), shape))
    return np.unravel_index(np.unique(np.concatenate(found)), shape)


def _local_positions(positions: Positions | None, values: Positions, size: int) -> Positions:
    """Where each of `values` sits in `positions` (-1 where it is not there; None: all of range(size))."""
    if positions is None:
        return values
    at: Positions = np.full(size, -1, dtype=np.intp)
    at[positions] = np.arange(len(positions))
    return at[values]


@dataclass(frozen=True)
class _Winners:
    """A best_of group's grid and, per cell of it, the member kept there (-1: none)."""

    members: list[int]
    accounts: Positions | None
    """The grid's accounts in its own order (None: every account, in order); likewise products."""
    products: Positions | None
    weeks: slice
    layout: _Layout
    best: npt.NDArray[np.int32]

    def apply(self, price: FloatArray, table: DiscountTable) -> None:
        """Every member's discount where it is kept, in one pass over the grid: the members are kept in disjoint
        cells, so each cell sees the same operations, in the same order, as member by member (`_nothing_between`
        makes sure no other discount comes between them there)."""
        at = (*_pairs(self.accounts, self.products), self.weeks)
        block = price[at]
        best = np.ascontiguousarray(self.layout.to_block(self.best))
        won = best >= 0
        np.multiply(block, (1.0 - table.percent)[best], out=block, where=won)
        if table.per_case[self.members].any():
            per_case = table.per_case[best]
            np.copyto(block, np.maximum(block - per_case, 0.0), where=won & (per_case != 0))
        if not _is_view(at):
            price[at] = block


def _nothing_between(table: DiscountTable, group: _Winners, shape: tuple[int, int, int]) -> bool:
    """Whether no other price-changing discount between the group's first and last member touches the group's
    cells: the group can then be applied at its last member's place."""
    members = set(group.members)
    between = [d for d in range(group.members[0] + 1, group.members[-1]) if d not in members
               and (table.percent[d] or table.per_case[d])
               and table.weeks[d].start < group.weeks.stop and group.weeks.start < table.weeks[d].stop]
    if not between:
        return True
    plane = np.zeros(shape[:2], dtype=bool)
    plane[_pairs(group.accounts, group.products)] = True
    return not any(plane[_plane(table, d)].any() for d in between)


def _pairs(accounts: Positions | None, products: Positions | None) -> tuple[Any, Any]:
    """An index of the account x product pairs of `accounts` and `products`, in their order (None: a whole axis)."""
    if accounts is not None and products is not None:
        return accounts[:, None], products[None, :]
    return (slice(None) if accounts is None else accounts, slice(None) if products is None else products)


def _best_of(band_price: FloatArray, table: DiscountTable, kept: list[Mask],
             shape: tuple[int, int, int]) -> list[_Winners]:
    """Within each best_of group keep, per cell, only the member worth most per case at the banded list price.

    Each group works on its own grid, the union of its members' accounts x products x weeks, freshly filled, with
    the members that share a scope next to each other (`_grid_axis`): a member's block is then one run on each
    axis, a view of the grid, not a copy (when the members' scopes are equal or disjoint, as a season's offers on
    its categories are). The grid is laid out weeks first and the wider of accounts and products last, so that
    comparing and copying a member's block runs along long rows, not the few weeks of each account x product."""
    groups: dict[str, list[int]] = {}
    for d in range(len(table)):
        if table.stacking[d] == "best_of":
            groups.setdefault(table.group[d], []).append(d)
    winners = []
    for members in groups.values():
        accounts, account_grid = _grid_axis([table.accounts[d] for d in members])
        products, product_grid = _grid_axis([table.products[d] for d in members])
        account_size = shape[0] if account_grid is None else len(account_grid)
        product_size = shape[1] if product_grid is None else len(product_grid)
        first = min(table.weeks[d].start for d in members)
        last = max(table.weeks[d].stop for d in members)
        width = [0, 0]  # cells the members' blocks span along accounts, along products
        for a, p in zip(accounts, products, strict=True):
            width[0] += account_size if a is None else len(a)
            width[1] += product_size if p is None else len(p)
        layout = _Layout(accounts_last=width[0] >= width[1])
        best_value = np.full(layout.grid(account_size, product_size, last - first), -np.inf)
        best = np.full(best_value.shape, -1, dtype=np.int32)
        local = {d: layout.block(a, p, slice(table.weeks[d].start - first, table.weeks[d].stop - first))
                 for d, a, p in zip(members, accounts, products, strict=True)}
        for d in members:
            at = local[d]
            value = layout.plane(_value_per_case(band_price, table, d))  # the same for every week of the block
            values, bests = best_value[at], best[at]
            better = value > values if _everywhere(kept[d]) else layout.to_grid(kept[d]) & (value > values)
            np.copyto(values, value, where=better)
            np.copyto(bests, d, where=better)
            if not _is_view(at):
                best_value[at], best[at] = values, bests
        for d in members:
            won = np.ascontiguousarray(layout.to_block(best[local[d]] == d))
            kept[d] = won if _everywhere(kept[d]) else kept[d] & won
        winners.append(_Winners(members, account_grid, product_grid, slice(first, last), layout, best))
    return winners


@dataclass(frozen=True)
class _Layout:
    """A best_of grid's axis order: (weeks, products, accounts) when `accounts_last`, else (weeks, accounts,
    products); blocks elsewhere are (accounts, products, weeks)."""

    accounts_last: bool

    def grid(self, accounts: int, products: int, weeks: int) -> tuple[int, int, int]:
        return (weeks, products, accounts) if self.accounts_last else (weeks, accounts, products)

    def block(self, accounts: Positions | None, products: Positions | None, weeks: slice) -> tuple[Any, ...]:
        pair = _block(products, accounts, weeks)[:2] if self.accounts_last else _block(accounts, products, weeks)[:2]
        return (weeks, *pair)

    def plane(self, values: FloatArray) -> FloatArray:
        """An (accounts, products) plane broadcast over the grid's weeks."""
        return (values.T if self.accounts_last else values)[None, :, :]

    def to_grid(self, mask: Mask) -> Mask:
        return mask.transpose(2, 1, 0) if self.accounts_last else mask.transpose(2, 0, 1)

    def to_block(self, cells: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return cells.transpose(2, 1, 0) if self.accounts_last else cells.transpose(1, 2, 0)


def _union(parts: list[Positions | None]) -> Positions | None:
    """The positions any of `parts` covers (None: all of them)."""
    if any(part is None for part in parts):
        return None
    first = parts[0]
    assert first is not None
    if all(part is first or np.array_equal(part, first) for part in parts):  # type: ignore[arg-type]
        return first
    return np.unique(np.concatenate(parts))  # type: ignore[arg-type]


def _grid_axis(parts: list[Positions | None]) -> tuple[list[Positions | None], Positions | None]:
    """One axis of a best_of group's grid: each member's positions on it (None: all of it), and the grid's
    positions on the whole axis, in the grid's order (None: the whole axis, in order).

    The grid holds the positions any member covers, ordered by the first distinct scope (in member order) that
    holds them, then by position: members with the same scope are then one run of the grid, kept in ascending
    position (the order of the member's own block), and so are disjoint scopes. Overlapping scopes still work:
    a member that is not one run gets index positions."""
    union = _union(parts)
    if union is None:
        return parts, None
    first_scope = np.full(len(union), len(parts), dtype=np.intp)
    scopes: dict[bytes, Positions] = {}
    for part in parts:
        assert part is not None
        scopes.setdefault(part.tobytes(), part)
    for k, part in enumerate(scopes.values()):
        at = np.searchsorted(union, part)
        first_scope[at] = np.minimum(first_scope[at], k)
    order = np.lexsort((union, first_scope))
    rank = np.empty(len(union), dtype=np.intp)
    rank[order] = np.arange(len(union))
    whole = np.arange(len(union))
    out: list[Positions | None] = []
    for part in parts:
        assert part is not None
        local = rank[np.searchsorted(union, part)]
        out.append(None if len(local) == len(union) and np.array_equal(local, whole) else local)
    return out, union[order]


def _value_per_case(band_price: FloatArray, table: DiscountTable, d: int) -> FloatArray:
    prices = band_price[_plane(table, d)]  # one gather of the block's pairs, not a copy of whole rows first
    return prices * table.percent[d] + table.per_case[d]  # type: ignore[no-any-return]
