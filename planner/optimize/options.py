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

from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from planner.compile.index import FloatArray, PlanIndex
from planner.compile.model import Compiled
from planner.compile.promotions import Promotions, group_products, place
from planner.economics.core import Cells, evaluate
from planner.optimize.investments import Investment, configured, list_investments, slot_count
from planner.optimize.reach import OptionNumbers, Reach, ReachChunk
from planner.rules.schema import Mechanic, RuleSet

IntArray = npt.NDArray[np.intp]
MEASURES = ("gross_profit", "volume", "revenue", "net_sales", "gross_sales", "trade_spend", "budget_spend")
"""What each option changes, per cell, rebates excluded (they depend on period totals)."""
SCOPED = ("volume", "revenue", "budget_spend")
"""Measures kept cell by cell, for sums over a scope of products and weeks (budgets, rebates)."""


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
    """What each option and variant changes cell by cell (SCOPED measures), per column and product reached."""
    batch_options: dict[tuple[int, int, int], IntArray] = field(default_factory=dict)
    """(mechanic, group, batch) -> (A, W) option number of each account x batch week (-1: none)."""
    groups: list[str] = field(default_factory=list)
    investments: list[Investment] = field(default_factory=list)
    written_profit: float = 0.0
    """Gross profit of the no-promotion plan with every investment bought, as the rules write it (the last
    configuration; `base` without investments)."""
    display_net_sales: FloatArray = field(default_factory=lambda: np.zeros(0))
    """(C,) for a display option valued on its own, or a variant of one: the net sales of its group's products at
    its account in its own week, in the no-promotion plan of the vividness it assumes bought, with its own change
    (constraints/display_min_revenue.py states the formula); NaN for every other column."""
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
    def option_of(self) -> OptionNumbers:
        """(account, group position, week, mechanic) -> option number."""
        return OptionNumbers(self.batch_options, self.stride)

    @property
    def columns(self) -> int:
        return len(self.column_option)

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
        """Each column's change of `measure` summed over the cells in `products` x `weeks` only (per column and
        week offset, its products' entries in product order, then the offsets in `weeks`)."""
        out = np.zeros(self.reach.columns)
        live = np.concatenate([weeks, np.zeros(self.stride, dtype=bool)])
        column_week = self.column_week
        for chunk in self.reach.chunks:
            inside = products[chunk.product]
            if not inside.any():
                continue
            rows, cells = chunk.entry[inside], chunk.cells[measure][inside]
            per_offset = np.stack([np.bincount(rows, weights=cells[:, k], minlength=len(chunk.columns))
                                   for k in range(self.stride)], axis=1)
            reached = column_week[chunk.columns, None] + np.arange(self.stride)[None, :]
            out[chunk.columns] = (per_offset * live[reached]).sum(axis=1)
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
class _Batch:
    """One batch of options (a mechanic on a group at every account it may run at, in weeks r, r + stride, ...),
    numbered before anything is valued: its options' columns and its variants' columns."""

    mechanic: Mechanic
    display: bool
    products: npt.NDArray[np.bool_]
    accounts: IntArray
    weeks: IntArray
    """The batch weeks."""
    i: IntArray
    """(n,) each option's row in `accounts` (accounts outer, weeks inner)."""
    j: IntArray
    """(n,) each option's row in `weeks`."""
    numbered: IntArray
    """(n,) option numbers (an option is its own column)."""
    plain: npt.NDArray[np.bool_]
    """(n,) the option carries its own money (no investment matters to it)."""
    needed: list[int]
    """Configurations the batch is valued in (0 first)."""
    variant_of: list[int] = field(default_factory=list)
    """Each variant's option, as its row in `numbered`."""
    variant_bought: list[int] = field(default_factory=list)
    variant_column: list[int] = field(default_factory=list)
    """Each variant's number among the variants (its column is the options' count plus it)."""


def build_options(rules: RuleSet, compiled: Compiled, decide_vividness: bool = True) -> Options:
    """Every option and its money. With `decide_vividness` the vividness investments are decisions (variants and
    packages, above); without, they stay as the rules write them and every option is one column.

    Columns are numbered first (options, then variants, then packages, as `_number` finds them), then valued one
    configuration of the investments at a time: only one configuration's compiled rules and no-promotion plan are
    alive at once besides configuration 0's (`base`), and of the reached cells only each column's own products."""
    index = compiled.index
    stride = dip_horizon(compiled) + 1
    investments = list_investments(rules, compiled) if decide_vividness else []
    count = 2 ** slot_count(investments) if investments else 1
    options, batches = _number(rules, compiled, investments, stride)
    variants = sum(len(b.variant_column) for b in batches)
    packages = _package_columns(investments)
    first_package = len(options) + variants
    columns = first_package + len(packages)
    products, weeks = len(index.products), index.calendar.weeks
    values = {key: np.zeros(columns) for key in MEASURES}
    options.display_net_sales = np.full(columns, np.nan)
    options.package_cells = {key: np.zeros((len(packages), products, weeks)) for key in SCOPED}
    chunks: list[ReachChunk] = []
    offsets = np.arange(stride)
    base_measures: dict[str, FloatArray] = {}
    for c in range(count):
        configuration = compiled if not investments else configured(rules, compiled, investments, c)
        base = evaluate(configuration, Promotions.none(compiled.shape))
        measures = _measures(base)
        if c == 0:
            options.base, base_measures = base, measures
        if c == count - 1:
            options.written_profit = float(base.gross_profit.sum())
        for batch in batches:
            if c in batch.needed:
                totals, cells = _batch(configuration, measures, batch.accounts, batch.products, batch.weeks,
                                       batch.mechanic, offsets, batch.display)
                _valued(options, values, chunks, batch, c, base, totals, cells)
        for k, (account, package) in enumerate(packages):
            if package == c:
                change = {key: measures[key][account] - base_measures[key][account] for key in MEASURES}
                for key in MEASURES:
                    values[key][first_package + k] = float(change[key].sum())
                for key in SCOPED:
                    options.package_cells[key][k] = change[key]
        del configuration, base, measures
    options.value = values
    options.reach = Reach(first_package, products, stride, tuple(chunks))
    return options


def _number(rules: RuleSet, compiled: Compiled, investments: list[Investment],
            stride: int) -> tuple[Options, list[_Batch]]:
    """The options (lines, weeks, mechanics, option numbers) and their variants' and packages' columns, in order,
    and the batches to value them in; nothing valued yet."""
    index = compiled.index
    weeks = index.calendar.weeks
    carried = compiled.demand.baseline > 0
    mechanics = list(rules.mechanics)
    groups = list(rules.product_groups)
    lines: dict[tuple[int, str], int] = {}
    line: list[int] = []
    week: list[int] = []
    mech: list[int] = []
    empty = np.zeros(0, np.intp)
    options = Options([], empty, empty, empty, mechanics, {}, _no_cells(), stride=stride,
                      groups=[g.id for g in groups], investments=investments)
    columns: dict[str, list[IntArray]] = {"option": [], "account": [], "bought": [], "matters": []}
    variant_columns: dict[str, list[int]] = {"option": [], "account": [], "bought": [], "matters": []}
    batches: list[_Batch] = []
    for m, mechanic in enumerate(mechanics):
        live_weeks = np.flatnonzero(index.week_mask(mechanic.valid))
        display = bool(mechanic.display or mechanic.kind == "display")
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
                for a in accounts.tolist():
                    lines.setdefault((a, group.id), len(lines))
                line_of = np.array([lines[(a, group.id)] for a in accounts.tolist()], dtype=np.intp)
                # every account x batch week, accounts outer: option numbers in that order
                i, j = (grid.ravel() for grid in np.meshgrid(np.arange(len(accounts)), np.arange(len(batch_weeks)),
                                                             indexing="ij"))
                at_account, at_week = accounts[i], batch_weeks[j]
                numbered = np.arange(len(line), len(line) + len(i), dtype=np.intp)
                numbers[at_account, at_week] = numbered
                line.extend(line_of[i].tolist())
                week.extend(at_week.tolist())
                mech.extend([m] * len(i))
                relevant = matters[at_account, at_week]
                plain = relevant == 0  # an option with variants carries no money of its own
                for name, values in (("option", numbered), ("account", at_account),
                                     ("bought", np.zeros(len(i), dtype=np.intp)), ("matters", relevant)):
                    columns[name].append(values)
                found = _Batch(mechanic, display, products, accounts, batch_weeks, i, j, numbered, plain, needed)
                for k in np.flatnonzero(~plain).tolist():
                    o, a, mask = int(numbered[k]), int(at_account[k]), int(relevant[k])
                    for sub in submasks(mask):
                        found.variant_of.append(k)
                        found.variant_bought.append(sub)
                        found.variant_column.append(len(variant_columns["option"]))
                        for name, value in (("option", o), ("account", a), ("bought", sub), ("matters", mask)):
                            variant_columns[name].append(value)
                batches.append(found)
    options.lines = list(lines)
    options.line = np.array(line, dtype=np.intp)
    options.week = np.array(week, dtype=np.intp)
    options.mechanic = np.array(mech, dtype=np.intp)
    packages = _package_columns(investments)
    package_columns = {"option": [-1] * len(packages), "account": [a for a, _ in packages],
                       "bought": [p for _, p in packages], "matters": [every for every in _every(investments, packages)]}
    for name in ("option", "account", "bought", "matters"):
        setattr(options, f"column_{name}", np.concatenate([*columns[name],
                                                           np.array(variant_columns[name], dtype=np.intp),
                                                           np.array(package_columns[name], dtype=np.intp)]))
    return options, batches


def _no_cells() -> Cells:
    """A placeholder `base` until configuration 0 is valued: zero-sized cells of the right type."""
    empty = np.zeros((0, 0, 0))
    return Cells(*(empty for _ in fields(Cells)))


def _slots(investments: list[Investment]) -> dict[int, int]:
    """Account -> the slots (bits) of its investments."""
    slots: dict[int, int] = {}
    for investment in investments:
        slots[investment.account] = slots.get(investment.account, 0) | 1 << investment.slot
    return slots


def _package_columns(investments: list[Investment]) -> list[tuple[int, int]]:
    """(account, package) of each package column: one per package of each account with investments, accounts in
    order, packages as `submasks` lists them."""
    return [(account, package) for account, every in sorted(_slots(investments).items())
            for package in submasks(every)]


def _every(investments: list[Investment], packages: list[tuple[int, int]]) -> list[int]:
    slots = _slots(investments)
    return [slots[account] for account, _ in packages]


def _valued(options: Options, values: dict[str, FloatArray], chunks: list[ReachChunk], batch: _Batch,
            configuration: int, base: Cells, totals: dict[str, FloatArray], cells: dict[str, FloatArray]) -> None:
    """Write what the batch's columns valued in `configuration` earn: the options valued on their own (in
    configuration 0) and the variants that assume `configuration` bought."""
    if configuration == 0:
        rows = np.flatnonzero(batch.plain)
        columns = batch.numbered[rows]
    else:
        rows = np.zeros(0, dtype=np.intp)
        columns = rows
    bought = np.array(batch.variant_bought, dtype=np.intp)
    if len(bought):
        mine = bought == configuration
        rows = np.concatenate([rows, np.array(batch.variant_of, dtype=np.intp)[mine]])
        columns = np.concatenate([columns, len(options) + np.array(batch.variant_column, dtype=np.intp)[mine]])
    if not len(rows):
        return
    i, j = batch.i[rows], batch.j[rows]
    for key in MEASURES:
        values[key][columns] = totals[key][i, j]
    reached = {key: cells[key][i, j] for key in SCOPED}  # (n, P, stride)
    changed = np.zeros(reached[SCOPED[0]].shape[:2], dtype=bool)
    for key in SCOPED:
        changed |= (reached[key] != 0).any(axis=2)
    entry, product = np.nonzero(changed)
    if len(entry):
        chunks.append(ReachChunk(columns, entry.astype(np.int32), product.astype(np.int32),
                                 {key: reached[key][entry, product] for key in SCOPED}))
    if batch.display:
        own = np.flatnonzero(batch.products)
        account, week = batch.accounts[i][:, None], batch.weeks[j][:, None]
        rebates, revenue = base.rebates[account, own, week], base.revenue[account, own, week]
        rate = np.divide(rebates, revenue, out=np.zeros(rebates.shape), where=revenue > 0)
        change = cells["net_sales"][i, j][:, own, 0] - rate * reached["revenue"][:, own, 0]
        options.display_net_sales[columns] = base.net_sales[account, own, week].sum(axis=1) + change.sum(axis=1)


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
           batch_weeks: IntArray, mechanic: Mechanic, offsets: IntArray, display: bool) -> Measured:
    """Run the mechanic at every account in every batch week and measure each event's change of every measure:
    its total and, for the SCOPED measures (and net sales for a display mechanic), cell by cell over the weeks it
    reaches."""
    promotions = Promotions.none(compiled.shape)
    place(promotions, accounts, np.flatnonzero(products), batch_weeks, mechanic, compiled.demand.expected_base,
          lifts=compiled.demand.lifts)
    measures = _measures(evaluate(compiled, promotions))
    stride = len(offsets)
    reached = batch_weeks[:, None] + offsets[None, :]
    kept = (*SCOPED, "net_sales") if display else SCOPED
    totals, cells = {}, {}
    for key in MEASURES:
        delta = measures[key] - base[key]
        padded = np.concatenate([delta[accounts], np.zeros(delta[accounts].shape[:2] + (stride,))], axis=2)
        window = padded[:, :, reached]  # (accounts, P, batch weeks, stride)
        totals[key] = window.sum(axis=(1, 3))
        if key in kept:
            cells[key] = window.transpose(0, 2, 1, 3)
    return totals, cells
