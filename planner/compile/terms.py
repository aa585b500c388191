"""Compile pricing terms (price bands, discounts) from rules onto the plan's dimensions."""

from __future__ import annotations

import numpy as np

from planner.compile.discounts import DiscountTable
from planner.compile.index import FloatArray, PlanIndex, positions
from planner.rules.schema import Account, PriceBand, RuleSet


def band_adjustment(band: PriceBand, account: Account, year: int) -> float:
    """The list-price adjustment a band gives one account (0 when no tier is reached)."""
    if band.basis == "market_position":
        return band.positions.get(account.market_position, 0.0)
    value = account.last_year_volume if band.basis == "last_year_volume" else year - account.partner_since
    reached = [tier.adjustment for tier in sorted(band.tiers, key=lambda t: t.from_) if value >= tier.from_]
    return reached[-1] if reached else 0.0


def band_prices(rules: RuleSet, index: PlanIndex) -> FloatArray:
    """List price per case after price bands, per account x product (bands multiply)."""
    list_price = np.array([p.list_price for p in index.products], dtype=float)
    factor = np.ones((len(index.accounts), len(index.products)))
    for band in rules.price_bands:
        accounts = index.account_mask(band.applies_to)
        products = index.product_mask(band.applies_to)
        adjust = np.array([band_adjustment(band, a, index.calendar.year) for a in index.accounts])
        factor *= np.where(accounts[:, None] & products[None, :], 1.0 + adjust[:, None], 1.0)
    return list_price[None, :] * factor


def compile_discounts(rules: RuleSet, index: PlanIndex) -> DiscountTable:
    """Per-case discounts (percent, per_case) in application order; `fixed` ones are lump sums, not prices."""
    order = sorted(
        (d for d in rules.discounts if d.fixed is None),
        key=lambda d: d.priority,  # stable: file order breaks ties
    )
    return DiscountTable(
        ids=tuple(d.id for d in order),
        accounts=tuple(positions(index.account_mask(d.applies_to)) for d in order),
        products=tuple(positions(index.product_mask(d.applies_to)) for d in order),
        weeks=tuple(index.week_range(d.valid) for d in order),
        percent=np.array([d.percent or 0.0 for d in order], dtype=float),
        per_case=np.array([d.per_case or 0.0 for d in order], dtype=float),
        stacking=tuple(d.stacking for d in order),
        group=tuple(d.stacking_group for d in order),
        stop=tuple(d.stop for d in order),
    )


def shelf_price(band_price: FloatArray, invoice: FloatArray, markup: FloatArray, pass_through: FloatArray) -> FloatArray:
    """Regular shelf price per case (accounts x products x weeks); markup and pass_through are per account.

    Written in place on one array: band x (1 + markup) x (1 - pass_through x (1 - invoice / band))."""
    band = band_price[:, :, None]
    shelf = np.divide(invoice, band, out=np.ones_like(invoice), where=band > 0)
    shelf -= 1.0
    shelf *= pass_through[:, None, None]
    shelf += 1.0
    shelf *= band * (1.0 + markup[:, None, None])
    return shelf
