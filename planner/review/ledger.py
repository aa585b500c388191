"""A ledger: the P&L lines of one plan, or of the actuals, per account x week, plus the few product-scoped sums
the policy checks and the rebate outlook need. Reduced from the economics core's cells at once, so a review of
1,000 accounts x 100 products keeps (A, W) tables, not a dozen (A, P, W) arrays per plan.

Lines (money in the company's currency, volume in cases):

    volume, revenue (invoice), gross_sales, off_invoice, promo_funding, event_costs, fixed_discounts, vividness,
    rebates, cogs;  trade_spend, net_sales, gross_profit, budget_spend and margin (revenue - cogs) follow from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planner.compile.index import FloatArray
from planner.compile.model import Compiled
from planner.economics.core import Cells
from planner.rules.schema import RuleSet

BASE_LINES = ("volume", "revenue", "gross_sales", "off_invoice", "promo_funding", "event_costs", "fixed_discounts",
              "vividness", "rebates", "cogs")
LINES = (*BASE_LINES, "trade_spend", "net_sales", "gross_profit", "budget_spend", "margin")


@dataclass
class Ledger:
    """Lines per account x week (A, W); `budgets` and `rebate_*` per rule id, summed over the rule's products."""

    lines: dict[str, FloatArray]
    budgets: dict[str, FloatArray] = field(default_factory=dict)
    """Budget id -> (A, W) promotion spend (funding + event costs + vividness) on the budget's products."""
    rebate_volume: list[FloatArray] = field(default_factory=list)
    """Per compiled rebate (Compiled.rebates order): (A, W) cases of the products it counts."""
    rebate_revenue: list[FloatArray] = field(default_factory=list)

    def line(self, name: str) -> FloatArray:
        return self.lines[name]

    def window(self, weeks: slice) -> dict[str, FloatArray]:
        """Every line summed over `weeks`, per account (A,)."""
        return {name: values[:, weeks].sum(axis=1) for name, values in self.lines.items()}


def complete(lines: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """The derived lines from the base ones: one definition for plans and actuals."""
    out = dict(lines)
    out["trade_spend"] = (lines["off_invoice"] + lines["promo_funding"] + lines["event_costs"]
                          + lines["fixed_discounts"] + lines["vividness"] + lines["rebates"])
    out["net_sales"] = lines["gross_sales"] - out["trade_spend"]
    out["gross_profit"] = out["net_sales"] - lines["cogs"]
    out["budget_spend"] = lines["promo_funding"] + lines["event_costs"] + lines["vividness"]
    out["margin"] = lines["revenue"] - lines["cogs"]
    return out


def ledger_of(rules: RuleSet, compiled: Compiled, cells: Cells) -> Ledger:
    """The ledger of a plan evaluated by the economics core."""
    lines = {name: getattr(cells, name).sum(axis=1) for name in BASE_LINES}
    return Ledger(complete(lines), budget_sums(rules, compiled, cells.budget_spend), *rebate_sums(compiled,
                                                                                                  cells.volume,
                                                                                                  cells.revenue))


def budget_sums(rules: RuleSet, compiled: Compiled, spend: FloatArray) -> dict[str, FloatArray]:
    """Budget id -> (A, W) spend on the budget's products (accounts are masked where the budget is checked)."""
    out: dict[str, FloatArray] = {}
    by_scope: dict[bytes, FloatArray] = {}
    for budget in rules.budgets:
        products = compiled.index.product_mask(budget.applies_to)
        key = products.tobytes()
        if key not in by_scope:
            by_scope[key] = np.einsum("apw,p->aw", spend, products.astype(float))
        out[budget.id] = by_scope[key]
    return out


def rebate_sums(compiled: Compiled, volume: FloatArray, revenue: FloatArray) -> tuple[list[FloatArray],
                                                                                      list[FloatArray]]:
    """Per compiled rebate: (A, W) volume and invoice revenue of the products it counts."""
    by_scope: dict[bytes, tuple[FloatArray, FloatArray]] = {}
    volumes, revenues = [], []
    for item in compiled.rebates:
        key = item.products.tobytes()
        if key not in by_scope:
            weight = item.products.astype(float)
            by_scope[key] = (np.einsum("apw,p->aw", volume, weight), np.einsum("apw,p->aw", revenue, weight))
        volumes.append(by_scope[key][0])
        revenues.append(by_scope[key][1])
    return volumes, revenues
