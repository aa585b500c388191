"""Solver- and format-independent results: KPIs, policy checks, uncertainty. Reports and files read these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

MONEY_AND_VOLUME = (
    "volume", "incremental_volume", "gross_sales", "off_invoice", "promo_funding", "event_costs", "fixed_discounts",
    "vividness", "rebates", "trade_spend", "net_sales", "cogs", "gross_profit",
)
RATIOS = ("gross_margin", "trade_spend_pct", "promo_roi", "dead_net_per_case")


def _ratio(top: float, bottom: float) -> float:
    return float(top / bottom) if bottom else 0.0


@dataclass(frozen=True)
class Kpis:
    """The numbers finance reads, for the whole plan or one account."""

    volume: float
    incremental_volume: float
    gross_sales: float
    off_invoice: float
    promo_funding: float
    event_costs: float
    fixed_discounts: float
    vividness: float
    rebates: float
    trade_spend: float
    net_sales: float
    cogs: float
    gross_profit: float
    gross_margin: float
    """gross_profit / net_sales."""
    trade_spend_pct: float
    """trade_spend / gross_sales."""
    promo_roi: float
    """Incremental gross profit (vs. no consumer promotions) / promotion spend (funding + event costs)."""
    dead_net_per_case: float
    """net_sales / volume."""
    budget_used: float
    """Promotion budget spend: funding + event costs + vividness."""

    @classmethod
    def of(cls, sums: dict[str, Any], no_promotion_profit: float) -> Kpis:
        values = {key: float(sums[key]) for key in MONEY_AND_VOLUME}
        promo_spend = values["promo_funding"] + values["event_costs"]
        return cls(
            **values,
            gross_margin=_ratio(values["gross_profit"], values["net_sales"]),
            trade_spend_pct=_ratio(values["trade_spend"], values["gross_sales"]),
            promo_roi=_ratio(values["gross_profit"] - no_promotion_profit, promo_spend),
            dead_net_per_case=_ratio(values["net_sales"], values["volume"]),
            budget_used=float(sums["budget_spend"]),
        )

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class PolicyCheck:
    """One policy rule against the plan: the actual value, the limit, and whether it holds."""

    rule: str
    kind: str
    """budget_max, budget_min, margin_floor, trade_spend_cap, display_min_revenue, calendar."""
    scope: str
    actual: float
    limit: float
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Spread:
    """P10 / P50 / P90 of one KPI over Monte Carlo draws."""

    p10: float
    p50: float
    p90: float

    @classmethod
    def of(cls, values: np.ndarray) -> Spread:
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        return cls(float(p10), float(p50), float(p90))


@dataclass
class Uncertainty:
    draws: int
    seed: int
    totals: dict[str, Spread] = field(default_factory=dict)
    accounts: dict[str, dict[str, Spread]] = field(default_factory=dict)
    target_probability: dict[str, float] = field(default_factory=dict)
    """Per account with a growth target: the share of draws in which volume growth vs last year reaches it."""


@dataclass
class Simulation:
    """What `planner simulate` produced for one scenario."""

    scenario: str
    name: str
    year: int
    currency: str
    totals: Kpis
    accounts: dict[str, Kpis]
    weeks: int
    account_weeks: dict[str, dict[str, list[float]]]
    """account -> {volume, gross_sales, trade_spend, net_sales, gross_profit, order_suggestion} by week."""
    policy: list[PolicyCheck]
    growth: dict[str, float]
    """account -> volume growth vs last year."""
    shelf_targets: list[dict[str, Any]]
    uncertainty: Uncertainty | None = None
    applied_overrides: list[str] = field(default_factory=list)
    plan_source: str = "rules"
    """'rules' (the scenario's own events) or the plan file evaluated."""

    def totals_json(self) -> dict[str, Any]:
        return {**self.totals.as_dict(), "accounts": [{"id": key, **value.as_dict()} for key, value in
                                                      self.accounts.items()]}
