"""The economics core: volume, trade spend and margin per account x product x week.

The simulator and the optimizer both evaluate plans here; docs/economics.md states every formula with a worked
example. Symbols per cell (a, p, t):

    base        = baseline x seasonality x holiday x shelf-share effect x display lift   (x noise in Monte Carlo)
    shelf_reg   = regular shelf price (compile.terms.shelf_price): trade discounts passed through
    shelf_ref   = band_price x (1 + markup): the undiscounted shelf price at which the baseline is measured
    shelf_promo = shelf_reg x (1 - depth)
    volume_np   = base x (shelf_reg / shelf_ref) ** elasticity + cooler cases          (no consumer promotion)
    volume_pre  = base x (shelf_promo / shelf_ref) ** elasticity x lift + cooler cases
    incremental = volume_pre - volume_np
    dip         = each promoted cell loses post_promo_dip x incremental, spread evenly over the next dip_weeks
    cannibal.   = per account, category and week, cannibalization_p x incremental_p is taken from the other products
                  of p's category in proportion to their volume_np
    volume      = max(volume_pre - dip - cannibalization, 0)

    gross_sales = volume x list_price
    off_invoice = volume x (list_price - invoice)          (price bands and off-invoice discounts)
    funding     = volume_pre x funding_share x depth x shelf_reg   (paid on the event's promoted volume, before
                  the dips and cannibalization other events cause: every term stays linear in the calendar)
    fees        = event fixed costs + fixed discounts + shelf-share, display and cooler fees
    rebates     = economics.rebates, on the period's totals, spread by invoice revenue
    trade_spend = off_invoice + funding + fees + rebates
    net_sales   = gross_sales - trade_spend;   gross_profit = net_sales - volume x cogs
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from planner.compile.index import FloatArray
from planner.compile.model import Compiled
from planner.compile.promotions import Promotions
from planner.economics.rebates import payout
from planner.economics.response import volume_lost
from planner.economics.waterfall import funding_per_case


@dataclass(frozen=True)
class Cells:
    """Per-cell results (A, P, W). Money in the company's currency, volume in cases."""

    volume: FloatArray
    incremental_volume: FloatArray
    gross_sales: FloatArray
    off_invoice: FloatArray
    promo_funding: FloatArray
    event_costs: FloatArray
    fixed_discounts: FloatArray
    vividness: FloatArray
    rebates: FloatArray
    trade_spend: FloatArray
    net_sales: FloatArray
    cogs: FloatArray
    gross_profit: FloatArray
    revenue: FloatArray
    """Invoice revenue (volume x invoice price): the basis of rebates."""

    @property
    def budget_spend(self) -> FloatArray:
        """What the promotion budget pays: consumer funding, event fixed costs and vividness fees."""
        return self.promo_funding + self.event_costs + self.vividness

    def sums(self, axis: tuple[int, ...]) -> dict[str, FloatArray]:
        out = {f.name: getattr(self, f.name).sum(axis=axis) for f in fields(self)}
        out["budget_spend"] = self.budget_spend.sum(axis=axis)
        return out


def rebates_per_cell(compiled: Compiled, volume: FloatArray, revenue: FloatArray) -> FloatArray:
    """(A, P, W) rebate per cell: each period's payout spread over the cells it covers by invoice revenue.

    For rebate r, account a and period q: rate = payout(V_aq, R_aq) / R_aq on the cells r covers in q, so that
    rebate = revenue x rate sums to the payout exactly. A cell's rate is the sum of the rates of the rebates that
    cover it, so it depends on the product only through which rebates' product scopes include it: the rates are
    kept per account x week for each such set of rebates and multiplied into the revenue once."""
    accounts, products, weeks = volume.shape
    groups = compiled.rebate_groups  # rebates that share products, periods and kind: one array per group
    coverage = np.array([group.like.products for group in groups], dtype=bool).reshape(len(groups), products)
    covered_by, rebate_set = np.unique(coverage.T, axis=0, return_inverse=True)  # (sets, groups), (P,)
    rates = np.zeros((len(covered_by), accounts, weeks))
    by_scope: dict[bytes, tuple[FloatArray, FloatArray]] = {}  # account x week sums, once per product scope
    for g, group in enumerate(groups):
        like = group.like
        key = like.products.tobytes()
        if key not in by_scope:
            weight = like.products.astype(float)
            by_scope[key] = (np.einsum("apw,p->aw", volume, weight), np.einsum("apw,p->aw", revenue, weight))
        volume_aw, revenue_aw = (table[group.accounts] for table in by_scope[key])
        per_week = np.zeros((len(group.accounts), weeks))
        for period in like.periods:
            start, stop = max(period.start, like.weeks.start), min(period.stop, like.weeks.stop)
            if stop <= start:
                continue
            total_revenue = revenue_aw[:, start:stop].sum(axis=1)
            amount = payout(like.rebate, volume_aw[:, start:stop].sum(axis=1), total_revenue, group.last_year,
                            (group.lower, group.upper, group.rates))
            per_week[:, start:stop] = np.divide(amount, total_revenue, out=np.zeros_like(amount),
                                                where=total_revenue > 0)[:, None]
        for covering in np.flatnonzero(covered_by[:, g]):  # the product sets this group's products include
            np.add.at(rates[covering], group.accounts, per_week)
    main = int(np.bincount(rebate_set).argmax())  # the set most products share: one dense pass
    rebates: FloatArray = revenue * rates[main][:, None, :]
    for s, rate in enumerate(rates):
        differ = np.flatnonzero((rate != rates[main]).any(axis=1))  # accounts whose rate is not the main one
        if len(differ):
            block = np.ix_(differ, np.flatnonzero(rebate_set == s))
            rebates[block] = revenue[block] * rate[differ][:, None, :]
    return rebates


def evaluate(compiled: Compiled, promotions: Promotions, *, elasticity: FloatArray | None = None,
             noise: FloatArray | None = None) -> Cells:
    """Volume and P&L of every cell for one promotion calendar (and, in Monte Carlo, one draw).

    Every returned array is new (callers keep several results side by side), and no other array of the full size
    is made: the two working arrays (volume_np, lost) become incremental_volume and volume. The promotion terms
    are computed on the promoted cells and the cells they reach only (planner.economics.response)."""
    demand, fees, weeks = compiled.demand, compiled.fees, compiled.shape[2]
    if elasticity is None:
        elasticity = demand.elasticity
        volume_np = demand.expected_base * compiled.price_factor
    else:
        volume_np = np.power(compiled.price_ratio, elasticity[:, :, None])
        volume_np *= demand.expected_base
    if noise is not None:
        volume_np *= noise
    promoted = np.flatnonzero(promotions.promoted)
    depth = np.take(promotions.depth, promoted)
    response = np.power(1.0 - depth, np.take(elasticity, promoted // weeks)) * np.take(promotions.lift, promoted)
    extra = np.take(volume_np, promoted) * (response - 1.0)  # base x (...) before the cooler cases are added
    volume_np += demand.cooler_cases[:, :, None]
    lost = volume_lost(volume_np, promoted, extra, demand, compiled.category)
    volume = np.subtract(volume_np, lost, out=lost)  # lost is not needed any more: its array becomes volume
    np.maximum(volume, 0.0, out=volume)
    funding = np.zeros(compiled.shape)
    per_case = funding_per_case(np.take(compiled.shelf_regular, promoted), depth, np.take(promotions.funding, promoted))
    np.put(funding, promoted, (np.take(volume_np, promoted) + extra) * per_case)
    gross_sales = volume * compiled.list_price[None, :, None]
    off_invoice = volume * compiled.off_invoice_per_case
    revenue = volume * compiled.invoice
    rebates = rebates_per_cell(compiled, volume, revenue)
    trade_spend = off_invoice + funding
    trade_spend += promotions.fixed_cost
    trade_spend += fees.total
    trade_spend += rebates
    net_sales = gross_sales - trade_spend
    cogs = volume * compiled.cogs[None, :, None]
    incremental = np.subtract(volume, volume_np, out=volume_np)  # volume_np is not needed any more
    return Cells(
        volume=volume, incremental_volume=incremental, gross_sales=gross_sales, off_invoice=off_invoice,
        promo_funding=funding, event_costs=promotions.fixed_cost, fixed_discounts=fees.fixed_discounts,
        vividness=fees.vividness, rebates=rebates, trade_spend=trade_spend, net_sales=net_sales, cogs=cogs,
        gross_profit=net_sales - cogs, revenue=revenue,
    )
