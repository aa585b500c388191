"""Rebate accrual: tiers reached on a period's totals, paid as a rate of invoice revenue, spread back to cells.

Per rebate, account in scope and settlement period (each quarter, or the year), with V the period's cases and R its
invoice revenue over the products in scope:

    measure   = V (volume), R (revenue), or V / last_year_period - 1 (growth)
    tier k    applies on [from_k, to_k), to_k defaulting to the next tier's from (the last tier: no end)
    retroactive:  rebate = rate_k x R                      for the tier k containing the measure (0 below tier 1)
    incremental:  rebate = sum_k rate_k x (revenue of the units inside tier k's band)
                  (volume bands are cases priced at R / V; growth bands are growth x last_year_period cases,
                  priced at R / V; revenue bands are money; no growth tier is reached without last year's volume)
    rebate    = min(rebate, cap)

The period's rebate is spread over the period's cells in proportion to their invoice revenue, so the per-cell P&L
adds up exactly to the totals. The tiers make the rebate a non-linear function of volume; the optimizer models
the same function with one binary per tier (docs/economics.md).
"""

from __future__ import annotations

import numpy as np

from planner.compile.index import FloatArray
from planner.compile.model import tier_bands
from planner.rules.schema import Rebate


def payout(rebate: Rebate, volume: FloatArray, revenue: FloatArray, last_year: FloatArray,
           bands: tuple[FloatArray, FloatArray, FloatArray] | None = None) -> FloatArray:
    """Rebate per account for one period (arrays over accounts). `bands` are the tiers (compile.model.tier_bands),
    one row per account when the accounts' tiers differ (a group of rebates, compile.model.RebateGroup); by
    default the rebate's own for every account."""
    lower, upper, rates = tier_bands(rebate) if bands is None else bands
    price = np.divide(revenue, volume, out=np.zeros_like(revenue), where=volume > 0)
    if rebate.basis == "volume":
        measure, money_per_unit = volume, price
    elif rebate.basis == "revenue":
        measure, money_per_unit = revenue, np.ones_like(revenue)
    else:  # one unit of growth (+100%) is last_year cases; without last year's volume no tier is reached
        growth = np.divide(volume, last_year, out=np.zeros_like(volume), where=last_year > 0) - 1.0
        measure, money_per_unit = np.where(last_year > 0, growth, -np.inf), last_year * price
    if rebate.method == "retroactive":
        inside = (measure[:, None] >= lower) & (measure[:, None] < upper)
        rate = (inside * rates).max(axis=1, initial=0.0)
        amount = rate * revenue
    else:
        units = np.clip(measure[:, None] - lower, 0.0, upper - lower)
        amount = (units * rates).sum(axis=1) * money_per_unit
    if rebate.cap is not None:
        amount = np.minimum(amount, rebate.cap)
    return np.asarray(amount, dtype=float)
