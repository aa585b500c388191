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

from planner.compile.model import Compiled
from planner.compile.promotions import Promotions
from planner.economics.discounts import FloatArray
from planner.economics.rebates import payout
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


Cells3 = tuple[np.ndarray, np.ndarray, np.ndarray]


def _dip(shape: tuple[int, int, int], cells: Cells3, incremental: FloatArray, dip: FloatArray,
         weeks: np.ndarray) -> FloatArray:
    """Volume lost after promotions: dip x incremental spread evenly over the following `weeks` weeks.
    `cells` are the promoted cells and `incremental` their extra volume (promotions are sparse)."""
    lost = np.zeros(shape)
    a, p, w = cells
    horizon = min(int(weeks.max(initial=0)), shape[2] - 1)
    if horizon <= 0 or not dip.any():
        return lost
    spread = weeks[a, p]
    amount = np.maximum(incremental, 0.0) * dip[a, p] / np.maximum(spread, 1)
    for k in range(1, horizon + 1):  # promoted cells are distinct, so their k-week-later cells are too
        live = (spread >= k) & (w + k < shape[2])
        lost[a[live], p[live], w[live] + k] += amount[live]
    return lost


def _cannibalization(volume_np: FloatArray, cells: Cells3, incremental: FloatArray, share: FloatArray,
                     category: np.ndarray) -> FloatArray:
    """Volume promoted products take from their siblings (same account, category and week).

    Product p gives up s_p = cannibalization_p x incremental_p, taken from every other product q of its category in
    proportion to q's unpromoted volume: loss_q = sum_{p != q} s_p x volume_np_q / (T - volume_np_p), with T the
    category's unpromoted volume. Linear in the promotions, so the optimizer's event values add up exactly."""
    if not share.any():
        return np.zeros(volume_np.shape)
    a, p, w = cells
    categories = int(category.max()) + 1
    totals = np.zeros((volume_np.shape[0], categories, volume_np.shape[2]))
    for c in np.unique(category[p]):
        totals[:, c, :] = volume_np[:, category == c, :].sum(axis=1)
    own = volume_np[a, p, w]
    others = totals[a, category[p], w] - own
    taken = np.maximum(incremental, 0.0) * share[a, p]
    per_donor = np.divide(taken, others, out=np.zeros_like(taken), where=others > 0)
    where = np.ravel_multi_index((a, category[p], w), totals.shape)
    pooled = np.bincount(where, weights=per_donor, minlength=totals.size).reshape(totals.shape)
    lost = volume_np * pooled[:, category, :]
    lost[a, p, w] -= own * per_donor  # a product takes nothing from itself
    return lost


def rebate_rates(compiled: Compiled, volume: FloatArray, revenue: FloatArray) -> FloatArray:
    """(A, P, W) rebate as a share of each cell's invoice revenue: each period's payout spread by revenue.

    For rebate r, account a and period q: rate = payout(V_aq, R_aq) / R_aq on the cells r covers in q, so that
    rebate = revenue x rate sums to the payout exactly."""
    rates = np.zeros(volume.shape)
    by_scope: dict[bytes, tuple[FloatArray, FloatArray]] = {}  # account x week sums, once per product scope
    for item in compiled.rebates:
        products = item.products
        if not len(item.accounts) or not products.any():
            continue
        key = products.tobytes()
        if key not in by_scope:
            weight = products.astype(float)
            by_scope[key] = (np.einsum("apw,p->aw", volume, weight), np.einsum("apw,p->aw", revenue, weight))
        volume_aw, revenue_aw = (table[item.accounts] for table in by_scope[key])
        per_week = np.zeros((len(item.accounts), volume.shape[2]))
        for period in item.periods:
            start, stop = max(period.start, item.weeks.start), min(period.stop, item.weeks.stop)
            if stop <= start:
                continue
            total_revenue = revenue_aw[:, start:stop].sum(axis=1)
            amount = payout(item.rebate, volume_aw[:, start:stop].sum(axis=1), total_revenue, item.last_year)
            per_week[:, start:stop] = np.divide(amount, total_revenue, out=np.zeros_like(amount),
                                                where=total_revenue > 0)[:, None]
        if products.all():
            rates[item.accounts] += per_week[:, None, :]
        else:
            rates[np.ix_(item.accounts, np.flatnonzero(products))] += per_week[:, None, :]
    return rates


def evaluate(compiled: Compiled, promotions: Promotions, *, elasticity: FloatArray | None = None,
             noise: FloatArray | None = None) -> Cells:
    """Volume and P&L of every cell for one promotion calendar (and, in Monte Carlo, one draw)."""
    demand = compiled.demand
    if elasticity is None:
        elasticity, factor = demand.elasticity, compiled.price_factor
    else:
        factor = np.power(compiled.price_ratio, elasticity[:, :, None])
    base = demand.expected_base * factor
    if noise is not None:
        base *= noise
    cooler = demand.cooler_cases[:, :, None]
    volume_np = base + cooler
    promoted = promotions.promoted
    funding = np.zeros(compiled.shape)
    if promoted.any():
        cells = promoted.nonzero()
        exponent = np.broadcast_to(elasticity[:, :, None], compiled.shape)[cells]
        depth = promotions.depth[cells]
        extra = base[cells] * (np.power(1.0 - depth, exponent) * promotions.lift[cells] - 1.0)
        lost = _dip(compiled.shape, cells, extra, demand.post_promo_dip, demand.dip_weeks)
        lost += _cannibalization(volume_np, cells, extra, demand.cannibalization, compiled.category)
        lost[cells] -= extra
        volume = np.maximum(volume_np - lost, 0.0)
        promoted_volume = volume_np[cells] + extra
        funding[cells] = promoted_volume * funding_per_case(compiled.shelf_regular[cells], depth, promotions.funding[cells])
    else:
        volume = volume_np
    gross_sales = volume * compiled.list_price[None, :, None]
    off_invoice = volume * compiled.off_invoice_per_case
    revenue = volume * compiled.invoice
    rebates = revenue * rebate_rates(compiled, volume, revenue)
    fees = compiled.fees
    trade_spend = off_invoice + funding
    trade_spend += promotions.fixed_cost
    trade_spend += fees.total
    trade_spend += rebates
    net_sales = gross_sales - trade_spend
    cogs = volume * compiled.cogs[None, :, None]
    return Cells(
        volume=volume, incremental_volume=volume - volume_np, gross_sales=gross_sales, off_invoice=off_invoice,
        promo_funding=funding, event_costs=promotions.fixed_cost, fixed_discounts=fees.fixed_discounts,
        vividness=fees.vividness, rebates=rebates, trade_spend=trade_spend, net_sales=net_sales, cogs=cogs,
        gross_profit=net_sales - cogs, revenue=revenue,
    )
