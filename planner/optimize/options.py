"""The optimizer's options and what each one earns, computed by the simulator's own economics core.

An *option* is one mechanic for one line (account x product group) in one week. Its value is measured, not
re-derived: the core (`economics.core.evaluate`) is run on batches of events that cannot touch each other's cells,
and every cell's change against the no-promotion plan is attributed to the one event that caused it.

Why that is exact: with rebates set aside, every effect of a promotion in the core is linear in the calendar
(own volume, the post-promotion dip in the following weeks, cannibalization of siblings in the same week, funding
on the event's promoted volume, fixed costs). A batch holds one product group and mechanic, at every account, in
weeks r, r + K, r + 2K, ... with K longer than the longest dip: no two events of a batch reach the same cell, so
the change of a cell belongs to the event at the same account in the latest batch week at or before it. The
values of any calendar therefore add up to the core's evaluation of that calendar, apart from rebates (modelled
with exact tier binaries in `constraints/rebates.py`) and the clamp of volume at zero.

Vividness investments (planner/optimize/investments.py) change what an option earns when they touch its cells
(its products and their category siblings, in its week and its dip weeks). Such an option's value is measured
once per state of the investments that matter to it: one *variant* column per subset T of them, valued in the
configuration that buys T. The model runs exactly one variant, the one matching the account's package
(constraints/vividness.py). Each account's packages are columns too: what buying them changes in the
no-promotion plan.

*Columns* are what carries money in the model: options (their x_o; value 0 when they have variants), variants
and packages, in that order. `value`, `scoped` and the `column_*` arrays are per column.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from planner.compile.index import PlanIndex
from planner.compile.model import Compiled
from planner.compile.promotions import Promotions, group_products, place
from planner.economics.core import Cells, evaluate
from planner.economics.discounts import FloatArray
from planner.optimize.investments import Investment, configured, list_investments, slot_count
from planner.rules.schema import Mechanic, RuleSet

IntArray = npt.NDArray[np.intp]
MEASURES = ("gross_profit", "volume", "revenue", "net_sales", "gross_sales", "trade_spend", "budget_spend")
"""What each option changes, per cell, rebates excluded (they depend on period totals)."""
SCOPED = ("volume", "revenue", "net_sales", "budget_spend")
"""Measures kept cell by cell, for sums over a scope of products and weeks (budgets, rebates, display weeks)."""


@dataclass(frozen=True)
class ReachBlock:
    """Columns that reach the same products (a group's products and their category siblings), with what each
    changes there: the other products' cells are zero for every column of the block and are not kept."""

    columns: IntArray
    """(n,) column numbers, ascending."""
    products: IntArray
    """(p,) product positions, ascending."""
    cells: dict[str, FloatArray]
    """SCOPED measure -> (n, p, stride) change at the column's account, product, week t + k."""


@dataclass(frozen=True)
class Reach:
    """What each option and variant changes cell by cell (SCOPED measures), in blocks by the products reached.

    A column reaches only its group's products and their category siblings (13 of 100 products on average in
    bench_review's world), so a dense (columns, products, stride) array was mostly zeros: 18 MB per account at
    100 products, kept twice while its chunks were joined."""

    columns: int
    products: int
    stride: int
    blocks: tuple[ReachBlock, ...] = ()

    def cells(self, measure: str, column: int) -> FloatArray:
        """(P, stride) the column's change of `measure` at every product (zero outside its block)."""
        out = np.zeros((self.products, self.stride))
        for block in self.blocks:
            row = np.searchsorted(block.columns, column)
            if row < len(block.columns) and block.columns[row] == column:
                out[block.products] = block.cells[measure][row]
                break
        return out

    def nbytes(self) -> int:
        return sum(b.columns.nbytes + b.products.nbytes + sum(c.nbytes for c in b.cells.values())
                   for b in self.blocks)


@dataclass
class Options:
    """Every option, as flat arrays (one entry per option), the columns that carry their money, and the
    no-promotion starting point."""

    lines: list[tuple[int, str]]
    """(account position, product group id) per line."""
    line: IntArray
    week: IntArray
    """0-based week."""
    mechanic: IntArray
    """Position in `mechanics`."""
    mechanics: list[Mechanic]
    value: dict[str, FloatArray]
    """Measure -> change per column (MEASURES), rebates excluded."""
    base: Cells
    """The no-promotion plan with no investment bought, evaluated by the core."""
    stride: int = 1
    """Weeks an option reaches: its own and the longest dip after it."""
    reach: Reach = field(default_factory=lambda: Reach(0, 0, 1))
    """What each option and variant changes cell by cell (SCOPED measures), in blocks by the products reached."""
    option_of: dict[tuple[int, int, int, int], int] = field(default_factory=dict)
    """(account, group position, week, mechanic) -> option number."""
    batch_options: dict[tuple[int, int, int], IntArray] = field(default_factory=dict)
    """(mechanic, group, batch) -> (A, W) option number of each account x batch week (-1: none)."""
    groups: list[str] = field(default_factory=list)
    investments: list[Investment] = field(default_factory=list)
    bases: list[Cells] = field(default_factory=list)
    """The no-promotion plan in each configuration (configuration 0 is `base`)."""
    column_option: IntArray = field(default_factory=lambda: np.zeros(0, np.intp))
    """(C,) the option a column runs (-1: a package)."""
    column_account: IntArray = field(default_factory=lambda: np.zeros(0, np.intp))
    column_bought: IntArray = field(default_factory=lambda: np.zeros(0, np.intp))
    """(C,) slots (bits) of the column's account it assumes bought: its configuration."""
    column_matters: IntArray = field(default_factory=lambda: np.zeros(0, np.intp))
    """(C,) slots whose state matters to the column (0 for an option without variants)."""
    package_cells: dict[str, FloatArray] = field(default_factory=dict)
    """SCOPED measure -> (packages, P, W) what each package changes at its account."""

    def __len__(self) -> int:
        return len(self.line)

    @property
    def columns(self) -> int:
        return len(self.column_option)

    @property
    def as_written(self) -> Cells:
        """The no-promotion plan with every investment bought, as the rules write it (the last configuration)."""
        return self.bases[-1] if self.bases else self.base

    @property
    def packages(self) -> IntArray:
        """Column numbers of the packages (the last columns)."""
        return np.flatnonzero(self.column_option < 0)

    @property
    def variants(self) -> IntArray:
        """Column numbers of the variants (after the options, before the packages)."""
        return np.arange(len(self), self.columns - len(self.packages))

    @property
    def column_line(self) -> IntArray:
        """(C,) line of each column; a package gets a line of its own per account (one package per account)."""
        safe = np.maximum(self.column_option, 0)
        return np.where(self.column_option >= 0, self.line[safe] if len(self) else 0,
                        len(self.lines) + self.column_account)

    @property
    def column_week(self) -> IntArray:
        safe = np.maximum(self.column_option, 0)
        return np.where(self.column_option >= 0, self.week[safe] if len(self) else 0, 0)

    def scoped(self, measure: str, products: npt.NDArray[np.bool_], weeks: npt.NDArray[np.bool_]) -> FloatArray:
        """Each column's change of `measure` summed over the cells in `products` x `weeks` only."""
        out = np.zeros(self.reach.columns)
        live = np.concatenate([weeks, np.zeros(self.stride, dtype=bool)])
        column_week = self.column_week
        for block in self.reach.blocks:
            inside = products[block.products]
            if not inside.any():
                continue
            per_offset = block.cells[measure][:, inside, :].sum(axis=1)
            reached = column_week[block.columns, None] + np.arange(self.stride)[None, :]
            out[block.columns] = (per_offset * live[reached]).sum(axis=1)
        packages = self.package_cells[measure][:, products][:, :, weeks].sum(axis=(1, 2))
        return np.concatenate([out, packages])


def dip_horizon(compiled: Compiled) -> int:
    return int(compiled.demand.dip_weeks.max(initial=0)) if compiled.demand.post_promo_dip.any() else 0


def _measures(cells: Cells) -> dict[str, FloatArray]:
    return {
        "gross_profit": cells.gross_profit + cells.rebates,
        "volume": cells.volume,
        "revenue": cells.revenue,
        "net_sales": cells.net_sales + cells.rebates,
        "gross_sales": cells.gross_sales,
        "trade_spend": cells.trade_spend - cells.rebates,
        "budget_spend": cells.budget_spend,
    }


def allowed_accounts(mechanic: Mechanic, products: npt.NDArray[np.bool_], index: PlanIndex,
                     carried: npt.NDArray[np.bool_]) -> IntArray:
    """Accounts where the mechanic may run on this group: in its scope, and selling some product of the group."""
    in_scope = index.account_mask(mechanic.applies_to)
    overlaps = (index.product_mask(mechanic.applies_to) & products).any()
    return np.flatnonzero(in_scope & (carried[:, products].any(axis=1)) & overlaps)


def submasks(mask: int) -> list[int]:
    """Every subset of the bits of `mask`, 0 first."""
    out, sub = [], mask
    while True:
        out.append(sub)
        if sub == 0:
            return sorted(out)
        sub = (sub - 1) & mask


@dataclass
class _Columns:
    """Columns as they are found, in chunks of arrays: money per column, and the cells they reach."""

    option: list[IntArray] = field(default_factory=list)
    account: list[IntArray] = field(default_factory=list)
    bought: list[IntArray] = field(default_factory=list)
    matters: list[IntArray] = field(default_factory=list)
    values: dict[str, list[FloatArray]] = field(default_factory=lambda: {key: [] for key in MEASURES})
    reach: dict[str, list[FloatArray]] = field(default_factory=lambda: {key: [] for key in SCOPED})
    """Dense (columns, P, W) chunks: the packages' changes (`reached` holds the options' and variants')."""
    reached: dict[bytes, tuple[IntArray, list[IntArray], dict[str, list[FloatArray]]]] = field(default_factory=dict)
    """Products key -> (products, column numbers in chunks, measure -> (n, p, stride) chunks)."""
    count: int = 0
    sparse: bool = True

    def add_many(self, option: IntArray, account: IntArray, bought: IntArray, matters: IntArray,
                 values: dict[str, FloatArray], reach: dict[str, FloatArray]) -> None:
        """Columns in order: per measure one value each, and (columns, P, stride) reached cells (kept only at the
        products some column of the chunk changes, unless the collection is not `sparse`: packages)."""
        self.option.append(option)
        self.account.append(account)
        self.bought.append(bought)
        self.matters.append(matters)
        for key in MEASURES:
            self.values[key].append(np.asarray(values[key], dtype=float))
        numbers = np.arange(self.count, self.count + len(option), dtype=np.intp)
        self.count += len(option)
        if not self.sparse:
            for key in SCOPED:
                self.reach[key].append(reach[key])
            return
        changed = np.zeros(reach[SCOPED[0]].shape[1], dtype=bool)
        for key in SCOPED:
            changed |= (reach[key] != 0).any(axis=(0, 2))
        products = np.flatnonzero(changed)
        if not len(products):
            return
        _, columns, cells = self.reached.setdefault(products.tobytes(), (products, [], {key: [] for key in SCOPED}))
        columns.append(numbers)
        for key in SCOPED:
            cells[key].append(reach[key][:, products, :])

    def blocks(self, first: int) -> list[ReachBlock]:
        """The reached cells as blocks, column numbers counted from `first`."""
        return [ReachBlock(np.concatenate(columns) + first, products,
                           {key: np.concatenate(cells[key]) for key in SCOPED})
                for products, columns, cells in self.reached.values()]

    def add(self, option: int, account: int, bought: int, matters: int, values: dict[str, float],
            reach: dict[str, FloatArray]) -> None:
        one = np.ones(1, dtype=np.intp)
        self.add_many(option * one, account * one, bought * one, matters * one,
                      {key: np.array([values[key]]) for key in MEASURES}, {key: reach[key][None] for key in SCOPED})

    def column(self, name: str) -> IntArray:
        chunks: list[IntArray] = getattr(self, name)
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.intp)

    def value(self, key: str) -> FloatArray:
        return np.concatenate(self.values[key]) if self.values[key] else np.zeros(0)


def build_options(rules: RuleSet, compiled: Compiled, decide_vividness: bool = True) -> Options:
    """Every option and its money. With `decide_vividness` the vividness investments are decisions (variants and
    packages, above); without, they stay as the rules write them and every option is one column."""
    index = compiled.index
    weeks = index.calendar.weeks
    stride = dip_horizon(compiled) + 1
    investments = list_investments(rules, compiled) if decide_vividness else []
    configurations = [compiled] if not investments else \
        [configured(rules, compiled, investments, c) for c in range(2 ** slot_count(investments))]
    bases = [evaluate(c, Promotions.none(compiled.shape)) for c in configurations]
    base_measures = [_measures(b) for b in bases]
    carried = compiled.demand.baseline > 0
    mechanics = list(rules.mechanics)
    groups = list(rules.product_groups)
    lines: dict[tuple[int, str], int] = {}
    line: list[int] = []
    week: list[int] = []
    mech: list[int] = []
    options = Options([], np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.intp), mechanics, {}, bases[0],
                      stride=stride, groups=[g.id for g in groups], investments=investments, bases=bases)
    plain, variants = _Columns(), _Columns()
    offsets = np.arange(stride)
    for m, mechanic in enumerate(mechanics):
        live_weeks = np.flatnonzero(index.week_mask(mechanic.valid))
        for g, group in enumerate(groups):
            products = group_products(group, index)
            accounts = allowed_accounts(mechanic, products, index, carried)
            if not len(accounts) or not len(live_weeks):
                continue
            matters = _matters(investments, compiled, products, stride)
            for batch in range(stride):
                batch_weeks = live_weeks[live_weeks % stride == batch]
                if not len(batch_weeks):
                    continue
                numbers = np.full((len(index.accounts), weeks), -1, dtype=np.intp)
                options.batch_options[(m, g, batch)] = numbers
                needed = sorted({sub for mask in np.unique(matters[np.ix_(accounts, batch_weeks)]).tolist()
                                 for sub in submasks(int(mask))})
                measured = {c: _batch(configurations[c], base_measures[c], accounts, products, batch_weeks, mechanic,
                                      offsets) for c in needed}
                for a in accounts.tolist():
                    lines.setdefault((a, group.id), len(lines))
                line_of = np.array([lines[(a, group.id)] for a in accounts.tolist()], dtype=np.intp)
                # every account x batch week, accounts outer: option numbers in that order
                i, j = (grid.ravel() for grid in np.meshgrid(np.arange(len(accounts)), np.arange(len(batch_weeks)),
                                                             indexing="ij"))
                at_account, at_week = accounts[i], batch_weeks[j]
                numbered = np.arange(len(line), len(line) + len(i), dtype=np.intp)
                numbers[at_account, at_week] = numbered
                options.option_of.update(zip(zip(at_account.tolist(), itertools.repeat(g), at_week.tolist(),
                                                 itertools.repeat(m)), numbered.tolist()))
                line.extend(line_of[i].tolist())
                week.extend(at_week.tolist())
                mech.extend([m] * len(i))
                relevant = matters[at_account, at_week]
                plain_here = relevant == 0  # an option with variants carries no money of its own
                totals, cells = measured[0]  # 0 is a submask of every mask: always measured
                plain.add_many(numbered, at_account, np.zeros(len(i), dtype=np.intp), relevant,
                               {key: np.where(plain_here, totals[key][i, j], 0.0) for key in MEASURES},
                               {key: np.where(plain_here[:, None, None], cells[key][i, j], 0.0) for key in SCOPED})
                for k in np.flatnonzero(~plain_here).tolist():
                    o, a, mask = int(numbered[k]), int(at_account[k]), int(relevant[k])
                    for sub in submasks(mask):
                        variants.add(o, a, sub, mask, *_at(measured[sub], int(i[k]), int(j[k])))
    options.lines = list(lines)
    options.line = np.array(line, dtype=np.intp)
    options.week = np.array(week, dtype=np.intp)
    options.mechanic = np.array(mech, dtype=np.intp)
    packages = _packages(investments, base_measures)
    options.column_option = np.concatenate([plain.column("option"), variants.column("option"),
                                            np.full(len(packages.column("option")), -1, dtype=np.intp)])
    for name in ("account", "bought", "matters"):
        setattr(options, f"column_{name}", np.concatenate([plain.column(name), variants.column(name),
                                                           packages.column(name)]))
    options.value = {key: np.concatenate([plain.value(key), variants.value(key), packages.value(key)])
                     for key in MEASURES}
    options.reach = Reach(plain.count + variants.count, len(index.products), stride,
                          tuple(plain.blocks(0) + variants.blocks(plain.count)))
    options.package_cells = {key: np.concatenate(packages.reach[key]) if packages.reach[key] else
                             np.zeros((0, len(index.products), weeks)) for key in SCOPED}
    return options


def _matters(investments: list[Investment], compiled: Compiled, products: npt.NDArray[np.bool_],
             stride: int) -> IntArray:
    """(A, W) the slots of the investments that touch what an option of this group in week t reaches: the group's
    products and their category siblings (cannibalization), in weeks t .. t + stride - 1 (the dip)."""
    accounts, _, weeks = compiled.shape
    out = np.zeros((accounts, weeks), dtype=np.intp)
    siblings = np.isin(compiled.category, compiled.category[products])
    for investment in investments:
        hit = np.concatenate([investment.touches[siblings].any(axis=0), np.zeros(stride, dtype=bool)])
        window = np.lib.stride_tricks.sliding_window_view(hit, stride)[:weeks].any(axis=1)
        out[investment.account] |= window.astype(np.intp) << investment.slot
    return out


Measured = tuple[dict[str, FloatArray], dict[str, FloatArray]]
"""Per measure: (accounts, batch weeks) totals, and (accounts, batch weeks, P, stride) reached cells."""


def _batch(compiled: Compiled, base: dict[str, FloatArray], accounts: IntArray, products: npt.NDArray[np.bool_],
           batch_weeks: IntArray, mechanic: Mechanic, offsets: IntArray) -> Measured:
    """Run the mechanic at every account in every batch week and measure each event's change of every measure:
    its total and, for the SCOPED measures, cell by cell over the weeks it reaches."""
    promotions = Promotions.none(compiled.shape)
    place(promotions, accounts, np.flatnonzero(products), batch_weeks, mechanic, compiled.demand.expected_base,
          lifts=compiled.demand.lifts)
    measures = _measures(evaluate(compiled, promotions))
    stride = len(offsets)
    reached = batch_weeks[:, None] + offsets[None, :]
    totals, cells = {}, {}
    for key in MEASURES:
        delta = measures[key] - base[key]
        padded = np.concatenate([delta[accounts], np.zeros(delta[accounts].shape[:2] + (stride,))], axis=2)
        window = padded[:, :, reached]  # (accounts, P, batch weeks, stride)
        totals[key] = window.sum(axis=(1, 3))
        if key in SCOPED:
            cells[key] = window.transpose(0, 2, 1, 3)
    return totals, cells


def _at(measured: Measured, i: int, j: int) -> tuple[dict[str, float], dict[str, FloatArray]]:
    totals, cells = measured
    return {key: float(totals[key][i, j]) for key in MEASURES}, {key: cells[key][i, j] for key in SCOPED}


def _packages(investments: list[Investment], base: list[dict[str, FloatArray]]) -> _Columns:
    """One column per package of each account with investments: what buying it changes in the no-promotion plan
    (configuration S buys package S at every account)."""
    out = _Columns(sparse=False)
    slots: dict[int, int] = {}
    for investment in investments:
        slots[investment.account] = slots.get(investment.account, 0) | 1 << investment.slot
    for account, every in sorted(slots.items()):
        for package in submasks(every):
            change = {key: base[package][key][account] - base[0][key][account] for key in MEASURES}
            out.add(-1, account, package, every, {key: float(change[key].sum()) for key in MEASURES},
                    {key: change[key] for key in SCOPED})
    return out
