"""A display week must bring at least the rule's minimum of net sales on its product group.

    x_o = 0    for every display option o = (a, g, t, m) on a line the rule binds with
               NS0_a,g,t + dNS_o - r_a,g,t . dR_o  <  min_revenue

Symbols:

    display option   mechanic m with `display: true` or kind display (as the simulator's check reads it)
    NS0_a,g,t        net sales of the group's products at account a in week t in the no-promotion plan (after its
                     rebates)
    dNS_o, dR_o      the option's own change of net sales (rebates excluded) and of invoice revenue on those same
                     cells, in its own week, measured by the economics core (Options.deltas)
    r_a,g,t . dR_o   rebates on the change, at the no-promotion plan's rebate rate of each cell
    min_revenue      the rule's minimum (the simulator's tolerance, 1e-6, is kept)

This is a static exclusion (planner/optimize/prefilter.py): the option is judged on its own. Approximation, stated
because the simulator checks the plan's actual numbers: other options of the plan can lower the display week's
net sales (a post-promotion dip from the same line's earlier weeks, cannibalization by sibling products promoted
in the same week) or raise the rebate rate (a higher tier reached), and then the simulator's check can fail
where the model allowed the option. Lines promoted alone in their week, with no dip reaching it and rebates
at the no-promotion tier, are exact.
"""

from __future__ import annotations

import numpy as np

from planner.compile.promotions import group_products
from planner.optimize.constraints._calendar import bound_options
from planner.optimize.model import Model
from planner.optimize.prefilter import Exclusion, by_line, forbid
from planner.rules.schema import DisplayMinRevenue


def own_week_net_sales(model: Model) -> np.ndarray:
    """(options,) each display option's group net sales in its own week, as defined above (NaN: not a display)."""
    options, index = model.options, model.compiled.index
    base = options.base
    rate = np.divide(base.rebates, base.revenue, out=np.zeros_like(base.rebates), where=base.revenue > 0)
    display = [m.display or m.kind == "display" for m in options.mechanics]
    out = np.full(len(options), np.nan)
    groups = model.rules.product_groups
    for (m, g, batch), delta in options.deltas.items():
        if not display[m]:
            continue
        products = group_products(groups[g], index)
        numbers = options.batch_options[(m, g, batch)]
        change = (delta["net_sales"][:, products, :] - rate[:, products, :] * delta["revenue"][:, products, :]).sum(axis=1)
        valid = numbers >= 0
        out[numbers[valid]] = base.net_sales[:, products, :].sum(axis=1)[valid] + change[valid]
    return out


def exclusions(model: Model, rule: DisplayMinRevenue, net_sales: np.ndarray) -> list[Exclusion]:
    short = ~np.isnan(net_sales) & (np.nan_to_num(net_sales, nan=np.inf) < rule.min_revenue - 1e-6)
    return by_line(model, "display_min_revenue", rule.id, bound_options(model, rule) & short,
                   f"display week net sales below {rule.min_revenue:,.0f}")


def add(model: Model) -> None:
    rules = [r for r in model.rules.calendar_rules if isinstance(r, DisplayMinRevenue)]
    if not rules:
        return
    net_sales = own_week_net_sales(model)
    for rule in rules:
        forbid(model, exclusions(model, rule, net_sales))
