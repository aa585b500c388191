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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from planner.compile.index import PlanIndex
from planner.compile.model import Compiled
from planner.compile.promotions import Promotions, group_products, place
from planner.economics.core import Cells, evaluate
from planner.economics.discounts import FloatArray
from planner.rules.schema import Mechanic, RuleSet

IntArray = npt.NDArray[np.intp]
MEASURES = ("gross_profit", "volume", "revenue", "net_sales", "gross_sales", "trade_spend", "budget_spend")
"""What each option changes, per cell, rebates excluded (they depend on period totals)."""


@dataclass
class Options:
    """Every option, as flat arrays (one entry per option), plus the no-promotion starting point."""

    lines: list[tuple[int, str]]
    """(account position, product group id) per line."""
    line: IntArray
    week: IntArray
    """0-based week."""
    mechanic: IntArray
    """Position in `mechanics`."""
    mechanics: list[Mechanic]
    value: dict[str, FloatArray]
    """Measure -> change per option (MEASURES), rebates excluded."""
    base: Cells
    """The no-promotion plan, evaluated by the core."""
    deltas: dict[tuple[int, int, int], dict[str, FloatArray]] = field(default_factory=dict)
    """(mechanic, group, batch) -> measure -> (A, P, W) cell changes; kept for scoped sums (budgets, rebates)."""
    attribution: dict[tuple[int, int, int], IntArray] = field(default_factory=dict)
    """(mechanic, group, batch) -> (W,) the batch week each week's change belongs to (-1: none)."""
    option_of: dict[tuple[int, int, int, int], int] = field(default_factory=dict)
    """(account, group position, week, mechanic) -> option number."""
    batch_options: dict[tuple[int, int, int], IntArray] = field(default_factory=dict)
    """(mechanic, group, batch) -> (A, W) option number of each account x batch week (-1: none)."""
    groups: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.line)

    def scoped(self, measure: str, products: npt.NDArray[np.bool_], weeks: npt.NDArray[np.bool_]) -> FloatArray:
        """Each option's change of `measure` summed over the cells in `products` x `weeks` only."""
        out = np.zeros(len(self))
        for key, delta in self.deltas.items():
            per_week = delta[measure][:, products, :].sum(axis=1) * weeks[None, :]
            summed = _attribute(per_week, self.attribution[key])
            chosen = self.batch_options[key]
            valid = chosen >= 0
            np.add.at(out, chosen[valid], summed[valid])
        return out


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


def build_options(rules: RuleSet, compiled: Compiled) -> Options:
    index = compiled.index
    weeks = index.calendar.weeks
    horizon = dip_horizon(compiled)
    stride = horizon + 1
    base = evaluate(compiled, Promotions.none(compiled.shape))
    base_measures = _measures(base)
    weight = compiled.demand.expected_base
    carried = compiled.demand.baseline > 0
    mechanics = list(rules.mechanics)
    groups = list(rules.product_groups)
    lines: dict[tuple[int, str], int] = {}
    line, week, mech, values = [], [], [], {key: [] for key in MEASURES}
    options = Options([], np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.intp), mechanics, {}, base,
                      groups=[g.id for g in groups])
    for m, mechanic in enumerate(mechanics):
        live_weeks = np.flatnonzero(index.week_mask(mechanic.valid))
        for g, group in enumerate(groups):
            products = group_products(group, index)
            accounts = allowed_accounts(mechanic, products, index, carried)
            if not len(accounts) or not len(live_weeks):
                continue
            for batch in range(stride):
                batch_weeks = live_weeks[live_weeks % stride == batch]
                if not len(batch_weeks):
                    continue
                promotions = Promotions.none(compiled.shape)
                place(promotions, accounts, np.flatnonzero(products), batch_weeks, mechanic, weight)
                measures = _measures(evaluate(compiled, promotions))
                delta = {key: measures[key] - base_measures[key] for key in MEASURES}
                attributed = np.full(weeks, -1, dtype=np.intp)
                for t in batch_weeks:
                    attributed[t : min(weeks, t + stride)] = t
                options.deltas[(m, g, batch)] = delta
                options.attribution[(m, g, batch)] = attributed
                numbers = np.full((len(index.accounts), weeks), -1, dtype=np.intp)
                options.batch_options[(m, g, batch)] = numbers
                per_account_week = {key: _attribute(delta[key].sum(axis=1), attributed) for key in MEASURES}
                for a in accounts:
                    key_line = (int(a), group.id)
                    if key_line not in lines:
                        lines[key_line] = len(lines)
                    for t in batch_weeks:
                        numbers[a, t] = len(line)
                        options.option_of[(int(a), g, int(t), m)] = len(line)
                        line.append(lines[key_line])
                        week.append(int(t))
                        mech.append(m)
                        for key in MEASURES:
                            values[key].append(per_account_week[key][a, t])
    options.lines = list(lines)
    options.line = np.array(line, dtype=np.intp)
    options.week = np.array(week, dtype=np.intp)
    options.mechanic = np.array(mech, dtype=np.intp)
    options.value = {key: np.array(v, dtype=float) for key, v in values.items()}
    return options


def _attribute(per_week: FloatArray, attributed: IntArray) -> FloatArray:
    """(A, W) cell changes summed by week -> (A, W) changes by the batch week they belong to."""
    out = np.zeros_like(per_week)
    valid = attributed >= 0
    np.add.at(out, (slice(None), attributed[valid]), per_week[:, valid])
    return out
