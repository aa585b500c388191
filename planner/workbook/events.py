"""Each event of a plan valued with the economics core: volume, incremental volume, spend, incremental profit, ROI.

An event is valued on its own cells (its account, the products of its group, its weeks) of the whole plan's
evaluation, against the same cells with no consumer promotion anywhere. The post-promotion dip and the
cannibalisation an event causes fall outside its cells and are not charged to it here; the plan's totals
(the Budgets and Policy sheets, `planner simulate`) include them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.compile.model import compile_rules
from planner.compile.promotions import Promotions
from planner.economics.core import evaluate
from planner.rules.schema import Event, RuleSet
from planner.simulate import promotions_for


@dataclass(frozen=True)
class EventValue:
    """What one event sells and costs, in cases and the rule set's currency."""

    volume: float
    incremental_volume: float
    spend: float
    """Promotion funding plus the mechanic's fixed costs in the event's weeks."""
    incremental_profit: float
    """Gross profit over the same cells with no promotion."""

    @property
    def roi(self) -> float:
        """Incremental gross profit per unit of spend (0 without spend)."""
        return self.incremental_profit / self.spend if self.spend else 0.0


def event_values(rules: RuleSet, events: Sequence[Event]) -> list[EventValue]:
    """The value of each event, in the order given."""
    compiled = compile_rules(rules)
    cells = evaluate(compiled, promotions_for(rules, compiled, events))
    none = evaluate(compiled, Promotions.none(compiled.shape))
    groups, index = rules.ids("product_groups"), compiled.index
    out = []
    for event in events:
        a = index.account_position[event.account]
        products = np.flatnonzero(index.product_mask(groups[event.product_group].products))
        weeks = np.array(event.weeks, dtype=np.intp) - 1
        block = np.ix_(np.array([a], dtype=np.intp), products, weeks)
        volume = float(cells.volume[block].sum())
        out.append(EventValue(
            volume=volume, incremental_volume=volume - float(none.volume[block].sum()),
            spend=float(cells.promo_funding[block].sum() + cells.event_costs[block].sum()),
            incremental_profit=float(cells.gross_profit[block].sum() - none.gross_profit[block].sum())))
    return out
