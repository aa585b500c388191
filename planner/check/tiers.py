"""Tier tables (rebates and price bands): order, overlaps, gaps, falling rates and retroactive cliffs.

A retroactive cliff: crossing threshold T_k of a retroactive rebate raises the rebate on *every* unit at once,
by (r_k - r_{k-1}) x p x T_k. The check compares that jump with the gross profit the bottler earns on the units
between the previous threshold and this one, (p x (1 - r_{k-1}) - cogs) x (T_k - T_{k-1}), for each account x
product the rebate covers (p: invoice price in the first week it is live). When the jump is larger, the tier
pays the account more than the extra units are worth: a cliff. Thresholds convert to cases first: revenue
thresholds divide by p, growth thresholds multiply last year's volume of the period.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.check.context import CheckContext
from planner.compile.index import FloatArray
from planner.rules.findings import (
    RATE_FALLS,
    RETROACTIVE_CLIFF,
    TIER_GAP,
    TIERS_OVERLAP,
    TIERS_UNSORTED,
    Finding,
    finding,
)
from planner.rules.schema import Rebate


def check_tiers(context: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    for item in context.rules.rebates:
        findings.extend(_order(item, "rebate"))
    for band in context.rules.price_bands:
        findings.extend(_order(band, "price band"))
    cogs = np.array([p.cogs for p in context.index.products])  # once, not once per rebate
    for rebate in context.rules.rebates:
        ordered = list(rebate.tiers) == sorted(rebate.tiers, key=lambda t: t.from_)
        for k in range(1, len(rebate.tiers)):
            low, high = rebate.tiers[k - 1], rebate.tiers[k]
            if ordered and high.rate < low.rate:
                findings.append(finding(
                    RATE_FALLS, f"rebate '{rebate.id}': rate falls from {low.rate:.2%} to {high.rate:.2%} as "
                    f"{rebate.basis} rises past {high.from_:,g}", high.location, related=[low.location],
                    example={"rebate": rebate.id, "tier": k + 1, "from": high.from_, "rate": high.rate},
                    fix="rates should rise with the tier; swap or correct the rates"))
        if ordered and rebate.method == "retroactive":
            cliff = _worst_cliff(context, rebate, cogs)
            if cliff:
                findings.append(cliff)
    return findings


def _order(item: Any, what: str) -> list[Finding]:
    out = []
    tiers = item.tiers
    for k in range(1, len(tiers)):
        low, high = tiers[k - 1], tiers[k]
        if high.from_ < low.from_:
            out.append(finding(
                TIERS_UNSORTED, f"{what} '{item.id}': tier {k + 1} starts at {high.from_:,g}, below tier {k} "
                f"({low.from_:,g})", high.location, related=[low.location],
                example={"id": item.id, "tier": k + 1, "from": high.from_},
                fix="list tiers in ascending order of 'from'"))
        elif high.from_ == low.from_:
            out.append(finding(
                TIERS_OVERLAP, f"{what} '{item.id}': tiers {k} and {k + 1} both start at {high.from_:,g}",
                high.location, related=[low.location], example={"id": item.id, "from": high.from_},
                fix="give each tier its own threshold, or merge the two"))
        upper = getattr(low, "to", None)
        if upper is not None and high.from_ > low.from_:
            if upper > high.from_:
                out.append(finding(
                    TIERS_OVERLAP, f"{what} '{item.id}': tier {k} runs to {upper:,g}, past tier {k + 1}'s start "
                    f"{high.from_:,g}", low.location, related=[high.location],
                    example={"id": item.id, "overlap": [high.from_, upper]},
                    fix=f"end tier {k} at {high.from_:,g} (or drop 'to': a tier runs to the next one)"))
            elif upper < high.from_:
                out.append(finding(
                    TIER_GAP, f"{what} '{item.id}': nothing is earned between {upper:,g} and {high.from_:,g}",
                    low.location, related=[high.location], example={"id": item.id, "gap": [upper, high.from_]},
                    fix=f"end tier {k} at {high.from_:,g}, or start tier {k + 1} at {upper:,g}"))
    return out


def threshold_cases(rebate: Rebate, k: int, price: FloatArray, last_year: FloatArray) -> FloatArray:
    """Tier k's threshold in cases (arrays broadcast over accounts x products); tier -1 is zero."""
    if k < 0:
        return np.zeros_like(price)
    value = rebate.tiers[k].from_
    if rebate.basis == "revenue":
        return value / price
    if rebate.basis == "growth":
        return last_year * (1 + value) + 0 * price
    return np.full_like(price, value)


def cliff_excess(rebate: Rebate, k: int, price: FloatArray, cogs: FloatArray,
                 last_year: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(jump, gross profit on the step units, step units in cases) at tier k of a retroactive rebate."""
    rate_before = rebate.tiers[k - 1].rate if k > 0 else 0.0
    top, bottom = threshold_cases(rebate, k, price, last_year), threshold_cases(rebate, k - 1, price, last_year)
    jump = (rebate.tiers[k].rate - rate_before) * price * top
    profit = (price * (1 - rate_before) - cogs) * (top - bottom)
    return jump, profit, top - bottom


def _worst_cliff(context: CheckContext, rebate: Rebate, all_cogs: FloatArray) -> Finding | None:
    index = context.index
    weeks = index.week_range(rebate.valid)
    accounts = index.account_mask(rebate.applies_to).nonzero()[0]
    products = index.product_mask(rebate.applies_to).nonzero()[0]
    if weeks.stop <= weeks.start or not len(accounts) or not len(products):
        return None
    periods = len(index.calendar.quarters) if rebate.period == "quarter" else 1
    last_year = np.array([index.accounts[a].last_year_volume / periods for a in accounts])[:, None]
    price = context.stack.invoice[accounts[:, None], products[None, :], weeks.start]
    price = np.where(price > 0, price, np.nan)
    cogs = all_cogs[products][None, :]
    worst: tuple[float, int, int, int] | None = None
    for k in range(len(rebate.tiers)):
        jumps, profits, _ = cliff_excess(rebate, k, price, cogs, last_year)
        excess = np.nan_to_num(jumps - profits, nan=-np.inf)
        i, j = (int(n) for n in np.unravel_index(int(excess.argmax()), excess.shape))
        if excess[i, j] > 1e-6 and (worst is None or excess[i, j] > worst[0]):
            worst = (float(excess[i, j]), k, int(i), int(j))
    if worst is None:
        return None
    _, k, i, j = worst
    jump, profit, units = (float(x[i, j]) for x in cliff_excess(rebate, k, price, cogs, last_year))
    example = {
        "account": index.accounts[accounts[i]].id, "product": index.products[products[j]].id,
        "week": weeks.start + 1, "tier": k + 1,
        "threshold_cases": round(float(threshold_cases(rebate, k, price, last_year)[i, j]), 1),
        "step_cases": round(units, 1), "rebate_jump": round(jump, 2), "profit_on_step": round(profit, 2),
        "invoice_price": round(float(price[i, j]), 2)}
    return finding(
        RETROACTIVE_CLIFF,
        f"rebate '{rebate.id}': reaching tier {k + 1} pays {jump:,.0f} at once on every unit, more than the "
        f"{profit:,.0f} gross profit of the {units:,.0f} cases needed to get there from the tier below "
        f"(e.g. {example['account']} x {example['product']})",
        rebate.tiers[k].location, related=[rebate.location], example=example,
        fix="make the rebate incremental, add an intermediate tier, or lower this tier's rate step")
