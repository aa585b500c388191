"""Plan against actual for a window of weeks, and the variance of gross profit split into four parts.

Per account, over the window's weeks, with P the plan, E the model of the calendar as it ran (basis.expected), A
the actuals; V volume, M = invoice revenue - COGS (the product margin), S = promotion funding + event fixed costs
+ fixed discounts + vividness fees, R rebates; gross profit = M - S - R:

    total       = GP_A - GP_P
    m           = M_E / V_E                      the model's margin per case for the calendar as run
    baseline    = [(V_A - V_E) on quiet cells + (rate - 1) x V_E on touched cells] x m
                                                 the market: cases the model did not expect, at the account's run
                                                 rate (basis.run_rate), valued at the margin per case
    promotions  = (M_E - M_P) + (V_A - rate x V_E on touched cells) x m - (S_A - S_P)
                                                 what the calendar as run (cancelled, changed, unplanned events)
                                                 earns against the plan's in the model's terms, how its promotions
                                                 sold against the model at the run rate, and what they cost
                                                 against what the plan spends
    price_mix   = (M_A - M_E) - (V_A - V_E) x m  invoice prices and the product mix against the model's
    rebates     = -(R_A - R_P)                   accrued at the rate the latest estimate reaches, against the plan's

Touched cells are those a promotion of the calendar as run reaches in the model (its weeks, its dip, the siblings
it cannibalizes); quiet cells are the others.

The four add up to the total by construction (docs/review.md shows it with the demo's numbers). When the actuals
are the plan's own simulation, E = P and A = P, so every part is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.compile.index import FloatArray
from planner.review.basis import Basis

COMPONENTS = ("baseline", "promotions", "price_mix", "rebates")
SHOWN = ("volume", "gross_sales", "off_invoice", "promo_funding", "event_costs", "fixed_discounts", "vividness",
         "rebates", "trade_spend", "net_sales", "cogs", "gross_profit", "budget_spend")
"""The lines a statement shows (gross_margin and trade_spend_pct are added from them)."""


@dataclass(frozen=True)
class Statement:
    """Plan, actual and the variance split for one window, per account (arrays over accounts) and in total."""

    weeks: slice
    actual: dict[str, FloatArray]
    plan: dict[str, FloatArray]
    variance: dict[str, FloatArray]
    """total and COMPONENTS, per account."""

    def account(self, a: int) -> dict[str, dict[str, float]]:
        return {"actual": _figures({k: v[a] for k, v in self.actual.items()}),
                "plan": _figures({k: v[a] for k, v in self.plan.items()}),
                "variance": {k: float(v[a]) for k, v in self.variance.items()}}

    def totals(self) -> dict[str, dict[str, float]]:
        return {"actual": _figures({k: v.sum() for k, v in self.actual.items()}),
                "plan": _figures({k: v.sum() for k, v in self.plan.items()}),
                "variance": {k: float(v.sum()) for k, v in self.variance.items()}}


def _figures(lines: dict[str, float | np.floating]) -> dict[str, float]:
    out = {name: float(lines[name]) for name in SHOWN}
    out["gross_margin"] = out["gross_profit"] / out["net_sales"] if out["net_sales"] else 0.0
    out["trade_spend_pct"] = out["trade_spend"] / out["gross_sales"] if out["gross_sales"] else 0.0
    return out


def statement(basis: Basis, weeks: slice) -> Statement:
    """Plan vs actual over `weeks` (within the weeks to date)."""
    plan, expected, actual = (ledger.window(weeks) for ledger in (basis.plan, basis.expected, basis.actual))

    def spend(lines: dict[str, FloatArray]) -> FloatArray:
        return lines["promo_funding"] + lines["event_costs"] + lines["fixed_discounts"] + lines["vividness"]

    per_case = np.divide(expected["margin"], expected["volume"], out=np.zeros_like(expected["margin"]),
                         where=expected["volume"] > 0)
    touched_expected = basis.touched["expected"][:, weeks].sum(axis=1)
    touched_actual = basis.touched["actual"][:, weeks].sum(axis=1)
    performed = (touched_actual - basis.trend * touched_expected) * per_case
    volume_gap = (actual["volume"] - expected["volume"]) * per_case
    variance = {
        "total": actual["gross_profit"] - plan["gross_profit"],
        "baseline": volume_gap - performed,
        "promotions": (expected["margin"] - plan["margin"]) + performed - (spend(actual) - spend(plan)),
        "price_mix": (actual["margin"] - expected["margin"]) - volume_gap,
        "rebates": -(actual["rebates"] - plan["rebates"]),
    }
    return Statement(weeks, actual, plan, variance)
