"""The economics core: volume, trade spend and margin per account x product x week.

The simulator and the optimizer both evaluate plans here; docs/economics.md states every formula with a worked
example. Symbols per cell (a, p, t):

    base        = baseline x seasonality x holiday x shelf-share effect x display lift   (x noise in Monte Carlo)
    shelf_reg   = regular shelf price (economics.waterfall.shelf_price): trade discounts passed through
    shelf_ref   = band_price x (1 + markup): the undiscounted shelf price at which the baseline is measured
    shelf_promo = shelf_reg x (1 - depth)
    volume_np   = base x (shelf_reg / shelf_ref) ** elasticity + cooler cases          (no consumer promotion)
    volume_pre  = base x (shelf_promo / shelf_ref) ** elasticity x lift + cooler cases
    incremental = volume_pre - volume_np
    dip         = each promoted cell loses post_promo_dip x incremental, spread evenly over the next dip_weeks
    cannibal.   = per account, category and week, sum(cannibalization x incremental) is taken from the category's
                  unpromoted products in proportion to their volume_np
    volume      = max(volume_pre - dip - cannibalization, 0)

    gross_sales = volume x list_price
    off_invoice = volume x (list_price - invoice)          (price bands and off-invoice discounts)
    funding     = volume x funding_share x depth x shelf_reg
    fees        = event fixed costs + fixed discounts + shelf-share, display and cooler fees
    rebates     = economics.rebates, on the period's totals, spread by invoice revenue
    trade_spend = off_invoice + funding + fees + rebates
    net_sales   = gross_sales - trade_spend;   gross_profit = net_sales - volume x cogs
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from planner.compile.model import Compiled
from planner.compile.promotions import Promotions
from planner.economics.discounts import FloatArray
from planner.economics.rebates import payout
from planner.economics.waterfall import funding_per_case, shelf_price


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


def _dip(incremental: FloatArray, dip: FloatArray, weeks: np.ndarray) -> FloatArray:
    """Volume lost after promotions: dip x incremental spread evenly over the following `weeks` weeks."""
    lost = np.zeros_like(incremental)
    horizon = int(weeks.max(initial=0))
    if horizon == 0 or not dip.any():
        return lost
    per_week = np.maximum(incremental, 0.0) * (dip / np.maximum(weeks, 1))[:, :, None]
    for k in range(1, min(horizon, incremental.shape[2] - 1) + 1):
        active = (weeks >= k)[:, :, None]
        lost[:, :, k:] += np.where(active, per_week[:, :, :-k], 0.0)
    return lost


def _cannibalization(incremental: FloatArray, share: FloatArray, volume_np: FloatArray, promoted: np.ndarray,
                     category: np.ndarray) -> FloatArray:
    """Volume the promoted products take from their unpromoted siblings (same account, category, week)."""
    if not share.any():
        return np.zeros_like(incremental)
    taken = np.maximum(incremental, 0.0) * share[:, :, None]
    donors = np.where(promoted, 0.0, volume_np)
    categories = category.max() + 1
    onehot = np.eye(categories)[category]  # (P, C)
    taken_by_category = np.einsum("apw,pc->acw", taken, onehot)
    donor_total = np.einsum("apw,pc->acw", donors, onehot)
    ratio = np.divide(taken_by_category, donor_total, out=np.zeros_like(taken_by_category), where=donor_total > 0)
    return donors * np.einsum("acw,pc->apw", ratio, onehot)


def accrue_rebates(compiled: Compiled, volume: FloatArray, revenue: FloatArray) -> FloatArray:
    """Rebates per cell: each period's payout spread over its cells by invoice revenue."""
    out = np.zeros_like(volume)
    for item in compiled.rebates:
        products = np.flatnonzero(item.products)
        if not len(item.accounts) or not len(products):
            continue
        for period in item.periods:
            start, stop = max(period.start, item.weeks.start), min(period.stop, item.weeks.stop)
            if stop <= start:
                continue
            cells = np.ix_(item.accounts, products, np.arange(start, stop))
            cell_revenue = revenue[cells]
            amount = payout(item.rebate, volume[cells].sum(axis=(1, 2)), cell_revenue.sum(axis=(1, 2)), item.last_year)
            total = cell_revenue.sum(axis=(1, 2), keepdims=True)
            share = np.divide(cell_revenue, total, out=np.zeros_like(cell_revenue), where=total > 0)
            out[cells] += share * amount[:, None, None]
    return out


def evaluate(compiled: Compiled, promotions: Promotions, *, elasticity: FloatArray | None = None,
             noise: FloatArray | None = None) -> Cells:
    """Volume and P&L of every cell for one promotion calendar (and, in Monte Carlo, one draw)."""
    demand = compiled.demand
    base = demand.expected_base if noise is None else demand.expected_base * noise
    elasticity = demand.elasticity if elasticity is None else elasticity
    shelf_reg = shelf_price(compiled.band_price, compiled.invoice, compiled.markup, compiled.pass_through)
    shelf_ref = compiled.band_price[:, :, None] * (1.0 + compiled.markup[:, None, None])
    ratio = np.divide(shelf_reg, shelf_ref, out=np.ones_like(shelf_reg), where=shelf_ref > 0)
    exponent = elasticity[:, :, None]
    factor_np = np.power(ratio, exponent)
    factor_promo = np.power(ratio * (1.0 - promotions.depth), exponent) * promotions.lift
    cooler = demand.cooler_cases[:, :, None]
    volume_np = base * factor_np + cooler
    volume_pre = base * factor_promo + cooler
    incremental = volume_pre - volume_np
    category = np.unique([p.category for p in compiled.index.products], return_inverse=True)[1]
    lost = _dip(incremental, demand.post_promo_dip, demand.dip_weeks) + _cannibalization(
        incremental, demand.cannibalization, volume_np, promotions.promoted, category)
    volume = np.maximum(volume_pre - lost, 0.0)
    list_price = compiled.list_price[None, :, None]
    gross_sales = volume * list_price
    off_invoice = volume * (list_price - compiled.invoice)
    funding = volume * funding_per_case(shelf_reg, promotions.depth, promotions.funding)
    revenue = volume * compiled.invoice
    rebates = accrue_rebates(compiled, volume, revenue)
    fees = compiled.fees
    trade_spend = off_invoice + funding + promotions.fixed_cost + fees.fixed_discounts + fees.vividness + rebates
    net_sales = gross_sales - trade_spend
    cogs = volume * compiled.cogs[None, :, None]
    return Cells(
        volume=volume, incremental_volume=volume - volume_np, gross_sales=gross_sales, off_invoice=off_invoice,
        promo_funding=funding, event_costs=promotions.fixed_cost, fixed_discounts=fees.fixed_discounts,
        vividness=fees.vividness, rebates=rebates, trade_spend=trade_spend, net_sales=net_sales, cogs=cogs,
        gross_profit=net_sales - cogs, revenue=revenue,
    )
