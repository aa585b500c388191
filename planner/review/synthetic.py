"""Actuals that are exactly a plan's own simulation: the reference the review's properties are tested against
(every variance line is then 0, the latest estimate is the plan) and the benchmark's actuals at any size."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.actuals.model import Actuals, ExecutedPromotion
from planner.compile.model import compile_rules
from planner.economics.core import evaluate
from planner.rules.schema import Event, RuleSet
from planner.simulate import promotions_for


def plan_as_actuals(rules: RuleSet, events: Sequence[Event], through: int, *, scale: float = 1.0) -> Actuals:
    """Sell-in of weeks 1..through = the core's volume and invoice revenue of `events` (times `scale`), every
    event that started by then executed as planned, claiming the core's funding and fixed costs."""
    if rules.calendar is None:
        raise ValueError("the rules have no calendar")
    compiled = compile_rules(rules)
    index = compiled.index
    promotions = promotions_for(rules, compiled, events)
    cells = evaluate(compiled, promotions)
    carried = compiled.demand.baseline > 0
    a, p, w = np.nonzero(carried[:, :, None] & (np.arange(index.calendar.weeks) < through)[None, None, :])
    sales = pd.DataFrame({"account": np.array([x.id for x in index.accounts], dtype=object)[a],
                          "product": np.array([x.id for x in index.products], dtype=object)[p],
                          "week": (w + 1).astype(np.int64), "cases": cells.volume[a, p, w] * scale,
                          "invoice_value": cells.revenue[a, p, w] * scale})
    groups = rules.ids("product_groups")
    mechanics = rules.ids("mechanics")
    executed = []
    for event in events:
        weeks = [week for week in event.weeks if week <= through]
        if not weeks:
            continue
        block = np.ix_(np.array([index.account_position[event.account]]),
                       np.flatnonzero(index.product_mask(groups[event.product_group].products)),
                       np.array(weeks) - 1)
        depth = event.depth if event.depth is not None else mechanics[event.mechanic].effective_depth
        executed.append(ExecutedPromotion(event.id, event.account, event.product_group, event.mechanic, min(weeks),
                                          max(weeks), depth, float(cells.promo_funding[block].sum()) * scale,
                                          float(cells.event_costs[block].sum())))
    return Actuals(rules.calendar.year, sales, tuple(executed))
