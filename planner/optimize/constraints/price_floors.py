"""Price floors: no option may push the worst-case dead-net price of any of its own cells below a floor in scope.

    x_o = 0    for every option o = (a, g, t, m) with, for some product p of group g the account sells and some
               price floor f covering (a, p):
               invoice_a,p,t - funding_m . depth_m . shelf_a,p,t - R_a,p,t . invoice_a,p,t  <  cogs_p (1 + markup_f)

Symbols (money per case; economics/waterfall.py):

    invoice_a,p,t    invoice price after the price bands and the off-invoice discounts live that week (Compiled)
    shelf_a,p,t      regular shelf price, the trade discounts passed through (Compiled.shelf_regular)
    funding_m        the mechanic's funding share; depth_m its effective depth
    R_a,p,t          the sum, over the rebates live in the cell, of each one's highest tier rate: the worst case,
                     since the tier the plan reaches is only known at the period's end
    cogs_p           COGS per case; markup_f the floor's `min_markup`

The same worst-case dead-net the checker computes (check/floors.py), but per option with the option's own
mechanic rather than the deepest one allowed. A static exclusion (planner/optimize/prefilter.py): one labelled row
per floor, line and mechanic, so a locked event under a floor makes the model infeasible in the floor's name.
"""

from __future__ import annotations

import numpy as np

from planner.compile.index import FloatArray
from planner.compile.promotions import group_products
from planner.economics.waterfall import dead_net_price, funding_per_case
from planner.optimize.model import Model
from planner.optimize.prefilter import Exclusion, by_line, forbid
from planner.rules.schema import PriceFloor


def top_rebate_rate(model: Model) -> FloatArray:
    """(A, P, W) sum over the rebates live in each cell of their highest tier rate."""
    compiled = model.compiled
    rate = np.zeros(compiled.shape)
    for item in compiled.rebates:
        top = max(tier.rate for tier in item.rebate.tiers)
        rate[np.ix_(item.accounts, item.products, np.arange(compiled.shape[2])[item.weeks])] += top
    return rate


def breaches(model: Model, floor: PriceFloor, rebate_rate: FloatArray) -> np.ndarray:
    """(options,) True where the option's worst-case dead-net breaks the floor in one of its own cells."""
    compiled, options, index = model.compiled, model.options, model.compiled.index
    required = compiled.cogs * (1.0 + floor.min_markup)
    covered = index.account_mask(floor.applies_to)[:, None] & index.product_mask(floor.applies_to)[None, :] \
        & (compiled.demand.baseline > 0)
    out = np.zeros(len(options), dtype=bool)
    below: dict[int, np.ndarray] = {}
    for (m, g, batch), numbers in options.batch_options.items():
        if m not in below:
            mechanic = options.mechanics[m]
            funding = funding_per_case(compiled.shelf_regular, mechanic.effective_depth, mechanic.funding)
            dead_net = dead_net_price(compiled.invoice, funding, rebate_rate)
            below[m] = (dead_net - required[None, :, None] < -1e-9) & covered[:, :, None]
        products = group_products(model.rules.product_groups[g], index)
        hit = below[m][:, products, :].any(axis=1) & (numbers >= 0)
        out[numbers[hit]] = True
    return out


def exclusions(model: Model, floor: PriceFloor, rebate_rate: FloatArray) -> list[Exclusion]:
    return by_line(model, "price_floor", floor.id, breaches(model, floor, rebate_rate),
                   f"dead-net below COGS + {floor.min_markup:.0%}")


def add(model: Model) -> None:
    if not model.rules.price_floors:
        return
    rebate_rate = top_rebate_rate(model)
    for floor in model.rules.price_floors:
        forbid(model, exclusions(model, floor, rebate_rate))
