"""A display week must bring at least the rule's minimum of net sales on its product group.

    y_c = 0    for every display option o = (a, g, t, m) on a line the rule binds, or its vividness variant c,
               with   NS0_a,g,t + dNS_c - r_a,g,t . dR_c  <  min_revenue

Symbols:

    display option   mechanic m with `display: true` or kind display (as the simulator's check reads it)
    NS0_a,g,t        net sales of the group's products at account a in week t in the no-promotion plan (after its
                     rebates), with the vividness the column assumes bought
    dNS_c, dR_c      the column's own change of net sales (rebates excluded) and of invoice revenue on those same
                     cells, in its own week, measured by the economics core
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

from planner.optimize.constraints._calendar import bound_options
from planner.optimize.model import Model
from planner.optimize.prefilter import Exclusion, by_line, forbid
from planner.rules.schema import DisplayMinRevenue


def own_week_net_sales(model: Model) -> np.ndarray:
    """(columns,) each display option's (or variant's) group net sales in its own week, as defined above, in the
    no-promotion plan of the vividness it assumes bought (NaN: not a display; an option with variants; packages).
    Valued with the options (`Options.display_net_sales`, planner/optimize/options.py), where the no-promotion
    plan of each configuration is at hand."""
    return model.options.display_net_sales


def exclusions(model: Model, rule: DisplayMinRevenue, net_sales: np.ndarray) -> list[Exclusion]:
    short = ~np.isnan(net_sales) & (np.nan_to_num(net_sales, nan=np.inf) < rule.min_revenue - 1e-6)
    options = model.options
    bound_columns = np.append(bound_options(model, rule), False)[np.where(options.column_option >= 0,
                                                                          options.column_option, -1)]
    return by_line(model, "display_min_revenue", rule.id, bound_columns & short,
                   f"display week net sales below {rule.min_revenue:,.0f}")


def add(model: Model) -> None:
    rules = [r for r in model.rules.calendar_rules if isinstance(r, DisplayMinRevenue)]
    if not rules:
        return
    net_sales = own_week_net_sales(model)
    for rule in rules:
        forbid(model, exclusions(model, rule, net_sales))
