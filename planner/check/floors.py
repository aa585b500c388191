"""Worst-case legal stack against the price floors and COGS.

For every account x product x week: the discounts that legally stack there (economics.discounts), plus the
deepest consumer mechanic allowed there (largest funding per case), plus the highest tier of every rebate live
there, gives the lowest dead-net price the rules allow (economics.waterfall). It must stay at or above COGS and
at or above every price floor in scope: COGS x (1 + min_markup).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from planner.check.context import CheckContext
from planner.compile.index import Cell, block, positions
from planner.economics.discounts import FloatArray
from planner.economics.waterfall import dead_net_price, funding_per_case, shelf_price
from planner.rules.findings import BELOW_COGS, PRICE_FLOOR_BREACH, Finding, finding


@dataclass
class WorstCase:
    context: CheckContext

    @cached_property
    def shelf(self) -> FloatArray:
        accounts = self.context.index.accounts
        return shelf_price(self.context.band_price, self.context.stack.invoice,
                           np.array([a.retail_markup for a in accounts]), np.array([a.pass_through for a in accounts]))

    @cached_property
    def funding_share(self) -> FloatArray:
        """Per cell, the largest funding share x effective depth of any mechanic allowed there."""
        index = self.context.index
        worst = np.zeros(index.shape)
        for mechanic in self.context.rules.mechanics:
            at = block(positions(index.account_mask(mechanic.applies_to)),
                       positions(index.product_mask(mechanic.applies_to)), index.week_range(mechanic.valid))
            worst[at] = np.maximum(worst[at], mechanic.funding * mechanic.effective_depth)
        return worst

    @cached_property
    def funding(self) -> FloatArray:
        """Largest funding per case any allowed mechanic costs (funding is share x depth x shelf price)."""
        return funding_per_case(self.shelf, self.funding_share, 1.0)

    def deepest_mechanic(self, cell: Cell) -> str | None:
        index, best, chosen = self.context.index, 0.0, None
        for mechanic in self.context.rules.mechanics:
            share = mechanic.funding * mechanic.effective_depth
            if share > best and index.account_mask(mechanic.applies_to)[cell.account] \
                    and index.product_mask(mechanic.applies_to)[cell.product] and index.week_mask(mechanic.valid)[cell.week]:
                best, chosen = share, mechanic.id
        return chosen

    @cached_property
    def rebate_rate(self) -> FloatArray:
        """Sum over rebates live in a cell of their highest tier rate."""
        index = self.context.index
        rate = np.zeros(index.shape)
        for rebate in self.context.rules.rebates:
            at = block(positions(index.account_mask(rebate.applies_to)),
                       positions(index.product_mask(rebate.applies_to)), index.week_range(rebate.valid))
            rate[at] += max(t.rate for t in rebate.tiers)
        return rate

    @cached_property
    def dead_net(self) -> FloatArray:
        return dead_net_price(self.context.stack.invoice, self.funding, self.rebate_rate)

    def explain(self, cell: Cell) -> dict[str, Any]:
        context, index = self.context, self.context.index
        a, p, w = cell.account, cell.product, cell.week
        rebates = [r.id for r in context.rules.rebates
                   if index.account_mask(r.applies_to)[a] and index.product_mask(r.applies_to)[p]
                   and index.week_mask(r.valid)[w]]
        return {
            **index.cell_names(cell),
            "list_price": round(float(index.products[p].list_price), 2),
            "invoice_price": round(float(context.stack.invoice[a, p, w]), 2),
            "discounts": context.stack.applied_at(context.discounts, cell),
            "mechanic": self.deepest_mechanic(cell),
            "funding_per_case": round(float(self.funding[a, p, w]), 2),
            "rebates": rebates,
            "rebate_rate": round(float(self.rebate_rate[a, p, w]), 4),
            "dead_net": round(float(self.dead_net[a, p, w]), 2),
            "cogs": round(float(index.products[p].cogs), 2),
        }


def _worst_cell(gap: FloatArray, where: np.ndarray) -> Cell | None:
    """The cell with the most negative gap among `where` (None when nothing breaches)."""
    breach = where & (gap < -1e-9)
    if not breach.any():
        return None
    flat = np.where(breach, gap, np.inf).argmin()
    a, p, w = np.unravel_index(flat, gap.shape)
    return Cell(int(a), int(p), int(w))


def check_floors(context: CheckContext) -> list[Finding]:
    index, rules = context.index, context.rules
    if 0 in index.shape:  # no cell; with no terms at all the dead-net is the banded list price, still checked
        return []
    worst = WorstCase(context)
    cogs = np.array([p.cogs for p in index.products])[None, :, None]
    findings = []
    for floor in rules.price_floors:
        covered = (index.account_mask(floor.applies_to)[:, None, None]
                   & index.product_mask(floor.applies_to)[None, :, None]
                   & np.ones(index.shape, dtype=bool))
        required = cogs * (1 + floor.min_markup)
        cell = _worst_cell(worst.dead_net - required, covered)
        if cell is None:
            continue
        example = worst.explain(cell)
        example["floor"] = round(float(required[0, cell.product, 0]), 2)
        count = int((covered & (worst.dead_net < required - 1e-9)).sum())
        findings.append(finding(
            PRICE_FLOOR_BREACH,
            f"price floor '{floor.id}' (COGS + {floor.min_markup:.0%}) breached in {count} account x product x week "
            f"cells; worst: {example['account']} x {example['product']} week {example['week']}, dead-net "
            f"{example['dead_net']:.2f} < floor {example['floor']:.2f}",
            floor.location, related=_related(context, example), example=example,
            fix="limit the stack there: a shallower mechanic, lower funding share, a narrower discount or a "
                "smaller top rebate rate"))
    for p, product in enumerate(index.products):
        gap = worst.dead_net[:, p : p + 1, :] - product.cogs
        cell = _worst_cell(gap, np.ones(gap.shape, dtype=bool))
        if cell is None:
            continue
        cell = Cell(cell.account, p, cell.week)
        example = worst.explain(cell)
        count = int((gap < -1e-9).sum())
        findings.append(finding(
            BELOW_COGS,
            f"{product.id}: the worst legal stack sells below COGS in {count} account x week cells; worst: "
            f"{example['account']} week {example['week']}, dead-net {example['dead_net']:.2f} < COGS {product.cogs:.2f}",
            product.location, related=_related(context, example), example=example,
            fix="add a price floor and keep deep mechanics, stacked discounts and top rebate tiers from meeting here"))
    return findings


def _related(context: CheckContext, example: dict[str, Any]) -> list[Any]:
    rules = context.rules
    out = [rules.ids("discounts")[d].location for d in example["discounts"]]
    if example["mechanic"]:
        out.append(rules.ids("mechanics")[example["mechanic"]].location)
    out.extend(rules.ids("rebates")[r].location for r in example["rebates"])
    return out
